"""Issue 23 with the PostgreSQL keystore (and, with --directory, the directory store): keys born in a SoftHSM2 token, the database holding only a
KEK-sealed reference (decrypted here with AES-GCM, not by dkim-relay), mail verified by dkimpy and
Mail::DKIM with records derived by openssl from the public key in that reference. Then removal:
a staged key removed through the admin API, and a replaced key deleted by the rotation scheduler
(retire_after, then delete_after), each must take its token objects with it. What the token holds is
read through the module with ctypes (token_objects.py), not through dkim-relay.

usage: test_pkcs11_postgres.py DKIM_RELAY [--directory]"""
import base64
import json
import os
import re
import shutil
import smtplib
import subprocess
import sys
import time
import urllib.error
import urllib.request

import psycopg2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

import pkcs11_harness as ph
from pkcs11_harness import harness

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(ph.ROOT, "tests", "pgstore"))
from pg_harness import PostgresServer  # noqa: E402

binary = sys.argv[1]
DIRECTORY = "--directory" in sys.argv[2:]
r = harness.Results("pkcs11.directory_removal" if DIRECTORY else "pkcs11.postgres")
work = ph.tmpdir("dkr-pkcs11-pg-")
DOMAIN = "example.com"
SCHEMA = "dkim_relay"
RETIRE, DELETE = 2, 2


def api(relay, method, path, body=None):
    token = open(os.path.join(relay.dir, "admin.token")).read().strip()
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{relay.admin_port}{path}", data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=60) as resp:
            return resp.status, json.loads(resp.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def send(relay, n):
    msg = (f"From: app@{DOMAIN}\r\nTo: someone@example.org\r\nSubject: message {n}\r\n"
           f"Message-ID: <m{n}@{DOMAIN}>\r\n\r\nbody {n}\r\n")
    with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=30) as smtp:
        smtp.sendmail(f"app@{DOMAIN}", ["someone@example.org"], msg.encode())


def stored_keys(pg, kek):
    """{selector: (state, what the store keeps for its private key)}: PostgreSQL's sealed_key
    decrypted here, or the directory store's <selector>.pem and keys.json."""
    if DIRECTORY:
        folder = os.path.join(relay.dir, "keys", DOMAIN)
        states = {k["selector"]: k["state"] for k in json.load(open(os.path.join(folder, "keys.json")))["selectors"]}
        return {name[:-4]: (states.get(name[:-4]), open(os.path.join(folder, name)).read())
                for name in os.listdir(folder) if name.endswith(".pem")}
    conn = psycopg2.connect(pg.dsn())
    try:
        with conn.cursor() as cur:
            cur.execute(f"SELECT domain, selector, algorithm, bits, dns_record, state, sealed_key FROM {SCHEMA}.keys")
            rows = cur.fetchall()
    finally:
        conn.close()
    out = {}
    for domain, selector, algorithm, bits, record, state, sealed in rows:
        sealed = bytes(sealed)
        aad = f"dkim-relay key v2\0{domain}\0{selector}\0{algorithm}\0{bits}\0{record}".encode()
        out[selector] = (state, AESGCM(kek).decrypt(sealed[:12], sealed[12:], aad).decode())
    return out


def object_id(reference):
    """CKA_ID (hex) of an RFC 7512 reference "pkcs11:...;id=%01%ab...;..."."""
    match = re.search(r"[;:]id=((?:%[0-9a-fA-F]{2})+)", reference.split("\n", 1)[0])
    return match.group(1).replace("%", "").lower()


def record_of(reference):
    pub = os.path.join(work, "pub.pem")
    with open(pub, "w") as f:
        f.write(reference.split("\n", 1)[1])
    der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"], check=True,
                         capture_output=True).stdout
    return harness.txt_record_from_der(der, False)


def token_objects(hsm):
    out = subprocess.run(["/usr/bin/python3", os.path.join(HERE, "token_objects.py"), ph.SOFTHSM_MODULE, hsm.label,
                          hsm.pin_file], env=hsm.env, capture_output=True, text=True, timeout=60)
    if out.returncode != 0:
        raise AssertionError("reading the token failed: " + out.stdout + out.stderr)
    return [json.loads(line) for line in out.stdout.splitlines()]


def classes_with_id(hsm, cka_id):
    return sorted(o.get("class") for o in token_objects(hsm) if o.get("id") == cka_id)


pg = None
try:
    hsm = ph.SoftHsm(work)
    kek = None
    if DIRECTORY:
        keystore = 'path = "{dir}/keys"\ndemo_domain = ""'
    else:
        pg = PostgresServer()
        kek_file = os.path.join(work, "kek")
        subprocess.run([binary, "keys", "new-kek", kek_file], check=True, capture_output=True)
        kek = base64.b64decode(open(kek_file).read().strip())
        keystore = f'type = "postgres"\ndsn = "{pg.dsn()}"\nkek_file = "{kek_file}"\nschema = "{SCHEMA}"\n' \
                   'poll_interval = "1s"'
    with harness.Sink() as sink:
        toml = f"""
[relay]
listen = ["127.0.0.1:{{smtp_port}}"]
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {sink.port}
starttls = "none"
[signing]
algorithms = ["rsa-sha256"]
[keystore]
{keystore}
private_keys = "pkcs11"
[pkcs11]
module = "{ph.SOFTHSM_MODULE}"
token_label = "{ph.TOKEN}"
pin_file = "{hsm.pin_file}"
[admin]
listen = "127.0.0.1:{{admin_port}}"
token_file = "{{dir}}/admin.token"
dns_check_interval = "1s"
dns_resolver = "127.0.0.1:{harness.free_port()}"
dns_timeout = "1s"
[rotation]
enabled = true
allow_short_intervals = true
interval = "1d"
retire_after = "{RETIRE}s"
delete_after = "{DELETE}s"
"""
        relay = harness.Relay(binary, toml, env={"SOFTHSM2_CONF": hsm.conf})
        if not DIRECTORY:
            subprocess.run([binary, "db", "migrate", "--config", relay.config], check=True, capture_output=True,
                           env=relay.env)
        relay.start()
        try:
            status, body = api(relay, "POST", "/v1/domains", {"domain": DOMAIN})
            r.check(status == 201, f"add domain: {status} {body}")
            keys = stored_keys(pg, kek)
            r.check(len(keys) == 1 and all(text.startswith("pkcs11:") and "PRIVATE KEY" not in text
                                           for _, text in keys.values()),
                    f"the database holds a token reference, no private key: {list(keys)}")
            first, (_, first_ref) = next(iter(keys.items()))
            first_id = object_id(first_ref)
            r.check(classes_with_id(hsm, first_id) == ["private", "public"],
                    f"the key pair is in the token: {token_objects(hsm)}")
            records = {f"{first}._domainkey.{DOMAIN}": record_of(first_ref)}
            send(relay, 1)
            sink.wait_count(1)
            r.check(harness.dkimpy_verify(sink.messages[-1][2], records), "dkimpy verifies the first key's signature")

            # Rotate: a second key born in the token, active now; the first one retires.
            status, body = api(relay, "POST", f"/v1/domains/{DOMAIN}/rotate", {"activate": "now"})
            r.check(status in (200, 201), f"rotate: {status} {body}")
            keys = stored_keys(pg, kek)
            second = [s for s, (state, _) in keys.items() if state == "active"]
            r.check(len(second) == 1 and second[0] != first, f"a new active selector: {keys.keys()}")
            second = second[0]
            second_id = object_id(keys[second][1])
            records[f"{second}._domainkey.{DOMAIN}"] = record_of(keys[second][1])
            send(relay, 2)
            sink.wait_count(2)
            message = sink.messages[-1][2]
            r.check([s for _, s, _ in harness.signature_selectors(message)] == [second],
                    "mail is signed with the new key")
            r.check(harness.dkimpy_verify(message, records), "dkimpy verifies the rotated key's signature")
            r.check(harness.maildkim_verify([message], records) == ["pass"], "Mail::DKIM verifies it")

            # A staged key removed through the admin API: its objects go at once.
            status, body = api(relay, "POST", f"/v1/domains/{DOMAIN}/rotate", {"activate": "after_dns"})
            r.check(status in (200, 201, 202), f"stage a key: {status}")
            staged = [(s, t) for s, (state, t) in stored_keys(pg, kek).items() if state == "staged"]
            r.check(len(staged) == 1, f"one staged key: {staged}")
            staged_selector, staged_ref = staged[0]
            staged_id = object_id(staged_ref)
            r.check(classes_with_id(hsm, staged_id) == ["private", "public"], "the staged key pair is in the token")
            status, body = api(relay, "DELETE", f"/v1/domains/{DOMAIN}/keys/{staged_selector}")
            r.check(status == 200, f"remove the staged key: {status} {body}")
            r.check(staged_selector not in stored_keys(pg, kek), "its row is gone")
            r.check(classes_with_id(hsm, staged_id) == [],
                    f"its token objects are destroyed: {classes_with_id(hsm, staged_id)}")

            # The replaced key: revoked after retire_after, deleted after delete_after by the scheduler.
            harness.wait_for(lambda: first not in stored_keys(pg, kek), timeout=RETIRE + DELETE + 30,
                             what="the scheduler deleting the replaced key")
            r.check(classes_with_id(hsm, first_id) == [],
                    f"the deleted key's token objects are destroyed: {classes_with_id(hsm, first_id)}")
            r.check(classes_with_id(hsm, second_id) == ["private", "public"], "the active key's objects stay")
            send(relay, 3)
            sink.wait_count(3)
            r.check(harness.dkimpy_verify(sink.messages[-1][2], records), "mail still signs with the active key")
        finally:
            relay.stop()
    relay.cleanup()
finally:
    if pg is not None:
        pg.close()
    shutil.rmtree(work, ignore_errors=True)
r.finish()
