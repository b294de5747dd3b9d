"""Issue 12 item 3: `serve` runs with RLIMIT_CORE 0 and not dumpable, so a crash writes no core file
(which would hold the private keys, the admin token and the upstream password); with
--allow-core-dumps the limit is left as inherited, a crash dumps core, and the banner says so.

The test process raises its own RLIMIT_CORE to unlimited (`ulimit -c unlimited`) so that the relay
inherits it, kills the relay with SIGSEGV and reads the wait status itself: WCOREDUMP tells whether
the kernel dumped core, whatever /proc/sys/kernel/core_pattern does with it. When the pattern is a
file (not a pipe to a handler), the file is looked for as well."""
import glob
import os
import resource
import signal
import sys
import tempfile
import time

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.core_dumps")


def core_pattern():
    with open("/proc/sys/kernel/core_pattern") as f:
        return f.read().strip()


def core_files(workdir, since):
    """Core files written since `since`, when core_pattern names a file (relative: in the process's
    cwd); None when it pipes to a handler and no file can be checked."""
    pattern = core_pattern()
    if pattern.startswith("|"):
        return None
    prefix = pattern.split("%", 1)[0]
    base = prefix if os.path.isabs(prefix) else os.path.join(workdir, prefix)
    return [p for p in glob.glob(glob.escape(base) + "*") if os.path.getmtime(p) >= since]


def prlimit_core(pid):
    out = os.popen(f"prlimit --pid {pid} --core --raw --noheadings --output SOFT,HARD").read().split()
    return out  # [soft, hard]; "unlimited" or a number


def crash(relay):
    """SIGSEGV to the relay; returns its raw wait status (reaped here, not by Popen)."""
    relay.signal(signal.SIGSEGV)
    _, status = os.waitpid(relay.proc.pid, 0)
    relay.proc.returncode = -signal.SIGSEGV
    return status


def run(allow):
    workdir = tempfile.mkdtemp(prefix="dkr-core-")
    relay = harness.Relay(BINARY, support.directory_config(), env=support.with_asan_core_dumps(dict(os.environ)),
                          workdir=workdir)
    args = ["serve", "--config", relay.config] + (["--allow-core-dumps"] if allow else [])
    label = "with --allow-core-dumps" if allow else "default"
    started = time.time() - 1
    try:
        relay.start(args)
        banner = "".join(relay.banner)
        limit = prlimit_core(relay.proc.pid)
        if allow:
            results.check(limit == ["unlimited", "unlimited"], f"{label}: RLIMIT_CORE inherited, got {limit}")
            results.check("core dumps allowed" in banner, f"{label}: the banner says so: {banner!r}")
        else:
            results.check(limit == ["0", "0"], f"{label}: prlimit shows RLIMIT_CORE 0 0, got {limit}")
            results.check("core dumps allowed" not in banner, f"{label}: no core-dump warning in the banner")
        status = crash(relay)
        results.check(os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGSEGV,
                      f"{label}: relay died of SIGSEGV (status {status:#x})")
        dumped = os.WCOREDUMP(status)
        results.check(dumped == allow, f"{label}: kernel dumped core: {dumped}, expected {allow}")
        files = core_files(workdir, started)
        if files is None:
            print(f"{label}: core_pattern pipes to a handler ({core_pattern()!r}); file check skipped, "
                  "WCOREDUMP checked", flush=True)
        elif allow:
            results.check(len(files) >= 1, f"{label}: a core file was written in {workdir}")
        else:
            results.check(files == [], f"{label}: no core file, found {files}")
        for path in files or []:
            os.unlink(path)  # can be large
    finally:
        relay.cleanup()


UNPRIVILEGED = 4242


def dumpable_flag(allow):
    """Issue 24 item 10: PR_SET_DUMPABLE itself, not only RLIMIT_CORE. The kernel makes the /proc/PID
    files of a process that is not dumpable owned by root; so a relay run as an unprivileged user
    (setpriv) shows its own uid on /proc/PID/status only when it is dumpable. Checked as a user,
    because for a relay running as root both owners are root."""
    label = "dumpable with --allow-core-dumps" if allow else "not dumpable by default"
    relay = harness.Relay("/usr/bin/setpriv", support.directory_config(),
                          env=support.with_asan_core_dumps(dict(os.environ)))
    os.chown(relay.dir, UNPRIVILEGED, UNPRIVILEGED)
    args = [f"--reuid={UNPRIVILEGED}", f"--regid={UNPRIVILEGED}", "--clear-groups", BINARY, "serve", "--config",
            relay.config] + (["--allow-core-dumps"] if allow else [])
    try:
        relay.start(args)
        owner = os.stat(f"/proc/{relay.proc.pid}/status").st_uid
        expected = UNPRIVILEGED if allow else 0
        results.check(owner == expected, f"{label}: /proc/PID/status owned by uid {owner}, expected {expected}")
    finally:
        relay.cleanup()


def main():
    # `ulimit -c unlimited` for this process and so for the relay it starts.
    resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
    with open("/proc/sys/fs/suid_dumpable") as f:
        print("core_pattern:", repr(core_pattern()), "suid_dumpable:", f.read().strip(), flush=True)
    run(allow=False)
    run(allow=True)
    dumpable_flag(allow=False)
    dumpable_flag(allow=True)
    results.finish()


main()
