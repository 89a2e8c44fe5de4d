"""IMAP SEARCH, SORT and THREAD against the real daemon: flags, keywords,
internal and sent dates, sizes, header/body/text keys through RFC 2047
subjects, base64 Latin-1 bodies and multipart parts, OR/NOT, sequence and
UID sets, ESEARCH RETURN (MIN MAX COUNT ALL SAVE) and "$" (SEARCHRES),
CHARSET UTF-8 and BADCHARSET; SORT and UID SORT by every criterion with
REVERSE; THREAD=REFERENCES and THREAD=ORDEREDSUBJECT. Exact answer lines
through a raw client, and imaplib's sort()/thread() as a stock client."""
import imaplib
import re

import pytest

from conftest import serve
from test_imap_mailboxes import Raw, login, make_imap_petrel, PASSWORD, USER

M1 = (b"From: Alice <alice@example.org>\r\nTo: bob@example.org\r\n"
      b"Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= aus Berlin\r\n"
      b"Date: Mon, 2 Jun 2025 10:00:00 +0200\r\nMessage-ID: <a@x>\r\n\r\n"
      b"plain body with NEEDLE inside\r\n")
M2 = (b"From: bob@example.net\r\nTo: carol@example.com\r\n"
      b"Subject: Re: =?ISO-8859-1?Q?Gr=FC=DFe?= aus Berlin\r\n"
      b"Date: Tue, 3 Jun 2025 10:00:00 +0000\r\nMessage-ID: <b@x>\r\n"
      b"In-Reply-To: <a@x>\r\nReferences: <a@x>\r\nMIME-Version: 1.0\r\n"
      b"Content-Type: text/plain; charset=iso-8859-1\r\n"
      b"Content-Transfer-Encoding: base64\r\n\r\n"
      b"RGllIFN0cmHfZSBpc3QgbGFuZw==\r\n")     # "Die Straße ist lang"
M3 = (b"Subject: big\r\nDate: 1 Jan 2020 00:00 +0000\r\nMessage-ID: <c@x>\r\n"
      b"X-Tag: yes\r\n\r\n" + b"0123456789abcdef" * 200 + b"\r\n")
M4 = (b"From: Zed <zed@example.com>\r\nSubject: Other\r\n"
      b"Date: Wed, 4 Jun 2025 10:00:00 +0000\r\nMessage-ID: <d@x>\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: multipart/alternative; boundary=XX\r\n\r\n"
      b"--XX\r\nContent-Type: text/plain\r\n\r\nhello multipart\r\n"
      b"--XX\r\nContent-Type: text/html\r\n\r\n<b>html only</b>\r\n--XX--\r\n")
MSGS = [(M1, "\\Seen", "02-Jun-2025 12:00:00 +0000"),
        (M2, "\\Flagged", "03-Jun-2025 12:00:00 +0000"),
        (M3, "$Label1", "01-Jan-2020 12:00:00 +0000"),
        (M4, "", "04-Jun-2025 12:00:00 +0000")]


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_imap_petrel(tmp_path_factory))


@pytest.fixture(scope="module")
def box(petrel):
    """Mailbox "srch": UIDs 2..5 (UID 1 appended and expunged, so UIDs and
    sequence numbers differ by one)."""
    c = login(petrel)
    c.ok("CREATE srch")
    c.ok("APPEND srch {}", [b"Subject: gone\r\n\r\nx\r\n"])
    for data, flags, date in MSGS:
        c.ok('APPEND srch (%s) "%s" {}' % (flags, date), [data])
    c.ok("SELECT srch")
    c.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    c.ok("EXPUNGE")
    c.close()
    return "srch"


@pytest.fixture
def bob(petrel, box):
    c = login(petrel)
    c.ok("SELECT %s" % box)
    yield c
    c.close()


def search(c, text, literals=()):
    lines, _ = c.ok(text, literals)
    got = [l for l in lines if re.match(rb"\* (SEARCH|SORT|THREAD|ESEARCH)", l)]
    assert len(got) == 1, lines
    return got[0].decode()


@pytest.mark.parametrize("keys,want", [
    ("ALL", "1 2 3 4"),
    ("SEEN", "1"),
    ("UNSEEN", "2 3 4"),
    ("FLAGGED", "2"),
    ("KEYWORD $label1", "3"),
    ("UNKEYWORD $Label1", "1 2 4"),
    ("SINCE 1-Jun-2025", "1 2 4"),
    ("BEFORE 1-Jun-2025", "3"),
    ("ON 3-Jun-2025", "2"),
    ("SENTON 2-Jun-2025", "1"),
    ("SENTBEFORE 1-Jan-2021", "3"),
    ("SENTSINCE 3-Jun-2025", "2 4"),
    ("LARGER 2000", "3"),
    ("SMALLER 2000", "1 2 4"),
    ("FROM ALICE", "1"),
    ("TO carol", "2"),
    ("SUBJECT berlin", "1 2"),
    ("HEADER Message-ID <b@x>", "2"),
    ("HEADER X-Tag \"\"", "3"),
    ("BODY needle", "1"),
    ("BODY STRASSE", "2"),
    ("BODY multipart", "4"),
    ("BODY html", "4"),
    ("TEXT zed", "4"),
    ("TEXT 0123456789ABCDEF", "3"),
    ("OR FLAGGED KEYWORD $Label1", "2 3"),
    ("NOT SEEN", "2 3 4"),
    ("NOT (OR SEEN FLAGGED)", "3 4"),
    ("2,4", "2 4"),
    ("2:*", "2 3 4"),
    ("UID 3:4", "2 3"),
    ("UID 5:*", "4"),
    ("UNSEEN UID 2:4 NOT BODY html", "2 3"),
])
def test_search_keys(bob, keys, want):
    assert search(bob, "SEARCH " + keys) == ("* SEARCH " + want).rstrip()


def test_uid_search_and_charset(bob):
    assert search(bob, "UID SEARCH UNSEEN") == "* SEARCH 3 4 5"
    # RFC 2047 subjects (UTF-8 and Latin-1) match a UTF-8 literal,
    # ß folding to "ss"
    assert search(bob, "SEARCH CHARSET UTF-8 SUBJECT {}",
                  ["grüsse".encode()]) == "* SEARCH 1 2"
    assert search(bob, "SEARCH CHARSET utf-8 BODY {}",
                  ["straße".encode()]) == "* SEARCH 2"
    assert search(bob, "SEARCH CHARSET US-ASCII FROM zed") == "* SEARCH 4"
    _, tagged = bob.run("SEARCH CHARSET KOI8-R ALL")
    assert re.match(rb"t\d+ NO \[BADCHARSET \(UTF-8 US-ASCII\)\]", tagged)
    _, tagged = bob.run("SEARCH FLOOP")
    assert b" BAD " in tagged


def test_esearch_and_searchres(bob):
    tag = "t%d" % (bob.n + 1)
    assert search(bob, "SEARCH RETURN (MIN MAX COUNT ALL) UNSEEN") == \
        '* ESEARCH (TAG "%s") MIN 2 MAX 4 COUNT 3 ALL 2:4' % tag
    tag = "t%d" % (bob.n + 1)
    assert search(bob, "UID SEARCH RETURN () NOT SEEN") == \
        '* ESEARCH (TAG "%s") UID ALL 3:5' % tag
    tag = "t%d" % (bob.n + 1)
    assert search(bob, "SEARCH RETURN (COUNT) KEYWORD nothing") == \
        '* ESEARCH (TAG "%s") COUNT 0' % tag
    # SAVE alone answers no ESEARCH; "$" then holds the result
    lines, _ = bob.ok("SEARCH RETURN (SAVE) OR SEEN FLAGGED")
    assert not [l for l in lines if b"ESEARCH" in l], lines
    assert search(bob, "SEARCH $") == "* SEARCH 1 2"
    assert search(bob, "UID SEARCH NOT $") == "* SEARCH 4 5"
    lines, _ = bob.ok("FETCH $ (UID)")
    assert lines == [b"* 1 FETCH (UID 2)", b"* 2 FETCH (UID 3)"]
    # MIN and SAVE: only the minimum is saved (RFC 5182 §2.4)
    tag = "t%d" % (bob.n + 1)
    assert search(bob, "SEARCH RETURN (MIN SAVE) UNSEEN") == \
        '* ESEARCH (TAG "%s") MIN 2' % tag
    assert search(bob, "UID SEARCH $") == "* SEARCH 3"


@pytest.mark.parametrize("crit,want", [
    ("ARRIVAL", "3 1 2 4"),
    ("REVERSE ARRIVAL", "4 2 1 3"),
    ("DATE", "3 1 2 4"),            # 1's +0200 is 08:00 UTC
    ("SIZE", "1 4 2 3"),
    ("REVERSE SIZE", "3 2 4 1"),
    ("SUBJECT", "3 1 2 4"),         # "big", base "grüße aus berlin" x2
    ("REVERSE SUBJECT", "4 1 2 3"),  # ties stay in mailbox order
    ("FROM", "3 1 2 4"),            # "", alice, bob, zed
    ("REVERSE FROM", "4 2 1 3"),
    ("TO", "3 4 1 2"),              # "", "", bob, carol
    ("CC", "1 2 3 4"),
    ("DISPLAYFROM", "3 1 2 4"),     # "", alice, bob@example.net, zed
    ("SUBJECT REVERSE DATE", "3 2 1 4"),
])
def test_sort(bob, crit, want):
    assert search(bob, "SORT (%s) UTF-8 ALL" % crit) == "* SORT " + want


def test_sort_uid_keys_and_errors(bob):
    assert search(bob, "UID SORT (ARRIVAL) UTF-8 UNSEEN") == "* SORT 4 3 5"
    assert search(bob, "SORT (DATE) UTF-8 SUBJECT berlin") == "* SORT 1 2"
    assert search(bob, "SORT (DATE) UTF-8 KEYWORD nothing") == "* SORT"
    _, tagged = bob.run("SORT (BOGUS) UTF-8 ALL")
    assert b" BAD " in tagged
    _, tagged = bob.run("SORT (DATE) KOI8-R ALL")
    assert b"NO [BADCHARSET" in tagged
    _, tagged = bob.run("SORT (REVERSE) UTF-8 ALL")
    assert b" BAD " in tagged


def test_thread(bob):
    # 2 replies to 1 (References); 3 and 4 stand alone; roots by date
    assert search(bob, "THREAD REFERENCES UTF-8 ALL") == \
        "* THREAD (3)(1 2)(4)"
    assert search(bob, "UID THREAD REFERENCES UTF-8 ALL") == \
        "* THREAD (4)(2 3)(5)"
    # by base subject: 1 and 2 share "grüße aus berlin"
    assert search(bob, "THREAD ORDEREDSUBJECT UTF-8 ALL") == \
        "* THREAD (3)(1 2)(4)"
    assert search(bob, "THREAD REFERENCES UTF-8 NOT SEEN") == \
        "* THREAD (3)(2)(4)"
    assert search(bob, "THREAD REFERENCES UTF-8 KEYWORD nothing") == \
        "* THREAD"
    _, tagged = bob.run("THREAD FOO UTF-8 ALL")
    assert b" BAD " in tagged


def test_thread_reply_chain_and_dummy(petrel):
    """Replies nested three deep, two replies to a message not in the
    mailbox (a dummy parent), and a reply found by subject only."""
    c = login(petrel)
    c.ok("CREATE thr")
    msgs = [
        (b"Message-ID: <p1@x>\r\nSubject: plan\r\nDate: 1 Jan 2024 10:00 +0000", ""),
        (b"Message-ID: <p2@x>\r\nSubject: Re: plan\r\nReferences: <p1@x>\r\n"
         b"Date: 1 Jan 2024 11:00 +0000", ""),
        (b"Message-ID: <p3@x>\r\nSubject: Re: plan\r\n"
         b"References: <p1@x> <p2@x>\r\nDate: 1 Jan 2024 12:00 +0000", ""),
        (b"Message-ID: <q1@x>\r\nSubject: lost\r\nIn-Reply-To: <gone@x>\r\n"
         b"Date: 2 Jan 2024 10:00 +0000", ""),
        (b"Message-ID: <q2@x>\r\nSubject: Re: lost\r\nReferences: <gone@x>\r\n"
         b"Date: 2 Jan 2024 11:00 +0000", ""),
        (b"Message-ID: <p4@x>\r\nSubject: Fwd: plan\r\n"
         b"Date: 1 Jan 2024 10:30 +0000", ""),
    ]
    for head, _ in msgs:
        c.ok("APPEND thr {}", [head + b"\r\n\r\nbody\r\n"])
    c.ok("SELECT thr")
    assert search(c, "THREAD REFERENCES UTF-8 ALL") == \
        "* THREAD (1 (6)(2 3))((4)(5))"
    assert search(c, "THREAD ORDEREDSUBJECT UTF-8 ALL") == \
        "* THREAD (1 (6)(2)(3))(4 5)"
    assert search(c, "SORT (SUBJECT DATE) UTF-8 ALL") == "* SORT 4 5 1 6 2 3"
    c.close()


def test_imaplib_sort_and_thread(petrel, box):
    m = imaplib.IMAP4("127.0.0.1", petrel.ports["imap"])
    try:
        m.login(USER, PASSWORD)
        m.select(box)
        assert m.sort("(REVERSE DATE)", "UTF-8", "ALL") == ("OK", [b"4 2 1 3"])
        assert m.uid("SORT", "(SIZE)", "UTF-8", "ALL") == \
            ("OK", [b"2 5 3 4"])
        assert m.thread("REFERENCES", "UTF-8", "ALL") == \
            ("OK", [b"(3)(1 2)(4)"])
        assert m.search("UTF-8", "UNSEEN") == ("OK", [b"2 3 4"])
        typ, data = m.capability()
        caps = data[0].split()
        for cap in (b"SORT", b"THREAD=REFERENCES", b"THREAD=ORDEREDSUBJECT",
                    b"ESEARCH", b"SEARCHRES"):
            assert cap in caps, caps
    finally:
        m.logout()
