"""Shared pieces of tests/ops: a real dkim-relay (security_harness.Relay: keystore, aiosmtpd upstream)
with the [metrics] listener on, a STARTTLS certificate made by the openssl CLI, a token of role
"metrics", and a scrape of /metrics through both listeners."""
import http.client
import os
import smtplib
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "security"))
import security_harness as h  # noqa: E402

METRICS_TOKEN = "p" * 40

CONFIG = """
[relay]
listen = ["127.0.0.1:{port}"]
tls_cert = "{dir}/smtp.crt"
tls_key = "{dir}/smtp.key"

[upstream]
type = "smtp"
host = "127.0.0.1"
port = {upstream_port}
starttls = "none"

[signing]
algorithms = ["rsa-sha256", "ed25519-sha256"]

[keystore]
path = "{keys}"
watch = false
demo_domain = ""

[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "{dir}/admin.token"
dns_resolver = "127.0.0.1:9"
dns_timeout = "200ms"

[[admin.tokens]]
name = "prometheus"
token_file = "{dir}/metrics.token"
domains = ["*"]
role = "metrics"

[metrics]
enabled = true
listen = "127.0.0.1:METRICS_PORT"
"""


class OpsRelay(h.Relay):
    """The relay of tests/ops; signs for example.test (RSA) and ed.test (Ed25519 added below)."""

    def __init__(self, binary):
        self.metrics_port = h.free_port()
        super().__init__(binary, ["example.test"], CONFIG.replace("METRICS_PORT", str(self.metrics_port)))
        try:
            self.keys_cmd("add", "ed.test", "--algorithm", "ed25519-sha256", "--selector", "e1")
            subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                            "-nodes", "-days", "30", "-subj", "/CN=relay.test",
                            "-keyout", os.path.join(self.dir, "smtp.key"), "-out", os.path.join(self.dir, "smtp.crt")],
                           check=True, capture_output=True)
            h.write_secret(os.path.join(self.dir, "admin.token"), "a" * 40)
            h.write_secret(os.path.join(self.dir, "metrics.token"), METRICS_TOKEN)
        except BaseException:
            self.close()
            raise

    def start(self):
        self.relay_log = os.path.join(self.dir, "relay.log")
        self.relay = h.start_serve(self.binary, self.config, self.dir, self.relay_log,
                                   ready=lambda: all(h.port_open(p) for p in
                                                     (self.port, self.admin_port, self.metrics_port)))
        self.procs.append(self.relay)
        return self

    def get(self, port, path, token=None):
        """(status, headers, body text) of a plain GET."""
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        conn.request("GET", path, headers={"Authorization": "Bearer " + token} if token else {})
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        return response.status, dict(response.getheaders()), body

    def scrape(self):
        status, _, body = self.get(self.metrics_port, "/metrics")
        assert status == 200, "metrics listener /metrics answered %d: %s" % (status, body)
        return body

    def send(self, from_domain, subject="ops"):
        message = ("From: app@%s\r\nTo: someone@example.org\r\nSubject: %s\r\n\r\nbody\r\n" % (from_domain, subject))
        with smtplib.SMTP("127.0.0.1", self.port, timeout=10) as client:
            client.sendmail("app@" + from_domain, ["someone@example.org"], message)


def series_names(text):
    """The sample names of an exposition (histogram suffixes kept), in order of first appearance."""
    names = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name not in names:
            names.append(name)
    return names


def families(text):
    """{family name: type} from the # TYPE lines."""
    out = {}
    for line in text.splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            out[name] = kind
    return out
