"""A spilled message without dot lines goes to a plaintext upstream by sendfile(2) from the spill
file (UpstreamConnection::send_spill_file). An upstream that breaks or stops reading while it comes
in must still cost the client a 4xx, never a 250, within a bound set by upstream.command_timeout
(1s), and leave no descriptor (socket or spill file) behind; a well-behaved upstream on the same
port then gets the next spilled message, signed and verifying.

Modes of tests/upstream/scripted_upstream.py: drop-in-data (closes after the first line of data),
pause-in-data (stops reading after the first line: the relay's sendfile fills the socket buffers
and waits for room that never comes)."""
import sys
import time

import fault_support as fs

binary = sys.argv[1]
harness = fs.harness
r = harness.Results("faults.spilled_send_faults")
DOMAIN = "fault.example"
# Above spill_threshold (256 KiB here); for the faults also more than loopback's socket buffers hold.
# The message to the normal upstream is smaller: the scripted upstream reads it a line at a time in
# Python and must answer within command_timeout (1s) of the last byte, also on a loaded CI machine.
BODY = {"drop-in-data": 16 * 1000 * 1000, "pause-in-data": 16 * 1000 * 1000, "normal": 2 * 1000 * 1000}
REPLY_BOUND = 15.0  # command_timeout is 1s; the client's own timeout is 60s

upstreams = [fs.ScriptedUpstream("drop-in-data")]
PORT = upstreams[0].port
relay = harness.Relay(binary, fs.relay_config(PORT, relay_extra='spill_threshold = "256KiB"'))


def counted(pid):  # the upstream pool may keep idle connections: not a leak
    return fs.fd_count_except_peer(pid, PORT)


try:
    key = fs.add_domain(binary, relay.dir + "/keys", DOMAIN)
    relay.start()
    pid = relay.proc.pid
    baseline = fs.settled_fd_count(pid, count=counted)
    for mode in ("drop-in-data", "pause-in-data", "normal"):
        if mode != "drop-in-data":
            upstreams[-1].stop()
            upstreams.append(fs.ScriptedUpstream(mode, port=PORT))
        upstream = upstreams[-1]
        mid = f"<spilled-{mode}@{DOMAIN}>"
        started = time.monotonic()
        code, text = fs.send(relay.smtp_port, f"app@{DOMAIN}", ["user@example.org"],
                             fs.message(DOMAIN, mid, BODY[mode]), timeout=60)
        elapsed = time.monotonic() - started
        print(f"{mode}: {code} {text.strip()} after {elapsed:.2f}s", flush=True)
        if mode == "normal":
            r.check(code == 250, f"a spilled message to a normal upstream gets 250, got {code} {text}")
            received = upstream.messages()
            r.check(fs.message_ids(received) == [mid], f"the upstream received exactly that message: "
                    f"{fs.message_ids(received)}")
            if received:
                ok, detail = fs.verify_all(received[:1], key.records())
                r.check(ok, f"it is signed and verifies (dkimpy, Mail::DKIM): {detail}")
        else:
            r.check(code is not None and 400 <= code < 500 and code != 421,
                    f"a spilled message to a {mode} upstream: 4xx, got {code} {text}")
            r.check(elapsed < REPLY_BOUND, f"{mode}: reply after {elapsed:.1f}s, bound {REPLY_BOUND}s")
            r.check(upstream.messages() == [], f"the {mode} upstream recorded no message")
        r.check(relay.proc.poll() is None, "relay still running")
    fds = fs.wait_fds_back(pid, baseline, count=counted)
    r.check(fds <= baseline, f"relay descriptors back to baseline {baseline}: {fds}: {fs.describe_fds(pid)}")
    fs.stop_cleanly(relay, r)
finally:
    relay.cleanup()
    for upstream in upstreams:
        upstream.cleanup()
r.finish()
