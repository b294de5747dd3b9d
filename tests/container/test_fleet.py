"""docker/compose.fleet.yaml run the way the file describes it: one PostgreSQL, the image's
`db migrate` once, then three relays from the real image sharing the keystore. A key rotated
through relay-1's admin API signs the mail sent through relay-2 and relay-3.

What differs from the file, and why:
- PostgreSQL runs on the host (tests/pgstore/pg_harness.py, Debian's PostgreSQL 15), not from the
  docker.io/library/postgres:15 image: no registry is reachable here, so there is no postgres image.
  The test makes the database and role the postgres service would (POSTGRES_DB, POSTGRES_USER), and
  the name "postgres" in the DSN resolves to the host's loopback (--add-host); the DSN names the
  harness's port, as the server does not listen on 5432.
- The containers share the host's network namespace (--network=host, as container.relay), so
  instead of publishing ports each relay listens on its own loopback ports (SMTP and admin, set by
  DKIM_RELAY_RELAY_LISTEN / DKIM_RELAY_ADMIN_LISTEN); compose's own network gives each relay its
  own namespace, which makes that unnecessary there.
- The upstream is an aiosmtpd on the host instead of mta.example.net:25 (DKIM_RELAY_UPSTREAM_*).
- Secrets are bind-mounted files under /run/secrets, prepared as the file's header says (KEK made
  by the image's `keys new-kek`, owned by the relay's uid, mode 0400): `podman run --secret` cannot
  be used with --read-only on podman 4.3 (see test_relay.py).
Everything else (image, read_only, tmpfs, every environment variable, the secret names and paths,
the migrate command) is taken from the compose file itself.

The new key's TXT record is taken from the rotation's answer on relay-1's admin API and checked
against `dkim-relay keys dns` run in relay-3; dkimpy and Mail::DKIM verify every delivered message
against those records."""
import os
import tempfile
import time

import yaml

import podman_harness as ph
from podman_harness import harness, podman

ph.sys.path.insert(0, os.path.join(ph.ROOT, "tests", "pgstore"))
import pg_harness  # noqa: E402
import psycopg2  # noqa: E402

ph.require_image()
r = harness.Results("container.fleet")
with open(os.path.join(ph.ROOT, "docker", "compose.fleet.yaml")) as f:
    compose = yaml.safe_load(f)
services = compose["services"]
relays = [n for n in ("relay-1", "relay-2", "relay-3") if n in services]
r.check(len(relays) == 3, f"the fleet example has three relays: {sorted(services)}")
r.check("postgres" in services and "migrate" in services, "the fleet example has postgres and migrate services")
r.check(services["migrate"]["command"][:2] == ["db", "migrate"], f"migrate runs `db migrate`: {services['migrate']}")
for n in relays + ["migrate"]:
    r.check(services[n]["image"] == "localhost/dkim-relay:dev", f"{n} runs the image build-image.sh makes")
pg_env = services["postgres"]["environment"]
DOMAIN = "example.com"  # swaks's From: is app@example.com

tmp = tempfile.mkdtemp(prefix="dkr-fleet-")
os.chmod(tmp, 0o755)  # the KEK is written into it by the image's root (uid 0 = root with rootful podman)
prefix = ph.unique("dkr-fleet")
token = "fleet-test-token-" + ph.uuid.uuid4().hex
containers = []


def secret_file(name, text):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def secure(path):
    # As the compose file's header says: owned by the relay's uid, readable by it alone.
    os.chown(path, 10001, 10001)
    os.chmod(path, 0o400)


def container_args(service, extra_env):
    """podman run arguments for a compose service as the file defines it, on the host's network."""
    args = ["--network=host", "--add-host", "postgres:127.0.0.1"]
    if service.get("read_only"):
        args.append("--read-only")
    for t in service.get("tmpfs", []):
        args += ["--tmpfs", t]
    env = dict(service.get("environment", {}), **extra_env)
    for k, v in env.items():
        args += ["-e", f"{k}={v}"]
    for s in service.get("secrets", []):
        args += ["-v", f"{os.path.join(tmp, compose['secrets'][s]['file'].split('/')[-1])}:/run/secrets/{s}:ro"]
    return args


def logs(name):
    out = podman("logs", name, check=False)
    return (out.stdout + out.stderr)[-3000:]


def admin(port, method, path, body=None):
    import json
    import urllib.error
    import urllib.request
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", method=method,
                                     data=json.dumps(body).encode() if body is not None else None,
                                     headers={"Authorization": f"Bearer {token}",
                                              "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


def active_selector(port):
    status, body = admin(port, "GET", f"/v1/domains/{DOMAIN}")
    if status != 200:
        return None
    active = [s["selector"] for s in body["selectors"] if s["state"] == "active"]
    return active[0] if len(active) == 1 else None


server = pg_harness.PostgresServer()
try:
    with harness.Sink() as sink:
        started = time.monotonic()
        # What the postgres service's entrypoint does with POSTGRES_DB / POSTGRES_USER / _PASSWORD_FILE.
        password = ph.uuid.uuid4().hex
        secret_file("postgres-password", password + "\n")
        conn = psycopg2.connect(server.dsn())
        conn.autocommit = True
        with conn.cursor() as cur:
            cur.execute(f"CREATE ROLE {pg_env['POSTGRES_USER']} LOGIN PASSWORD %s", (password,))
            cur.execute(f"CREATE DATABASE {pg_env['POSTGRES_DB']} OWNER {pg_env['POSTGRES_USER']}")
        conn.close()
        secret_file("dsn", f"host=postgres port={server.port} dbname={pg_env['POSTGRES_DB']} "
                           f"user={pg_env['POSTGRES_USER']} password={password}\n")
        secret_file("admin-token", token + "\n")
        podman("run", "--rm", "-v", f"{tmp}:/out", "--user", "0", ph.IMAGE, "keys", "new-kek", "/out/kek")
        for name in ("dsn", "kek", "admin-token"):
            secure(os.path.join(tmp, name))

        # Each service's configuration exactly as the file gives it (relay-1's admin API on 0.0.0.0
        # included) is one the relay accepts; the runs below only move the ports and the upstream.
        for n in ["migrate"] + relays:
            checked = podman("run", "--rm", *container_args(services[n], {}), ph.IMAGE, "--check-config",
                             check=False)
            r.check(checked.returncode == 0, f"{n}'s configuration from the compose file is valid: "
                                             f"{(checked.stdout + checked.stderr)[-1500:]}")

        upstream = {"DKIM_RELAY_UPSTREAM_HOST": "127.0.0.1", "DKIM_RELAY_UPSTREAM_PORT": str(sink.port),
                    "DKIM_RELAY_UPSTREAM_STARTTLS": "none"}
        migrate = podman("run", "--rm", "--name", f"{prefix}-migrate",
                         *container_args(services["migrate"], upstream), ph.IMAGE, *services["migrate"]["command"])
        print("migrate:", (migrate.stdout + migrate.stderr).strip()[-500:])
        with psycopg2.connect(server.dsn(pg_env["POSTGRES_DB"])) as conn, conn.cursor() as cur:
            cur.execute("SELECT count(*) FROM information_schema.tables WHERE table_schema = %s",
                        (services["migrate"]["environment"]["DKIM_RELAY_KEYSTORE_SCHEMA"],))
            r.check(cur.fetchone()[0] > 0, "`db migrate` in the image created the keystore schema")

        ports = {}
        for n in relays:
            ports[n] = (harness.free_port(), harness.free_port(), harness.free_port())
            name = f"{prefix}-{n}"
            extra = dict(upstream, DKIM_RELAY_RELAY_LISTEN=f"127.0.0.1:{ports[n][0]}",
                         DKIM_RELAY_ADMIN_LISTEN=f"127.0.0.1:{ports[n][1]}",
                         DKIM_RELAY_METRICS_LISTEN=f"127.0.0.1:{ports[n][2]}")
            containers.append(name)
            podman("run", "-d", "--name", name, *container_args(services[n], extra), ph.IMAGE)
        for n in relays:
            ph.wait_greeting(ports[n][0])
        print(f"fleet: three relays greeting {time.monotonic() - started:.2f}s after the test started")
        for name in containers:
            r.check(podman("exec", name, "id", "-u").stdout.strip() == "10001", f"{name} runs as uid 10001")
            r.check(podman("inspect", name, "--format", "{{.HostConfig.ReadonlyRootfs}}").stdout.strip() == "true",
                    f"{name} has a read-only root")
        admin1, admin2, admin3 = (ports[n][1] for n in relays)

        # The fleet starts empty (DKIM_RELAY_KEYSTORE_DEMO_DOMAIN=""): the domain is added through relay-1.
        status, body = admin(admin1, "GET", "/v1/domains")
        r.check(status == 200 and body["domains"] == [], f"the shared keystore starts empty: {status} {body}")
        status, body = admin(admin1, "POST", "/v1/domains", {"domain": DOMAIN})
        r.check(status == 201, f"domain added through relay-1: {status} {body}")
        first = body["key"]["selector"]
        records = {body["dns"]["name"].rstrip(".").lower(): body["dns"]["value"]}
        harness.wait_for(lambda: active_selector(admin2) == first and active_selector(admin3) == first, 10,
                         "relay-2 and relay-3 to see the new domain")
        sent = []
        for n in relays[1:]:
            ok, out = ph.swaks(ports[n][0], f"before rotation via {n}")
            r.check(ok, f"swaks through {n}: {out[-800:]}")
            sent.append((n, first))

        rotated_at = time.monotonic()
        status, body = admin(admin1, "POST", f"/v1/domains/{DOMAIN}/rotate", {"activate": "now"})
        r.check(status == 201, f"rotation through relay-1's admin API: {status} {body}")
        second = body["key"]["selector"]
        r.check(second != first and body["retiring"] == [first], f"new selector {second}, retiring {body['retiring']}")
        records[body["dns"]["name"].rstrip(".").lower()] = body["dns"]["value"]
        harness.wait_for(lambda: active_selector(admin2) == second and active_selector(admin3) == second, 10,
                         "relay-2 and relay-3 to see the rotation")
        print(f"rotation through relay-1 seen by relay-2 and relay-3 after {time.monotonic() - rotated_at:.2f}s")
        for n in relays[1:]:
            ok, out = ph.swaks(ports[n][0], f"after rotation via {n}")
            r.check(ok, f"swaks through {n} after the rotation: {out[-800:]}")
            sent.append((n, second))

        # The admin API's records agree with `keys dns`, run in another relay's container.
        from_cli = ph.dns_records(containers[2], DOMAIN, config="/etc/dkim-relay/dkim-relay.toml")
        for name, value in records.items():
            r.check(from_cli.get(name, "").replace(" ", "") == value.replace(" ", ""),
                    f"`keys dns` agrees with the admin API for {name}: {from_cli.get(name)!r} vs {value!r}")

        sink.wait_count(len(sent))
        r.check(len(sink.messages) == len(sent), f"{len(sent)} messages delivered: {len(sink.messages)}")
        for (via, selector), (_, _, message) in zip(sent, sink.messages):
            subject = [line for line in message.split(b"\r\n") if line.startswith(b"Subject:")]
            r.check(subject and via.encode() in subject[0], f"delivered in order: {subject} via {via}")
            signed = harness.signature_selectors(message)
            r.check([(d, s) for d, s, _ in signed] == [(DOMAIN, selector)],
                    f"mail via {via} signed with {selector}: {signed}")
            dkimpy, maildkim = ph.verified(message, records)
            r.check(dkimpy, f"dkimpy verifies the mail via {via} (s={selector})")
            r.check(maildkim == "pass", f"Mail::DKIM verifies the mail via {via} (s={selector}): {maildkim}")
        print(f"container.fleet: {time.monotonic() - started:.1f}s from PostgreSQL up to the last check")
except Exception:
    for name in containers:
        print(f"--- {name}:\n{logs(name)}")
    print("--- postgres:\n" + server.server_log())
    raise
finally:
    for name in containers:
        podman("rm", "-f", "-t", "5", name, check=False)
    server.close()
    import shutil
    shutil.rmtree(tmp, ignore_errors=True)
r.finish()
