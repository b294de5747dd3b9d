"""DNS tests of the admin API: /v1/domains/{d}/dns against a dnsmasq the test starts on loopback
(and a UDP socket that never answers, for timeouts). Activation after DNS is the rotation
scheduler's (tests/system/test_rotation_schedule.py).

usage: test_admin_dns.py <path to admin_test_server>
"""
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_harness import AdminServer, free_port, wait_until  # noqa: E402

BINARY = None
DNSMASQ = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"


def dns_answers(port, name, qtype=16, timeout=0.5):
    """True when a server on 127.0.0.1:port answers a query (any rcode)."""
    query = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    query += b"".join(bytes([len(label)]) + label.encode() for label in name.split(".")) + b"\0"
    query += struct.pack(">HH", qtype, 1)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        try:
            sock.sendto(query, ("127.0.0.1", port))
            return sock.recv(4096)[:2] == b"\x42\x42"
        except OSError:
            return False


class Dnsmasq:
    """dnsmasq serving fixed records for *.test; restart() swaps the records on the same port."""

    def __init__(self):
        self.port = free_port()
        self.proc = None
        self.log = tempfile.TemporaryFile()

    def start(self, txt=None, cname=None, hosts=None):
        args = [DNSMASQ, "--no-daemon", "--port=%d" % self.port, "--listen-address=127.0.0.1", "--bind-interfaces",
                "--no-resolv", "--no-hosts", "--conf-file=/dev/null", "--pid-file=", "--local=/test/"]
        for name, strings in (txt or {}).items():
            for record in strings:
                # One --txt-record per record; each comma-separated part is one <=255-byte string. No shell
                # runs here, so no quotes: dnsmasq would keep them as part of the text.
                parts = record if isinstance(record, list) else [record]
                assert all(len(p) <= 255 and "," not in p for p in parts)
                args.append("--txt-record=%s,%s" % (name, ",".join(parts)))
        for alias, target in (cname or {}).items():
            args.append("--cname=%s,%s" % (alias, target))
        for name, address in (hosts or {}).items():
            args.append("--host-record=%s,%s" % (name, address))
        self.stop()
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log)
        wait_until(lambda: self.proc.poll() is not None or dns_answers(self.port, "probe.test"), 10,
                   "dnsmasq to answer")
        if self.proc.poll() is not None:
            self.log.seek(0)
            raise RuntimeError("dnsmasq failed: " + self.log.read().decode(errors="replace"))

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.proc = None


def dns_status(server, domain):
    status, _, body = server.request("GET", "/v1/domains/%s/dns" % domain)
    assert status == 200, body
    return {row["selector"]: row for row in body["selectors"]}


def create(server, domain, **extra):
    status, _, body = server.request("POST", "/v1/domains", dict(domain=domain, **extra))
    assert status == 201, body
    return body["key"]


class DnsStatusTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        cls.dns.start()
        cls.server = AdminServer(BINARY, "--dns-resolver", "127.0.0.1:%d" % cls.dns.port, "--dns-timeout-ms", "2000",
                                 "--dns-check-interval-ms", "200")

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dns.stop()

    def test_published_pending_mismatch_and_cname(self):
        published = create(self.server, "pub.test", selector="s1")  # RSA-2048: a TXT value > 255 bytes
        pending = create(self.server, "pend.test", selector="s1")
        nodata = create(self.server, "nodata.test", selector="s1", algorithm="ed25519-sha256")
        mismatch = create(self.server, "mis.test", selector="s1")
        delegated = create(self.server, "cname.test", selector="s1")
        big = create(self.server, "big.test", selector="s1", bits=4096)
        self.assertGreater(len(published["dns"]["value"]), 255)
        self.assertGreater(len(published["dns"]["strings"]), 1)

        self.dns.start(
            txt={
                "s1._domainkey.pub.test": [published["dns"]["strings"]],
                "s1._domainkey.mis.test": ["v=DKIM1; k=rsa; p=MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDwrong"],
                "s1.keys.provider.test": [delegated["dns"]["strings"]],
                # Non-DKIM filler pushes the answer past the 1232-byte EDNS size: c-ares retries over TCP.
                "s1._domainkey.big.test": [big["dns"]["strings"], ["x" * 250, "y" * 250], ["z" * 250, "w" * 250]],
            },
            cname={"s1._domainkey.cname.test": "s1.keys.provider.test"},
            hosts={"s1._domainkey.nodata.test": "127.0.0.9"},
        )
        self.assertEqual(dns_status(self.server, "pub.test")["s1"]["status"], "published")
        self.assertEqual(dns_status(self.server, "pub.test")["s1"]["found"], [published["dns"]["value"]])
        self.assertEqual(dns_status(self.server, "pend.test")["s1"]["status"], "pending")
        self.assertEqual(dns_status(self.server, "nodata.test")["s1"]["status"], "pending")
        row = dns_status(self.server, "mis.test")["s1"]
        self.assertEqual(row["status"], "mismatch")
        self.assertIn("different", row["detail"])
        self.assertEqual(dns_status(self.server, "cname.test")["s1"]["status"], "published")
        row = dns_status(self.server, "big.test")["s1"]
        self.assertEqual(row["status"], "published", row["detail"])
        self.assertEqual(len(row["found"]), 3)
        # The other zones' records are not taken for this one's.
        self.assertNotEqual(pending["dns"]["value"], published["dns"]["value"])
        self.assertNotEqual(nodata["dns"]["value"], mismatch["dns"]["value"])

    def key_state(self, domain, selector):
        status, _, body = self.server.request("GET", "/v1/domains/" + domain)
        self.assertEqual(status, 200)
        return {k["selector"]: k["state"] for k in body["selectors"]}[selector]


class DnsTimeoutTest(unittest.TestCase):
    def test_silent_server_reports_a_timeout(self):
        silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        silent.bind(("127.0.0.1", 0))
        server = AdminServer(BINARY, "--dns-resolver", "127.0.0.1:%d" % silent.getsockname()[1],
                             "--dns-timeout-ms", "600")
        try:
            create(server, "slow.test", selector="s1")
            started = time.monotonic()
            row = dns_status(server, "slow.test")["s1"]
            elapsed = time.monotonic() - started
            self.assertEqual(row["status"], "error")
            self.assertIn("timeout", row["detail"].lower())
            self.assertLess(elapsed, 5)
            # The query did reach the silent server.
            silent.settimeout(0)
            self.assertTrue(silent.recv(4096))
        finally:
            server.stop()
            silent.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_admin_dns.py <admin_test_server>")
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
