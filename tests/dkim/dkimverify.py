#!/usr/bin/python3
"""Independent DKIM check with Debian's python3-dkim (dkimpy).

usage: dkimverify.py MESSAGE DNSFILE [MIN_SIGNATURES]
DNSFILE has one "selector._domainkey.domain<TAB>TXT value" per line.
Verifies every DKIM-Signature of MESSAGE against those records; prints one
line per signature and exits 0 when all verify and there are at least
MIN_SIGNATURES (default 1). Used by src/dkim/dkim_test.c and tests/dkim.
"""
import sys

import dkim


def main():
    msg = open(sys.argv[1], "rb").read()
    records = {}
    for line in open(sys.argv[2], "rb").read().splitlines():
        if line.strip():
            name, txt = line.split(b"\t", 1)
            records[name.rstrip(b".").lower() + b"."] = txt
    want = int(sys.argv[3]) if len(sys.argv) > 3 else 1

    def dnsfunc(name, timeout=5):
        return records.get(name.lower())

    d = dkim.DKIM(msg)
    count = sum(1 for h in d.headers if h[0].lower() == b"dkim-signature")
    ok = True
    for i in range(count):
        try:
            good = d.verify(idx=i, dnsfunc=dnsfunc)
        except dkim.DKIMException as e:
            print("signature %d: %s" % (i, e))
            good = False
        print("signature %d: %s" % (i, "pass" if good else "FAIL"))
        ok = ok and good
    if count < want:
        print("found %d signatures, want %d" % (count, want))
        ok = False
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
