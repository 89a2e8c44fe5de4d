"""`petrel dkim`: key generation, the published records (raw and zone-file
form), rotation and deletion; the records checked against the stored keys
with Debian's python3-dkim, and messages signed by petrel's signer (written
by the dkim unit test) verified by it."""
import base64
import os
import re
import sqlite3
import subprocess
import sys

import dkim
import pytest
from cryptography.hazmat.primitives import serialization

from conftest import PETREL, ROOT, make_petrel

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFIER = os.path.join(HERE, "dkimverify.py")

MESSAGE = (b"From: Alice <admin@example.org>\r\n"
           b"To: bob@remote.example\r\n"
           b"Subject: DKIM test\r\n"
           b"Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
           b"Message-ID: <dkim-test@example.org>\r\n"
           b"\r\n"
           b"Hello.\r\n")


@pytest.fixture(scope="module")
def p(tmp_path_factory):
    return make_petrel(tmp_path_factory, users=())


def zone_strings(zone):
    """The character-strings of a zone-file TXT record, in order."""
    assert zone.count("(") == 1 and zone.rstrip().endswith(")")
    return re.findall(r'"([^"]*)"', zone)


def private_key(p, selector):
    db = sqlite3.connect(os.path.join(p.data, "directory.db"))
    try:
        row = db.execute("SELECT private_key FROM dkim_keys WHERE selector = ?",
                         (selector,)).fetchone()
    finally:
        db.close()
    return row[0].encode()


def dns_of(keys):
    records = {("%s." % k["name"]).encode(): k["txt"].encode() for k in keys}
    return lambda name, timeout=5: records.get(name)


def test_generate_rsa_and_show(p):
    r = p.cli("dkim", "generate", "example.org", "--selector", "s2026")
    assert "DKIM key s2026 (rsa) created for example.org" in r.stdout
    assert "name: s2026._domainkey.example.org" in r.stdout

    shown = p.cli("dkim", "show", "example.org").stdout
    txt = re.search(r"^txt: (.*)$", shown, re.M).group(1)
    assert txt.startswith("v=DKIM1; k=rsa; p=MIIB")     # 2048-bit SPKI
    zone = shown[shown.index("s2026._domainkey IN TXT ("):]
    strings = zone_strings(zone)
    # RSA 2048 does not fit one string: split at 255 octets, joined back
    # by DNS into the raw value.
    assert len(strings) == 2 and len(strings[0]) == 255
    assert all(len(s) <= 255 for s in strings)
    assert "".join(strings) == txt

    keys = p.cli("dkim", "show", "example.org", json_out=True)["keys"]
    assert [(k["selector"], k["algorithm"], k["active"]) for k in keys] == \
        [("s2026", "rsa", True)]
    assert keys[0]["txt"] == txt and keys[0]["name"] == "s2026._domainkey.example.org"

    # The published record matches the stored private key: a message
    # signed with it verifies against the record.
    sig = dkim.sign(MESSAGE, b"s2026", b"example.org", private_key(p, "s2026"),
                    include_headers=[b"from", b"to", b"subject"])
    assert dkim.verify(sig + MESSAGE, dnsfunc=dns_of(keys))


def test_generate_ed25519_default_selector(p):
    out = p.cli("dkim", "generate", "example.org", "--algo", "ed25519").stdout
    sel = re.search(r"DKIM key (\S+) \(ed25519\)", out).group(1)
    assert re.fullmatch(r"petrel\d{6}e", sel)
    keys = p.cli("dkim", "show", "example.org", json_out=True)["keys"]
    ed = [k for k in keys if k["algorithm"] == "ed25519"][0]
    assert ed["selector"] == sel
    assert re.fullmatch(r"v=DKIM1; k=ed25519; p=[A-Za-z0-9+/]{43}=", ed["txt"])
    assert ed["zone"] == '%s._domainkey IN TXT ( "%s" )\n' % (sel, ed["txt"])
    # dkimpy takes an Ed25519 key as the base64 of its 32-byte seed.
    pem = serialization.load_pem_private_key(private_key(p, sel), password=None)
    seed = base64.b64encode(pem.private_bytes(serialization.Encoding.Raw,
                                              serialization.PrivateFormat.Raw,
                                              serialization.NoEncryption()))
    sig = dkim.sign(MESSAGE, sel.encode(), b"example.org", seed,
                    signature_algorithm=b"ed25519-sha256",
                    include_headers=[b"from", b"to", b"subject"])
    assert dkim.verify(sig + MESSAGE, dnsfunc=dns_of(keys))
    # A second default-named key of the same month gets a new name.
    out = p.cli("dkim", "generate", "example.org", "--algo", "ed25519").stdout
    assert "DKIM key %s-2 (ed25519)" % sel in out


def test_rotation_list_and_delete(p):
    # Two active RSA keys already? s2026 only; add one, a third is refused.
    p.cli("dkim", "generate", "example.org", "--selector", "s2027", "--bits", "1024")
    r = p.cli("dkim", "generate", "example.org", "--selector", "s2028", check=False)
    assert r.returncode == 1 and "deactivate one first" in r.stderr
    assert "deactivated" in p.cli("dkim", "deactivate", "example.org", "s2026").stdout
    lines = p.cli("dkim", "list").stdout.splitlines()
    assert "example.org s2026 rsa inactive" in lines
    assert "example.org s2027 rsa active" in lines
    p.cli("dkim", "delete", "example.org", "s2026")
    keys = p.cli("dkim", "list", json_out=True)["keys"]
    assert "s2026" not in [k["selector"] for k in keys]
    # Errors: unknown domain, unknown selector, bad options.
    r = p.cli("dkim", "show", "nowhere.example", check=False)
    assert r.returncode == 1 and "no domain nowhere.example" in r.stderr
    r = p.cli("dkim", "delete", "example.org", "s2026", check=False)
    assert r.returncode == 1 and "no key with selector s2026" in r.stderr
    r = p.cli("dkim", "generate", "example.org", "--algo", "dsa", check=False)
    assert r.returncode == 2
    r = p.cli("dkim", "generate", "example.org", "--selector", "a;b", check=False)
    assert r.returncode == 2 and "invalid selector" in r.stderr
    r = p.cli("dkim", "generate", "example.org", "--bits", "512", check=False)
    assert r.returncode == 2


def unit_test_binary():
    for base in (os.path.dirname(PETREL), os.path.join(ROOT, "build", "asan")):
        path = os.path.join(base, "test", "dkim", "dkim_test")
        if os.path.exists(path):
            return path
    return None


def test_signer_output_verifies(tmp_path):
    """The dkim unit test signs messages with petrel's signer and keeps them
    here; python3-dkim checks them on its own."""
    binary = unit_test_binary()
    assert binary is not None, "build build/asan/test/dkim/dkim_test first"
    env = dict(os.environ, PETREL_DKIM_OUT=str(tmp_path))
    r = subprocess.run([binary], cwd=ROOT, env=env, capture_output=True, text=True,
                       timeout=120)
    assert r.returncode == 0, r.stdout + r.stderr
    for name, good in (("both", True), ("refolded", True), ("bare", True),
                       ("tampered", False), ("from-added", False)):
        msg = tmp_path / (name + ".eml")
        v = subprocess.run([sys.executable, VERIFIER, str(msg),
                            str(tmp_path / (name + ".dns"))],
                           capture_output=True, text=True)
        assert (v.returncode == 0) == good, (name, v.stdout, v.stderr)
    # Both signatures are there, RSA first, each with From over-signed.
    data = (tmp_path / "both.eml").read_bytes()
    sigs = [h for h in dkim.DKIM(data).headers if h[0].lower() == b"dkim-signature"]
    assert len(sigs) == 2
    assert b"a=rsa-sha256" in sigs[0][1] and b"a=ed25519-sha256" in sigs[1][1]
    for _, value in sigs:
        h = re.search(rb"h=([^;]*);", value).group(1)
        names = re.sub(rb"\s", b"", h).split(b":")
        assert names[:2] == [b"from", b"from"]
        assert b"x-mailer" not in names and b"received" not in names
