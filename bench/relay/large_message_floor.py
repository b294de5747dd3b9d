"""The 1 MB target of issue 26, in one run (not a test): relay CPU per 1 MB message against one
RSA-2048 signature + SHA-256 of the message + twice the kernel's cost of moving 1 MB through a
loopback socket.

    /usr/bin/python3 bench/relay/large_message_floor.py BUILD/app/dkim-relay [--messages 100] [--rounds 3]

- Relay CPU: utime+stime of the relay (/proc) over --messages smtp-source messages of 1 MB
  (concurrency 4, one connection per message stream, smtp-sink upstream).
- Signature and SHA-256: `openssl speed` (rsa2048; -evp sha256 -bytes 1000000), one core.
- Loopback move: a sender process writes a 1 MB file into a TCP loopback socket with sendfile(2)
  (no user-space copy), a receiver process reads it with recv_into into one reused buffer and
  discards it, 1,000 times; the term is the kernel time (stime) of both processes per MB, so Python's own
  user time does not count. The relay moves each message twice (client -> relay -> upstream).
Rounds alternate the three measurements; the ratio uses each round's own figures.
"""
import argparse
import os
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import relay_bench as rb  # noqa: E402

MB = 1_000_000

RECEIVER = """
import os, socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
buf = bytearray(262144); view = memoryview(buf); total = 0
while True:
    n = c.recv_into(view)
    if n == 0: break
    total += n
t = os.times(); print(total, t.system, flush=True)
"""

SENDER = """
import os, socket, sys
port, path, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
c = socket.create_connection(("127.0.0.1", port))
with open(path, "rb") as f:
    for _ in range(count):
        f.seek(0); c.sendfile(f)
c.close()
t = os.times(); print(t.system, flush=True)
"""


def loopback_move_ms(count, work):
    """Kernel CPU ms to move 1 MB through loopback once (sender's + receiver's stime)."""
    path = os.path.join(work, "payload")
    with open(path, "wb") as f:
        f.write(b"x" * MB)
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    port = int(receiver.stdout.readline())
    sender = subprocess.run([sys.executable, "-c", SENDER, str(port), path, str(count)], capture_output=True,
                            text=True, check=True)
    total, receiver_system = receiver.stdout.readline().split()
    receiver.wait(timeout=60)
    assert int(total) == count * MB, f"receiver got {total} bytes"
    return (float(sender.stdout.split()[0]) + float(receiver_system)) * 1000 / count


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("binary")
    parser.add_argument("--messages", type=int, default=100)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    work = tempfile.mkdtemp(prefix="dkr-floor-")
    sink = rb.SmtpSink()
    try:
        for r in range(args.rounds):
            relay, _ = rb.start_relay(os.path.abspath(args.binary), sink.port, 4)
            try:
                rb.smtp_source(relay.smtp_port, MB, 10, 2)  # warm-up
                before = rb.cpu_seconds(relay.proc.pid)
                rb.smtp_source(relay.smtp_port, MB, args.messages, 4)
                relay_ms = (rb.cpu_seconds(relay.proc.pid) - before) * 1000 / args.messages
            finally:
                relay.cleanup()
            sign_ms = 1000.0 / rb.openssl_rsa2048_signs(1)
            sha_ms = 1000.0 * MB / rb.openssl_sha256_bytes_per_s(MB)
            move_ms = loopback_move_ms(1000, work)
            floor = sign_ms + sha_ms + 2 * move_ms
            rb.out(f"round {r}: relay {relay_ms:.3f} ms CPU per 1 MB message; signature {sign_ms:.3f} + SHA-256 "
                   f"{sha_ms:.3f} + 2 x loopback move {move_ms:.3f} = {floor:.3f} ms; ratio {relay_ms / floor:.2f} "
                   f"(target <= 1.5), load {rb.load_average()}")
    finally:
        sink.stop()
        subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
