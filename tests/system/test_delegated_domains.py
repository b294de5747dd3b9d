#!/usr/bin/python3
"""Delegated selectors end to end: the owner publishes CNAMEs once, the relays publish and rotate the
keys behind them on a real BIND 9 (RFC 2136 + TSIG), through both slots.

BIND on loopback serves the owner's zone (customer.example, where the test adds the CNAMEs with
nsupdate, as the owner would) and the provider's TSIG-protected delegation zone (dkim.esp.example,
changed only by the relays). Two relays share a PostgreSQL keystore, with [rotation] in seconds.
Mail flows through both relays the whole time (relay.unsigned = "pass": until the domain is
Connected its mail goes out unsigned); every signed message is verified by dkimpy and Mail::DKIM
against what BIND serves at that moment, through the owner's CNAME.

Checks: a wrong TSIG secret on the server (BADSIG) and BIND stopped: no activation, the error in the
API and /metrics with the rcode, automatic recovery; a CNAME pointing elsewhere: Error naming what
was found; Pending validation -> Connected; after Connected no unsigned message; at least three
rotations alternating through dkr1 and dkr2, each key activated once, only after DNS served it; the
delegation zone, read by AXFR at every step, always serves the active and retiring keys and a
revoked record (v=DKIM1; p=) for a slot whose key was revoked; removing the domain revokes, then
deletes its records; named-checkzone is clean and the zone carries no leftover record.

usage: test_delegated_domains.py <dkim-relay binary>
"""
import base64
import json
import os
import re
import shutil
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
INTERVAL, RETIRE, DELETE = 6, 4, 3  # seconds
DOMAIN, ZONE, SLOTS = "customer.example", "dkim.esp.example", ("dkr1", "dkr2")
REVOKED = "v=DKIM1; p="
ROTATIONS = 3
DEADLINE = 120

r = harness.Results("delegated_domains")
work = tempfile.mkdtemp(prefix="dkr-delegated-")
stop = threading.Event()
dns_up = threading.Event()  # cleared while the test has BIND stopped: the verifier and observer wait
dns_up.set()
dns_users = threading.Lock()


def log(text):
    print("[%6.1f] %s" % (time.monotonic() - T0, text), flush=True)


def cli(*args):
    result = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise AssertionError("dkim-relay %s: %s%s" % (" ".join(args), result.stdout, result.stderr))
    return result.stdout


def target(slot):
    return "%s.%s.%s" % (slot, DOMAIN, ZONE)


def owner_cname(slot, to=None):
    return "%s._domainkey.%s. CNAME %s." % (slot, DOMAIN, to or target(slot))


class Replica:
    def __init__(self, name, keystore, tsig_key_file):
        self.name = name
        self.smtp = harness.free_port()
        self.admin_port = harness.free_port()
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
hostname = "%s.delegated.test"
unsigned = "pass"
shutdown_grace = "2s"

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
timeout = "2s"
check_interval = "1s"

[dns.publish]
type = "rfc2136"
server = "%s"
zone = "%s"
tsig_key_file = "%s"
ttl = 1

[rotation]
enabled = true
allow_short_intervals = true
interval = "%ds"
retire_after = "%ds"
delete_after = "%ds"
dns_timeout = "60s"

[log]
level = "info"
""" % (self.smtp, name, sink.port, keystore, self.admin_port, token_file, bind.address, bind.address, ZONE,
                tsig_key_file, INTERVAL, RETIRE, DELETE))
        self.log_path = os.path.join(work, name + ".log")
        self.proc = None

    def start(self):
        self.proc = harness.start_serve(BINARY, self.config, work, self.log_path,
                                        ready=lambda: harness.port_open(self.smtp) and harness.port_open(
                                            self.admin_port), what=self.name)

    def log_text(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def api(self, method, path, body=None, timeout=15):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.admin_port, path), method=method, data=data,
                                         headers={"Authorization": "Bearer " + self.token,
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text.startswith("{") else text)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            return e.code, (json.loads(text) if text.startswith("{") else text)
        except OSError as e:
            return 0, str(e)

    def domain(self):
        status, body = self.api("GET", "/v1/domains/" + DOMAIN)
        return body if status == 200 else None


def txt_values(rdatas):
    """Each TXT rdata's strings, joined (values over 255 bytes come split)."""
    return ["".join(re.findall(r'"((?:[^"\\]|\\.)*)"', rdata)) for rdata in rdatas]


def slot_records():
    """What the delegation zone holds now, by AXFR: {slot: [TXT value, ...]}, and every other name."""
    records = bind.zone_records(ZONE)
    out, other = {}, []
    for (name, rtype), values in records.items():
        if name == "@" and rtype in ("SOA", "NS"):
            continue
        slot = name.split(".")[0]
        if rtype == "TXT" and name == "%s.%s" % (slot, DOMAIN) and slot in SLOTS:
            out[slot] = txt_values(values)
        else:
            other.append((name, rtype, values))
    return out, other


class Sender(threading.Thread):
    def __init__(self, replica):
        super().__init__(daemon=True)
        self.replica = replica
        self.sent = []  # (start time, tag)
        self.refused = []

    def run(self):
        n = 0
        while not stop.is_set():
            n += 1
            tag = "%s-%d" % (self.replica.name, n)
            text = ("From: Alice <alice@%s>\r\nTo: bob@example.net\r\nSubject: delegated %s\r\n"
                    "Message-ID: <%s@%s>\r\n\r\ndelegated test %s\r\n" % (DOMAIN, tag, tag, DOMAIN, tag))
            started = time.monotonic()
            try:
                with smtplib.SMTP("127.0.0.1", self.replica.smtp, timeout=20) as client:
                    client.sendmail("alice@" + DOMAIN, ["bob@example.net"], text)
                self.sent.append((started, tag))
            except (smtplib.SMTPException, OSError) as e:
                self.refused.append("%s: %r" % (tag, e))
            time.sleep(0.15)


class Verifier(threading.Thread):
    """Verifies each relayed message soon after it arrives, resolving through BIND: the owner's CNAME,
    then our TXT behind it."""

    def __init__(self):
        super().__init__(daemon=True)
        self.done = 0
        self.unsigned = []  # (tag)
        self.failures = []
        self.signed_by = set()  # (s=, TXT value)

    def run(self):
        while True:
            finished = stop.is_set()
            if dns_up.wait(0.2):
                with dns_users:
                    if dns_up.is_set():  # BIND may have been stopped while this thread waited for the lock
                        self.batch()
            if finished:
                return
            time.sleep(0.3)

    def batch(self):
        with sink.lock:
            messages = [m for _, _, m in sink.messages[self.done:]]
        if not messages:
            return
        records = {}
        signed = []
        for m in messages:
            sigs = harness.signature_selectors(m)
            if not sigs:
                self.unsigned.append(re.search(rb"Subject: delegated (\S+)", m).group(1).decode())
                continue
            signed.append(m)
            for d, s, _ in sigs:
                name = "%s._domainkey.%s" % (s, d)
                if name not in records:
                    cname = bind.cname(name)
                    if (cname or "").rstrip(".") != target(s):
                        self.failures.append("%s is not a CNAME to %s: %s" % (name, target(s), cname))
                    found = bind.txt(name)  # BIND follows the CNAME to our zone
                    records[name] = found[0] if len(found) == 1 else ""
                self.signed_by.add((s, records[name]))
        for m in signed:
            if not harness.dkimpy_verify(m, records):
                self.failures.append("dkimpy: %r" % harness.signature_selectors(m))
        for m, result in zip(signed, harness.maildkim_verify(signed, records) if signed else []):
            if result != "pass":
                self.failures.append("Mail::DKIM: " + result)
        self.done += len(messages)


class Observer(threading.Thread):
    """At every step, the keys as the API shows them against the zone as AXFR shows it."""

    def __init__(self, replica):
        super().__init__(daemon=True)
        self.replica = replica
        self.violations = []
        self.history = {slot: [] for slot in SLOTS}  # distinct values each slot served, in order
        self.keys = {}  # key name -> {state: first time seen}
        self.samples = 0

    def run(self):
        while not stop.is_set():
            if dns_up.wait(0.2):
                with dns_users:
                    if not dns_up.is_set():  # BIND was stopped while this thread waited for the lock
                        continue
                    try:
                        self.sample()
                    except Exception as e:  # noqa: BLE001 (reported at the end)
                        self.violations.append("observer: %r" % e)
            time.sleep(0.3)

    def sample(self):
        body = self.replica.domain()
        if body is None:
            return
        zone, _ = slot_records()
        now = time.time()
        self.samples += 1
        holders = {}
        for key in body["selectors"]:
            self.keys.setdefault(key["selector"], {}).setdefault(key["state"], time.monotonic())
            slot = key["dns"]["name"].split(".")[0]
            served = zone.get(slot, [])
            value = key["dns"]["value"]
            if key["state"] in ("staged", "active", "retiring"):
                holders[slot] = key
            if key["state"] == "active" and served != [value]:
                self.violations.append("active %s: %s serves %s" % (key["selector"], slot, served))
            if key["state"] == "retiring" and served != [value]:
                # DNS is revoked first, the store right after (one round): only at the end of retire_after.
                if not (served == [REVOKED] and now - key["retired_at"] >= RETIRE - 1.5):
                    self.violations.append("retiring %s (since %.1f s): %s serves %s" % (
                        key["selector"], now - key["retired_at"], slot, served))
        for slot in SLOTS:
            values = zone.get(slot, [])
            if slot not in holders and any(k["state"] == "revoked" and k["dns"]["name"].startswith(slot + ".")
                                           for k in body["selectors"]) and values != [REVOKED]:
                self.violations.append("%s: its key is revoked, but it serves %s" % (slot, values))
            shown = "revoked" if values == [REVOKED] else ("none" if not values else values[0][-12:])
            if not self.history[slot] or self.history[slot][-1] != shown:
                self.history[slot].append(shown)


def activations():
    out = []
    for replica in replicas:
        out += re.findall(r"lifecycle audit: activated (\S+) for %s after DNS served its public key"
                          % re.escape(DOMAIN), replica.log_text())
    return out


def delegation_of(body):
    return body.get("delegation") or {} if body else {}


def any_replica(predicate, timeout, what):
    def check():
        for replica in replicas:
            body = replica.domain()
            if body is not None and predicate(body):
                return replica, body
        return None
    return harness.wait_for(check, timeout, what)


def every_replica(predicate, timeout, what):
    """Waits until every replica's API satisfies predicate (the leader's error is stored, so all show it)."""
    def check():
        bodies = [replica.domain() for replica in replicas]
        if all(body is not None and predicate(body) for body in bodies):
            return bodies
        return None
    return harness.wait_for(check, timeout, what)


def metrics(replica):
    status, text = replica.api("GET", "/metrics")
    return text if status == 200 else ""


def swap_server_key(wrong):
    """The server's TSIG secret changes (named restarted with it): the relays' secret is wrong."""
    with dns_users:
        dns_up.clear()
        shutil.copyfile(wrong_key if wrong else right_key, bind.tsig_key_file)
        bind.stop()
        bind.start()
        dns_up.set()


T0 = time.monotonic()
bind = pg = sink = None
replicas = []
senders = []
try:
    bind = BindServer({DOMAIN: "", ZONE: ""}, dynamic=[DOMAIN, ZONE])
    right_key = os.path.join(work, "server-right.key")
    wrong_key = os.path.join(work, "server-wrong.key")
    shutil.copyfile(bind.tsig_key_file, right_key)
    shutil.copyfile(bind.wrong_key_file, wrong_key)
    relay_key = os.path.join(work, "relay-tsig.key")  # the relays' copy of the (right) secret
    shutil.copyfile(bind.tsig_key_file, relay_key)
    os.chmod(relay_key, 0o600)
    pg = PostgresServer()
    sink = harness.Sink().__enter__()
    kek = os.path.join(work, "kek")
    cli("keys", "new-kek", kek)
    keystore = 'type = "postgres"\ndsn = "%s"\nkek_file = "%s"\npoll_interval = "2s"' % (pg.dsn(), kek)
    replicas = [Replica("pg%d" % i, keystore, relay_key) for i in range(2)]
    cli("db", "migrate", "--config", replicas[0].config)
    for replica in replicas:
        replica.start()
    log("relays up; BIND on %s" % bind.address)
    senders = [Sender(replica) for replica in replicas]
    for s in senders:
        s.start()
    verifier = Verifier()
    verifier.start()

    # 1. The server's TSIG secret is not the relays': the domain is added, nothing gets published.
    swap_server_key(wrong=True)
    status, body = replicas[0].api("POST", "/v1/domains", {"domain": DOMAIN, "delegated": True}, timeout=60)
    r.check(status == 201, "POST /v1/domains delegated: %s %s" % (status, str(body)[:300]))
    if status != 201:
        raise AssertionError("cannot add the delegated domain")
    r.check(body.get("delegated") is True and delegation_of(body).get("cnames") == [owner_cname(s) for s in SLOTS],
            "the API shows the CNAMEs the owner publishes once: %s" % delegation_of(body).get("cnames"))
    r.check(body["selectors"][0]["state"] == "staged" and body["selectors"][0]["dns"]["name"] ==
            "dkr1._domainkey." + DOMAIN and body["selectors"][0]["selector"] != "dkr1",
            "the first key is staged in slot dkr1 under a name of its own: %s" % body["selectors"][0]["selector"])
    leader, body = any_replica(lambda b: (delegation_of(b).get("publish_error") or {}).get("rcode") == "BADSIG", 20,
                               "the BADSIG publishing error in the API")
    log("BADSIG shown by %s: %s" % (leader.name, delegation_of(body)["publish_error"]["error"]))
    # Stored by the leader: the other replica shows the same error (not null).
    bodies = every_replica(lambda b: (delegation_of(b).get("publish_error") or {}).get("rcode") == "BADSIG", 20,
                           "the BADSIG publishing error in the API of BOTH replicas")
    r.check(all("BADSIG" in delegation_of(b)["publish_error"]["error"] and delegation_of(b)["publish_error"]["at"]
                for b in bodies),
            "both replicas show the BADSIG error with its time: %s" % [delegation_of(b)["publish_error"] for b in bodies])
    r.check(delegation_of(body)["status"] == "Pending validation", "Pending validation while nothing is published: %s"
            % delegation_of(body)["status"])
    r.check('dkim_relay_dns_publish_failures_total{rcode="BADSIG"}' in metrics(leader),
            "/metrics counts the failure under rcode BADSIG")
    r.check(re.search(r"dns publish for %s failed \(rcode BADSIG\)" % re.escape(DOMAIN), leader.log_text()),
            "the log line names the rcode")
    r.check(slot_records() == ({}, []), "nothing published with a refused TSIG key: %s" % (slot_records(),))

    # 2. The owner's CNAMEs, one pointing elsewhere: Error naming what was found.
    bind.nsupdate(DOMAIN, ["update add %s 60 CNAME %s." % (n.split()[0], n.split()[2].rstrip("."))
                           for n in [owner_cname("dkr1", "dkr1.%s.other-esp.example" % DOMAIN), owner_cname("dkr2")]])
    _, body = any_replica(lambda b: delegation_of(b).get("status") == "Error", 15, "Error for the wrong CNAME")
    bad = [s for s in delegation_of(body)["slots"] if s["status"] == "Error"]
    r.check(len(bad) == 1 and bad[0]["slot"] == "dkr1" and "other-esp.example" in bad[0]["found"] and
            "other-esp.example" in delegation_of(body)["detail"],
            "Error names slot dkr1 and what it points to: %s" % bad)
    bind.nsupdate(DOMAIN, ["update delete dkr1._domainkey.%s. CNAME" % DOMAIN,
                           "update add dkr1._domainkey.%s. 60 CNAME %s." % (DOMAIN, target("dkr1"))])
    time.sleep(3)  # three scheduler rounds with the right CNAMEs but a refused TSIG key
    for replica in replicas:
        body = replica.domain()
        r.check(body is not None and all(k["state"] == "staged" for k in body["selectors"]) and
                delegation_of(body)["status"] == "Pending validation",
                "%s: CNAMEs right, record not publishable: no activation, Pending validation (%s)"
                % (replica.name, delegation_of(body).get("status")))

    # 3. The server's secret is fixed: publishing recovers by itself, the key activates, Connected.
    swap_server_key(wrong=False)
    fixed_at = time.monotonic()
    for replica in replicas:
        harness.wait_for(lambda: delegation_of(replica.domain()).get("status") == "Connected", 40,
                         "%s to show Connected" % replica.name)
    connected_at = time.monotonic()
    log("Connected %.1f s after the TSIG secret was fixed" % (connected_at - fixed_at))
    r.check(all(delegation_of(replica.domain()).get("publish_error") is None for replica in replicas),
            "the publishing error is gone once it works again")
    observer = Observer(replicas[1])
    observer.start()
    # The CLI shows the same: the CNAMEs and each slot's key; --delegated without [dns.publish] is refused.
    shown = cli("keys", "--config", replicas[0].config, "dns", DOMAIN)
    r.check(all(owner_cname(s) in shown for s in SLOTS) and target("dkr1") + " TXT" in shown,
            "keys dns shows the CNAMEs and the slot's record: %s" % shown[:300])
    plain = subprocess.run([BINARY, "keys", "--keystore", os.path.join(work, "plain-keys"), "add", "x.example",
                            "--delegated"], capture_output=True, text=True, timeout=60)
    r.check(plain.returncode != 0 and "[dns.publish]" in plain.stderr,
            "keys add --delegated without [dns.publish] is refused, naming it: %s" % plain.stderr[:120])

    # 4. Rotations through both slots; BIND stopped while the second successor is staged.
    outage = None
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        done = activations()
        if outage is None and len(done) >= 2:
            body = replicas[0].domain()
            active = [k for k in body["selectors"] if k["state"] == "active"]
            # Once the previous key is revoked (its slot is idle; a slot whose old record cannot be
            # revoked stays busy, and the rotation waits for it), just before the next rotation is due.
            retiring = [k for k in body["selectors"] if k["state"] == "retiring"]
            if active and not retiring and time.time() >= active[0]["activated_at"] + INTERVAL - 1.5:
                with dns_users:
                    dns_up.clear()
                    bind.stop()
                log("BIND stopped just before %s's rotation is due" % active[0]["selector"])
                staged = harness.wait_for(
                    lambda: re.findall(r"\t(\S+)\t\S+\t\d+\tstaged", cli("keys", "--config", replicas[0].config, "list")), 20,
                    "a staged successor while BIND is down")[0]
                before = len(activations())
                time.sleep(3)
                listing = cli("keys", "--config", replicas[0].config, "list")
                r.check(re.search(r"\t%s\t\S+\t\d+\tstaged" % re.escape(staged), listing) and
                        len(activations()) == before,
                        "BIND down: %s stays staged" % staged)
                bodies = every_replica(lambda b: (delegation_of(b).get("publish_error") or {}).get("rcode") ==
                                       "transport", 20, "the transport error in the API of BOTH replicas")
                for replica, body in zip(replicas, bodies):
                    r.check("transport" in delegation_of(body)["publish_error"]["error"] or
                            "no answer" in delegation_of(body)["publish_error"]["error"],
                            "%s: the API says why: %s" % (replica.name, delegation_of(body)["publish_error"]["error"]))
                r.check(any('dkim_relay_dns_publish_failures_total{rcode="transport"}' in metrics(p) for p in replicas),
                        "/metrics counts the failure under rcode transport")
                bind.start()
                dns_up.set()
                outage = (staged, time.monotonic())
                log("BIND started again; %s waits for publishing" % staged)
        if outage is not None and outage[0] not in activations():
            time.sleep(0.3)
            continue
        keys = observer.keys
        revoked = [k for k, states in keys.items() if "revoked" in states]
        if len(done) >= 1 + ROTATIONS and outage is not None and len(revoked) >= 2:
            break
        time.sleep(0.3)
    log("cycle done: %d activations %s" % (len(activations()), activations()))
    # Mail goes on until some of it was signed (and verified) with the last key too.
    harness.wait_for(lambda: len({v for _, v in verifier.signed_by}) >= len(activations()), 20,
                     "mail signed with the last key")
    if outage is not None:
        r.check(outage[0] in activations(), "%s activated once BIND was back (recovery by itself)" % outage[0])

    stop.set()
    for s in senders:
        s.join(30)
    verifier.join(60)
    observer.join(30)

    zone, other = slot_records()
    ok, text = bind.check_zone(ZONE)
    r.check(ok, "named-checkzone %s after the cycle: %s" % (ZONE, text.strip()[-200:]))
    r.check(not other and set(zone) <= set(SLOTS) and all(len(v) == 1 for v in zone.values()),
            "the zone holds one TXT per slot and nothing else: %s %s" % (list(zone), other))

    # 5. Removing the domain revokes, then deletes, its records.
    status, body = replicas[1].api("DELETE", "/v1/domains/%s?force=true" % DOMAIN, timeout=60)
    r.check(status == 200, "DELETE the delegated domain: %s %s" % (status, str(body)[:300]))
    if status == 200:
        steps = [(s["name"].split(".")[0], s["result"]) for s in body.get("records", [])]
        log("removal: %s" % steps)
        r.check(all(result in ("changed", "already so") for _, result in steps) and
                {slot for slot, _ in steps} == set(SLOTS), "each slot's record revoked then deleted: %s" % steps)
    zone, other = slot_records()
    r.check(zone == {} and other == [], "no record left in %s: %s %s" % (ZONE, zone, other))
    ok, text = bind.check_zone(ZONE)
    r.check(ok, "named-checkzone %s after the removal" % ZONE)
finally:
    stop.set()
    for s in senders:
        s.join(30)
    for replica in replicas:
        if replica.proc is not None:
            harness.stop_process(replica.proc)
    if sink is not None:
        sink.__exit__(None, None, None)
    if pg is not None:
        pg.close()
    if bind is not None:
        bind.close()

# --- verdicts ---
done = activations()
r.check(len(done) >= 1 + ROTATIONS, "%d activations after DNS proof (want >= %d): %s" % (len(done), 1 + ROTATIONS, done))
r.check(len(done) == len(set(done)), "each key activated once across the replicas")
slots_of = [name.split("-")[0] for name in done]
r.check(all(a != b for a, b in zip(slots_of, slots_of[1:])) and set(slots_of) == set(SLOTS),
        "the keys alternate between the slots: %s" % slots_of)
sent = [x for s in senders for x in s.sent]
refused = [x for s in senders for x in s.refused]
after = {tag for started, tag in sent if started >= connected_at}
r.check(len(sent) > 50 and len(after) > 30, "mail flowed: %d messages, %d after Connected" % (len(sent), len(after)))
r.check(not refused, "no message refused or tempfailed: %s" % refused[:3])
late_unsigned = [tag for tag in verifier.unsigned if tag in after]
r.check(not late_unsigned, "no unsigned message after Connected: %s" % late_unsigned[:5])
r.check(verifier.done == len(sink.messages) and len(sink.messages) >= len(sent),
        "every relayed message looked at (%d of %d)" % (verifier.done, len(sink.messages)))
r.check(not verifier.failures, "every signed message verifies with dkimpy and Mail::DKIM through BIND: %s"
        % verifier.failures[:3])
selectors = {s for s, _ in verifier.signed_by}
r.check(selectors == set(SLOTS), "s= is always a slot, both used: %s" % selectors)
r.check(len({v for _, v in verifier.signed_by}) >= 1 + ROTATIONS,
        "mail was signed by %d different keys" % len({v for _, v in verifier.signed_by}))
r.check(observer.samples > 20 and not observer.violations, "the zone matched the schedule at each of %d steps: %s"
        % (observer.samples, observer.violations[:3]))
for slot in SLOTS:
    # A key's record, then the revoked record, then the next key's record in the same slot.
    shown = [v for v in observer.history[slot] if v != "none"]
    reused = any(a not in ("revoked",) and b == "revoked" and c != "revoked" for a, b, c in zip(shown, shown[1:], shown[2:]))
    r.check(reused, "%s served a key, then the revoked record, then the next key: %s" % (slot, " -> ".join(shown)))
log("slot history: %s" % observer.history)
print("delegated_domains: %d messages, %.0f s, keys used: %s" % (len(sent), time.monotonic() - T0, done), flush=True)
if r.failed:
    for replica in replicas:
        print("---- %s ----\n%s" % (replica.name, replica.log_text()[-4000:]))
else:
    shutil.rmtree(work, ignore_errors=True)
r.finish()
