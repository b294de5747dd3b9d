"""The Debian package on a fresh Debian 12: `apt-get install ./dkim-relay_*.deb` in a container made
from docker/build-image.sh's debootstrap base (no systemd in it), then the relay started the way the
unit's ExecStartPre/ExecStart do (as the dkim-relay user, from the installed config), a domain added
with `dkim-relay keys` as that user, mail from the host signed (dkimpy and Mail::DKIM against the
record `keys dns` prints, and the installed binary's own `verify`), and SIGTERM: exit 0.
Only the listen addresses are set from the environment (DKIM_RELAY_*), so that the host network
the container shares has no clash on 2525/8025.
  test_deb_install.py BUILD_DIR"""
import os
import queue
import shlex
import smtplib
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "container"))
import podman_harness as ph  # noqa: E402
from podman_harness import harness, podman  # noqa: E402

build_dir = sys.argv[1]
r = harness.Results("container.package")
BASE = "docker.io/library/debian:bookworm"
CONFIG = "/etc/dkim-relay/dkim-relay.toml"
DOMAIN = "pkg-test.example"

subprocess.run([os.path.join(ROOT, "docker", "build-image.sh"), "--base-only"], check=True, env=ph.ENV)
out = tempfile.mkdtemp(prefix="dkr-deb-")
deb = subprocess.run([os.path.join(ROOT, "docker", "build-deb.sh"), build_dir, out], check=True,
                     capture_output=True, text=True).stdout.strip().splitlines()[-1]
os.chmod(out, 0o755)
name = ph.unique("dkr-package")
smtp_port, admin_port = harness.free_port(), harness.free_port()


def sh(script, check=True, user=None, timeout=300):
    """A shell command in the container (as root, or as user through runuser)."""
    cmd = ["exec", name, "sh", "-c", script] if user is None else \
        ["exec", name, "runuser", "-u", user, "--", "sh", "-c", script]
    return podman(*cmd, check=check, timeout=timeout)


relay = None
try:
    podman("run", "-d", "--name", name, "--network=host", "-v", f"{out}:/pkg:ro", BASE, "sleep", "900")
    started = time.monotonic()
    installed = sh("cd /pkg && apt-get update -qq && DEBIAN_FRONTEND=noninteractive "
                   f"apt-get install -y -qq ./{os.path.basename(deb)} 2>&1", check=False, timeout=600)
    r.check(installed.returncode == 0, f"apt-get install ./{os.path.basename(deb)}: {installed.stdout[-3000:]}")
    print(f"apt-get update + install: {time.monotonic() - started:.0f} s", flush=True)

    user = sh("getent passwd dkim-relay").stdout.strip().split(":")
    r.check(len(user) == 7 and 0 < int(user[2]) < 1000, f"dkim-relay is a system user: {user}")
    r.check(user[5:] == ["/var/lib/dkim-relay", "/usr/sbin/nologin"], f"home and shell: {user}")
    state = sh("stat -c '%a %U %G' /var/lib/dkim-relay").stdout.strip()
    r.check(state == "700 dkim-relay dkim-relay", f"/var/lib/dkim-relay is 0700 dkim-relay: {state}")
    conffiles = sh("dpkg-query -W -f='${Conffiles}' dkim-relay").stdout
    r.check(CONFIG in conffiles, f"{CONFIG} is a conffile: {conffiles!r}")
    version = sh("/usr/bin/dkim-relay --version").stdout
    r.check(version.startswith("dkim-relay ") and "OpenSSL" in version and "libpq" in version,
            f"--version names the libraries: {version!r}")

    added = sh(f"cd /var/lib/dkim-relay && dkim-relay keys --config {CONFIG} add {DOMAIN}", user="dkim-relay",
               check=False)
    r.check(added.returncode == 0, f"keys add as dkim-relay: {added.stdout}{added.stderr}")
    keys = sh("find /var/lib/dkim-relay/keys -type f -name '*.pem' -printf '%m %u\\n' | sort -u").stdout.split()
    r.check(keys == ["600", "dkim-relay"], f"private keys are 0600 and owned by dkim-relay: {keys}")
    records = ph.dns_records(name, DOMAIN, CONFIG)

    # The unit: ExecStartPre=... --check-config, ExecStart=... serve, both as User=dkim-relay in
    # WorkingDirectory=/var/lib/dkim-relay. `echo $$` before exec: the relay keeps that pid.
    env = f"DKIM_RELAY_RELAY_LISTEN=127.0.0.1:{smtp_port} DKIM_RELAY_ADMIN_LISTEN=127.0.0.1:{admin_port}"
    checked = sh(f"cd /var/lib/dkim-relay && {env} /usr/bin/dkim-relay --check-config --config {CONFIG}",
                 user="dkim-relay", check=False)
    r.check(checked.returncode == 0, f"ExecStartPre (--check-config): {checked.stderr}")
    serve = (f"echo $$ > /run/dkim-relay.pid && cd /var/lib/dkim-relay && exec env {env} setpriv --reuid=dkim-relay "
             f"--regid=dkim-relay --init-groups --no-new-privs --bounding-set=-all "
             f"/usr/bin/dkim-relay serve --config {CONFIG}")
    relay = subprocess.Popen(["podman", "exec", name, "sh", "-c", serve], env=ph.ENV, stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT)
    lines = queue.Queue()
    threading.Thread(target=lambda: [lines.put(line.decode(errors="replace")) for line in relay.stdout] +
                     [lines.put(None)], daemon=True).start()
    output = []
    deadline = time.monotonic() + 60
    while not output or "ready" not in output[-1]:
        line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
        if line is None:
            raise AssertionError("the relay exited during start-up:\n" + "".join(output))
        output.append(line)
    who = sh("stat -c %U /proc/$(cat /run/dkim-relay.pid)").stdout.strip()
    r.check(who == "dkim-relay", f"the relay runs as dkim-relay: {who!r}")

    with smtplib.SMTP("127.0.0.1", smtp_port, timeout=30) as smtp:
        refused = smtp.sendmail(f"app@{DOMAIN}", ["someone@example.org"],
                                f"From: app@{DOMAIN}\r\nTo: someone@example.org\r\nSubject: from the package\r\n"
                                f"Message-ID: <pkg@{DOMAIN}>\r\n\r\nsigned by the installed relay\r\n")
    r.check(refused == {}, f"accepted: {refused}")
    files = sh("ls /var/lib/dkim-relay/outbox/ | grep '\\.eml$'").stdout.split()
    r.check(len(files) == 1, f"one message in the outbox: {files}")
    message = podman("exec", name, "cat", f"/var/lib/dkim-relay/outbox/{files[0]}").stdout.encode()
    dkimpy, maildkim = ph.verified(message, records)
    r.check(dkimpy, "dkimpy verifies the signature against `keys dns`")
    r.check(maildkim.startswith("pass"), f"Mail::DKIM: {maildkim}")
    txt = next(iter(records.items()))
    own = sh(f"dkim-relay verify --txt {shlex.quote(txt[0] + '=' + txt[1])} "
             f"< /var/lib/dkim-relay/outbox/{files[0]}", check=False)
    r.check(own.returncode == 0 and own.stdout.startswith("pass"), f"dkim-relay verify: {own.stdout}{own.stderr}")

    sh("kill -TERM $(cat /run/dkim-relay.pid)")
    code = relay.wait(timeout=60)
    r.check(code == 0, f"exit status after SIGTERM: {code}")
    while True:
        line = lines.get(timeout=10)
        if line is None:
            break
        output.append(line)
    r.check(any("stopped" in line for line in output[-5:]), "the log ends with 'stopped'")
    if r.failed:
        print("".join(output)[-4000:])
finally:
    if relay is not None and relay.poll() is None:
        relay.kill()
    podman("rm", "-f", "-t", "0", name, check=False)
    subprocess.run(["rm", "-rf", out])
r.finish()
