"""Issue 12 item 7 (relay part):
- a NUL byte in the header section or the body is refused 550 5.6.0 (no BINARYMIME offered), and
  nothing reaches the upstream; the session stays usable;
- the client's AUTH= MAIL parameter is not passed upstream as given (RFC 4954 §5): AUTH=<> from a
  client that did not authenticate, the authenticated identity (xtext) from one that did.
The upstream is the relay's directory upstream: its envelope files show what MAIL carried."""
import base64
import smtplib
import sys

import hardening_support as support
from hardening_support import harness

BINARY = sys.argv[1]
results = harness.Results("security.nul_and_auth_param")

CLEAN = b"From: a@example.com\r\nTo: b@example.org\r\nSubject: clean\r\n\r\nbody\r\n"


def data_reply(smtp, raw):
    """DATA with `raw` sent as is (dot-stuffing not needed: no line starts with a dot)."""
    code, _ = smtp.docmd("DATA")
    assert code == 354, code
    smtp.send(raw + b".\r\n")
    return smtp.getreply()


def transaction(smtp, raw, mail_args=""):
    code, text = smtp.docmd("MAIL", "FROM:<a@example.com>" + (" " + mail_args if mail_args else ""))
    if code != 250:
        return code, text
    code, text = smtp.docmd("RCPT", "TO:<b@example.org>")
    if code != 250:
        return code, text
    return data_reply(smtp, raw)


def main():
    users = support.auth_users_toml(BINARY, {"app+1": "s3cret-pass"})
    relay = harness.Relay(BINARY, support.directory_config(relay_extra="allow_auth_without_tls = true", rest=users))
    try:
        relay.start()
        smtp = smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=20)
        smtp.ehlo("client.test")

        cases = {
            "NUL in a header field": b"From: a@example.com\r\nSubject: x\x00y\r\n\r\nbody\r\n",
            "NUL in the body": b"From: a@example.com\r\nSubject: x\r\n\r\nline one\r\nli\x00ne two\r\n",
        }
        for what, raw in cases.items():
            code, text = transaction(smtp, raw)
            results.check(code == 550 and text.startswith(b"5.6.0"), f"{what}: 550 5.6.0, got {code} {text!r}")
        results.check(support.outbox_envelopes(relay.dir) == [], "no message with a NUL reached the upstream")
        code, text = transaction(smtp, CLEAN)
        results.check(code == 250, f"the same session then sends a clean message: {code} {text!r}")

        # Not authenticated (allowed by network): the client's AUTH= must not go upstream.
        code, text = transaction(smtp, CLEAN, "AUTH=ceo@other-tenant.test")
        results.check(code == 250, f"MAIL with AUTH= accepted: {code} {text!r}")
        smtp.quit()

        # Authenticated as app+1: the identity goes upstream, xtext-encoded ("+" is "+2B").
        smtp = smtplib.SMTP("127.0.0.1", relay.smtp_port, timeout=20)
        smtp.ehlo("client.test")
        token = base64.b64encode(b"\0app+1\0s3cret-pass").decode()
        code, text = smtp.docmd("AUTH", "PLAIN " + token)
        results.check(code == 235, f"AUTH PLAIN succeeds: {code} {text!r}")
        code, text = transaction(smtp, CLEAN, "AUTH=ceo@other-tenant.test")
        results.check(code == 250, f"authenticated MAIL with AUTH= accepted: {code} {text!r}")
        smtp.quit()

        args = [e["mail_from_args"] for e in support.outbox_envelopes(relay.dir)]
        print("MAIL arguments upstream:", args, flush=True)
        results.check(len(args) == 3, f"three messages went upstream, got {len(args)}")
        results.check(not any("ceo@other-tenant.test" in a for a in args), "the client's AUTH= value never went upstream")
        results.check("<a@example.com> AUTH=<>" in args, "unauthenticated: AUTH=<> upstream")
        results.check("<a@example.com> AUTH=app+2B1" in args, "authenticated: AUTH=app+2B1 (xtext) upstream")
        results.check("<a@example.com>" in args, "without AUTH= the arguments are unchanged")
    finally:
        relay.cleanup()
    results.finish()


main()
