"""A client that disconnects in the middle of DATA: the upstream must not receive that message. The
relay's delivery order gives the proof: a second, complete message is sent on another connection
afterwards, and when it has arrived the first must not have. Both a small message (held in memory)
and a large one (spilled to a file) are dropped, once with FIN and once with RST, and the relay's
descriptors (sockets, spool files; its upstream pool aside) return to their baseline."""
import os
import socket
import struct
import sys

import fault_support as fs

binary = sys.argv[1]
harness = fs.harness
r = harness.Results("faults.client_drop")
DOMAIN = "drop.example"
POOL_SIZE = 2

upstream = fs.ScriptedUpstream("normal")
relay = harness.Relay(binary, fs.relay_config(upstream.port, relay_extra='spill_threshold = "4KiB"',
                                              upstream_extra=f"pool_size = {POOL_SIZE}"))


def expect(f, code):
    reply = b""
    while True:
        line = f.readline()
        reply += line
        if not line or line[3:4] != b"-":
            break
    if not reply.startswith(str(code).encode()):
        raise AssertionError(f"expected {code}, got {reply!r}")


def drop_mid_data(mid, body_size, reset):
    data = fs.message(DOMAIN, mid, body_size)
    sock = socket.create_connection(("127.0.0.1", relay.smtp_port), timeout=30)
    f = sock.makefile("rb")
    expect(f, 220)
    for command, code in ((b"EHLO client.test", 250), (f"MAIL FROM:<app@{DOMAIN}>".encode(), 250),
                          (b"RCPT TO:<user@example.org>", 250), (b"DATA", 354)):
        sock.sendall(command + b"\r\n")
        expect(f, code)
    # Most of the message, cut inside a line; no end marker.
    sock.sendall(data[: len(data) * 3 // 4])
    if reset:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    f.close()
    sock.close()


def counted(pid):  # the upstream pool may keep idle connections: not a leak
    return fs.fd_count_except_peer(pid, upstream.port)


try:
    key = fs.add_domain(binary, relay.dir + "/keys", DOMAIN)
    relay.start()
    pid = relay.proc.pid
    code, text = fs.send_from(relay, DOMAIN, f"<warmup@{DOMAIN}>")  # opens the upstream pool
    r.check(code == 250, f"warm-up message: 250, got {code} {text}")
    upstream_count = 1
    harness.wait_for(lambda: len(upstream.messages()) == 1, 10, "warm-up message upstream")
    baseline = fs.settled_fd_count(pid, count=counted)

    cases = [("small-fin", 1000, False), ("small-rst", 1000, True), ("large-fin", 300_000, False),
             ("large-rst", 300_000, True)]
    for name, size, reset in cases:
        dropped = f"<dropped-{name}@{DOMAIN}>"
        follower = f"<follower-{name}@{DOMAIN}>"
        drop_mid_data(dropped, size, reset)
        code, text = fs.send_from(relay, DOMAIN, follower, body_size=size)
        r.check(code == 250, f"{name}: the next complete message gets 250, got {code} {text}")
        upstream_count += 1
        harness.wait_for(lambda: len(upstream.messages()) >= upstream_count, 10, f"{name}: follower upstream")
        ids = fs.message_ids(upstream.messages())
        r.check(follower in ids, f"{name}: the follower arrived")
        r.check(dropped not in ids, f"{name}: the dropped message never reached the upstream")
        # The relay opens the upstream's DATA phase when its client's DATA is accepted; a client that
        # vanishes then costs that connection, closed before a single byte of the message went out.
        half_sent = [p for p in upstream.aborted() if os.path.getsize(p) > 0]
        r.check(half_sent == [], f"{name}: the upstream saw no byte of a half-sent message: {half_sent}")

    received = upstream.messages()
    r.check(len(received) == upstream_count, f"upstream has {len(received)} messages, expected {upstream_count}")
    ok, detail = fs.verify_all(received, key.records())
    r.check(ok, f"every delivered message verifies (dkimpy, Mail::DKIM): {detail}")
    fds = fs.wait_fds_back(pid, baseline, count=counted)
    r.check(fds <= baseline, f"relay descriptors back to baseline {baseline}: {fds}: {fs.describe_fds(pid)}")
    r.check(relay.proc.poll() is None, "relay still running")
    fs.stop_cleanly(relay, r)
finally:
    relay.cleanup()
    upstream.cleanup()
r.finish()
