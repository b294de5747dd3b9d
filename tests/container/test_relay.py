"""The relay image run as operators run it: non-root, read-only root with a tmpfs /tmp, keys on a
named volume, config from environment variables alone (first run) or a mounted file (second run),
the admin token as a secret file mounted under /run/secrets (`podman run --secret` cannot be
used with --read-only on podman 4.3: runc fails to create the mount point in the read-only root). From the host: swaks sends, an aiosmtpd
upstream receives, dkimpy and Mail::DKIM verify against `dkim-relay keys dns` from the container.
SIGTERM during a send loses nothing acknowledged, and the container exits 0; the second container
on the same volume signs with the same selector. The relay shares the host's network namespace
(--network=host), so both the client and the upstream stay on 127.0.0.1."""
import os
import signal
import socket
import tempfile
import time

import podman_harness as ph
from podman_harness import harness, podman

ph.require_image()
r = harness.Results("container.relay")
name = ph.unique("dkr-relay")
volume = ph.unique("dkr-data")
secret = "dkim_relay_admin_token"
token = "container-test-token-" + ph.uuid.uuid4().hex
tmp = tempfile.mkdtemp(prefix="dkr-container-")


def run_container(extra):
    # On the host's network the image's metrics listener (0.0.0.0:9464) would collide: a free port.
    args = ["run", "-d", "--name", name, "--network=host", "--read-only", "--tmpfs", "/tmp",
            "-e", f"DKIM_RELAY_METRICS_LISTEN=127.0.0.1:{harness.free_port()}",
            "-v", f"{volume}:/var/lib/dkim-relay/data",
            "-v", f"{token_file}:/run/secrets/{secret}:ro"] + extra + [ph.IMAGE]
    started = time.monotonic()
    podman(*args)
    return started


def stop_and_remove():
    podman("rm", "-f", "-t", "5", name, check=False)


def send_mid_data(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    f = s.makefile("rb")
    ok = ph.read_reply(f)[0].startswith("220")
    for cmd, code in [(b"EHLO client.test", "250"), (b"MAIL FROM:<app@example.com>", "250"),
                      (b"RCPT TO:<user@example.org>", "250"), (b"DATA", "354")]:
        s.sendall(cmd + b"\r\n")
        got = ph.read_reply(f)
        ok = ok and bool(got) and got[-1].startswith(code)
    s.sendall(b"From: app@example.com\r\nTo: user@example.org\r\nSubject: in flight\r\n\r\nfirst half\r\n")
    return s, f, ok


token_file = os.path.join(tmp, "token")
with open(token_file, "w") as f:
    f.write(token + "\n")
# As Kubernetes mounts a Secret with fsGroup: owned by root, readable by the relay's group only
# (the relay refuses secret files that others can read).
os.chown(token_file, 0, 10001)
os.chmod(token_file, 0o640)
podman("volume", "create", volume)
try:
    with harness.Sink() as sink:
        smtp_port, admin_port = harness.free_port(), harness.free_port()
        env_only = ["-e", f"DKIM_RELAY_RELAY_LISTEN=127.0.0.1:{smtp_port}",
                    "-e", f"DKIM_RELAY_ADMIN_LISTEN=127.0.0.1:{admin_port}",
                    "-e", f"DKIM_RELAY_ADMIN_TOKEN_FILE=/run/secrets/{secret}",
                    "-e", "DKIM_RELAY_UPSTREAM_TYPE=smtp", "-e", "DKIM_RELAY_UPSTREAM_HOST=127.0.0.1",
                    "-e", f"DKIM_RELAY_UPSTREAM_PORT={sink.port}", "-e", "DKIM_RELAY_UPSTREAM_STARTTLS=none",
                    "-e", "DKIM_RELAY_RELAY_SHUTDOWN_GRACE=20s"]
        started = run_container(env_only)
        via_run, ready = ph.ready_times(name, smtp_port, started)
        print(f"first start (new volume, key generated): SMTP greeting {ready:.2f}s after the container "
              f"started ({via_run:.2f}s after `podman run` was called)")
        r.check(ready <= 2.0, f"ready within 2 s of the container's start on first start: {ready:.2f}s")

        # Non-root, read-only root, writable tmpfs /tmp.
        r.check(podman("exec", name, "id", "-u").stdout.strip() == "10001", "runs as uid 10001")
        r.check(podman("inspect", name, "--format", "{{.HostConfig.ReadonlyRootfs}}").stdout.strip() == "true",
                "root filesystem is read-only")
        r.check(podman("exec", name, "touch", "/usr/local/bin/x", check=False).returncode != 0,
                "writing to the root filesystem fails")
        r.check(podman("exec", name, "touch", "/tmp/x", check=False).returncode == 0, "/tmp is writable")
        r.check(podman("exec", name, "sh", "-c", "find data/keys -name '*.pem' -exec stat -c %a {} +",
                       check=False).stdout.split() == ["600"], "the generated private key is mode 0600")

        # HEALTHCHECK as podman runs it, and the admin API with the token from the secret.
        hc = podman("healthcheck", "run", name, check=False)
        r.check(hc.returncode == 0, f"podman healthcheck run: {hc.returncode} {hc.stdout} {hc.stderr}")
        r.check(podman("exec", name, "dkim-relay-healthcheck", "/readyz", check=False).returncode == 0,
                "readiness (/readyz on the metrics listener, no token) passes")
        url = f"http://127.0.0.1:{admin_port}/v1/domains"
        r.check(ph.http_status(url) == 401, "the admin API refuses a request without the token")
        r.check(ph.http_status(url, token) == 200, "the admin API accepts the token from the secret file")

        ok, out = ph.swaks(smtp_port, "container one")
        r.check(ok, f"swaks through the container: {out[-800:]}")
        sink.wait_count(1)
        records = ph.dns_records(name)
        message = sink.messages[0][2]
        selectors = harness.signature_selectors(message)
        r.check(len(selectors) == 1 and selectors[0][0] == "example.com", f"signed by example.com: {selectors}")
        first_selector = selectors[0][1]
        dkimpy, maildkim = ph.verified(message, records)
        r.check(dkimpy, "dkimpy verifies against `keys dns` from the container")
        r.check(maildkim == "pass", f"Mail::DKIM verifies against `keys dns` from the container: {maildkim}")

        # SIGTERM to the container while one client is mid-DATA and another idle.
        busy, bf, ok = send_mid_data(smtp_port)
        r.check(ok, "transaction in flight reached DATA")
        idle = socket.create_connection(("127.0.0.1", smtp_port), timeout=30)
        idf = idle.makefile("rb")
        r.check(ph.read_reply(idf)[0].startswith("220"), "idle session greeted")
        sigterm_at = time.monotonic()
        podman("kill", "--signal", "TERM", name)
        idle_answer = ph.read_reply(idf)
        r.check(bool(idle_answer) and idle_answer[0].startswith("421"), f"idle session gets 421: {idle_answer}")
        busy.sendall(b"second half\r\n.\r\n")
        final = ph.read_reply(bf)
        r.check(bool(final) and final[-1].startswith("250"), f"in-flight transaction acknowledged: {final}")
        exit_code = podman("wait", name, timeout=60).stdout.strip()
        stopped = time.monotonic() - sigterm_at
        r.check(exit_code == "0", f"container exits 0 after SIGTERM: {exit_code}")
        r.check(stopped < 20, f"stopped within shutdown_grace: {stopped:.1f}s")
        acknowledged = [m for m in sink.messages if b"second half" in m[2]]
        r.check(len(acknowledged) == 1, f"the acknowledged message reached the upstream once: {len(acknowledged)}")
        podman("rm", name)

        # A new container on the same volume, configured by a mounted file instead of variables.
        config = os.path.join(tmp, "dkim-relay.toml")
        with open(config, "w") as f:
            f.write(f"""[relay]
listen = ["127.0.0.1:{smtp_port}"]
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {sink.port}
starttls = "none"
[keystore]
path = "/var/lib/dkim-relay/data/keys"
[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "/run/secrets/{secret}"
""")
        os.chmod(config, 0o644)
        started = run_container(
                                ["-v", f"{config}:/etc/dkim-relay/dkim-relay.toml:ro",
                                 "-e", f"DKIM_RELAY_ADMIN_LISTEN=127.0.0.1:{admin_port}"])
        via_run, ready = ph.ready_times(name, smtp_port, started)
        print(f"restart (existing volume): SMTP greeting {ready:.2f}s after the container started "
              f"({via_run:.2f}s after `podman run` was called)")
        r.check(ready <= 2.0, f"ready within 2 s of the container's start on restart: {ready:.2f}s")
        ok, out = ph.swaks(smtp_port, "container two")
        r.check(ok, f"swaks after restart: {out[-800:]}")
        sink.wait_count(3)
        message = sink.messages[-1][2]
        selectors = harness.signature_selectors(message)
        r.check([s[1] for s in selectors] == [first_selector], f"same selector after restart: {selectors}")
        dkimpy, maildkim = ph.verified(message, ph.dns_records(name))
        r.check(dkimpy and maildkim == "pass", f"restart: dkimpy {dkimpy}, Mail::DKIM {maildkim}")
        podman("stop", "-t", "30", name)
        r.check(podman("inspect", name, "--format", "{{.State.ExitCode}}").stdout.strip() == "0",
                "`podman stop` (SIGTERM) exits 0")
except Exception:
    logs = podman("logs", name, check=False)
    print("container log:\n" + (logs.stdout + logs.stderr)[-4000:])
    raise
finally:
    stop_and_remove()
    podman("volume", "rm", "-f", volume, check=False)
r.finish()
