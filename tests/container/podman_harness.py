"""Plumbing for the container tests: podman with the project's settings (docker/podman), the image
under test, SMTP conversations from the host, and the DNS record `dkim-relay keys dns` prints in
the container. The upstream, the verifiers and the result counting come from tests/system/harness."""
import os
import re
import socket
import subprocess
import sys
import time
import uuid

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import harness  # noqa: E402  (Sink, Results, dkimpy_verify, maildkim_verify, free_port, wait_for)

IMAGE = os.environ.get("DKIM_RELAY_IMAGE", "localhost/dkim-relay:dev")
ENV = dict(os.environ, CONTAINERS_CONF=os.path.join(ROOT, "docker", "podman", "containers.conf"))


def podman(*args, check=True, timeout=120, input=None):
    done = subprocess.run(["podman", *args], env=ENV, capture_output=True, text=True, timeout=timeout, input=input)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} -> {done.returncode}: {done.stderr.strip()[-2000:]}")
    return done


def require_image():
    """The image is built by the container.image test (docker/build-image.sh); without it, fail."""
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        raise SystemExit(f"FAIL: image {IMAGE} is missing: run docker/build-image.sh (ctest -R container.image)")


def unique(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def read_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            return lines
        lines.append(line.decode(errors="replace").rstrip("\r\n"))
        if line[3:4] != b"-":
            return lines


def wait_greeting(port, timeout=20.0):
    """Seconds until the relay on 127.0.0.1:port answers 220 (polled: a container has no event for it)."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
                got = read_reply(s.makefile("rb"))
                if got and got[0].startswith("220"):
                    s.sendall(b"QUIT\r\n")
                    return time.monotonic() - started
        except OSError:
            pass
        time.sleep(0.01)
    raise AssertionError(f"no SMTP greeting on 127.0.0.1:{port} within {timeout}s")


def started_at(container):
    """The container's start time (epoch seconds) as podman recorded it."""
    text = podman("inspect", container, "--format", "{{.State.StartedAt}}").stdout.strip()
    m = re.match(r"(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)(\.\d+)? ([+-]\d{4})", text)
    if not m:
        raise AssertionError(f"unexpected StartedAt: {text!r}")
    import datetime
    whole = datetime.datetime.strptime(f"{m.group(1)} {m.group(2)} {m.group(4)}", "%Y-%m-%d %H:%M:%S %z")
    return whole.timestamp() + float(m.group(3) or 0)


def ready_times(container, port, run_started):
    """(seconds from `podman run` to the SMTP greeting, seconds from the container's start to it)."""
    wait_greeting(port)
    now_wall, now_mono = time.time(), time.monotonic()
    return now_mono - run_started, now_wall - started_at(container)


def http_status(url, token=None):
    import urllib.error
    import urllib.request
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as e:
        return e.code


def swaks(port, subject, sender="app@example.com", rcpt="someone@example.org"):
    done = subprocess.run(["swaks", "--server", f"127.0.0.1:{port}", "--from", sender, "--to", rcpt,
                           "--header", f"Subject: {subject}", "--body", f"body of {subject}\n"],
                          capture_output=True, text=True, timeout=60)
    return done.returncode == 0, done.stdout + done.stderr


def dns_records(container, domain="example.com", config=None):
    """{name: TXT value} parsed from `dkim-relay keys dns DOMAIN` run inside the container (with
    --config for a PostgreSQL keystore: without it, `keys` opens the directory store ./data/keys)."""
    out = podman("exec", container, "dkim-relay", "keys", *(["--config", config] if config else []), "dns",
                 domain).stdout
    records = {}
    for line in out.splitlines():
        m = re.match(r"^(\S+)\s+(?:\d+\s+)?IN\s+TXT\s+(.*)$", line.strip())
        if m:
            records[m.group(1).rstrip(".").lower()] = "".join(re.findall(r'"([^"]*)"', m.group(2)))
    if not records:
        raise AssertionError(f"no TXT record in `keys dns {domain}`: {out!r}")
    return records


def verified(message, records):
    """(dkimpy verdict, Mail::DKIM verdict) for one message against the given records."""
    return harness.dkimpy_verify(message, records), harness.maildkim_verify([message], records)[0]


PEER_IMAGE = os.environ.get("DKIM_RELAY_PEER_IMAGE", "localhost/dkim-relay-test-peer:dev")


def require_peer_image():
    """swaks + aiosmtpd for the pod and compose tests; built by container.image too."""
    if podman("image", "exists", PEER_IMAGE, check=False).returncode != 0:
        raise SystemExit(f"FAIL: image {PEER_IMAGE} is missing: run tests/container/build-images.sh")
