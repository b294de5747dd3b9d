"""Plumbing shared by the hardening tests (issue 12, items 3-7): the lead's tests/system/harness.py
(Relay, Results, wait_for) and a relay config with the directory upstream or an SMTP upstream."""
import base64
import os
import socket
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
sys.path.insert(0, os.path.join(ROOT, "tests", "faults"))
import harness  # noqa: E402,F401

DIRECTORY_CONFIG = """
[relay]
listen = ["127.0.0.1:{smtp_port}"]
hostname = "relay.test"
unsigned = "pass"
shutdown_grace = "1s"
{relay_extra}
[upstream]
type = "directory"
directory = "{dir}/outbox"
{upstream_extra}
[keystore]
path = "{dir}/keys"
demo_domain = ""
watch = false
[admin]
enabled = false
{rest}
"""


def directory_config(relay_extra="", upstream_extra="", rest=""):
    """TOML for harness.Relay ({smtp_port} and {dir} are filled in by it): messages land as files in
    {dir}/outbox, which the test reads back."""
    return (DIRECTORY_CONFIG.replace("{relay_extra}", relay_extra).replace("{upstream_extra}", upstream_extra)
            .replace("{rest}", rest))


def with_asan_core_dumps(env):
    """ASan builds catch SIGSEGV and turn core dumps off themselves; the core-dump tests need the
    process's own behaviour, so both are switched back to the kernel's."""
    options = env.get("ASAN_OPTIONS", "")
    env["ASAN_OPTIONS"] = (options + ":" if options else "") + "handle_segv=0:disable_coredump=0"
    return env


def pbkdf2_hash(password, iterations=1000, salt=b"dkr-security-salt"):
    """A password_hash value computed by Python's hashlib, not by dkim-relay."""
    import hashlib
    derived = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, iterations)
    b64 = lambda b: base64.b64encode(b).decode().rstrip("=")  # noqa: E731
    return f"$pbkdf2-sha256${iterations}${b64(salt)}${b64(derived)}"


def auth_users_toml(binary, users):
    """[[auth.users]] blocks for {name: password}. Issue 12 item 1 (another branch) makes `domains`
    mandatory; the relay under test says with --check-config whether it knows the key."""
    import subprocess
    import tempfile

    def blocks(with_domains):
        out = ""
        for name, password in users.items():
            out += f'[[auth.users]]\nname = "{name}"\npassword_hash = "{pbkdf2_hash(password)}"\n'
            if with_domains:
                out += 'domains = ["*"]\n'
        return out

    with tempfile.NamedTemporaryFile("w", suffix=".toml") as f:
        f.write(blocks(True))
        f.flush()
        probe = subprocess.run([binary, "--check-config", "--config", f.name], capture_output=True, timeout=30)
    return blocks(probe.returncode == 0)


def outbox_envelopes(relay_dir):
    """The envelopes the directory upstream stored: what went upstream for each accepted message."""
    import glob
    import json
    out = []
    for path in sorted(glob.glob(os.path.join(relay_dir, "outbox", "*.envelope.json"))):
        with open(path) as f:
            out.append(json.load(f))
    return out


class SmtpClient:
    """A line-at-a-time SMTP client from a chosen source address, timing AUTH PLAIN (the AUTH tests)."""

    def __init__(self, port, source="127.0.0.1", timeout=60):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout, source_address=(source, 0))
        self.file = self.sock.makefile("rb")
        self.greeting = self.reply()

    def reply(self):
        text = b""
        while True:
            line = self.file.readline()
            if not line:
                return text
            text += line
            if len(line) < 4 or line[3:4] != b"-":
                return text

    def command(self, line):
        self.sock.sendall(line.encode() + b"\r\n")
        return self.reply()

    def auth(self, user, password):
        token = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
        started = time.monotonic()
        reply = self.command("AUTH PLAIN " + token)
        return reply, time.monotonic() - started

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
