#!/usr/bin/python3
"""`dkim-relay dns status DOMAIN` and `dkim-relay dns publish-check` against a real BIND 9: the
CNAMEs the owner must publish, Pending validation until the test adds them with nsupdate (as the
owner would), then Connected; a CNAME pointing elsewhere is an Error naming what was found. The
publish check answers ok with the right TSIG key and names BADSIG with the wrong one; a key file
others can read is refused at start, naming dns.publish.tsig_key_file."""
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "system"))
from bind_server import BindServer  # noqa: E402

BINARY = sys.argv[1]
ZONE = "dkim.esp.example"
DOMAIN = "customer.example"


def config(directory, server, key_file, name):
    path = os.path.join(directory, name)
    with open(path, "w") as f:
        f.write("""[keystore]
path = "%s/keys"
[admin]
enabled = false
[dns]
resolver = "%s"
timeout = "3s"
[dns.publish]
type = "rfc2136"
server = "%s"
zone = "%s"
tsig_key_file = "%s"
""" % (directory, server.address, server.address, ZONE, key_file))
    return path


def run(*args):
    result = subprocess.run([BINARY, *args], capture_output=True, text=True, timeout=60)
    return result.returncode, result.stdout + result.stderr


def main():
    with BindServer({DOMAIN: "", ZONE: ""}, dynamic=[DOMAIN, ZONE]) as server, \
            tempfile.TemporaryDirectory() as directory:
        good = config(directory, server, server.tsig_key_file, "good.toml")
        code, output = run("dns", "status", DOMAIN, "--config", good)
        assert code == 3, (code, output)
        assert "Pending validation" in output, output
        for slot in ("dkr1", "dkr2"):
            line = "%s._domainkey.%s. CNAME %s.%s.%s." % (slot, DOMAIN, slot, DOMAIN, ZONE)
            assert line in output, (line, output)

        for slot in ("dkr1", "dkr2"):
            server.nsupdate(DOMAIN, ["update add %s._domainkey.%s. 60 CNAME %s.%s.%s." % (slot, DOMAIN, slot, DOMAIN,
                                                                                          ZONE)])
        code, output = run("dns", "status", DOMAIN, "--config", good)
        assert code == 0, (code, output)
        assert "%s: Connected" % DOMAIN in output, output

        server.nsupdate(DOMAIN, ["update delete dkr2._domainkey.%s. CNAME" % DOMAIN,
                                 "update add dkr2._domainkey.%s. 60 CNAME dkr2.elsewhere.example." % DOMAIN])
        code, output = run("dns", "status", DOMAIN, "--config", good)
        assert code == 1, (code, output)
        assert "dkr2: Error" in output and "dkr2.elsewhere.example" in output, output

        code, output = run("dns", "publish-check", "--config", good)
        assert code == 0 and output.startswith("ok: "), (code, output)

        wrong = config(directory, server, server.wrong_key_file, "wrong.toml")
        code, output = run("dns", "publish-check", "--config", wrong)
        assert code == 1 and "BADSIG" in output, (code, output)

        os.chmod(server.tsig_key_file, 0o644)
        code, output = run("--check-config", "--config", good)
        assert code == 2 and "dns.publish.tsig_key_file" in output, (code, output)
        os.chmod(server.tsig_key_file, 0o600)
        code, output = run("--check-config", "--config", good)
        assert code == 0, (code, output)
    print("dns command: ok")


if __name__ == "__main__":
    main()
