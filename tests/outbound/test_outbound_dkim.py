"""Mail sent through submission leaves DKIM-signed (both keys of the From
domain), verified by Debian's python3-dkim against the records `petrel dkim
show` prints; other From domains go unsigned; a bounce carries the ORCPT
the client gave, decoded."""
import os
import smtplib
import subprocess
import uuid

from outboundlib import petrel, sink, stub  # noqa: F401
from test_outbound import find_local, wait_empty, wait_token

HERE = os.path.dirname(os.path.abspath(__file__))
VERIFIER = os.path.join(os.path.dirname(HERE), "dkim", "dkimverify.py")
PASSWORD = "secret-bob@example.org"


def submit(p, rcpts, from_hdr, rcpt_options=()):
    token = uuid.uuid4().hex
    msg = ("From: %s\r\nTo: <alice@remote.example>\r\nSubject: dkim %s\r\n"
           "Date: Thu, 1 Jan 2026 00:00:00 +0000\r\n"
           "Message-ID: <%s@example.org>\r\n\r\nHello %s.\r\n\r\n"
           "A second paragraph.\r\n" % (from_hdr, token, token, token))
    with smtplib.SMTP("127.0.0.1", p.ports["submission"], timeout=10) as s:
        s.login("bob@example.org", PASSWORD)        # loopback: no TLS needed
        s.sendmail("bob@example.org", rcpts, msg, rcpt_options=list(rcpt_options))
    return token


def verify(tmp_path, data, keys, want):
    msg = tmp_path / "msg.eml"
    dns = tmp_path / "dns.txt"
    msg.write_bytes(data)
    dns.write_text("".join("%s\t%s\n" % (k["name"], k["txt"]) for k in keys))
    r = subprocess.run(["/usr/bin/python3", VERIFIER, str(msg), str(dns), str(want)],
                       capture_output=True, text=True, timeout=60)
    return r.returncode, r.stdout + r.stderr


def test_submission_signed_with_both_keys(petrel, sink, tmp_path):
    petrel.cli("dkim", "generate", "example.org", "--selector", "rsa1")
    petrel.cli("dkim", "generate", "example.org", "--selector", "ed1", "--algo", "ed25519")
    keys = petrel.cli("dkim", "show", "example.org", json_out=True)["keys"]
    assert sorted(k["algorithm"] for k in keys) == ["ed25519", "rsa"]

    token = submit(petrel, ["alice@remote.example"], "Bob <bob@example.org>")
    m = wait_token(sink, token)
    head = m.data.split(b"\r\n\r\n", 1)[0]
    assert head.count(b"DKIM-Signature:") == 2, head
    assert b"a=rsa-sha256" in head and b"a=ed25519-sha256" in head
    assert b"d=example.org" in head and b"s=rsa1" in head and b"s=ed1" in head
    rc, out = verify(tmp_path, m.data, keys, 2)
    assert rc == 0 and out.count("pass") == 2, out
    # The signature is sent, not stored: the SIZE announced covers it.
    assert int(m.mail_params["SIZE"]) == len(m.data)

    # A tampered copy fails (the verifier really checks).
    bad = m.data.replace(b"A second paragraph.", b"A forged paragraph.")
    rc, out = verify(tmp_path, bad, keys, 2)
    assert rc != 0 and "FAIL" in out
    assert "event=dkim-signed domain=example.org signatures=2" in petrel.read_log()
    wait_empty(petrel)


def test_other_from_domain_unsigned(petrel, sink):
    token = submit(petrel, ["alice@remote.example"], "<bob@elsewhere.example>")
    m = wait_token(sink, token)
    assert b"DKIM-Signature" not in m.data
    # Nor is mail that came in from outside (port 25, no login).
    token = uuid.uuid4().hex
    petrel.cli("user", "forward", "bob@example.org", "alice@remote.example")
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.sendmail("x@outside.example", ["bob@example.org"],
                   "From: <bob@example.org>\r\nSubject: %s\r\n\r\n%s\r\n" % (token, token))
    try:
        m = wait_token(sink, token)
    finally:
        petrel.cli("user", "forward", "bob@example.org", "--off")
    assert b"DKIM-Signature" not in m.data
    wait_empty(petrel)


def test_bounce_orcpt_decoded(petrel, sink):
    # RFC 3461 §4.2: ORCPT is xtext on the wire; the report shows the
    # address itself ("+2B" is "+").
    token = submit(petrel, ["bad@remote.example"], "<bob@example.org>",
                   rcpt_options=["NOTIFY=FAILURE", "ORCPT=rfc822;orig+2Btag@example.org"])
    dsn = find_local(petrel, "bob@example.org", token)
    assert b"Original-Recipient: rfc822;orig+tag@example.org" in dsn, dsn
    assert b"Final-Recipient: rfc822; bad@remote.example" in dsn
    wait_empty(petrel)
