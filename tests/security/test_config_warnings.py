"""Issue 24 items 3, 5 and 8, as an operator meets them at start and with --check-config.

- Item 8: [upstream] starttls left unset is "required" (certificate and hostname verified) for a host
  that is not a loopback address, "opportunistic" for a loopback one and for the demo's directory
  upstream; an explicit "opportunistic" towards a remote host is kept and warned about, naming the key.
- Item 3: with [[auth.users]] bound to domains, a client in allowed_networks that skips AUTH and
  matches no [[relay.clients]] rule could still sign any domain: a warning names the keys to set,
  --check-config shows the effective scope per source, and an explicit [[relay.clients]] rule with
  domains = ["*"] silences the warning.
- Item 5: a password inline in a config file others can read is a warning naming the key (and never
  repeats the password); a DSN typo that libpq echoes does not put the database password in the
  critical log line (serve) nor in `db migrate`'s error."""
import os
import subprocess
import sys
import tempfile

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.config_warnings")
DIR = tempfile.mkdtemp(prefix="dkr-config-warnings-")


def config_file(name, text, mode=0o600):
    path = os.path.join(DIR, name)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, mode)
    return path


def check_config(text, mode=0o600):
    path = config_file("check.toml", text, mode)
    return subprocess.run([BINARY, "--check-config", "--config", path], capture_output=True, text=True, timeout=60)


def starttls_line(out):
    lines = [l for l in out.stdout.splitlines() if l.startswith("starttls")]
    return lines[0] if lines else None


def upstream_tls():
    remote = check_config('[upstream]\ntype = "smtp"\nhost = "mx.example.net"\n')
    results.check(remote.returncode == 0 and starttls_line(remote) == 'starttls = "required"',
                  f"remote upstream, starttls unset: required: {starttls_line(remote)!r} {remote.stderr!r}")
    results.check("upstream.starttls" not in remote.stderr, "no warning when the default applies")
    local = check_config('[upstream]\ntype = "smtp"\nhost = "127.0.0.1"\n')
    results.check(starttls_line(local) == 'starttls = "opportunistic"',
                  f"loopback upstream keeps opportunistic: {starttls_line(local)!r}")
    demo = check_config("")
    results.check(demo.returncode == 0 and starttls_line(demo) == 'starttls = "opportunistic"',
                  f"the embedded demo (directory upstream) is unaffected: {starttls_line(demo)!r}")
    explicit = check_config('[upstream]\ntype = "smtp"\nhost = "mx.example.net"\nstarttls = "opportunistic"\n')
    results.check(starttls_line(explicit) == 'starttls = "opportunistic"' and "upstream.starttls" in explicit.stderr
                  and "required" in explicit.stderr,
                  f"explicit opportunistic kept, warned naming the key: {explicit.stderr!r}")
    # serve logs the same warning at start and shows the policy in its banner
    relay = harness.Relay(BINARY, '[relay]\nlisten = ["127.0.0.1:{smtp_port}"]\n[upstream]\ntype = "smtp"\n'
                          'host = "mx.example.net"\nport = 2\nstarttls = "opportunistic"\n[keystore]\n'
                          'path = "{dir}/keys"\ndemo_domain = ""\nwatch = false\n[admin]\nenabled = false\n')
    try:
        relay.start()
        banner = "".join(relay.banner)
        results.check("starttls=opportunistic" in banner, f"banner shows the policy: {banner!r}")
        results.check("upstream.starttls" in relay.log(), f"serve warns at start: {relay.log()[-600:]!r}")
    except AssertionError as e:
        results.check(False, f"serve with an explicit opportunistic upstream: {e}")
    finally:
        relay.cleanup()


def signing_scope():
    users = support.auth_users_toml(BINARY, {"shop": "pw-1"}).replace('domains = ["*"]', 'domains = ["shop.example"]')
    relay = "[relay]\nallow_auth_without_tls = true\n"
    out = check_config(relay + users)
    text = out.stdout + out.stderr
    results.check("relay.allowed_networks" in out.stderr and "require_auth" in out.stderr
                  and 'domains = ["*"]' in out.stderr,
                  f"scoped users beside an unscoped network path: warning naming the keys: {out.stderr!r}")
    results.check("# Effective signing scope" in out.stdout and "shop (after AUTH): shop.example" in out.stdout
                  and "127.0.0.0/8, ::1/128 (without AUTH, matching no [[relay.clients]] rule): ANY domain" in out.stdout,
                  f"--check-config shows the effective scope per source: {text[-800:]!r}")
    explicit = check_config(relay + users + '\n[[relay.clients]]\nnetworks = ["127.0.0.0/8", "::1/128"]\ndomains = ["*"]\n')
    results.check(explicit.returncode == 0 and "relay.allowed_networks" not in explicit.stderr,
                  f"an explicit [[relay.clients]] rule with domains = [\"*\"] silences it: {explicit.stderr!r}")
    results.check("[[relay.clients]][0] 127.0.0.0/8, ::1/128 (without AUTH): *" in explicit.stdout,
                  f"and is shown as the scope of that source: {explicit.stdout[-600:]!r}")
    required = check_config("[relay]\nrequire_auth = true\nallow_auth_without_tls = true\n" + users)
    results.check("relay.allowed_networks" not in required.stderr and "nothing without AUTH" in required.stdout,
                  f"require_auth = true: no unscoped path: {required.stdout[-400:]!r} {required.stderr!r}")


def secrets_in_config_and_logs():
    secret = "Inline-Upstream-Pw-77"
    out = check_config('[upstream]\ntype = "smtp"\nhost = "127.0.0.1"\nusername = "relay"\npassword = "' + secret + '"\n',
                       mode=0o644)
    results.check("upstream.password" in out.stderr and "0644" in out.stderr and secret not in out.stderr + out.stdout,
                  f"inline password in a 0644 config: warning naming the key, never the password: {out.stderr!r}")
    quiet = check_config('[upstream]\ntype = "smtp"\nhost = "127.0.0.1"\nusername = "relay"\npassword = "' + secret +
                         '"\n', mode=0o600)
    results.check("upstream.password" not in quiet.stderr, f"the same file at 0600: no warning: {quiet.stderr!r}")

    db_secret = "Db-Secret-Pw-31"
    for dsn in ("postgresql:/relay:%s@127.0.0.1:1/keys" % db_secret,  # one slash: libpq echoes the whole string
                "postgresql://relay:%s%%zz@127.0.0.1:1/keys" % db_secret):  # bad percent-encoding: echoed token
        path = config_file("pg.toml", '[keystore]\ntype = "postgres"\ndsn = "%s"\nkek_file = "%s"\n'
                           % (dsn, os.path.join(DIR, "kek")))
        subprocess.run([BINARY, "keys", "new-kek", os.path.join(DIR, "kek")], capture_output=True)
        served = subprocess.run([BINARY, "serve", "--config", path], capture_output=True, text=True, timeout=60,
                                cwd=DIR)
        output = served.stdout + served.stderr
        results.check(served.returncode != 0 and "keystore" in output and db_secret not in output,
                      f"serve with a mistyped DSN: refused without the password: {output[-500:]!r}")
        migrated = subprocess.run([BINARY, "db", "migrate", "--config", path], capture_output=True, text=True,
                                  timeout=60)
        results.check(migrated.returncode != 0 and db_secret not in migrated.stdout + migrated.stderr,
                      f"db migrate with a mistyped DSN: no password: {migrated.stderr[-400:]!r}")


for part in (upstream_tls, signing_scope, secrets_in_config_and_logs):
    try:
        part()
    except (AssertionError, OSError, subprocess.SubprocessError) as e:
        results.check(False, f"{part.__name__}: {e!r}")
results.finish()
