"""Keystore files corrupted while the relay runs, then SIGHUP. The keystore contract (KeyStore::reload)
is that a domain whose files are broken keeps its previous state and the others are updated: so the
healthy domain keeps signing, and the broken ones keep signing with their previous key (checked
against the record derived from the original key file) - or, at worst, are tempfailed. With
unsigned = "tempfail" no message may ever be acknowledged unsigned. Restoring the files and sending
SIGHUP again brings everything back."""
import os
import shutil
import signal
import sys

import fault_support as fs

binary = sys.argv[1]
harness = fs.harness
r = harness.Results("faults.keystore_corrupt")
HEALTHY, BROKEN_JSON, BROKEN_PEM = "healthy.example", "json.example", "pem.example"
GARBAGE = b"\x00\xff garbage {{{ not json, not PEM -----BEGIN nothing\n" * 20

upstream = fs.ScriptedUpstream("normal")
relay = harness.Relay(binary, fs.relay_config(upstream.port))
acked = {}  # message-id -> domain
n = 0


def send(domain, label):
    global n
    n += 1
    mid = f"<ks-{n}@{domain}>"
    code, text = fs.send_from(relay, domain, mid, body_size=500)
    print(f"{label} {domain}: {code} {text.strip()}", flush=True)
    if code == 250:
        acked[mid] = domain
    return code, text


def hup_and_wait(expect_error):
    """SIGHUP, then the reload's own log line: the reload is done when it is logged."""
    before = relay.log().count("SIGHUP: keystore reload")
    relay.signal(signal.SIGHUP)
    harness.wait_for(lambda: relay.log().count("SIGHUP: keystore reload") > before, 20, "SIGHUP reload logged")
    # "SIGHUP: keystore reloaded" or "SIGHUP: keystore reload: <error>"
    failed = relay.log().rsplit("SIGHUP: keystore reload", 1)[1].startswith(":")
    r.check(failed == expect_error, f"reload {'reports' if expect_error else 'without'} an error")


try:
    keys_dir = os.path.join(relay.dir, "keys")
    keys = {d: fs.add_domain(binary, keys_dir, d) for d in (HEALTHY, BROKEN_JSON, BROKEN_PEM)}
    saved = os.path.join(relay.dir, "saved")
    shutil.copytree(keys_dir, saved)
    relay.start()

    for d in keys:
        code, text = send(d, "before")
        r.check(code == 250, f"before corruption {d}: 250, got {code} {text}")
    code, text = send("unknown.example", "before")
    r.check(code == 451, f"a domain without a key is tempfailed (451), got {code} {text}")

    with open(os.path.join(keys_dir, BROKEN_JSON, "keys.json"), "wb") as f:
        f.write(GARBAGE)
    with open(keys[BROKEN_PEM].pem, "wb") as f:
        f.write(GARBAGE)
    hup_and_wait(expect_error=True)
    log = relay.log()
    r.check(BROKEN_JSON in log and BROKEN_PEM in log, "the reload error names both broken domains")
    r.check(relay.proc.poll() is None, "relay survives the reload of broken files")

    for d in keys:
        code, text = send(d, "corrupted")
        if d == HEALTHY:
            r.check(code == 250, f"healthy domain keeps signing: 250, got {code} {text}")
        else:
            r.check(code == 250 or (code is not None and 400 <= code < 500),
                    f"broken domain {d}: previous key (250) or tempfail (4xx), got {code} {text}")
            r.check(code == 250, f"broken domain {d} keeps its previous keys (KeyStore::reload contract), got {code}")

    # Put the original files back: the next reload must pick them up again.
    os.remove(os.path.join(keys_dir, BROKEN_JSON, "keys.json"))
    shutil.copy2(os.path.join(saved, BROKEN_JSON, "keys.json"), os.path.join(keys_dir, BROKEN_JSON, "keys.json"))
    shutil.copy2(os.path.join(saved, BROKEN_PEM, os.path.basename(keys[BROKEN_PEM].pem)), keys[BROKEN_PEM].pem)
    hup_and_wait(expect_error=False)
    for d in keys:
        code, text = send(d, "restored")
        r.check(code == 250, f"after restoring the files {d}: 250, got {code} {text}")

    # Every acknowledged message reached the upstream signed by its own domain's original key.
    harness.wait_for(lambda: len(upstream.messages()) >= len(acked), 10, "acknowledged messages upstream")
    received = upstream.messages()
    ids = fs.message_ids(received)
    r.check(sorted(ids) == sorted(acked), f"upstream has exactly the acknowledged messages: {ids} vs {list(acked)}")
    records = {}
    for k in keys.values():
        records.update(k.records())
    for mid, m in zip(ids, received):
        signed = harness.signature_selectors(m)
        r.check(signed != [], f"{mid} was acknowledged signed, not unsigned")
        domain = acked.get(mid)
        r.check(any(s[0] == domain and s[1] == keys[domain].selector for s in signed),
                f"{mid} signed by {domain}'s original selector: {signed}")
    ok, detail = fs.verify_all(received, records)
    r.check(ok, f"every message verifies against its original key's record (dkimpy, Mail::DKIM): {detail}")
    fs.stop_cleanly(relay, r)
finally:
    relay.cleanup()
    upstream.cleanup()
r.finish()
