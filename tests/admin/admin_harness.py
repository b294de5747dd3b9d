"""Starts admin_test_server and talks to it over HTTP; shared by the admin Python tests."""
import hashlib
import http.client
import json
import os
import select
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from port_reservation import free_port as reserved_port  # noqa: E402

TOKEN = "test-token-" + os.urandom(8).hex()


def token_id(token):
    return hashlib.sha256(token.encode()).hexdigest()[:8]


def wait_until(predicate, timeout, what, interval=0.05):
    """Polls `predicate` until it returns a truthy value or the deadline passes."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError("timed out after %.1fs waiting for %s" % (timeout, what))
        time.sleep(interval)


class AdminServer:
    def __init__(self, binary, *args, token=TOKEN):
        self.token = token
        self.stderr_file = tempfile.TemporaryFile()
        self.final_log = None
        self.proc = subprocess.Popen([binary, "--token", token, *args], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=self.stderr_file)
        self.port = self._read_port()
        self.scheme = "https" if "--tls-cert" in args else "http"
        self.ssl_context = None

    def _read_port(self):
        deadline = time.monotonic() + 10
        line = b""
        while not line.endswith(b"\n"):
            remaining = deadline - time.monotonic()
            if remaining <= 0 or self.proc.poll() is not None:
                self.stop()
                raise RuntimeError("admin_test_server did not start: " + self.log())
            ready, _, _ = select.select([self.proc.stdout], [], [], remaining)
            if ready:
                chunk = os.read(self.proc.stdout.fileno(), 1)
                if not chunk:
                    continue
                line += chunk
        words = line.decode().split()
        assert words[0] == "PORT", line
        return int(words[1])

    def url(self, path):
        return "%s://127.0.0.1:%d%s" % (self.scheme, self.port, path)

    def request(self, method, path, body=None, token="default", headers=None):
        """Returns (status, headers, parsed JSON or text)."""
        if token == "default":
            token = self.token
        data = None
        if body is not None:
            data = body if isinstance(body, (bytes, str)) else json.dumps(body)
            data = data.encode() if isinstance(data, str) else data
        request = urllib.request.Request(self.url(path), data=data, method=method)
        if token is not None:
            request.add_header("Authorization", "Bearer " + token)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        for name, value in (headers or {}).items():
            request.add_header(name, value)
        try:
            with urllib.request.urlopen(request, timeout=10, context=self.ssl_context) as response:
                return self._decode(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:
            return self._decode(error.code, error.headers, error.read())

    @staticmethod
    def _decode(status, headers, raw):
        if headers.get("Content-Type", "").startswith("application/json"):
            return status, headers, json.loads(raw)
        return status, headers, raw.decode()

    def stop(self):
        """Closes stdin (the server's stop signal) and returns its log."""
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.send_signal(signal.SIGKILL)
                self.proc.wait()
                raise AssertionError("admin_test_server did not stop when stdin closed")
            if self.proc.returncode != 0:
                raise AssertionError("admin_test_server exited with %d: %s" % (self.proc.returncode, self.log()[-3000:]))
        self.proc.stdout.close()
        if self.final_log is None:
            self.final_log = self.log()
            self.stderr_file.close()
        return self.final_log

    def log(self):
        if self.final_log is not None:
            return self.final_log
        self.stderr_file.seek(0)
        return self.stderr_file.read().decode(errors="replace")


def free_port():
    """A port free for both UDP and TCP on 127.0.0.1 (a DNS server's), reserved for this test."""
    return reserved_port(udp=True)


def raw_http(port, payload, timeout=5.0):
    """Sends raw bytes and returns everything the server sends until it closes (or timeout)."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(payload)
        received = b""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                chunk = sock.recv(65536)
            except socket.timeout:
                break
            if not chunk:
                break
            received += chunk
        return received


def keep_alive_connection(port):
    return http.client.HTTPConnection("127.0.0.1", port, timeout=10)
