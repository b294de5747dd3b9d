#!/usr/bin/python3
"""End-to-end tests of `dkim-relay serve` with real peers.

The relay runs as a child process with a config written here, signing with keys made by
`dkim-relay keys`; the upstream is aiosmtpd with a capturing handler (upstream_capture.py). Clients
are smtplib, swaks and raw sockets. What the upstream captured is verified with dkimpy and with
Mail::DKIM (mail_dkim_verify.pl), against TXT records built from the key files with the openssl CLI,
not by the relay.

usage: /usr/bin/python3 relay_e2e.py --binary PATH/dkim-relay [SigningTest|LargeMessageTest|OpenRelayTest|ShutdownTest ...]
"""
import argparse
import json
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from harness import (captured_names, dkimpy_results, free_port, mail_dkim_signatures, port_open,  # noqa: E402
                     read_bytes, start_capture_upstream, start_serve, stop_process, txt_record_from_pem, wait_until)

BINARY = None
DOMAIN = "example.org"


class RawClient:
    """A socket SMTP client that reads whole replies with a deadline."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.buffer = b""

    def send(self, data):
        self.sock.sendall(data)

    def reply(self):
        lines = []
        while True:
            while b"\r\n" not in self.buffer:
                chunk = self.sock.recv(4096)
                if not chunk:
                    return (0, lines)
                self.buffer += chunk
            line, self.buffer = self.buffer.split(b"\r\n", 1)
            lines.append(line[4:].decode())
            if line[3:4] == b" ":
                return (int(line[:3]), lines)

    def closed(self):
        try:
            return self.sock.recv(1) == b""
        except OSError:
            return True

    def close(self):
        self.sock.close()


class RelayHarness:
    """Temp dir, keystore, aiosmtpd upstream and the relay process."""

    def __init__(self, unsigned="tempfail", shutdown_grace="5s", relay_extra=""):
        self.dir = tempfile.mkdtemp(prefix="dkim-relay-e2e-")
        self.keys = os.path.join(self.dir, "keys")
        self.captured = os.path.join(self.dir, "captured")
        os.makedirs(self.captured)
        self.procs = []
        self.txt = {}
        try:
            self._make_keys()
            self.upstream_port = free_port()
            self._start_upstream()
            self.port = free_port()
            self._start_relay(unsigned, shutdown_grace, relay_extra)
        except BaseException:
            self.close()
            raise

    def _keys_cmd(self, *args):
        result = subprocess.run([BINARY, "keys", "--keystore", self.keys, *args], capture_output=True, text=True)
        if result.returncode != 0:
            raise AssertionError("keys %s failed: %s%s" % (args, result.stdout, result.stderr))

    def _make_keys(self):
        self._keys_cmd("add", DOMAIN, "--algorithm", "rsa-sha256", "--selector", "rsa1")
        self._keys_cmd("rotate", DOMAIN, "--algorithm", "ed25519-sha256", "--selector", "ed1", "--activate", "now")
        for selector in ("rsa1", "ed1"):
            pem = os.path.join(self.keys, DOMAIN, selector + ".pem")
            self.txt["%s._domainkey.%s" % (selector, DOMAIN)] = txt_record_from_pem(pem)
        self.txt_file = os.path.join(self.dir, "txt.json")
        with open(self.txt_file, "w") as f:
            json.dump(self.txt, f)

    def _start_upstream(self):
        self.procs.append(start_capture_upstream(self.dir, self.upstream_port, self.captured))

    def _start_relay(self, unsigned, shutdown_grace, relay_extra):
        self.config = os.path.join(self.dir, "relay.toml")
        with open(self.config, "w") as f:
            f.write("""
[relay]
listen = ["127.0.0.1:%d"]
hostname = "relay.e2e.test"
unsigned = "%s"
threads = 2
shutdown_grace = "%s"
max_connections_per_ip = 20
%s
[upstream]
type = "smtp"
host = "127.0.0.1"
port = %d
starttls = "none"
connect_timeout = "5s"
command_timeout = "10s"
pool_size = 2

[signing]
algorithms = ["rsa-sha256", "ed25519-sha256"]

[keystore]
path = "%s"
watch = false
demo_domain = ""

[admin]
enabled = false

[log]
level = "info"
""" % (self.port, unsigned, shutdown_grace, relay_extra, self.upstream_port, self.keys))
        self.relay_log = os.path.join(self.dir, "relay.log")
        self.relay = start_serve(BINARY, self.config, self.dir, self.relay_log, ready=lambda: port_open(self.port))
        self.procs.append(self.relay)

    def log(self):
        try:
            with open(self.relay_log) as f:
                return f.read()
        except OSError:
            return ""

    def captured_messages(self):
        out = []
        for name in captured_names(self.captured):
            with open(os.path.join(self.captured, name[:-4] + ".json")) as f:
                envelope = json.load(f)
            out.append((envelope, read_bytes(os.path.join(self.captured, name))))
        return out

    def upstream_senders(self):
        """Every MAIL FROM the upstream has seen, in order."""
        try:
            with open(os.path.join(self.captured, "mail_from.log")) as f:
                return f.read().split()
        except FileNotFoundError:
            return []

    def wait_for_messages(self, count):
        wait_until(lambda: len(self.captured_messages()) >= count, what="%d captured message(s)" % count)
        return self.captured_messages()

    def close(self):
        for proc in reversed(self.procs):
            stop_process(proc)
        shutil.rmtree(self.dir, ignore_errors=True)


def maildkim_results(h, content):
    """Mail::DKIM's verdict per signature algorithm: {"rsa-sha256": "pass example.org rsa1 ...", ...}."""
    perl = mail_dkim_signatures(content, h.txt, h.dir)
    results = {line.split()[3]: line for line in perl.stdout.splitlines()}
    if sorted(results) != ["ed25519-sha256", "rsa-sha256"]:
        raise AssertionError("Mail::DKIM did not report both signatures: " + perl.stdout + perl.stderr)
    return results


def assert_verifies(test, h, content):
    """dkimpy and Mail::DKIM, with keys from the test's own TXT data, both pass the relay's signatures."""
    test.assertTrue(content.startswith(b"Received: from "), content[:200])
    test.assertEqual(dkimpy_results(content, h.txt), [True, True], "dkimpy")
    results = maildkim_results(h, content)
    # Debian 12's Mail::DKIM (1.20230212) has no Ed25519: it must pass RSA and may only call
    # the Ed25519 signature unsupported, never fail it otherwise.
    test.assertTrue(results["rsa-sha256"].startswith("pass "), results)
    ed = results["ed25519-sha256"]
    test.assertTrue(ed.startswith("pass ") or "unsupported algorithm" in ed, results)


def message_text(sender=DOMAIN, body="Hello from the e2e test.\r\n.leading dot line\r\n"):
    return ("From: Alice <alice@%s>\r\nTo: Bob <bob@example.net>\r\nSubject: e2e\r\n"
            "Message-ID: <e2e-%d@%s>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n%s"
            % (sender, time.monotonic_ns(), sender, body))


class SharedRelayTest(unittest.TestCase):
    """Tests that share one relay on its defaults (self.h), started once for the class."""

    @classmethod
    def setUpClass(cls):
        cls.h = RelayHarness()

    @classmethod
    def tearDownClass(cls):
        cls.h.close()


class SigningTest(SharedRelayTest):
    def setUp(self):
        self.before = len(self.h.captured_messages())

    def assert_verifies(self, content):
        assert_verifies(self, self.h, content)

    def test_smtplib_message_is_signed_and_verifies(self):
        text = message_text()
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=10) as client:
            client.ehlo("e2e.client")
            self.assertTrue(client.has_extn("pipelining"))
            self.assertTrue(client.has_extn("size"))
            self.assertEqual(client.mail("alice@%s" % DOMAIN)[0], 250)
            self.assertEqual(client.rcpt("bob@example.net")[0], 250)
            code, reply = client.data(text.encode())
            self.assertEqual(code, 250)
            self.assertIn(b"queued as CAPTURE", reply)  # the upstream's own reply text
        envelope, content = self.h.wait_for_messages(self.before + 1)[-1]
        self.assertEqual(envelope["mail_from"], "alice@%s" % DOMAIN)
        self.assertEqual(envelope["rcpt_tos"], ["bob@example.net"])
        # smtplib dot-stuffed the leading-dot line on the wire; the relay must unstuff it, so the
        # upstream gets the client's text byte for byte, with one dot.
        self.assertIn("\r\n..leading dot line\r\n", smtplib.quotedata(text))
        self.assertTrue(content.endswith(text.encode()), content[-200:])
        self.assertIn(b"\r\n.leading dot line\r\n", content)
        self.assertNotIn(b"..leading", content)
        self.assert_verifies(content)

    def test_swaks_with_pipelining(self):
        result = subprocess.run(
            ["swaks", "--server", "127.0.0.1", "--port", str(self.h.port), "--pipeline",
             "--from", "app@%s" % DOMAIN, "--to", "carol@example.net", "--helo", "swaks.e2e",
             "--header", "From: App <app@%s>" % DOMAIN, "--header", "Subject: swaks e2e",
             "--body", "Sent by swaks.\n..dot stuffed line\n", "--timeout", "10"],
            capture_output=True, text=True)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.assertIn("queued as CAPTURE", result.stdout)
        envelope, content = self.h.wait_for_messages(self.before + 1)[-1]
        self.assertEqual(envelope["rcpt_tos"], ["carol@example.net"])
        self.assertIn(b"\r\n..dot stuffed line\r\n", content)  # swaks stuffed it to "...", we unstuffed one
        self.assert_verifies(content)

    def test_per_recipient_upstream_rejection_reaches_client(self):
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=10) as client:
            client.ehlo("e2e.client")
            client.mail("alice@%s" % DOMAIN)
            code, text = client.rcpt("reject-me@example.net")
            self.assertEqual(code, 550)
            self.assertIn(b"5.1.1 capture: no such user", text)
            self.assertEqual(client.rcpt("dave@example.net")[0], 250)
            self.assertEqual(client.data(message_text().encode())[0], 250)
        envelope, content = self.h.wait_for_messages(self.before + 1)[-1]
        self.assertEqual(envelope["rcpt_tos"], ["dave@example.net"])
        self.assert_verifies(content)

    def test_upstream_refusal_after_the_final_dot_reaches_client(self):
        senders_before = len(self.h.upstream_senders())
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=10) as client:
            client.ehlo("e2e.client")
            for rcpt, code, text in (("data-451@example.net", 451, b"4.3.0 capture: try again later"),
                                     ("data-554@example.net", 554, b"5.7.1 capture: message refused")):
                self.assertEqual(client.mail("alice@%s" % DOMAIN)[0], 250)
                self.assertEqual(client.rcpt(rcpt)[0], 250)
                self.assertEqual(client.data(message_text().encode()), (code, text), rcpt)
            # The session and the upstream connection go on after both refusals.
            self.assertEqual(client.mail("alice@%s" % DOMAIN)[0], 250)
            self.assertEqual(client.rcpt("erin@example.net")[0], 250)
            self.assertEqual(client.data(message_text(body="accepted\r\n").encode())[0], 250)
        envelope, content = self.h.wait_for_messages(self.before + 1)[-1]
        self.assertEqual(len(self.h.captured_messages()), self.before + 1)  # the refused two were not kept
        self.assertEqual(envelope["rcpt_tos"], ["erin@example.net"])
        self.assertIn(b"accepted", content)
        # The refusals came from the upstream after it took all three transactions.
        self.assertEqual(len(self.h.upstream_senders()), senders_before + 3)

    def test_second_from_above_breaks_both_verifiers(self):
        """Oversigning end to end: h= names From once more than the message has it, so a From:
        added above the signed one fails verification instead of being skipped."""
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=10) as client:
            client.sendmail("alice@%s" % DOMAIN, ["bob@example.net"], message_text().encode())
        _, content = self.h.wait_for_messages(self.before + 1)[-1]
        self.assert_verifies(content)
        top = content.index(b"\r\nFrom: ") + 2
        forged = content[:top] + b"From: Mallory <mallory@evil.example>\r\n" + content[top:]
        # dkimpy adds one more "from" to h= whenever it verifies (its bug#644046 guard), so it fails
        # this even without oversigning; Mail::DKIM follows h= as written and is the real witness.
        self.assertEqual(dkimpy_results(forged, self.h.txt), [False, False], "dkimpy")
        results = maildkim_results(self.h, forged)
        self.assertTrue(results["rsa-sha256"].startswith("fail "), results)
        self.assertFalse(results["ed25519-sha256"].startswith("pass "), results)
        # Control: a field the relay does not sign, added at the same place, leaves both
        # signatures valid, so the failure above is From:'s oversigning, not any edit of the header.
        self.assert_verifies(content[:top] + b"X-Added: yes\r\n" + content[top:])

    def test_smuggling_attempt_delivers_nothing(self):
        client = RawClient(self.h.port)
        try:
            self.assertEqual(client.reply()[0], 220)
            client.send(b"EHLO smuggler\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\nDATA\r\n")
            self.assertEqual([client.reply()[0] for _ in range(4)], [250, 250, 250, 354])
            client.send(message_text().encode() + b"\n.\nMAIL FROM:<ceo@example.org>\r\nRCPT TO:<victim@example.net>\r\n"
                        b"DATA\r\nFrom: ceo@example.org\r\n\r\nsmuggled\r\n.\r\nNOOP\r\n")
            code, lines = client.reply()
            self.assertEqual(code, 550, lines)
            self.assertEqual(client.reply()[0], 250)  # NOOP: in sync
            client.send(b"QUIT\r\n")
            self.assertEqual(client.reply()[0], 221)
        finally:
            client.close()
        # A proper message afterwards is the only one the upstream gets: the smuggled one would
        # have arrived first.
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=10) as good:
            good.sendmail("alice@%s" % DOMAIN, ["bob@example.net"], message_text(body="after\r\n").encode())
        messages = self.h.wait_for_messages(self.before + 1)
        self.assertEqual(len(messages), self.before + 1)
        self.assertNotIn(b"smuggled", messages[-1][1])
        self.assertIn(b"after", messages[-1][1])
        self.assert_verifies(messages[-1][1])

    def test_unknown_domain_is_tempfailed(self):
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=10) as client:
            client.ehlo("e2e.client")
            client.mail("x@unknown.example")
            client.rcpt("bob@example.net")
            code, text = client.data(message_text(sender="unknown.example").encode())
            self.assertEqual(code, 451)
            self.assertIn(b"4.7.1", text)


class OpenRelayTest(unittest.TestCase):
    def test_client_outside_allowed_networks_gets_550_and_upstream_sees_nothing(self):
        # Only 127.0.0.2 may relay; the outsider connects from 127.0.0.1.
        h = RelayHarness(relay_extra='allowed_networks = ["127.0.0.2/32"]\n')
        try:
            outsider = RawClient(h.port)
            try:
                self.assertEqual(outsider.sock.getsockname()[0], "127.0.0.1")
                self.assertEqual(outsider.reply()[0], 220)
                outsider.send(b"EHLO outsider\r\nMAIL FROM:<outsider@example.org>\r\nRCPT TO:<victim@example.net>\r\n")
                self.assertEqual([outsider.reply()[0] for _ in range(2)], [250, 250])
                code, lines = outsider.reply()
                self.assertEqual(code, 550, lines)
                self.assertTrue(lines[0].startswith("5.7.1"), lines)
                outsider.send(b"DATA\r\n")
                self.assertEqual(outsider.reply()[0], 554)  # no accepted recipient
                outsider.send(b"QUIT\r\n")
                self.assertEqual(outsider.reply()[0], 221)
            finally:
                outsider.close()
            # A client inside allowed_networks, afterwards, on the same relay and upstream: its
            # message is the only one and its MAIL the only one the upstream ever saw.
            with smtplib.SMTP("127.0.0.1", h.port, timeout=10, source_address=("127.0.0.2", 0)) as insider:
                insider.sendmail("alice@%s" % DOMAIN, ["bob@example.net"], message_text().encode())
            messages = h.wait_for_messages(1)
            self.assertEqual(len(messages), 1)
            self.assertEqual(messages[0][0]["rcpt_tos"], ["bob@example.net"])
            self.assertEqual(h.upstream_senders(), ["alice@%s" % DOMAIN])
            assert_verifies(self, h, messages[0][1])
        finally:
            h.close()


def large_body(size, dot_lines):
    """About `size` bytes of body for the large-message paths: text lines with trailing blanks, lines
    at the 1000-byte line limit as sent (a dot-stuffed one among them: 997 bytes, sent as 998 + CRLF),
    lines starting with '.' (when dot_lines) and a run of trailing empty lines (dropped by both
    canonicalizations, kept by the relay)."""
    lines = []
    total = 0
    i = 0
    while total < size:
        if i % 1000 == 7:
            line = "L" * 998  # 998 + CRLF: at max_text_line
        elif dot_lines and i % 1000 == 8:
            line = "." + "d" * 996  # sent as ".." + 996 + CRLF: at max_text_line
        elif dot_lines and i % 9 == 0:
            line = (".." if i % 2 else ".") + "dot line %d" % i
        elif i % 7 == 0:
            line = "line %d with trailing blanks \t " % i
        else:
            line = "line %d of a large message, relayed and signed as it came in, word after word" % i
        lines.append(line)
        total += len(line) + 2
        i += 1
    return "\r\n".join(lines) + "\r\n" + "\r\n" * 30


class LargeMessageTest(SharedRelayTest):
    """1 MB (held in memory, below spill_threshold) and 10 MB (spilled) messages, with and without
    dot lines: each takes its own way upstream (in memory, gathered; in memory with many stuffed
    dots, copied into one buffer; spilled with dots, read back and stuffed; spilled without,
    sendfile). The upstream must get the client's text byte for byte after our fields, and both
    verifiers must pass it."""

    def relay_one(self, size, dot_lines):
        before = len(self.h.captured_messages())
        text = message_text(body=large_body(size, dot_lines)).encode()
        self.assertEqual(max(len(line) for line in smtplib.quotedata(text.decode()).split("\r\n")), 998)
        with smtplib.SMTP("127.0.0.1", self.h.port, timeout=60) as client:
            client.ehlo("e2e.large")
            self.assertEqual(client.mail("alice@%s" % DOMAIN)[0], 250)
            self.assertEqual(client.rcpt("bob@example.net")[0], 250)
            code, reply = client.data(text)
            self.assertEqual(code, 250, reply)
        _, content = self.h.wait_for_messages(before + 1)[-1]
        added = content[:len(content) - len(text)]
        self.assertTrue(content.endswith(text), "the upstream did not get the client's text unchanged")
        self.assertTrue(added.startswith(b"Received: from ") and b"\r\nDKIM-Signature: " in added, added[:300])
        self.assertEqual(added.count(b"\r\nDKIM-Signature: "), 2, added)
        assert_verifies(self, self.h, content)

    def test_1mb_with_dot_lines_in_memory(self):
        self.relay_one(1_000_000, dot_lines=True)

    def test_1mb_without_dot_lines_in_memory(self):
        self.relay_one(1_000_000, dot_lines=False)

    def test_10mb_with_dot_lines_spilled(self):
        self.relay_one(10_000_000, dot_lines=True)

    def test_10mb_without_dot_lines_spilled(self):
        self.relay_one(10_000_000, dot_lines=False)


class ShutdownTest(unittest.TestCase):
    def test_sigterm_drains_and_exits(self):
        h = RelayHarness(shutdown_grace="5s")
        try:
            idle = RawClient(h.port)
            self.assertEqual(idle.reply()[0], 220)
            busy = RawClient(h.port)
            self.assertEqual(busy.reply()[0], 220)
            busy.send(b"EHLO busy\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<bob@example.net>\r\n")
            self.assertEqual([busy.reply()[0] for _ in range(3)], [250, 250, 250])
            h.relay.send_signal(signal.SIGTERM)
            code, lines = idle.reply()
            self.assertEqual(code, 421, lines)
            self.assertIn("4.3.2", lines[0])
            busy.send(b"DATA\r\n")
            self.assertEqual(busy.reply()[0], 354)
            busy.send(message_text().encode() + b".\r\n")
            self.assertEqual(busy.reply()[0], 250)
            self.assertEqual(busy.reply()[0], 421)
            self.assertEqual(h.relay.wait(timeout=30), 0, h.log())
            messages = h.wait_for_messages(1)
            self.assertEqual(len(messages), 1)
            assert_verifies(self, h, messages[0][1])
            idle.close()
            busy.close()
        finally:
            h.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
