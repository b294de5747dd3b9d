"""Issue 26: RSA and ECDSA certificates together (relay.tls_extra_cert / tls_extra_key), against a real
peer, `openssl s_client -starttls smtp`:
- an ECDSA P-256 tls_cert and an RSA-2048 tls_extra_cert: a client that offers only ECDSA signature
  algorithms gets the ECDSA certificate, one that offers only RSA gets the RSA certificate (TLS 1.3
  and TLS 1.2), one with OpenSSL's default list gets ECDSA; the same with the roles swapped;
- both certificates' expiry are exported (dkim_relay_tls_certificate_not_after_seconds, listeners
  "smtp" and "smtp_extra"), as openssl x509 reads them;
- the control: with tls_cert alone, an RSA-only client fails its handshake (so the check above can fail);
- a second certificate of the same key type, a key that is not the extra certificate's, and an extra
  key others can read are start errors naming the key; an extra certificate without its key is a
  config error with the key and line.
The certificate the client got is compared, as PEM, with the files the test made (openssl req)."""
import datetime
import os
import re
import urllib.request
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "security"))
import hardening_support as support  # noqa: E402
from hardening_support import harness  # noqa: E402

BINARY = sys.argv[1]
results = harness.Results("relay.tls_certificates")
WORK = tempfile.mkdtemp(prefix="dkr-tls-certs-")


def make_certificate(kind, name):
    key, cert = os.path.join(WORK, f"{name}.key"), os.path.join(WORK, f"{name}.crt")
    newkey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"] if kind == "ecdsa" else ["-newkey", "rsa:2048"]
    subprocess.run(["openssl", "req", "-x509", *newkey, "-nodes", "-keyout", key, "-out", cert, "-days", "2",
                    "-subj", f"/CN={name}.relay.test"], check=True, capture_output=True)
    os.chmod(key, 0o600)
    return cert, key


def pem(cert):
    return re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", open(cert).read(), re.S).group(0)


def served(port, sigalgs=None, version="-tls1_3"):
    """The certificate the relay presented to s_client (PEM), or None when the handshake failed."""
    cmd = ["openssl", "s_client", "-starttls", "smtp", "-connect", f"127.0.0.1:{port}", version]
    if sigalgs:
        cmd += ["-sigalgs", sigalgs]
    proc = subprocess.run(cmd, input="QUIT\r\n", capture_output=True, text=True, timeout=30)
    found = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----", proc.stdout, re.S)
    return found.group(0) if found and "Cipher is (NONE)" not in proc.stdout else None


def relay_with(cert, key, extra=None, metrics_port=None):
    lines = f'tls_cert = "{cert}"\ntls_key = "{key}"\n'
    if extra:
        lines += f'tls_extra_cert = "{extra[0]}"\ntls_extra_key = "{extra[1]}"\n'
    toml = support.directory_config(relay_extra=lines)
    if metrics_port:  # the metrics listener is part of the admin API (its token made at first start)
        toml = toml.replace("[admin]\nenabled = false\n",
                            '[admin]\nlisten = "127.0.0.1:{admin_port}"\ntoken_file = "{dir}/admin.token"\n'
                            f'[metrics]\nenabled = true\nlisten = "127.0.0.1:{metrics_port}"\n')
    return harness.Relay(BINARY, toml)


def not_after(cert):
    """notAfter as Unix seconds, by openssl x509 (not by the relay)."""
    end = subprocess.run(["openssl", "x509", "-noout", "-enddate", "-in", cert], capture_output=True, text=True,
                         check=True).stdout.strip().split("=", 1)[1]
    when = datetime.datetime.strptime(end, "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
    return when.timestamp()


def start_error(relay):
    """The relay's start-up failure text ("" when it started)."""
    try:
        relay.start()
    except AssertionError as e:
        return str(e)
    finally:
        relay.cleanup()
    return ""


ecdsa = make_certificate("ecdsa", "ecdsa")
rsa = make_certificate("rsa", "rsa")
other_rsa = make_certificate("rsa", "other-rsa")
other_ecdsa = make_certificate("ecdsa", "other-ecdsa")
ECDSA_ONLY = "ECDSA+SHA256"
RSA_ONLY = "RSA-PSS+SHA256:RSA+SHA256"  # PSS for TLS 1.3, PKCS#1 too for TLS 1.2

for first, second, label in ((ecdsa, rsa, "ECDSA tls_cert + RSA tls_extra_cert"),
                             (rsa, ecdsa, "RSA tls_cert + ECDSA tls_extra_cert")):
    ec_pem = pem(ecdsa[0])
    rsa_pem = pem(rsa[0])
    metrics_port = harness.free_port()
    relay = relay_with(*first, extra=second, metrics_port=metrics_port)
    try:
        relay.start()
        metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10).read().decode()
        for listener, cert in (("smtp", first[0]), ("smtp_extra", second[0])):
            sample = f'dkim_relay_tls_certificate_not_after_seconds{{listener="{listener}"}} '
            value = [line[len(sample):] for line in metrics.splitlines() if line.startswith(sample)]
            results.check(len(value) == 1 and float(value[0]) == not_after(cert),
                          f"{label}: the notAfter gauge of listener {listener} is its certificate's: {value}")
        for version in ("-tls1_3", "-tls1_2"):
            results.check(served(relay.smtp_port, ECDSA_ONLY, version) == ec_pem,
                          f"{label}, {version}: an ECDSA-only client gets the ECDSA certificate")
            results.check(served(relay.smtp_port, RSA_ONLY, version) == rsa_pem,
                          f"{label}, {version}: an RSA-only client gets the RSA certificate")
        results.check(served(relay.smtp_port) == ec_pem,
                      f"{label}: a client with OpenSSL's default signature algorithms gets ECDSA (the fast choice)")
    finally:
        relay.cleanup()

# The control: the ECDSA certificate alone cannot serve an RSA-only client.
relay = relay_with(*ecdsa)
try:
    relay.start()
    results.check(served(relay.smtp_port, ECDSA_ONLY) == pem(ecdsa[0]), "ECDSA alone: an ECDSA client is served")
    results.check(served(relay.smtp_port, RSA_ONLY) is None, "ECDSA alone: an RSA-only client fails its handshake")
finally:
    relay.cleanup()

error = start_error(relay_with(*ecdsa, extra=other_ecdsa))
results.check("relay.tls_extra_cert" in error and "other key type" in error,
              f"a second ECDSA certificate is refused, naming relay.tls_extra_cert: {error[-300:]!r}")
error = start_error(relay_with(*ecdsa, extra=(rsa[0], other_rsa[1])))
results.check("relay.tls_extra_key" in error and other_rsa[1] in error,
              f"an extra key that is not the extra certificate's is refused, naming relay.tls_extra_key: {error[-300:]!r}")
os.chmod(rsa[1], 0o644)
error = start_error(relay_with(*ecdsa, extra=rsa))
results.check("relay.tls_extra_key" in error and "chmod 600" in error,
              f"an extra key others can read is refused, naming relay.tls_extra_key: {error[-300:]!r}")
os.chmod(rsa[1], 0o600)
relay = harness.Relay(BINARY, support.directory_config(
    relay_extra=f'tls_cert = "{ecdsa[0]}"\ntls_key = "{ecdsa[1]}"\ntls_extra_cert = "{rsa[0]}"\n'))
# The line of tls_extra_cert in directory_config's [relay] table.
line = open(relay.config).read().split("\n").index(f'tls_extra_cert = "{rsa[0]}"') + 1
error = start_error(relay)
results.check(f"dkim-relay.toml:{line}:1: relay.tls_extra_cert: is set but relay.tls_extra_key is not" in error,
              f"tls_extra_cert without tls_extra_key is a config error with its line, naming both keys: {error[-300:]!r}")

subprocess.run(["rm", "-rf", WORK])
results.finish()
