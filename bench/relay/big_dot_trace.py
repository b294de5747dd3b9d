"""Where the time after the final dot of one large message goes (not a test): the relay runs under
`strace -f -ttt -T` (socket and file calls only) with an smtp-sink upstream; after one warm-up, one
message of SIZE bytes (big_burst.py's 76-character lines) is sent with the client's own timestamps
of its first byte, the return of its sendall (the "final dot") and the reply. Printed: how many
bytes of the message the relay read after the client's dot (what the socket buffers still held),
when its last DATA read and its first upstream write of the message came, and the system calls it
made sending the message upstream.

    /usr/bin/python3 bench/relay/big_dot_trace.py BUILD/app/dkim-relay [--size 10000000]
"""
import argparse
import os
import re
import shutil
import signal
import socket
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import relay_bench as rb  # noqa: E402
import big_burst as bb  # noqa: E402

CALLS = "recvfrom,read,write,pread64,sendmsg,sendto,sendfile,writev"
LINE = re.compile(r"(\d+)\s+([\d.]+) (\w+)\((\d+), (.*) = (-?\d+)")


def send_timed(port, size):
    head = f"From: <{rb.SENDER}>\r\nTo: <to@example.org>\r\nSubject: burst\r\n\r\n".encode()
    line = b"y" * 76 + b"\r\n"
    payload = head + line * ((size - len(head)) // len(line))
    sock = socket.create_connection(("127.0.0.1", port))
    buf = [b""]
    bb.reply(sock, buf)
    for command in (b"EHLO trace.test\r\n", f"MAIL FROM:<{rb.SENDER}>\r\n".encode(), b"RCPT TO:<to@example.org>\r\n",
                    b"DATA\r\n"):
        sock.sendall(command)
        bb.reply(sock, buf)
    first = time.time()
    sock.sendall(payload)
    dot = time.time()
    sock.sendall(b".\r\n")
    code = bb.reply(sock, buf)
    done = time.time()
    sock.close()
    if code != 250:
        raise SystemExit(f"the message got {code}")
    return first, dot, done


def analyse(trace, first, dot, done):
    rows = []
    for text in open(trace):
        m = LINE.match(text)
        if m and float(m.group(2)) >= first:
            rows.append((float(m.group(2)), m.group(3), int(m.group(4)), int(m.group(6)), text))
    client = next(fd for _, name, fd, _, text in rows if name in ("recvfrom", "read") and "yyyy" in text)
    upstream = next(fd for _, name, fd, _, _ in rows if name in ("sendmsg", "sendfile", "writev"))
    after_dot = 0
    last_read = first
    for t, name, fd, ret, _ in rows:
        if name in ("recvfrom", "read") and fd == client and ret > 0:
            last_read = t
            if t > dot:
                after_dot += ret
    first_out = next(t for t, name, fd, _, _ in rows if fd == upstream and name in ("sendmsg", "sendfile", "writev")
                     and t >= last_read)
    calls = {}
    for t, name, fd, _, _ in rows:
        if t >= last_read and (name == "pread64" or (fd == upstream and name in ("sendmsg", "sendfile", "writev"))):
            calls[name] = calls.get(name, 0) + 1
    rb.out(f"client: first byte to its final dot {1000 * (dot - first):.1f} ms; the relay read {after_dot:,} bytes of "
           f"the message after the dot; its last DATA read at dot + {1000 * (last_read - dot):.1f} ms, first upstream "
           f"write of the message at dot + {1000 * (first_out - dot):.1f} ms, the reply at dot + "
           f"{1000 * (done - dot):.1f} ms (all under strace); calls sending it upstream: {calls}")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--size", type=int, default=10_000_000)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="dkr-dot-trace-")
    trace = os.path.join(work, "trace.txt")
    wrapper = rb.tool_wrapper(os.path.join(work, "relay-under-strace"), f"strace -f -ttt -T -e trace={CALLS} -o {trace}",
                              args.binary)
    sink = rb.SmtpSink()
    relay = None
    try:
        relay, _ = rb.start_relay(wrapper, sink.port, 4)
        bb.burst(relay.smtp_port, 1, args.size)  # warm-up: pool, spill directory, page cache
        first, dot, done = send_timed(relay.smtp_port, args.size)
        # relay.proc is strace; stopping it detaches from the relay, which must be stopped itself.
        traced = [int(p) for p in open(f"/proc/{relay.proc.pid}/task/{relay.proc.pid}/children").read().split()]
        for pid in traced:
            os.kill(pid, signal.SIGTERM)
        relay.cleanup()
        relay = None
        analyse(trace, first, dot, done)
        rb.out(f"load {rb.load_average()}")
    finally:
        if relay:
            relay.cleanup()
        sink.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
