"""SIGTERM: the relay stops accepting, lets a transaction in flight finish (the client still gets the
upstream's 250 and the upstream gets the message exactly once), closes idle sessions, exits 0."""
import signal
import socket
import sys
import time

import harness

binary = sys.argv[1]
r = harness.Results("system.graceful_shutdown")
CONFIG = """
[relay]
listen = ["127.0.0.1:{smtp_port}"]
shutdown_grace = "20s"
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {upstream_port}
starttls = "none"
[keystore]
path = "{dir}/keys"
demo_domain = "example.com"
[admin]
# Enabled: its health hook holds the SMTP upstream, which once outlived the upstream's I/O context
# and hung the exit (seen first in the container test).
listen = "127.0.0.1:{admin_port}"
token_file = "{dir}/admin.token"
"""


def reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line.decode().rstrip("\r\n"))
        if line[3:4] != b"-":
            return lines


with harness.Sink() as sink:
    relay = harness.Relay(binary, CONFIG.replace("{upstream_port}", str(sink.port)))
    try:
        relay.start()
        busy = socket.create_connection(("127.0.0.1", relay.smtp_port), timeout=30)
        bf = busy.makefile("rb")
        idle = socket.create_connection(("127.0.0.1", relay.smtp_port), timeout=30)
        idf = idle.makefile("rb")
        r.check(reply(bf)[0].startswith("220"), "greeting")
        r.check(reply(idf)[0].startswith("220"), "greeting (idle)")
        for cmd, code in [(b"EHLO client.test", "250"), (b"MAIL FROM:<app@example.com>", "250"),
                          (b"RCPT TO:<user@example.org>", "250"), (b"DATA", "354")]:
            busy.sendall(cmd + b"\r\n")
            got = reply(bf)
            r.check(got and got[-1].startswith(code), f"{cmd!r} -> {got}")
        busy.sendall(b"From: app@example.com\r\nTo: user@example.org\r\nSubject: in flight\r\n\r\nfirst half\r\n")

        started = time.monotonic()
        relay.signal(signal.SIGTERM)

        def refused():
            try:
                socket.create_connection(("127.0.0.1", relay.smtp_port), timeout=2).close()
                return False
            except OSError:
                return True
        harness.wait_for(refused, 10, "the listener to close after SIGTERM")
        r.check(True, "new connections are refused after SIGTERM")
        idle_answer = reply(idf)
        r.check(not idle_answer or idle_answer[0].startswith("421"), f"idle session closed: {idle_answer}")

        busy.sendall(b"second half\r\n.\r\n")
        final = reply(bf)
        r.check(final and final[-1].startswith("250"), f"in-flight transaction completes with 250: {final}")
        r.check(relay.wait(timeout=30) == 0, "relay exits 0")
        r.check(time.monotonic() - started < 20, "exit before the grace period ran out")
        r.check(len(sink.messages) == 1 and b"second half" in sink.messages[0][2], "upstream got the message once")
    finally:
        relay.cleanup()
r.finish()
