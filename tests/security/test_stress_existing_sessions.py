"""Issue 24 item 10: stress mode applies to sessions that were already open.

max_connections = 12 (stress mode from 9 connections until fewer than 6), idle_timeout 5 min,
stress_idle_timeout 1 s. Four clients connect and sit idle after the greeting while the relay is not
under stress; five more connect, stay busy (NOOP every 0.3 s, so stress mode stays on while the four
go) and stress mode switches on. The four that were already open must then be closed with the
stress timeout (421 4.4.2 within a few seconds), not keep their 5-minute timeout. (A relay that
applies the short timeouts only to sessions opened under stress passed the slow-senders test.)"""
import socket
import sys
import threading
import time

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.stress_existing_sessions")


def connect(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=30)
    greeting = s.recv(512)
    return s, greeting


def closed_within(sock, seconds):
    """Reads until the relay closes the connection or `seconds` pass; returns (closed, text)."""
    sock.settimeout(0.2)
    deadline = time.monotonic() + seconds
    text = b""
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(512)
        except socket.timeout:
            continue
        except OSError:
            return True, text
        if not chunk:
            return True, text
        text += chunk
    return False, text


def main():
    toml = support.directory_config(relay_extra='max_connections = 12\nidle_timeout = "5m"\n'
                                                'stress_idle_timeout = "1s"\nstress_command_timeout = "1s"\n')
    relay = harness.Relay(BINARY, toml)
    relay.start()
    try:
        early = [connect(relay.smtp_port) for _ in range(4)]
        results.check(all(g.startswith(b"220") for _, g in early), f"four idle clients admitted: {[g for _, g in early]}")
        late = [connect(relay.smtp_port) for _ in range(5)]
        results.check(all(g.startswith(b"220") for _, g in late), "five more admitted; stress mode now on")
        stop = threading.Event()

        def keep_busy():
            while not stop.wait(0.3):
                for sock, _ in late:
                    try:
                        sock.sendall(b"NOOP\r\n")
                        sock.recv(512)
                    except OSError:
                        pass

        busy = threading.Thread(target=keep_busy, daemon=True)
        busy.start()
        started = time.monotonic()
        for i, (sock, _) in enumerate(early):
            closed, text = closed_within(sock, max(0.5, 8.0 - (time.monotonic() - started)))
            results.check(closed and text.startswith(b"421"),
                          f"idle session {i}, open before stress mode, closed with the stress timeout: "
                          f"closed={closed} {text!r} after {time.monotonic() - started:.1f} s")
        stop.set()
        busy.join()
        results.check("stress mode on" in relay.log(), "the switch to stress mode is logged")
        for sock, _ in early + late:
            sock.close()
    finally:
        relay.cleanup()
    results.finish()


main()
