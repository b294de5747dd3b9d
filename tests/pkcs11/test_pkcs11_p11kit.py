"""Issue 23 through `p11-kit server`: the SoftHSM2 token lives in a separate process that exports it
on a Unix socket; the relay loads p11-kit-client.so with only P11_KIT_SERVER_ADDRESS (no
SOFTHSM2_CONF, so it could not open the token files itself). A domain added through the admin API
gets its key in the token and mail verifies with dkimpy and Mail::DKIM; Ed25519, which p11-kit 0.24's
RPC does not carry, is refused with a clear error. Then the fault: the server is killed while mail
flows. Affected messages are tempfailed (never an unsigned 250, never a signature that fails),
/readyz fails, and after the server is restarted signing comes back by itself."""
import json
import os
import shutil
import smtplib
import sys
import threading
import urllib.error
import urllib.request

import pkcs11_harness as ph
from pkcs11_harness import harness

binary = sys.argv[1]
r = harness.Results("pkcs11.p11kit")
work = ph.tmpdir("dkr-p11kit-")
DOMAIN = "example.com"


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
    """Sends message n; returns ("ok", code) / ("tempfail", code) / ("error", text)."""
    msg = (f"From: app@{DOMAIN}\r\nTo: someone@example.org\r\nSubject: message {n}\r\n"
           f"Message-ID: <m{n}@{DOMAIN}>\r\n\r\nbody {n}\r\n")
    try:
        with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=30) as smtp:
            smtp.sendmail(f"app@{DOMAIN}", ["someone@example.org"], msg.encode())
        return ("ok", 250)
    except smtplib.SMTPDataError as e:
        return ("tempfail" if 400 <= e.smtp_code < 500 else "error", e.smtp_code)
    except (smtplib.SMTPException, OSError) as e:
        return ("error", str(e))


try:
    hsm = ph.SoftHsm(work)
    server = ph.P11KitServer(hsm, work).start()
    with harness.Sink() as sink:
        relay = harness.Relay(binary, ph.relay_toml(ph.P11KIT_CLIENT, hsm.pin_file, sink.port),
                              env={"P11_KIT_SERVER_ADDRESS": server.address})
        relay.env.pop("SOFTHSM2_CONF", None)
        relay.start()
        try:
            status, created = api(relay, "POST", "/v1/domains", {"domain": DOMAIN})
            r.check(status == 201, f"add domain through p11-kit server: {status} {created}")
            records = ph.records_of(relay, DOMAIN, work)
            r.check(send(relay, 0) == ("ok", 250), "a message is signed through p11-kit server")
            sink.wait_count(1)
            message = sink.messages[-1][2]
            r.check(harness.dkimpy_verify(message, records), "dkimpy verifies the p11-kit signature")
            r.check(harness.maildkim_verify([message], records) == ["pass"], "Mail::DKIM verifies it")

            status, body = api(relay, "POST", f"/v1/domains/{DOMAIN}/rotate",
                               {"algorithm": "ed25519-sha256", "activate": "now"})
            r.check(status == 400 and "Ed25519" in json.dumps(body),
                    f"Ed25519 through p11-kit server is refused clearly: {status} {body}")

            # The fault: kill the key service while a client sends.
            outcomes = []
            stop = threading.Event()
            killed = threading.Event()
            lock = threading.Lock()

            def client():
                n = 1
                while not stop.is_set():
                    outcome = send(relay, n)
                    with lock:
                        outcomes.append((n, killed.is_set(), outcome))
                    n += 1

            sender = threading.Thread(target=client)
            sender.start()
            harness.wait_for(lambda: sum(1 for o in outcomes if o[2][0] == "ok") >= 5, what="mail flowing")
            server.kill()
            killed.set()
            harness.wait_for(lambda: api(relay, "GET", "/readyz")[0] == 503, what="/readyz failing")
            status, body = api(relay, "GET", "/readyz")
            r.check(body.get("checks", {}).get("private_keys") == "token unavailable", f"/readyz says why: {body}")
            harness.wait_for(lambda: sum(1 for o in outcomes if o[1] and o[2][0] == "tempfail") >= 3,
                             what="tempfails while the key service is down")
            server.start()
            harness.wait_for(lambda: api(relay, "GET", "/readyz")[0] == 200, timeout=30, what="/readyz back")
            mark = len(outcomes)
            harness.wait_for(lambda: sum(1 for o in outcomes[mark:] if o[2][0] == "ok") >= 3, timeout=30,
                             what="signing back after the restart")
            stop.set()
            sender.join()

            oks = [o for o in outcomes if o[2][0] == "ok"]
            tempfails = [o for o in outcomes if o[2][0] == "tempfail"]
            others = [o for o in outcomes if o[2][0] == "error"]
            r.check(len(tempfails) >= 3 and all(o[2][1] == 451 for o in tempfails),
                    f"messages during the outage get 451: {len(tempfails)}")
            r.check(not others, f"no other outcome: {others[:5]}")
            sink.wait_count(1 + len(oks))
            r.check(len(sink.messages) == 1 + len(oks), f"the upstream got exactly the acknowledged messages "
                                                        f"({len(sink.messages)} vs {1 + len(oks)})")
            bad = [i for i, (_, _, m) in enumerate(sink.messages) if not harness.dkimpy_verify(m, records)]
            r.check(not bad, f"every relayed message carries a signature that verifies (bad: {bad})")
        finally:
            relay.stop()
    relay.cleanup()
    server.stop()
finally:
    shutil.rmtree(work, ignore_errors=True)
r.finish()
