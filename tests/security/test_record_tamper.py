"""Issue 24 item 1: the DKIM record shown is the key that signs.

A database writer without the KEK replaces a key row's dns_record with the public key of a key it
holds (here: another domain's real record, as an attacker's own key would be). Against a real
PostgreSQL and the real binary:
- at start: the row is refused (logged), /readyz names it, the API shows the selector as refused
  with no record to publish, the start-up banner and `keys dns` print no record for it, and no
  message From that domain is signed (unsigned = "tempfail": the client gets 4xx). Other domains sign.
- live: the same change made under a running relay, brought by NOTIFY, is refused the same way.
- item 5: with the database gone, an admin write answers 503 without the database's host and port.
Before this change every place showed the forged record, and a restarted relay failed only at the
first signing.

usage: test_record_tamper.py --binary PATH/dkim-relay"""
import argparse
import os
import smtplib
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "pgstore"))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "system"))
import fleet_harness as fh  # noqa: E402
import harness  # noqa: E402

results = harness.Results("security.record_tamper")


def sql(fleet, statement, args=()):
    conn = fh.psycopg2.connect(fleet.pg.dsn())
    try:
        with conn, conn.cursor() as cur:
            cur.execute(statement, args)
            return cur.fetchall() if cur.description else None
    finally:
        conn.close()


def record_of(fleet, domain):
    return sql(fleet, "SELECT dns_record FROM %s.keys WHERE domain = %%s" % fh.SCHEMA, (domain,))[0][0]


def forge(fleet, victim, forged, notify):
    sql(fleet, "UPDATE %s.keys SET dns_record = %%s WHERE domain = %%s" % fh.SCHEMA, (forged, victim))
    if notify:
        sql(fleet, "UPDATE %s.domains SET version = nextval('%s.domain_version') WHERE name = %%s"
            % (fh.SCHEMA, fh.SCHEMA), (victim,))
        sql(fleet, "SELECT pg_notify(%s, %s)", (fh.SCHEMA + "_changes", victim))


def send_code(relay, domain, tag):
    try:
        fh.send(relay, domain, tag)
        return 250
    except smtplib.SMTPResponseException as e:
        return e.smtp_code
    except smtplib.SMTPRecipientsRefused as e:
        return list(e.recipients.values())[0][0]
    except smtplib.SMTPDataError as e:
        return e.smtp_code


def shows_refusal(fleet, relay, domain, forged):
    """(readyz names it, the API marks it refused with no record, the forged key appears nowhere)."""
    _, ready = fleet.admin(relay, "GET", "/readyz")
    refused = ready.get("checks", {}).get("keystore_refused", []) if isinstance(ready, dict) else []
    status, body = fleet.admin(relay, "GET", "/v1/domains/" + domain)
    selectors = body.get("selectors", []) if status == 200 else []
    api_refused = bool(selectors) and all(s.get("refused") and s["dns"]["value"] == "" for s in selectors)
    _, listing = fleet.admin(relay, "GET", "/v1/domains")
    # The attacker's key is attacker.example's own record (a real key standing in for the attacker's):
    # it must not appear anywhere else.
    others = [d for d in listing.get("domains", []) if d["domain"] != "attacker.example"] \
        if isinstance(listing, dict) else listing
    forged_key = forged.split("p=", 1)[1]
    return any(domain in r for r in refused), api_refused, forged_key not in str(body) + str(others)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args = parser.parse_args()
    fleet = fh.Fleet(args.binary, replicas=1, poll_interval="60s")
    try:
        relay = fleet.relays[0]
        config = relay["config"]
        for domain in ("victim.example", "live.example", "fine.example", "attacker.example"):
            fleet.cli("keys", "--config", config, "add", domain, "--selector", "s1", "--algorithm", "ed25519-sha256",
                      env=relay["env"])
        forged = record_of(fleet, "attacker.example")
        forge(fleet, "victim.example", forged, notify=False)

        dns = fleet.cli("keys", "--config", config, "dns", "victim.example", env=relay["env"], check=False)
        results.check(forged.split("p=", 1)[1] not in dns.stdout and "REFUSED" in dns.stdout,
                      f"keys dns prints no record for the forged row: {dns.stdout!r} {dns.stderr!r}")

        fleet.start_relays()
        log = fleet.log(relay)
        results.check("refused" in log and "victim.example" in log, f"the refusal is logged at start: {log[-1500:]!r}")
        banner_forged = [line for line in log.splitlines() if "victim.example" in line and forged.split("p=")[1] in line]
        results.check(not banner_forged, f"the banner shows no forged record: {banner_forged}")
        readyz, api, hidden = shows_refusal(fleet, relay, "victim.example", forged)
        results.check(readyz, "/readyz names the refused key")
        results.check(api, "the API shows the selector refused, with an empty record")
        results.check(hidden, "the forged public key appears nowhere in the API")
        results.check(send_code(relay, "victim.example", "at-start") // 100 == 4,
                      "mail From the forged domain is not signed (tempfail)")
        results.check(send_code(relay, "fine.example", "fine") == 250, "another domain still signs")

        live_forged = record_of(fleet, "attacker.example")
        results.check(send_code(relay, "live.example", "before") == 250, "live.example signs before the change")
        forge(fleet, "live.example", live_forged, notify=True)
        try:
            fh.wait_until(lambda: all(shows_refusal(fleet, relay, "live.example", live_forged)), timeout=20,
                          what="the live change to be refused")
        except AssertionError as e:
            results.check(False, str(e))
        readyz, api, hidden = shows_refusal(fleet, relay, "live.example", live_forged)
        results.check(readyz and api and hidden, f"live: refused in /readyz {readyz}, API {api}, hidden {hidden}")
        results.check(send_code(relay, "live.example", "after") // 100 == 4, "live: no longer signs after the change")
        results.check("live.example" in fleet.log(relay).split("refused", 1)[-1], "live: the refusal is logged")

        # Item 5: an admin error body does not carry the database's host and port (the log does).
        fleet.pg.kill9()
        fh.wait_until(lambda: fleet.metric(relay, "dkim_relay_keystore_connected") == 0, timeout=20,
                      what="the relay to notice the outage")
        status, body = fleet.admin(relay, "POST", "/v1/domains/fine.example/rotate", {"activate": "now"})
        where = str(fleet.pg.port)
        results.check(status == 503 and "unreachable" in str(body) and where not in str(body)
                      and "127.0.0.1" not in str(body), f"503 without the database's address: {status} {body}")
        results.check(where in fleet.log(relay), "the database's address is in the relay's log")
    finally:
        fleet.close()
    results.finish()


main()
