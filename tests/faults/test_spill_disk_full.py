"""The spill directory runs out of space: the relay spills messages over 1 KiB to a 64 KiB tmpfs
mounted for the test (or, where mounting is not allowed, runs under RLIMIT_FSIZE). A message that
does not fit must get a 4xx, never 250, and reach no upstream; the space is given back at once;
a message that fits, and one held in memory, still go through, also on the same connection."""
import os
import shutil
import smtplib
import subprocess
import sys
import tempfile

import fault_support as fs

binary = sys.argv[1]
harness = fs.harness
r = harness.Results("faults.spill_disk_full")
DOMAIN = "spill.example"
SPILL_CAPACITY = 64 * 1024

spill_dir = tempfile.mkdtemp(prefix="dkr-faults-spill-")
mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SPILL_CAPACITY // 1024}k,mode=0700", "tmpfs",
                          spill_dir], capture_output=True).returncode == 0
relay_binary = binary
if not mounted:
    # RLIMIT_FSIZE makes write() fail with EFBIG instead of ENOSPC. The relay must not die of SIGXFSZ
    # for it, so it starts with SIGXFSZ ignored (as a service manager can set it); subprocess resets
    # SIGXFSZ in its children, hence a shell in between.
    print("mount not permitted: falling back to prlimit --fsize", flush=True)
    relay_binary = os.path.join(spill_dir, "limited-relay.sh")
    with open(relay_binary, "w") as f:
        f.write(f"#!/bin/sh\ntrap '' XFSZ\nexec prlimit --fsize={SPILL_CAPACITY} {binary} \"$@\"\n")
    os.chmod(relay_binary, 0o755)

upstream = fs.ScriptedUpstream("normal")
relay = harness.Relay(relay_binary, fs.relay_config(
    upstream.port, relay_extra=f'spill_threshold = "1KiB"\nspill_directory = "{spill_dir}"'))
acked = []


def free_bytes():
    st = os.statvfs(spill_dir)
    return st.f_bavail * st.f_frsize


def outcome(label, code, text, mid):
    print(f"{label}: {code} {text.strip()}", flush=True)
    if code == 250:
        acked.append(mid)


try:
    key = fs.add_domain(binary, relay.dir + "/keys", DOMAIN)
    relay.start()
    empty = free_bytes() if mounted else None

    for i in (1, 2):
        mid = f"<too-big-{i}@{DOMAIN}>"
        code, text = fs.send_from(relay, DOMAIN, mid, body_size=4 * SPILL_CAPACITY)
        outcome(f"message of {4 * SPILL_CAPACITY} bytes", code, text, mid)
        r.check(code is not None and 400 <= code < 500, f"a message that cannot be spooled gets 4xx, got {code} {text}")
        if mounted:
            # The anonymous spool file is closed with the failed transaction: the space comes back.
            harness.wait_for(lambda: free_bytes() == empty, 10, "spill space given back")
            r.check(free_bytes() == empty, "spill file system empty again")

    mid = f"<fits@{DOMAIN}>"
    code, text = fs.send_from(relay, DOMAIN, mid, body_size=SPILL_CAPACITY // 3)
    outcome("message that fits the spill directory", code, text, mid)
    r.check(code == 250, f"a spilled message that fits: 250, got {code} {text}")
    mid = f"<small@{DOMAIN}>"
    code, text = fs.send_from(relay, DOMAIN, mid, body_size=200)
    outcome("message under the spill threshold", code, text, mid)
    r.check(code == 250, f"a message held in memory: 250, got {code} {text}")

    # Failure and success on one connection: the session stays in sync after the 4xx.
    with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=30) as smtp:
        big = f"<same-conn-big@{DOMAIN}>"
        try:
            smtp.sendmail(f"app@{DOMAIN}", ["user@example.org"], fs.message(DOMAIN, big, 4 * SPILL_CAPACITY))
            acked.append(big)
            r.check(False, "same connection: the large message must not be accepted")
        except smtplib.SMTPDataError as e:
            r.check(400 <= e.smtp_code < 500, f"same connection: large message 4xx, got {e.smtp_code}")
        ok = f"<same-conn-ok@{DOMAIN}>"
        smtp.sendmail(f"app@{DOMAIN}", ["user@example.org"], fs.message(DOMAIN, ok, 200))
        acked.append(ok)

    harness.wait_for(lambda: len(upstream.messages()) >= len(acked), 10, "acknowledged messages upstream")
    received = upstream.messages()
    ids = fs.message_ids(received)
    r.check(sorted(ids) == sorted(acked), f"upstream has exactly the acknowledged messages: {ids} vs {acked}")
    ok, detail = fs.verify_all(received, key.records())
    r.check(ok, f"every delivered message verifies (dkimpy, Mail::DKIM): {detail}")
    r.check(relay.proc.poll() is None, "relay still running")
    fs.stop_cleanly(relay, r)
finally:
    relay.cleanup()
    upstream.cleanup()
    if mounted:
        subprocess.run(["umount", spill_dir], check=False)
    shutil.rmtree(spill_dir, ignore_errors=True)
r.finish()
