"""Issue 5's rotation under load: while a client sends continuously, the domain's key is rotated 20
times through the admin API (stage, publish, activate). Every message the upstream receives must be
signed, by a key whose record was published before the message was acknowledged, and verify with
dkimpy and Mail::DKIM against TXT records derived from the key files by openssl."""
import json
import os
import smtplib
import sys
import threading
import time
import urllib.request

import harness

binary = sys.argv[1]
DOMAIN = "rot.example"
ROTATIONS = 20
r = harness.Results("system.rotation_under_load")

CONFIG = """
[relay]
listen = ["127.0.0.1:{smtp_port}"]
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {upstream_port}
starttls = "none"
[keystore]
path = "{dir}/keys"
demo_domain = ""
watch = false
[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "{dir}/admin.token"
dns_check_interval = "1h"
"""


def api(relay, token, method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(f"http://127.0.0.1:{relay.admin_port}{path}", data=data, method=method,
                                 headers={"Authorization": "Bearer " + token, "Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return resp.status, json.loads(resp.read() or b"{}")


with harness.Sink() as sink:
    relay = harness.Relay(binary, CONFIG.replace("{upstream_port}", str(sink.port)))
    try:
        relay.start()
        token = open(os.path.join(relay.dir, "admin.token")).read().strip()
        published = {}  # selector -> (monotonic time published, TXT record)

        def publish(selector):
            pem = os.path.join(relay.dir, "keys", DOMAIN, selector + ".pem")
            published[selector] = (time.monotonic(), harness.txt_record_from_pem(pem))

        status, created = api(relay, token, "POST", "/v1/domains", {"domain": DOMAIN})
        r.check(status == 201, f"domain created: {status}")
        first = created["key"]["selector"]
        publish(first)

        acked = []  # (message-id, monotonic ack time)
        failures = []
        stop = threading.Event()
        progress = threading.Condition()

        def client():
            n = 0
            while not stop.is_set():
                with smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=30) as smtp:
                    for _ in range(10):
                        n += 1
                        mid = f"<load-{n}@{DOMAIN}>"
                        msg = (f"From: App <app@{DOMAIN}>\r\nTo: user@example.org\r\nSubject: load {n}\r\n"
                               f"Message-ID: {mid}\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n"
                               f"message {n}\r\n" + "x" * (n % 300) + "\r\n")
                        try:
                            smtp.sendmail(f"app@{DOMAIN}", ["user@example.org"], msg.encode())
                            with progress:
                                acked.append((mid, time.monotonic()))
                                progress.notify_all()
                        except smtplib.SMTPException as e:
                            failures.append(repr(e))
                        if stop.is_set():
                            break

        thread = threading.Thread(target=client)
        thread.start()
        for i in range(ROTATIONS):
            with progress:
                target = len(acked) + 3
                r.check(progress.wait_for(lambda: len(acked) >= target, 60), f"messages flow before rotation {i}")
            status, staged = api(relay, token, "POST", f"/v1/domains/{DOMAIN}/rotate", {"activate": "after_dns"})
            selector = staged["key"]["selector"]
            publish(selector)  # the operator publishes the record, then activates
            status, _ = api(relay, token, "POST", f"/v1/domains/{DOMAIN}/keys/{selector}/activate")
            r.check(status == 200, f"rotation {i}: activate {selector}: {status}")
        with progress:
            target = len(acked) + 3
            progress.wait_for(lambda: len(acked) >= target, 60)
        stop.set()
        thread.join(timeout=120)
        r.check(not failures, f"no client errors: {failures[:3]}")
        sink.wait_count(len(acked))

        ack_time = dict(acked)
        records = {f"{s}._domainkey.{DOMAIN}": rec for s, (_, rec) in published.items()}
        used = set()
        messages = [m for _, _, m in sink.messages]
        for m in messages:
            mid = next(line.split(b":", 1)[1].strip().decode() for line in m.split(b"\r\n")
                       if line.lower().startswith(b"message-id:"))
            sigs = harness.signature_selectors(m)
            r.check(len(sigs) == 1 and sigs[0][0] == DOMAIN, f"{mid} is signed for {DOMAIN}: {sigs}")
            for _, selector, _ in sigs:
                used.add(selector)
                r.check(selector in published and published[selector][0] <= ack_time.get(mid, 0),
                        f"{mid} signed by {selector}, published before the message was acknowledged")
            r.check(harness.dkimpy_verify(m, records), f"dkimpy verifies {mid}")
        results = harness.maildkim_verify(messages, records)
        r.check(results == ["pass"] * len(messages), f"Mail::DKIM verifies all: {set(results)}")
        r.check(len(used) >= ROTATIONS, f"messages were signed by {len(used)} different selectors")
        r.check(len(messages) == len(acked), f"upstream got {len(messages)} = acknowledged {len(acked)}")
        print(f"rotation_under_load: {len(acked)} messages, {len(published)} selectors, {len(used)} used")
    finally:
        relay.cleanup()
r.finish()
