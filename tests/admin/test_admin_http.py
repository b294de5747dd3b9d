"""HTTP tests of the admin API against admin_test_server: auth, validation, every endpoint and
transition, error codes, metrics, limits, keep-alive and TLS.

usage: test_admin_http.py <path to admin_test_server>
"""
import os
import re
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from admin_harness import (AdminServer, TOKEN, keep_alive_connection, raw_http, token_id,  # noqa: E402
                           wait_until)
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

BINARY = None
SERVER = None
TMP = None


def setUpModule():
    global SERVER, TMP
    TMP = tempfile.mkdtemp(prefix="admin-http-")
    # The real DirectoryKeyStore (real key generation) behind the API.
    SERVER = AdminServer(BINARY, "--upstream-file", os.path.join(TMP, "upstream-up"),
                         "--key-dir", os.path.join(TMP, "keys"))


def tearDownModule():
    SERVER.stop()
    shutil.rmtree(TMP, ignore_errors=True)


def call(method, path, body=None, **kwargs):
    return SERVER.request(method, path, body, **kwargs)


def metrics():
    status, headers, text = call("GET", "/metrics")
    assert status == 200, status
    assert headers["Content-Type"].startswith("text/plain"), headers["Content-Type"]
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def key_state(domain, selector):
    status, _, body = call("GET", "/v1/domains/" + domain)
    assert status == 200, body
    for key in body["selectors"]:
        if key["selector"] == selector:
            return key["state"]
    return None


class AuthTest(unittest.TestCase):
    def test_healthz_needs_no_token(self):
        status, headers, body = call("GET", "/healthz", token=None)
        self.assertEqual(status, 200)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(body, {"status": "ok"})

    def test_missing_token_is_401_everywhere_else(self):
        for method, path in [("GET", "/readyz"), ("GET", "/metrics"), ("GET", "/v1/domains"),
                             ("POST", "/v1/domains"), ("GET", "/v1/domains/x.example"),
                             ("DELETE", "/v1/domains/x.example"), ("POST", "/v1/domains/x.example/rotate"),
                             ("GET", "/v1/domains/x.example/dns"), ("POST", "/v1/domains/x/keys/s/activate"),
                             ("DELETE", "/v1/domains/x/keys/s"), ("GET", "/no-such-route")]:
            with self.subTest(method=method, path=path):
                status, headers, body = call(method, path, token=None)
                self.assertEqual(status, 401)
                self.assertEqual(body["error"], "unauthorized")
                self.assertTrue(headers["WWW-Authenticate"].startswith("Bearer"))

    def test_wrong_token_is_401(self):
        for token in ["wrong", TOKEN[:-1], TOKEN + "x", ""]:
            with self.subTest(token=token):
                status, _, body = call("GET", "/v1/domains", token=token)
                self.assertEqual(status, 401)
                self.assertEqual(body["error"], "unauthorized")
        status, _, _ = call("GET", "/v1/domains", token=None, headers={"Authorization": "Basic " + TOKEN})
        self.assertEqual(status, 401)

    def test_right_token_is_accepted(self):
        status, _, body = call("GET", "/v1/domains")
        self.assertEqual(status, 200)
        self.assertIsInstance(body["domains"], list)
        status, _, _ = call("GET", "/v1/domains", token=None, headers={"Authorization": "bearer " + TOKEN})
        self.assertEqual(status, 200)

    def test_audit_log_names_the_token_and_its_id_only(self):
        status, _, _ = call("POST", "/v1/domains", {"domain": "audit.example"})
        self.assertEqual(status, 201)
        call("POST", "/v1/domains", {"domain": "audit2.example"}, token="not-the-token")
        wait_until(lambda: "token=invalid" in SERVER.log(), 5, "the audit line of the refused call")
        log = SERVER.log()
        self.assertIn("admin audit: token=admin token_id=%s " % token_id(TOKEN), log)
        self.assertIn("POST /v1/domains -> 201", log)
        self.assertIn("token=invalid", log)
        self.assertNotIn(TOKEN, log)
        self.assertNotIn("not-the-token", log)


class ValidationTest(unittest.TestCase):
    def test_malformed_json_is_400(self):
        status, headers, body = call("POST", "/v1/domains", b'{"domain": "a.example"')
        self.assertEqual(status, 400)
        self.assertEqual(headers["Content-Type"], "application/json")
        self.assertEqual(body["error"], "bad_request")
        self.assertIn("malformed JSON", body["message"])
        status, _, body = call("POST", "/v1/domains", b'["a.example"]')
        self.assertEqual(status, 400)

    def test_unknown_field_is_400_naming_it(self):
        status, _, body = call("POST", "/v1/domains", {"domain": "u.example", "flavour": "vanilla"})
        self.assertEqual(status, 400)
        self.assertIn("flavour", body["message"])
        call("POST", "/v1/domains", {"domain": "u2.example"})
        status, _, body = call("POST", "/v1/domains/u2.example/rotate", {"activate": "now", "when": "soon"})
        self.assertEqual(status, 400)
        self.assertIn("when", body["message"])
        status, _, body = call("POST", "/v1/domains/u2.example/keys/s1/retire", {"force": True})
        self.assertEqual(status, 400)
        self.assertIn("force", body["message"])

    def test_wrong_types_and_values_are_400(self):
        for body, field in [({"domain": 42}, "domain"), ({"domain": "v.example", "bits": "2048"}, "bits"),
                            ({"domain": "v.example", "bits": 1024}, "bits"),
                            ({"domain": "v.example", "algorithm": "rsa-sha1"}, "algorithm"),
                            ({"domain": "not a domain"}, "domain"), ({"domain": "v.example", "selector": "a b"}, "selector"),
                            ({}, "domain")]:
            with self.subTest(body=body):
                status, _, answer = call("POST", "/v1/domains", body)
                self.assertEqual(status, 400)
                self.assertIn(field, answer["message"])
        call("POST", "/v1/domains", {"domain": "v2.example"})
        for body in [{}, {"activate": "tomorrow"}, {"activate": True}]:
            status, _, answer = call("POST", "/v1/domains/v2.example/rotate", body)
            self.assertEqual(status, 400)
            self.assertIn("activate", answer["message"])


class LifecycleTest(unittest.TestCase):
    def test_domain_crud(self):
        before = metrics()
        status, headers, body = call("POST", "/v1/domains", {"domain": "Crud.Example", "selector": "first"})
        self.assertEqual(status, 201)
        self.assertEqual(headers["Location"], "/v1/domains/crud.example")
        self.assertEqual(body["domain"], "crud.example")
        self.assertEqual(body["key"]["state"], "active")
        self.assertEqual(body["dns"]["name"], "first._domainkey.crud.example")
        self.assertTrue(body["dns"]["value"].startswith("v=DKIM1; k=rsa; p="))
        self.assertTrue(all(len(part) <= 255 for part in body["dns"]["strings"]))
        self.assertEqual("".join(body["dns"]["strings"]), body["dns"]["value"])
        self.assertTrue(body["dns"]["zone_line"].startswith("first._domainkey.crud.example. "))
        for part in body["dns"]["strings"]:
            self.assertIn('"%s"' % part, body["dns"]["zone_line"])
        self.assertNotIn("PRIVATE", str(body))

        status, _, _ = call("POST", "/v1/domains", {"domain": "crud.example"})
        self.assertEqual(status, 409)

        status, _, body = call("GET", "/v1/domains")
        self.assertIn("crud.example", [d["domain"] for d in body["domains"]])
        status, _, body = call("GET", "/v1/domains/crud.example")
        self.assertEqual(status, 200)
        self.assertEqual([k["selector"] for k in body["selectors"]], ["first"])

        after = metrics()
        self.assertEqual(after[("dkim_relay_keystore_domains", ())], before[("dkim_relay_keystore_domains", ())] + 1)
        active = ("dkim_relay_keystore_keys", (("state", "active"),))
        self.assertEqual(after[active], before[active] + 1)

        status, _, body = call("DELETE", "/v1/domains/crud.example")
        self.assertEqual(status, 409)
        self.assertIn("force", body["message"])
        status, _, body = call("DELETE", "/v1/domains/crud.example?force=true")
        self.assertEqual(status, 200)
        status, _, _ = call("GET", "/v1/domains/crud.example")
        self.assertEqual(status, 404)
        self.assertEqual(metrics()[("dkim_relay_keystore_domains", ())], before[("dkim_relay_keystore_domains", ())])

    def test_rotation_and_every_transition(self):
        d = "life.example"
        self.assertEqual(call("POST", "/v1/domains", {"domain": d, "selector": "k1"})[0], 201)

        status, _, body = call("POST", "/v1/domains/%s/rotate" % d, {"activate": "now", "selector": "k2"})
        self.assertEqual(status, 201)
        self.assertEqual(body["key"]["state"], "active")
        self.assertEqual(body["retiring"], ["k1"])
        self.assertEqual(body["dns"]["name"], "k2._domainkey.%s" % d)
        self.assertEqual(key_state(d, "k1"), "retiring")

        staged_before = metrics()[("dkim_relay_keystore_keys", (("state", "staged"),))]
        status, _, body = call("POST", "/v1/domains/%s/rotate" % d,
                               {"activate": "after_dns", "selector": "k3", "algorithm": "ed25519-sha256"})
        self.assertEqual(status, 202)
        self.assertEqual(body["key"]["state"], "staged")
        self.assertTrue(body["key"]["activate_after_dns"])
        self.assertTrue(body["dns"]["value"].startswith("v=DKIM1; k=ed25519; p="))
        self.assertEqual(metrics()[("dkim_relay_keystore_keys", (("state", "staged"),))], staged_before + 1)

        # staged -> retire is refused; staged -> active
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k3/retire" % d)[0], 409)
        status, _, body = call("POST", "/v1/domains/%s/keys/k3/activate" % d)
        self.assertEqual(status, 200)
        self.assertEqual(body["key"]["state"], "active")
        # ed25519 and rsa are active side by side
        self.assertEqual(key_state(d, "k2"), "active")
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k3/activate" % d)[0], 409)

        # retiring -> active (roll back), active -> retiring
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k1/activate" % d)[0], 200)
        self.assertEqual(key_state(d, "k2"), "retiring")
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k1/retire" % d)[0], 200)
        self.assertEqual(key_state(d, "k1"), "retiring")
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k1/retire" % d)[0], 409)

        # revoke, then nothing but delete
        status, _, body = call("POST", "/v1/domains/%s/keys/k1/revoke" % d)
        self.assertEqual(status, 200)
        self.assertEqual(body["key"]["state"], "revoked")
        self.assertTrue(body["key"]["dns"]["value"].startswith("v=DKIM1;"))
        self.assertTrue(body["key"]["dns"]["value"].endswith("p="))  # RFC 6376: empty p= = revoked
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k1/revoke" % d)[0], 409)
        self.assertEqual(call("POST", "/v1/domains/%s/keys/k1/activate" % d)[0], 409)

        # deleting: active refused, others fine
        self.assertEqual(call("DELETE", "/v1/domains/%s/keys/k3" % d)[0], 409)
        self.assertEqual(call("DELETE", "/v1/domains/%s/keys/k1" % d)[0], 200)
        self.assertIsNone(key_state(d, "k1"))
        self.assertEqual(call("DELETE", "/v1/domains/%s/keys/k1" % d)[0], 404)

    def test_not_found_and_method_not_allowed(self):
        call("POST", "/v1/domains", {"domain": "nf.example"})
        for method, path in [("GET", "/v1/domains/missing.example"), ("DELETE", "/v1/domains/missing.example"),
                             ("POST", "/v1/domains/missing.example/rotate"),
                             ("GET", "/v1/domains/missing.example/dns"),
                             ("POST", "/v1/domains/nf.example/keys/nope/activate"),
                             ("POST", "/v1/domains/nf.example/keys/nope/revoke"),
                             ("DELETE", "/v1/domains/nf.example/keys/nope"), ("GET", "/v1/nothing"),
                             ("GET", "/v1/domains/nf.example/keys/s1/explode")]:
            with self.subTest(method=method, path=path):
                body = {"activate": "now"} if path.endswith("rotate") else None
                status, headers, answer = call(method, path, body)
                self.assertEqual(status, 404)
                self.assertEqual(headers["Content-Type"], "application/json")
                self.assertEqual(answer["error"], "not_found")
        for method, path, allow in [("PUT", "/v1/domains", "GET, POST"), ("GET", "/v1/domains/nf.example/rotate", "POST"),
                                    ("PATCH", "/v1/domains/nf.example", "GET, DELETE"),
                                    ("GET", "/v1/domains/nf.example/keys/s1/activate", "POST"),
                                    ("POST", "/metrics", "GET")]:
            with self.subTest(method=method, path=path):
                status, headers, answer = call(method, path)
                self.assertEqual(status, 405)
                self.assertEqual(headers["Allow"], allow)
                self.assertEqual(answer["error"], "method_not_allowed")

    def test_rotations_under_concurrent_reads(self):
        d = "busy.example"
        # Ed25519: rotation repeats the algorithm, and its key generation is fast enough for 20 rounds.
        self.assertEqual(call("POST", "/v1/domains", {"domain": d, "algorithm": "ed25519-sha256"})[0], 201)
        stop = threading.Event()
        problems = []

        def reader():
            while not stop.is_set():
                status, _, body = call("GET", "/v1/domains/" + d)
                active = [k for k in body["selectors"] if k["state"] == "active"] if status == 200 else []
                if status != 200 or len(active) != 1:
                    problems.append((status, [k["state"] for k in body.get("selectors", [])]))

        threads = [threading.Thread(target=reader) for _ in range(2)]
        for thread in threads:
            thread.start()
        try:
            for _ in range(20):
                status, _, body = call("POST", "/v1/domains/%s/rotate" % d, {"activate": "now"})
                self.assertEqual(status, 201, body)
        finally:
            stop.set()
            for thread in threads:
                thread.join()
        self.assertEqual(problems, [])
        status, _, body = call("GET", "/v1/domains/" + d)
        states = [k["state"] for k in body["selectors"]]
        self.assertEqual(states.count("active"), 1)
        self.assertEqual(states.count("retiring"), 20)


class OpenApiTest(unittest.TestCase):
    def test_every_documented_operation_is_routed(self):
        # Read with a line pattern rather than a YAML parser: the paths block has a fixed 2/4-space shape.
        spec_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "admin", "openapi.yaml")
        operations = []
        path = None
        with open(spec_path) as spec_file:
            for line in spec_file:
                if line.startswith("components:"):
                    break
                path_match = re.match(r"^  (/\S*):\s*$", line)
                if path_match:
                    path = path_match.group(1)
                method_match = re.match(r"^    (get|post|delete|put|patch):\s*$", line)
                if method_match and path:
                    operations.append((method_match.group(1).upper(), path))
        self.assertEqual(len(operations), 19)
        for method, path in operations:
            concrete = path.replace("{domain}", "nowhere.example").replace("{selector}", "s1")
            with self.subTest(method=method, path=path):
                status, _, body = call(method, concrete, {} if method == "POST" else None)
                self.assertNotEqual(status, 405)
                if status == 404:
                    self.assertIn("unknown domain", body["message"])


class OperationsTest(unittest.TestCase):
    def test_readyz_follows_upstream(self):
        flag = os.path.join(TMP, "upstream-up")
        status, _, body = call("GET", "/readyz")
        self.assertEqual(status, 503)
        self.assertEqual(body["checks"]["upstream"], "unreachable")
        open(flag, "w").close()
        try:
            status, _, body = call("GET", "/readyz")
            self.assertEqual(status, 200)
            self.assertEqual(body["checks"], {"keystore": "ok", "upstream": "ok"})
        finally:
            os.unlink(flag)

    def test_metrics_parse_and_count_requests(self):
        before = metrics()
        unauthorized = ("dkim_relay_admin_requests_total", (("code", "401"),))
        call("GET", "/v1/domains", token="nope")
        call("GET", "/v1/domains", token="nope")
        after = metrics()
        self.assertEqual(after.get(unauthorized, 0), before.get(unauthorized, 0) + 2)
        self.assertEqual(after[("dkim_relay_test_up", ())], 1)
        for state in ["staged", "active", "retiring", "revoked"]:
            self.assertIn(("dkim_relay_keystore_keys", (("state", state),)), after)

    def test_keep_alive_serves_several_requests(self):
        connection = keep_alive_connection(SERVER.port)
        try:
            for _ in range(3):
                connection.request("GET", "/v1/domains", headers={"Authorization": "Bearer " + TOKEN})
                response = connection.getresponse()
                response.read()
                self.assertEqual(response.status, 200)
                self.assertFalse(response.will_close)
        finally:
            connection.close()

    def test_body_and_header_limits(self):
        big = b'{"domain": "' + b"a" * (70 * 1024) + b'"}'
        status, _, body = call("POST", "/v1/domains", big)
        self.assertEqual(status, 413)
        self.assertEqual(body["error"], "payload_too_large")
        reply = raw_http(SERVER.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"b" * 9000 + b"\r\n\r\n")
        self.assertTrue(reply.startswith(b"HTTP/1.1 431"), reply[:80])

    def test_slow_clients_are_cut_off(self):
        server = AdminServer(BINARY, "--read-timeout-ms", "300")
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")  # never finished
                self.assertEqual(sock.recv(1024), b"")  # closed by the server, well before 10 s
        finally:
            server.stop()


class TlsTest(unittest.TestCase):
    def test_tls_serves_https_only(self):
        cert, key = os.path.join(TMP, "cert.pem"), os.path.join(TMP, "key.pem")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-days", "1",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        server = AdminServer(BINARY, "--tls-cert", cert, "--tls-key", key)
        try:
            server.ssl_context = ssl.create_default_context(cafile=cert)
            status, _, body = server.request("GET", "/v1/domains")
            self.assertEqual(status, 200)
            self.assertEqual(body, {"domains": []})
            status, _, _ = server.request("GET", "/v1/domains", token="bad")
            self.assertEqual(status, 401)
            reply = raw_http(server.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertFalse(reply.startswith(b"HTTP/1.1 200"))
        finally:
            server.stop()


if __name__ == "__main__":
    if len(sys.argv) < 2:
        sys.exit("usage: test_admin_http.py <admin_test_server>")
    BINARY = sys.argv.pop(1)
    unittest.main(verbosity=2)
