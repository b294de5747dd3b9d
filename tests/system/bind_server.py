#!/usr/bin/python3
"""A throw-away BIND 9 server for tests: named on 127.0.0.1 at a free port, serving only local zones.

It serves a local root zone (so that recursion, which is allowed for loopback, never asks a server
outside the machine) and the zones the test names. Recursion is what makes BIND follow an owner's
CNAME in one zone to the TXT record behind it in another zone it also serves: without it BIND
answers the CNAME alone. Dynamic zones accept RFC 2136 updates signed with the test's TSIG key
(hmac-sha256, written by tsig-keygen in BIND's key-file format, mode 0600); `wrong_key_file` has the
same key name with another secret, for BADSIG tests.

Raises (the test fails) when named cannot start: a test that needs BIND never silently skips.

As a program it wraps another command, for ctest; the server is described in the environment:
    bind_server.py [--zone NAME[:dynamic]]... -- COMMAND ARGS...
    DKR_TEST_DNS_SERVER=127.0.0.1:PORT  DKR_TEST_TSIG_KEY_FILE=...  DKR_TEST_TSIG_WRONG_KEY_FILE=...
    DKR_TEST_DNS_ZONES=zone1,zone2  DKR_TEST_BIND_CONTROL=/path/to/control.sock

The wrapped command drives the server through DKR_TEST_BIND_CONTROL, a Unix socket taking one
request per connection (the request, then end of input; the answer is "ok" or "error" on the first
line, then text):
    stop | start | checkzone ZONE | records ZONE | nsupdate ZONE\n<nsupdate lines>
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dns.message
import dns.query
import dns.rdatatype
import dns.resolver
import dns.zone

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from port_reservation import free_port as reserved_port  # noqa: E402

NAMED = "/usr/sbin/named"
TSIG_KEYGEN = "/usr/sbin/tsig-keygen"
NSUPDATE = "/usr/bin/nsupdate"
CHECKZONE = "/usr/bin/named-checkzone"
TSIG_KEY_NAME = "dkr-test-key"


def free_port():
    # named needs the port free for both UDP and TCP.
    return reserved_port(udp=True)


def _soa_ns(origin):
    return ("$TTL 60\n@ IN SOA ns.root. hostmaster.root. 1 3600 600 86400 60\n"
            "@ IN NS ns.root.\n") if origin != "." else (
        "$TTL 60\n. IN SOA ns.root. hostmaster.root. 1 3600 600 86400 60\n"
        ". IN NS ns.root.\nns.root. IN A 127.0.0.1\n")


class BindServer:
    """zones: {"customer.example": "optional zone-file lines", ...}; `dynamic`: the zone names that take
    TSIG-signed updates (the others are static)."""

    def __init__(self, zones, dynamic=(), tsig_algorithm="hmac-sha256"):
        for tool in (NAMED, TSIG_KEYGEN, NSUPDATE, CHECKZONE):
            if not os.path.exists(tool):
                raise RuntimeError("%s is missing; run docker/install-deps.sh (bind9, bind9-utils, "
                                   "bind9-dnsutils)" % tool)
        self.zones = {name.rstrip(".").lower(): text or "" for name, text in zones.items()}
        self.dynamic = {name.rstrip(".").lower() for name in dynamic}
        unknown = self.dynamic - set(self.zones)
        if unknown:
            raise ValueError("dynamic zones not in zones: %s" % sorted(unknown))
        self.dir = tempfile.mkdtemp(prefix="dkim-relay-bind-")
        os.chmod(self.dir, 0o755)
        self.port = None
        self.proc = None
        self.log = os.path.join(self.dir, "named.log")
        self.tsig_key_file = os.path.join(self.dir, "tsig.key")
        self.wrong_key_file = os.path.join(self.dir, "tsig-wrong.key")
        try:
            self._write_key(self.tsig_key_file, tsig_algorithm)
            self._write_key(self.wrong_key_file, tsig_algorithm)
            self.tsig_algorithm = tsig_algorithm
            self.tsig_secret = self._secret_of(self.tsig_key_file)
            self._write_zones()
            self.start()
        except BaseException:
            self.close()
            raise

    @property
    def address(self):
        return "127.0.0.1:%d" % self.port

    def _write_key(self, path, algorithm):
        result = subprocess.run([TSIG_KEYGEN, "-a", algorithm, TSIG_KEY_NAME], capture_output=True, text=True)
        if result.returncode != 0:
            raise RuntimeError("tsig-keygen failed: %s" % result.stderr)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(result.stdout)

    @staticmethod
    def _secret_of(path):
        match = re.search(r'secret\s+"([^"]+)"', open(path).read())
        if not match:
            raise RuntimeError("no secret in %s" % path)
        return match.group(1)

    def _zone_file(self, name):
        return os.path.join(self.dir, ("root" if name == "." else name) + ".zone")

    def _write_zones(self):
        with open(self._zone_file("."), "w") as f:
            f.write(_soa_ns("."))
        for name, text in self.zones.items():
            with open(self._zone_file(name), "w") as f:
                f.write("$ORIGIN %s.\n" % name + _soa_ns(name) + text + ("\n" if text else ""))

    def _config(self):
        lines = [
            'include "%s";' % self.tsig_key_file,
            "options {",
            '  directory "%s";' % self.dir,
            '  pid-file "%s/named.pid";' % self.dir,
            '  session-keyfile "%s/session.key";' % self.dir,
            '  managed-keys-directory "%s";' % self.dir,
            "  listen-on port %d { 127.0.0.1; };" % self.port,
            "  listen-on-v6 { none; };",
            "  recursion yes;",
            "  allow-recursion { 127.0.0.1; };",
            "  allow-query { 127.0.0.1; };",
            "  allow-transfer { 127.0.0.1; };",
            "  dnssec-validation no;",
            "  notify no;",
            "  minimal-responses no;",
            "  max-cache-ttl 1;",
            "  max-ncache-ttl 1;",
            "};",
            "controls { };",  # no rndc channel: it would take the fixed port 953 in every test server
            'zone "." { type primary; file "%s"; };' % self._zone_file("."),
        ]
        for name in self.zones:
            update = ' allow-update { key "%s"; };' % TSIG_KEY_NAME if name in self.dynamic else ""
            lines.append('zone "%s" { type primary; file "%s";%s };' % (name, self._zone_file(name), update))
        return "\n".join(lines) + "\n"

    def start(self):
        """Starts named (again, after stop(): same port, same zones and journals)."""
        if self.proc is not None and self.proc.poll() is None:
            return
        if self.port is None:
            self.port = free_port()
        conf = os.path.join(self.dir, "named.conf")
        with open(conf, "w") as f:
            f.write(self._config())
        log = open(self.log, "a")
        # -g: foreground, log to stderr; as root named keeps running as root (-u would need the
        # temp dir writable by the bind user), which is fine for a test server on loopback.
        self.proc = subprocess.Popen([NAMED, "-g", "-c", conf, "-4"], stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError("named exited with %d:\n%s" % (self.proc.returncode, self.log_text()))
            if self._answers():
                return
            time.sleep(0.05)
        raise RuntimeError("named did not answer within 30 s:\n%s" % self.log_text())

    def _answers(self):
        """True once every zone answers its SOA with authority (named serves queries before the last
        zone has loaded, and answers SERVFAIL for it meanwhile)."""
        try:
            for zone in ["."] + list(self.zones):
                query = dns.message.make_query(zone if zone == "." else zone + ".", "SOA")
                reply = dns.query.udp(query, "127.0.0.1", port=self.port, timeout=0.5)
                if reply.rcode() != 0 or not reply.answer:
                    return False
            return True
        except Exception:
            return False

    def stop(self):
        """Stops named (SIGTERM): for tests of a DNS server that is down."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def close(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def log_text(self):
        try:
            return open(self.log).read()[-4000:]
        except OSError:
            return ""

    # --- what a test does to and asks of the server ---

    def resolver(self):
        resolver = dns.resolver.Resolver(configure=False)
        resolver.nameservers = ["127.0.0.1"]
        resolver.port = self.port
        resolver.lifetime = 5
        return resolver

    def txt(self, name):
        """The TXT records at `name` (CNAMEs followed), each record's strings joined; [] when none."""
        try:
            answer = self.resolver().resolve(name, "TXT")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return []
        return [b"".join(r.strings).decode() for r in answer]

    def cname(self, name):
        try:
            answer = self.resolver().resolve(name, "CNAME")
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer):
            return None
        return str(answer[0].target)

    def nsupdate(self, zone, commands, key_file=None):
        """Runs nsupdate as a zone's owner would (signed with the test's TSIG key unless key_file says
        otherwise); commands are nsupdate lines such as "update add x.zone. 60 CNAME y.". Raises on
        failure, with nsupdate's output."""
        script = "server 127.0.0.1 %d\nzone %s.\n%s\nsend\n" % (self.port, zone.rstrip("."), "\n".join(commands))
        result = subprocess.run([NSUPDATE, "-k", key_file or self.tsig_key_file], input=script,
                                capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError("nsupdate failed (%d): %s%s" % (result.returncode, result.stdout, result.stderr))

    def zone_records(self, zone):
        """The zone as it stands now, by AXFR: {(relative name, type): [rdata text, ...]}."""
        xfr = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=self.port, timeout=10))
        records = {}
        for name, node in xfr.nodes.items():
            for rdataset in node.rdatasets:
                records.setdefault((str(name), dns.rdatatype.to_text(rdataset.rdtype)), []).extend(
                    rdata.to_text() for rdata in rdataset)
        return records

    def check_zone(self, zone):
        """named-checkzone on the zone as it stands now (AXFR written to a file): (ok, output)."""
        xfr = dns.zone.from_xfr(dns.query.xfr("127.0.0.1", zone, port=self.port, timeout=10))
        path = os.path.join(self.dir, "%s.axfr" % zone)
        xfr.to_file(path, relativize=False)
        result = subprocess.run([CHECKZONE, zone, path], capture_output=True, text=True)
        return result.returncode == 0, result.stdout + result.stderr


def _control(server, request):
    """One control request of the wrapper mode: (ok, text)."""
    first, _, rest = request.partition("\n")
    words = first.split()
    try:
        if words == ["stop"]:
            server.stop()
            return True, ""
        if words == ["start"]:
            server.start()
            return True, ""
        if len(words) == 2 and words[0] == "checkzone":
            return server.check_zone(words[1])
        if len(words) == 2 and words[0] == "records":
            records = server.zone_records(words[1])
            return True, "".join("%s %s %s\n" % (name, rtype, value)
                                 for (name, rtype), values in sorted(records.items()) for value in values)
        if len(words) == 2 and words[0] == "nsupdate":
            server.nsupdate(words[1], [line for line in rest.splitlines() if line.strip()])
            return True, ""
        return False, "unknown request %r" % first
    except Exception as error:  # the test reads it; the server keeps serving
        return False, str(error)


def _serve_control(server, path):
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(path)
    listener.listen(4)

    def loop():
        while True:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            with conn:
                chunks = []
                while True:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    chunks.append(chunk)
                ok, text = _control(server, b"".join(chunks).decode())
                conn.sendall((("ok\n" if ok else "error\n") + text).encode())

    threading.Thread(target=loop, daemon=True).start()
    return listener


def main(argv):
    if "--" not in argv:
        print(__doc__, file=sys.stderr)
        return 2
    split = argv.index("--")
    options, command = argv[:split], argv[split + 1:]
    zones, dynamic = {}, []
    i = 0
    while i < len(options):
        if options[i] == "--zone" and i + 1 < len(options):
            name, _, kind = options[i + 1].partition(":")
            zones[name] = ""
            if kind == "dynamic":
                dynamic.append(name)
            i += 2
        else:
            print("unknown option %s" % options[i], file=sys.stderr)
            return 2
    with BindServer(zones, dynamic=dynamic) as server:
        control = os.path.join(server.dir, "control.sock")
        listener = _serve_control(server, control)
        env = dict(os.environ, DKR_TEST_DNS_SERVER=server.address, DKR_TEST_TSIG_KEY_FILE=server.tsig_key_file,
                   DKR_TEST_TSIG_WRONG_KEY_FILE=server.wrong_key_file, DKR_TEST_DNS_ZONES=",".join(zones),
                   DKR_TEST_BIND_CONTROL=control)
        try:
            return subprocess.run(command, env=env).returncode
        finally:
            listener.close()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
