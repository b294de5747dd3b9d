#!/usr/bin/python3
"""A domain's own rotation policy, end to end, on both stores, with durations in seconds.

Two relays share a PostgreSQL keystore and one runs on a directory store, all with the admin API and
a rotation interval of 3 s; BIND 9 on loopback serves the zones, empty (so staged keys wait for DNS).
Each store holds on.example and out.example. out.example opts out: on PostgreSQL through
PUT /v1/domains/out.example/rotation on one replica, on the directory store through
`keys policy --opt-out` before start. Checks: on.example gets a successor staged by schedule on both
stores while out.example, several intervals later, still has its one key; the API and the CLI show
the opt-out; a policy that cannot work is a 400 naming the field; both PostgreSQL replicas show the
same DNS status for the staged key (stored by the leader, not held in its memory).

usage: test_rotation_policy.py <dkim-relay binary>
"""
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(ROOT, "tests", "pgstore"))
import harness  # noqa: E402
from bind_server import BindServer  # noqa: E402
from pg_harness import PostgresServer  # noqa: E402

BINARY = os.path.abspath(sys.argv[1])
INTERVAL = 3  # seconds
DOMAINS = ["on.example", "out.example"]

r = harness.Results("rotation_policy")
work = tempfile.mkdtemp(prefix="dkr-policy-")


def cli(*args):
    result = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError("dkim-relay %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
    return result.stdout


class Replica:
    def __init__(self, name, keystore):
        self.name = name
        self.smtp, self.admin_port = harness.free_port(), harness.free_port()
        self.token = base64.b16encode(os.urandom(16)).decode()
        token_file = os.path.join(work, name + ".token")
        with open(token_file, "w") as f:
            f.write(self.token + "\n")
        os.chmod(token_file, 0o600)
        self.config = os.path.join(work, name + ".toml")
        with open(self.config, "w") as f:
            f.write("""
[relay]
listen = ["127.0.0.1:%d"]
hostname = "%s.policy.test"

[upstream]
type = "smtp"
host = "127.0.0.1"
port = %d
starttls = "none"

[keystore]
%s

[admin]
enabled = true
listen = "127.0.0.1:%d"
token_file = "%s"

[dns]
resolver = "%s"
timeout = "1s"
check_interval = "1s"

[rotation]
enabled = true
allow_short_intervals = true
interval = "%ds"
retire_after = "2s"
delete_after = "2s"

[log]
level = "info"
""" % (self.smtp, name, sink.port, keystore, self.admin_port, token_file, bind.address, INTERVAL))
        self.proc = None
        self.log = os.path.join(work, name + ".log")

    def start(self):
        self.proc = harness.start_serve(BINARY, self.config, work, self.log,
                                        ready=lambda: harness.port_open(self.admin_port), what=self.name)

    def api(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.admin_port, path), method=method, data=data,
                                         headers={"Authorization": "Bearer " + self.token,
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, json.loads(response.read().decode())
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, (json.loads(text) if text.startswith("{") else text)

    def keys(self, domain):
        status, body = self.api("GET", "/v1/domains/" + domain)
        assert status == 200, (status, body)
        return body


def states(replica, domain):
    return sorted(k["state"] for k in replica.keys(domain)["selectors"])


bind = pg = sink = None
replicas = []
try:
    bind = BindServer({d: "" for d in DOMAINS}, dynamic=DOMAINS)
    pg = PostgresServer()
    sink = harness.Sink().__enter__()
    kek = os.path.join(work, "kek")
    cli("keys", "new-kek", kek)
    pg_keystore = 'type = "postgres"\ndsn = "%s"\nkek_file = "%s"\npoll_interval = "2s"' % (pg.dsn(), kek)
    dir_store = os.path.join(work, "dirkeys")
    pg0, pg1 = Replica("pg0", pg_keystore), Replica("pg1", pg_keystore)
    dir0 = Replica("dir0", 'type = "directory"\npath = "%s"\ndemo_domain = ""' % dir_store)
    replicas = [pg0, pg1, dir0]
    cli("db", "migrate", "--config", pg0.config)
    for replica in (pg0, dir0):
        for domain in DOMAINS:
            cli("keys", "--config", replica.config, "add", domain, "--algorithm", "ed25519-sha256")
    # The directory store's opt-out through the CLI (the same lifecycle use case as the API).
    shown = cli("keys", "--config", dir0.config, "policy", "out.example", "--opt-out")
    r.check("opted out of scheduled rotation" in shown, "keys policy --opt-out says so: %r" % shown)
    refused = subprocess.run([BINARY, "keys", "--config", dir0.config, "policy", "on.example", "--retire-after", "0s"],
                             capture_output=True, text=True)
    r.check(refused.returncode != 0 and "--retire-after" in refused.stderr, "keys policy refuses 0s: %r" % refused.stderr)

    for replica in replicas:
        replica.start()
    # The PostgreSQL store's opt-out through the API of one replica, right after start (before the
    # first interval ends).
    status, body = pg1.api("PUT", "/v1/domains/out.example/rotation", {"opt_out": True})
    r.check(status == 200 and body["effective"]["rotates"] is False, "PUT opt_out on pg1: %s %s" % (status, body))
    status, body = pg0.api("PUT", "/v1/domains/on.example/rotation", {"interval": "soon"})
    r.check(status == 400 and "interval" in body.get("message", ""), "PUT interval \"soon\" is a 400 naming it: %s"
            % body)
    status, body = pg0.api("PUT", "/v1/domains/on.example/rotation", {"retire_after": 0})
    r.check(status == 400 and "retire_after" in body.get("message", ""), "PUT retire_after 0 is a 400 naming it: %s"
            % body)
    start = time.monotonic()

    # on.example rotates by schedule on both stores.
    for replica in (pg0, dir0):
        harness.wait_for(lambda: "staged" in states(replica, "on.example"), 30,
                         "%s: on.example's successor staged by schedule" % replica.name)
    # Three more intervals: out.example still has its one key on both stores.
    time.sleep(max(0.0, 3 * INTERVAL - (time.monotonic() - start)) + 1)
    for replica in replicas:
        r.check(states(replica, "out.example") == ["active"], "%s: out.example never rotated (%s)"
                % (replica.name, states(replica, "out.example")))
        rotation = replica.keys("out.example")["rotation"]
        r.check(rotation["opt_out"] is True and rotation["next_step"] is None,
                "%s: GET /v1/domains/out.example shows the opt-out and no next step: %s" % (replica.name, rotation))
        on = replica.keys("on.example")["rotation"]
        r.check(on["opt_out"] is False and on["effective"]["rotates"] is True,
                "%s: on.example rotates by schedule: %s" % (replica.name, on))
    shown = cli("keys", "--config", pg0.config, "policy", "out.example")
    r.check("opted out of scheduled rotation" in shown, "keys policy shows the API's opt-out: %r" % shown)

    # Both PostgreSQL replicas show the same DNS status for on.example's staged key (only one of
    # them runs the scheduler).
    def dns_status(replica):
        for key in replica.keys("on.example")["selectors"]:
            if key["state"] == "staged":
                return key.get("dns_status")
        return None
    harness.wait_for(lambda: all((dns_status(p) or {}).get("checked_at") for p in (pg0, pg1)), 20,
                     "both PostgreSQL replicas to show a DNS check")
    a, b = dns_status(pg0), dns_status(pg1)
    r.check(a["status"] == "pending" and a["reason"] != "not checked yet", "pg0's DNS status: %s" % a)
    r.check((a["status"], a["reason"], a["found"]) == (b["status"], b["reason"], b["found"]),
            "the PostgreSQL replicas agree on the DNS status: %s / %s" % (a, b))
    status, body = dir0.api("GET", "/v1/domains/on.example/rotation")
    r.check(status == 200 and body["next_step"] in ("rotate", None), "GET /rotation on the directory relay: %s" % body)
except Exception as e:  # noqa: BLE001
    import traceback
    traceback.print_exc()
    r.check(False, "exception: %s" % e)
    for replica in replicas:
        try:
            with open(replica.log) as f:
                print("--- %s log (tail) ---\n%s" % (replica.name, f.read()[-3000:]))
        except OSError:
            pass
finally:
    for replica in replicas:
        if replica.proc is not None:
            harness.stop_process(replica.proc)
    if sink is not None:
        sink.__exit__(None, None, None)
    if pg is not None:
        pg.close()
    if bind is not None:
        bind.close()
    shutil.rmtree(work, ignore_errors=True)
r.finish()
