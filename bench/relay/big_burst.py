"""Large messages at once (not a test): N clients each send one message of SIZE bytes at the same
moment through the relay (smtp-sink upstream, default spill_threshold of 1 MiB, so they spill to
disk); printed: accepted (250) and lost, the relay's peak RSS (VmHWM) over the burst, and for each
message the time from the client's final dot to its reply, beside the same burst sent directly to
smtp-sink (the upstream's own reply time). Directly to smtp-sink, "whole message to reply" (first byte
of the message to the reply) is what the upstream needs to take SIZE bytes and answer: the least a
store-and-forward relay can add after the final dot, since the DKIM-Signature field goes first and
depends on the whole body. The relay's own share of its final-dot-to-reply is what it spends above
that figure (printed with --clients 1). With --repeat, also the relay's CPU (utime+stime from /proc,
10 ms ticks) per message over the R messages through it.

    /usr/bin/python3 bench/relay/big_burst.py BUILD/app/dkim-relay [--clients 50] [--size 10000000] [--repeat 0]
"""
import argparse
import os
import socket
import statistics
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import relay_bench as rb  # noqa: E402


def reply(sock, buf):
    while True:
        lines = buf[0].split(b"\r\n")
        for i, line in enumerate(lines[:-1]):
            if len(line) >= 4 and line[3:4] == b" ":
                buf[0] = b"\r\n".join(lines[i + 1:])
                return int(line[:3])
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buf[0] += data


def send_one(port, payload, start, results):
    try:
        sock = socket.create_connection(("127.0.0.1", port))
        buf = [b""]
        reply(sock, buf)
        for command, expect in ((b"EHLO burst.test\r\n", 250), (f"MAIL FROM:<{rb.SENDER}>\r\n".encode(), 250),
                                (b"RCPT TO:<to@example.org>\r\n", 250), (b"DATA\r\n", 354)):
            sock.sendall(command)
            code = reply(sock, buf)
            if code != expect:
                raise RuntimeError(f"{command!r}: {code}")
        start.wait()
        first = time.monotonic()
        sock.sendall(payload)
        dot = time.monotonic()
        sock.sendall(b".\r\n")
        code = reply(sock, buf)
        done = time.monotonic()
        results.append((code, done - dot, done - first))
        sock.sendall(b"QUIT\r\n")
        sock.close()
    except Exception as e:  # counted as lost
        results.append((0, repr(e)))


def burst(port, clients, size):
    head = f"From: <{rb.SENDER}>\r\nTo: <to@example.org>\r\nSubject: burst\r\n\r\n".encode()
    line = b"y" * 76 + b"\r\n"
    payload = head + line * ((size - len(head)) // len(line))
    start = threading.Barrier(clients + 1)
    results = []
    threads = [threading.Thread(target=send_one, args=(port, payload, start, results)) for _ in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    for t in threads:
        t.join()
    return results


def cpu_seconds(pid):
    """utime + stime of the process (all threads), from /proc: 10 ms ticks."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mib(pid):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


def summary(name, results):
    ok = [r[1] for r in results if r[0] == 250]
    lost = len(results) - len(ok)
    if not ok:
        return f"{name}: 0 accepted, {lost} lost ({results[:3]})"
    q = statistics.quantiles(ok, n=20) if len(ok) > 1 else [ok[0]] * 19
    whole = [r[2] for r in results if r[0] == 250]
    return (f"{name}: {len(ok)} accepted, {lost} lost; final dot to reply: median {1000 * statistics.median(ok):.1f} ms, "
            f"p95 {1000 * q[18]:.1f} ms, max {1000 * max(ok):.1f} ms; whole message to reply: median "
            f"{1000 * statistics.median(whole):.1f} ms")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--size", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=0,
                        help="then R more single messages, direct and through the relay alternately: medians")
    args = parser.parse_args()
    sink = rb.SmtpSink()
    try:
        direct = burst(sink.port, args.clients, args.size)
        rb.out(summary("direct to smtp-sink", direct) + f", load {rb.load_average()}")
        floor = statistics.median(r[2] for r in direct if r[0] == 250) if any(r[0] == 250 for r in direct) else None
        relay, _ = rb.start_relay(os.path.abspath(args.binary), sink.port, 4)
        try:
            # The relay refuses messages above its max_message_size (default 25 MB); 10 MB is within.
            before = peak_rss_mib(relay.proc.pid)
            through = burst(relay.smtp_port, args.clients, args.size)
            rb.out(summary("through the relay", through) + f", load {rb.load_average()}")
            dots = [r[1] for r in through if r[0] == 250]
            if args.clients == 1 and floor is not None and dots:
                rb.out(f"relay final dot to reply {1000 * dots[0]:.1f} ms - smtp-sink taking the whole message "
                       f"{1000 * floor:.1f} ms = {1000 * (dots[0] - floor):.1f} ms the relay's own "
                       f"(target: one signature + 1 ms)")
            rb.out(f"relay peak RSS (VmHWM): {before:.1f} MiB before the burst, {peak_rss_mib(relay.proc.pid):.1f} MiB "
                   f"after ({args.clients} x {args.size:,} bytes at once)")
            if args.repeat:
                wholes, dots = [], []
                relay_cpu = 0.0
                for _ in range(args.repeat):
                    d = burst(sink.port, 1, args.size)[0]
                    cpu_before = cpu_seconds(relay.proc.pid)
                    r = burst(relay.smtp_port, 1, args.size)[0]
                    relay_cpu += cpu_seconds(relay.proc.pid) - cpu_before
                    if d[0] != 250 or r[0] != 250:
                        raise SystemExit(f"a message was not accepted: {d} {r}")
                    wholes.append(d[2])
                    dots.append(r[1])
                excess = sorted(1000 * (r - d) for r, d in zip(dots, wholes))
                rb.out(f"{args.repeat} single messages, alternating: relay final dot to reply median "
                       f"{1000 * statistics.median(dots):.1f} ms; smtp-sink taking the whole message median "
                       f"{1000 * statistics.median(wholes):.1f} ms; the relay's own, per pair: median "
                       f"{statistics.median(excess):.1f} ms, min {excess[0]:.1f} ms, max {excess[-1]:.1f} ms; "
                       f"relay CPU {1000 * relay_cpu / args.repeat:.1f} ms per message (utime+stime); "
                       f"load {rb.load_average()}")
        finally:
            relay.cleanup()
    finally:
        sink.stop()


if __name__ == "__main__":
    main()
