"""An upstream behind TLS for the benches (not a test): a private Postfix smtpd that does STARTTLS and
passes every transaction, as it arrives, to Postfix smtp-sink through `smtpd_proxy_filter` (a
before-queue proxy: no queue file, no cleanup). So the relay talks STARTTLS to a real MTA's smtpd,
and what is behind it costs as little as smtp-sink.

    front = PostfixTlsFront(sink_port, cert, key)   # root: Postfix starts as root
    ... port = front.port ...
    front.stop()

Postfix issues TLS 1.3 session tickets by default (tlsmgr's keys), so the relay's pool can resume.
"""
import os
import shutil
import subprocess
import tempfile

import relay_bench as rb

harness = rb.harness


def make_certificate(work, kind, name="relay.test", ip=None):
    """A self-signed ECDSA P-256 or RSA-2048 certificate (`openssl req`), key 0600."""
    key, cert = os.path.join(work, f"{kind}-{name}.key"), os.path.join(work, f"{kind}-{name}.crt")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
    san = f"DNS:{name}" + (f",IP:{ip}" if ip else "")
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", f"/CN={name}", "-addext", f"subjectAltName={san}"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


class PostfixTlsFront:
    def __init__(self, sink_port, cert, key):
        if os.geteuid() != 0:
            raise SystemExit("the TLS upstream is a private Postfix instance: run as root")
        os.makedirs("/var/cache/dkim-relay-bench/runs", mode=0o755, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="tls-front-", dir="/var/cache/dkim-relay-bench/runs")
        os.chmod(self.dir, 0o755)
        self.port = harness.free_port()
        self.etc = os.path.join(self.dir, "etc")
        spool, data = os.path.join(self.dir, "spool"), os.path.join(self.dir, "data")
        for d in (self.etc, spool, data):
            os.makedirs(d)
        shutil.chown(data, "postfix")
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(f"""compatibility_level = 3.6
config_directory = {self.etc}
queue_directory = {spool}
data_directory = {data}
mail_owner = postfix
setgid_group = postdrop
myhostname = upstream.tls-bench.test
mydestination =
local_recipient_maps =
relay_domains =
alias_maps =
alias_database =
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
smtpd_proxy_filter = 127.0.0.1:{sink_port}
smtpd_proxy_timeout = 60s
smtpd_tls_security_level = may
smtpd_tls_cert_file = {cert}
smtpd_tls_key_file = {key}
smtpd_tls_protocols = >=TLSv1.2
smtpd_tls_loglevel = 0
smtpd_client_connection_count_limit = 0
maillog_file = {self.dir}/maillog
message_size_limit = 0
biff = no
""")
        # The distribution's master.cf, the smtp listener on our port, no chroot.
        lines = []
        for line in open("/etc/postfix/master.cf"):
            fields = line.split()
            if line[:1] not in ("#", " ", "\t", "\n") and len(fields) >= 8:
                if fields[0] == "smtp" and fields[1] == "inet":
                    fields[0] = f"127.0.0.1:{self.port}"
                elif fields[1] == "inet":
                    continue
                fields[4] = "n"
                line = " ".join(fields[:8]) + (" " + " ".join(fields[8:]) if fields[8:] else "") + "\n"
            elif line.startswith(("#", "\n")):
                continue
            lines.append(line)
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.writelines(lines)
        start = subprocess.run(["postfix", "-c", self.etc, "start"], capture_output=True, text=True, timeout=60)
        if start.returncode != 0:
            raise SystemExit("postfix -c start failed: " + start.stdout + start.stderr)
        harness.wait_for(lambda: rb.fs.port_accepts(self.port), 30, "postfix smtpd (TLS upstream)")

    def stop(self):
        subprocess.run(["postfix", "-c", self.etc, "stop"], capture_output=True, timeout=60)
        shutil.rmtree(self.dir, ignore_errors=True)
