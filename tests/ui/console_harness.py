"""Shared plumbing of the console tests: the real dkim-relay binary, a dnsmasq on loopback serving the
records a test publishes, and headless Chromium driven through chromedriver (Selenium)."""
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "system"))
sys.path.insert(0, os.path.join(HERE, "..", "admin"))
import harness  # noqa: E402  (tests/system: Relay, txt_record_from_pem)
from test_admin_dns import Dnsmasq  # noqa: E402,F401  (tests/admin: dnsmasq on loopback)

from selenium import webdriver  # noqa: E402
from selenium.common.exceptions import StaleElementReferenceException  # noqa: E402
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.action_chains import ActionChains  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402
from selenium.webdriver.common.keys import Keys  # noqa: E402
from selenium.webdriver.support.ui import WebDriverWait  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

RELAY_CONFIG = """
[relay]
listen = ["127.0.0.1:{smtp_port}"]
[upstream]
type = "smtp"
host = "127.0.0.1"
port = 9
starttls = "none"
[keystore]
path = "{dir}/keys"
demo_domain = ""
watch = false
[admin]
listen = "127.0.0.1:{admin_port}"
token_file = "{dir}/admin.token"
dns_resolver = "127.0.0.1:{dns_port}"
dns_timeout = "2s"
dns_check_interval = "1s"
"""


def artifacts_dir():
    path = os.environ.get("DKR_UI_ARTIFACTS") or os.path.join(tempfile.gettempdir(), "dkr-ui-artifacts")
    os.makedirs(path, exist_ok=True)
    return path


def txt_strings(value):
    """A TXT value as dnsmasq's comma-separated <=255-byte character-strings."""
    return [value[i:i + 255] for i in range(0, len(value), 255)]


def key_record(relay, domain, selector):
    """The TXT value of a selector's key, derived from the key file by openssl (not by dkim-relay)."""
    return harness.txt_record_from_pem(os.path.join(relay.dir, "keys", domain, selector + ".pem"))


class Api:
    """Direct calls to the admin API, to set up and to check what the page shows."""

    def __init__(self, port, token):
        self.port = port
        self.token = token

    def call(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data, method=method,
                                         headers={"Authorization": "Bearer " + (token or self.token),
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                return response.status, json.loads(response.read() or b"{}")
        except urllib.error.HTTPError as error:
            return error.code, json.loads(error.read() or b"{}")

    def states(self, domain):
        status, body = self.call("GET", "/v1/domains/" + domain)
        assert status == 200, body
        return {k["selector"]: k["state"] for k in body["selectors"]}


def start_relay(binary, extra_config="", dns_port=0):
    relay = harness.Relay(binary, RELAY_CONFIG.replace("{dns_port}", str(dns_port)) + extra_config)
    relay.start()
    with open(os.path.join(relay.dir, "admin.token")) as f:
        token = f.read().strip()
    return relay, token


def start_browser():
    """Headless Chromium that never touches the network beyond loopback; fails loudly when it cannot start."""
    profile = tempfile.mkdtemp(prefix="dkr-ui-chromium-")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1280,1600", "--user-data-dir=" + profile):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.profile_dir = profile
    return driver


def stop_browser(driver):
    try:
        driver.quit()
    finally:
        shutil.rmtree(driver.profile_dir, ignore_errors=True)


def wait(driver, condition, what, timeout=20):
    """Explicit wait on a condition (no fixed sleeps); the message says what did not happen."""
    # The page rebuilds a domain's block when its data changes: an element found a moment ago may be gone.
    return WebDriverWait(driver, timeout, poll_frequency=0.1, ignored_exceptions=[StaleElementReferenceException]).until(
        lambda d: condition(d), message="timed out waiting for " + what)


def press(driver, *keys):
    ActionChains(driver).send_keys(*keys).perform()


def focused_id(driver):
    return driver.execute_script("return document.activeElement ? document.activeElement.id : ''")


def tab_to(driver, element_id, limit=300):
    """Moves the focus with Tab alone until `element_id` has it: proves it is reachable by keyboard."""
    seen = []
    for _ in range(limit):
        if focused_id(driver) == element_id:
            return
        press(driver, Keys.TAB)
        seen.append(focused_id(driver))
    raise AssertionError("%s is not reachable with Tab; focus went through %s" % (element_id, seen[-40:]))


def dns_status_cell(driver, domain, selector):
    cells = driver.find_elements(
        By.CSS_SELECTOR, 'section[data-domain="%s"] td.dns-status[data-selector="%s"]' % (domain, selector))
    return cells[0] if cells else None


def browser_problems(driver, allowed=()):
    """Console entries at WARNING or above, minus network-status lines a test caused on purpose
    (regular expressions in `allowed`). JavaScript errors and CSP violations are never allowed."""
    problems = []
    for entry in driver.get_log("browser"):
        if entry["level"] not in ("SEVERE", "WARNING"):
            continue
        message = entry["message"]
        network = "Failed to load resource" in message
        if network and any(re.search(pattern, message) for pattern in allowed):
            continue
        problems.append(message)
    return problems


def unlabelled_controls(driver):
    """Controls without an accessible name, from Chromium's accessibility tree and from the DOM."""
    tree = driver.execute_cdp_cmd("Accessibility.getFullAXTree", {})
    missing = []
    interactive = {"button", "textbox", "combobox", "checkbox", "link", "spinbutton", "searchbox"}
    for node in tree["nodes"]:
        if node.get("ignored"):
            continue
        role = node.get("role", {}).get("value")
        if role in interactive and not (node.get("name", {}).get("value") or "").strip():
            missing.append("%s (backend node %s)" % (role, node.get("backendDOMNodeId")))
    missing += driver.execute_script("""
      const out = [];
      for (const el of document.querySelectorAll('input, select, textarea')) {
        const labelled = (el.id && document.querySelector('label[for="' + el.id + '"]')) || el.getAttribute('aria-label');
        if (!labelled) out.push(el.tagName + '#' + el.id);
      }
      for (const el of document.querySelectorAll('button')) {
        if (!(el.getAttribute('aria-label') || el.textContent.trim())) out.push('button#' + el.id);
      }
      return out;""")
    return missing


def screenshot(driver, name):
    path = os.path.join(artifacts_dir(), name + ".png")
    driver.save_screenshot(path)
    return path
