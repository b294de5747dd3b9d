"""GET /v1/domains/{d}/readiness against a dnsmasq on loopback: DKIM published for the active selector,
DMARC present with p= and adkim=, alignment of d= with the From domain, SPF for information.

usage: test_admin_readiness.py <path to admin_test_server>
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_harness import AdminServer  # noqa: E402
from test_admin_dns import Dnsmasq, create  # noqa: E402

BINARY = None


class ReadinessTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = Dnsmasq()
        cls.dns.start()
        cls.server = AdminServer(BINARY, "--dns-resolver", "127.0.0.1:%d" % cls.dns.port, "--dns-timeout-ms", "2000")
        keys = {domain: create(cls.server, domain, selector="s1", algorithm="ed25519-sha256")
                for domain in ("nodmarc.test", "none.test", "strict.test", "relaxed.test", "unpub.test", "bad.test")}
        txt = {"s1._domainkey.%s" % d: [k["dns"]["strings"]] for d, k in keys.items() if d != "unpub.test"}
        txt.update({
            "_dmarc.none.test": ["v=DMARC1; p=none; rua=mailto:d@none.test"],
            "_dmarc.strict.test": ["v=DMARC1; p=reject; sp=quarantine; adkim=s"],
            "_dmarc.relaxed.test": ["v=DMARC1; p=reject"],
            "_dmarc.unpub.test": ["v=DMARC1; p=quarantine"],
            "_dmarc.bad.test": ["v=DMARC1; p=maybe"],
            "strict.test": ["v=spf1 ip4:192.0.2.0/24 -all", "google-site-verification=abc"],
            "none.test": ["some-other-txt"],
        })
        cls.dns.start(txt=txt)

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.dns.stop()

    def readiness(self, domain, query=""):
        status, _, body = self.server.request("GET", "/v1/domains/%s/readiness%s" % (domain, query))
        self.assertEqual(status, 200, body)
        return body

    def test_no_dmarc(self):
        body = self.readiness("nodmarc.test")
        self.assertEqual(body["dkim"]["status"], "published", body)
        self.assertEqual(body["dkim"]["selector"], "s1")
        self.assertEqual(body["dmarc"]["status"], "missing")
        self.assertEqual(body["dmarc"]["name"], "_dmarc.nodmarc.test")
        self.assertIsNone(body["dmarc"]["p"])
        self.assertFalse(body["ready"])
        self.assertEqual(body["spf"]["status"], "missing")

    def test_p_none_is_present_and_aligned(self):
        body = self.readiness("none.test")
        self.assertEqual(body["dmarc"]["status"], "present", body)
        self.assertEqual(body["dmarc"]["p"], "none")
        self.assertEqual(body["dmarc"]["adkim"], "r")
        self.assertTrue(body["dmarc"]["aligned"])
        self.assertTrue(body["ready"])
        self.assertEqual(body["spf"]["status"], "missing")  # a TXT record that is not SPF

    def test_reject_strict_aligned_signing_domain(self):
        body = self.readiness("strict.test")
        self.assertEqual(body["dmarc"]["p"], "reject", body)
        self.assertEqual(body["dmarc"]["policy"], "reject")
        self.assertEqual(body["dmarc"]["adkim"], "s")
        self.assertEqual(body["dmarc"]["alignment"], "strict")
        self.assertTrue(body["dmarc"]["aligned"])
        self.assertTrue(body["ready"])
        self.assertEqual(body["spf"]["status"], "present")
        self.assertEqual(body["spf"]["record"], "v=spf1 ip4:192.0.2.0/24 -all")

    def test_reject_strict_non_aligned_signing_domain(self):
        # Mail From news.strict.test is signed d=strict.test (parent fallback): adkim=s refuses that.
        body = self.readiness("strict.test", "?from=news.strict.test")
        self.assertEqual(body["from_domain"], "news.strict.test")
        self.assertEqual(body["dmarc"]["status"], "present", body)
        self.assertEqual(body["dmarc"]["name"], "_dmarc.strict.test")
        self.assertTrue(body["dmarc"]["inherited"])
        self.assertEqual(body["dmarc"]["policy"], "quarantine")  # sp= applies to the subdomain
        self.assertEqual(body["dmarc"]["alignment"], "strict")
        self.assertFalse(body["dmarc"]["aligned"])
        self.assertIn("does not align", body["dmarc"]["alignment_detail"])
        self.assertFalse(body["ready"])

    def test_relaxed_subdomain_aligns(self):
        body = self.readiness("relaxed.test", "?from=Mail.Relaxed.Test")
        self.assertEqual(body["dmarc"]["status"], "present", body)
        self.assertEqual(body["dmarc"]["policy"], "reject")
        self.assertTrue(body["dmarc"]["aligned"])
        self.assertTrue(body["ready"])

    def test_unpublished_key_is_not_ready(self):
        body = self.readiness("unpub.test")
        self.assertEqual(body["dkim"]["status"], "pending", body)
        self.assertEqual(body["dmarc"]["status"], "present")
        self.assertFalse(body["ready"])

    def test_invalid_dmarc(self):
        body = self.readiness("bad.test")
        self.assertEqual(body["dmarc"]["status"], "invalid", body)
        self.assertIn("p=", body["dmarc"]["detail"])
        self.assertFalse(body["ready"])

    def test_bad_queries(self):
        for query, word in (("?from=other.test", "subdomain"), ("?from=xstrict.test", "subdomain"),
                            ("?color=red", "unknown query parameter")):
            status, _, body = self.server.request("GET", "/v1/domains/strict.test/readiness" + query)
            self.assertEqual(status, 400, (query, body))
            self.assertIn(word, body["message"])
        status, _, body = self.server.request("GET", "/v1/domains/absent.test/readiness")
        self.assertEqual(status, 404, body)
        status, _, body = self.server.request("GET", "/v1/domains/strict.test/readiness", token="wrong-token-xxxxxx")
        self.assertEqual(status, 401, body)


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_admin_readiness.py <admin_test_server>")
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
