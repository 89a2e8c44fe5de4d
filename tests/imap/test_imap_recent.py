"""\\Recent for IMAP4rev1 clients (RFC 3501 2.3.2): a message is recent in
exactly one session, the first to SELECT the mailbox after it arrived
(or, for mail arriving while a session has it selected, the first to be
told about it). EXAMINE and STATUS count without claiming; an IMAP4rev2
session (RFC 9051) never sees \\Recent and claims nothing."""
import re

import pytest

from conftest import serve
from clientlib import RawIMAP, append, deliver, login, make_imap_petrel, status

USER = "recent@example.org"


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_imap_petrel(tmp_path_factory, (USER,)))


def msg(n):
    return b"Subject: r%d\r\n\r\nbody %d\r\n" % (n, n)


def fresh_mailbox(p, name, count):
    """A new mailbox with count messages that no session has selected."""
    c = login(p, USER)
    assert c.create(name)[0] == "OK"
    for i in range(count):
        append(c, name, msg(i))
    c.logout()


def open_box(p, name, readonly=False):
    """A session with name selected; returns it and its "* n RECENT"."""
    c = login(p, USER)
    c.response("RECENT")
    typ, data = c.select(name, readonly=readonly)
    assert typ == "OK", data
    return c, recent_of(c)


def recent_of(c):
    typ, data = c.response("RECENT")
    assert data and data[-1] is not None, "no RECENT response"
    return int(data[-1])


def recent_flags(c):
    """Per sequence number: whether FETCH FLAGS shows \\Recent."""
    typ, data = c.fetch("1:*", "(FLAGS)")
    assert typ == "OK", data
    return [b"\\Recent" in line for line in data if isinstance(line, bytes)]


def search(c, key):
    typ, data = c.search(None, key)
    assert typ == "OK", data
    return [int(n) for n in data[0].split()]


def test_select_claims_once(petrel):
    fresh_mailbox(petrel, "Claim", 2)
    a, n = open_box(petrel, "Claim")
    assert n == 2
    assert recent_flags(a) == [True, True]
    assert search(a, "RECENT") == [1, 2]
    assert search(a, "NEW") == [1, 2]
    b, n = open_box(petrel, "Claim")
    assert n == 0
    assert recent_flags(b) == [False, False]
    assert search(b, "RECENT") == []
    assert search(b, "OLD") == [1, 2]
    # Still A's for as long as A keeps the mailbox selected.
    assert recent_flags(a) == [True, True]
    # Reading does not end \Recent: NEW drops it (it needs unseen).
    a.fetch("1", "(BODY[])")
    assert search(a, "RECENT") == [1, 2]
    assert search(a, "NEW") == [2]
    for c in (a, b):
        c.logout()
    # A later SELECT finds nothing left to claim.
    c, n = open_box(petrel, "Claim")
    assert n == 0
    c.logout()


def test_examine_does_not_claim(petrel):
    fresh_mailbox(petrel, "Look", 3)
    for _ in range(2):
        e, n = open_box(petrel, "Look", readonly=True)
        assert n == 3
        assert recent_flags(e) == [True, True, True]
        e.logout()
    a, n = open_box(petrel, "Look")
    assert n == 3
    e, n = open_box(petrel, "Look", readonly=True)
    assert n == 0
    assert recent_flags(e) == [False, False, False]
    for c in (a, e):
        c.logout()


def test_delivery_while_selected(petrel):
    fresh_mailbox(petrel, "Live", 1)
    a, n = open_box(petrel, "Live")
    b, m = open_box(petrel, "Live")
    assert (n, m) == (1, 0)
    # Another session's APPEND: the first selected session told of it
    # claims it.
    c = login(petrel, USER)
    append(c, "Live", msg(9))
    assert a.noop()[0] == "OK"
    assert recent_of(a) == 2
    assert recent_flags(a) == [True, True]
    assert b.noop()[0] == "OK"
    assert recent_of(b) == 0
    assert recent_flags(b) == [False, False]
    for s in (a, b, c):
        s.logout()


def test_smtp_delivery_is_recent_in_one_session(petrel):
    a, _ = open_box(petrel, "INBOX")
    b, _ = open_box(petrel, "INBOX")
    before = int(b.response("EXISTS")[1][-1])
    deliver(petrel, USER, b"From: x@sender.test\r\nSubject: live\r\n\r\nhi\r\n")
    assert b.noop()[0] == "OK"
    assert recent_of(b) == 1
    flags = recent_flags(b)
    assert len(flags) == before + 1 and flags[-1] is True
    assert a.noop()[0] == "OK"
    assert recent_of(a) == 0
    for c in (a, b):
        c.logout()


def test_selected_elsewhere_loses_the_race(petrel):
    """A has the mailbox selected but is not told of new mail before B
    selects it: B claims it, and A's RECENT count never includes it."""
    fresh_mailbox(petrel, "Race", 0)
    a, n = open_box(petrel, "Race")
    assert n == 0
    c = login(petrel, USER)
    append(c, "Race", msg(1))
    b, n = open_box(petrel, "Race")
    assert n == 1
    assert a.noop()[0] == "OK"
    assert recent_of(a) == 0
    # And A claims no more after that: the next message waits for a
    # SELECT.
    append(c, "Race", msg(2))
    assert a.noop()[0] == "OK"
    assert recent_of(a) == 0
    for s in (a, b, c):
        s.logout()
    d, n = open_box(petrel, "Race")
    assert n == 1
    d.logout()


def status_recent(c, name):
    typ, data = c.status(name, "(RECENT MESSAGES)")
    assert typ == "OK", data
    return int(re.search(rb"RECENT (\d+)", data[0]).group(1))


def test_status_recent(petrel):
    fresh_mailbox(petrel, "Count", 2)
    c = login(petrel, USER)
    assert status_recent(c, "Count") == 2
    assert status_recent(c, "Count") == 2      # STATUS does not claim
    a, n = open_box(petrel, "Count")
    assert n == 2
    # The selected mailbox: the session's own count.
    assert status_recent(a, "Count") == 2
    assert status_recent(c, "Count") == 0
    for s in (a, c):
        s.logout()


def test_rev2_never_sees_recent(petrel):
    fresh_mailbox(petrel, "Two", 1)
    r = RawIMAP(petrel.ports["imap"])
    r.greeting()
    r.login(USER)
    tagged, _ = r.cmd(b"ENABLE IMAP4rev2")
    assert status(tagged) == b"OK", tagged
    tagged, untagged = r.cmd(b"SELECT Two")
    assert status(tagged) == b"OK", tagged
    assert not [l for l in untagged if l.endswith(b" RECENT")], untagged
    tagged, untagged = r.cmd(b"FETCH 1 (FLAGS)")
    assert status(tagged) == b"OK", tagged
    assert b"\\Recent" not in b"".join(untagged)
    tagged, untagged = r.cmd(b"SEARCH RECENT")
    assert status(tagged) == b"OK", tagged
    tagged, untagged = r.cmd(b"STATUS Two (RECENT)")
    assert status(tagged) == b"OK", tagged
    assert b"RECENT 0" in b"".join(untagged), untagged
    # It claimed nothing: a rev1 SELECT still gets the message.
    c, n = open_box(petrel, "Two")
    assert n == 1
    c.logout()
    r.close()
