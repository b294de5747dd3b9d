"""The Debian package as built by docker/build-deb.sh: lintian reports no error, systemd-analyze
verify accepts the unit, the files and modes are the ones promised (/usr/bin/dkim-relay, the
conffile, /var/lib/dkim-relay at 0700, postinst making the system user), and the unit's hardening
matches the installed config: CapabilityBoundingSet names CAP_NET_BIND_SERVICE only when a listen
port is below 1024, LimitNOFILE covers 3 descriptors per relay.max_connections + 64 +
admin.max_connections (read from the packaged binary's --check-config of the packaged config).
  test_deb.py BUILD_DIR"""
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import harness  # noqa: E402

build_dir = sys.argv[1]
r = harness.Results("package.deb")
work = tempfile.mkdtemp(prefix="dkr-deb-")
try:
    deb = subprocess.run([os.path.join(ROOT, "docker", "build-deb.sh"), build_dir, work], check=True,
                         capture_output=True, text=True).stdout.strip().splitlines()[-1]
    r.check(re.fullmatch(r"dkim-relay_\d+\.\d+\.\d+_[a-z0-9]+\.deb", os.path.basename(deb)) is not None,
            f"package file name: {deb}")

    lint = subprocess.run(["lintian", "--tag-display-limit", "0", deb], capture_output=True, text=True)
    tags = [line for line in lint.stdout.splitlines() if re.match(r"^[EWIPX]: ", line)]
    for line in tags:
        print("lintian:", line)
    errors = [line for line in tags if line.startswith("E: ")]
    r.check(not errors and "E: " not in lint.stderr, f"lintian reports no error: {errors} {lint.stderr.strip()}")

    listing = subprocess.run(["dpkg-deb", "-c", deb], check=True, capture_output=True, text=True).stdout
    entries = {line.split()[-1].lstrip("."): line.split()[0] for line in listing.splitlines()}
    for path, mode in [("/usr/bin/dkim-relay", "-rwxr-xr-x"), ("/etc/dkim-relay/dkim-relay.toml", "-rw-r--r--"),
                       ("/lib/systemd/system/dkim-relay.service", "-rw-r--r--"),
                       ("/var/lib/dkim-relay/", "drwx------"),
                       ("/usr/share/doc/dkim-relay/copyright", "-rw-r--r--")]:
        r.check(entries.get(path) == mode, f"{path} is {mode}: {entries.get(path)}")

    control = os.path.join(work, "control")
    subprocess.run(["dpkg-deb", "-e", deb, control], check=True)
    with open(os.path.join(control, "conffiles")) as f:
        r.check(f.read().split() == ["/etc/dkim-relay/dkim-relay.toml"], "the config is the conffile")
    with open(os.path.join(control, "postinst")) as f:
        postinst = f.read()
    r.check(re.search(r"adduser --system\b.*\bdkim-relay$", postinst, re.M | re.S) is not None,
            "postinst adds the dkim-relay system user")
    fields = subprocess.run(["dpkg-deb", "-f", deb, "Depends"], check=True, capture_output=True, text=True).stdout
    for lib in ["adduser", "libssl3", "libsystemd0", "libpq5", "libc-ares2"]:
        r.check(re.search(rf"\b{lib}\b", fields) is not None, f"Depends names {lib}: {fields.strip()}")

    root = os.path.join(work, "root")
    subprocess.run(["dpkg-deb", "-x", deb, root], check=True)
    unit = os.path.join(root, "lib/systemd/system/dkim-relay.service")
    # --root: ExecStart's /usr/bin/dkim-relay is looked up in the unpacked package, not on this host;
    # the root gets what a Debian system has besides: the host's units (sysinit.target, ...) and kill.
    verify_root = os.path.join(work, "verify-root")
    shutil.copytree(root, verify_root, symlinks=True)
    shutil.copytree("/lib/systemd/system", os.path.join(verify_root, "lib/systemd/system"), symlinks=True,
                    dirs_exist_ok=True, ignore=lambda d, names: [n for n in names if n == "dkim-relay.service"])
    shutil.copy("/usr/bin/kill", os.path.join(verify_root, "usr/bin/kill"))
    os.symlink("usr/bin", os.path.join(verify_root, "bin"))
    verify = subprocess.run(["systemd-analyze", "verify", f"--root={verify_root}",
                             os.path.join(verify_root, "lib/systemd/system/dkim-relay.service")],
                            capture_output=True, text=True)
    r.check(verify.returncode == 0 and not verify.stderr.strip() and not verify.stdout.strip(),
            f"systemd-analyze verify: rc {verify.returncode} {verify.stdout}{verify.stderr}")

    settings = {}
    with open(unit) as f:
        for line in f:
            if "=" in line and not line.lstrip().startswith("#"):
                key, value = line.rstrip("\n").split("=", 1)
                settings.setdefault(key.strip(), []).append(value.strip())
    for key, value in [("Type", "notify"), ("User", "dkim-relay"), ("ProtectSystem", "strict"),
                       ("NoNewPrivileges", "yes"), ("PrivateTmp", "yes"), ("MemoryDenyWriteExecute", "yes"),
                       ("StateDirectory", "dkim-relay"), ("StateDirectoryMode", "0700")]:
        r.check(settings.get(key) == [value], f"{key}={value}: {settings.get(key)}")
    r.check("@system-service" in settings.get("SystemCallFilter", []), "SystemCallFilter=@system-service")
    r.check(settings.get("ExecReload") == ["/bin/kill -HUP $MAINPID"], f"reload is SIGHUP: {settings.get('ExecReload')}")
    exec_start = settings.get("ExecStart", [""])[0].split()
    r.check(exec_start[:2] == ["/usr/bin/dkim-relay", "serve"] and exec_start[-1] == "/etc/dkim-relay/dkim-relay.toml",
            f"ExecStart runs the installed config: {exec_start}")

    # The packaged binary reads the packaged config (its paths need not exist for --check-config).
    effective = subprocess.run([os.path.join(root, "usr/bin/dkim-relay"), "--check-config", "--config",
                                os.path.join(root, "etc/dkim-relay/dkim-relay.toml")],
                               capture_output=True, text=True)
    r.check(effective.returncode == 0, f"--check-config of the packaged config: {effective.stderr}")
    cfg = tomllib.loads(effective.stdout)
    ports = [int(address.rsplit(":", 1)[1]) for address in cfg["relay"]["listen"]]
    wanted_caps = ["CAP_NET_BIND_SERVICE"] if min(ports) < 1024 else [""]
    r.check(settings.get("CapabilityBoundingSet") == wanted_caps,
            f"CapabilityBoundingSet for ports {ports}: {settings.get('CapabilityBoundingSet')} != {wanted_caps}")
    needed = 3 * cfg["relay"]["max_connections"] + 64 + cfg["admin"]["max_connections"]
    nofile = int(settings.get("LimitNOFILE", ["0"])[0])
    r.check(nofile >= needed, f"LimitNOFILE={nofile} covers {needed} descriptors")
    r.check(cfg["keystore"]["path"].startswith("/var/lib/dkim-relay/") and
            cfg["upstream"]["directory"].startswith("/var/lib/dkim-relay/") and
            cfg["admin"]["token_file"].startswith("/var/lib/dkim-relay/"),
            "every path the relay writes is under /var/lib/dkim-relay")
finally:
    subprocess.run(["rm", "-rf", work])
r.finish()
