"""A `read` token (issue 12's scoped tokens) sees the domains and their records but no action buttons.
Needs `[[admin.tokens]]` in the config: before scoped tokens exist the relay refuses this config at
start, and this test fails loudly.

usage: test_read_token.py <path to dkim-relay>
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_harness as h  # noqa: E402
from console_harness import By, Keys  # noqa: E402

BINARY = None
READ_TOKEN = "read-token-" + os.urandom(12).hex()
EXTRA_CONFIG = """
[[admin.tokens]]
name = "viewer"
token_file = "{dir}/viewer.token"
domains = ["*"]
role = "read"
"""


class ReadTokenTest(unittest.TestCase):
    def test_read_token_sees_no_action_buttons(self):
        dns = h.Dnsmasq()
        dns.start()
        relay = None
        driver = None
        try:
            # harness.Relay writes the config into a fresh directory: put the token file there first.
            relay = h.harness.Relay(BINARY, h.RELAY_CONFIG.replace("{dns_port}", str(dns.port)) + EXTRA_CONFIG)
            path = os.path.join(relay.dir, "viewer.token")
            with open(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "w") as f:
                f.write(READ_TOKEN + "\n")
            relay.start()
            with open(os.path.join(relay.dir, "admin.token")) as f:
                api = h.Api(relay.admin_port, f.read().strip())
            status, body = api.call("POST", "/v1/domains", {"domain": "seen.test", "selector": "s1"})
            self.assertEqual(status, 201, body)
            status, body = api.call("GET", "/v1/token", token=READ_TOKEN)
            self.assertEqual((status, body.get("role")), (200, "read"), body)

            driver = h.start_browser()
            driver.get("http://127.0.0.1:%d/ui/" % relay.admin_port)
            h.wait(driver, lambda d: h.focused_id(d) == "token", "the token field to have the focus")
            h.press(driver, READ_TOKEN, Keys.ENTER)
            h.wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, 'section[data-domain="seen.test"] td.dns-status'),
                   "the domain list")
            self.assertIn("role read", driver.find_element(By.ID, "who").text)
            self.assertFalse(driver.find_element(By.ID, "add-form").is_displayed())
            self.assertEqual(driver.find_elements(By.CSS_SELECTOR, "#domains button[data-action]"), [])
            # The records stay readable and copyable.
            self.assertTrue(driver.find_element(By.ID, "txt-value-seen_test-s1").get_attribute("value")
                            .startswith("v=DKIM1; k=rsa; p="))
            h.screenshot(driver, "read-token")
            self.assertEqual(h.browser_problems(driver), [])
        finally:
            if driver is not None:
                h.stop_browser(driver)
            if relay is not None:
                relay.cleanup()
            dns.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_read_token.py <dkim-relay>")
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
