"""A minimal SMTP server that misbehaves on purpose, for the SMTP client's failure tests.

Modes: normal, greet421 (421 greeting, then close), stall (accept, never answer), drop-in-data
(close after the first data bytes, no reply), stall-after-data (read the whole message, never
answer), pause-in-data (after the first data bytes write `data-started` and stop reading until
the file `resume` exists; then read on and write `aborted-N` if the client closed before the
terminator), and for normal mode --after-message close|421 drops the connection after each
accepted message, like an upstream expiring idle connections; --no-ehlo refuses EHLO.
--data-timeout S: after 354, a client that sends nothing for S seconds gets Postfix's
"421 4.4.2 ... Error: timeout exceeded" and the connection is closed (`data-timeout-N` records it).
Mode data250 answers DATA with 250 instead of 354 (a broken upstream).
Mode take-and-drop reads the whole message, stores it (msg-NNNN.eml: it was taken) and closes the
connection without a reply, as an upstream that crashed after queueing would.
--refuse-rcpt-from N: RCPT is refused with 550 on the N-th connection and later ones.
Each DATA command received is recorded as `data-command-N`.
Accepted messages go to msg-NNNN.eml; `connections` counts connections that sent EHLO/HELO.
"""
import argparse
import os
import socket
import threading
import time


def write_atomically(path, data):
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)


class Server:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.connections = 0
        self.messages = 0

    def path(self, name):
        return os.path.join(self.args.dir, name)

    def count_connection(self):
        with self.lock:
            self.connections += 1
            write_atomically(self.path("connections"), str(self.connections).encode())
            return self.connections

    def record(self, data):
        with self.lock:
            self.messages += 1
            write_atomically(self.path("msg-%04d.eml" % self.messages), data)
            return self.messages

    def serve(self, conn):
        mode = self.args.mode
        reader = conn.makefile("rb")
        try:
            if mode == "stall":
                while conn.recv(4096):
                    pass
                return
            if mode == "greet421":
                conn.sendall(b"421 4.3.2 scripted.test service shutting down\r\n")
                return
            conn.sendall(b"220 scripted.test ESMTP\r\n")
            counted = False
            while True:
                line = reader.readline()
                if not line:
                    return
                verb = line[:4].upper()
                if verb in (b"EHLO", b"HELO"):
                    if not counted:
                        counted = self.count_connection()
                    if verb == b"EHLO" and self.args.no_ehlo:
                        conn.sendall(b"502 5.5.1 EHLO not implemented\r\n")
                        continue
                    if verb == b"EHLO":
                        conn.sendall(b"250-scripted.test\r\n250-PIPELINING\r\n250 8BITMIME\r\n")
                    else:
                        conn.sendall(b"250 scripted.test\r\n")
                elif verb == b"RCPT" and self.args.refuse_rcpt_from and counted >= self.args.refuse_rcpt_from:
                    conn.sendall(b"550 5.1.1 scripted.test: recipient refused\r\n")
                elif verb in (b"MAIL", b"RCPT", b"RSET", b"NOOP"):
                    conn.sendall(b"250 2.0.0 Ok\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 2.0.0 Bye\r\n")
                    return
                elif verb == b"DATA" and mode == "data250":
                    conn.sendall(b"250 2.0.0 scripted.test: DATA taken as done\r\n")
                elif verb == b"DATA":
                    conn.sendall(b"354 End data with <CR><LF>.<CR><LF>\r\n")
                    with self.lock:
                        self.data_commands = getattr(self, "data_commands", 0) + 1
                        write_atomically(self.path("data-command-%d" % self.data_commands), b"")
                    if self.args.data_timeout and not self.data_arrives(conn):
                        return
                    if not self.data(conn, reader):
                        return
                else:
                    conn.sendall(b"502 5.5.2 unrecognised\r\n")
        finally:
            reader.close()
            conn.close()

    def data_arrives(self, conn):
        """The upstream's own timeout in DATA (Postfix: smtpd_timeout), not a test synchronisation."""
        conn.settimeout(self.args.data_timeout)
        try:
            if conn.recv(1, socket.MSG_PEEK):
                conn.settimeout(None)
                return True
        except socket.timeout:
            conn.sendall(b"421 4.4.2 scripted.test Error: timeout exceeded\r\n")
            with self.lock:
                self.timeouts = getattr(self, "timeouts", 0) + 1
                write_atomically(self.path("data-timeout-%d" % self.timeouts), b"")
        return False

    def data(self, conn, reader):
        """Returns whether the session goes on."""
        mode = self.args.mode
        lines = []
        first = True
        while True:
            try:
                line = reader.readline()
            except ConnectionResetError:  # closed with our 354 unread: the end, like EOF
                line = b""
            if first:
                first = False
                if mode == "drop-in-data":
                    return False
                if mode == "pause-in-data":
                    write_atomically(self.path("data-started"), b"")
                    while not os.path.exists(self.path("resume")):
                        time.sleep(0.01)
            if not line or not line.endswith(b"\r\n"):
                with self.lock:
                    write_atomically(self.path("aborted-%d" % (self.messages + 1)), b"".join(lines))
                return False
            if line == b".\r\n":
                break
            lines.append(line[1:] if line.startswith(b".") else line)
        if mode == "stall-after-data":
            while conn.recv(4096):
                pass
            return False
        if mode == "take-and-drop":
            self.record(b"".join(lines))
            return False
        number = self.record(b"".join(lines))
        conn.sendall(b"250 2.0.0 Ok: queued as %d\r\n" % number)
        if self.args.after_message == "close":
            return False
        if self.args.after_message == "421":
            conn.sendall(b"421 4.4.2 scripted.test idle timeout\r\n")
            return False
        return True


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--mode", default="normal",
                        choices=["normal", "greet421", "stall", "drop-in-data", "stall-after-data",
                                 "pause-in-data", "data250", "take-and-drop"])
    parser.add_argument("--after-message", choices=["close", "421"])
    parser.add_argument("--no-ehlo", action="store_true", help="answer EHLO with 502 (HELO only)")
    parser.add_argument("--data-timeout", type=float, default=0.0)
    parser.add_argument("--refuse-rcpt-from", type=int, default=0)
    args = parser.parse_args()
    server = Server(args)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", args.port))
    listener.listen(16)
    while True:
        conn, _ = listener.accept()
        threading.Thread(target=server.serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
