"""The upstream is down when the relay starts (nothing listens on its port): the relay starts anyway,
the first message gets a 4xx; once the upstream listens, a later message gets 250. Then the upstream
goes away again while the relay holds pooled connections to it, and comes back: again 4xx while it
is away, 250 once it is back. No 250 is ever given for a message the upstream did not record."""
import sys
import time

import fault_support as fs

binary = sys.argv[1]
harness = fs.harness
r = harness.Results("faults.upstream_down")
DOMAIN = "down.example"
BACK_DEADLINE = 20.0

port = harness.free_port()
relay = harness.Relay(binary, fs.relay_config(port))
upstreams = []
acked = []
counter = 0


def attempt(label):
    global counter
    counter += 1
    mid = f"<down-{counter}@{DOMAIN}>"
    started = time.monotonic()
    code, text = fs.send_from(relay, DOMAIN, mid, body_size=1000)
    print(f"{label}: {code} {text.strip()} after {time.monotonic() - started:.2f}s", flush=True)
    if code == 250:
        acked.append(mid)
    return code, text


def until_accepted(label):
    """The upstream listens again: messages are retried (as a client's queue would) until one gets
    250, within a deadline. Returns the number of 4xx before it."""
    deadline = time.monotonic() + BACK_DEADLINE
    refused = 0
    while time.monotonic() < deadline:
        code, text = attempt(label)
        if code == 250:
            return refused
        r.check(code is not None and 400 <= code < 500, f"{label}: a refusal is a 4xx, got {code} {text}")
        refused += 1
        time.sleep(0.2)  # retry pacing, not synchronisation: the loop ends on the 250 itself
    r.check(False, f"{label}: no 250 within {BACK_DEADLINE}s after the upstream came back")
    return refused


try:
    key = fs.add_domain(binary, relay.dir + "/keys", DOMAIN)
    r.check(not fs.port_accepts(port), "nothing listens on the upstream port")
    relay.start()  # must not need the upstream to start
    code, text = attempt("upstream down at start")
    r.check(code is not None and 400 <= code < 500, f"upstream down: 4xx, got {code} {text}")

    upstreams.append(fs.ScriptedUpstream("normal", port=port))  # returns once the port accepts
    refused = until_accepted("upstream back")
    r.check(refused == 0, f"the first message after the upstream listens again gets 250 ({refused} 4xx before)")

    # The relay now has a pooled connection to an upstream that is about to disappear.
    upstreams[-1].stop()
    code, text = attempt("upstream gone again")
    r.check(code is not None and 400 <= code < 500, f"upstream gone: 4xx, got {code} {text}")
    upstreams.append(fs.ScriptedUpstream("normal", port=port))
    refused = until_accepted("upstream back again")
    r.check(refused == 0, f"the first message after the second return gets 250 ({refused} 4xx before)")

    received = []
    for u in upstreams:
        received += u.messages()
    ids = fs.message_ids(received)
    r.check(sorted(ids) == sorted(acked), f"upstreams recorded exactly the acknowledged messages: {ids} vs {acked}")
    ok, detail = fs.verify_all(received, key.records())
    r.check(ok, f"every recorded message verifies (dkimpy, Mail::DKIM): {detail}")
    r.check(relay.proc.poll() is None, "relay still running")
    fs.stop_cleanly(relay, r)
finally:
    relay.cleanup()
    for u in upstreams:
        u.cleanup()
r.finish()
