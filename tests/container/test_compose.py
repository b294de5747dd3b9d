"""docker/compose.yaml, run with podman as one pod: Debian 12's podman-compose (1.0.3) cannot share
a network namespace between services (it hands `network_mode: service:relay` to podman unchanged
and adds a --net of its own), and a pod is exactly the sidecar model the file describes. The relay
service runs as the file defines it (image, environment, read-only root, tmpfs, secret, volume);
the file's stand-in MTA and app (apt-get at start-up) are replaced by the test's peer image:
aiosmtpd on the pod's port 25 (the name "mta" resolves to the pod's loopback) and swaks sending to
127.0.0.1:2525. The message the MTA receives is verified on the host by dkimpy and Mail::DKIM
against `dkim-relay keys dns` from the relay container."""
import os
import tempfile
import time

import yaml

import podman_harness as ph
from podman_harness import harness, podman

ph.require_image()
ph.require_peer_image()
r = harness.Results("container.compose")
with open(os.path.join(ph.ROOT, "docker", "compose.yaml")) as f:
    compose = yaml.safe_load(f)
services = compose["services"]
r.check(services["app"].get("network_mode") == "service:relay", "the app shares the relay's network namespace")

tmp = tempfile.mkdtemp(prefix="dkr-compose-")
mail = os.path.join(tmp, "mail")
os.makedirs(mail)
os.chmod(mail, 0o777)
secret_files = {}
for name in compose.get("secrets", {}):
    path = os.path.join(tmp, name)
    with open(path, "w") as f:
        f.write("compose-test-token-" + ph.uuid.uuid4().hex + "\n")
    # As Kubernetes mounts a Secret with fsGroup: owned by root, readable by the relay's group only
    # (the relay refuses secret files that others can read).
    os.chown(path, 0, 10001)
    os.chmod(path, 0o640)
    secret_files[name] = path

pod = ph.unique("dkr-compose")
volumes = {name: f"{pod}-{name}" for name in compose.get("volumes", {})}
hosts = [a for s in services for a in ("--add-host", f"{s}:127.0.0.1")]


def relay_args(service):
    """podman run arguments for the compose service as the file defines it."""
    args = []
    if service.get("read_only"):
        args.append("--read-only")
    for t in service.get("tmpfs", []):
        args += ["--tmpfs", t]
    for k, v in service.get("environment", {}).items():
        args += ["-e", f"{k}={v}"]
    for s in service.get("secrets", []):
        args += ["-v", f"{secret_files[s]}:/run/secrets/{s}:ro"]
    for v in service.get("volumes", []):
        source, target = v.split(":", 1)
        args += ["-v", f"{volumes.get(source, source)}:{target}"]
    return args + [service["image"]]


relay = f"{pod}-relay"
try:
    podman("pod", "create", "--name", pod, *hosts)
    for v in volumes.values():
        podman("volume", "create", v)
    started = time.monotonic()
    podman("run", "-d", "--pod", pod, "--name", f"{pod}-mta", "-v", f"{mail}:/mail", ph.PEER_IMAGE,
           "python3", "/usr/local/bin/mail_drop.py", "/mail", "0.0.0.0", "25")
    image = services["relay"]["image"]
    r.check(image == "localhost/dkim-relay:dev", f"compose's relay image is the one build-image.sh makes: {image}")
    podman("run", "-d", "--pod", pod, "--name", relay, *relay_args(dict(services["relay"], image=ph.IMAGE)))
    podman("run", "-d", "--pod", pod, "--name", f"{pod}-app", ph.PEER_IMAGE, "sh", "-c",
           "until swaks --server 127.0.0.1:2525 --from app@example.com --to someone@example.org "
           "--header 'Subject: from compose' --body 'sent by the app'; do sleep 0.2; done; exec sleep infinity")
    delivered = os.path.join(mail, "1.eml")
    harness.wait_for(lambda: os.path.exists(delivered), 60, "the MTA to receive the app's message")
    print(f"compose pod: message delivered {time.monotonic() - started:.2f}s after the first container started")
    with open(delivered, "rb") as f:
        message = f.read()
    selectors = harness.signature_selectors(message)
    r.check([s[0] for s in selectors] == ["example.com"], f"signed by example.com: {selectors}")
    dkimpy, maildkim = ph.verified(message, ph.dns_records(relay))
    r.check(dkimpy, "dkimpy verifies the message from the compose pod")
    r.check(maildkim == "pass", f"Mail::DKIM verifies the message from the compose pod: {maildkim}")
    hc = podman("healthcheck", "run", relay, check=False)
    r.check(hc.returncode == 0, f"the image's HEALTHCHECK passes in the pod: {hc.stdout} {hc.stderr}")
    r.check(podman("inspect", relay, "--format", "{{.HostConfig.ReadonlyRootfs}}").stdout.strip() == "true",
            "read_only: true holds")
except Exception:
    for c in (relay, f"{pod}-app", f"{pod}-mta"):
        logs = podman("logs", c, check=False)
        print(f"--- {c}:\n" + (logs.stdout + logs.stderr)[-3000:])
    raise
finally:
    podman("pod", "rm", "-f", "-t", "5", pod, check=False, timeout=120)
    for v in volumes.values():
        podman("volume", "rm", "-f", v, check=False)
r.finish()
