"""Plumbing for the fault-injection tests, on top of the lead's tests/system/harness.py (imported, not
copied): a relay config for an SMTP upstream, keys created with `dkim-relay keys`, the upstream
engineer's scripted_upstream.py run as a subprocess, an SMTP client that reports the reply of the
step that failed instead of raising, and /proc probes for the relay's file descriptors and memory."""
import email.utils
import glob
import os
import shutil
import signal
import smtplib
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import harness  # noqa: E402  (the lead's module: Relay, Sink, Results, dkimpy_verify, ...)

SCRIPTED_UPSTREAM = os.path.join(ROOT, "tests", "upstream", "scripted_upstream.py")
PYTHON = "/usr/bin/python3"

CONFIG = """
[relay]
listen = ["127.0.0.1:{smtp_port}"]
hostname = "relay.test"
unsigned = "tempfail"
shutdown_grace = "2s"
{relay_extra}
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {upstream_port}
starttls = "none"
connect_timeout = "2s"
command_timeout = "{upstream_command_timeout}"
{upstream_extra}
[keystore]
path = "{dir}/keys"
demo_domain = ""
watch = false
[admin]
enabled = false
"""


def relay_config(upstream_port, relay_extra="", upstream_extra="", upstream_command_timeout="1s"):
    """TOML for harness.Relay; {smtp_port} and {dir} are left for it to fill in. The upstream's
    command_timeout is short by default so that a stalled upstream is detected within a test."""
    return (CONFIG.replace("{upstream_port}", str(upstream_port)).replace("{relay_extra}", relay_extra)
            .replace("{upstream_extra}", upstream_extra)
            .replace("{upstream_command_timeout}", upstream_command_timeout))


class Key:
    def __init__(self, domain, selector, pem):
        self.domain = domain
        self.selector = selector
        self.pem = pem
        self.record = harness.txt_record_from_pem(pem)  # by openssl, not by dkim-relay

    def records(self):
        return {f"{self.selector}._domainkey.{self.domain}": self.record}


def verify_all(messages, records):
    """(ok, detail): dkimpy and Mail::DKIM, two implementations independent of the relay, each pass
    every signature of every message (RSA keys: Debian 12's Mail::DKIM has no Ed25519)."""
    messages = list(messages)
    dkimpy = [harness.dkimpy_verify(m, records) for m in messages]
    maildkim = harness.maildkim_verify(messages, records) if messages else []
    ok = all(dkimpy) and maildkim == ["pass"] * len(messages)
    return ok, f"dkimpy passed {dkimpy.count(True)} of {len(messages)}, Mail::DKIM said {sorted(set(maildkim))}"


def add_domain(binary, keys_dir, domain, extra_args=()):
    """Creates a domain with one active key through the CLI, before the relay starts."""
    subprocess.run([binary, "keys", "--keystore", keys_dir, "add", domain, *extra_args], check=True,
                   capture_output=True, timeout=120)
    pems = glob.glob(os.path.join(keys_dir, domain, "*.pem"))
    assert len(pems) == 1, f"expected one key for {domain}, found {pems}"
    return Key(domain, os.path.basename(pems[0])[:-4], pems[0])


def message(domain, mid, body_size=0, subject="fault test"):
    """An RFC 5322 message from app@domain; the body has lines of 76 characters."""
    head = (f"From: App <app@{domain}>\r\nTo: user@example.org\r\nSubject: {subject}\r\n"
            f"Message-ID: {mid}\r\nDate: {email.utils.formatdate()}\r\n\r\n")
    line = (mid.strip("<>") + " ").ljust(76, "x")[:76] + "\r\n"
    body = "body of " + mid + "\r\n" + line * (body_size // 78)
    return (head + body).encode()


def send(port, sender, rcpts, data, timeout=30):
    """One transaction on a new connection. Returns (code, text) of the DATA reply, or of the first
    step that was refused; code None when the connection broke without a reply."""
    try:
        smtp = smtplib.SMTP("127.0.0.1", port, timeout=timeout)
    except smtplib.SMTPConnectError as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    except (OSError, smtplib.SMTPException) as e:
        return None, repr(e)
    try:
        code, text = smtp.ehlo("client.test")
        if code != 250:
            return code, text.decode(errors="replace")
        code, text = smtp.mail(sender)
        if code != 250:
            return code, text.decode(errors="replace")
        for r in rcpts:
            code, text = smtp.rcpt(r)
            if code not in (250, 251):
                return code, text.decode(errors="replace")
        code, text = smtp.data(data)
        return code, text.decode(errors="replace")
    except smtplib.SMTPResponseException as e:
        return e.smtp_code, e.smtp_error.decode(errors="replace")
    except (OSError, smtplib.SMTPException) as e:
        return None, repr(e)
    finally:
        try:
            smtp.quit()
        except (OSError, smtplib.SMTPException):
            smtp.close()


def send_from(relay, domain, mid, body_size=0, timeout=30):
    return send(relay.smtp_port, f"app@{domain}", ["user@example.org"], message(domain, mid, body_size), timeout)


port_accepts = harness.port_open  # the name the fault tests and bench/ use


class ScriptedUpstream:
    """tests/upstream/scripted_upstream.py in a subprocess; records accepted messages as files."""

    def __init__(self, mode="normal", port=None, after_message=None):
        self.port = port or harness.free_port()
        self.dir = tempfile.mkdtemp(prefix="dkr-faults-upstream-")
        cmd = [PYTHON, SCRIPTED_UPSTREAM, "--port", str(self.port), "--dir", self.dir, "--mode", mode]
        if after_message:
            cmd += ["--after-message", after_message]
        self.proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            # The script prints nothing when it listens; its port accepting is the only sign.
            harness.wait_for(lambda: self.proc.poll() is not None or port_accepts(self.port), 30,
                             f"scripted upstream ({mode}) listening on {self.port}")
            assert self.proc.poll() is None, "scripted upstream exited at start"
        except BaseException:
            self.cleanup()
            raise

    def messages(self):
        out = []
        for path in sorted(glob.glob(os.path.join(self.dir, "msg-*.eml"))):
            with open(path, "rb") as f:
                out.append(f.read())
        return out

    def aborted(self):
        return sorted(glob.glob(os.path.join(self.dir, "aborted-*")))

    def stop(self):
        harness.stop_process(self.proc)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def _socket_peers():
    """socket inode -> (local port, remote port) for loopback TCP sockets."""
    peers = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            with open(table) as f:
                for line in f.readlines()[1:]:
                    parts = line.split()
                    peers[parts[9]] = (int(parts[1].rsplit(":", 1)[1], 16), int(parts[2].rsplit(":", 1)[1], 16))
        except OSError:
            pass
    return peers


def _fd_targets(pid):
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            out.append(os.readlink(f"/proc/{pid}/fd/{fd}"))
        except OSError:
            pass  # closed meanwhile
    return out


def fd_count_except_peer(pid, port):
    """The relay's descriptors other than its connections to `port` (the upstream: its pool may keep
    more or fewer idle connections, which is not a leak)."""
    peers = _socket_peers()
    return sum(1 for t in _fd_targets(pid) if not (t.startswith("socket:[") and peers.get(t[8:-1], (0, 0))[1] == port))


def describe_fds(pid):
    """What the relay's descriptors point to, for failure messages (sockets: local -> peer port)."""
    peers = _socket_peers()
    out = {}
    for target in _fd_targets(pid):
        if target.startswith("socket:["):
            local, remote = peers.get(target[8:-1], (0, 0))
            target = f"tcp {local}->{remote}"
        elif target.startswith("anon_inode:") or target.startswith("pipe:"):
            target = target.split("[")[0]
        out[target] = out.get(target, 0) + 1
    return out


def status_kib(pid, field):
    """VmRSS / VmHWM etc. from /proc/<pid>/status, in KiB."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


def settled_fd_count(pid, timeout=10.0, count=fd_count):
    """The relay opens some descriptors (thread pools, timers) just after its banner: the baseline is
    the count once it has not changed for half a second."""
    deadline = time.monotonic() + timeout
    last, since = count(pid), time.monotonic()
    while time.monotonic() < deadline:
        time.sleep(0.05)
        now = count(pid)
        if now != last:
            last, since = now, time.monotonic()
        elif time.monotonic() - since >= 0.5:
            break
    return last


def wait_fds_back(pid, baseline, timeout=20.0, slack=0, count=fd_count):
    """Polls until the relay holds no more descriptors than at baseline; returns the last count."""
    deadline = time.monotonic() + timeout
    now = count(pid)
    while time.monotonic() < deadline:
        now = count(pid)
        if now <= baseline + slack:
            return now
        time.sleep(0.05)
    return now


def message_ids(messages):
    out = []
    for m in messages:
        for line in m.split(b"\r\n"):
            if line.lower().startswith(b"message-id:"):
                out.append(line.split(b":", 1)[1].strip().decode())
                break
    return out


SANITIZER_MARKERS = ("ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "runtime error:")


def stop_cleanly(relay, results):
    """SIGTERM, then the relay must exit 0 with no sanitizer report in its log. Sanitizer builds
    report leaks at exit, which harness.Relay.stop does not look at."""
    if relay.proc.poll() is not None:
        results.check(False, f"relay still running at the end (exited with {relay.proc.returncode})")
    else:
        relay.signal(signal.SIGTERM)
        code = relay.wait(timeout=60)
        results.check(code == 0, f"relay exits 0 on SIGTERM, got {code}")
    relay.stderr.flush()
    with open(os.path.join(relay.dir, "stderr.log"), "rb") as f:
        log = f.read().decode(errors="replace")
    for marker in SANITIZER_MARKERS:
        at = log.find(marker)
        results.check(at < 0, f"no '{marker}' in the relay's log: {log[max(0, at - 200):at + 1500]}")


def log_contains(relay, text, timeout=20.0):
    return harness.wait_for(lambda: text in relay.log(), timeout, f"relay log line '{text}'")
