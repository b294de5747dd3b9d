"""Instructions per message (not a test): the relay's own cost counted by callgrind, which a shared
machine's load does not disturb (wall-clock and CPU-time figures are; `perf stat -e instructions`
needs a PMU that virtual machines often lack).

    /usr/bin/python3 bench/relay/instructions.py BUILD/app/dkim-relay [--messages 300] [--sizes 2000,50000]
                     [--top 25] [--lines dots|plain]

The relay runs under `valgrind --tool=callgrind` with an smtp-sink upstream; for each size, warm-up
messages go through first (connections, pool, caches), then the counters are zeroed
(`callgrind_control -z`), smtp-source sends --messages messages over one reused connection, and the
counters are dumped (`callgrind_control -d`). Printed: instructions (Ir) per message of all relay
threads, and the top functions by self cost (callgrind_annotate) per message.
--lines dots: every message is instead a file (smtp-source -F) of 76-character body lines that all
start with "..": the worst case for DATA to the upstream (every line dot-stuffed again on the way
out), i.e. the most that BDAT/CHUNKING (no stuffing) could save the relay. --lines plain: the same
file with "xx" in place of "..", the control.
"""
import argparse
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import relay_bench as rb  # noqa: E402

fs = rb.fs


def totals(dump):
    for line in open(dump):
        if line.startswith("totals:") or line.startswith("summary:"):
            return int(line.split()[1])
    raise RuntimeError("no totals in " + dump)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--sizes", default="2000,50000")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--lines", choices=("dots", "plain"), help="a message file of 76-character lines, each "
                        "starting with '..' (dots) or 'xx' (plain), instead of smtp-source's own message")
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="dkr-callgrind-")
    wrapper = rb.callgrind_wrapper(os.path.join(work, "relay-under-callgrind"), args.binary,
                                   f"{work}/callgrind.out.%p")
    sink = rb.SmtpSink()
    relay = None
    try:
        # The key is made by the binary itself: RSA key generation under valgrind can take minutes.
        keys = os.path.join(work, "keys")
        fs.add_domain(os.path.abspath(args.binary), keys, rb.DOMAIN)
        relay, _ = rb.start_relay(wrapper, sink.port, 4, keys_from=keys)
        pid = relay.proc.pid
        rb.out(f"callgrind: relay pid {pid}, load average {rb.load_average()} (does not affect the counts)")
        for size in [int(s) for s in args.sizes.split(",")]:
            send = rb.smtp_source
            if args.lines:
                path = os.path.join(work, f"dots-{size}.eml")
                with open(path, "w") as f:
                    f.write(f"From: <{rb.SENDER}>\nTo: <to@example.org>\nSubject: dot lines\n\n")
                    f.write(((".." if args.lines == "dots" else "xx") + "x" * 74 + "\n") * max(1, size // 77))

                def send(port, _size, count, concurrency, path=path):
                    cmd = ["smtp-source", "-d", "-s", str(concurrency), "-m", str(count), "-F", path, "-M", rb.DOMAIN,
                           "-f", rb.SENDER, "-t", "to@example.org", f"127.0.0.1:{port}"]
                    subprocess.run(cmd, check=True, capture_output=True, timeout=900)
            send(relay.smtp_port, size, 20, 1)  # warm-up
            subprocess.run(["callgrind_control", "-z", str(pid)], check=True, capture_output=True)
            send(relay.smtp_port, size, args.messages, 1)
            before = set(glob.glob(f"{work}/callgrind.out.{pid}*"))
            subprocess.run(["callgrind_control", "-d", f"size{size}", str(pid)], check=True, capture_output=True)
            dumps = sorted(set(glob.glob(f"{work}/callgrind.out.{pid}*")) - before, key=os.path.getmtime)
            dump = dumps[-1]
            ir = totals(dump)
            rb.out(f"{size} bytes: {ir / args.messages:,.0f} instructions per message ({args.messages} messages, "
                   f"smtp-source -d, one connection; callgrind Ir, all relay threads)")
            text = subprocess.run(["callgrind_annotate", "--threshold=100", dump], capture_output=True,
                                  text=True).stdout
            shown = 0
            for line in text.splitlines():
                m = re.match(r"\s*([\d,]+)\s+(?:\([\s\d.]+%\)\s+)?(.*)", line)
                if m and ":" in m.group(2) and shown < args.top:
                    per = int(m.group(1).replace(",", "")) / args.messages
                    rb.out(f"  {per:>12,.0f} /msg  {m.group(2)[:150]}")
                    shown += 1
    finally:
        if relay:
            relay.cleanup()
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
