"""Issue 12 item 5: AUTH cannot be used to burn CPU.

1. Bounded queue: with auth_threads = 1 and auth_queue = 1, five simultaneous AUTH attempts (from
   five addresses, so no back-off applies) get: two checked (535), three `454 4.7.0` at once.
2. Per-address back-off: failures from one address (each on a new connection, so the per-session
   bad-command count never applies) get slower replies (1 s, 2 s ...) and, after max_bad_commands
   failures from the address, 421 and the connection closed. Another address is not delayed.
3. The measurement the issue asks for: with shipped defaults (auth_threads 1, auth_queue 16,
   auth_failure_delay_max 30s), 20 attacking connections from 127.0.0.2..21 send wrong passwords
   as fast as the relay answers (reconnecting when closed) while the app on 127.0.0.1, which
   logged in before the attack as a running app has, logs in 40 times; the app's p50/p99 AUTH
   latency is printed and must stay under 5 x its cost without attack + 1 s (today's main queues
   it behind every attacker's check).
Password hashes are computed by Python's hashlib (600000 iterations, the relay's own default)."""
import statistics
import sys
import threading

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.auth_cpu")
PASSWORD = "correct horse battery"


def relay_for(relay_extra, iterations=600000):
    users = support.auth_users_toml(BINARY, {"app": PASSWORD}).replace(
        support.pbkdf2_hash(PASSWORD), support.pbkdf2_hash(PASSWORD, iterations=iterations))
    toml = support.directory_config(relay_extra="allow_auth_without_tls = true\n" + relay_extra, rest=users)
    return harness.Relay(BINARY, toml).start()


Client = support.SmtpClient



def bounded_queue():
    relay = relay_for("auth_threads = 1\nauth_queue = 1\n")
    try:
        clients = [Client(relay.smtp_port, f"127.0.1.{i + 1}") for i in range(5)]
        for c in clients:
            c.command("EHLO attacker.test")
        replies = [None] * 5

        def attempt(i):
            replies[i] = clients[i].auth("app", "wrong password")

        threads = [threading.Thread(target=attempt, args=(i,)) for i in range(5)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        codes = sorted(r[0][:3] for r in replies)
        print("bounded queue:", [(r[0].strip().decode(), round(r[1], 2)) for r in replies], flush=True)
        results.check(codes == [b"454", b"454", b"454", b"535", b"535"], f"two checked, three refused: {codes}")
        quick = [r[1] for r in replies if r[0].startswith(b"454 4.7.0")]
        checked = [r[1] for r in replies if r[0].startswith(b"535")]
        results.check(quick and checked and max(quick) < min(checked),
                      f"454 answered at once, before any check finished: {quick} vs {checked}")
        for c in clients:
            c.close()
    finally:
        relay.cleanup()


def backoff():
    # A cheap hash here: the reply times are then the back-off alone.
    relay = relay_for("max_bad_commands = 3\n", iterations=1000)
    try:
        times = []
        replies = []
        for attempt in range(5):
            c = Client(relay.smtp_port, "127.0.2.1")
            c.command("EHLO attacker.test")
            reply, seconds = c.auth("app", "wrong password")
            after = c.reply() if reply.startswith(b"421") else None  # closed: b""
            c.close()
            replies.append(reply[:9])
            times.append(seconds)
            if reply.startswith(b"421"):
                results.check(after == b"", "the connection is closed after the 421")
        print("back-off:", list(zip([r.decode() for r in replies], [round(t, 2) for t in times])), flush=True)
        results.check(replies[:3] == [b"535 5.7.8"] * 3, f"first failures: 535 5.7.8, got {replies[:3]}")
        results.check(all(r.startswith(b"421 4.7.0") for r in replies[3:]),
                      f"after max_bad_commands (3) failures from the address: 421 4.7.0, got {replies[3:]}")
        results.check(times[0] < 0.5 and 0.9 <= times[1] < 1.5 and 1.9 <= times[2] < 2.5,
                      f"first reply at once, second and third delayed by 1 s and 2 s: {times}")
        c = Client(relay.smtp_port, "127.0.2.2")
        c.command("EHLO app.test")
        reply, seconds = c.auth("app", PASSWORD)
        c.close()
        results.check(reply.startswith(b"235") and seconds < times[0] + 1.0,
                      f"another address is not delayed: {reply!r} in {seconds:.2f} s")
    finally:
        relay.cleanup()


def attack_latency():
    relay = relay_for("")
    stop = threading.Event()
    attempts = [0] * 20

    def attacker(i):
        while not stop.is_set():
            try:
                c = Client(relay.smtp_port, f"127.0.0.{i + 2}", timeout=60)
                c.command("EHLO attacker.test")
                while not stop.is_set():
                    reply, _ = c.auth("app", f"guess-{attempts[i]}")
                    attempts[i] += 1
                    if not reply.startswith(b"535") and not reply.startswith(b"454"):
                        break
                c.close()
            except OSError:
                pass

    try:
        # The app's login cost without attack, for the report.
        baseline = []
        for _ in range(3):
            c = Client(relay.smtp_port)
            c.command("EHLO app.test")
            reply, seconds = c.auth("app", PASSWORD)
            c.close()
            baseline.append(seconds)
        threads = [threading.Thread(target=attacker, args=(i,), daemon=True) for i in range(20)]
        for t in threads:
            t.start()
        latencies = []
        failures = []
        for _ in range(40):
            c = Client(relay.smtp_port)
            c.command("EHLO app.test")
            reply, seconds = c.auth("app", PASSWORD)
            c.close()
            latencies.append(seconds)
            if not reply.startswith(b"235"):
                failures.append(reply)
        stop.set()
        latencies.sort()
        p50 = statistics.median(latencies)
        p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))]
        print(f"legitimate AUTH without attack: {[round(b, 3) for b in baseline]} s", flush=True)
        print(f"legitimate AUTH with 20 attacking connections: n={len(latencies)} p50={p50:.3f} s p99={p99:.3f} s "
              f"max={latencies[-1]:.3f} s; attacker attempts answered: {sum(attempts)}", flush=True)
        results.check(not failures, f"every legitimate login succeeded: {failures[:3]}")
        # The app waits for at most the one attacker check in progress, then its own: about twice
        # a login's cost; five times plus a second of slack covers a machine shared with others.
        bound = 5 * max(baseline) + 1.0
        results.check(p99 < bound, f"legitimate login p99 under {bound:.2f} s with 20 attackers: {p99:.3f} s")
    finally:
        stop.set()
        relay.cleanup()


for part in (bounded_queue, backoff, attack_latency):
    try:
        part()
    except (AssertionError, OSError) as e:  # e.g. a relay that does not know the new keys
        results.check(False, f"{part.__name__}: {e}")
results.finish()
