"""Shared pieces of the tests in tests/security: a relay process with a config written by the test,
an aiosmtpd upstream that captures what it receives, and independent DKIM verification (dkimpy and
Mail::DKIM against TXT records built from the key files with the openssl CLI).

The shared pieces (start-up, the capturing upstream, verification) are tests/system/harness.py's.
"""
import base64
import hashlib
import http.client
import json
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from harness import (captured_names, dkimpy_results, free_port, mail_dkim_signatures, port_open,  # noqa: E402,F401
                     read_bytes, start_capture_upstream, start_serve, stop_process, txt_record_from_pem, wait_until)


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
                self.txt["s1._domainkey." + domain] = txt_record_from_pem(pem)
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
        self.procs.append(start_capture_upstream(self.dir, self.upstream_port, self.captured))

    def start(self, wait_for_admin=False):
        self.relay_log = os.path.join(self.dir, "relay.log")
        self.relay = start_serve(self.binary, self.config, self.dir, self.relay_log,
                                 ready=lambda: port_open(self.port) and (not wait_for_admin or port_open(self.admin_port)))
        self.procs.append(self.relay)
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
        return [read_bytes(os.path.join(self.captured, name)) for name in captured_names(self.captured)]

    def wait_for_messages(self, count):
        wait_until(lambda: len(self.captured_messages()) >= count, what="%d captured message(s)" % count)
        return self.captured_messages()

    def mail_dkim(self, content):
        """Mail::DKIM's verdict lines for a message."""
        perl = mail_dkim_signatures(content, self.txt, self.dir)
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
            stop_process(proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text + "\n")
