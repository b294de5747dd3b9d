#!/usr/bin/python3
"""Issue 12 item 2: scoped admin tokens.

Tokens of [[admin.tokens]] see only their domains (others answer 404 exactly like a domain that does
not exist, in the list and in per-domain metrics too); "read" changes nothing (403); only "admin"
adds or removes domains; the audit log names the token; GET /v1/token describes the caller's token.
What the key store holds afterwards is read from disk with `dkim-relay keys list`, not through the API.

usage: /usr/bin/python3 test_admin_scopes.py --binary PATH/dkim-relay [unittest args]
"""
import argparse
import json
import os
import sys
import unittest

import security_harness as h

BINARY = None
TOKENS = {"main": "m" * 40, "alpha-rotate": "r" * 40, "alpha-read": "e" * 40, "alpha-admin": "a" * 40,
          "scraper": "s" * 40}

CONFIG = """
[relay]
listen = ["127.0.0.1:{port}"]

[keystore]
path = "{keys}"
watch = false
demo_domain = ""

[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "{dir}/main.token"
per_domain_metrics = true
dns_resolver = "127.0.0.1:9"
dns_timeout = "200ms"

[[admin.tokens]]
name = "alpha-rotate"
token_file = "{dir}/alpha-rotate.token"
domains = ["alpha.test"]
role = "rotate"

[[admin.tokens]]
name = "alpha-read"
token_file = "{dir}/alpha-read.token"
domains = ["alpha.test"]
role = "read"

[[admin.tokens]]
name = "alpha-admin"
token_file = "{dir}/alpha-admin.token"
domains = ["alpha.test", "*.alpha.test"]
role = "admin"

[[admin.tokens]]
name = "scraper"
token_file = "{dir}/scraper.token"
domains = ["*"]
role = "metrics"
"""


class AdminScopesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = h.Relay(BINARY, ["alpha.test", "beta.test"], CONFIG, upstream=False)
        for name, token in TOKENS.items():
            h.write_secret(os.path.join(cls.relay.dir, name + ".token"), token)
        cls.relay.start(wait_for_admin=True)

    @classmethod
    def tearDownClass(cls):
        cls.relay.close()

    def api(self, token, method, path, body=None):
        return self.relay.http(method, path, TOKENS[token], body)

    def selectors_on_disk(self, domain):
        """The key files of a domain in the keystore directory, or None without the domain."""
        path = os.path.join(self.relay.keys, domain)
        if not os.path.isdir(path):
            return None
        return sorted(n[:-4] for n in os.listdir(path) if n.endswith(".pem"))

    def test_token_endpoint_describes_the_caller(self):
        self.assertEqual(self.api("alpha-rotate", "GET", "/v1/token"),
                         (200, {"name": "alpha-rotate", "role": "rotate", "domains": ["alpha.test"]}))
        status, body = self.api("main", "GET", "/v1/token")
        self.assertEqual((status, body["role"], body["domains"]), (200, "admin", ["*"]))
        self.assertEqual(self.relay.http("GET", "/v1/token", "x" * 40)[0], 401)

    def test_other_domain_is_absent_for_a_scoped_token(self):
        status, body = self.api("alpha-rotate", "GET", "/v1/domains")
        self.assertEqual(status, 200)
        self.assertEqual([d["domain"] for d in body["domains"]], ["alpha.test"])
        status, body = self.api("main", "GET", "/v1/domains")
        self.assertEqual(sorted(d["domain"] for d in body["domains"]), ["alpha.test", "beta.test"])

        missing = self.api("alpha-rotate", "GET", "/v1/domains/nosuch.test")
        hidden = self.api("alpha-rotate", "GET", "/v1/domains/beta.test")
        self.assertEqual(missing[0], 404)
        self.assertEqual(hidden[0], 404)
        self.assertEqual(hidden[1], json.loads(json.dumps(missing[1]).replace("nosuch.test", "beta.test")))
        self.assertEqual(self.api("alpha-rotate", "GET", "/v1/domains/BETA.test")[0], 404)
        self.assertEqual(self.api("alpha-rotate", "GET", "/v1/domains/beta.test/dns")[0], 404)
        self.assertEqual(self.api("alpha-rotate", "GET", "/v1/domains/alpha.test")[0], 200)

    def test_rotate_token_cannot_touch_the_other_domain(self):
        before = self.selectors_on_disk("beta.test")
        self.assertEqual(before, ["s1"])
        for method, path in (("POST", "/v1/domains/beta.test/rotate"),
                             ("POST", "/v1/domains/beta.test/keys/s1/retire"),
                             ("POST", "/v1/domains/beta.test/keys/s1/revoke"),
                             ("DELETE", "/v1/domains/beta.test/keys/s1"),
                             ("DELETE", "/v1/domains/beta.test?force=true")):
            status, _ = self.api("alpha-rotate", method, path, {} if method == "POST" else None)
            self.assertEqual(status, 404, path)
        self.assertEqual(self.selectors_on_disk("beta.test"), before)
        # Its own domain it can rotate.
        status, body = self.api("alpha-rotate", "POST", "/v1/domains/alpha.test/rotate", {"selector": "s2", "activate": "now"})
        self.assertIn(status, (201, 202), body)
        self.assertEqual(self.selectors_on_disk("alpha.test"), ["s1", "s2"])

    def test_read_token_changes_nothing(self):
        status, body = self.api("alpha-read", "POST", "/v1/domains/alpha.test/rotate", {"selector": "s9", "activate": "now"})
        self.assertEqual(status, 403, body)
        self.assertIn("alpha-read", json.dumps(body))
        self.assertNotIn("s9", self.selectors_on_disk("alpha.test"))
        self.assertEqual(self.api("alpha-read", "DELETE", "/v1/domains/alpha.test/keys/s1")[0], 403)
        self.assertEqual(self.api("alpha-read", "GET", "/v1/domains/alpha.test")[0], 200)

    def test_only_admin_adds_and_removes_domains(self):
        self.assertEqual(self.api("alpha-rotate", "POST", "/v1/domains", {"domain": "new.alpha.test"})[0], 403)
        self.assertEqual(self.api("alpha-rotate", "DELETE", "/v1/domains/alpha.test?force=true")[0], 403)
        self.assertIsNone(self.selectors_on_disk("new.alpha.test"))
        # A scoped admin adds within its scope, not beyond.
        self.assertEqual(self.api("alpha-admin", "POST", "/v1/domains", {"domain": "gamma.test"})[0], 403)
        self.assertIsNone(self.selectors_on_disk("gamma.test"))
        status, body = self.api("alpha-admin", "POST", "/v1/domains", {"domain": "new.alpha.test"})
        self.assertEqual(status, 201, body)
        self.assertIsNotNone(self.selectors_on_disk("new.alpha.test"))
        self.assertEqual(self.api("alpha-admin", "DELETE", "/v1/domains/new.alpha.test?force=true")[0], 200)
        self.assertIsNone(self.selectors_on_disk("new.alpha.test"))

    def test_metrics_need_an_unscoped_token(self):
        # Issue 24 item 9: fleet-wide counters are not for a tenant's token, whatever its role.
        for token in ("alpha-read", "alpha-rotate", "alpha-admin"):
            status, text = self.api(token, "GET", "/metrics")
            self.assertEqual(status, 403, token)
            self.assertNotIn("dkim_relay_", str(text))
            self.assertNotIn("beta.test", str(text))
        status, text = self.api("main", "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn('domain="beta.test"', text)

    def test_metrics_role_only_scrapes(self):
        status, text = self.api("scraper", "GET", "/metrics")
        self.assertEqual(status, 200)
        self.assertIn("dkim_relay_messages_signed_total", text)
        self.assertEqual(self.api("scraper", "GET", "/readyz")[0], 200)
        self.assertEqual(self.api("scraper", "GET", "/v1/token")[1]["role"], "metrics")
        self.assertEqual(self.api("scraper", "GET", "/v1/domains")[0], 403)
        self.assertEqual(self.api("scraper", "GET", "/v1/domains/alpha.test")[0], 403)
        self.assertEqual(self.api("scraper", "POST", "/v1/domains/alpha.test/rotate", {"activate": "now"})[0], 403)

    def test_audit_log_names_the_token(self):
        self.api("alpha-read", "POST", "/v1/domains/alpha.test/rotate", {"activate": "now"})
        self.api("alpha-rotate", "POST", "/v1/domains/beta.test/rotate", {"activate": "now"})
        log = self.relay.log()
        self.assertRegex(log, r"admin audit: token=alpha-read .*POST /v1/domains/alpha\.test/rotate -> 403")
        self.assertRegex(log, r"admin audit: token=alpha-rotate .*POST /v1/domains/beta\.test/rotate -> 404")
        for token in TOKENS.values():
            self.assertNotIn(token, log)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
