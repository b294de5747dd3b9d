"""An aiosmtpd upstream for the SMTP client tests.

Records each accepted message as msg-NNNN.eml (the exact bytes after dot-unstuffing) plus
msg-NNNN.json (envelope, connection number), and the number of SMTP connections (those that
sent EHLO/HELO, so port probes do not count) in the file `connections`.
Recipients steer replies by local part: reject550* -> 550 at RCPT, defer451* -> 451 at RCPT,
datareject554* -> 554 after DATA.
"""
import argparse
import asyncio
import json
import os
import ssl

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class State:
    def __init__(self, directory):
        self.directory = directory
        self.connections = 0
        self.messages = 0


class CountingSMTP(SMTP):
    line_length_limit = 1 << 20  # tests send long lines on purpose

    def __init__(self, state, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.state = state
        self.connection_number = None

    def count(self):
        if self.connection_number is None:
            self.state.connections += 1
            self.connection_number = self.state.connections
            write_atomically(os.path.join(self.state.directory, "connections"),
                             str(self.state.connections).encode())

    async def smtp_EHLO(self, hostname):
        self.count()
        await super().smtp_EHLO(hostname)

    async def smtp_HELO(self, hostname):
        self.count()
        await super().smtp_HELO(hostname)


class RecordingHandler:
    def __init__(self, state):
        self.state = state

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        local = address.split("@")[0].lower()
        if local.startswith("reject550"):
            return "550 5.1.1 <%s>: mailbox unavailable" % address
        if local.startswith("defer451"):
            return "451 4.2.1 <%s>: mailbox busy, try later" % address
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Ok"

    async def handle_DATA(self, server, session, envelope):
        if any(r.split("@")[0].lower().startswith("datareject554") for r in envelope.rcpt_tos):
            return "554 5.6.0 message refused"
        self.state.messages += 1
        base = os.path.join(self.state.directory, "msg-%04d" % self.state.messages)
        write_atomically(base + ".eml", envelope.original_content)
        meta = {
            "mail_from": envelope.mail_from,
            "mail_options": envelope.mail_options,
            "rcpt_tos": envelope.rcpt_tos,
            "connection": server.connection_number,
            "tls": session.ssl is not None,
            "tls_resumed": bool(session.ssl and session.ssl.get("ssl_object") is not None
                                and session.ssl["ssl_object"].session_reused),
            "authenticated": bool(session.authenticated),
        }
        write_atomically(base + ".json", json.dumps(meta).encode())
        return "250 2.0.0 Ok: queued as %d" % self.state.messages


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--cert")
    parser.add_argument("--key")
    parser.add_argument("--auth", help="user:password that AUTH accepts")
    parser.add_argument("--auth-clear", action="store_true", help="allow AUTH without TLS")
    args = parser.parse_args()

    state = State(args.dir)
    handler = RecordingHandler(state)
    tls_context = None
    if args.cert:
        tls_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        tls_context.load_cert_chain(args.cert, args.key)

    authenticator = None
    if args.auth:
        user, password = args.auth.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = (isinstance(auth_data, LoginPassword) and auth_data.login == user.encode()
                  and auth_data.password == password.encode())
            return AuthResult(success=ok, handled=False)

    def factory():
        return CountingSMTP(state, handler, tls_context=tls_context, enable_SMTPUTF8=True,
                            authenticator=authenticator, auth_require_tls=not args.auth_clear,
                            hostname="recording.test")

    loop = asyncio.new_event_loop()
    server = loop.run_until_complete(loop.create_server(factory, host="127.0.0.1", port=args.port))
    try:
        loop.run_forever()
    finally:
        server.close()


if __name__ == "__main__":
    main()
