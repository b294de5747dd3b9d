#!/usr/bin/python3
"""The BIND 9 test server itself: an owner's CNAME in one local zone resolves, through recursion, to
the TXT record a TSIG-signed update put in another; an update signed with the wrong secret is refused
(BADSIG) and changes nothing; a name outside the local zones is NXDOMAIN from the local root, never
asked of the Internet; named-checkzone passes on the zone as it stands."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bind_server import BindServer  # noqa: E402


def main():
    zones = {"customer.example": "", "dkim.esp.example": ""}
    with BindServer(zones, dynamic=["customer.example", "dkim.esp.example"]) as server:
        server.nsupdate("customer.example", [
            "update add dkr1._domainkey.customer.example. 60 CNAME dkr1.customer.example.dkim.esp.example."])
        assert server.txt("dkr1._domainkey.customer.example") == [], "TXT before it was published"
        server.nsupdate("dkim.esp.example", [
            'update add dkr1.customer.example.dkim.esp.example. 60 TXT "v=DKIM1; k=rsa; p=AAAA"'])
        got = server.txt("dkr1._domainkey.customer.example")
        assert got == ["v=DKIM1; k=rsa; p=AAAA"], got
        assert server.cname("dkr1._domainkey.customer.example") == "dkr1.customer.example.dkim.esp.example."

        try:
            server.nsupdate("dkim.esp.example", ['update add evil.dkim.esp.example. 60 TXT "x"'],
                            key_file=server.wrong_key_file)
        except RuntimeError as refused:
            assert "BADSIG" in str(refused) or "tsig verify failure" in str(refused).lower(), refused
        else:
            raise AssertionError("an update signed with the wrong TSIG secret was accepted")
        assert server.txt("evil.dkim.esp.example") == []

        assert server.txt("www.example.com") == [], "a name outside the local zones resolved"
        ok, output = server.check_zone("dkim.esp.example")
        assert ok, output

        server.stop()
        assert not server._answers(), "named still answers after stop()"
        server.start()
        assert server.txt("dkr1._domainkey.customer.example") == ["v=DKIM1; k=rsa; p=AAAA"], \
            "the dynamic record did not survive a restart"
    print("1 passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
