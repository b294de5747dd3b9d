#!/usr/bin/python3
"""A throw-away PostgreSQL 15 server for tests.

initdb into a fresh temp directory as the `postgres` user (CI runs as root and PostgreSQL refuses to
run as root), listening on 127.0.0.1 at a free port and on a Unix socket in the temp directory;
torn down (and the directory removed) on close(). Raises (the test fails) when PostgreSQL cannot
start: a test of the PostgreSQL keystore never silently skips.

As a program it wraps another command, for ctest: the server's DSN is passed in
DKR_TEST_PG_DSN.
    pg_harness.py -- COMMAND ARGS...
"""
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

PG_BIN = "/usr/lib/postgresql/15/bin"


sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from port_reservation import free_port  # noqa: E402,F401  (fleet_harness and the benches import it from here)


class PostgresServer:
    def __init__(self):
        if not os.path.exists(os.path.join(PG_BIN, "postgres")):
            raise RuntimeError("PostgreSQL 15 is not installed (%s); run docker/install-deps.sh" % PG_BIN)
        self.dir = tempfile.mkdtemp(prefix="dkim-relay-pg-")
        self.data = os.path.join(self.dir, "data")
        self.log = os.path.join(self.dir, "postgres.log")
        self.port = free_port()
        self.user = None
        if os.geteuid() == 0:
            self.user = "postgres"
            entry = pwd.getpwnam(self.user)
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        os.chmod(self.dir, 0o700)
        try:
            self._run([os.path.join(PG_BIN, "initdb"), "-D", self.data, "-A", "trust", "-U", "postgres",
                       "-E", "UTF8", "--no-sync"])
            self.start()
        except BaseException:
            self.close()
            raise

    def _as_server_user(self, argv):
        return (["runuser", "-u", self.user, "--"] + argv) if self.user else argv

    def _run(self, argv):
        result = subprocess.run(self._as_server_user(argv), capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError("%s failed (%d):\n%s%s\n%s" % (argv[0], result.returncode, result.stdout,
                                                            result.stderr, self.server_log()))
        return result

    def start(self):
        options = "-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off " \
                  "-c max_connections=200" % (self.port, self.dir)
        self._run([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-l", self.log, "-w", "-t", "60",
                   "-o", options, "start"])

    def stop(self):
        subprocess.run(self._as_server_user([os.path.join(PG_BIN, "pg_ctl"), "-D", self.data, "-m", "immediate",
                                             "-w", "stop"]), capture_output=True)

    def postmaster_pid(self):
        try:
            with open(os.path.join(self.data, "postmaster.pid")) as f:
                return int(f.readline())
        except (OSError, ValueError):
            return None

    def kill9(self):
        """SIGKILL the postmaster and every process it started: an abrupt crash of the server."""
        pid = self.postmaster_pid()
        if pid is None:
            raise RuntimeError("no postmaster.pid")
        children = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open("/proc/%s/stat" % entry) as f:
                        fields = f.read().rsplit(")", 1)[1].split()
                    if int(fields[1]) == pid:
                        children.append(int(entry))
                except (OSError, IndexError, ValueError):
                    pass
        for victim in [pid] + children:
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and any(os.path.exists("/proc/%d" % p) for p in [pid] + children):
            time.sleep(0.02)

    def dsn(self, dbname="postgres"):
        return "host=127.0.0.1 port=%d user=postgres dbname=%s" % (self.port, dbname)

    def server_log(self):
        try:
            with open(self.log) as f:
                return f.read()[-4000:]
        except OSError:
            return ""

    def close(self):
        if os.path.exists(os.path.join(self.data, "postmaster.pid")):
            self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def main():
    argv = sys.argv[1:]
    if argv and argv[0] == "--":
        argv = argv[1:]
    if not argv:
        print(__doc__, file=sys.stderr)
        return 2
    server = PostgresServer()
    try:
        env = dict(os.environ, DKR_TEST_PG_DSN=server.dsn())
        return subprocess.run(argv, env=env).returncode
    finally:
        server.close()


if __name__ == "__main__":
    sys.exit(main())
