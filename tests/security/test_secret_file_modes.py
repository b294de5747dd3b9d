"""Issue 12 item 4 and issue 24 items 5, 6 and 10: secret files must be private.
- All seven kinds of secret file (admin.token_file, admin.tls_key, admin.tokens[].token_file,
  upstream.password_file, relay.tls_key, keystore.kek_file, keystore.dsn_file) are refused at start
  when group or others can read or write them, or another user owns them.
- A root-owned file that others can read is refused for a relay running as an unprivileged user
  (setpriv), and a root-owned 0640 file (Kubernetes fsGroup) is accepted: a rule the tests cannot
  exercise as root.
- The CLI commands that take a KEK (keys export/import bundle --kek, keys rewrap) refuse a 0644 KEK as
  serve does.
- A kek_file in the layout kubelet makes for a Secret (kek -> ..data/kek, ..data -> ..<timestamp>/)
  is accepted when its final target is private, and refused when the target is 0644.
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


POSTGRES_TOML = """
[relay]
listen = ["127.0.0.1:{{smtp_port}}"]
[upstream]
type = "directory"
directory = "{{dir}}/outbox"
[keystore]
type = "postgres"
dsn_file = "{dsn}"
kek_file = "{kek}"
[admin]
listen = "127.0.0.1:{{admin_port}}"
token_file = "{token}"
tls_cert = "{tls_cert}"
tls_key = "{tls_key}"
[[admin.tokens]]
name = "shop"
token_file = "{scoped}"
domains = ["shop.example"]
role = "read"
"""
UNPRIVILEGED = 4242


def make_kek(path):
    with open(path, "w") as f:
        f.write("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n")  # 32 bytes in base64
    os.chmod(path, 0o600)


def refused_naming(code, log, path, mode):
    return code is not None and code != 0 and path in log and f"{mode:04o}" in log


def postgres_kinds():
    """The four kinds not in the first config: admin.tls_key, admin.tokens[].token_file and, with the
    PostgreSQL keystore, kek_file and dsn_file. The secret-file check runs before the database is
    reached, so a DSN to a closed port is enough: the control case fails later, on the connection."""
    dir = tempfile.mkdtemp(prefix="dkr-secrets-pg-")
    paths = {name: os.path.join(dir, name) for name in ("admin.token", "scoped.token", "dsn", "kek")}
    for name in ("admin.token", "scoped.token"):
        with open(paths[name], "w") as f:
            f.write("0123456789abcdef0123456789abcdef-" + name + "\n")
    with open(paths["dsn"], "w") as f:
        f.write("host=127.0.0.1 port=1 user=nobody connect_timeout=1\n")
    make_kek(paths["kek"])
    tls_key, tls_cert = make_tls(dir)
    for path in paths.values():
        os.chmod(path, 0o600)
    toml = POSTGRES_TOML.format(dsn=paths["dsn"], kek=paths["kek"], token=paths["admin.token"],
                                scoped=paths["scoped.token"], tls_cert=tls_cert, tls_key=tls_key)
    code, log, relay = start_and_wait(toml)
    relay.cleanup()
    results.check(code not in (None, 0) and "unreachable" in log and "has mode" not in log,
                  f"all private: refused only later, at the database: exit {code}, {log[-300:]!r}")
    for key, path in (("admin.tls_key", tls_key), ("admin.tokens[0].token_file", paths["scoped.token"]),
                      ("keystore.kek_file", paths["kek"]), ("keystore.dsn_file", paths["dsn"])):
        for mode in (0o644, 0o640):
            os.chmod(path, mode)
            code, log, relay = start_and_wait(toml)
            relay.cleanup()
            results.check(refused_naming(code, log, path, mode) and key in log,
                          f"{key} at {mode:04o} refused naming key, file and mode: exit {code}, {log[-400:]!r}")
        os.chmod(path, 0o600)


def as_unprivileged(argv):
    return ["setpriv", f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups"] + argv


def root_owned_as_unprivileged():
    """A relay running as an unprivileged user: a root-owned token readable by others is refused,
    a root-owned 0640 one of its group (Kubernetes fsGroup) is accepted."""
    dir = tempfile.mkdtemp(prefix="dkr-secrets-unpriv-")
    os.chmod(dir, 0o755)
    token = os.path.join(dir, "admin.token")
    with open(token, "w") as f:
        f.write("0123456789abcdef0123456789abcdef\n")
    os.chown(token, 0, UNPRIVILEGED)
    toml = ('[relay]\nlisten = ["127.0.0.1:{smtp_port}"]\n[upstream]\ntype = "directory"\n'
            'directory = "{dir}/outbox"\n[keystore]\npath = "{dir}/keys"\ndemo_domain = ""\nwatch = false\n'
            '[admin]\nlisten = "127.0.0.1:{admin_port}"\ntoken_file = "' + token + '"\n')
    for mode, accepted in ((0o644, False), (0o604, False), (0o640, True)):
        os.chmod(token, mode)
        relay = harness.Relay("/usr/bin/setpriv", toml)
        os.chown(relay.dir, UNPRIVILEGED, UNPRIVILEGED)
        relay.binary = "/usr/bin/setpriv"
        try:
            relay.start(as_unprivileged([BINARY, "serve", "--config", relay.config])[1:])
            code, log = None, relay.log()
        except AssertionError:
            code, log = relay.proc.wait(timeout=30), relay.log()
        relay.cleanup()
        if accepted:
            results.check(code is None, f"unprivileged relay, root-owned token {mode:04o}: accepted ({log[-300:]!r})")
        else:
            results.check(refused_naming(code, log, token, mode) and "chmod 640" in log,
                          f"unprivileged relay, root-owned token {mode:04o}: refused with chmod 640: exit {code}, "
                          f"{log[-400:]!r}")


def cli_kek_modes():
    """keys export bundle / import bundle --kek and keys rewrap run serve's secret-file checks."""
    dir = tempfile.mkdtemp(prefix="dkr-secrets-cli-")
    keys = os.path.join(dir, "keys")
    subprocess.run([BINARY, "keys", "--keystore", keys, "add", "cli.example", "--algorithm", "ed25519-sha256"],
                   check=True, capture_output=True)
    kek = os.path.join(dir, "bundle.kek")
    subprocess.run([BINARY, "keys", "new-kek", kek], check=True, capture_output=True)
    os.chmod(kek, 0o644)
    bundle = os.path.join(dir, "keys.bundle.json")
    out = subprocess.run([BINARY, "keys", "--keystore", keys, "export", "bundle", bundle, "--kek", kek],
                         capture_output=True, text=True)
    results.check(out.returncode != 0 and kek in out.stderr and "0644" in out.stderr and not os.path.exists(bundle),
                  f"keys export bundle with a 0644 --kek refused, nothing written: {out.returncode} {out.stderr!r}")
    os.chmod(kek, 0o600)
    out = subprocess.run([BINARY, "keys", "--keystore", keys, "export", "bundle", bundle, "--kek", kek],
                         capture_output=True, text=True)
    results.check(out.returncode == 0 and os.path.exists(bundle), f"the same at 0600 works: {out.stderr!r}")
    os.chmod(kek, 0o644)
    out = subprocess.run([BINARY, "keys", "--keystore", os.path.join(dir, "other"), "import", "bundle", bundle,
                          "--kek", kek], capture_output=True, text=True)
    results.check(out.returncode != 0 and "0644" in out.stderr, f"keys import bundle with a 0644 --kek refused: "
                                                                f"{out.returncode} {out.stderr!r}")
    config = os.path.join(dir, "pg.toml")
    with open(config, "w") as f:
        f.write('[keystore]\ntype = "postgres"\ndsn = "host=127.0.0.1 port=1 connect_timeout=1"\nkek_file = "'
                + kek + '"\n')
    new_kek = os.path.join(dir, "new.kek")
    subprocess.run([BINARY, "keys", "new-kek", new_kek], check=True, capture_output=True)
    out = subprocess.run([BINARY, "keys", "rewrap", "--config", config, "--old-kek", kek, "--new-kek", new_kek],
                         capture_output=True, text=True)
    results.check(out.returncode != 0 and kek in out.stderr and "0644" in out.stderr,
                  f"keys rewrap with a 0644 --old-kek refused before the database: {out.returncode} {out.stderr!r}")


def kubelet_symlinked_kek():
    """kubelet mounts a Secret as <dir>/kek -> ..data/kek, ..data -> ..2026_12_06_12_00_00.123/. The
    relay follows the chain and checks the final file: 0600 (or root 0640) is accepted, 0644 refused.
    The PostgreSQL keystore is unreachable here, so acceptance shows as getting past the KEK to the
    database connection."""
    dir = tempfile.mkdtemp(prefix="dkr-secrets-kube-")
    secret = os.path.join(dir, "secret")
    stamp = os.path.join(secret, "..2026_12_06_12_00_00.123456789")
    os.makedirs(stamp)
    make_kek(os.path.join(stamp, "kek"))
    os.symlink(os.path.basename(stamp), os.path.join(secret, "..data"))
    os.symlink("..data/kek", os.path.join(secret, "kek"))
    kek = os.path.join(secret, "kek")
    toml = ('[relay]\nlisten = ["127.0.0.1:{smtp_port}"]\n[upstream]\ntype = "directory"\n'
            'directory = "{dir}/outbox"\n[keystore]\ntype = "postgres"\n'
            'dsn = "host=127.0.0.1 port=1 connect_timeout=1"\nkek_file = "' + kek + '"\n[admin]\nenabled = false\n')
    code, log, relay = start_and_wait(toml)
    relay.cleanup()
    results.check(code not in (None, 0) and "unreachable" in log and "kek_file" not in log,
                  f"kubelet ..data layout, target 0600: the KEK is read, the relay goes on to the database: "
                  f"exit {code}, {log[-400:]!r}")
    os.chmod(os.path.join(stamp, "kek"), 0o644)
    code, log, relay = start_and_wait(toml)
    relay.cleanup()
    results.check(refused_naming(code, log, kek, 0o644),
                  f"kubelet ..data layout, target 0644: refused naming the file and its mode: exit {code}, "
                  f"{log[-400:]!r}")
    # keys commands with --kek take the same layout
    out = subprocess.run([BINARY, "keys", "--keystore", os.path.join(dir, "keys"), "export", "bundle",
                          os.path.join(dir, "b.json"), "--kek", kek], capture_output=True, text=True)
    results.check(out.returncode != 0 and "0644" in out.stderr, f"--kek in the layout at 0644 refused: {out.stderr!r}")
    os.chmod(os.path.join(stamp, "kek"), 0o600)
    out = subprocess.run([BINARY, "keys", "--keystore", os.path.join(dir, "keys"), "export", "bundle",
                          os.path.join(dir, "b.json"), "--kek", kek], capture_output=True, text=True)
    results.check(out.returncode == 0, f"--kek in the layout at 0600 accepted: {out.returncode} {out.stderr!r}")


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
    for part in (postgres_kinds, root_owned_as_unprivileged, cli_kek_modes, kubelet_symlinked_kek):
        try:
            part()
        except (AssertionError, OSError, subprocess.SubprocessError) as e:
            results.check(False, f"{part.__name__}: {e!r}")
    results.finish()


main()
