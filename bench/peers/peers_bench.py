"""Peers bench (not a test, never run by ctest): dkim-relay beside Postfix + OpenDKIM and Haraka + dkim,
each signing with the same RSA-2048 key, relaxed/relaxed, on loopback, under the same load.

    /usr/bin/python3 bench/peers/peers_bench.py BUILD/app/dkim-relay [--messages 2000] [--concurrency 20]
                     [--rounds 3] [--sizes 2000,50000] [--stacks dkim-relay,postfix,haraka]
                     [--haraka-dir /var/cache/dkim-relay-bench/haraka] [--workdir DIR] [--keep]
                     [--tls ecdsa|rsa] [--tls-resume] [--floor BUILD/bench/tls_floor_server]

bench/peers/install.sh installs Postfix, OpenDKIM, Node.js and Haraka 3 (npm, outside the repository).

Every stack lives in its own temp directory and its own cgroup (cgroup v2, or v1 cpuacct), is started
once and torn down at the end; nothing system-wide is changed. The load is Postfix smtp-source (-d:
connections reused) sending one pre-formatted message (From: in bench.example) of about 2 KB or
50 KB; each stack forwards to its own Postfix smtp-sink (-c: it prints how many messages it received).
- msgs/s: from smtp-source's start until the stack's sink has received every message (Postfix stores
  and forwards, so smtp-source finishing is not the end).
- CPU ms/msg: the stack's cgroup CPU time (every process it ever had: for Postfix master, smtpd,
  cleanup, qmgr, trivial-rewrite, smtp, postlogd, ... and opendkim; for Haraka bin/haraka and the
  haraka.js it starts; for dkim-relay its process) over the same window, divided by the message count.
  Beside it, one long-lived process's own /proc utime+stime: a cross-check for dkim-relay and Haraka,
  OpenDKIM's share for Postfix.
With --tls every stack serves STARTTLS with the same certificate (ECDSA P-256 or RSA-2048, made by
openssl for the run) and TLS 1.2 to 1.3, and the load is instead a client of our own (one process per
session, Python's ssl) that opens a new connection per message: EHLO, STARTTLS, EHLO, MAIL, RCPT,
DATA, QUIT; with --tls-resume each session offers the TLS 1.3 ticket of its previous connection.
Handshakes/s is then the client's connections over the client's own time.
--floor adds the stack "floor" (bench/relay/tls_floor_server.cpp): not a relay but the least any
relay must do per message, measured the same way, so the run says how far below Postfix the floor
itself is. Its signature covers a stand-in header block and is not verified.
Rounds interleave the stacks (A B C, A B C, ...). Before timing, a few messages go through each stack
to an aiosmtpd sink and every one must carry a DKIM-Signature that dkimpy and Mail::DKIM verify with
the bench's own DNS data (TXT record derived by openssl); otherwise the bench stops. Run as root (cgroups, Postfix).
"""
import argparse
import multiprocessing
import os
import re
import shutil
import signal
import socket
import ssl
import statistics
import subprocess
import sys
import tempfile
import threading
import time

import dkim
import dkim.util

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "faults"))
import fault_support as fs  # noqa: E402  (imports tests/system/harness.py)

harness = fs.harness
DOMAIN = "bench.example"
SENDER = f"app@{DOMAIN}"
RECIPIENT = "user@example.org"
HARAKA_CACHE = "/var/cache/dkim-relay-bench/haraka"


def out(line=""):
    print(line, flush=True)


def load_average():
    return " ".join(open("/proc/loadavg").read().split()[:3])


def wait_port(port, proc=None, what="port", timeout=30.0):
    harness.wait_for(lambda: (proc is not None and proc.poll() is not None) or fs.port_accepts(port), timeout, what)
    if proc is not None and proc.poll() is not None:
        raise SystemExit(f"{what} exited with {proc.returncode} before listening")


class Cgroup:
    """A cgroup of our own: every process started into it (and every child, short-lived or not) is
    counted in its CPU usage. cgroup v2 (cpu.stat usage_usec) where available, else v1 cpuacct."""

    def __init__(self, name):
        v2_root = next((p for p in ("/sys/fs/cgroup", "/sys/fs/cgroup/unified")
                        if os.path.exists(os.path.join(p, "cgroup.procs"))
                        and os.path.exists(os.path.join(p, "cgroup.controllers"))), None)
        base = f"dkim-relay-peers-{name}-{os.getpid()}"
        if v2_root:
            self.path = os.path.join(v2_root, base)
            self.kind = "v2"
        elif os.path.exists("/sys/fs/cgroup/cpuacct/cpuacct.usage"):
            self.path = os.path.join("/sys/fs/cgroup/cpuacct", base)
            self.kind = "v1"
        else:
            raise SystemExit("no writable cgroup hierarchy for CPU accounting (need cgroup v2 or v1 cpuacct)")
        try:
            os.mkdir(self.path)
        except OSError as e:
            raise SystemExit(f"cannot create cgroup {self.path}: {e} (run as root)")

    def enter(self):
        """For preexec_fn: moves the child (before exec) into this cgroup."""
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(os.getpid()))

    def add(self, pid):
        with open(os.path.join(self.path, "cgroup.procs"), "w") as f:
            f.write(str(pid))

    def cpu_seconds(self):
        if self.kind == "v2":
            for line in open(os.path.join(self.path, "cpu.stat")):
                if line.startswith("usage_usec "):
                    return int(line.split()[1]) / 1e6
            raise RuntimeError("cpu.stat without usage_usec")
        return int(open(os.path.join(self.path, "cpuacct.usage")).read()) / 1e9

    def pids(self):
        return [int(p) for p in open(os.path.join(self.path, "cgroup.procs")).read().split()]

    def kill_all(self):
        """Ends whatever is left of the processes started into it, by pid."""
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for pid in self.pids():
                try:
                    os.kill(pid, sig)
                except ProcessLookupError:
                    pass
            try:
                harness.wait_for(lambda: not self.pids(), 10, "cgroup processes to exit")
                return
            except AssertionError:
                continue

    def remove(self):
        """rmdir is refused while an exited child of ours is not yet reaped: retry briefly."""
        deadline = time.monotonic() + 10
        while True:
            try:
                os.rmdir(self.path)
                return
            except OSError as e:
                if time.monotonic() > deadline:
                    out(f"warning: cannot remove cgroup {self.path}: {e}")
                    return
                time.sleep(0.1)


class CountingSink:
    """Postfix smtp-sink -c: accepts and discards; its running counter (mesg=N) is read from stdout."""

    def __init__(self, port):
        self.port = port
        self.count = 0
        self.cond = threading.Condition()
        cmd = ["smtp-sink", "-c"] + (["-u", "postfix"] if os.geteuid() == 0 else []) + [f"127.0.0.1:{port}", "1024"]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL)
        threading.Thread(target=self._read, daemon=True).start()
        wait_port(port, self.proc, "smtp-sink")

    def _read(self):
        buf = b""
        while True:
            chunk = self.proc.stdout.read1(4096)
            if not chunk:
                return
            buf = (buf + chunk)[-256:]
            found = re.findall(rb"mesg=(\d+)", buf)
            if found:
                with self.cond:
                    self.count = int(found[-1])
                    self.cond.notify_all()

    def wait_for(self, n, timeout):
        with self.cond:
            if not self.cond.wait_for(lambda: self.count >= n, timeout):
                raise RuntimeError(f"sink on port {self.port} has {self.count} messages, expected {n}")

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)


class Stack:
    """A signing stack: start() with the sink port, port to send to, cgroup with its processes."""
    name = ""

    def __init__(self, key, workdir, tls=None):
        self.key = key
        self.tls = tls  # (certificate, key) PEM files every stack serves with --tls, else None
        self.dir = os.path.join(workdir, self.name)
        os.makedirs(self.dir)
        self.cgroup = Cgroup(self.name)
        self.port = harness.free_port()
        self.procs = []

    def spawn(self, cmd, log, **kw):
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(os.path.join(self.dir, log), "ab"),
                                stderr=subprocess.STDOUT, preexec_fn=self.cgroup.enter, cwd=self.dir, **kw)
        self.procs.append(proc)
        return proc

    def main_process(self):
        """(label, pid) of the stack's one long-lived process whose own /proc utime+stime is printed
        beside the cgroup's figure: for a one-process stack it cross-checks the cgroup, for Postfix
        it says how much of the total is OpenDKIM's."""
        return None, None

    def stop(self):
        self.cgroup.kill_all()
        for proc in self.procs:
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self.cgroup.remove()


class DkimRelay(Stack):
    name = "dkim-relay"

    def __init__(self, key, workdir, binary, tls=None):
        super().__init__(key, workdir, tls)
        self.binary = binary

    def start(self, sink_port):
        config = fs.relay_config(
            sink_port,
            relay_extra=("max_connections = 5000\nmax_connections_per_ip = 5000\n"
                         "max_messages_per_connection = 1000000"
                         + (f'\ntls_cert = "{self.tls[0]}"\ntls_key = "{self.tls[1]}"' if self.tls else "")),
            upstream_command_timeout="60s")
        self.relay = harness.Relay(self.binary, config, workdir=self.dir)
        self.relay.smtp_port = self.port  # harness.Relay picked its own; use ours throughout
        with open(self.relay.config, "w") as f:
            f.write(config.replace("{smtp_port}", str(self.port)).replace("{dir}", self.dir))
        # The directory keystore `dkim-relay keys add` made (the same key the other stacks sign with).
        shutil.copytree(os.path.dirname(os.path.dirname(self.key.pem)), os.path.join(self.dir, "keys"),
                        ignore=shutil.ignore_patterns(".lock"))
        self.relay.start()
        self.cgroup.add(self.relay.proc.pid)
        wait_port(self.port, self.relay.proc, "dkim-relay")

    def main_process(self):
        return "dkim-relay", self.relay.proc.pid

    def describe(self):
        return "dkim-relay (Release), directory keystore, relaxed/relaxed, upstream smtp" + (
            ", STARTTLS (TLS 1.2-1.3, session tickets)" if self.tls else "")

    def stop(self):
        if getattr(self, "relay", None):
            self.relay.stop()
        super().stop()


class Floor(Stack):
    """bench/relay/tls_floor_server.cpp: not a relay, the least any relay must do per message (one
    reply per command, STARTTLS with OpenSSL's defaults, SHA-256 of the body, one RSA-2048 signature
    with the bench's key, forwarding over one upstream connection per thread). Its signature covers a
    stand-in header block, so it is not verified."""
    name = "floor"

    def __init__(self, key, workdir, binary, tls=None):
        super().__init__(key, workdir, tls)
        self.binary = binary

    def start(self, sink_port):
        command = [self.binary, str(self.port), str(sink_port), self.key.pem]
        if self.tls:
            command += ["--cert", self.tls[0], "--key", self.tls[1]]
        self.proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                     stderr=open(os.path.join(self.dir, "floor.log"), "ab"),
                                     preexec_fn=self.cgroup.enter, text=True)
        self.procs.append(self.proc)
        if self.proc.stdout.readline().strip() != "ready":
            raise SystemExit("tls_floor_server did not start: see " + os.path.join(self.dir, "floor.log"))

    def main_process(self):
        return "floor", self.proc.pid

    def describe(self):
        return "tls_floor_server (not a relay: the floor of what one must do)" + (
            ", STARTTLS (OpenSSL defaults, one ticket)" if self.tls else "")


class PostfixOpenDkim(Stack):
    name = "postfix+opendkim"

    def start(self, sink_port):
        etc, spool, data = (os.path.join(self.dir, d) for d in ("etc", "spool", "data"))
        self.etc = etc
        for d in (etc, spool, data):
            os.makedirs(d)
        shutil.chown(data, "postfix")
        milter_port = harness.free_port()
        key = os.path.join(self.dir, "opendkim.key")
        shutil.copy(self.key.pem, key)
        os.chmod(key, 0o600)
        with open(os.path.join(self.dir, "opendkim.conf"), "w") as f:
            f.write(f"""Syslog no
Mode s
Canonicalization relaxed/relaxed
SignatureAlgorithm rsa-sha256
Domain {DOMAIN}
Selector {self.key.selector}
KeyFile {key}
Socket inet:{milter_port}@127.0.0.1
PidFile {self.dir}/opendkim.pid
InternalHosts 127.0.0.1
Background no
""")
        # With --tls: the same certificate and TLS versions as the relay (TLS 1.2 to 1.3); TLS 1.3
        # session tickets are Postfix's default (tlsmgr's keys, smtpd_tls_session_cache_timeout).
        tls = (f"""smtpd_tls_security_level = may
smtpd_tls_cert_file = {self.tls[0]}
smtpd_tls_key_file = {self.tls[1]}
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_mandatory_protocols = >=TLSv1.2
smtpd_tls_loglevel = 0
""" if self.tls else "smtpd_tls_security_level = none\n")
        with open(os.path.join(etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
config_directory = {etc}
queue_directory = {spool}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = postfix.peers-bench.test
mydomain = peers-bench.test
myorigin = $myhostname
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost = [127.0.0.1]:{sink_port}
maillog_file = {self.dir}/maillog
smtpd_milters = inet:127.0.0.1:{milter_port}
non_smtpd_milters =
milter_default_action = tempfail
{tls}smtp_tls_security_level = none
biff = no
append_dot_mydomain = no
smtpd_client_connection_count_limit = 0
message_size_limit = 10240000
""")
        # The distribution's master.cf with the smtp listener on our loopback port and no chroot
        # (a chroot would need libraries and files copied into the private queue directory).
        lines = []
        for line in open("/etc/postfix/master.cf"):
            fields = line.split()
            if line[:1] not in ("#", " ", "\t", "\n") and len(fields) >= 8:
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = f"127.0.0.1:{self.port}"
                elif fields[1] == "inet":
                    continue  # submission/smtps etc. are commented out in Debian's file; no other listeners
                fields[4] = "n"
                line = " ".join(fields[:8]) + (" " + " ".join(fields[8:]) if fields[8:] else "") + "\n"
            elif line.startswith(("#", "\n")):
                continue
            lines.append(line)
        with open(os.path.join(etc, "master.cf"), "w") as f:
            f.writelines(lines)
        self.opendkim = self.spawn(["opendkim", "-f", "-x", os.path.join(self.dir, "opendkim.conf")], "opendkim.log")
        wait_port(milter_port, self.opendkim, "opendkim")
        # `postfix start` runs postfix-script, which daemonizes master; all of it stays in our cgroup.
        start = self.spawn(["postfix", "-c", etc, "start"], "postfix-start.log")
        if start.wait(timeout=60) != 0:
            raise SystemExit("postfix -c start failed:\n" + open(os.path.join(self.dir, "postfix-start.log")).read())
        wait_port(self.port, None, "postfix smtpd")

    def main_process(self):
        return "opendkim", self.opendkim.pid

    def describe(self):
        version = subprocess.run(["postconf", "-d", "-h", "mail_version"], capture_output=True, text=True).stdout.strip()
        od = subprocess.run(["opendkim", "-V"], capture_output=True, text=True).stdout.split("\n")[0].strip()
        return f"Postfix {version} (store and forward) + {od} milter, relaxed/relaxed" + (
            ", smtpd STARTTLS (TLS 1.2-1.3)" if self.tls else "")

    def stop(self):
        if os.path.exists(os.path.join(getattr(self, "etc", ""), "main.cf")):
            subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True, timeout=60)
        super().stop()


class Haraka(Stack):
    name = "haraka"

    def __init__(self, key, workdir, haraka_dir, tls=None):
        self.haraka_dir = haraka_dir
        self.bin = os.path.join(haraka_dir, "node_modules", ".bin", "haraka")
        if not os.path.exists(self.bin):
            raise SystemExit(f"no Haraka in {haraka_dir}: run bench/peers/install.sh")
        super().__init__(key, workdir, tls)

    def start(self, sink_port):
        # `haraka -i` lays out an installation with Haraka's default config; ours overrides it.
        subprocess.run([self.bin, "-i", self.dir], check=True, capture_output=True, timeout=120)
        cfg = os.path.join(self.dir, "config")
        os.makedirs(os.path.join(cfg, "dkim", DOMAIN))
        files = {
            "me": "haraka.peers-bench.test",
            "smtp.ini": f"[main]\nlisten=127.0.0.1:{self.port}\n",
            "plugins": ("tls\n" if self.tls else "") + "relay\ndkim\nqueue/smtp_forward\n",
            "relay.ini": "[relay]\nacl=true\nforce_routing=false\nall=false\n",
            "relay_acl_allow": "127.0.0.1/32\n",
            "dkim.ini": ("[sign]\nenabled=true\nheaders=From, Sender, Reply-To, Subject, Date, Message-ID, To, Cc, "
                         "MIME-Version, Content-Type, Content-Transfer-Encoding\n"
                         "[canon]\nbody=relaxed\n[verify]\nenabled=false\n"),
            "smtp_forward.ini": f"[main]\nhost=127.0.0.1\nport={sink_port}\nenable_outbound=true\n",
            "log.ini": "[main]\nlevel=info\ntimestamps=false\n",
            f"dkim/{DOMAIN}/selector": self.key.selector + "\n",
        }
        if self.tls:
            shutil.copy(self.tls[0], os.path.join(cfg, "tls_cert.pem"))
            shutil.copy(self.tls[1], os.path.join(cfg, "tls_key.pem"))
            files["tls.ini"] = "[main]\nkey=tls_key.pem\ncert=tls_cert.pem\nminVersion=TLSv1.2\n"
        for name, text in files.items():
            with open(os.path.join(cfg, name), "w") as f:
                f.write(text)
        shutil.copy(self.key.pem, os.path.join(cfg, "dkim", DOMAIN, "private"))
        env = dict(os.environ, HARAKA=self.dir, NODE_PATH=os.path.join(self.haraka_dir, "node_modules"))
        self.proc = self.spawn([self.bin, "-c", self.dir], "haraka.log", env=env)
        wait_port(self.port, self.proc, "haraka", timeout=60)

    def main_process(self):
        """bin/haraka starts haraka.js as a child; with smtp.ini nodes unset (no cluster) that one
        node process serves every connection."""
        for pid in self.cgroup.pids():
            try:
                if b"haraka.js" in open(f"/proc/{pid}/cmdline", "rb").read():
                    return "haraka.js", pid
            except OSError:
                pass
        return None, None

    def describe(self):
        pkg = os.path.join(self.haraka_dir, "node_modules", "{}", "package.json")
        import json
        hv = json.load(open(pkg.format("Haraka")))["version"]
        dv = json.load(open(pkg.format("haraka-plugin-dkim")))["version"]
        node = subprocess.run(["node", "--version"], capture_output=True, text=True).stdout.strip()
        return f"Haraka {hv} (node {node}, one worker: smtp.ini nodes unset) + haraka-plugin-dkim {dv} + queue/smtp_forward, relaxed/relaxed" + (
            ", tls plugin (TLS 1.2-1.3)" if self.tls else "")


def rsa2048_sign_ms():
    """One RSA-2048 signature's CPU time now, from `openssl speed` (one process): for reading the
    CPU per message figures against the one signature every stack must make."""
    text = subprocess.run(["openssl", "speed", "-seconds", "2", "rsa2048"], capture_output=True, text=True,
                          timeout=300).stdout
    for line in text.splitlines():
        m = re.match(r"\s*rsa\s+2048 bits\s+([\d.]+)s\s", line)
        if m:
            return float(m.group(1)) * 1000
    raise RuntimeError("cannot parse openssl speed output:\n" + text)


def write_message(path, size):
    """A plain text message of about `size` bytes from app@bench.example, lines of 76 characters."""
    head = (f"From: App <{SENDER}>\nTo: User <{RECIPIENT}>\nSubject: Your order has shipped\n"
            f"Date: Sun, 29 Nov 2026 01:00:00 +0000\nMessage-ID: <peers-bench-{size}@{DOMAIN}>\n"
            "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 7bit\n\n")
    words = ("Thank you for your order. Your parcel left our warehouse today and should arrive within "
             "three working days. Track it with the link in your account. ").split()
    body, line = [], ""
    while len(head) + sum(len(x) + 2 for x in body) < size:
        for w in words:
            if len(line) + len(w) + 1 > 76:
                body.append(line)
                line = ""
            line = (line + " " + w).strip()
    with open(path, "w") as f:
        f.write(head + "\n".join(body) + "\n")


def smtp_source(port, message_file, count, concurrency):
    cmd = ["smtp-source", "-d", "-s", str(concurrency), "-m", str(count), "-F", message_file,
           "-M", "client.peers-bench.test", "-f", SENDER, "-t", RECIPIENT, f"127.0.0.1:{port}"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    if proc.returncode != 0 or proc.stderr.strip():
        raise RuntimeError(f"smtp-source to port {port} failed ({proc.returncode}): {proc.stderr[-800:]}")


def make_certificate(workdir, kind):
    """A self-signed certificate for every stack: ECDSA P-256 or RSA-2048 (`openssl req`)."""
    key, cert = os.path.join(workdir, f"tls-{kind}.key"), os.path.join(workdir, f"tls-{kind}.crt")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", "/CN=peers-bench.test", "-addext", "subjectAltName=DNS:peers-bench.test"],
                   check=True, capture_output=True)
    os.chmod(key, 0o600)  # dkim-relay refuses a key others can read; Postfix smtpd and Haraka read it as root
    return cert, key


class Replies:
    """SMTP replies over a socket: reads until a final reply line (code + space)."""

    def __init__(self, sock):
        self.sock = sock
        self.buf = b""

    def reply(self):
        while True:
            lines = self.buf.split(b"\r\n")
            for i, line in enumerate(lines[:-1]):
                if len(line) >= 4 and line[3:4] == b" ":
                    self.buf = b"\r\n".join(lines[i + 1:])
                    return int(line[:3])
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError("connection closed")
            self.buf += data

    def command(self, text, expect):
        self.sock.sendall(text)
        code = self.reply()
        if code != expect:
            raise RuntimeError(f"{text[:24]!r} got {code}, expected {expect}")


def tls_session_worker(port, count, payload, resume, results):
    """One client session: `count` messages, a new connection and a full STARTTLS handshake each
    (or offering the previous connection's TLS 1.3 ticket with resume)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # a self-signed throw-away certificate; the handshake is what counts
    session, reused, seen = None, 0, set()
    try:
        for _ in range(count):
            raw = socket.create_connection(("127.0.0.1", port), timeout=120)
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            d = Replies(raw)
            if d.reply() != 220:
                raise RuntimeError("no 220 greeting")
            d.command(b"EHLO client.peers-bench.test\r\n", 250)
            d.command(b"STARTTLS\r\n", 220)
            tls = ctx.wrap_socket(raw, server_hostname="peers-bench.test", session=session if resume else None)
            reused += tls.session_reused
            seen.add(f"{tls.version()} {tls.cipher()[0]}")
            d = Replies(tls)
            d.command(b"EHLO client.peers-bench.test\r\n", 250)
            d.command(f"MAIL FROM:<{SENDER}>\r\n".encode(), 250)
            d.command(f"RCPT TO:<{RECIPIENT}>\r\n".encode(), 250)
            d.command(b"DATA\r\n", 354)
            d.command(payload, 250)
            d.command(b"QUIT\r\n", 221)
            session = tls.session  # the TLS 1.3 ticket came after the handshake
            tls.close()
        results.put((reused, sorted(seen), None))
    except Exception as e:  # reported by the parent, which stops the bench
        results.put((reused, sorted(seen), f"{type(e).__name__}: {e}"))


class TlsClient:
    """The --tls load: `concurrency` processes (the client's CPU is not counted in any stack's), each
    sending its share of `count` messages over a new STARTTLS connection per message."""

    def __init__(self, resume):
        self.resume = resume
        self.last = None  # (handshakes/s, resumed, handshakes, TLS versions and ciphers) of the last run

    def __call__(self, port, message_file, count, concurrency):
        text = open(message_file, "rb").read().replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
        payload = text + (b"" if text.endswith(b"\r\n") else b"\r\n") + b".\r\n"  # no line starts with "."
        per = [count // concurrency + (1 if i < count % concurrency else 0) for i in range(concurrency)]
        results = multiprocessing.Queue()
        procs = [multiprocessing.Process(target=tls_session_worker, args=(port, n, payload, self.resume, results))
                 for n in per if n]
        started = time.monotonic()
        for p in procs:
            p.start()
        answers = [results.get(timeout=1800) for _ in procs]
        elapsed = time.monotonic() - started
        for p in procs:
            p.join()
        errors = [e for _, _, e in answers if e]
        if errors:
            raise RuntimeError(f"TLS client to port {port}: {errors[0]}")
        self.last = (count / elapsed, sum(r for r, _, _ in answers), count,
                     sorted({v for _, seen, _ in answers for v in seen}))


def signature_tags(message):
    """The tags of every DKIM-Signature header of a message, parsed by dkimpy."""
    d = dkim.DKIM(message)
    return [dkim.util.parse_tag_value(value) for name, value in d.headers if name.lower() == b"dkim-signature"]


def verify_stack(stack, sink_port, message_files, records, n=3):
    """n messages of each size from smtp-source through the stack to an aiosmtpd sink on sink_port;
    each must carry a relaxed/relaxed rsa-sha256 DKIM-Signature by bench.example that dkimpy and
    Mail::DKIM verify with the bench's own DNS data."""
    sink = harness.Sink()
    sink.controller.port = sink.port = sink_port  # the port the stack was configured to forward to
    with sink:
        for path in message_files:
            smtp_source(stack.port, path, n, 1)
        sink.wait_count(n * len(message_files), timeout=60)
    messages = [data for _, _, data in sink.messages]
    for data in messages:
        tags = signature_tags(data)
        if not any(t.get(b"d") == DOMAIN.encode() and t.get(b"c") == b"relaxed/relaxed"
                   and t.get(b"a") == b"rsa-sha256" for t in tags):
            raise SystemExit(f"{stack.name}: no relaxed/relaxed rsa-sha256 signature by {DOMAIN}:\n"
                             + data[:1500].decode(errors="replace"))
    ok, detail = fs.verify_all(messages, records)
    if not ok:
        raise SystemExit(f"{stack.name}: signatures do not verify: {detail}")
    return detail


def proc_cpu_seconds(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime


def process_snapshot(cgroup):
    """{pid: (name, own utime+stime, reaped children's cutime+cstime)} of the cgroup's processes."""
    tick = os.sysconf("SC_CLK_TCK")
    snap = {}
    for pid in cgroup.pids():
        try:
            text = open(f"/proc/{pid}/stat").read()
        except OSError:
            continue
        name = text[text.index("(") + 1:text.rindex(")")]
        f = text.rsplit(")", 1)[1].split()
        snap[pid] = (name, (int(f[11]) + int(f[12])) / tick, (int(f[13]) + int(f[14])) / tick)
    return snap


def breakdown(before, after):
    """CPU seconds per process name between two snapshots. Processes that started and ended in between
    are only seen through their parent's reaped-children times: counted as "(exited)"."""
    by_name = {}
    for pid, (name, own, _) in after.items():
        start = before.get(pid)
        by_name[name] = by_name.get(name, 0.0) + own - (start[1] if start and start[0] == name else 0.0)
    reaped = sum(c - before[pid][2] for pid, (_, _, c) in after.items() if pid in before)
    reaped -= sum(own for pid, (_, own, _) in before.items() if pid not in after)  # their time before
    if reaped > 0:
        by_name["(exited)"] = reaped
    return by_name


def measure(stack, sink, message_file, count, concurrency, by_process=False, send=smtp_source):
    """(msgs/s, cgroup CPU ms/msg, (label, /proc CPU ms/msg of the stack's main process),
    {process name: CPU ms/msg} when by_process). `send` is the load: smtp-source, or a TlsClient."""
    before_count = sink.count
    label, pid = stack.main_process()
    snap0 = process_snapshot(stack.cgroup) if by_process else None
    proc0 = proc_cpu_seconds(pid) if pid else 0.0
    cpu0 = stack.cgroup.cpu_seconds()
    t0 = time.monotonic()
    send(stack.port, message_file, count, concurrency)
    sink.wait_for(before_count + count, timeout=600)
    elapsed = time.monotonic() - t0
    cpu = stack.cgroup.cpu_seconds() - cpu0
    proc = (proc_cpu_seconds(pid) - proc0) * 1000 / count if pid else None
    parts = ({k: v * 1000 / count for k, v in breakdown(snap0, process_snapshot(stack.cgroup)).items()}
             if by_process else None)
    return count / elapsed, cpu * 1000 / count, (label, proc), parts


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("binary", help="dkim-relay Release binary")
    ap.add_argument("--messages", type=int, default=2000, help="per stack, size and round")
    ap.add_argument("--concurrency", type=int, default=20, help="smtp-source sessions")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--sizes", default="2000,50000", help="message sizes in bytes, comma separated")
    ap.add_argument("--stacks", default="dkim-relay,postfix,haraka")
    ap.add_argument("--haraka-dir", default=HARAKA_CACHE)
    ap.add_argument("--workdir", default="/var/cache/dkim-relay-bench/runs",
                    help="each run makes (and removes) a directory here; root-owned, not world-writable")
    ap.add_argument("--by-process", action="store_true",
                    help="also print each stack's CPU per message by process name (from /proc)")
    ap.add_argument("--keep", action="store_true", help="keep the temp directory (logs) for inspection")
    ap.add_argument("--tls", choices=("ecdsa", "rsa"),
                    help="every stack serves STARTTLS with this certificate; the load is a new STARTTLS connection "
                         "per message (concurrency: client processes)")
    ap.add_argument("--floor", help="build/bench/tls_floor_server: add the floor as a stack")
    ap.add_argument("--tls-resume", action="store_true", help="with --tls: offer the previous connection's ticket")
    args = ap.parse_args()
    if os.geteuid() != 0:
        raise SystemExit("run as root: the stacks run in cgroups of their own and Postfix starts as root")
    binary = os.path.abspath(args.binary)
    sizes = [int(s) for s in args.sizes.split(",")]
    names = args.stacks.split(",")

    # Not under /tmp: OpenDKIM refuses a config or key in a directory others can write to.
    os.makedirs(args.workdir, mode=0o755, exist_ok=True)
    workdir = tempfile.mkdtemp(prefix="run-", dir=args.workdir)
    os.chmod(workdir, 0o755)
    stacks, sinks = [], {}
    try:
        key = fs.add_domain(binary, os.path.join(workdir, "keys"), DOMAIN)
        bits = subprocess.run(["openssl", "pkey", "-in", key.pem, "-noout", "-text"], capture_output=True,
                              text=True).stdout.split("\n")[0]
        records = key.records()
        messages = {}
        for size in sizes:
            messages[size] = os.path.join(workdir, f"message-{size}.eml")
            write_message(messages[size], size)
        tls = make_certificate(workdir, args.tls) if args.tls else None
        send = TlsClient(args.tls_resume) if tls else smtp_source
        for name in names:
            if name == "dkim-relay":
                stacks.append(DkimRelay(key, workdir, binary, tls))
            elif name == "postfix":
                stacks.append(PostfixOpenDkim(key, workdir, tls))
            elif name == "haraka":
                stacks.append(Haraka(key, workdir, args.haraka_dir, tls))
            else:
                raise SystemExit(f"unknown stack {name}")
        if args.floor:
            stacks.append(Floor(key, workdir, os.path.abspath(args.floor), tls))
        out(f"peers bench: {os.cpu_count()} cores, load average {load_average()}; key {DOMAIN} "
            f"s={key.selector} ({bits.strip()}); {args.messages} messages x {args.rounds} rounds per stack "
            f"and size; " + (f"STARTTLS client, a new connection per message, {args.concurrency} processes, "
                             f"{args.tls} certificate{', resuming' if args.tls_resume else ', full handshakes'}"
                             if tls else f"smtp-source -d -s {args.concurrency}") + "; one smtp-sink per stack")
        out(f"  one RSA-2048 signature now: {rsa2048_sign_ms():.3f} ms (openssl speed rsa2048, one process)")
        for stack in stacks:
            sink_port = harness.free_port()
            stack.start(sink_port)
            out(f"  {stack.name}: {stack.describe()}")
            if isinstance(stack, Floor):
                out(f"  {stack.name}: not verified (not a relay: it signs a stand-in header block)")
            else:
                detail = verify_stack(stack, sink_port, [messages[size] for size in sizes], records)
                out(f"  {stack.name}: signed d={DOMAIN} c=relaxed/relaxed a=rsa-sha256; {detail}")
            sinks[stack.name] = CountingSink(sink_port)
            # Warm-up through the counting sink (also replaces connections a stack kept to the
            # verification sink); not timed.
            for size in sizes:
                measure(stack, sinks[stack.name], messages[size], max(args.concurrency * 2, 40), args.concurrency,
                        send=send)

        results = {}  # (stack, size) -> [(rate, cpu_ms, load)]
        for r in range(1, args.rounds + 1):
            for size in sizes:
                for stack in stacks:
                    rate, cpu_ms, proc_ms, parts = measure(stack, sinks[stack.name], messages[size], args.messages,
                                                           args.concurrency, args.by_process, send)
                    la = load_average()
                    hs = send.last[0] if tls else None
                    results.setdefault((stack.name, size), []).append((rate, cpu_ms, la, hs))
                    check = f" ({proc_ms[0]} alone, /proc: {proc_ms[1]:.3f})" if proc_ms[0] else ""
                    handshakes = (f" {hs:7.1f} handshakes/s ({send.last[1]} of {send.last[2]} resumed; "
                                  f"{', '.join(send.last[3])})" if tls else "")
                    out(f"  round {r} {size // 1000:2} KB {stack.name:17} {rate:8.1f} msgs/s {cpu_ms:7.3f} CPU ms/msg"
                        f"{check}{handshakes}  load {la}")
                    if parts:
                        top = sorted(parts.items(), key=lambda kv: -kv[1])
                        out("      by process (ms/msg): " + ", ".join(f"{k} {v:.2f}" for k, v in top if v >= 0.005)
                            + f"; sum {sum(parts.values()):.2f}")

        out()
        out("| stack | size | msgs/s rounds | msgs/s median | CPU ms/msg rounds | CPU ms/msg median "
            "| CPU/msg vs dkim-relay | msgs/s vs dkim-relay |" + (" handshakes/s median |" if tls else ""))
        out("| --- | --- | --- | --- | --- | --- | --- | --- |" + (" --- |" if tls else ""))
        for size in sizes:
            base = results.get(("dkim-relay", size))
            base_rate = statistics.median(x[0] for x in base) if base else None
            base_cpu = statistics.median(x[1] for x in base) if base else None
            for stack in stacks:
                rows = results[(stack.name, size)]
                rate = statistics.median(x[0] for x in rows)
                cpu = statistics.median(x[1] for x in rows)
                cpu_ratio = f"{cpu / base_cpu:.1f}x" if base_cpu else "-"
                rate_ratio = f"{rate / base_rate:.2f}x" if base_rate else "-"
                out(f"| {stack.name} | {size // 1000} KB | {' / '.join(f'{x[0]:.0f}' for x in rows)} | {rate:.0f} "
                    f"| {' / '.join(f'{x[1]:.2f}' for x in rows)} | {cpu:.2f} | {cpu_ratio} | {rate_ratio} |"
                    + (f" {statistics.median(x[3] for x in rows):.0f} |" if tls else ""))
        for size in sizes:
            base, pf = results.get(("dkim-relay", size)), results.get(("postfix+opendkim", size))
            if base and pf:
                b, p = statistics.median(x[1] for x in base), statistics.median(x[1] for x in pf)
                out(f"target at {size // 1000} KB{' (STARTTLS, connection per message)' if tls else ''}: dkim-relay CPU/msg {b:.3f} ms <= 1/10 of Postfix+OpenDKIM's "
                    f"{p:.3f} ms ({p / 10:.3f} ms): {'met' if b <= p / 10 else 'NOT met'} (1/{p / b:.1f})")
            floor = results.get(("floor", size))
            if base and pf and floor:
                b, p = statistics.median(x[1] for x in base), statistics.median(x[1] for x in pf)
                f = statistics.median(x[1] for x in floor)
                out(f"floor at {size // 1000} KB: {f:.3f} ms, 1/{p / f:.1f} of Postfix+OpenDKIM's; dkim-relay "
                    f"{b / f:.2f}x the floor")
        out(f"load average at the end: {load_average()}")
    finally:
        for stack in stacks:
            try:
                stack.stop()
            except Exception as e:  # keep tearing the others down
                out(f"warning: stopping {stack.name}: {e}")
        for sink in sinks.values():
            sink.stop()
        if args.keep:
            out(f"kept {workdir}")
        else:
            shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
