#!/usr/bin/python3
"""Moving keys between stores, and re-wrapping them, against a real PostgreSQL.

TransferTest: a directory store goes to a KEK-sealed bundle, the bundle into PostgreSQL, PostgreSQL out
to a new directory store; every key's public half (derived with the openssl CLI from the original PEM
files), selector, state and timestamps survive each step. A bundle opened with the wrong KEK is
refused as a whole, naming its first key. An OpenDKIM KeyTable/SigningTable (keys made by the openssl
CLI) imported into PostgreSQL signs mail that a relay on that store relays (dkimpy + Mail::DKIM).

RewrapTest: `keys rewrap --old-kek A --new-kek B` re-encrypts every key in one transaction (a failure
on the last key leaves every row as it was); afterwards a relay started with B signs and one started
with A is refused at startup, naming the key.

usage: /usr/bin/python3 test_key_transfer.py --binary PATH/dkim-relay [unittest args]
"""
import argparse
import base64
import json
import os
import stat
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fleet_harness as fh  # noqa: E402

BINARY = None
AAD_PREFIX = b"dkim-relay key v1\0"
AAD_V2_PREFIX = b"dkim-relay key v2\0"


def txt_of_pem(pem):
    """The DKIM TXT value of a private key, by the openssl CLI (not by the code under test)."""
    der = subprocess.run(["openssl", "pkey", "-pubout", "-outform", "DER"], input=pem, check=True,
                         capture_output=True).stdout
    if len(der) == 44:  # SubjectPublicKeyInfo of an Ed25519 key: 12 bytes of header, 32 of key
        return "v=DKIM1; k=ed25519; p=" + base64.b64encode(der[-32:]).decode()
    return "v=DKIM1; k=rsa; p=" + base64.b64encode(der).decode()


def directory_txt(root):
    """Every <domain>/<selector>.pem of a directory store as {selector._domainkey.domain: TXT}."""
    txt = {}
    for domain in sorted(os.listdir(root)):
        folder = os.path.join(root, domain)
        if domain.startswith(".") or not os.path.isdir(folder):
            continue
        for name in sorted(os.listdir(folder)):
            if name.endswith(".pem"):
                with open(os.path.join(folder, name), "rb") as f:
                    txt["%s._domainkey.%s" % (name[:-4], domain)] = txt_of_pem(f.read())
    return txt


def listing(fleet, *store):
    """`keys list` as a set of lines: domain, selector, algorithm, bits, state and every timestamp."""
    return set(fleet.cli("keys", *store, "list").stdout.splitlines())


def make_kek(fleet, name):
    path = os.path.join(fleet.dir, name)
    fleet.cli("keys", "new-kek", path)
    with open(path) as f:
        return path, base64.b64decode(f.read().strip())


def key_rows(fleet):
    conn = fh.psycopg2.connect(fleet.pg.dsn())
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT id, domain, selector, sealed_key, algorithm, bits, dns_record FROM %s.keys ORDER BY id"
                        % fh.SCHEMA)
            return [(i, d, s, bytes(k), "%s\0%d\0%s" % (a, b, r)) for i, d, s, k, a, b, r in cur.fetchall()]
    finally:
        conn.close()


def seal(kek, pem, domain, selector):
    nonce = os.urandom(12)
    return nonce + fh.AESGCM(kek).encrypt(nonce, pem, AAD_PREFIX + domain.encode() + b"\0" + selector.encode())


def unseal(kek, sealed, domain, selector, bound=None):
    """Opens a sealed key: version 1 associated data without `bound`, version 2 (which binds the row's
    or bundle entry's public data) with it."""
    if bound is None:
        aad = AAD_PREFIX + domain.encode() + b"\0" + selector.encode()
    else:
        aad = AAD_V2_PREFIX + domain.encode() + b"\0" + selector.encode() + b"\0" + bound.encode()
    return fh.AESGCM(kek).decrypt(sealed[:12], sealed[12:], aad)


def bundle_bound(e):
    """What a version 2 bundle entry's sealed key is bound to: its state, timestamps and public data."""
    return "\0".join(["bundle", e["state"], str(e["created_at"]), str(e["activated_at"]), str(e["retired_at"]),
                      str(e["revoked_at"]), "1" if e["activate_after_dns"] else "0", e["algorithm"],
                      str(e["bits"]), e["dns_record"]] + (["slot=" + e["slot"]] if e.get("slot") else []) +
                     (["delegated"] if e.get("delegated") else []))


def set_sealed_key(fleet, row_id, sealed):
    conn = fh.psycopg2.connect(fleet.pg.dsn())
    try:
        with conn, conn.cursor() as cur:
            cur.execute("UPDATE %s.keys SET sealed_key = %%s WHERE id = %%s" % fh.SCHEMA, (sealed, row_id))
    finally:
        conn.close()


class OneRelayTest(unittest.TestCase):
    """A PostgreSQL keystore with one relay's config (not started) and an upstream."""

    def setUp(self):
        self.fleet = fh.Fleet(BINARY, replicas=1)
        self.addCleanup(self.fleet.close)


class TransferTest(OneRelayTest):

    def test_directory_bundle_postgres_directory_round_trip(self):
        f = self.fleet
        config = ("--config", f.relays[0]["config"])
        src = os.path.join(f.dir, "src-keys")
        # Every lifecycle state: active (RSA and Ed25519), retiring, staged, revoked.
        f.cli("keys", "--keystore", src, "add", "a.move.example", "--selector", "a1")
        f.cli("keys", "--keystore", src, "rotate", "a.move.example", "--selector", "a2", "--algorithm",
              "ed25519-sha256", "--activate", "now")
        f.cli("keys", "--keystore", src, "rotate", "a.move.example", "--selector", "a3", "--algorithm",
              "rsa-sha256", "--activate", "now")
        f.cli("keys", "--keystore", src, "add", "b.move.example", "--selector", "b1", "--algorithm", "ed25519-sha256")
        f.cli("keys", "--keystore", src, "rotate", "b.move.example", "--selector", "b2", "--algorithm",
              "ed25519-sha256", "--activate", "now")
        f.cli("keys", "--keystore", src, "rotate", "b.move.example", "--selector", "b3", "--algorithm",
              "ed25519-sha256")
        f.cli("keys", "--keystore", src, "revoke", "b.move.example", "b1")
        # A delegated domain (needs [dns.publish] to be added; nothing is published by the CLI): its
        # flag and its key's slot travel with the key.
        tsig = os.path.join(f.dir, "tsig.key")
        with open(tsig, "w") as fd:
            fd.write(subprocess.run(["/usr/sbin/tsig-keygen", "-a", "hmac-sha256", "relay"], check=True,
                                    capture_output=True, text=True).stdout)
        os.chmod(tsig, 0o600)
        publishing = os.path.join(f.dir, "publishing.toml")
        with open(publishing, "w") as fd:
            fd.write('[keystore]\ntype = "directory"\npath = "%s"\n\n[dns.publish]\ntype = "rfc2136"\n'
                     'server = "127.0.0.1:53"\nzone = "dkim.esp.example"\ntsig_key_file = "%s"\n' % (src, tsig))
        f.cli("keys", "--config", publishing, "add", "d.move.example", "--delegated", "--algorithm", "ed25519-sha256")
        expected_txt = directory_txt(src)
        self.assertEqual(len(expected_txt), 7)
        expected_list = listing(f, "--keystore", src)
        states = "\n".join(sorted(expected_list))
        for state in ("active", "retiring", "staged", "revoked"):
            self.assertIn("\t" + state + "\t", states)
        self.assertIn("\tslot dkr1\tdelegated", states)

        bundle_kek, bundle_kek_bytes = make_kek(f, "bundle.kek")
        bundle = os.path.join(f.dir, "keys.bundle.json")
        f.cli("keys", "--keystore", src, "export", "bundle", bundle, "--kek", bundle_kek)
        self.assertEqual(stat.S_IMODE(os.stat(bundle).st_mode), 0o600)
        with open(bundle, "rb") as fd:
            raw = fd.read()
        self.assertNotIn(b"PRIVATE KEY", raw)
        entries = json.loads(raw)["keys"]
        # The bundle's envelope opens with the KEK alone (AES-256-GCM, AAD domain+selector), here
        # with the cryptography package, and holds the very keys of the source store.
        self.assertEqual({"%s._domainkey.%s" % (e["selector"], e["domain"]):
                          txt_of_pem(unseal(bundle_kek_bytes, base64.b64decode(e["sealed_key"]), e["domain"],
                                            e["selector"], bundle_bound(e)))
                          for e in entries}, expected_txt)
        for e in entries:
            delegated = e["domain"] == "d.move.example"
            self.assertEqual((e.get("slot"), e.get("delegated")), ("dkr1", True) if delegated else (None, None), e)
        again = f.cli("keys", "--keystore", src, "export", "bundle", bundle, "--kek", bundle_kek, check=False)
        self.assertNotEqual(again.returncode, 0, "an existing bundle is not written over")

        # The wrong KEK: refused as a whole, naming the first key, and nothing is imported.
        wrong_kek, _ = make_kek(f, "wrong.kek")
        refused = f.cli("keys", *config, "import", "bundle", bundle, "--kek", wrong_kek, check=False)
        self.assertEqual(refused.returncode, 1, refused.stdout + refused.stderr)
        self.assertIn("cannot decrypt the private key of %s selector %s" % (entries[0]["domain"],
                                                                          entries[0]["selector"]), refused.stderr)
        self.assertEqual(key_rows(f), [])

        imported = f.cli("keys", *config, "import", "bundle", bundle, "--kek", bundle_kek)
        self.assertIn("7 key(s) imported, 0 failed", imported.stdout)
        self.assertEqual(f.txt_records(), expected_txt)  # decrypted from the rows with the fleet's KEK
        self.assertEqual(listing(f, *config), expected_list)
        rerun = f.cli("keys", *config, "import", "bundle", bundle, "--kek", bundle_kek)
        self.assertIn("0 key(s) imported, 0 failed, 7 already present", rerun.stdout)

        dst = os.path.join(f.dir, "dst-keys")
        exported = f.cli("keys", *config, "export", "directory", dst)
        self.assertIn("7 key(s) imported, 0 failed", exported.stdout)
        self.assertEqual(directory_txt(dst), expected_txt)
        self.assertEqual(listing(f, "--keystore", dst), expected_list)
        with open(os.path.join(dst, "d.move.example", "keys.json")) as fd:
            moved = json.load(fd)
        self.assertTrue(moved.get("delegated"), moved)
        self.assertEqual([k.get("slot") for k in moved["selectors"]], ["dkr1"])
        for name in ("a.move.example", "b.move.example"):
            folder = os.path.join(dst, name)
            for pem in (p for p in os.listdir(folder) if p.endswith(".pem")):
                self.assertEqual(stat.S_IMODE(os.stat(os.path.join(folder, pem)).st_mode), 0o600)
        # The DNS records the relay prints for the exported store are the openssl-derived ones.
        dns = f.cli("keys", "--keystore", dst, "dns", "a.move.example").stdout
        for selector in ("a1", "a2", "a3"):
            value = expected_txt["%s._domainkey.a.move.example" % selector]
            self.assertIn(value.split("p=", 1)[1][:60], dns.replace('" "', "").replace("\n", ""))

    def test_opendkim_tables_into_postgres_sign_mail(self):
        f = self.fleet
        od = os.path.join(f.dir, "opendkim")
        os.makedirs(od)
        rsa_key = os.path.join(od, "mail.private")
        ed_key = os.path.join(od, "ed.private")
        subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out",
                        rsa_key], check=True, capture_output=True)
        subprocess.run(["openssl", "genpkey", "-algorithm", "ED25519", "-out", ed_key], check=True,
                       capture_output=True)
        key_table = os.path.join(od, "KeyTable")
        signing_table = os.path.join(od, "SigningTable")
        with open(key_table, "w") as fd:
            fd.write("rsakey od.move.example:mail:%s\nedkey od.move.example:ed1:%s\n" % (rsa_key, ed_key))
        with open(signing_table, "w") as fd:
            fd.write("*@od.move.example rsakey\n*@od.move.example edkey\n*@*.other.example rsakey\n")
        imported = f.cli("keys", "--config", f.relays[0]["config"], "import", "opendkim", key_table, signing_table)
        self.assertIn("imported od.move.example mail", imported.stdout)
        self.assertIn("imported od.move.example ed1", imported.stdout)
        self.assertIn("skipped SigningTable:3", imported.stderr)

        txt = {}
        for selector, path in (("mail", rsa_key), ("ed1", ed_key)):
            with open(path, "rb") as fd:
                txt["%s._domainkey.od.move.example" % selector] = txt_of_pem(fd.read())
        self.assertEqual(f.txt_records(), txt)

        f.start_relays()
        fh.send(f.relays[0], "od.move.example", "opendkim-1")
        fh.wait_until(lambda: len(f.captured_messages()) >= 1, what="the relayed message")
        message = f.captured_messages()[0]
        self.assertEqual(sorted(fh.signature_selectors(message)), ["ed1", "mail"])
        for index in range(2):
            self.assertTrue(fh.dkim.DKIM(message).verify(idx=index, dnsfunc=lambda name, timeout=5: txt.get(
                (name.decode() if isinstance(name, bytes) else name).rstrip(".").lower(), "").encode()),
                "signature %d (dkimpy)" % index)
        self.assertEqual(fh.verify_maildkim([message], txt, f.dir), [])


class RewrapTest(OneRelayTest):

    def test_rewrap_is_one_transaction_and_moves_the_fleet_to_the_new_kek(self):
        f = self.fleet
        relay = f.relays[0]
        config = relay["config"]
        for name in ("r1", "r2", "r3"):
            f.cli("keys", "--config", config, "add", name + ".wrap.example", "--selector", name)
        old_kek_file, old_kek = f.kek_file, f.kek
        new_kek_file, new_kek = make_kek(f, "new.kek")
        other_kek_file, other_kek = make_kek(f, "other.kek")
        rows = key_rows(f)
        self.assertEqual([r[2] for r in rows], ["r1", "r2", "r3"])
        pems = {r[0]: unseal(old_kek, r[3], r[1], r[2], r[4]) for r in rows}

        # The last key does not open with the old KEK: the two before it were already re-sealed inside
        # the transaction, and must come back as they were.
        last = rows[-1]

        def refused_rewrap(last_sealed_under, old, named):
            set_sealed_key(f, last[0], seal(last_sealed_under, pems[last[0]], last[1], last[2]))
            before = key_rows(f)
            result = f.cli("keys", "rewrap", "--config", config, "--old-kek", old, "--new-kek", new_kek_file,
                           env=relay["env"], check=False)
            self.assertNotEqual(result.returncode, 0)
            self.assertIn(named, result.stderr)
            self.assertEqual(key_rows(f), before)

        # The last key does not open with the old KEK: the two before it were already re-sealed inside
        # the transaction, and must come back as they were.
        refused_rewrap(other_kek, old_kek_file, "r3.wrap.example r3")
        # A wrong old KEK: refused at the first key, nothing changed.
        refused_rewrap(old_kek, other_kek_file, "r1.wrap.example r1")

        f.cli("keys", "rewrap", "--config", config, "--old-kek", old_kek_file, "--new-kek", new_kek_file,
              env=relay["env"])
        after = key_rows(f)
        self.assertEqual([r[:3] for r in after], [r[:3] for r in rows])
        for row in after:
            self.assertEqual(unseal(new_kek, row[3], row[1], row[2], row[4]), pems[row[0]])
            with self.assertRaises(Exception):
                unseal(old_kek, row[3], row[1], row[2], row[4])

        # A relay still given the old KEK is refused at startup, naming the key.
        started = subprocess.run([BINARY, "serve", "--config", config], capture_output=True, text=True, timeout=60,
                                 env=relay["env"], cwd=f.dir)
        self.assertNotEqual(started.returncode, 0)
        output = started.stdout + started.stderr
        self.assertIn("cannot decrypt the private key of r1.wrap.example selector r1", output)

        # The same relay given the new KEK signs.
        with open(new_kek_file) as src, open(old_kek_file, "w") as dst:
            dst.write(src.read())
        f.kek = new_kek
        f.start_relays()
        fh.send(relay, "r2.wrap.example", "rewrap-1")
        fh.wait_until(lambda: len(f.captured_messages()) >= 1, what="the relayed message")
        message = f.captured_messages()[0]
        self.assertEqual(fh.signature_selectors(message), ["r2"])
        self.assertTrue(fh.verify_dkimpy(message, f.txt_records()))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--binary", required=True)
    args, rest = parser.parse_known_args()
    BINARY = os.path.abspath(args.binary)
    unittest.main(argv=[sys.argv[0]] + rest, verbosity=2)
