#!/usr/bin/python3
"""Rotation on autopilot, end to end, with durations in seconds.

Two relays share a PostgreSQL keystore (admin API on) and a third runs on its own directory store
with admin.enabled = false (so the scheduler, not the admin API, activates keys after DNS). A BIND 9
on loopback serves the domains' zones; the test plays the operator: it publishes each staged key's
TXT with nsupdate (once wrongly first, for one key per store), replaces a revoked key's record with
"v=DKIM1; p=" and removes a deleted key's record. Mail flows through every replica the whole time;
each relayed message is verified by dkimpy and Mail::DKIM against what BIND serves at that moment.
Midway, the PostgreSQL leader is killed with SIGKILL right after a staged key's record appeared, and
started again.

Checks: three rotations per domain (Ed25519 stays Ed25519, RSA+Ed25519 stays dual); no key activates
while DNS serves another key, and its status says why; every message signed and verified, none
refused; each step (stage, activate, revoke, delete) done exactly once across the replicas' logs;
the replaced key stays retiring for retire_after, then revoked for delete_after, then deleted; the
metrics named in the issue are on /metrics.

usage: test_rotation_schedule.py <dkim-relay binary>
"""
import base64
import json
import os
import re
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import threading
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
INTERVAL, RETIRE, DELETE = 8, 6, 4  # seconds
PG_DOMAINS = {"pg.example": ["ed25519-sha256"], "dual.example": ["rsa-sha256", "ed25519-sha256"]}
DIR_DOMAINS = {"dir.example": ["rsa-sha256"]}
ROTATIONS = 3
DEADLINE = 150  # seconds for the whole cycle

r = harness.Results("rotation_schedule")
work = tempfile.mkdtemp(prefix="dkr-rotation-")
procs = {}
lock = threading.Lock()
stop = threading.Event()
operator_up = threading.Event()  # cleared while the test has BIND stopped: the operator waits
operator_up.set()
verifier_up = threading.Event()  # and the verifier
verifier_up.set()
dns_users = threading.Lock()  # held by the operator's and the verifier's rounds


def log(text):
    print("[%6.1f] %s" % (time.monotonic() - T0, text), flush=True)


def cli(*args, env=None):
    result = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120, env=env)
    if result.returncode != 0:
        raise AssertionError("dkim-relay %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
    return result.stdout


def relay_config(name, smtp, keystore, admin_port=None, token_file=None):
    path = os.path.join(work, name + ".toml")
    admin = ('enabled = true\nlisten = "127.0.0.1:%d"\ntoken_file = "%s"\n' % (admin_port, token_file)
             if admin_port else "enabled = false\n")
    with open(path, "w") as f:
        f.write("""
[relay]
listen = ["127.0.0.1:%d"]
hostname = "%s.rotation.test"
unsigned = "tempfail"
shutdown_grace = "2s"

[upstream]
type = "smtp"
host = "127.0.0.1"
port = %d
starttls = "none"

[signing]
algorithms = ["rsa-sha256", "ed25519-sha256"]

[keystore]
%s

[admin]
%sdns_resolver = "%s"
dns_timeout = "2s"
dns_check_interval = "1s"

[rotation]
enabled = true
allow_short_intervals = true
interval = "%ds"
retire_after = "%ds"
delete_after = "%ds"
dns_timeout = "60s"

[log]
level = "info"
""" % (smtp, name, sink.port, keystore, admin, bind.address, INTERVAL, RETIRE, DELETE))
    return path


class Replica:
    def __init__(self, name, group, keystore, admin=False):
        self.name, self.group = name, group
        self.smtp = harness.free_port()
        self.admin_port = harness.free_port() if admin else None
        self.token = base64.b16encode(os.urandom(16)).decode()
        token_file = os.path.join(work, name + ".token")
        with open(token_file, "w") as f:
            f.write(self.token + "\n")
        os.chmod(token_file, 0o600)
        self.config = relay_config(name, self.smtp, keystore, self.admin_port, token_file)
        self.logs = []
        self.proc = None
        self.up = threading.Event()

    def start(self):
        path = os.path.join(work, "%s.%d.log" % (self.name, len(self.logs)))
        self.logs.append(path)
        self.proc = harness.start_serve(BINARY, self.config, work, path, ready=lambda: harness.port_open(self.smtp),
                                        what=self.name)
        self.up.set()

    def kill9(self):
        self.up.clear()
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()

    def log_text(self):
        text = ""
        for path in self.logs:
            with open(path, errors="replace") as f:
                text += f.read()
        return text

    def api(self, method, path):
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.admin_port, path), method=method,
                                         headers={"Authorization": "Bearer " + self.token})
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text.startswith("{") else text)
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()
        except OSError as e:
            return 0, str(e)


# --- the operator's view of each store: {selector: (state, TXT value)} ---

def pg_keys(domain):
    for replica in pg_replicas:
        if not replica.up.is_set():
            continue
        status, body = replica.api("GET", "/v1/domains/" + domain)
        if status == 200:
            return {k["selector"]: (k["state"], k["dns"]["value"], k["created_at"]) for k in body["selectors"]}
    return None


pem_records = {}  # (pem path, created_at) -> TXT value (a selector name is reused once its key is deleted)


def dir_keys(domain):
    folder = os.path.join(dir_store, domain)
    try:
        with open(os.path.join(folder, "keys.json")) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    keys = {}
    for entry in meta["selectors"]:
        pem = os.path.join(folder, entry["selector"] + ".pem")
        # Derived by openssl from the private key, independently of dkim-relay's rendering.
        if entry["state"] == "revoked":
            record = "v=DKIM1; p="
        else:
            if (pem, entry["created_at"]) not in pem_records:
                pem_records[(pem, entry["created_at"])] = harness.txt_record_from_pem(pem)
            record = pem_records[(pem, entry["created_at"])]
        keys[entry["selector"]] = (entry["state"], record, entry["created_at"])
    return keys


def keys_of(domain):
    return pg_keys(domain) if domain in PG_DOMAINS else dir_keys(domain)


def nsupdate(domain, commands):
    bind.nsupdate(domain, commands)


def publish(domain, selector, record):
    name = "%s._domainkey.%s." % (selector, domain)
    strings = " ".join('"%s"' % record[i:i + 255] for i in range(0, len(record), 255))
    nsupdate(domain, ["update delete %s TXT" % name, "update add %s 1 TXT %s" % (name, strings)])


class Operator(threading.Thread):
    """Publishes what the stores ask for, as an operator reading the API (PostgreSQL) or the store
    (directory) would; records when it saw each state of each key."""

    def __init__(self):
        super().__init__(daemon=True)
        self.seen = {}       # (domain, selector, created_at) -> {state: first time seen}
        self.published = {}  # (domain, selector) -> record now in DNS
        self.wrong = {d: None for d in ("pg.example", "dir.example")}  # (selector, created_at) published wrongly
        self.wrong_until = {}
        self.errors = []
        self.hold_staged_of = None  # a domain whose staged keys are not published for now

    def run(self):
        while not stop.is_set():
            if operator_up.wait(0.2):
                with dns_users:
                    try:
                        self.round()
                    except Exception as e:  # noqa: BLE001  (reported at the end)
                        self.errors.append(repr(e))
            time.sleep(0.3)

    def round(self):
        now = time.monotonic()
        for domain in list(PG_DOMAINS) + list(DIR_DOMAINS):
            keys = keys_of(domain)
            if keys is None:
                continue
            present = {(domain, s, created) for s, (_, _, created) in keys.items()}
            with lock:
                for selector, (state, record, created) in keys.items():
                    self.seen.setdefault((domain, selector, created), {}).setdefault(state, now)
                for identity, states in self.seen.items():
                    if identity[0] == domain and identity not in present:
                        states.setdefault("deleted", now)
            for selector, (state, record, created) in keys.items():
                key = (domain, selector)
                if state == "staged" and domain == self.hold_staged_of:
                    continue
                want = record
                if state == "staged" and domain in self.wrong:
                    if self.wrong[domain] is None and len(keys) > 1:
                        self.wrong[domain] = (selector, created)
                        self.wrong_until[domain] = now + 4
                        log("publishing %s of %s WRONG (the active key's record) for 4 s" % (selector, domain))
                    if self.wrong[domain] == (selector, created) and now < self.wrong_until[domain]:
                        want = next(rec for s, (st, rec, _) in keys.items() if st == "active" and
                                    rec.split("k=")[1][:3] == record.split("k=")[1][:3])
                if self.published.get(key) != want:
                    publish(domain, selector, want)
                    self.published[key] = want
            for key in [k for k in self.published if k[0] == domain and k[1] not in keys]:
                nsupdate(domain, ["update delete %s._domainkey.%s. TXT" % (key[1], domain)])
                del self.published[key]
                log("removed %s of %s from DNS (deleted by the relay)" % (key[1], domain))


class Sender(threading.Thread):
    def __init__(self, replica, domains):
        super().__init__(daemon=True)
        self.replica, self.domains = replica, domains
        self.sent, self.refused = 0, []

    def run(self):
        n = 0
        while not stop.is_set():
            if not self.replica.up.wait(0.2):
                continue
            domain = self.domains[n % len(self.domains)]
            n += 1
            tag = "%s-%d" % (self.replica.name, n)
            text = ("From: Alice <alice@%s>\r\nTo: bob@example.net\r\nSubject: rotation %s\r\n"
                    "Message-ID: <%s@%s>\r\n\r\nrotation test %s\r\n" % (domain, tag, tag, domain, tag))
            try:
                with smtplib.SMTP("127.0.0.1", self.replica.smtp, timeout=20) as client:
                    client.sendmail("alice@" + domain, ["bob@example.net"], text)
                self.sent += 1
            except (smtplib.SMTPException, OSError) as e:
                if self.replica.up.is_set():
                    self.refused.append("%s: %r" % (tag, e))
            time.sleep(0.15)


class Verifier(threading.Thread):
    """Verifies each relayed message soon after it arrives, against what BIND serves then."""

    def __init__(self):
        super().__init__(daemon=True)
        self.done = 0
        self.failures = []
        self.selectors = set()

    def run(self):
        while True:
            finished = stop.is_set()
            if verifier_up.wait(0.2):
                with dns_users:
                    self.batch()
            if finished:
                return
            time.sleep(0.5)

    def batch(self):
        with sink.lock:
            messages = [m for _, _, m in sink.messages[self.done:]]
        if not messages:
            return
        records = {}
        for m in messages:
            sigs = harness.signature_selectors(m)
            if not sigs:
                self.failures.append("unsigned: " + m[:200].decode(errors="replace"))
            for d, s, _ in sigs:
                name = "%s._domainkey.%s" % (s, d)
                if name not in records:
                    found = bind.txt(name)
                    records[name] = found[0] if found else ""
                self.selectors.add((d, s, records[name]))
        for m in messages:
            if not harness.dkimpy_verify(m, records):
                self.failures.append("dkimpy: " + repr(harness.signature_selectors(m)))
        for m, result in zip(messages, harness.maildkim_verify(messages, records)):
            # Debian 12's Mail::DKIM has no Ed25519: a message signed with Ed25519 alone has nothing
            # it can check ("none"); dkimpy verified it above.
            ed25519_only = all(a == "ed25519-sha256" for _, _, a in harness.signature_selectors(m))
            if result != "pass" and not (result == "none" and ed25519_only):
                self.failures.append("Mail::DKIM: " + result)
        self.done += len(messages)


def log_events(replicas, pattern):
    """(log time in seconds, groups) of each matching log line; the relay logs local time, which
    time.mktime reads back on the same machine."""
    out = []
    for replica in replicas:
        for line in replica.log_text().splitlines():
            found = re.search(pattern, line)
            if found and re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}", line):
                stamp = time.mktime(time.strptime(line[:19], "%Y-%m-%d %H:%M:%S")) + float(line[19:23])
                out.append((stamp, found.groups()))
    return out


def audit_lines(replicas, pattern):
    out = []
    for replica in replicas:
        out += re.findall(pattern, replica.log_text())
    return out


T0 = time.monotonic()
bind = pg = sink = None
try:
    bind = BindServer({d: "" for d in list(PG_DOMAINS) + list(DIR_DOMAINS)}, dynamic=list(PG_DOMAINS) + list(DIR_DOMAINS))
    pg = PostgresServer()
    sink = harness.Sink().__enter__()
    kek = os.path.join(work, "kek")
    cli("keys", "new-kek", kek)
    pg_keystore = 'type = "postgres"\ndsn = "%s"\nkek_file = "%s"\npoll_interval = "2s"' % (pg.dsn(), kek)
    dir_store = os.path.join(work, "dirkeys")
    pg_replicas = [Replica("pg%d" % i, "pg", pg_keystore, admin=True) for i in range(2)]
    # Two relays share the directory store: the lock file elects the one that runs the schedule.
    dir_replicas = [Replica("dir%d" % i, "dir", 'type = "directory"\npath = "%s"\ndemo_domain = ""' % dir_store)
                    for i in range(2)]
    cli("db", "migrate", "--config", pg_replicas[0].config)

    # Domains, as an operator adds them: first key active at once and published.
    for domain, algorithms in PG_DOMAINS.items():
        cli("keys", "--config", pg_replicas[0].config, "add", domain, "--algorithm", algorithms[0])
        for extra in algorithms[1:]:
            cli("keys", "--config", pg_replicas[0].config, "rotate", domain, "--algorithm", extra, "--activate", "now")
    for domain, algorithms in DIR_DOMAINS.items():
        cli("keys", "--keystore", dir_store, "add", domain, "--algorithm", algorithms[0])

    for replica in pg_replicas + dir_replicas:
        replica.start()
    log("relays up; BIND on %s" % bind.address)
    operator = Operator()
    operator.round()  # the first keys are in DNS before any mail
    operator.start()
    verifier = Verifier()
    verifier.start()
    senders = [Sender(p, list(PG_DOMAINS)) for p in pg_replicas] + [Sender(d, list(DIR_DOMAINS)) for d in dir_replicas]
    for s in senders:
        s.start()

    def activations(domain):
        group = pg_replicas if domain in PG_DOMAINS else dir_replicas
        return audit_lines(group, r"lifecycle audit: activated (\S+) for %s after DNS served its public key "
                                  r"\(staged since (\d+)\)" % re.escape(domain))

    def leader():
        for replica in pg_replicas:
            text = replica.log_text()
            if replica.up.is_set() and text.rfind("now runs the key rotation") > text.rfind("no longer runs"):
                return replica
        return None

    def dns_outage():
        """BIND stopped while dir.example's next key is staged and unpublished: it stays staged, saying
        DNS failed; once BIND is back (and the record published) it activates."""
        operator.hold_staged_of = "dir.example"
        harness.wait_for(lambda: [s for s, (st, _, _) in (dir_keys("dir.example") or {}).items() if st == "staged"],
                         INTERVAL + 25, "a staged key of dir.example")  # RSA keygen under load: seconds
        staged = [(s, c) for s, (st, _, c) in dir_keys("dir.example").items() if st == "staged"][0]
        operator_up.clear()
        verifier_up.clear()
        with dns_users:  # the operator's and the verifier's rounds in progress finish first
            pass
        bind.stop()
        log("BIND stopped while %s of dir.example is staged" % staged[0])
        marks = [len(d.log_text()) for d in dir_replicas]
        time.sleep(3)
        state = dir_keys("dir.example").get(staged[0], (None, None, None))
        r.check(state[0] == "staged" and state[2] == staged[1], "dir.example: %s stays staged while DNS is down (%s)"
                % (staged[0], state[0]))
        r.check(re.search(r"lifecycle: %s of dir\.example stays staged: DNS failed" % re.escape(staged[0]),
                          "".join(d.log_text()[m:] for d, m in zip(dir_replicas, marks))) is not None,
                "dir.example: the scheduler says DNS failed and retries")
        bind.start()
        # The verifier catches up before the operator changes any record (a revocation decided
        # meanwhile must not reach DNS before the mail signed earlier is verified).
        verifier_up.set()
        target = len(sink.messages)
        harness.wait_for(lambda: verifier.done >= target, 30, "the verifier to catch up")
        operator.hold_staged_of = None
        operator_up.set()
        log("BIND started again")
        return staged

    # Kill the PostgreSQL leader right after a staged key's correct record appeared in DNS.
    killed = False
    outage = None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        per_algorithm = {d: len(activations(d)) // len(a) for d, a in list(PG_DOMAINS.items()) + list(DIR_DOMAINS.items())}
        first_gone = all(any(states.get("deleted") for (d, _, _), states in operator.seen.items() if d == dom)
                         for dom in list(PG_DOMAINS) + list(DIR_DOMAINS))
        if not killed and per_algorithm["pg.example"] >= 1:
            keys = pg_keys("pg.example") or {}
            staged = [s for s, (st, rec, _) in keys.items() if st == "staged" and
                      operator.published.get(("pg.example", s)) == rec]
            chief = leader()
            if staged and chief is not None:
                log("SIGKILL %s (the leader) while %s of pg.example is staged and published" % (chief.name, staged[0]))
                chief.kill9()
                killed = True
                time.sleep(1)
                chief.start()
                log("%s restarted" % chief.name)
        if killed and outage is None and per_algorithm["dir.example"] >= 2:
            outage = dns_outage()
        recovered = outage is not None and (outage[0], str(outage[1])) in activations("dir.example")
        if min(per_algorithm.values()) >= ROTATIONS and first_gone and killed and recovered:
            break
        time.sleep(0.3)
    log("cycle done: %s" % {d: len(activations(d)) for d in list(PG_DOMAINS) + list(DIR_DOMAINS)})
    # Read while every replica still runs: when the leader is stopped at the end, the other directory
    # replica rightly takes the schedule over (failover), which is not a second runner.
    dir_runners = [d.name for d in dir_replicas if "now runs the key rotation schedule" in d.log_text()]

    # API and metrics while it all still runs.
    status, body = pg_replicas[0].api("GET", "/v1/domains/pg.example")
    r.check(status == 200, "GET /v1/domains/pg.example")
    if status == 200:
        active = [k for k in body["selectors"] if k["state"] == "active"]
        r.check(len(active) == 1 and active[0]["next_step"] == "rotate" and active[0]["next_step_at"] and
                "age_seconds" in active[0] and active[0]["safe_to_remove_from_dns"] is False,
                "the active key shows its age, next step (rotate) and time: %s" % active[:1])
    status, text = pg_replicas[1].api("GET", "/metrics")
    for name in ('dkim_relay_rotations_total{result="done"}', 'dkim_relay_rotations_total{result="failed"}',
                 "dkim_relay_keys_past_interval", "dkim_relay_oldest_active_key_age_seconds",
                 "dkim_relay_keys_waiting_for_dns", "dkim_relay_keys_dns_timeout"):
        r.check(status == 200 and ("\n" + name + " ") in text, "/metrics has " + name)
    r.check(status == 200 and "domain=" not in "".join(l for l in text.splitlines() if "dkim_relay_keys" in l
                                                         or "dkim_relay_rotations" in l),
            "rotation metrics carry no per-domain label")
finally:
    stop.set()
    for s in globals().get("senders", []):
        s.join(30)
    if "verifier" in globals():
        verifier.join(60)
    for replica in globals().get("pg_replicas", []) + globals().get("dir_replicas", []):
        if replica.proc is not None:
            harness.stop_process(replica.proc)
    # The peers go too, also when the test failed half-way (nothing of this run outlives it).
    if sink is not None:
        sink.__exit__(None, None, None)
    if pg is not None:
        pg.close()
    if bind is not None:
        bind.close()

# --- verdicts ---
for domain, algorithms in list(PG_DOMAINS.items()) + list(DIR_DOMAINS.items()):
    group = pg_replicas if domain in PG_DOMAINS else dir_replicas
    done = activations(domain)
    r.check(len(done) >= ROTATIONS * len(algorithms), "%s: %d activations after DNS proof (want >= %d)"
            % (domain, len(done), ROTATIONS * len(algorithms)))
    r.check(len(done) == len(set(done)), "%s: each key activated once: %s" % (domain, done))
    # A step's identity: the key and the stored timestamp it was decided from (selector names are
    # reused once their key is deleted).
    d = re.escape(domain)
    for what, pattern in (("staged", r"lifecycle audit: rotation of %s: staged [-\w]+ key \S+ to replace (\S+) "
                                     r"\(active since (\d+)\)" % d),
                          ("revoked", r"lifecycle audit: revoked (\S+) of %s \(retiring since (\d+)\)" % d),
                          ("deleted", r"lifecycle audit: deleted (\S+) of %s \(revoked since (\d+)\)" % d)):
        lines = audit_lines(group, pattern)
        r.check(len(lines) == len(set(lines)), "%s: each '%s' step once across the replicas: %s"
                % (domain, what, lines))
    # Algorithms kept: the keys that existed all use the domain's algorithms, each rotation per algorithm.
    signed = {record for d, _, record in verifier.selectors if d == domain}
    r.check(len(signed) >= ROTATIONS, "%s: mail was signed by %d different keys" % (domain, len(signed)))
    # Timing of the replaced keys from the relays' own records: a key is revoked no earlier than
    # retire_after after it retired, deleted no earlier than delete_after after it was revoked.
    for stamp, (selector, since) in log_events(group, r"lifecycle audit: revoked (\S+) of %s \(retiring since (\d+)\)" % d):
        r.check(stamp - int(since) >= RETIRE, "%s %s: revoked %.1f s after it retired (retire_after %d s)"
                % (domain, selector, stamp - int(since), RETIRE))
    for stamp, (selector, since) in log_events(group, r"lifecycle audit: deleted (\S+) of %s \(revoked since (\d+)\)" % d):
        r.check(stamp - int(since) >= DELETE, "%s %s: deleted %.1f s after it was revoked (delete_after %d s)"
                % (domain, selector, stamp - int(since), DELETE))
    # (The operator replaces a record only once it sees the key revoked, so the record stayed in DNS at
    # least that long; its own observation times are too coarse to check, as it pauses during the
    # DNS outage.)

for domain in ("pg.example", "dir.example"):
    wrong = operator.wrong[domain]
    r.check(wrong is not None, "%s: one key was first published wrongly" % domain)
    if wrong:
        selector = wrong[0]
        group = pg_replicas if domain in PG_DOMAINS else dir_replicas
        text = "".join(g.log_text() for g in group)
        r.check(re.search(r"lifecycle: %s of %s stays staged: DNS mismatch: DNS serves another DKIM key"
                          % (re.escape(selector), re.escape(domain)), text) is not None,
                "%s: the wrongly published %s stayed staged, saying why" % (domain, selector))
        with lock:
            states = operator.seen.get((domain,) + wrong, {})
        r.check("active" in states and states["active"] >= operator.wrong_until[domain] - 0.5,
                "%s: %s activated only after the right record was published" % (domain, selector))

sent = sum(s.sent for s in senders)
refused = [x for s in senders for x in s.refused]
r.check(sent > 50, "mail flowed: %d messages accepted" % sent)
r.check(not refused, "no message refused or tempfailed: %s" % refused[:3])
r.check(verifier.done == len(sink.messages) and len(sink.messages) >= sent,
        "every relayed message verified (%d of %d)" % (verifier.done, len(sink.messages)))
r.check(not verifier.failures, "all verify with dkimpy and Mail::DKIM against BIND: %s" % verifier.failures[:3])
r.check(not operator.errors, "the operator loop ran cleanly: %s" % operator.errors[:3])
r.check(killed, "the leader was killed mid-cycle")
r.check(len(dir_runners) == 1, "one of the relays sharing the directory store ran the schedule: %s" % dir_runners)
r.check(outage is not None, "BIND was stopped while a key waited for DNS")
if outage is not None:
    r.check((outage[0], str(outage[1])) in activations("dir.example"),
            "dir.example: %s activated once DNS was back" % outage[0])
print("rotation_schedule: %d messages, %.0f s, selectors used: %d" % (sent, time.monotonic() - T0,
                                                                     len(verifier.selectors)), flush=True)
if r.failed:
    for replica in pg_replicas + dir_replicas:
        print("---- %s ----\n%s" % (replica.name, replica.log_text()[-3000:]))
else:
    shutil.rmtree(work, ignore_errors=True)
r.finish()
