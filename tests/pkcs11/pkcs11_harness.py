"""SoftHSM2 tokens and `p11-kit server` for the pkcs11 tests and bench: a token initialised with
softhsm2-util in a temporary SOFTHSM2_CONF (the test fails loudly when that cannot be done), a
p11-kit server exporting it on a Unix socket, and the pieces the tests share (a relay config in
pkcs11 mode, TXT records derived by openssl from the public keys the store keeps, /proc/PID/mem
search)."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "system"))
import harness  # noqa: E402

SOFTHSM_MODULE = "/usr/lib/softhsm/libsofthsm2.so"
P11KIT_CLIENT = "/usr/lib/x86_64-linux-gnu/pkcs11/p11-kit-client.so"
TOKEN = "dkim"
PIN = "4711-pin"


class SoftHsm:
    """A fresh SoftHSM2 token in its own SOFTHSM2_CONF under `workdir`."""

    def __init__(self, workdir, label=TOKEN, pin=PIN):
        for path in (SOFTHSM_MODULE, shutil.which("softhsm2-util") or "/missing/softhsm2-util"):
            if not os.path.exists(path):
                raise AssertionError(f"SoftHSM2 is not installed ({path} missing): run docker/install-deps.sh")
        self.label = label
        self.pin = pin
        tokens = os.path.join(workdir, "tokens")
        os.makedirs(tokens)
        self.conf = os.path.join(workdir, "softhsm2.conf")
        with open(self.conf, "w") as f:
            f.write(f"directories.tokendir = {tokens}\nobjectstore.backend = file\nlog.level = ERROR\n")
        self.env = dict(os.environ, SOFTHSM2_CONF=self.conf)
        out = subprocess.run(["softhsm2-util", "--init-token", "--free", "--label", label, "--pin", pin,
                              "--so-pin", "so-" + pin], env=self.env, capture_output=True, text=True)
        if out.returncode != 0:
            raise AssertionError("softhsm2-util --init-token failed: " + out.stdout + out.stderr)
        self.pin_file = os.path.join(workdir, "token.pin")
        with open(self.pin_file, "w") as f:
            f.write(pin + "\n")
        os.chmod(self.pin_file, 0o600)


class P11KitServer:
    """`p11-kit server` exporting the SoftHSM2 token on a Unix socket: the process that holds the
    keys, apart from the relay (which gets only P11_KIT_SERVER_ADDRESS, not SOFTHSM2_CONF)."""

    def __init__(self, hsm, workdir):
        if not os.path.exists(P11KIT_CLIENT) or not shutil.which("p11-kit"):
            raise AssertionError("p11-kit / p11-kit-modules are not installed: run docker/install-deps.sh")
        self.hsm = hsm
        self.socket = os.path.join(workdir, "p11-kit.sock")
        self.log = os.path.join(workdir, "p11-kit-server.log")
        self.proc = None

    @property
    def address(self):
        return "unix:path=" + self.socket

    def start(self):
        if os.path.exists(self.socket):
            os.unlink(self.socket)
        with open(self.log, "a") as log:
            self.proc = subprocess.Popen(["p11-kit", "server", "-f", "-n", self.socket, "--provider", SOFTHSM_MODULE,
                                          f"pkcs11:token={self.hsm.label}"], env=self.hsm.env, stdout=log,
                                         stderr=subprocess.STDOUT, start_new_session=True)

        def listening():
            if self.proc.poll() is not None:
                raise AssertionError("p11-kit server exited: " + open(self.log).read()[-2000:])
            return os.path.exists(self.socket)
        harness.wait_for(listening, what="p11-kit server socket")
        return self

    def kill(self):
        """SIGKILL to the server and the p11-kit-remote it forked for each client connection (its
        own process group): the key service's pod dying."""
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.proc.wait()

    def stop(self):
        if self.proc is not None:
            self.kill()


def relay_toml(module, pin_file, upstream_port, private_keys="pkcs11", extra=""):
    return f"""
[relay]
listen = ["127.0.0.1:{{smtp_port}}"]
[upstream]
type = "smtp"
host = "127.0.0.1"
port = {upstream_port}
starttls = "none"
[signing]
algorithms = ["rsa-sha256", "ed25519-sha256"]
[keystore]
path = "{{dir}}/keys"
demo_domain = ""
private_keys = "{private_keys}"
[pkcs11]
module = "{module}"
token_label = "{TOKEN}"
pin_file = "{pin_file}"
[admin]
listen = "127.0.0.1:{{admin_port}}"
token_file = "{{dir}}/admin.token"
dns_check_interval = "1h"
{extra}
"""


def txt_record_from_key_file(path, workdir):
    """The TXT record for a key file of the directory store, derived by openssl from the public key
    it holds (pkcs11: the reference's PEM) or from the private key (store)."""
    text = open(path).read()
    if text.startswith("pkcs11:"):
        pub = os.path.join(workdir, "pub.pem")
        with open(pub, "w") as f:
            f.write(text.split("\n", 1)[1])
        der = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-outform", "DER"], check=True,
                             capture_output=True).stdout
        info = subprocess.run(["openssl", "pkey", "-pubin", "-in", pub, "-noout", "-text"], check=True,
                              capture_output=True).stdout.decode()
        return harness.txt_record_from_der(der, "ED25519" in info.upper())
    return harness.txt_record_from_pem(path)


def records_of(relay, domain, workdir):
    folder = os.path.join(relay.dir, "keys", domain)
    return {f"{name[:-4]}._domainkey.{domain}": txt_record_from_key_file(os.path.join(folder, name), workdir)
            for name in os.listdir(folder) if name.endswith(".pem")}


def known_rsa_key(workdir):
    """A fresh RSA-2048 PEM and its private exponent d (big-endian bytes), read by openssl."""
    pem = os.path.join(workdir, "known.pem")
    subprocess.run(["openssl", "genpkey", "-algorithm", "RSA", "-pkeyopt", "rsa_keygen_bits:2048", "-out", pem],
                   check=True, capture_output=True)
    os.chmod(pem, 0o600)
    text = subprocess.run(["openssl", "pkey", "-in", pem, "-noout", "-text"], check=True,
                          capture_output=True).stdout.decode()
    block = re.search(r"privateExponent:\n((?:\s+[0-9a-f:]+\n)+)", text).group(1)
    d = bytes.fromhex(re.sub(r"[^0-9a-f]", "", block))
    return pem, d.lstrip(b"\x00")


def memory_holds(pid, needles):
    """Which of `needles` occur in the readable memory of process `pid` (/proc/PID/mem), read in
    pieces. Mappings over 1 GiB are passed over: under ASan they are its shadow memory (terabytes of
    address space, no program data); the heap, where keys live, is in smaller mappings. The store-mode
    run of the same search (which must find the key) proves the search still reaches it."""
    found = set()
    overlap = max(len(needle) for needle in needles.values()) - 1
    piece = 8 << 20
    with open(f"/proc/{pid}/maps") as maps, open(f"/proc/{pid}/mem", "rb", 0) as mem:
        for line in maps:
            fields = line.split()
            start, end = (int(x, 16) for x in fields[0].split("-"))
            if "r" not in fields[1] or (len(fields) > 5 and fields[5] in ("[vvar]", "[vsyscall]")):
                continue
            if end - start > (1 << 30):
                continue
            tail = b""
            position = start
            while position < end:
                size = min(piece, end - position)
                try:
                    mem.seek(position)
                    data = mem.read(size)
                except (OSError, ValueError, OverflowError):
                    break
                window = tail + data
                for name, needle in needles.items():
                    if needle in window:
                        found.add(name)
                tail = window[-overlap:] if overlap > 0 else b""
                position += size
    return found


def exponent_needles(d):
    """A 32-byte run of d as OpenSSL's BIGNUM holds it (little-endian words on x86-64), as DER holds
    it (big-endian), and as hex text."""
    middle = d[96:128]
    return {"d little-endian": d[::-1][96:128], "d big-endian": middle, "d hex": middle.hex().encode()}


def tmpdir(prefix):
    return tempfile.mkdtemp(prefix=prefix)
