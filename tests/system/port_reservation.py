"""Ports for the servers a test starts, chosen so that two servers never get the same one.

`bind(0)` hands out a port from the kernel's ephemeral range, the range every outgoing connection
also takes its local port from. Between the moment a test picks such a port and the moment its
server binds it, any `connect()` on the machine may take it (CI saw this: a relay's listen port,
picked free, was taken before the relay started). So ports come from below the ephemeral range,
where the kernel hands out nothing by itself, and each is reserved with a file created O_EXCL in
a directory shared by every test of the run, so that a test running beside this one (ctest -j)
does not pick it either. Reservations are not released during a run; one older than STALE_AFTER
is from an earlier run and is taken over.
"""
import errno
import os
import random
import socket
import time

RESERVATIONS = os.environ.get("DKR_TEST_PORT_DIR", "/tmp/dkim-relay-test-ports")
STALE_AFTER = 6 * 3600
LOWEST = 10000


def _ephemeral_low():
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            return int(f.read().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def _reserve(port):
    path = os.path.join(RESERVATIONS, str(port))
    for _ in range(2):
        try:
            os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
            return True
        except FileExistsError:
            try:
                if time.time() - os.stat(path).st_mtime < STALE_AFTER:
                    return False
                os.unlink(path)
            except FileNotFoundError:
                pass
            except PermissionError:  # another user's reservation, in the sticky directory
                return False
    return False


def _bindable(port, kind):
    with socket.socket(socket.AF_INET, kind) as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError as e:
            if e.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise


def free_port(udp=False):
    """A port on 127.0.0.1 free for TCP (and for UDP too when udp=True), reserved for this test."""
    os.makedirs(RESERVATIONS, mode=0o1777, exist_ok=True)
    high = _ephemeral_low()
    if high - LOWEST < 1000:
        raise RuntimeError("the ephemeral port range starts at %d: no room below it for test ports" % high)
    for _ in range(200):
        port = random.randrange(LOWEST, high)
        if not _bindable(port, socket.SOCK_STREAM) or (udp and not _bindable(port, socket.SOCK_DGRAM)):
            continue
        if _reserve(port):
            return port
    raise RuntimeError("no free, unreserved port on 127.0.0.1 below %d after 200 tries" % high)
