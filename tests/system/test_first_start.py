"""README command 1 holds: on embedded defaults the relay creates its keystore, demo key and admin
token, signs what swaks sends into ./data/outbox, and the result verifies with dkimpy and Mail::DKIM."""
import glob
import json
import os
import stat
import subprocess
import sys
import urllib.error
import urllib.request

import harness

binary = sys.argv[1]
r = harness.Results("system.first_start")
relay = harness.Relay(binary)
# Embedded defaults, except the ports: tests run in parallel and must not collide.
relay.env["DKIM_RELAY_RELAY_LISTEN"] = f"127.0.0.1:{relay.smtp_port}"
relay.env["DKIM_RELAY_ADMIN_LISTEN"] = f"127.0.0.1:{relay.admin_port}"
os.remove(relay.config)
try:
    relay.start(args=[])
    banner = "".join(relay.banner)
    data = os.path.join(relay.dir, "data")
    keys = os.path.join(data, "keys")
    r.check(stat.S_IMODE(os.stat(keys).st_mode) == 0o700, "keystore directory is 0700")
    pems = glob.glob(os.path.join(keys, "example.com", "*.pem"))
    r.check(len(pems) == 1, f"one demo key for example.com, found {pems}")
    for pem in pems:
        r.check(stat.S_IMODE(os.stat(pem).st_mode) == 0o600, f"{pem} is 0600")
    token_file = os.path.join(data, "admin.token")
    r.check(stat.S_IMODE(os.stat(token_file).st_mode) == 0o600, "admin token file is 0600")
    token = open(token_file).read().strip()
    r.check(len(token) >= 32, "admin token is long")
    r.check(token not in relay.log() and token not in banner, "admin token is never printed")

    selector = os.path.basename(pems[0])[:-4]
    record = harness.txt_record_from_pem(pems[0])
    name = f"{selector}._domainkey.example.com"
    r.check(name in banner and record.split("p=")[1] in banner.replace('" "', ""),
            "banner shows the DNS record to publish")

    swaks = subprocess.run(["swaks", "--server", f"127.0.0.1:{relay.smtp_port}", "--from", "app@example.com",
                            "--to", "someone@example.org", "--header", "Subject: first start",
                            "--body", "signed by dkim-relay"], capture_output=True, text=True, timeout=60)
    r.check(swaks.returncode == 0, "swaks delivered: " + swaks.stdout[-500:])
    # 250 comes only after the upstream (here: the outbox) accepted: the file exists already.
    emls = glob.glob(os.path.join(data, "outbox", "*.eml"))
    r.check(len(emls) == 1, f"one .eml in the outbox, found {emls}")
    if emls:
        message = open(emls[0], "rb").read()
        r.check(b"signed by dkim-relay" in message, "message body arrived")
        r.check(harness.dkimpy_verify(message, {name: record}), "dkimpy verifies the outbox message")
        r.check(harness.maildkim_verify([message], {name: record}) == ["pass"], "Mail::DKIM verifies it")

    base = f"http://127.0.0.1:{relay.admin_port}"
    r.check(urllib.request.urlopen(base + "/healthz", timeout=10).status == 200, "/healthz answers 200")
    try:
        urllib.request.urlopen(base + "/v1/domains", timeout=10)
        r.check(False, "/v1/domains without a token must be refused")
    except urllib.error.HTTPError as e:
        r.check(e.code == 401, f"/v1/domains without a token: 401, got {e.code}")
    req = urllib.request.Request(base + "/v1/domains", headers={"Authorization": "Bearer " + token})
    body = urllib.request.urlopen(req, timeout=10).read().decode()
    r.check("example.com" in body, "/v1/domains lists the demo domain")

    relay.signal(15)
    r.check(relay.wait() == 0, "SIGTERM exits 0")

    # A second start reuses the store and the token: nothing is regenerated.
    relay2 = harness.Relay(binary, workdir=relay.dir)
    relay2.env = relay.env
    relay2.start(args=[])
    r.check(glob.glob(os.path.join(keys, "example.com", "*.pem")) == pems, "restart keeps the same key")
    r.check(open(token_file).read().strip() == token, "restart keeps the same token")
    relay2.stop()
finally:
    relay.cleanup()
r.finish()
