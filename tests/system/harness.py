"""Shared plumbing for the tests that run the real binary (tests/system, e2e, security, pgstore, faults,
container, ui and bench/): a real dkim-relay process, a real aiosmtpd upstream, independent DKIM
verification (dkimpy and Mail::DKIM) with TXT records derived by openssl, and the small pieces each of
them needs (free ports, polling with a deadline, stopping child processes).

Import it the same way everywhere: sys.path.insert(0, os.path.join(ROOT, "tests", "system")), where
ROOT is the repository's top folder."""
import base64
import json
import os
import queue
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

import dkim
from aiosmtpd.controller import Controller

HERE = os.path.dirname(os.path.abspath(__file__))
MAILDKIM_VERIFIER = os.path.join(HERE, "maildkim_verify.pl")
E2E_DIR = os.path.join(os.path.dirname(HERE), "e2e")  # upstream_capture.py, mail_dkim_verify.pl
PYTHON = "/usr/bin/python3"

from port_reservation import free_port  # noqa: E402,F401  (re-exported: harness.free_port)


def wait_for(predicate, timeout=20.0, what="condition"):
    """Polls with a deadline: for conditions that have no event to wait on."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


wait_until = wait_for  # the name the e2e, security and pgstore tests use


def port_open(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


def stop_process(proc, timeout=10):
    """SIGTERM, then SIGKILL when it has not exited within `timeout` seconds; reaped either way."""
    if proc is not None and proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_serve(binary, config, workdir, log_path, env=None, ready=None, what="dkim-relay serve", timeout=20.0):
    """`dkim-relay serve` with its output in log_path; returns the process once ready() holds, and
    fails with the log if the process exits first."""
    with open(log_path, "w") as log:
        proc = subprocess.Popen([binary, "serve", "--config", config], stdout=log, stderr=subprocess.STDOUT,
                                cwd=workdir, env=env)

    def started():
        if proc.poll() is not None:
            with open(log_path) as f:
                raise AssertionError("%s exited with %s:\n%s" % (what, proc.returncode, f.read()[-6000:]))
        return ready is None or ready()
    try:
        wait_until(started, timeout=timeout, what=what)
    except BaseException:
        stop_process(proc)
        raise
    return proc


def start_capture_upstream(workdir, port, captured):
    """aiosmtpd with tests/e2e/upstream_capture.py on 127.0.0.1:port, storing what it receives in
    `captured` (N.eml, N.json, mail_from.log); returns the process once the port accepts."""
    env = dict(os.environ, PYTHONPATH=E2E_DIR, PYTHONDONTWRITEBYTECODE="1")  # no __pycache__ in the tree
    with open(os.path.join(workdir, "upstream.log"), "w") as log:
        proc = subprocess.Popen([PYTHON, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % port,
                                 "-c", "upstream_capture.CaptureHandler", captured],
                                env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(port), what="aiosmtpd upstream")
    except BaseException:
        stop_process(proc)
        raise
    return proc


def captured_names(captured):
    """The N.eml files upstream_capture has written, in arrival order."""
    return sorted((n for n in os.listdir(captured) if n.endswith(".eml")), key=lambda n: int(n[:-4]))


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


class Sink:
    """A real SMTP server (aiosmtpd) that records every message it accepts."""

    def __init__(self):
        self.messages = []  # (mail_from, rcpt_tos, bytes)
        self.lock = threading.Lock()
        self.arrived = threading.Condition(self.lock)
        sink = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):
                with sink.arrived:
                    sink.messages.append((envelope.mail_from, list(envelope.rcpt_tos), envelope.original_content))
                    sink.arrived.notify_all()
                return "250 2.0.0 Ok: queued as Q%d" % len(sink.messages)

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port,
                                     decode_data=False, data_size_limit=64 * 1024 * 1024)

    def __enter__(self):
        self.controller.start()
        return self

    def __exit__(self, *exc):
        self.controller.stop()

    def wait_count(self, n, timeout=30.0):
        with self.arrived:
            ok = self.arrived.wait_for(lambda: len(self.messages) >= n, timeout)
        assert ok, f"upstream received {len(self.messages)} messages, expected {n}"


class Relay:
    """dkim-relay running with a config file written into its own temp dir."""

    def __init__(self, binary, toml="", env=None, workdir=None):
        self.binary = binary
        self.dir = workdir or tempfile.mkdtemp(prefix="dkr-system-")
        self.smtp_port = free_port()
        self.admin_port = free_port()
        self.config = os.path.join(self.dir, "dkim-relay.toml")
        with open(self.config, "w") as f:
            f.write(toml.replace("{smtp_port}", str(self.smtp_port)).replace("{admin_port}", str(self.admin_port))
                    .replace("{dir}", self.dir))
        self.env = dict(os.environ, **(env or {}))
        self.proc = None
        self.banner = []

    def start(self, args=None):
        self.stderr = open(os.path.join(self.dir, "stderr.log"), "wb")
        cmd = [self.binary] + (args if args is not None else ["serve", "--config", self.config])
        self.proc = subprocess.Popen(cmd, cwd=self.dir, env=self.env, stdout=subprocess.PIPE,
                                     stderr=self.stderr)
        # The banner ends the start-up: the listeners are bound when it is printed.
        lines = queue.Queue()

        def reader():
            for line in self.proc.stdout:
                lines.put(line.decode(errors="replace"))
            lines.put(None)

        threading.Thread(target=reader, daemon=True).start()
        deadline = time.monotonic() + 60
        while True:
            try:
                line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError("relay did not print its banner: " + self.log())
            if line is None:
                raise AssertionError("relay exited during start-up: " + self.log())
            self.banner.append(line)
            if "ready" in line:
                break
        # The rest of the banner (DNS records) follows at once; collect it in the background.
        def rest():
            while True:
                line = lines.get()
                if line is None:
                    return
                self.banner.append(line)
        threading.Thread(target=rest, daemon=True).start()
        return self

    def log(self):
        self.stderr.flush()
        with open(os.path.join(self.dir, "stderr.log"), "rb") as f:
            return f.read().decode(errors="replace")[-4000:]

    def signal(self, sig):
        self.proc.send_signal(sig)

    def wait(self, timeout=60):
        return self.proc.wait(timeout=timeout)

    def stop(self):
        stop_process(self.proc, timeout=30)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def txt_record_from_der(der, ed25519):
    """The DNS TXT value for a public key in DER (SubjectPublicKeyInfo) form."""
    if ed25519:
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()  # the raw 32-byte key
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def txt_record_from_pem(pem_path):
    """The DNS TXT value for a private key, derived by openssl (independently of dkim-relay)."""
    der = subprocess.run(["openssl", "pkey", "-in", pem_path, "-pubout", "-outform", "DER"],
                         check=True, capture_output=True).stdout
    text = subprocess.run(["openssl", "pkey", "-in", pem_path, "-noout", "-text"],
                          check=True, capture_output=True).stdout.decode()
    return txt_record_from_der(der, "ED25519" in text.upper())


def dkimpy_results(message, records):
    """dkimpy's verdict for each DKIM-Signature of message, in order; records:
    {"sel._domainkey.example.com": "v=DKIM1; ..."} instead of DNS."""
    def dnsfunc(name, timeout=5):
        name = name.decode() if isinstance(name, bytes) else name
        return records.get(name.rstrip(".").lower(), "").encode()

    d = dkim.DKIM(message)
    sigs = [h for h in d.headers if h[0].lower() == b"dkim-signature"]
    return [d.verify(idx=i, dnsfunc=dnsfunc) for i in range(len(sigs))]


def dkimpy_verify(message, records):
    """True when the message has signatures and dkimpy passes every one."""
    results = dkimpy_results(message, records)
    return bool(results) and all(results)


def mail_dkim_signatures(message, records, workdir):
    """Mail::DKIM's verdict per signature (tests/e2e/mail_dkim_verify.pl), as the finished process:
    stdout has one line "result domain selector algorithm (detail)" per signature; returncode is 0
    when there are signatures and all pass."""
    keys = os.path.join(workdir, "txt.json")
    with open(keys, "w") as f:
        json.dump(records, f)
    path = os.path.join(workdir, "check.eml")
    with open(path, "wb") as f:
        f.write(message)
    return subprocess.run(["/usr/bin/perl", os.path.join(E2E_DIR, "mail_dkim_verify.pl"), keys, path],
                          capture_output=True, text=True)


def maildkim_verify(messages, records):
    """Verifies messages with Mail::DKIM (Perl); returns one result string per message."""
    with tempfile.TemporaryDirectory() as tmp:
        with open(os.path.join(tmp, "records"), "w") as f:
            for name, value in records.items():
                f.write(f"{name}\t{value}\n")
        paths = []
        for i, m in enumerate(messages):
            p = os.path.join(tmp, f"{i:05}.eml")
            with open(p, "wb") as f:
                f.write(m)
            paths.append(p)
        out = subprocess.run(["perl", MAILDKIM_VERIFIER, os.path.join(tmp, "records")] + paths,
                             check=True, capture_output=True, text=True).stdout.split("\n")
        return [line.split("\t", 1)[1] for line in out if "\t" in line]


def signature_selectors(message):
    d = dkim.DKIM(message)
    out = []
    for name, value in d.headers:
        if name.lower() == b"dkim-signature":
            tags = dict(t.strip().split("=", 1) for t in value.decode().replace("\r\n", "").split(";") if "=" in t)
            out.append((tags["d"].strip(), tags["s"].strip(), tags["a"].strip()))
    return out


class Results:
    def __init__(self, name):
        self.name = name
        self.passed = 0
        self.failed = 0

    def check(self, condition, what):
        if condition:
            self.passed += 1
        else:
            self.failed += 1
            print(f"FAIL: {what}", flush=True)

    def finish(self):
        print(f"{self.name}: {self.passed} passed, {self.failed} failed", flush=True)
        sys.exit(1 if self.failed else 0)
