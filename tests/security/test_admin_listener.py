#!/usr/bin/python3
"""Issue 12 item 8: admin listener limits.

A connection cap (admin.max_connections, default 64) and an idle timeout (admin.idle_timeout); a
non-loopback admin.listen without TLS is refused at start unless admin.allow_plaintext = true, and
then the start banner warns.

usage: /usr/bin/python3 test_admin_listener.py --binary PATH/dkim-relay [unittest args]
"""
import argparse
import os
import socket
import sys
import time
import unittest

import security_harness as h

BINARY = None
TOKEN = "t" * 40

BASE = """
[relay]
listen = ["127.0.0.1:{port}"]

[keystore]
path = "{keys}"
watch = false
demo_domain = ""

[admin]
token_file = "{dir}/admin.token"
dns_resolver = "127.0.0.1:9"
"""


def start(extra):
    relay = h.Relay(BINARY, [], BASE + extra, upstream=False)
    h.write_secret(os.path.join(relay.dir, "admin.token"), TOKEN)
    return relay


def closed_by_server(sock, within):
    """True when the server closes `sock` within `within` seconds without answering."""
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def healthz(port):
    """The whole answer to GET /healthz; b"" when the server closes the connection instead."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            data = b""
            while True:
                chunk = s.recv(4096)
                if not chunk:
                    return data
                data += chunk
    except ConnectionError:
        return b""


class AdminListenerTest(unittest.TestCase):
    def test_connection_cap_default_64(self):
        relay = start('listen = "127.0.0.1:{admin_port}"\n')
        held = []
        try:
            relay.start(wait_for_admin=True)
            # From eight addresses: one address holds at most admin.max_connections_per_address (8).
            for i in range(64):
                held.append(socket.create_connection(("127.0.0.1", relay.admin_port), timeout=5,
                                                     source_address=("127.0.0.%d" % (2 + i // 8), 0)))
            # Every held connection is accepted and served: a request on the last one is answered.
            held[-1].sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            held[-1].settimeout(5)
            self.assertTrue(held[-1].recv(4096).startswith(b"HTTP/1.1 200"))
            extra = socket.create_connection(("127.0.0.1", relay.admin_port), timeout=5,
                                             source_address=("127.0.0.10", 0))
            self.assertTrue(closed_by_server(extra, 5), "the 65th connection is closed without an answer")
            extra.close()
            self.assertIn("admin.max_connections", relay.log())
            # Freeing a slot lets the next one in.
            held.pop(0).close()
            h.wait_until(lambda: healthz(relay.admin_port).startswith(b"HTTP/1.1 200"), 10, "a free admin slot")
        finally:
            for s in held:
                s.close()
            relay.close()

    def test_idle_connection_is_closed_after_idle_timeout(self):
        relay = start('listen = "127.0.0.1:{admin_port}"\nidle_timeout = "1s"\n')
        try:
            relay.start(wait_for_admin=True)
            idle = socket.create_connection(("127.0.0.1", relay.admin_port), timeout=5)
            started = time.monotonic()
            self.assertTrue(closed_by_server(idle, 8), "an idle admin connection is closed")
            self.assertGreaterEqual(time.monotonic() - started, 0.9)
            idle.close()
            # A half-sent request counts as idle too.
            slow = socket.create_connection(("127.0.0.1", relay.admin_port), timeout=5)
            slow.sendall(b"GET /healthz HTTP/1.1\r\n")
            self.assertTrue(closed_by_server(slow, 8), "a dribbling admin connection is closed")
            slow.close()
        finally:
            relay.close()

    def test_configured_cap(self):
        relay = start('listen = "127.0.0.1:{admin_port}"\nmax_connections = 2\n')
        held = []
        try:
            relay.start(wait_for_admin=True)
            held = [socket.create_connection(("127.0.0.1", relay.admin_port), timeout=5) for _ in range(2)]
            for s in held:
                s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(5)
                self.assertTrue(s.recv(4096).startswith(b"HTTP/1.1 200"))
            third = socket.create_connection(("127.0.0.1", relay.admin_port), timeout=5)
            self.assertTrue(closed_by_server(third, 5))
            third.close()
        finally:
            for s in held:
                s.close()
            relay.close()

    def test_non_loopback_plaintext_is_refused(self):
        relay = start('listen = "0.0.0.0:{admin_port}"\n')
        try:
            code, output = relay.run_to_exit()
            self.assertNotEqual(code, 0, output)
            self.assertIn("admin.listen", output)
            self.assertIn("allow_plaintext", output)
            self.assertFalse(h.port_open(relay.admin_port))
        finally:
            relay.close()

    def test_allow_plaintext_starts_and_warns(self):
        relay = start('listen = "0.0.0.0:{admin_port}"\nallow_plaintext = true\n')
        try:
            relay.start(wait_for_admin=True)
            self.assertTrue(healthz(relay.admin_port).startswith(b"HTTP/1.1 200"))
            h.wait_until(lambda: "ready" in relay.log(), 10, "the start banner")
            self.assertRegex(relay.log(), r"WARNING .*admin API without TLS")
        finally:
            relay.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
