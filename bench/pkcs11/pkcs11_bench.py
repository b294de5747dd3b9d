"""Sign rate through PKCS#11 against in-process OpenSSL, in one run: SoftHSM2 loaded directly and the
same token through `p11-kit server` (a separate process, Unix socket). Not a test.

    /usr/bin/python3 bench/pkcs11/pkcs11_bench.py build/release/bench/pkcs11/pkcs11_bench [SECONDS]

For the p11-kit case the server's own CPU per signature (the p11-kit-remote process that runs
SoftHSM2 for this client) is read from /proc and printed too."""
import os
import shutil
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tests", "pkcs11"))
import pkcs11_harness as ph  # noqa: E402


def process_cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12]) + int(fields[13]) + int(fields[14])) / os.sysconf("SC_CLK_TCK")


def group_cpu(pgid):
    total = 0.0
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if os.getpgid(int(name)) == pgid:
                    total += process_cpu(int(name))
            except (OSError, IndexError):
                pass
    return total


def openssl_speed(algorithm):
    """Signatures/s of `openssl speed -seconds 2 ALGORITHM` (one core): OpenSSL's own figure beside ours."""
    import re
    text = subprocess.run(["openssl", "speed", "-seconds", "2", algorithm], capture_output=True, text=True,
                          timeout=300).stdout
    for line in text.splitlines():
        m = re.match(r"\s*rsa\s+2048 bits\s+\S+s\s+\S+s\s+([\d.]+)", line) or \
            re.match(r"\s*\d+ bits EdDSA \(Ed25519\)\s+\S+s\s+\S+s\s+([\d.]+)", line)
        if m:
            return float(m.group(1))
    return None


bench = os.path.abspath(sys.argv[1])
seconds = sys.argv[2] if len(sys.argv) > 2 else "3"
work = tempfile.mkdtemp(prefix="dkr-pkcs11-bench-")
try:
    hsm = ph.SoftHsm(work)
    for algorithm in ("rsa2048", "ed25519"):
        rate = openssl_speed(algorithm)
        print(f"== openssl speed {algorithm} (one core, same run): "
              + (f"{rate:.0f} sign/s = {1000 / rate:.3f} ms/sign" if rate else "not parsed"), flush=True)
    print(f"== SoftHSM2 loaded directly ({ph.SOFTHSM_MODULE}), {seconds} s per case, one thread", flush=True)
    subprocess.run([bench, ph.SOFTHSM_MODULE, hsm.label, hsm.pin_file, seconds], env=hsm.env, check=True)
    server = ph.P11KitServer(hsm, work).start()
    try:
        env = dict(os.environ, P11_KIT_SERVER_ADDRESS=server.address)
        env.pop("SOFTHSM2_CONF", None)
        print(f"== through p11-kit server ({ph.P11KIT_CLIENT} -> {server.socket})", flush=True)
        before = group_cpu(server.proc.pid)
        out = subprocess.run([bench, ph.P11KIT_CLIENT, hsm.label, hsm.pin_file, seconds], env=env, check=True,
                             capture_output=True, text=True).stdout
        server_cpu = group_cpu(server.proc.pid) - before
        print(out, end="")
        print(f"p11-kit server + p11-kit-remote CPU over the whole run: {server_cpu:.2f} s")
    finally:
        server.stop()
finally:
    shutil.rmtree(work, ignore_errors=True)
