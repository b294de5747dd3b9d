"""The operator console in a real browser: headless Chromium against the real dkim-relay binary, with
dnsmasq on loopback serving the records the test publishes. Key records are derived from the key
files by openssl, independently of the relay.

usage: test_console.py <path to dkim-relay>   (screenshots go to $DKR_UI_ARTIFACTS)
"""
import os
import sys
import unittest
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import console_harness as h  # noqa: E402
from console_harness import By, Keys  # noqa: E402

BINARY = None
DOMAIN = "shop.test"
# The page asks /v1/token for the role; before scoped tokens exist the API answers 404 and the page
# takes the token for an admin token. That network line is expected, nothing else is.
TOKEN_PROBE = r"/v1/token .*404"


def fetch(port, path, method="GET", headers=None):
    request = urllib.request.Request("http://127.0.0.1:%d%s" % (port, path), method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers, error.read()


class ConsoleTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dns = h.Dnsmasq()
        cls.dns.start()
        cls.records = {}
        cls.relay, cls.token = h.start_relay(BINARY, dns_port=cls.dns.port)
        cls.api = h.Api(cls.relay.admin_port, cls.token)
        cls.driver = h.start_browser()
        cls.url = "http://127.0.0.1:%d/ui/" % cls.relay.admin_port

    @classmethod
    def tearDownClass(cls):
        try:
            h.screenshot(cls.driver, "final")
        finally:
            h.stop_browser(cls.driver)
            cls.relay.cleanup()
            cls.dns.stop()

    def publish(self, **records):
        """Serves `records` (name -> TXT value) in addition to what was published before."""
        self.records.update(records)
        self.dns.start(txt={name: [h.txt_strings(value)] for name, value in self.records.items()})

    def wait_status(self, selector, word, domain=DOMAIN, timeout=20):
        """Waits until the selector's DNS status reads `word`; returns (data-status, detail text)."""
        def shown(driver):
            cell = h.dns_status_cell(driver, domain, selector)
            if cell is None or cell.find_element(By.CSS_SELECTOR, ".badge").text != word:
                return None
            details = cell.find_elements(By.CSS_SELECTOR, ".detail")
            return cell.get_attribute("data-status"), " ".join(d.text for d in details)
        return h.wait(self.driver, shown, "%s/%s to show %s" % (domain, selector, word), timeout)

    def confirm_with_keyboard(self, expected_text):
        dialog = h.wait(self.driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None
                        and d.find_element(By.ID, "confirm"), "the confirmation dialog")
        self.assertIn(expected_text, dialog.find_element(By.ID, "confirm-text").text)
        self.assertEqual(h.focused_id(self.driver), "confirm-cancel")  # the safe choice has the focus
        h.press(self.driver, Keys.TAB)
        self.assertEqual(h.focused_id(self.driver), "confirm-ok")
        h.press(self.driver, Keys.ENTER)
        h.wait(self.driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is None,
               "the dialog to close")

    def activate_with_keyboard(self, element_id):
        h.tab_to(self.driver, element_id)
        h.press(self.driver, Keys.ENTER)

    def assert_console_clean(self, *allowed):
        self.assertEqual(h.browser_problems(self.driver, allowed), [])

    # The steps share one browser session and run in name order.

    def test_01_console_responses_carry_security_headers(self):
        port = self.relay.admin_port
        status, headers, body = fetch(port, "/ui/")
        self.assertEqual(status, 200)
        self.assertTrue(headers["Content-Type"].startswith("text/html"), headers["Content-Type"])
        self.assertTrue(headers["Content-Security-Policy"].startswith("default-src 'self'"))
        self.assertNotIn("unsafe-inline", headers["Content-Security-Policy"])
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        self.assertEqual(headers["Referrer-Policy"], "no-referrer")
        self.assertEqual(headers["Cache-Control"], "no-cache")
        self.assertNotIn(b"<script>", body)  # no inline script: only <script src=...>
        for path, kind in (("/ui/console.js", "text/javascript"), ("/ui/console.css", "text/css"),
                           ("/ui/favicon.svg", "image/svg+xml")):
            status, headers, _ = fetch(port, path)
            self.assertEqual(status, 200, path)
            self.assertTrue(headers["Content-Type"].startswith(kind), (path, headers["Content-Type"]))
            self.assertEqual(headers["X-Frame-Options"], "DENY")
            etag = headers["ETag"]
            status, _, body = fetch(port, path, headers={"If-None-Match": etag})
            self.assertEqual((status, body), (304, b""), path)
        status, headers, _ = fetch(port, "/ui/nothing.js")
        self.assertEqual(status, 404)
        self.assertEqual(headers["X-Frame-Options"], "DENY")
        status, headers, _ = fetch(port, "/ui/", method="POST")
        self.assertEqual(status, 405)
        # Only the static files are public: the API still wants the token.
        status, _, _ = fetch(port, "/v1/domains")
        self.assertEqual(status, 401)

    def test_02_wrong_token_gets_a_clear_message(self):
        self.driver.get(self.url)
        h.wait(self.driver, lambda d: h.focused_id(d) == "token", "the token field to have the focus")
        h.press(self.driver, "not-the-right-token", Keys.ENTER)
        alert = h.wait(self.driver, lambda d: d.find_element(By.ID, "alert").is_displayed()
                       and d.find_element(By.ID, "alert"), "the sign-in error")
        self.assertIn("did not accept this token", alert.text)
        self.assertFalse(self.driver.find_element(By.ID, "console").is_displayed())
        self.assertIsNone(self.driver.execute_script("return sessionStorage.getItem('dkim-relay.token')"))
        h.screenshot(self.driver, "wrong-token")
        self.assert_console_clean(r"/v1/domains .*401")

    def test_03_sign_in_keeps_the_token_in_session_storage_only(self):
        h.tab_to(self.driver, "token")
        h.ActionChains(self.driver).key_down(Keys.CONTROL).send_keys("a").key_up(Keys.CONTROL).perform()
        h.press(self.driver, Keys.BACKSPACE, self.token, Keys.ENTER)
        h.wait(self.driver, lambda d: d.find_element(By.ID, "console").is_displayed(), "the console after sign-in")
        self.assertEqual(self.driver.execute_script("return sessionStorage.getItem('dkim-relay.token')"), self.token)
        self.assertEqual(self.driver.execute_script("return JSON.stringify(localStorage)").find(self.token), -1)
        self.assertNotIn(self.token, self.driver.current_url)
        self.assertIn("role admin", self.driver.find_element(By.ID, "who").text)
        self.assert_console_clean(TOKEN_PROBE)

    def test_04_new_domain_shows_pending_validation(self):
        self.activate_with_keyboard("add-domain")
        h.press(self.driver, DOMAIN, Keys.TAB, "s1")
        self.activate_with_keyboard("add-button")
        self.confirm_with_keyboard("is created with a new RSA 2048 key")
        status, _ = self.wait_status("s1", "Pending validation")
        self.assertEqual(status, "pending_validation")
        # The record the page offers is the one openssl derives from the key file.
        shown = self.driver.find_element(By.ID, "txt-value-shop_test-s1").get_attribute("value")
        self.assertEqual(shown, h.key_record(self.relay, DOMAIN, "s1"))
        self.assertEqual(self.driver.find_element(By.ID, "txt-name-shop_test-s1").get_attribute("value"),
                         "s1._domainkey." + DOMAIN)
        self.assertIn("Added shop.test with selector s1", self.driver.find_element(By.ID, "status").text)
        # The domain's rotation policy (GET /v1/domains/{d} "rotation"); [rotation] is off in this harness.
        policy = self.driver.find_element(
            By.CSS_SELECTOR, 'section[data-domain="%s"] [data-role="rotation-policy"]' % DOMAIN).text
        self.assertEqual(policy, "Scheduled rotation is off")
        h.screenshot(self.driver, "pending")
        self.assert_console_clean(TOKEN_PROBE)

    def test_05_published_record_turns_connected_without_reload(self):
        self.driver.execute_script("window.loadedOnce = 'yes'")
        self.publish(**{"s1._domainkey." + DOMAIN: h.key_record(self.relay, DOMAIN, "s1")})
        self.wait_status("s1", "Connected")
        self.assertEqual(self.driver.execute_script("return window.loadedOnce"), "yes")  # no reload happened
        h.screenshot(self.driver, "connected")

    def test_06_wrong_key_shows_error_with_detail(self):
        other = h.key_record(self.relay, DOMAIN, "s1").replace("p=MII", "p=MIIwrong")
        self.publish(**{"s1._domainkey." + DOMAIN: other})
        status, detail = self.wait_status("s1", "Error")
        self.assertEqual(status, "error")
        self.assertIn("different DKIM key", detail)
        h.screenshot(self.driver, "error")
        self.publish(**{"s1._domainkey." + DOMAIN: h.key_record(self.relay, DOMAIN, "s1")})
        self.wait_status("s1", "Connected")

    def test_07_rotate_after_dns_activates_once_published(self):
        self.activate_with_keyboard("rotate-dns-shop_test")
        self.confirm_with_keyboard("activates it by itself once DNS serves its record")
        h.wait(self.driver, lambda d: "is staged" in d.find_element(By.ID, "status").text, "the staged notice")
        staged = [s for s, state in self.api.states(DOMAIN).items() if state == "staged"]
        self.assertEqual(len(staged), 1, self.api.states(DOMAIN))
        new = staged[0]
        self.wait_status(new, "Pending validation")
        self.assertEqual(self.api.states(DOMAIN)["s1"], "active")
        self.publish(**{new + "._domainkey." + DOMAIN: h.key_record(self.relay, DOMAIN, new)})

        def state_of(driver, selector):
            rows = driver.find_elements(By.CSS_SELECTOR, 'section[data-domain="%s"] tr[data-selector="%s"] td.state'
                                        % (DOMAIN, selector))
            return rows[0].text if rows else None
        h.wait(self.driver, lambda d: state_of(d, new) == "active", "the new selector to show active", 30)
        h.wait(self.driver, lambda d: state_of(d, "s1") == "retiring", "the old selector to show retiring")
        self.wait_status(new, "Connected")
        self.assertEqual(self.api.states(DOMAIN), {"s1": "retiring", new: "active"})
        self.assert_console_clean(TOKEN_PROBE)

    def test_08_readiness_follows_dmarc(self):
        section = 'section[data-domain="%s"] ' % DOMAIN
        h.wait(self.driver, lambda d: d.find_element(By.CSS_SELECTOR, section + "li[data-check=dmarc]").text
               .startswith("DMARC: missing"), "DMARC missing in the readiness box")
        self.publish(**{"_dmarc." + DOMAIN: "v=DMARC1; p=reject; adkim=s"})
        text = h.wait(self.driver, lambda d: d.find_element(By.CSS_SELECTOR, section + "[data-ready]")
                      .get_attribute("data-ready") == "true" and d.find_element(By.CSS_SELECTOR, section + ".readiness").text,
                      "the domain to be ready")
        self.assertIn("p=reject, adkim=s (strict), aligned", text)
        h.screenshot(self.driver, "ready")

    def test_09_api_errors_are_shown_as_the_api_says(self):
        self.activate_with_keyboard("remove-domain-shop_test")
        self.confirm_with_keyboard("and all its keys are deleted")
        alert = h.wait(self.driver, lambda d: d.find_element(By.ID, "alert").is_displayed()
                       and d.find_element(By.ID, "alert"), "the API's error")
        status, body = self.api.call("DELETE", "/v1/domains/" + DOMAIN)
        self.assertEqual(status, 409)
        self.assertIn(body["message"], alert.text)
        self.assertIn("has an active key", alert.text)
        self.assert_console_clean(TOKEN_PROBE, r"/v1/domains/shop\.test .*409")

    def test_10_cancel_changes_nothing(self):
        before = self.api.states(DOMAIN)
        self.activate_with_keyboard("rotate-now-shop_test")
        h.wait(self.driver, lambda d: d.find_element(By.ID, "confirm").get_attribute("open") is not None, "the dialog")
        h.press(self.driver, Keys.ESCAPE)
        h.wait(self.driver, lambda d: "cancelled" in d.find_element(By.ID, "status").text, "the cancel notice")
        self.assertEqual(h.focused_id(self.driver), "rotate-now-shop_test")  # focus goes back to the button
        self.assertEqual(self.api.states(DOMAIN), before)

    def test_11_delegation_shows_the_cname_form(self):
        self.activate_with_keyboard("delegation-zone")
        h.press(self.driver, "dkim.esp.test", Keys.ENTER)
        field = h.wait(self.driver, lambda d: d.find_elements(By.ID, "cname-shop_test-s1")
                       and d.find_element(By.ID, "cname-shop_test-s1"), "the CNAME record")
        self.assertEqual(field.get_attribute("value"),
                         "s1._domainkey.shop.test. 3600 IN CNAME s1.shop.test.dkim.esp.test.")
        self.activate_with_keyboard("cname-shop_test-s1-copy")
        h.wait(self.driver, lambda d: "Copied: CNAME record" in d.find_element(By.ID, "status").text, "the copy notice")

    def test_12_every_control_has_a_label(self):
        self.assertEqual(h.unlabelled_controls(self.driver), [])
        self.assert_console_clean(TOKEN_PROBE)
        h.screenshot(self.driver, "console")


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_console.py <dkim-relay>")
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2, failfast=True)
