"""Issue 23 with SoftHSM2 loaded directly: keys born in the token through the admin API (add a
domain, rotate RSA, Ed25519, dual), mail signed through C_Sign and verified by dkimpy and Mail::DKIM,
a PEM imported into the token, bundle export refused, start-up errors naming the config key, and the
relay's memory: the imported key's private exponent is absent with private_keys = "pkcs11" and
present with "store" (which proves the search can find it)."""
import json
import os
import shutil
import smtplib
import subprocess
import sys
import urllib.request

import pkcs11_harness as ph
from pkcs11_harness import harness

binary = sys.argv[1]
r = harness.Results("pkcs11.softhsm")
work = ph.tmpdir("dkr-pkcs11-")


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


def send(relay, domain, subject):
    msg = (f"From: app@{domain}\r\nTo: someone@example.org\r\nSubject: {subject}\r\n"
           f"Message-ID: <{subject.replace(' ', '.')}@{domain}>\r\n\r\nbody of {subject}\r\n")
    with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=30) as smtp:
        smtp.sendmail(f"app@{domain}", ["someone@example.org"], msg.encode())


def verify_last(sink, records, what, expect_algorithms):
    message = sink.messages[-1][2]
    sigs = harness.signature_selectors(message)
    r.check(sorted(a for _, _, a in sigs) == sorted(expect_algorithms), f"{what}: signatures {sigs}")
    r.check(harness.dkimpy_verify(message, records), f"{what}: dkimpy verifies every signature")
    out = harness.mail_dkim_signatures(message, records, work)
    # Debian 12's Mail::DKIM (1.20230212) has no Ed25519: it must pass RSA and may only call the
    # Ed25519 signature unsupported (as in tests/e2e).
    lines = out.stdout.splitlines()
    passes = [line for line in lines if line.startswith("pass ")]
    unsupported = [line for line in lines if "unsupported algorithm ed25519" in line]
    r.check(len(passes) == expect_algorithms.count("rsa-sha256") and
            len(passes) + len(unsupported) == len(expect_algorithms),
            f"{what}: Mail::DKIM verifies every signature: {out.stdout}{out.stderr}")


def keys_cli(relay, *args, env):
    return subprocess.run([binary, "keys", "--config", relay.config, *args], capture_output=True, text=True,
                          env=env, timeout=120)


try:
    hsm = ph.SoftHsm(work)
    known_pem, d = ph.known_rsa_key(work)
    needles = ph.exponent_needles(d)
    with harness.Sink() as sink:
        relay = harness.Relay(binary, ph.relay_toml(ph.SOFTHSM_MODULE, hsm.pin_file, sink.port),
                              env={"SOFTHSM2_CONF": hsm.conf})
        # A PEM imported before the relay starts, by the CLI (its own process): into the token.
        out = keys_cli(relay, "import-pem", "imported.example", "imp", known_pem, env=relay.env)
        r.check(out.returncode == 0, "keys import-pem into the token: " + out.stdout + out.stderr)
        stored = open(os.path.join(relay.dir, "keys", "imported.example", "imp.pem")).read()
        r.check(stored.startswith("pkcs11:token=dkim;id=") and "PRIVATE KEY" not in stored,
                "the store keeps a token reference and the public key, no private key")
        relay.start()
        try:
            status, created = api(relay, "POST", "/v1/domains", {"domain": "example.com"})
            r.check(status == 201, f"add domain (RSA, in the token): {status} {created}")
            send(relay, "example.com", "rsa one")
            sink.wait_count(1)
            verify_last(sink, ph.records_of(relay, "example.com", work), "RSA key made in the token", ["rsa-sha256"])

            status, rotated = api(relay, "POST", "/v1/domains/example.com/rotate",
                                  {"algorithm": "ed25519-sha256", "activate": "now"})
            r.check(status == 201, f"rotate to a dual RSA + Ed25519 set: {status} {rotated}")
            send(relay, "example.com", "dual")
            sink.wait_count(2)
            verify_last(sink, ph.records_of(relay, "example.com", work), "dual RSA + Ed25519 from the token",
                        ["ed25519-sha256", "rsa-sha256"])

            status, rotated = api(relay, "POST", "/v1/domains/example.com/rotate",
                                  {"algorithm": "rsa-sha256", "activate": "now"})
            r.check(status == 201, f"rotate the RSA key: {status} {rotated}")
            new_selector = rotated.get("key", {}).get("selector", "?")
            send(relay, "example.com", "rotated")
            sink.wait_count(3)
            message = sink.messages[-1][2]
            r.check(new_selector in [s for _, s, _ in harness.signature_selectors(message)],
                    f"the rotated RSA key {new_selector} signs")
            verify_last(sink, ph.records_of(relay, "example.com", work), "after RSA rotation",
                        ["ed25519-sha256", "rsa-sha256"])

            send(relay, "imported.example", "imported")
            sink.wait_count(4)
            imported_records = {"imp._domainkey.imported.example": harness.txt_record_from_pem(known_pem)}
            verify_last(sink, imported_records, "imported PEM, signing in the token", ["rsa-sha256"])

            found = ph.memory_holds(relay.proc.pid, needles)
            r.check(not found, f"pkcs11: the imported key's private exponent is not in the relay's memory ({found})")

            status, body = api(relay, "GET", "/readyz")
            r.check(status == 200 and body.get("checks", {}).get("private_keys") == "ok", f"/readyz: {body}")

            # A wrong object: imported.example's reference keeps its public key but names the CKA_ID
            # of example.com's first RSA key. The relay reloads the file (inotify) and must never put
            # that object's signature on mail: 451, nothing relayed unverified.
            other = open(os.path.join(relay.dir, "keys", "example.com", "s202612a.pem")).read()
            imp_path = os.path.join(relay.dir, "keys", "imported.example", "imp.pem")
            uri, public = open(imp_path).read().split("\n", 1)
            other_id = other.split(";id=", 1)[1].split(";", 1)[0]
            wrong = uri.split(";id=", 1)[0] + ";id=" + other_id + ";" + uri.split(";id=", 1)[1].split(";", 1)[1]
            with open(imp_path + ".tmp", "w") as f:
                f.write(wrong + "\n" + public)
            os.chmod(imp_path + ".tmp", 0o600)
            os.rename(imp_path + ".tmp", imp_path)
            replies = []

            def refused():
                before = len(sink.messages)
                try:
                    send(relay, "imported.example", f"wrong object {len(replies)}")
                    replies.append(250)
                    sink.wait_count(before + 1)
                    return False
                except smtplib.SMTPDataError as e:
                    replies.append(e.smtp_code)
                    return e.smtp_code == 451
            harness.wait_for(refused, timeout=30, what="the wrong token object refused")
            relayed = [m for (_, _, m) in sink.messages if b"imported.example" in m.split(b"\r\n\r\n")[0]]
            r.check(all(harness.dkimpy_verify(m, imported_records) for m in relayed),
                    f"no message signed by the wrong object was relayed ({replies})")
        finally:
            relay.stop()

        out = subprocess.run([binary, "keys", "--config", relay.config, "export", "bundle",
                              os.path.join(work, "bundle.json"), "--kek", os.path.join(work, "kek")],
                             capture_output=True, text=True, env=relay.env)
        subprocess.run([binary, "keys", "new-kek", os.path.join(work, "kek")], capture_output=True)
        out = subprocess.run([binary, "keys", "--config", relay.config, "export", "bundle",
                              os.path.join(work, "bundle.json"), "--kek", os.path.join(work, "kek")],
                             capture_output=True, text=True, env=relay.env)
        r.check(out.returncode != 0 and "cannot be exported" in out.stderr and
                not os.path.exists(os.path.join(work, "bundle.json")),
                "bundle export of token keys says the private part cannot be exported: " + out.stderr)

        # Start-up errors name the config key.
        def start_error(toml, env):
            bad = harness.Relay(binary, toml, env=env)
            proc = subprocess.run([binary, "serve", "--config", bad.config], capture_output=True, text=True,
                                  env=bad.env, cwd=bad.dir, timeout=60)
            shutil.rmtree(bad.dir, ignore_errors=True)
            return proc.returncode, proc.stdout + proc.stderr

        wrong_pin = os.path.join(work, "wrong.pin")
        with open(wrong_pin, "w") as f:
            f.write("not-the-pin\n")
        os.chmod(wrong_pin, 0o600)
        env = {"SOFTHSM2_CONF": hsm.conf}
        code, text = start_error(ph.relay_toml(ph.SOFTHSM_MODULE, wrong_pin, sink.port), env)
        r.check(code != 0 and "pkcs11.pin_file" in text and "PIN" in text, f"wrong PIN: start-up error ({text[-300:]})")
        code, text = start_error(ph.relay_toml("/nonexistent/libpkcs11.so", hsm.pin_file, sink.port), env)
        r.check(code != 0 and "pkcs11.module" in text, f"missing module: start-up error ({text[-300:]})")
        code, text = start_error(ph.relay_toml(ph.SOFTHSM_MODULE, hsm.pin_file, sink.port).replace(
            'token_label = "dkim"', 'token_label = "absent"'), env)
        r.check(code != 0 and "pkcs11.token_label" in text, f"missing token: start-up error ({text[-300:]})")
        os.chmod(hsm.pin_file, 0o644)
        code, text = start_error(ph.relay_toml(ph.SOFTHSM_MODULE, hsm.pin_file, sink.port), env)
        r.check(code != 0 and "pkcs11.pin_file" in text and "chmod 600" in text,
                f"a readable PIN file is refused ({text[-300:]})")
        os.chmod(hsm.pin_file, 0o600)

    # The control: the same PEM in a store-mode relay is found by the same search.
    with harness.Sink() as sink:
        store = harness.Relay(binary, ph.relay_toml(ph.SOFTHSM_MODULE, hsm.pin_file, sink.port, private_keys="store"))
        out = keys_cli(store, "import-pem", "imported.example", "imp", known_pem, env=store.env)
        r.check(out.returncode == 0, "store mode: keys import-pem: " + out.stderr)
        store.start()
        try:
            send(store, "imported.example", "store mode")
            sink.wait_count(1)
            r.check(harness.dkimpy_verify(sink.messages[-1][2], imported_records), "store mode signs with the PEM")
            found = ph.memory_holds(store.proc.pid, needles)
            r.check(bool(found), f"store: the private exponent is found in the relay's memory ({found})")
        finally:
            store.cleanup()
    relay.cleanup()
finally:
    shutil.rmtree(work, ignore_errors=True)
r.finish()
