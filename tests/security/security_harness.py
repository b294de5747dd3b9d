"""Shared pieces of the tests in tests/security: a relay process with a config written by the test,
an aiosmtpd upstream that captures what it receives, and independent DKIM verification (dkimpy and
Mail::DKIM against TXT records built from the key files with the openssl CLI).

The e2e helpers (tests/e2e/relay_e2e.py, upstream_capture.py) are reused, not copied.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
E2E = os.path.join(os.path.dirname(HERE), "e2e")
sys.path.insert(0, E2E)

from relay_e2e import RawClient, dkimpy_results, free_port, port_open, txt_record, wait_until  # noqa: E402

PYTHON = "/usr/bin/python3"


def pbkdf2_hash(password, iterations=1000, salt=b"security-tests!!"):
    """A password_hash value computed with Python's hashlib, not by the relay."""
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    return "$pbkdf2-sha256$%d$%s$%s" % (iterations, base64.b64encode(salt).decode(),
                                         base64.b64encode(derived).decode())


class Relay:
    """A temp dir with a keystore of RSA domains, an upstream and `dkim-relay serve`."""

    def __init__(self, binary, domains, config_body, upstream=True):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="dkim-relay-security-")
        self.keys = os.path.join(self.dir, "keys")
        self.captured = os.path.join(self.dir, "captured")
        os.makedirs(self.captured)
        self.procs = []
        self.txt = {}
        self.relay = None
        try:
            for domain in domains:
                self.keys_cmd("add", domain, "--algorithm", "rsa-sha256", "--selector", "s1")
                pem = os.path.join(self.keys, domain, "s1.pem")
                self.txt["s1._domainkey." + domain] = txt_record(pem, "rsa")
            self.txt_file = os.path.join(self.dir, "txt.json")
            with open(self.txt_file, "w") as f:
                json.dump(self.txt, f)
            self.upstream_port = free_port()
            if upstream:
                self._start_upstream()
            self.port = free_port()
            self.admin_port = free_port()
            self.config = os.path.join(self.dir, "relay.toml")
            with open(self.config, "w") as f:
                f.write(config_body.format(port=self.port, upstream_port=self.upstream_port, keys=self.keys,
                                           admin_port=self.admin_port, dir=self.dir))
        except BaseException:
            self.close()
            raise

    def keys_cmd(self, *args):
        result = subprocess.run([self.binary, "keys", "--keystore", self.keys, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError("keys %s failed: %s%s" % (args, result.stdout, result.stderr))
        return result.stdout

    def _start_upstream(self):
        env = dict(os.environ, PYTHONPATH=E2E, PYTHONDONTWRITEBYTECODE="1")
        with open(os.path.join(self.dir, "upstream.log"), "w") as log:
            self.procs.append(subprocess.Popen(
                [PYTHON, "-m", "aiosmtpd", "-n", "-l", "127.0.0.1:%d" % self.upstream_port,
                 "-c", "upstream_capture.CaptureHandler", self.captured],
                env=env, stdout=log, stderr=subprocess.STDOUT))
        wait_until(lambda: port_open(self.upstream_port), what="aiosmtpd upstream")

    def start(self, wait_for_admin=False):
        self.relay_log = os.path.join(self.dir, "relay.log")
        with open(self.relay_log, "w") as log:
            self.relay = subprocess.Popen([self.binary, "serve", "--config", self.config], stdout=log,
                                          stderr=subprocess.STDOUT, cwd=self.dir)
        self.procs.append(self.relay)

        def ready():
            if self.relay.poll() is not None:
                raise AssertionError("dkim-relay serve exited with %s:\n%s" % (self.relay.returncode, self.log()))
            return port_open(self.port) and (not wait_for_admin or port_open(self.admin_port))
        wait_until(ready, what="dkim-relay serve")
        return self

    def run_to_exit(self, timeout=20):
        """Runs serve expecting it to refuse to start; returns (exit code, output)."""
        result = subprocess.run([self.binary, "serve", "--config", self.config], capture_output=True, text=True,
                                cwd=self.dir, timeout=timeout)
        return result.returncode, result.stdout + result.stderr

    def log(self):
        try:
            with open(self.relay_log) as f:
                return f.read()
        except (OSError, AttributeError):
            return ""

    def captured_messages(self):
        names = sorted((n for n in os.listdir(self.captured) if n.endswith(".eml")), key=lambda n: int(n[:-4]))
        out = []
        for name in names:
            with open(os.path.join(self.captured, name), "rb") as f:
                out.append(f.read())
        return out

    def wait_for_messages(self, count):
        wait_until(lambda: len(self.captured_messages()) >= count, what="%d captured message(s)" % count)
        return self.captured_messages()

    def mail_dkim(self, content):
        """Mail::DKIM's verdict lines for a message."""
        path = os.path.join(self.dir, "check.eml")
        with open(path, "wb") as f:
            f.write(content)
        perl = subprocess.run(["/usr/bin/perl", os.path.join(E2E, "mail_dkim_verify.pl"), self.txt_file, path],
                              capture_output=True, text=True)
        return perl.returncode, perl.stdout + perl.stderr

    def http(self, method, path, token=None, body=None):
        conn = http.client.HTTPConnection("127.0.0.1", self.admin_port, timeout=10)
        headers = {}
        if token is not None:
            headers["Authorization"] = "Bearer " + token
        if body is not None:
            headers["Content-Type"] = "application/json"
            body = json.dumps(body)
        conn.request(method, path, body=body, headers=headers)
        response = conn.getresponse()
        data = response.read()
        conn.close()
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = data.decode(errors="replace")
        return response.status, parsed

    def close(self):
        for proc in reversed(self.procs):
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(timeout=10)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
