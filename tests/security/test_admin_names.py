#!/usr/bin/python3
"""Issue 12 item 7, admin part: names the key store refuses are a 400 from the admin API (never a
500, never a created domain), xn-- labels that are not valid Punycode are refused, and the CLI's
error messages print control characters escaped instead of sending them to the terminal.

usage: /usr/bin/python3 test_admin_names.py --binary PATH/dkim-relay [unittest args]
"""
import argparse
import os
import subprocess
import sys
import unittest

import security_harness as h

BINARY = None
TOKEN = "n" * 40

CONFIG = """
[relay]
listen = ["127.0.0.1:{port}"]

[keystore]
path = "{keys}"
watch = false
demo_domain = ""

[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "{dir}/admin.token"
dns_resolver = "127.0.0.1:9"
"""

# Labels after "xn--" that are not the Punycode of any Unicode label ("zz" overflows past U+10FFFF,
# "99999999" overflows 32 bits), or that are Punycode of plain ASCII (not an A-label), or that do not
# encode back to themselves.
BAD_A_LABELS = ["xn--zz.test", "xn--99999999.test", "xn--abc-.test", "xn--ab-.test", "xn--0.test"]
REFUSED = ["a..b.test", "-a.test", "a_b.test", "x" * 64 + ".test", "single", "a.b/c", "a b.test", "a\u0000b.test"]


class AdminNamesTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.relay = h.Relay(BINARY, ["alpha.test"], CONFIG, upstream=False)
        h.write_secret(os.path.join(cls.relay.dir, "admin.token"), TOKEN)
        cls.relay.start(wait_for_admin=True)

    @classmethod
    def tearDownClass(cls):
        cls.relay.close()

    def domains_on_disk(self):
        return sorted(n for n in os.listdir(self.relay.keys) if not n.startswith("."))

    def test_refused_names_are_400(self):
        for name in REFUSED + BAD_A_LABELS:
            with self.subTest(name=name):
                status, body = self.relay.http("POST", "/v1/domains", TOKEN, {"domain": name})
                self.assertEqual(status, 400, body)
                self.assertIn("error", body)
        self.assertEqual(self.domains_on_disk(), ["alpha.test"])

    def test_valid_a_label_is_accepted(self):
        status, body = self.relay.http("POST", "/v1/domains", TOKEN, {"domain": "xn--bcher-kva.test"})
        self.assertEqual(status, 201, body)
        status, body = self.relay.http("GET", "/v1/domains/b%C3%BCcher.test", TOKEN)
        self.assertEqual((status, body["domain"]), (200, "xn--bcher-kva.test"))

    def test_refused_selectors_are_400(self):
        for selector in ["-x", "a..b", "a/b", "x" * 64, "a b"]:
            with self.subTest(selector=selector):
                status, body = self.relay.http("POST", "/v1/domains/alpha.test/rotate", TOKEN, {"selector": selector})
                self.assertEqual(status, 400, body)

    def test_no_500_anywhere(self):
        self.assertNotIn("-> 500", self.relay.log())


class CliEscapeTest(unittest.TestCase):
    def test_control_characters_in_cli_errors_are_escaped(self):
        relay = h.Relay(BINARY, [], CONFIG, upstream=False)
        try:
            evil = "evil\x1b]0;pwned\x07\x1b[2J\r\nkeys: all good.test"
            result = subprocess.run([BINARY, "keys", "--keystore", relay.keys, "add", evil], capture_output=True)
            self.assertNotEqual(result.returncode, 0)
            output = result.stdout + result.stderr
            for control in (b"\x1b", b"\x07", b"\r"):
                self.assertNotIn(control, output)
            self.assertIn(b"\\x1b]0;pwned\\x07", output)
            self.assertEqual(output.count(b"\n"), 1, output)  # the fake second line stays on the first
            result = subprocess.run([BINARY, "keys", "--keystore", relay.keys, "add", "bad\x9b31m.test"],
                                    capture_output=True)
            self.assertNotIn("\x9b".encode(), result.stdout + result.stderr)
            result = subprocess.run([BINARY, "sign", "--domain", "d.test", "--selector", "s", "--key", "/dev/null",
                                     "--canonicalization", "x\x1b[31m"], capture_output=True, input=b"")
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(b"canonicalization x\\x1b[31m", result.stderr)
        finally:
            relay.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
