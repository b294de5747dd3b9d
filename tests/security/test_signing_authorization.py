#!/usr/bin/python3
"""Issue 12 item 1: each client signs only its own domains.

Two tenants share one relay: users alice (alpha.test and its subdomains) and bob (beta.test only),
and a network rule for 127.0.0.2 (beta.test). Each signs its own and is refused the other's, also
through parent fallback and through the network rule; the refusal is 550 5.7.1 naming the domain and
nothing reaches the upstream, although relay.unsigned = "pass". Accepted mail is checked with dkimpy
and Mail::DKIM. `dkim-relay hash-password` output is checked against Python's own PBKDF2.

usage: /usr/bin/python3 test_signing_authorization.py --binary PATH/dkim-relay [unittest args]
"""
import argparse
import base64
import hashlib
import os
import re
import smtplib
import socket
import subprocess
import sys
import time
import unittest

import security_harness as h

BINARY = None
ALICE_PASSWORD = "alice-Secret-1"
BOB_PASSWORD = "bob-Secret-2"

CONFIG = """
[relay]
listen = ["127.0.0.1:{port}"]
hostname = "relay.security.test"
unsigned = "pass"
allow_auth_without_tls = true
threads = 2

[upstream]
type = "smtp"
host = "127.0.0.1"
port = {upstream_port}
starttls = "none"
connect_timeout = "5s"
command_timeout = "10s"

[keystore]
path = "{keys}"
watch = false
demo_domain = ""

[admin]
enabled = false

[[auth.users]]
name = "alice"
password_hash = "%s"
domains = ["alpha.test", "*.alpha.test"]

[[auth.users]]
name = "bob"
password_hash = "%s"
domains = ["beta.test"]

[[relay.clients]]
networks = ["127.0.0.2/32"]
domains = ["beta.test"]
""" % (h.pbkdf2_hash(ALICE_PASSWORD), h.pbkdf2_hash(BOB_PASSWORD))


def message(domain, message_id):
    return ("From: Sender <sender@%s>\r\nTo: Rcpt <rcpt@example.net>\r\nSubject: tenants\r\n"
            "Message-ID: <%s>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nHello tenant.\r\n"
            % (domain, message_id)).encode()


class SigningAuthorizationTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = h.Relay(BINARY, ["alpha.test", "beta.test"], CONFIG).start()

    @classmethod
    def tearDownClass(cls):
        cls.relay.close()

    def send(self, from_domain, user=None, password=None, source="127.0.0.1"):
        """(code, text) of the DATA reply, sent with smtplib."""
        with smtplib.SMTP("127.0.0.1", self.relay.port, timeout=10, source_address=(source, 0)) as client:
            client.ehlo("tenant.client")
            if user:
                client.login(user, password)
            self.assertEqual(client.mail("sender@%s" % from_domain)[0], 250)
            self.assertEqual(client.rcpt("rcpt@example.net")[0], 250)
            self.last_id = "t-%d@%s" % (time.monotonic_ns(), from_domain)
            code, text = client.data(message(from_domain, self.last_id))
            return code, text.decode()

    def assert_signed(self, from_domain, expect_d, **kwargs):
        before = len(self.relay.captured_messages())
        code, text = self.send(from_domain, **kwargs)
        self.assertEqual(code, 250, text)
        content = self.relay.wait_for_messages(before + 1)[-1]
        self.assertIn(b"From: Sender <sender@%s>" % from_domain.encode(), content)
        d_tags = re.findall(rb"DKIM-Signature:[^\r]*?\bd=([^;\s]+)", content.replace(b"\r\n\t", b" "))
        self.assertEqual(d_tags, [expect_d.encode()], content[:600])
        self.assertEqual(h.dkimpy_results(content, self.relay.txt), [True], "dkimpy")
        rc, out = self.relay.mail_dkim(content)
        self.assertEqual(rc, 0, out)
        self.assertTrue(out.startswith("pass %s s1 rsa-sha256" % expect_d), out)

    def assert_refused(self, from_domain, **kwargs):
        before = len(self.relay.captured_messages())
        code, text = self.send(from_domain, **kwargs)
        refused_id = self.last_id.encode()
        self.assertEqual(code, 550, text)
        self.assertTrue(text.startswith("5.7.1 "), text)
        self.assertIn(from_domain, text)
        # Not forwarded at all, although relay.unsigned = "pass": give a wrongly forwarded message
        # the time a forwarded one takes (a signed one arrives within milliseconds).
        self.assert_signed("alpha.test", "alpha.test", user="alice", password=ALICE_PASSWORD)
        captured = self.relay.captured_messages()
        self.assertEqual(len(captured), before + 1)
        self.assertFalse([c for c in captured if refused_id in c])

    def test_each_user_signs_its_own_domain(self):
        self.assert_signed("alpha.test", "alpha.test", user="alice", password=ALICE_PASSWORD)
        self.assert_signed("beta.test", "beta.test", user="bob", password=BOB_PASSWORD)

    def test_each_user_is_refused_the_other_tenants_domain(self):
        self.assert_refused("beta.test", user="alice", password=ALICE_PASSWORD)
        self.assert_refused("alpha.test", user="bob", password=BOB_PASSWORD)

    def test_a_domain_without_key_is_refused_not_passed_unsigned(self):
        self.assert_refused("gamma.test", user="bob", password=BOB_PASSWORD)

    def test_parent_fallback_needs_the_parent_wildcard(self):
        # alice has *.alpha.test: mail.alpha.test is signed with alpha.test's key.
        self.assert_signed("mail.alpha.test", "alpha.test", user="alice", password=ALICE_PASSWORD)
        # bob has beta.test but not *.beta.test: no signature with beta.test's key for a subdomain.
        self.assert_refused("mail.beta.test", user="bob", password=BOB_PASSWORD)
        # and alice's wildcard is for her own tree only.
        self.assert_refused("mail.beta.test", user="alice", password=ALICE_PASSWORD)

    def test_network_rule(self):
        self.assert_signed("beta.test", "beta.test", source="127.0.0.2")
        self.assert_refused("alpha.test", source="127.0.0.2")
        self.assert_refused("mail.beta.test", source="127.0.0.2")
        # Clients matching no [[relay.clients]] rule keep signing anything (the single-app sidecar).
        self.assert_signed("alpha.test", "alpha.test", source="127.0.0.1")
        self.assert_signed("beta.test", "beta.test", source="127.0.0.1")

    def test_swaks_refused_for_other_tenant(self):
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.relay.port), "--from", "x@alpha.test",
             "--to", "rcpt@example.net", "--auth", "PLAIN", "--auth-user", "bob", "--auth-password", BOB_PASSWORD,
             "--header", "From: <x@alpha.test>", "--body", "swaks\n", "--timeout", "10"],
            capture_output=True, text=True)
        self.assertNotEqual(result.returncode, 0)
        self.assertRegex(result.stdout, r"<\*\* 550 5\.7\.1 .*alpha\.test")

    def test_log_line_names_user_or_rule(self):
        self.send("beta.test", user="bob", password=BOB_PASSWORD)
        self.send("alpha.test", source="127.0.0.2")
        self.send("alpha.test", source="127.0.0.1")
        log = self.relay.log()
        self.assertRegex(log, r"user=bob rule=user:bob from_domain=beta\.test .*reply=250")
        self.assertRegex(log, r"user=- rule=relay\.clients\[0\] from_domain=alpha\.test .*reply=550 .*"
                              r"reason=not authorized to sign for alpha\.test")
        self.assertRegex(log, r"user=- rule=allowed_networks from_domain=alpha\.test .*reply=250")


class ConfigAndCliTest(unittest.TestCase):
    def test_user_without_domains_is_a_config_error_naming_the_user(self):
        config = CONFIG.replace('domains = ["beta.test"]\n\n', "\n")
        relay = h.Relay(BINARY, [], config, upstream=False)
        try:
            code, output = relay.run_to_exit()
            self.assertNotEqual(code, 0, output)
            self.assertIn('missing domains for user "bob"', output)
        finally:
            relay.close()

    def test_hash_password_prints_a_hash_python_agrees_with(self):
        result = subprocess.run([BINARY, "hash-password", "--iterations", "2000"], input="pässword-1\n",
                                capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        line = result.stdout.strip()
        self.assertNotIn("pässword", result.stdout + result.stderr)
        match = re.fullmatch(r"\$pbkdf2-sha256\$2000\$([A-Za-z0-9+/=.]+)\$([A-Za-z0-9+/=.]+)", line)
        self.assertIsNotNone(match, line)

        def b64(text):
            return base64.b64decode(text.replace(".", "+") + "=" * (-len(text) % 4))
        salt, derived = b64(match.group(1)), b64(match.group(2))
        self.assertGreaterEqual(len(salt), 16)
        self.assertEqual(hashlib.pbkdf2_hmac("sha256", "pässword-1".encode(), salt, 2000, len(derived)), derived)
        # Two runs salt differently.
        again = subprocess.run([BINARY, "hash-password", "--iterations", "2000"], input="pässword-1\n",
                               capture_output=True, text=True, timeout=30)
        self.assertNotEqual(again.stdout, result.stdout)

    def test_hash_password_refuses_an_empty_password(self):
        result = subprocess.run([BINARY, "hash-password"], input="\n", capture_output=True, text=True, timeout=30)
        self.assertNotEqual(result.returncode, 0)
        self.assertEqual(result.stdout, "")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
