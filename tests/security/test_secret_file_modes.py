"""Issue 12 item 4: secret files must be private.
- An admin token, upstream password or TLS key file that group or others can read or write, or that
  another user owns, is refused at start: the message names the file, its mode and the fix.
- The same files at mode 0600 start the relay (the control case).
- What the relay creates on first start: data/ 0700, data/admin.token 0600, and a symlink planted at
  the token's path is replaced, not written through."""
import os
import subprocess
import sys
import tempfile

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.secret_file_modes")
OTHER_UID = 4242  # the test runs as root (docker image): it can chown to a user that is not it


def make_tls(dir):
    key, cert = os.path.join(dir, "tls.key"), os.path.join(dir, "tls.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=relay.test"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)
    return key, cert


def relay_toml(token, password, tls_key, tls_cert):
    # The directory upstream does not use the password; upstream.password_file is read and checked anyway.
    return f"""
[relay]
listen = ["127.0.0.1:{{smtp_port}}"]
tls_cert = "{tls_cert}"
tls_key = "{tls_key}"
[upstream]
type = "directory"
directory = "{{dir}}/outbox"
username = "relay"
password_file = "{password}"
[keystore]
path = "{{dir}}/keys"
demo_domain = ""
watch = false
[admin]
listen = "127.0.0.1:{{admin_port}}"
token_file = "{token}"
"""


def start_and_wait(toml):
    """Starts the relay; returns (exit code or None if it started, stderr text, relay)."""
    relay = harness.Relay(BINARY, toml)
    try:
        relay.start()
        return None, relay.log(), relay
    except AssertionError:
        code = relay.proc.wait(timeout=30)
        return code, relay.log(), relay


def main():
    dir = tempfile.mkdtemp(prefix="dkr-secrets-")
    token = os.path.join(dir, "admin.token")
    password = os.path.join(dir, "upstream.password")
    with open(token, "w") as f:
        f.write("0123456789abcdef0123456789abcdef\n")
    with open(password, "w") as f:
        f.write("upstream-secret\n")
    tls_key, tls_cert = make_tls(dir)
    files = {"admin.token_file": token, "upstream.password_file": password, "relay.tls_key": tls_key}
    for path in files.values():
        os.chmod(path, 0o600)
    toml = relay_toml(token, password, tls_key, tls_cert)

    code, log, relay = start_and_wait(toml)
    results.check(code is None, f"all secret files 0600: the relay starts ({log[-300:]!r})")
    relay.cleanup()

    for key, path in files.items():
        for mode, what in ((0o644, "world-readable"), (0o640, "group-readable"), (0o620, "group-writable"),
                           (0o602, "world-writable")):
            os.chmod(path, mode)
            code, log, relay = start_and_wait(toml)
            relay.cleanup()
            ok = (code is not None and code != 0 and path in log and f"{mode:04o}" in log and f"chmod 600 {path}" in log)
            results.check(ok, f"{key} {what} ({mode:04o}) refused naming file, mode and chmod: exit {code}, "
                              f"log {log[-400:]!r}")
        os.chmod(path, 0o600)
        os.chown(path, OTHER_UID, -1)
        code, log, relay = start_and_wait(toml)
        relay.cleanup()
        ok = code is not None and code != 0 and path in log and str(OTHER_UID) in log and "chown" in log
        results.check(ok, f"{key} owned by uid {OTHER_UID} refused: exit {code}, log {log[-400:]!r}")
        os.chown(path, os.geteuid(), -1)

    # First start with defaults in an empty directory: what the relay creates is private.
    workdir = tempfile.mkdtemp(prefix="dkr-firststart-")
    outside = os.path.join(tempfile.mkdtemp(prefix="dkr-outside-"), "stolen-token")
    relay = harness.Relay(BINARY, '[relay]\nlisten = ["127.0.0.1:{smtp_port}"]\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
                          '[keystore]\ndemo_domain = ""\n', workdir=workdir)
    old_umask = os.umask(0o022)
    try:
        relay.start(["serve", "--config", relay.config])
        data = os.path.join(workdir, "data")
        mode = os.stat(data).st_mode & 0o777
        results.check(mode == 0o700, f"data/ created 0700, is {mode:04o}")
        mode = os.stat(os.path.join(data, "admin.token")).st_mode & 0o777
        results.check(mode == 0o600, f"data/admin.token created 0600, is {mode:04o}")
    finally:
        os.umask(old_umask)
        relay.cleanup()

    # A dangling symlink at the token's path: the relay's new token replaces the link, and nothing
    # is written where it pointed.
    workdir = tempfile.mkdtemp(prefix="dkr-symlink-")
    os.makedirs(os.path.join(workdir, "data"), mode=0o700)
    os.symlink(outside, os.path.join(workdir, "data", "admin.token"))
    relay = harness.Relay(BINARY, '[relay]\nlisten = ["127.0.0.1:{smtp_port}"]\n[admin]\nlisten = "127.0.0.1:{admin_port}"\n'
                          '[keystore]\ndemo_domain = ""\n', workdir=workdir)
    try:
        relay.start(["serve", "--config", relay.config])
        results.check(not os.path.exists(outside), "no token written through a symlink planted at its path")
    finally:
        relay.cleanup()
    results.finish()


main()
