"""SMTP receiving over real sockets: smtplib, swaks and raw bytes."""
import re
import shutil
import smtplib
import subprocess
import time

import pytest

from smtpraw import RawSMTP, client_tls

MSG = (b"From: Alice <alice@sender.test>\r\n"
       b"To: Bob <bob@example.org>\r\n"
       b"Subject: hello\r\n"
       b"Message-ID: <%s@sender.test>\r\n"
       b"\r\n"
       b"Line one.\r\n"
       b"..leading dot stays one dot\r\n"
       b"\xc3\xa9t\xc3\xa9 in 8-bit\r\n")


def queued_id(reply_text):
    m = re.search(r"queued as (\S+)", reply_text)
    assert m, reply_text
    return m.group(1)


def assert_stored(petrel, qid, body):
    """The queue file is the message as sent, with one Received header first."""
    data = petrel.queue_file(qid)
    assert data.startswith(b"Received: from "), data[:200]
    # The Received header is folded; the message follows it unchanged.
    end = data.index(b"\r\n", data.index(b"; ")) + 2
    assert data[end:] == body
    assert b"\r\n\tby mx.example.org" in data[:end]
    assert ("id " + qid).encode() in data[:end]


def held(petrel):
    """An address whose mail stays in the queue after local delivery: it
    only forwards to a remote domain, and outbound delivery keeps it."""
    if petrel.cli("user", "show", "held@example.org", check=False).returncode != 0:
        petrel.cli("user", "add", "held@example.org", "--password-stdin", input="pw-held\n")
        petrel.cli("user", "forward", "held@example.org", "away@remote.example")
    return "held@example.org"


def test_smtplib_plain(petrel):
    body = MSG % b"plain1"
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        for ext in ("size", "pipelining", "8bitmime", "smtputf8",
                    "enhancedstatuscodes", "starttls", "chunking", "dsn"):
            assert s.has_extn(ext), ext
        s.mail("alice@sender.test", ["BODY=8BITMIME"])
        s.rcpt(held(petrel))
        code, resp = s.data(body)
        assert code == 250
    qid = queued_id(resp.decode())
    # smtplib dot-stuffs on the wire; the stored message is unstuffed again.
    assert_stored(petrel, qid, body)
    env = petrel.cli("queue", "show", qid, json_out=True)
    text = str(env)
    assert "alice@sender.test" in text and "held@example.org" in text


def test_smtplib_starttls(petrel):
    body = MSG % b"tls1"
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.starttls(context=client_tls())
        code, _ = s.ehlo("client.test")
        assert code == 250
        assert not s.has_extn("starttls")
        s.mail("alice@sender.test")
        s.rcpt("bob@example.org")
        code, resp = s.data(body)
        assert code == 250
    qid = queued_id(resp.decode())
    data = petrel.queue_file(qid)
    assert b"ESMTPS" in data[:400]
    assert_stored(petrel, qid, body)


@pytest.mark.skipif(shutil.which("swaks") is None, reason="swaks not installed")
@pytest.mark.parametrize("extra", [[], ["--tls"], ["--pipeline"], ["--tls", "--pipeline"]])
def test_swaks(petrel, extra):
    r = subprocess.run(["swaks", "--server", "127.0.0.1", "--port", str(petrel.smtp_port),
                        "--from", "alice@sender.test", "--to", "bob@example.org",
                        "--helo", "client.test", "--header", "Subject: swaks"] + extra,
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    qid = queued_id(r.stdout)
    assert b"Subject: swaks" in petrel.queue_file(qid)


def test_pipelined_transaction_in_one_write(petrel):
    c = RawSMTP(petrel.smtp_port)
    assert c.reply()[0] == 220
    c.send(b"EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\n"
           b"RCPT TO:<bob@example.org>\r\nRCPT TO:<nobody@example.org>\r\nDATA\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    code, lines = c.reply()
    assert code == 550 and "5.1.1" in lines[0]
    assert c.reply()[0] == 354
    c.send(b"Subject: pipelined\r\n\r\nbody\r\n.\r\nQUIT\r\n")
    code, lines = c.reply()
    assert code == 250
    assert c.reply()[0] == 221
    qid = queued_id(lines[0])
    assert petrel.queue_file(qid).endswith(b"Subject: pipelined\r\n\r\nbody\r\n")


def test_bdat(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    assert c.cmd("MAIL FROM:<a@sender.test> BODY=BINARYMIME")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
    part1 = b"Subject: chunked\r\n\r\nfirst chunk with a bare \n and \x00 byte\r\n"
    part2 = b".\r\nlast chunk, a dot line is data here\r\n"
    c.send(b"BDAT %d\r\n" % len(part1) + part1)
    code, lines = c.reply()
    assert code == 250, lines
    c.send(b"BDAT %d LAST\r\n" % len(part2) + part2)
    code, lines = c.reply()
    assert code == 250, lines
    qid = queued_id(lines[0])
    assert petrel.queue_file(qid).endswith(part1 + part2)
    c.cmd("QUIT")


def test_bdat_zero_last_and_pipelined(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    body = b"Subject: p\r\n\r\nx\r\n"
    c.send(b"MAIL FROM:<a@sender.test>\r\nRCPT TO:<bob@example.org>\r\n"
           b"BDAT %d\r\n" % len(body) + body + b"BDAT 0 LAST\r\n")
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    assert c.reply()[0] == 250
    code, lines = c.reply()
    assert code == 250 and "queued as" in lines[0]


def test_unknown_user(petrel):
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail("alice@sender.test")
        code, msg = s.rcpt("nobody@example.org")
        assert code == 550 and b"5.1.1" in msg
        code, msg = s.rcpt("BOB@EXAMPLE.ORG")   # case-insensitive
        assert code == 250


@pytest.mark.parametrize("rcpt", [
    "<someone@elsewhere.test>",
    "<bob%elsewhere.test@example.org>",
    "<elsewhere.test!bob@example.org>",
    "<\"bob@elsewhere.test\"@example.org>",
    "<@example.org:bob@elsewhere.test>",
    "<@example.org,@mx.example.org:bob@elsewhere.test>",
    "<bob@elsewhere.test@example.org>",
    "<bob@[127.0.0.1]>",
])
def test_relay_refused(petrel, rcpt):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    assert c.cmd("MAIL FROM:<a@sender.test>")[0] == 250
    code, lines = c.cmd("RCPT TO:" + rcpt)
    assert 500 <= code < 600, (rcpt, lines)
    assert c.cmd("DATA")[0] in (503, 554)
    c.close()


def test_size_limits(petrel):
    c = RawSMTP(petrel.smtp_port)
    _, (code, lines) = c.hello()
    assert "250-SIZE 1048576" in lines
    code, lines = c.cmd("MAIL FROM:<a@sender.test> SIZE=2000000")
    assert code == 552 and "5.3.4" in lines[0]
    code, lines = c.cmd("MAIL FROM:<a@sender.test> SIZE=99999999999999999999999999")
    assert code in (501, 552)
    assert c.to_data() == [250, 250, 354]
    line = b"x" * 78 + b"\r\n"
    for _ in range(1100000 // len(line)):
        c.send(line)
    c.send(b".\r\n")
    code, lines = c.reply()
    assert code == 552 and "5.3.4" in lines[0]
    # The session goes on after an oversize message.
    assert c.cmd("NOOP")[0] == 250
    # BDAT over the limit is consumed, then refused.
    assert c.cmd("MAIL FROM:<a@sender.test>")[0] == 250
    assert c.cmd("RCPT TO:<bob@example.org>")[0] == 250
    big = b"y" * 1100000
    c.send(b"BDAT %d LAST\r\n" % len(big) + big)
    code, lines = c.reply()
    assert code == 552
    assert c.cmd("NOOP")[0] == 250


def test_long_lines(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    code, lines = c.cmd("NOOP " + "a" * 2000)
    assert code == 500 and "5.5.2" in lines[0]
    assert c.cmd("NOOP")[0] == 250
    assert c.to_data() == [250, 250, 354]
    c.send(b"Subject: long\r\n\r\n" + b"z" * 1200 + b"\r\n.\r\n")
    code, lines = c.reply()
    assert code == 500 and "line too long" in lines[0].lower()
    assert c.cmd("NOOP")[0] == 250


def test_nul_in_command(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    code, _ = c.cmd("MAIL FROM:<a@sender.test>\x00junk")
    assert code == 501
    code, _ = c.cmd("MAIL FROM:<a@sender.test>")
    assert code == 250
    code, _ = c.cmd("RCPT TO:<bob@example.org\x00@elsewhere.test>")
    assert code == 501


@pytest.mark.parametrize("sneaky", [
    b"\n.\n", b"\n.\r\n", b"\r.\r\n", b"\r\n.\n", b"\r\n.\r", b"\r\n.\r\r\n"])
def test_smuggling(petrel, sneaky):
    """Only <CRLF>.<CRLF> ends DATA; the smuggled transaction stays body text."""
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    assert c.to_data()[2] == 354
    c.send(b"Subject: smuggle\r\n\r\nhello" + sneaky +
           b"MAIL FROM:<evil@example.org>\r\nRCPT TO:<bob@example.org>\r\nDATA\r\n"
           b"Subject: smuggled\r\n\r\nevil\r\n.\r\n")
    code, lines = c.reply()
    assert code == 250, lines
    qid = queued_id(lines[0])
    data = petrel.queue_file(qid)
    assert b"MAIL FROM:<evil@example.org>" in data
    assert b"\r\n.\r\n" not in data
    # Every line end in the stored message is CRLF.
    assert data.count(b"\n") == data.count(b"\r\n")
    assert c.cmd("NOOP")[0] == 250
    # One message: the smuggled one was never a transaction of its own.
    assert not any(b"Subject: smuggled" in d[:200] for d in petrel.stored_files())


def test_starttls_injection(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    c.send(b"STARTTLS\r\nHELP\r\n")
    code, _ = c.reply()
    assert code == 220
    c.sock = client_tls().wrap_socket(c.sock)
    c.buf = b""
    # HELP must have been discarded: the first reply over TLS answers our NOOP.
    code, lines = c.cmd("NOOP")
    assert code == 250, lines
    # RFC 3207: the session starts over after TLS — MAIL needs a new EHLO.
    assert c.cmd("MAIL FROM:<a@sender.test>")[0] == 503
    code, lines = c.cmd("EHLO client.test")
    assert code == 250 and "STARTTLS" not in lines


def test_vrfy_expn_no_oracle(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    a = c.cmd("VRFY bob@example.org")
    b = c.cmd("VRFY nobody@example.org")
    assert a[0] == 252 and a == b
    assert c.cmd("EXPN bob@example.org") == c.cmd("EXPN nobody@example.org")


def test_bad_sequence_and_unknown_command(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.reply()
    assert c.cmd("MAIL FROM:<a@sender.test>")[0] == 503
    c.cmd("EHLO client.test")
    assert c.cmd("RCPT TO:<bob@example.org>")[0] == 503
    assert c.cmd("DATA")[0] == 503
    assert c.cmd("FOO bar")[0] == 500
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("QUIT")[0] == 221
    assert c.closed()


def test_unknown_recipients_throttled_then_closed(petrel):
    c = RawSMTP(petrel.smtp_port, timeout=30)
    c.hello()
    c.cmd("MAIL FROM:<a@sender.test>")
    codes = []
    for i in range(25):
        try:
            code, _ = c.cmd("RCPT TO:<ghost%d@example.org>" % i)
        except (EOFError, ConnectionResetError):
            break
        codes.append(code)
        if code == 421:
            break
    assert codes[:20] == [550] * 20
    assert codes[20] == 421
    assert c.closed()


def test_received_header_and_multiple_recipients(petrel):
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        refused = s.sendmail("alice@sender.test", ["bob@example.org", "admin@example.org"],
                             MSG % b"multi")
        assert refused == {}
    # One queued message, delivered to both mailboxes.
    for rcpt in ("bob@example.org", "admin@example.org"):
        msgs = [m for m in petrel.wait_mailbox(rcpt, 1) if b"multi@sender.test" in m[2]]
        deadline = time.time() + 10
        while not msgs and time.time() < deadline:
            time.sleep(0.05)
            msgs = [m for m in petrel.mailbox(rcpt) if b"multi@sender.test" in m[2]]
        assert len(msgs) == 1, rcpt


def test_live_directory_changes(petrel):
    """A mailbox added by the CLI is accepted by the running server at once."""
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail("alice@sender.test")
        assert s.rcpt("carol@example.org")[0] == 550
        petrel.cli("user", "add", "carol@example.org", "--password-stdin", input="pw-carol\n")
        assert s.rcpt("carol@example.org")[0] == 250
        petrel.cli("user", "disable", "carol@example.org")
        assert s.rcpt("carol@example.org")[0] == 550
        petrel.cli("domain", "add", "new.test")
        petrel.cli("user", "add", "dan@new.test", "--password-stdin", input="pw-dan\n")
        assert s.rcpt("dan@new.test")[0] == 250


def test_dsn_parameters_stored(petrel):
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    assert c.cmd("MAIL FROM:<a@sender.test> RET=HDRS ENVID=abc+2Bdef")[0] == 250
    assert c.cmd("RCPT TO:<%s> NOTIFY=SUCCESS,FAILURE "
                 "ORCPT=rfc822;held@example.org" % held(petrel))[0] == 250
    assert c.cmd("DATA")[0] == 354
    code, lines = c.cmd("Subject: dsn\r\n\r\nx\r\n.")
    assert code == 250
    env = petrel.cli("queue", "show", queued_id(lines[0]), json_out=True)
    text = str(env)
    assert "abc+def" in text and "HDRS" in text.upper()
    assert "SUCCESS" in text.upper() and "rfc822;held@example.org" in text


def test_smtputf8(petrel):
    petrel.cli("user", "add", "jörg@example.org", "--password-stdin", input="pw-jorg\n")
    c = RawSMTP(petrel.smtp_port)
    c.hello()
    assert c.cmd("MAIL FROM:<ä@sender.test>")[0] == 553
    assert c.cmd("MAIL FROM:<ä@sender.test> SMTPUTF8")[0] == 250
    assert c.cmd("RCPT TO:<jörg@example.org>")[0] == 250
    assert c.cmd("DATA")[0] == 354
    code, lines = c.cmd("Subject: =?utf-8?q?gr=C3=BC=C3=9Fe?=\r\n\r\nx\r\n.")
    assert code == 250
    assert b"UTF8SMTP" in petrel.queue_file(queued_id(lines[0]))[:400]


def test_many_sessions_at_once(petrel):
    conns = [RawSMTP(petrel.smtp_port) for _ in range(40)]
    for c in conns:
        assert c.reply()[0] == 220
    for c in conns:
        c.send(b"EHLO client.test\r\nMAIL FROM:<a@sender.test>\r\n"
               b"RCPT TO:<bob@example.org>\r\nDATA\r\n")
    for c in conns:
        for want in (250, 250, 250, 354):
            assert c.reply()[0] == want
    for i, c in enumerate(conns):
        c.send(b"Subject: many %d\r\n\r\nx\r\n.\r\n" % i)
    ids = set()
    for c in conns:
        code, lines = c.reply()
        assert code == 250
        ids.add(queued_id(lines[0]))
        c.close()
    assert len(ids) == 40


def test_internationalized_domain_both_spellings(petrel):
    """An IDN domain is one domain whether a client writes its U-labels
    (SMTPUTF8) or its A-labels (everyone else)."""
    out = petrel.cli("domain", "add", "bücher.test").stdout
    assert "xn--bcher-kva.test" in out
    petrel.cli("user", "add", "anna@BÜCHER.test", "--password-stdin", input="pw-anna\n")
    c = RawSMTP(petrel.smtp_port)
    c.reply()
    c.cmd("EHLO client.test")
    assert c.cmd("MAIL FROM:<a@sender.test>")[0] == 250
    assert c.cmd("RCPT TO:<anna@xn--bcher-kva.test>")[0] == 250
    assert c.cmd("RCPT TO:<anna@bücher.test>")[0] == 553   # needs SMTPUTF8
    assert c.cmd("RSET")[0] == 250
    assert c.cmd("MAIL FROM:<a@sender.test> SMTPUTF8")[0] == 250
    assert c.cmd("RCPT TO:<anna@bücher.test>")[0] == 250
    assert c.cmd("RCPT TO:<nobody@bücher.test>")[0] == 550
    c.cmd("QUIT")
