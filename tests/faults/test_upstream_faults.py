"""An upstream that misbehaves (argv[2]: scripted_upstream.py's mode): the client gets a 4xx, never a
250 for a message the upstream did not accept, within a bound set by upstream.command_timeout (1s);
then the upstream is replaced by a well-behaved one on the same port and the next message goes
through signed, and the relay holds no more descriptors than before (its upstream pool aside).

Modes: drop-in-data (closes after the first data bytes), stall (accepts, never says anything),
stall-after-data (reads the whole message, never answers), greet421 (421 greeting, closes)."""
import sys
import time

import fault_support as fs

binary, mode = sys.argv[1], sys.argv[2]
harness = fs.harness
r = harness.Results(f"faults.upstream_{mode.replace('-', '_')}")
DOMAIN = "fault.example"
POOL_SIZE = 4
# command_timeout is 1s; a reply within this bound shows the timeout applied (the default is 5m).
REPLY_BOUND = 10.0

upstream = fs.ScriptedUpstream(mode)
relay = harness.Relay(binary, fs.relay_config(upstream.port, upstream_extra=f"pool_size = {POOL_SIZE}"))
replacement = None
acked = []


def counted(pid):  # the upstream pool may keep idle connections: not a leak
    return fs.fd_count_except_peer(pid, upstream.port)


try:
    key = fs.add_domain(binary, relay.dir + "/keys", DOMAIN)
    relay.start()
    pid = relay.proc.pid
    baseline = fs.settled_fd_count(pid, count=counted)

    for i in (1, 2):  # the second one also exercises whatever the first left in the pool
        mid = f"<fault-{mode}-{i}@{DOMAIN}>"
        started = time.monotonic()
        code, text = fs.send_from(relay, DOMAIN, mid, body_size=4000)
        elapsed = time.monotonic() - started
        if code == 250:
            acked.append(mid)
        r.check(code is not None and 400 <= code < 500, f"message {i} to a {mode} upstream: 4xx, got {code} {text}")
        # 421 would tell the client that the relay itself is closing the session.
        r.check(code != 421, f"message {i}: the upstream's 421 is not passed on as the relay's own 421")
        r.check(elapsed < REPLY_BOUND, f"message {i}: reply after {elapsed:.1f}s, bound {REPLY_BOUND}s")
        print(f"{mode}: message {i} -> {code} {text.strip()} after {elapsed:.2f}s", flush=True)
    r.check(upstream.messages() == [], f"the {mode} upstream recorded no message")
    r.check(relay.proc.poll() is None, "relay still running")

    upstream.stop()
    replacement = fs.ScriptedUpstream("normal", port=upstream.port)
    mid = f"<fault-{mode}-after@{DOMAIN}>"
    code, text = fs.send_from(relay, DOMAIN, mid, body_size=4000)
    r.check(code == 250, f"after the upstream is replaced, a normal message gets 250, got {code} {text}")
    received = replacement.messages()
    if code == 250:
        acked.append(mid)
        r.check(fs.message_ids(received) == [mid],
                f"the replacement upstream received exactly that message: {fs.message_ids(received)}")
    if received:
        ok, detail = fs.verify_all(received[:1], key.records())
        r.check(ok, f"it is signed and verifies (dkimpy, Mail::DKIM): {detail}")

    every = fs.message_ids(upstream.messages() + replacement.messages())
    r.check(all(m in every for m in acked), f"every acknowledged message reached an upstream: {acked} vs {every}")

    # Each fault must not leak a socket or spool file.
    fds = fs.wait_fds_back(pid, baseline, count=counted)
    r.check(fds <= baseline, f"relay descriptors back to baseline {baseline}: {fds}: {fs.describe_fds(pid)}")
    fs.stop_cleanly(relay, r)
finally:
    relay.cleanup()
    upstream.cleanup()
    if replacement:
        replacement.cleanup()
r.finish()
