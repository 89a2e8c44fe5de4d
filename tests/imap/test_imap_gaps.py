"""The IMAP gaps closed late (issue 4), against the real daemon over raw
sockets: every capability advertised after login is exercised here or in
another tests/imap file; MAILBOXID (RFC 8474) in CREATE, SELECT and
STATUS; HIGHESTMODSEQ moving on expunges (QRESYNC EXPUNGE answer) and
told once when a command enables CONDSTORE while a mailbox is selected;
COPY/MOVE of messages another session expunged (EXPUNGEISSUED); QRESYNC
seq-match data narrowing VANISHED (EARLIER); a sequence set in an empty
mailbox (BAD, as Dovecot)."""
import re

import pytest

from clientlib import RawIMAP, append, login, make_imap_petrel, status
from conftest import serve

USER = "gaps@example.org"

# Exactly what a logged-in client is offered (APPENDLIMIT=n and
# COMPRESS=DEFLATE aside): nothing advertised that does not work.
AUTH_CAPS = set("""IMAP4rev1 IMAP4rev2 SASL-IR ID ENABLE IDLE LITERAL+
NAMESPACE UNSELECT UIDPLUS CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE
CREATE-SPECIAL-USE MOVE CONDSTORE QRESYNC ESEARCH SEARCHRES SORT SORT=DISPLAY
THREAD=REFERENCES THREAD=ORDEREDSUBJECT QUOTA QUOTA=RES-STORAGE
QUOTA=RES-MESSAGE BINARY STATUS=SIZE UTF8=ACCEPT WITHIN SAVEDATE
OBJECTID""".split())

MSG = (b"From: Alice <alice@sender.test>\r\nTo: gaps@example.org\r\n"
       b"Subject: gap %d\r\nMessage-ID: <gap%d@sender.test>\r\n\r\nbody %d\r\n")


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_imap_petrel(tmp_path_factory, [USER]))


def raw(p):
    r = RawIMAP(p.ports["imap"])
    r.greeting()
    r.login(USER)
    return r


def fill(p, mailbox, n):
    c = login(p, USER)
    typ, _ = c.create(mailbox)
    assert typ == "OK"
    uids = [append(c, mailbox, MSG % (i, i, i)) for i in range(n)]
    c.logout()
    return uids


def ok(tagged):
    assert status(tagged) == b"OK", tagged
    return tagged


def test_capabilities_exact_and_exercised(petrel):
    r = raw(petrel)
    tagged, untagged = r.cmd("CAPABILITY")
    ok(tagged)
    caps = set(untagged[0].decode().split()[2:])
    rest = {c for c in caps if c.startswith("APPENDLIMIT=")} | {"COMPRESS=DEFLATE"}
    assert caps - rest == AUTH_CAPS, caps ^ AUTH_CAPS
    fill(petrel, "Caps", 3)
    ok(r.cmd("SELECT Caps")[0])
    # SORT=DISPLAY (RFC 5957)
    tagged, untagged = r.cmd("SORT (DISPLAYFROM) UTF-8 ALL")
    ok(tagged)
    assert untagged == [b"* SORT 1 2 3"], untagged
    # WITHIN (RFC 5032): all just stored
    tagged, untagged = r.cmd("SEARCH YOUNGER 3600")
    ok(tagged)
    assert untagged == [b"* SEARCH 1 2 3"], untagged
    tagged, untagged = r.cmd("SEARCH OLDER 3600")
    assert untagged == [b"* SEARCH"], untagged
    # SAVEDATE (RFC 8514)
    tagged, untagged = r.cmd("FETCH 1 (SAVEDATE)")
    ok(tagged)
    assert re.match(rb'\* 1 FETCH \(SAVEDATE "\d\d?-\w{3}-\d{4} ', untagged[0]), untagged
    tagged, untagged = r.cmd("SEARCH SAVEDSINCE 1-Jan-2020")
    assert untagged == [b"* SEARCH 1 2 3"], untagged
    # CREATE-SPECIAL-USE (RFC 6154)
    ok(r.cmd(r"CREATE Outbox (USE (\Sent))")[0])
    tagged, untagged = r.cmd('LIST "" Outbox RETURN (SPECIAL-USE)')
    ok(tagged)
    assert b"\\Sent" in untagged[0], untagged
    # QUOTA=RES-STORAGE / RES-MESSAGE (RFC 9208 5): both resources are
    # reported once limited
    petrel.cli("user", "quota", USER, "10M")
    r.close()
    r = raw(petrel)           # limits are read at login
    tagged, untagged = r.cmd("GETQUOTAROOT INBOX")
    ok(tagged)
    assert any(b"STORAGE" in u for u in untagged), untagged
    r.close()


def test_objectid_mailboxid(petrel):
    r = raw(petrel)
    tagged, _ = r.cmd("CREATE Objects")
    m = re.search(rb"OK \[MAILBOXID \((M[0-9a-f]{24})\)\]", ok(tagged))
    assert m, tagged
    mid = m.group(1)
    tagged, untagged = r.cmd("STATUS Objects (MESSAGES MAILBOXID)")
    ok(tagged)
    assert untagged == [b'* STATUS Objects (MESSAGES 0 MAILBOXID (' + mid + b'))'], untagged
    tagged, untagged = r.cmd("SELECT Objects")
    ok(tagged)
    assert b"* OK [MAILBOXID (" + mid + b")] Ok" in untagged, untagged
    # a rename keeps the object (RFC 8474 4.1)
    ok(r.cmd("UNSELECT")[0])
    ok(r.cmd("RENAME Objects Objects2")[0])
    tagged, untagged = r.cmd("STATUS Objects2 (MAILBOXID)")
    assert untagged == [b"* STATUS Objects2 (MAILBOXID (" + mid + b"))"], untagged
    # another mailbox, another id; EMAILID/THREADID in FETCH and SEARCH
    tagged, untagged = r.cmd("STATUS INBOX (MAILBOXID)")
    assert mid not in untagged[0]
    fill(petrel, "Objects3", 1)
    ok(r.cmd("SELECT Objects3")[0])
    tagged, untagged = r.cmd("FETCH 1 (EMAILID THREADID)")
    m = re.search(rb"EMAILID \(([\w-]+)\) THREADID \(([\w-]+)\)", untagged[0])
    assert m, untagged
    tagged, untagged = r.cmd(b"SEARCH EMAILID " + m.group(1))
    assert untagged == [b"* SEARCH 1"], untagged
    r.close()


def test_highestmodseq_moves_on_expunge(petrel):
    fill(petrel, "Modseq", 3)
    a, b = raw(petrel), raw(petrel)
    ok(a.cmd("ENABLE QRESYNC")[0])
    tagged, untagged = a.cmd("SELECT Modseq")
    h0 = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(untagged)).group(1))
    ok(b.cmd("SELECT Modseq")[0])
    ok(b.cmd(r"STORE 2 +FLAGS.SILENT (\Deleted)")[0])
    ok(b.cmd("EXPUNGE")[0])
    tagged, untagged = b.cmd("STATUS Modseq (HIGHESTMODSEQ)")
    h = int(re.search(rb"HIGHESTMODSEQ (\d+)", untagged[0]).group(1))
    assert h == h0 + 2        # the flag change and the expunge
    # A learns of the expunge, and its HIGHESTMODSEQ moves past it even
    # though only an expunge changed (the EXPUNGE answer tells it).
    tagged, untagged = a.cmd("NOOP")
    assert untagged == [b"* VANISHED 2"], untagged
    tagged, untagged = a.cmd("EXPUNGE")
    assert tagged.endswith(b"OK [HIGHESTMODSEQ %d] Expunge completed." % h), tagged
    tagged, untagged = a.cmd("NOOP")
    assert untagged == [], untagged
    a.close()
    b.close()


def test_condstore_enabled_while_selected(petrel):
    fill(petrel, "Cond", 2)
    r = raw(petrel)
    tagged, untagged = r.cmd("SELECT Cond")
    h = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(untagged)).group(1))
    tagged, untagged = r.cmd("FETCH 1 (FLAGS MODSEQ)")
    ok(tagged)
    assert untagged[0] == b"* OK [HIGHESTMODSEQ %d] Highest" % h, untagged
    assert b"MODSEQ (" in untagged[1], untagged
    tagged, untagged = r.cmd("FETCH 1 (MODSEQ)")
    assert not any(b"HIGHESTMODSEQ" in u for u in untagged), untagged
    # ENABLE CONDSTORE with a mailbox selected tells it too; not twice
    r2 = raw(petrel)
    ok(r2.cmd("SELECT Cond")[0])
    tagged, untagged = r2.cmd("ENABLE CONDSTORE")
    assert untagged == [b"* ENABLED CONDSTORE", b"* OK [HIGHESTMODSEQ %d] Highest" % h], untagged
    tagged, untagged = r2.cmd("STATUS INBOX (HIGHESTMODSEQ)")
    assert len(untagged) == 1, untagged
    r.close()
    r2.close()


def test_copy_move_of_expunged(petrel):
    fill(petrel, "Gone", 3)
    a, b = raw(petrel), raw(petrel)
    ok(a.cmd("SELECT Gone")[0])
    ok(b.cmd("SELECT Gone")[0])
    ok(b.cmd(r"STORE 1:2 +FLAGS.SILENT (\Deleted)")[0])
    ok(b.cmd("EXPUNGE")[0])
    # A still numbers them 1 and 2: nothing is left to copy; the
    # expunges are told before the tagged NO
    tagged, untagged = a.cmd("COPY 1:2 INBOX")
    assert tagged.endswith(b"NO [EXPUNGEISSUED] Some of the requested messages "
                           b"no longer exist."), tagged
    assert untagged == [b"* 2 EXPUNGE", b"* 1 EXPUNGE"], untagged
    # UID MOVE of a UID never in the view stays OK
    tagged, _ = a.cmd("UID MOVE 999 INBOX")
    assert tagged.endswith(b"OK No messages found."), tagged
    ok(b.cmd(r"STORE 1 +FLAGS.SILENT (\Deleted)")[0])
    ok(b.cmd("EXPUNGE")[0])
    tagged, _ = a.cmd("UID MOVE 1:* INBOX")
    assert b"NO [EXPUNGEISSUED]" in tagged, tagged
    a.close()
    b.close()


def test_qresync_seq_match(petrel):
    uids = fill(petrel, "Match", 6)
    r = raw(petrel)
    tagged, untagged = r.cmd("SELECT Match")
    uv = int(re.search(rb"UIDVALIDITY (\d+)", b"\n".join(untagged)).group(1))
    h = int(re.search(rb"HIGHESTMODSEQ (\d+)", b"\n".join(untagged)).group(1))
    # expunge the 2nd and the 5th message
    ok(r.cmd(r"UID STORE %d,%d +FLAGS.SILENT (\Deleted)" % (uids[1], uids[4]))[0])
    ok(r.cmd("EXPUNGE")[0])
    r.close()
    r = raw(petrel)
    ok(r.cmd("ENABLE QRESYNC")[0])
    known = "%d:%d" % (uids[0], uids[5])
    # Without seq-match: every expunged known UID
    tagged, untagged = r.cmd("EXAMINE Match (QRESYNC (%d %d %s))" % (uv, h, known))
    ok(tagged)
    van = [u for u in untagged if u.startswith(b"* VANISHED")]
    assert van == [b"* VANISHED (EARLIER) %d,%d" % (uids[1], uids[4])], untagged
    # A client whose modseq predates both expunges but whose map already
    # lacks uids[1] (seq 2 = uids[2]): that pair still matches, so
    # nothing at or below uids[2] is reported (RFC 7162 3.2.5.2).
    tagged, untagged = r.cmd("EXAMINE Match (QRESYNC (%d %d %s (1,2 %d,%d)))"
                             % (uv, h, known, uids[0], uids[2]))
    ok(tagged)
    van = [u for u in untagged if u.startswith(b"* VANISHED")]
    assert van == [b"* VANISHED (EARLIER) %d" % uids[4]], untagged
    # A pair that no longer matches (seq 3 is uids[3] now) is skipped
    # for the last one that does (seq 1).
    tagged, untagged = r.cmd("EXAMINE Match (QRESYNC (%d %d %s (1,3 %d,%d)))"
                             % (uv, h, known, uids[0], uids[2]))
    ok(tagged)
    van = [u for u in untagged if u.startswith(b"* VANISHED")]
    assert van == [b"* VANISHED (EARLIER) %d,%d" % (uids[1], uids[4])], untagged
    # Sets of different sizes: BAD
    tagged, _ = r.cmd("EXAMINE Match (QRESYNC (%d %d %s (1:3 %d)))" % (uv, h, known, uids[0]))
    assert status(tagged) == b"BAD", tagged
    r.close()


def test_sequence_set_in_empty_mailbox(petrel):
    r = raw(petrel)
    ok(r.cmd("CREATE Void")[0])
    ok(r.cmd("SELECT Void")[0])
    # Dovecot: "BAD Error in IMAP command FETCH: Invalid messageset"
    for cmd in ("FETCH 1:* FLAGS", "FETCH * FLAGS", r"STORE * +FLAGS (\Seen)",
                "COPY * INBOX"):
        tagged, _ = r.cmd(cmd)
        assert status(tagged) == b"BAD" and b"Invalid messageset" in tagged, (cmd, tagged)
    # UID sets never fail (RFC 9051 6.4.9)
    tagged, untagged = r.cmd("UID FETCH * FLAGS")
    assert tagged.endswith(b"OK Fetch completed."), tagged
    assert untagged == [], untagged
    r.close()
