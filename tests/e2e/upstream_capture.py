"""aiosmtpd handler for the e2e tests: stores each message as the upstream received it.

Run as: /usr/bin/python3 -m aiosmtpd -n -l 127.0.0.1:PORT -c upstream_capture.CaptureHandler OUTDIR
(with this directory on PYTHONPATH). For message N it writes OUTDIR/N.eml (the exact bytes after
dot-unstuffing) and OUTDIR/N.json (envelope), the .eml last via rename so a poller sees it whole.
A recipient whose local part is "reject-me" is refused with 550 5.1.1, so per-recipient replies can
be checked end to end; a message with a recipient "data-451" or "data-554" is refused after the
final dot with that code. Every MAIL FROM the upstream sees is appended to OUTDIR/mail_from.log, so
a test can show that a refused transaction never reached the upstream at all.
"""
import itertools
import json
import os


class CaptureHandler:
    def __init__(self, outdir):
        self.outdir = outdir
        self.counter = itertools.count(1)

    @classmethod
    def from_cli(cls, parser, *args):
        if len(args) != 1:
            parser.error("CaptureHandler needs OUTDIR")
        return cls(args[0])

    async def handle_MAIL(self, server, session, envelope, address, mail_options):
        with open(os.path.join(self.outdir, "mail_from.log"), "a") as f:
            f.write(address + "\n")
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 capture: sender ok"

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.split("@")[0] == "reject-me":
            return "550 5.1.1 capture: no such user"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 capture: ok"

    async def handle_DATA(self, server, session, envelope):
        local_parts = {rcpt.split("@")[0] for rcpt in envelope.rcpt_tos}
        if "data-451" in local_parts:
            return "451 4.3.0 capture: try again later"
        if "data-554" in local_parts:
            return "554 5.7.1 capture: message refused"
        n = next(self.counter)
        base = os.path.join(self.outdir, str(n))
        with open(base + ".json", "w") as f:
            json.dump({"mail_from": envelope.mail_from, "rcpt_tos": envelope.rcpt_tos,
                       "mail_options": envelope.mail_options}, f)
        with open(base + ".eml.tmp", "wb") as f:
            f.write(envelope.original_content)
        os.rename(base + ".eml.tmp", base + ".eml")
        return "250 2.0.0 Ok: queued as CAPTURE%d" % n
