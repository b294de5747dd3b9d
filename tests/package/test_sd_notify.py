"""sd_notify for the unit's Type=notify (packaging/debian/dkim-relay.service): with NOTIFY_SOCKET set,
the relay sends READY=1 only once its SMTP listener accepts connections, RELOADING=1 then READY=1
around a SIGHUP, and STOPPING=1 when SIGTERM starts the drain; it then exits 0. The socket is the
test's own AF_UNIX datagram socket, read the way systemd reads it."""
import os
import signal
import socket
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
import harness  # noqa: E402

binary = os.path.abspath(sys.argv[1])
r = harness.Results("package.sd_notify")
work = tempfile.mkdtemp(prefix="dkr-notify-")
smtp_port, admin_port = harness.free_port(), harness.free_port()
config = os.path.join(work, "dkim-relay.toml")
with open(config, "w") as f:
    f.write(f"""
[relay]
listen = ["127.0.0.1:{smtp_port}"]
shutdown_grace = "5s"
[upstream]
type = "directory"
directory = "{work}/outbox"
[keystore]
path = "{work}/keys"
demo_domain = "example.com"
[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "{work}/admin.token"
""")

notify = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
notify.bind(os.path.join(work, "notify.sock"))
notify.settimeout(60)


def next_state():
    """The next notification as {"READY": "1", "STATUS": ...}."""
    data = notify.recv(4096).decode()
    return dict(line.split("=", 1) for line in data.split("\n") if "=" in line)


def smtp_greets():
    with socket.create_connection(("127.0.0.1", smtp_port), timeout=10) as s:
        return s.makefile("rb").readline().startswith(b"220")


env = dict(os.environ, NOTIFY_SOCKET=os.path.join(work, "notify.sock"))
log = open(os.path.join(work, "relay.log"), "wb")
proc = subprocess.Popen([binary, "serve", "--config", config], cwd=work, env=env, stdout=log, stderr=log)
try:
    first = next_state()
    r.check(first.get("READY") == "1", f"first notification is READY=1: {first}")
    # Connected right after READY=1 arrives, with no retry: READY before listen() would fail here.
    r.check(smtp_greets(), "SMTP answers 220 as soon as READY=1 arrives")

    proc.send_signal(signal.SIGHUP)
    reloading = next_state()
    r.check(reloading.get("RELOADING") == "1", f"SIGHUP: RELOADING=1 first: {reloading}")
    again = next_state()
    r.check(again.get("READY") == "1", f"SIGHUP: READY=1 after the reload: {again}")
    r.check(smtp_greets(), "SMTP still answers after the reload")

    proc.send_signal(signal.SIGTERM)
    stopping = next_state()
    r.check(stopping.get("STOPPING") == "1", f"SIGTERM: STOPPING=1: {stopping}")
    code = proc.wait(timeout=30)
    r.check(code == 0, f"exit status after SIGTERM is 0, got {code}")
except (socket.timeout, subprocess.TimeoutExpired, OSError) as e:
    r.check(False, f"{type(e).__name__}: {e}")
finally:
    harness.stop_process(proc)
    log.close()
    if r.failed:
        with open(os.path.join(work, "relay.log"), "rb") as f:
            print(f.read().decode(errors="replace")[-4000:])
    subprocess.run(["rm", "-rf", work])
r.finish()
