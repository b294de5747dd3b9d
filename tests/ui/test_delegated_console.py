"""The console's add-domain flow for a delegated domain, in headless Chromium: the page shows the CNAMEs
the owner publishes once, Pending validation, and moves to Connected without a reload once the test
(as the owner) adds them. The relay publishes the key itself on a real BIND 9 (RFC 2136 + TSIG).

usage: test_delegated_console.py <path to dkim-relay>
"""
import os
import shutil
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_harness as h  # noqa: E402
from console_harness import By, Keys  # noqa: E402
from bind_server import BindServer  # noqa: E402  (tests/system, on the harness's path)

BINARY = None
DOMAIN, ZONE = "shop.test", "dkim.esp.test"
EXTRA_CONFIG = """
[dns.publish]
type = "rfc2136"
server = "{bind}"
zone = "%s"
tsig_key_file = "{dir}/tsig.key"
ttl = 1
""" % ZONE


class DelegatedConsoleTest(unittest.TestCase):
    def test_add_delegated_domain_goes_from_pending_validation_to_connected(self):
        bind = BindServer({DOMAIN: "", ZONE: ""}, dynamic=[DOMAIN, ZONE])
        relay = None
        driver = None
        try:
            config = h.RELAY_CONFIG.replace("{dns_port}", str(bind.port)) + EXTRA_CONFIG.replace("{bind}", bind.address)
            relay = h.harness.Relay(BINARY, config)
            key_path = os.path.join(relay.dir, "tsig.key")
            shutil.copyfile(bind.tsig_key_file, key_path)
            os.chmod(key_path, 0o600)
            relay.start()
            with open(os.path.join(relay.dir, "admin.token")) as f:
                token = f.read().strip()

            driver = h.start_browser()
            driver.get("http://127.0.0.1:%d/ui/" % relay.admin_port)
            h.wait(driver, lambda d: h.focused_id(d) == "token", "the token field to have the focus")
            h.press(driver, token, Keys.ENTER)
            h.wait(driver, lambda d: d.find_element(By.ID, "add-form").is_displayed(), "the add-domain form")
            driver.find_element(By.ID, "add-domain").send_keys(DOMAIN)
            driver.find_element(By.ID, "add-delegated").click()
            driver.find_element(By.ID, "add-button").click()
            dialog = h.wait(driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None
                            and d.find_element(By.ID, "confirm"), "the confirmation dialog")
            self.assertIn("delegated domain", dialog.find_element(By.ID, "confirm-text").text)
            driver.find_element(By.ID, "confirm-ok").click()

            key = DOMAIN.replace(".", "_")
            status = h.wait(driver, lambda d: d.find_element(By.ID, "delegation-status-" + key), "the delegation status")
            self.assertEqual(status.get_attribute("data-status"), "Pending validation", status.text)
            cnames = [driver.find_element(By.ID, "delegation-cname-%s-%d" % (key, i)).get_attribute("value")
                      for i in range(2)]
            expected = ["%s._domainkey.%s. CNAME %s.%s.%s." % (slot, DOMAIN, slot, DOMAIN, ZONE) for slot in ("dkr1", "dkr2")]
            self.assertEqual(cnames, expected)
            h.screenshot(driver, "delegated-pending")

            # The owner publishes the CNAMEs; the relay has published the key behind dkr1 by itself.
            bind.nsupdate(DOMAIN, ["update add %s 60 CNAME %s" % tuple(line.split(" CNAME ")) for line in expected])
            h.wait(driver, lambda d: d.find_element(By.ID, "delegation-status-" + key).get_attribute("data-status")
                   == "Connected", "Connected", timeout=40)
            rows = driver.find_elements(By.CSS_SELECTOR, "#delegation-%s tr[data-slot]" % key)
            self.assertEqual([r.get_attribute("data-slot") for r in rows], ["dkr1", "dkr2"])
            self.assertIn("active", rows[0].text)
            self.assertEqual(bind.txt("dkr1._domainkey." + DOMAIN)[0][:18], "v=DKIM1; k=rsa; p=")
            h.screenshot(driver, "delegated-connected")
            self.assertEqual(h.browser_problems(driver), [])
        finally:
            if driver is not None:
                h.stop_browser(driver)
            if relay is not None:
                relay.stop()
                relay.cleanup()
            bind.close()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_delegated_console.py <dkim-relay>")
    BINARY = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
