"""Issue 24 item 4: the AUTH failure back-off is per address AND user, a success clears it, and a
login that succeeds never waits for the back-off.

With a cheap hash (1000 iterations) the reply times are the back-off alone:
1. From one address (the sidecar's app address), user "intruder" fails 4 times (its answers slow
   down: 0, 1, 2, 4 s). User "app" on the same address then logs in at once (before: it waited for
   the address's back-off, 8 s here, 30 s with the defaults).
2. On the same address, "app" itself fails 3 times (a guesser of the app's password); the correct
   password is answered at once (one PBKDF2 run, no back-off), and the success clears the count:
   the next failure of "app" is answered at once again.
3. The intruder's back-off is unchanged by app's success (keyed per user): its next failure still waits."""
import sys

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.auth_backoff_per_user")
PASSWORDS = {"app": "app-password-1", "intruder": "intruder-password-2"}


def Client(port, source="127.0.0.1"):
    client = support.SmtpClient(port, source)
    client.command("EHLO app.test")
    return client


def attempt(relay, user, password, source="127.0.3.1"):
    """One AUTH on a fresh connection (so the per-session bad-command count never applies)."""
    c = Client(relay.smtp_port, source)
    try:
        return c.auth(user, password)
    finally:
        c.close()


def main():
    users = support.auth_users_toml(BINARY, PASSWORDS)
    toml = support.directory_config(relay_extra="allow_auth_without_tls = true\nmax_bad_commands = 10\n", rest=users)
    relay = harness.Relay(BINARY, toml).start()
    try:
        times = []
        for i in range(4):
            reply, seconds = attempt(relay, "intruder", f"wrong-{i}")
            results.check(reply.startswith(b"535 5.7.8"), f"intruder failure {i}: {reply!r}")
            times.append(seconds)
        print("intruder failures:", [round(t, 2) for t in times], flush=True)
        results.check(times[0] < 0.5 and 0.9 <= times[1] < 1.6 and 1.9 <= times[2] < 2.8 and times[3] >= 3.9,
                      f"the intruder's failures are answered after 0, 1, 2, 4 s: {times}")

        reply, seconds = attempt(relay, "app", PASSWORDS["app"])
        results.check(reply.startswith(b"235"), f"app logs in from the same address: {reply!r}")
        results.check(seconds < 0.8, f"app's login is not delayed by another user's failures: {seconds:.2f} s")

        app_fail = []
        for i in range(3):
            reply, seconds = attempt(relay, "app", f"guess-{i}")
            results.check(reply.startswith(b"535"), f"app guess {i}: {reply!r}")
            app_fail.append(seconds)
        results.check(app_fail[1] >= 0.9 and app_fail[2] >= 1.9, f"app's own failures back off: {app_fail}")
        reply, seconds = attempt(relay, "app", PASSWORDS["app"])
        results.check(reply.startswith(b"235") and seconds < 0.8,
                      f"the correct password after app's failures is answered at once: {reply!r} {seconds:.2f} s")
        reply, seconds = attempt(relay, "app", "guess-after-success")
        results.check(reply.startswith(b"535") and seconds < 0.8,
                      f"the success cleared app's count: the next failure is answered at once ({seconds:.2f} s)")

        reply, seconds = attempt(relay, "intruder", "wrong-again")
        results.check(reply.startswith(b"535") and seconds >= 7.5,
                      f"the intruder's back-off is its own and survives app's success: {seconds:.2f} s")
    finally:
        relay.cleanup()
    results.finish()


main()
