"""IMAP FETCH against the real daemon: FLAGS, INTERNALDATE, RFC822.SIZE,
UID, ENVELOPE, BODY and BODYSTRUCTURE of a multipart message, RFC822.*,
BODY[section]<partial> (parts, HEADER, HEADER.FIELDS(.NOT), TEXT, MIME),
BODY.PEEK against \\Seen, BINARY and BINARY.SIZE of a base64 part,
byte-identical BODY[] of 8-bit and 5 MB messages, BINARY[] of one with
NUL octets (APPENDed as a literal8), MODSEQ, and UID FETCH (CHANGEDSINCE ... VANISHED) after
ENABLE QRESYNC. Exact answers through a raw client; imaplib fetches the
big message as a stock client."""
import imaplib
import re

import pytest

from conftest import Petrel, rewrite_config, serve
from test_imap_mailboxes import Raw, enable_imap, login, PASSWORD, USER

MULTI = (b"From: Alice Doe <alice@example.org>\r\n"
         b"To: bob@example.org, \"Carol\" <carol@example.com>\r\n"
         b"Subject: parts\r\nDate: Mon, 2 Jun 2025 10:00:00 +0200\r\n"
         b"Message-ID: <m1@example.org>\r\nMIME-Version: 1.0\r\n"
         b"Content-Type: multipart/mixed; boundary=\"BB\"\r\n\r\n"
         b"preamble\r\n--BB\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n"
         b"hello world\r\n--BB\r\nContent-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\nAAEC/w==\r\n--BB--\r\n")
EIGHT = ("Subject: 8bit\r\nContent-Type: text/plain; charset=utf-8\r\n"
         "Content-Transfer-Encoding: 8bit\r\n\r\nGrüße, ça va? ✓\r\n").encode()
NUL = (b"Subject: nul\r\nContent-Transfer-Encoding: binary\r\n\r\n"
       b"a\x00b\x00\xff\xfe\r\n\x00\r\n")


def make_fetch_petrel(tmp_path_factory):
    p = Petrel(tmp_path_factory.mktemp("petrel"))
    p.quickstart()
    enable_imap(p.conf)
    rewrite_config(p.conf, p.ports, {"max_connections_per_ip": "200",
                                     "max_message_size": "10M"})
    p.cli("user", "add", USER, "--password-stdin", input=PASSWORD + "\n")
    return p


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_fetch_petrel(tmp_path_factory))


@pytest.fixture(scope="module")
def big():
    """5 MiB in numbered 80-octet lines (a shifted range shows)."""
    body = b"".join(b"%07d " % i + b"y" * 70 + b"\r\n"
                    for i in range(5 * 1024 * 1024 // 80))
    return b"Subject: big\r\n\r\n" + body


_boxes = iter(range(1, 1000))


@pytest.fixture
def bob(petrel):
    """A fresh mailbox "fN" holding MULTI, EIGHT, NUL (UIDs 1..3),
    selected."""
    c = login(petrel)
    name = "f%d" % next(_boxes)
    c.ok("CREATE %s" % name)
    c.ok('APPEND %s (\\Flagged) "02-Jun-2025 12:00:00 +0000" {}' % name,
         [MULTI])
    c.ok("APPEND %s {}" % name, [EIGHT])
    c.ok("APPEND %s {}" % name, [NUL], binary=True)
    c.ok("SELECT %s" % name)
    c.box = name
    yield c
    c.close()


def fetch1(c, text):
    lines, _ = c.ok(text)
    got = [l for l in lines if re.match(rb"\* \d+ FETCH", l)]
    assert len(got) == 1, lines
    return got[0]


def test_metadata_items(bob):
    # bob's SELECT (rev1) was the first since delivery: \\Recent is his.
    assert fetch1(bob, "FETCH 1 (FLAGS INTERNALDATE RFC822.SIZE UID)") == (
        b'* 1 FETCH (FLAGS (\\Flagged \\Recent) INTERNALDATE " 2-Jun-2025 12:00:00 '
        b'+0000" RFC822.SIZE %d UID 1)' % len(MULTI))
    lines, _ = bob.ok("UID FETCH 2:3 (RFC822.SIZE)")
    assert lines == [b"* 2 FETCH (UID 2 RFC822.SIZE %d)" % len(EIGHT),
                     b"* 3 FETCH (UID 3 RFC822.SIZE %d)" % len(NUL)]


def test_envelope_and_bodystructure(bob):
    got = fetch1(bob, "FETCH 1 (ENVELOPE)")
    assert got == (
        b'* 1 FETCH (ENVELOPE ("Mon, 2 Jun 2025 10:00:00 +0200" "parts" '
        b'(("Alice Doe" NIL "alice" "example.org")) '
        b'(("Alice Doe" NIL "alice" "example.org")) '
        b'(("Alice Doe" NIL "alice" "example.org")) '
        b'((NIL NIL "bob" "example.org")("Carol" NIL "carol" "example.com")) '
        b'NIL NIL NIL "<m1@example.org>"))')
    got = fetch1(bob, "FETCH 1 (BODYSTRUCTURE)")
    assert got.startswith(
        b'* 1 FETCH (BODYSTRUCTURE (("text" "plain" ("charset" "utf-8") NIL '
        b'NIL "7bit" 11 0 NIL NIL NIL NIL)("application" "octet-stream" NIL '
        b'NIL NIL "base64" 8 NIL NIL NIL NIL) "mixed" ("boundary" "BB")'), got
    got = fetch1(bob, "FETCH 1 (BODY)")
    assert got == (b'* 1 FETCH (BODY (("text" "plain" ("charset" "utf-8") '
                   b'NIL NIL "7bit" 11 0)("application" "octet-stream" NIL '
                   b'NIL NIL "base64" 8) "mixed"))')


def test_body_sections_and_partials(bob):
    hdr_end = MULTI.index(b"\r\n\r\n") + 4
    cases = [
        ("BODY.PEEK[]", "BODY[]", MULTI),
        ("BODY.PEEK[HEADER]", "BODY[HEADER]", MULTI[:hdr_end]),
        ("BODY.PEEK[TEXT]", "BODY[TEXT]", MULTI[hdr_end:]),
        ("BODY.PEEK[1]", "BODY[1]", b"hello world"),
        ("BODY.PEEK[2]", "BODY[2]", b"AAEC/w=="),
        ("BODY.PEEK[2.MIME]", "BODY[2.MIME]",
         b"Content-Type: application/octet-stream\r\n"
         b"Content-Transfer-Encoding: base64\r\n\r\n"),
        ("BODY.PEEK[HEADER.FIELDS (subject MESSAGE-ID)]",
         "BODY[HEADER.FIELDS (subject MESSAGE-ID)]",	# names as sent
         b"Subject: parts\r\nMessage-ID: <m1@example.org>\r\n\r\n"),
        ("BODY.PEEK[]<0.6>", "BODY[]<0>", MULTI[:6]),
        ("BODY.PEEK[1]<6.100>", "BODY[1]<6>", b"world"),
        ("BODY.PEEK[TEXT]<100000.5>", "BODY[TEXT]<100000>", b""),
        ("RFC822.HEADER", "RFC822.HEADER", MULTI[:hdr_end]),
    ]
    for item, name, want in cases:
        got = fetch1(bob, "FETCH 1 (%s)" % item)
        # (Raw keeps a literal inline: "{n}" then its octets)
        want_line = b"* 1 FETCH (" + name.encode() + b" {%d}" % len(want) \
            + want + b")"
        quoted = b"* 1 FETCH (" + name.encode() + b' "' + want + b'")'
        assert got in (want_line, quoted), (item, got)
    # nothing above was more than a peek
    assert fetch1(bob, "FETCH 1 (FLAGS)") == b"* 1 FETCH (FLAGS (\\Flagged \\Recent))"


def test_body_sets_seen_peek_does_not(bob):
    got = fetch1(bob, "FETCH 2 (BODY.PEEK[TEXT])")
    assert b"FLAGS" not in got
    got = fetch1(bob, "FETCH 2 (BODY[TEXT])")
    assert b"FLAGS (\\Seen \\Recent)" in got, got
    assert fetch1(bob, "FETCH 2 (FLAGS)") == b"* 2 FETCH (FLAGS (\\Seen \\Recent))"
    got = fetch1(bob, "FETCH 3 (RFC822.TEXT)")
    assert b"\\Seen" in got


def test_binary(bob):
    got = fetch1(bob, "FETCH 1 (BINARY.PEEK[2] BINARY.SIZE[2])")
    assert got in (b"* 1 FETCH (BINARY[2] ~{4}\x00\x01\x02\xff "
                   b"BINARY.SIZE[2] 4)",
                   b"* 1 FETCH (BINARY.SIZE[2] 4 "
                   b"BINARY[2] ~{4}\x00\x01\x02\xff)"), got
    got = fetch1(bob, "FETCH 1 (BINARY.PEEK[1])")
    assert got in (b"* 1 FETCH (BINARY[1] {11}hello world)",
                   b'* 1 FETCH (BINARY[1] "hello world")'), got
    got = fetch1(bob, "FETCH 1 (BINARY.PEEK[2]<1.2>)")
    assert got == b"* 1 FETCH (BINARY[2]<1> ~{2}\x01\x02)", got


def literal(got, prefix):
    """The octets of the one literal after prefix in a FETCH line."""
    m = re.match(re.escape(prefix) + rb" (~?)\{(\d+)\}", got)
    assert m, got
    n = int(m.group(2))
    assert got[m.end() + n:] == b")", got
    return m.group(1), got[m.end():m.end() + n]


def test_byte_identical_bodies(bob):
    assert literal(fetch1(bob, "FETCH 2 (BODY.PEEK[])"),
                   b"* 2 FETCH (BODY[]") == (b"", EIGHT)
    assert literal(fetch1(bob, "FETCH 2 (BINARY.PEEK[])"),
                   b"* 2 FETCH (BINARY[]")[1] == EIGHT
    # NUL may travel only in a literal8 (RFC 3516): BINARY[] is exact;
    # BODY[] (a plain literal) carries each NUL as 0x80, as Dovecot does
    assert literal(fetch1(bob, "FETCH 3 (BINARY.PEEK[])"),
                   b"* 3 FETCH (BINARY[]") == (b"~", NUL)
    assert literal(fetch1(bob, "FETCH 3 (BODY.PEEK[])"),
                   b"* 3 FETCH (BODY[]") == (b"", NUL.replace(b"\0", b"\x80"))


def test_big_message_imaplib(petrel, big):
    c = login(petrel)
    c.ok("CREATE bigbox")
    c.ok("APPEND bigbox {}", [big])
    c.close()
    m = imaplib.IMAP4("127.0.0.1", petrel.ports["imap"])
    try:
        m.login(USER, PASSWORD)
        m.select("bigbox", readonly=True)
        typ, data = m.fetch("1", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK"
        assert data[0][0].startswith(b"1 (RFC822.SIZE %d BODY[] {%d}"
                                     % (len(big), len(big)))
        assert data[0][1] == big
        typ, data = m.uid("FETCH", "1", "(BODY.PEEK[]<5000000.100>)")
        assert data[0][1] == big[5000000:5000100]
    finally:
        m.logout()


def test_modseq_changedsince_vanished(bob):
    lines, _ = bob.ok("ENABLE QRESYNC")
    assert b"* ENABLED QRESYNC" in lines
    bob.ok("SELECT %s" % bob.box)
    lines, _ = bob.ok("FETCH 1:3 (MODSEQ)")
    seqs = [int(re.search(rb"MODSEQ \((\d+)\)", l).group(1)) for l in lines]
    assert len(seqs) == 3 and seqs == sorted(seqs), lines
    high = max(seqs)
    bob.ok("STORE 2 +FLAGS.SILENT (\\Answered)")
    lines, _ = bob.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % high)
    assert len(lines) == 1, lines
    assert lines[0].startswith(b"* 2 FETCH ("), lines
    assert b"UID 2" in lines[0] and b"FLAGS (\\Answered)" in lines[0], lines
    changed = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    assert changed > high
    bob.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    lines, _ = bob.ok("EXPUNGE")
    assert lines[-1:] == [b"* VANISHED 1"], lines
    lines, _ = bob.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE %d VANISHED)"
                      % changed)
    assert lines == [b"* VANISHED (EARLIER) 1"], lines
    lines, _ = bob.ok("FETCH 1 (UID MODSEQ)")
    assert re.match(rb"\* 1 FETCH \(UID 2 MODSEQ \(\d+\)\)$", lines[0]), lines
