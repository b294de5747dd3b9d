"""`podman play kube docker/kubernetes-sidecar.yaml`: the shipped Pod, with the test's images, an
MTA container and local volumes filled in, runs as a pod: the app container (swaks) sends to
127.0.0.1:2525 in the pod, the relay signs and forwards to the MTA container (aiosmtpd) on the
pod's loopback, which drops the message into a host directory; the host verifies it with dkimpy and
Mail::DKIM against `dkim-relay keys dns` from the relay container. The shipped probes are httpGet
on the [metrics] listener (no token); the test publishes that port on the host's loopback and GETs
/livez and /readyz as the kubelet would. podman turns an httpGet probe into a curl command, and the
image has no curl, so here the liveness probe is the image's own plain-HTTP healthcheck instead,
which passes."""
import os
import tempfile
import time
import urllib.request

import yaml

import podman_harness as ph
from podman_harness import harness, podman

ph.require_image()
ph.require_peer_image()
r = harness.Results("container.kube")
tmp = tempfile.mkdtemp(prefix="dkr-kube-")
mail = os.path.join(tmp, "mail")
secrets = os.path.join(tmp, "secrets")
os.makedirs(mail)
os.makedirs(secrets)
os.chmod(mail, 0o777)
os.chmod(secrets, 0o755)
with open(os.path.join(secrets, "admin-token"), "w") as f:
    f.write("kube-test-token-" + ph.uuid.uuid4().hex + "\n")
# As Kubernetes mounts a Secret with fsGroup: owned by root, readable by the relay's group only
# (the relay refuses secret files that others can read).
os.chown(os.path.join(secrets, "admin-token"), 0, 10001)
os.chmod(os.path.join(secrets, "admin-token"), 0o640)

with open(os.path.join(ph.ROOT, "docker", "kubernetes-sidecar.yaml")) as f:
    pod = yaml.safe_load(f)
pod_name = ph.unique("dkr-kube")
volume = ph.unique("dkr-kube-keys")
pod["metadata"]["name"] = pod_name
spec = pod["spec"]
containers = {c["name"]: c for c in spec["containers"]}
relay = containers["dkim-relay"]
relay["image"] = ph.IMAGE
env = {e["name"]: e for e in relay["env"]}
env["DKIM_RELAY_UPSTREAM_HOST"]["value"] = "127.0.0.1"
env["DKIM_RELAY_UPSTREAM_PORT"]["value"] = "2500"
env["DKIM_RELAY_UPSTREAM_STARTTLS"]["value"] = "none"
env["DKIM_RELAY_KEYSTORE_DEMO_DOMAIN"]["value"] = "example.com"
# The shipped probes: httpGet on the metrics listener's port, which the relay listens on beyond loopback.
ports = {p["name"]: p for p in relay["ports"]}
r.check(relay["livenessProbe"]["httpGet"] == {"path": "/livez", "port": "metrics"}, "liveness probe is httpGet /livez")
r.check(relay["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "metrics"}, "readiness is httpGet /readyz")
r.check(env["DKIM_RELAY_METRICS_LISTEN"]["value"] == "0.0.0.0:%d" % ports["metrics"]["containerPort"],
        "the metrics listener is on the probes' port")
probe_port = harness.free_port()
ports["metrics"].update({"hostPort": probe_port, "hostIP": "127.0.0.1"})
relay["livenessProbe"] = {"exec": {"command": ["dkim-relay-healthcheck", "/livez"]}, "periodSeconds": 10}
relay.pop("readinessProbe")
app = containers["app"]
app["image"] = ph.PEER_IMAGE
# The app retries until the relay answers, as an application does when its sidecar starts later.
app["command"] = ["sh", "-c", "until swaks --server 127.0.0.1:2525 --from app@example.com "
                  "--to someone@example.org --header 'Subject: from the pod' --body 'sent in the pod'; "
                  "do sleep 0.2; done; exec sleep infinity"]
spec["containers"].append({"name": "mta", "image": ph.PEER_IMAGE,
                           "command": ["python3", "/usr/local/bin/mail_drop.py", "/mail"],
                           "volumeMounts": [{"name": "mail", "mountPath": "/mail"}]})
for v in spec["volumes"]:
    if v["name"] == "keys":
        v["persistentVolumeClaim"]["claimName"] = volume
    if v["name"] == "admin-token":  # a host directory standing in for the Kubernetes Secret
        v.pop("secret")
        v["hostPath"] = {"path": secrets, "type": "Directory"}
spec["volumes"].append({"name": "mail", "hostPath": {"path": mail, "type": "Directory"}})
kube_file = os.path.join(tmp, "pod.yaml")
with open(kube_file, "w") as f:
    yaml.safe_dump(pod, f)

relay_container = f"{pod_name}-dkim-relay"
podman("volume", "create", volume)
try:
    started = time.monotonic()
    podman("play", "kube", kube_file, timeout=180)
    delivered = os.path.join(mail, "1.eml")
    harness.wait_for(lambda: os.path.exists(delivered), 60, "the pod's MTA to receive the app's message")
    print(f"pod: message delivered {time.monotonic() - started:.2f}s after `podman play kube` started")
    with open(delivered, "rb") as f:
        message = f.read()
    selectors = harness.signature_selectors(message)
    r.check([s[0] for s in selectors] == ["example.com"], f"signed by example.com: {selectors}")
    dkimpy, maildkim = ph.verified(message, ph.dns_records(relay_container))
    r.check(dkimpy, "dkimpy verifies the message from the pod")
    r.check(maildkim == "pass", f"Mail::DKIM verifies the message from the pod: {maildkim}")

    health = podman("inspect", relay_container, "--format", "{{json .Config.Healthcheck}}").stdout
    r.check("dkim-relay-healthcheck" in health, f"the liveness probe is the container's healthcheck: {health}")
    hc = podman("healthcheck", "run", relay_container, check=False)
    r.check(hc.returncode == 0, f"liveness probe passes: {hc.stdout} {hc.stderr}")
    status = podman("inspect", relay_container, "--format", "{{.State.Health.Status}}").stdout.strip()
    r.check(status == "healthy", f"health status: {status}")
    ready = podman("exec", relay_container, "dkim-relay-healthcheck", "/readyz", check=False)
    r.check(ready.returncode == 0, f"readiness through the healthcheck script passes: {ready.stderr}")
    for path in ("/livez", "/readyz"):  # what the kubelet's httpGet does: no token
        with urllib.request.urlopen(f"http://127.0.0.1:{probe_port}{path}", timeout=10) as response:
            r.check(response.status == 200, f"httpGet {path} on the metrics port answers 200")
    r.check(podman("exec", relay_container, "id", "-u").stdout.strip() == "10001", "relay runs as uid 10001")
    r.check(podman("exec", relay_container, "touch", "/etc/x", check=False).returncode != 0,
            "readOnlyRootFilesystem holds")
except Exception:
    for c in (relay_container, f"{pod_name}-app", f"{pod_name}-mta"):
        logs = podman("logs", c, check=False)
        print(f"--- {c}:\n" + (logs.stdout + logs.stderr)[-3000:])
    raise
finally:
    podman("play", "kube", "--down", kube_file, check=False, timeout=120)
    podman("volume", "rm", "-f", volume, check=False)
r.finish()
