#!/usr/bin/python3
"""PostgreSQL keystore at ESP scale: a replica's cold load of N domains (default 100,000).

Starts a throw-away PostgreSQL (tests/pgstore/pg_harness.py), migrates the schema with the binary,
fills it with N domains of one Ed25519 key each (sealed here with AES-256-GCM by the `cryptography`
package, loaded with COPY), then starts `dkim-relay serve` and reports the time until /readyz answers
200, the load time the relay logs, and the relay's RSS.

usage: /usr/bin/python3 bench/keystore/pg_cold_load.py --binary build/release/app/dkim-relay [--domains N]
"""
import argparse
import base64
import io
import os
import re
import subprocess
import sys
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "..", "tests", "pgstore"))
import psycopg2  # noqa: E402
from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402
from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: E402

from pg_harness import PostgresServer, free_port  # noqa: E402


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def cpu_seconds(pid):
    """User + system CPU time of a process: on a shared, overloaded machine wall time mostly
    measures the other processes."""
    with open("/proc/%d/stat" % pid) as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    parser.add_argument("--domains", type=int, default=100000)
    args = parser.parse_args()
    args.binary = os.path.abspath(args.binary)
    pg = PostgresServer()
    work = pg.dir
    try:
        kek_file = os.path.join(work, "kek")
        subprocess.run([args.binary, "keys", "new-kek", kek_file], check=True, capture_output=True)
        with open(kek_file) as f:
            kek = AESGCM(base64.b64decode(f.read().strip()))
        smtp, admin = free_port(), free_port()
        config = os.path.join(work, "relay.toml")
        with open(os.path.join(work, "token"), "w") as f:
            f.write("bench-token-0123456789abcdef\n")
        os.chmod(os.path.join(work, "token"), 0o600)  # a secret file: the relay refuses a readable one
        with open(config, "w") as f:
            f.write('[relay]\nlisten = ["127.0.0.1:%d"]\n[upstream]\ntype = "directory"\ndirectory = "%s"\n'
                    '[keystore]\ntype = "postgres"\ndsn = "%s"\nkek_file = "%s"\n'
                    '[admin]\nlisten = "127.0.0.1:%d"\ntoken_file = "%s"\n[log]\nlevel = "info"\n'
                    % (smtp, os.path.join(work, "outbox"), pg.dsn(), kek_file, admin, os.path.join(work, "token")))
        subprocess.run([args.binary, "db", "migrate", "--config", config], check=True, capture_output=True)

        started = time.monotonic()
        pem = Ed25519PrivateKey.generate()
        public = pem.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
        private = pem.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption())
        record = "v=DKIM1; k=ed25519; p=" + base64.b64encode(public).decode()
        domains = io.StringIO()
        keys = io.StringIO()
        for i in range(args.domains):
            # One key pair shared by all domains keeps generation out of the measurement; every
            # domain still has its own nonce and ciphertext, bound to its name.
            name = "d%06d.bench.example" % i
            nonce = os.urandom(12)
            sealed = nonce + kek.encrypt(nonce, private, b"dkim-relay key v1\0" + name.encode() + b"\0s1")
            domains.write(name + "\n")
            keys.write("%s\ts1\ted25519-sha256\t256\tactive\t1\t1\t%s\t\\\\x%s\n" % (name, record, sealed.hex()))
        domains.seek(0)
        keys.seek(0)
        conn = psycopg2.connect(pg.dsn())
        with conn, conn.cursor() as cur:
            cur.copy_expert("COPY dkim_relay.domains (name) FROM STDIN", domains)
            cur.copy_expert("COPY dkim_relay.keys (domain, selector, algorithm, bits, state, created_at, activated_at,"
                            " dns_record, sealed_key) FROM STDIN", keys)
        conn.close()
        print("filled %d domains in %.1f s" % (args.domains, time.monotonic() - started), flush=True)

        log_path = os.path.join(work, "relay.log")
        load_before = open("/proc/loadavg").read().split()[0]
        with open(log_path, "w") as log:
            began = time.monotonic()
            relay = subprocess.Popen([args.binary, "serve", "--config", config], stdout=log,
                                     stderr=subprocess.STDOUT, cwd=work)
        try:
            request = urllib.request.Request("http://127.0.0.1:%d/readyz" % admin,
                                             headers={"Authorization": "Bearer bench-token-0123456789abcdef"})
            while True:
                if relay.poll() is not None:
                    raise SystemExit("relay exited:\n" + open(log_path).read())
                try:
                    with urllib.request.urlopen(request, timeout=2) as response:
                        if response.status == 200:
                            break
                except OSError:
                    pass
                time.sleep(0.01)
            ready = time.monotonic() - began
            logged = re.search(r"loaded (\d+) domains from PostgreSQL schema \S+ in (\d+) ms", open(log_path).read())
            print("cold load: /readyz after %.2f s wall, %.2f s CPU of the relay; relay logged %s domains in %s ms;"
                  " RSS %.0f MiB; 1-minute load average %s before, %s after (2 cores here: CPU time is the fair"
                  " figure)"
                  % (ready, cpu_seconds(relay.pid), logged.group(1) if logged else "?",
                     logged.group(2) if logged else "?", rss_kib(relay.pid) / 1024.0, load_before,
                     open("/proc/loadavg").read().split()[0]))
        finally:
            relay.terminate()
            relay.wait(timeout=30)
    finally:
        pg.close()


if __name__ == "__main__":
    main()
