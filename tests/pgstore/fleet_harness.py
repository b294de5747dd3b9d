"""Three (or more) dkim-relay processes sharing one PostgreSQL keystore, with a capturing aiosmtpd
upstream, for the fleet tests. Keys used for verification come from the database itself, decrypted
here with the `cryptography` package's AES-GCM and turned into TXT records with the openssl CLI, so
neither the relay's DNS rendering nor its decryption is trusted by the checks."""
import base64
import json
import os
import shutil
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import urllib.error
import urllib.request

import dkim  # noqa: F401  (the tests use fh.dkim)
import psycopg2
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
from harness import (captured_names, dkimpy_verify, mail_dkim_signatures, read_bytes,  # noqa: E402,F401
                     start_capture_upstream, start_serve, stop_process, txt_record_from_der, wait_until)

from pg_harness import PostgresServer, free_port  # noqa: E402

SCHEMA = "dkim_relay"


class TcpCut:
    """A TCP forwarder between a relay and PostgreSQL that the test can cut (drop every connection
    and refuse new ones) and restore: one replica loses the database while the others keep it."""

    def __init__(self, target_port):
        self.target = target_port
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.port = self.listener.getsockname()[1]
        self.open = True
        self.lock = threading.Lock()
        self.sockets = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            if not self.open:
                client.close()
                continue
            try:
                server = socket.create_connection(("127.0.0.1", self.target))
            except OSError:
                client.close()
                continue
            with self.lock:
                self.sockets += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(a, b), daemon=True).start()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                data = source.recv(65536)
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            s.close()

    def cut(self):
        self.open = False
        with self.lock:
            for s in self.sockets:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
            self.sockets = []

    def restore(self):
        self.open = True

    def close(self):
        self.cut()
        self.listener.close()


class Fleet:
    def __init__(self, binary, replicas=3, poll_interval="2s", proxied=()):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="dkim-relay-fleet-")
        self.procs = []
        self.relays = []
        self.pg = None
        self.cuts = {}
        try:
            self.pg = PostgresServer()
            self.kek_file = os.path.join(self.dir, "kek")
            self.cli("keys", "new-kek", self.kek_file)
            with open(self.kek_file) as f:
                self.kek = base64.b64decode(f.read().strip())
            self.captured = os.path.join(self.dir, "captured")
            os.makedirs(self.captured)
            self.upstream_port = free_port()
            self._start_upstream()
            for i in range(replicas):
                self.relays.append(self._write_config(i, poll_interval, i in proxied))
            self.cli("db", "migrate", "--config", self.relays[0]["config"])
        except BaseException:
            self.close()
            raise

    def cli(self, *args, env=None, check=True):
        result = subprocess.run([self.binary, *args], capture_output=True, text=True, env=env, timeout=120)
        if check and result.returncode != 0:
            raise AssertionError("dkim-relay %s failed (%d): %s%s" % (" ".join(args), result.returncode,
                                                                      result.stdout, result.stderr))
        return result

    def _start_upstream(self):
        self.procs.append(start_capture_upstream(self.dir, self.upstream_port, self.captured))

    def _write_config(self, index, poll_interval, proxied):
        relay = {"index": index, "smtp": free_port(), "admin": free_port(),
                 "config": os.path.join(self.dir, "relay%d.toml" % index),
                 "token": "token-%d-%s" % (index, base64.b16encode(os.urandom(8)).decode())}
        token_file = os.path.join(self.dir, "token%d" % index)
        with open(token_file, "w") as f:
            f.write(relay["token"] + "\n")
        os.chmod(token_file, 0o600)
        dsn = self.pg.dsn()
        if proxied:
            cut = TcpCut(self.pg.port)
            self.cuts[index] = cut
            dsn = "host=127.0.0.1 port=%d user=postgres dbname=postgres" % cut.port
        # The three ways to give the DSN: inline, dsn_file, and DKIM_RELAY_KEYSTORE_DSN.
        relay["env"] = dict(os.environ)
        dsn_line = ""
        if index % 3 == 0:
            dsn_line = 'dsn = "%s"' % dsn
        elif index % 3 == 1:
            dsn_file = os.path.join(self.dir, "dsn%d" % index)
            with open(dsn_file, "w") as f:
                f.write(dsn + "\n")
            os.chmod(dsn_file, 0o600)  # a secret file: the relay refuses one that others can read
            dsn_line = 'dsn_file = "%s"' % dsn_file
        else:
            relay["env"]["DKIM_RELAY_KEYSTORE_DSN"] = dsn
        with open(relay["config"], "w") as f:
            f.write("""
[relay]
listen = ["127.0.0.1:%d"]
hostname = "relay%d.fleet.test"
unsigned = "tempfail"
threads = 2
shutdown_grace = "5s"
max_connections_per_ip = 50

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
type = "postgres"
%s
kek_file = "%s"
schema = "%s"
poll_interval = "%s"

[admin]
enabled = true
listen = "127.0.0.1:%d"
token_file = "%s"

[log]
level = "info"
""" % (relay["smtp"], index, self.upstream_port, dsn_line, self.kek_file, SCHEMA, poll_interval,
       relay["admin"], token_file))
        return relay

    def start_relays(self):
        for relay in self.relays:
            relay["log"] = os.path.join(self.dir, "relay%d.log" % relay["index"])
            relay["proc"] = start_serve(self.binary, relay["config"], self.dir, relay["log"], env=relay["env"],
                                        ready=lambda relay=relay: self.admin(relay, "GET", "/readyz")[0] == 200,
                                        what="relay %d /readyz" % relay["index"], timeout=30)
            self.procs.append(relay["proc"])

    def log(self, relay):
        try:
            with open(relay["log"]) as f:
                return f.read()[-6000:]
        except (OSError, KeyError):
            return ""

    def admin(self, relay, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        request = urllib.request.Request("http://127.0.0.1:%d%s" % (relay["admin"], path), data=data, method=method,
                                         headers={"Authorization": "Bearer " + relay["token"],
                                                  "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(request, timeout=30) as response:
                text = response.read().decode()
                return response.status, (json.loads(text) if text.startswith(("{", "[")) else text)
        except urllib.error.HTTPError as e:
            text = e.read().decode()
            try:
                return e.code, json.loads(text)
            except ValueError:
                return e.code, text
        except OSError as e:
            return 0, str(e)

    def active_selector(self, relay, domain):
        status, body = self.admin(relay, "GET", "/v1/domains/" + domain)
        if status != 200:
            return None
        for s in body["selectors"]:
            if s["state"] == "active":
                return s["selector"]
        return None

    def metric(self, relay, name):
        status, body = self.admin(relay, "GET", "/metrics")
        if status != 200:
            return None
        for line in body.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def txt_records(self):
        """Every key in the database, decrypted independently, as TXT records."""
        conn = psycopg2.connect(self.pg.dsn())
        try:
            with conn.cursor() as cur:
                cur.execute("SELECT domain, selector, algorithm, sealed_key, bits, dns_record FROM %s.keys" % SCHEMA)
                rows = cur.fetchall()
        finally:
            conn.close()
        txt = {}
        for domain, selector, algorithm, sealed, bits, record in rows:
            sealed = bytes(sealed)
            # Version 2: the row's algorithm, bits and DNS record are bound to the sealed key.
            aad = ("dkim-relay key v2\0%s\0%s\0%s\0%d\0%s" % (domain, selector, algorithm, bits, record)).encode()
            pem = AESGCM(self.kek).decrypt(sealed[:12], sealed[12:], aad)
            der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem, check=True,
                                 capture_output=True).stdout
            txt["%s._domainkey.%s" % (selector, domain)] = txt_record_from_der(der, algorithm == "ed25519-sha256")
        return txt

    def captured_messages(self):
        return [read_bytes(os.path.join(self.captured, name)) for name in captured_names(self.captured)]

    def close(self):
        for proc in reversed(self.procs):
            stop_process(proc)
        for cut in self.cuts.values():
            cut.close()
        if self.pg is not None:
            self.pg.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def message_text(domain, tag):
    return ("From: Alice <alice@%s>\r\nTo: Bob <bob@example.net>\r\nSubject: fleet %s\r\n"
            "Message-ID: <%s@%s>\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\nfleet test %s\r\n"
            % (domain, tag, tag, domain, tag))


def send(relay, domain, tag):
    with smtplib.SMTP("127.0.0.1", relay["smtp"], timeout=30) as client:
        client.sendmail("alice@" + domain, ["bob@example.net"], message_text(domain, tag))


def signature_selectors(message):
    head = message.split(b"\r\n\r\n", 1)[0].decode()
    return [part.split("=", 1)[1].strip() for line in head.replace("\r\n\t", " ").replace("\r\n ", " ").split("\r\n")
            if line.lower().startswith("dkim-signature:")
            for part in line.split(":", 1)[1].split(";") if part.strip().startswith("s=")]


verify_dkimpy = dkimpy_verify  # every signature of the message passes dkimpy


def verify_maildkim(messages, txt, workdir):
    """Mail::DKIM over each message; returns the failures."""
    failures = []
    for i, message in enumerate(messages):
        perl = mail_dkim_signatures(message, txt, workdir)
        # Debian 12's Mail::DKIM (1.20230212) has no Ed25519: RSA signatures must pass, an Ed25519 one
        # may only be called unsupported (as in tests/e2e).
        lines = perl.stdout.splitlines()
        good = bool(lines) and all(line.startswith("pass ") or (line.split()[3:4] == ["ed25519-sha256"] and
                                                                   "unsupported algorithm" in line)
                                   for line in lines)
        if not good:
            failures.append((i, perl.stdout + perl.stderr))
    return failures
