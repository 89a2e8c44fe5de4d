"""Several sessions on one mailbox: each sees the others' new messages
(EXISTS), flag changes (FETCH FLAGS) and expunges (EXPUNGE) at NOOP and
during IDLE, never an EXPUNGE during a non-UID FETCH/STORE/SEARCH (RFC 9051
7.5.1), and sequence numbers that stay consistent; IDLE woken by an SMTP
delivery shortly after the message is in the store."""
import os
import re
import smtplib
import sqlite3
import threading
import time

import pytest

from conftest import serve
from clientlib import RawIMAP, append, login, make_imap_petrel, status

USER, IDLER = "conc@example.org", "idler@example.org"


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_imap_petrel(tmp_path_factory, (USER, IDLER)))


def msg(n):
    return b"Subject: c%d\r\n\r\nbody %d\r\n" % (n, n)


def fresh_mailbox(p, name, count):
    """A new mailbox with count messages; returns its UIDs."""
    c = login(p, USER)
    assert c.create(name)[0] == "OK"
    uids = [append(c, name, msg(i)) for i in range(count)]
    c.logout()
    return uids


def selected(p, name):
    r = RawIMAP(p.ports["imap"])
    r.greeting()
    r.login(USER)
    tagged, untagged = r.cmd(b"SELECT " + name.encode())
    assert status(tagged) == b"OK", tagged
    return r, untagged


def apply_expunges(uids, responses):
    """A client's view after untagged EXPUNGEs (each renumbers the rest)."""
    uids = list(uids)
    for line in responses:
        m = re.match(rb"\* (\d+) EXPUNGE$", line)
        if m:
            del uids[int(m.group(1)) - 1]
    return uids


def exists_in(responses):
    found = [int(m.group(1)) for m in (re.match(rb"\* (\d+) EXISTS$", l) for l in responses)
             if m]
    return found[-1] if found else None


def fetch_uids(r):
    tagged, untagged = r.cmd(b"FETCH 1:* (UID)")
    assert status(tagged) == b"OK", tagged
    return [int(re.search(rb"UID (\d+)", l).group(1)) for l in untagged if b" FETCH " in l]


def read_until(r, pred, timeout):
    """Untagged responses read until pred(responses) holds (or timeout)."""
    r.sock.settimeout(timeout)
    out, end = [], time.monotonic() + timeout
    while not pred(out) and time.monotonic() < end:
        r.sock.settimeout(max(0.01, end - time.monotonic()))
        try:
            out.append(r.response())
        except OSError:
            break
    r.sock.settimeout(30)
    return out


def test_noop_sees_exists_flags_expunge(petrel):
    uids = fresh_mailbox(petrel, "Shared1", 5)
    a, untagged = selected(petrel, "Shared1")
    assert exists_in(untagged) == 5
    b = login(petrel, USER)
    b.select("Shared1")

    # New message from another session: EXISTS at NOOP.
    new_uid = append(b, "Shared1", msg(99))
    tagged, untagged = a.cmd(b"NOOP")
    assert status(tagged) == b"OK"
    assert exists_in(untagged) == 6, untagged
    uids.append(new_uid)

    # A flag change: FETCH FLAGS for that message at NOOP.
    b.uid("STORE", str(uids[2]), "+FLAGS", r"(\Flagged)")
    tagged, untagged = a.cmd(b"NOOP")
    flag_lines = [l for l in untagged if re.match(rb"\* 3 FETCH \(.*FLAGS \(", l)]
    assert flag_lines and b"\\Flagged" in flag_lines[0], untagged

    # Expunges of messages 2 and 4 (UIDs): renumbered EXPUNGEs at NOOP.
    b.uid("STORE", "%d,%d" % (uids[1], uids[3]), "+FLAGS.SILENT", r"(\Deleted)")
    assert b.expunge()[0] == "OK"
    # Not during a non-UID FETCH (RFC 9051 7.5.1).
    tagged, untagged = a.cmd(b"FETCH 1:* (FLAGS)")
    assert status(tagged) == b"OK"
    assert not any(l.endswith(b" EXPUNGE") for l in untagged), untagged
    tagged, untagged = a.cmd(b"NOOP")
    view = apply_expunges(uids, untagged)
    assert view == [uids[0], uids[2], uids[4], uids[5]], untagged
    # The session's sequence numbers now match the server's.
    assert fetch_uids(a) == view
    tagged, untagged = a.cmd(b"SEARCH ALL")
    assert untagged == [b"* SEARCH 1 2 3 4"], untagged
    b.logout()
    a.cmd(b"LOGOUT")
    a.close()


def test_idle_sees_other_sessions(petrel):
    uids = fresh_mailbox(petrel, "Shared2", 3)
    a, _ = selected(petrel, "Shared2")
    a.send(b"i1 IDLE\r\n")
    assert a.response().startswith(b"+ ")
    b = login(petrel, USER)
    b.select("Shared2")

    uids.append(append(b, "Shared2", msg(7)))
    got = read_until(a, lambda out: exists_in(out) == 4, 5)
    assert exists_in(got) == 4, got

    b.uid("STORE", str(uids[0]), "+FLAGS", r"(\Seen $Work)")
    got = read_until(a, lambda out: any(re.match(rb"\* 1 FETCH", l) for l in out), 5)
    line = next(l for l in got if re.match(rb"\* 1 FETCH", l))
    assert b"\\Seen" in line and b"$Work" in line, got

    b.uid("STORE", str(uids[1]), "+FLAGS.SILENT", r"(\Deleted)")
    b.expunge()
    got = read_until(a, lambda out: any(l.endswith(b"EXPUNGE") for l in out), 5)
    assert b"* 2 EXPUNGE" in got, got
    a.send(b"DONE\r\n")
    rest = a.until(b"i1")
    assert status(rest[-1]) == b"OK", rest
    assert fetch_uids(a) == [uids[0], uids[2], uids[3]]
    b.logout()
    a.close()


def test_two_sessions_store_same_message(petrel):
    """Concurrent STOREs from two sessions: both end up applied, and each
    session learns the other's (FETCH FLAGS at its next command)."""
    uids = fresh_mailbox(petrel, "Shared3", 1)
    a, _ = selected(petrel, "Shared3")
    c, _ = selected(petrel, "Shared3")
    a.send(b"s1 UID STORE %d +FLAGS (\\Answered)\r\n" % uids[0])
    c.send(b"s2 UID STORE %d +FLAGS (\\Flagged)\r\n" % uids[0])
    assert status(a.until(b"s1")[-1]) == b"OK"
    assert status(c.until(b"s2")[-1]) == b"OK"
    for r in (a, c):
        tagged, untagged = r.cmd(b"FETCH 1 (FLAGS)")
        line = next(l for l in untagged if l.startswith(b"* 1 FETCH"))
        assert b"\\Answered" in line and b"\\Flagged" in line, untagged
    a.close()
    c.close()


def test_idle_woken_by_smtp_delivery(petrel):
    """The time from the message being in the store (its row committed in
    index.db, polled every millisecond) to the untagged EXISTS reaching a
    client in IDLE. The issue's target is 100 ms; asserted under 1 s so a
    loaded CI machine does not fail it; the measured value is printed."""
    p = petrel
    r = RawIMAP(p.ports["imap"])
    r.greeting()
    r.login(IDLER)
    tagged, untagged = r.cmd(b"SELECT INBOX")
    before = exists_in(untagged)
    path = os.path.join(p.data, "accounts", str(p.account_id(IDLER)), "index.db")
    db = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10,
                         check_same_thread=False)
    q = ("SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox_id"
         " WHERE b.name = 'INBOX'")
    assert db.execute(q).fetchone()[0] == before
    r.send(b"i1 IDLE\r\n")
    assert r.response().startswith(b"+ ")

    seen = {}

    def watch_store():
        end = time.monotonic() + 20
        while time.monotonic() < end:
            if db.execute(q).fetchone()[0] > before:
                seen["store"] = time.monotonic()
                return
            time.sleep(0.001)

    def watch_idle():
        r.sock.settimeout(20)
        try:
            while True:
                line = r.response()
                if line.endswith(b" EXISTS"):
                    seen["exists"] = time.monotonic()
                    seen["line"] = line
                    return
        except OSError:
            return

    threads = [threading.Thread(target=watch_store), threading.Thread(target=watch_idle)]
    for t in threads:
        t.start()
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30) as s:
        s.sendmail("alice@sender.test", [IDLER], b"Subject: wake up\r\n\r\nnow\r\n")
    for t in threads:
        t.join(30)
    db.close()
    assert "store" in seen and "exists" in seen, (seen, p.read_log()[-2000:])
    assert seen["line"] == b"* %d EXISTS" % (before + 1)
    delay = seen["exists"] - seen["store"]
    print("\nIDLE wake-up after the store commit: %.1f ms" % (delay * 1000))
    assert delay < 1.0, delay
    r.send(b"DONE\r\n")
    assert status(r.until(b"i1")[-1]) == b"OK"
    r.close()


def test_condstore_and_qresync_sessions(petrel):
    """With CONDSTORE enabled another session's flag change comes with its
    MODSEQ (RFC 7162 3.1.4.1 wants it unsolicited with MODSEQ); with
    QRESYNC, expunges come as VANISHED, not EXPUNGE (RFC 7162 3.2.10)."""
    uids = fresh_mailbox(petrel, "Shared4", 3)
    a, _ = selected(petrel, "Shared4")
    r = RawIMAP(petrel.ports["imap"])
    r.greeting()
    r.login(USER)
    tagged, untagged = r.cmd(b"ENABLE QRESYNC")
    assert status(tagged) == b"OK" and any(b"QRESYNC" in l for l in untagged), untagged
    tagged, untagged = r.cmd(b"SELECT Shared4")
    assert status(tagged) == b"OK"
    modseq = int(next(re.search(rb"HIGHESTMODSEQ (\d+)", l).group(1) for l in untagged
                      if b"HIGHESTMODSEQ" in l))
    b = login(petrel, USER)
    b.select("Shared4")
    b.uid("STORE", str(uids[1]), "+FLAGS.SILENT", r"(\Answered)")
    tagged, untagged = r.cmd(b"NOOP")
    line = next(l for l in untagged if re.match(rb"\* 2 FETCH", l))
    m = re.search(rb"MODSEQ \((\d+)\)", line)
    assert m and int(m.group(1)) > modseq, untagged
    assert re.search(rb"UID %d\b" % uids[1], line) and b"\\Answered" in line, line
    b.uid("STORE", str(uids[0]), "+FLAGS.SILENT", r"(\Deleted)")
    b.expunge()
    tagged, untagged = r.cmd(b"NOOP")
    assert b"* VANISHED %d" % uids[0] in untagged, untagged
    assert not any(l.endswith(b" EXPUNGE") for l in untagged), untagged
    # The session without QRESYNC gets plain EXPUNGE.
    tagged, untagged = a.cmd(b"NOOP")
    assert b"* 1 EXPUNGE" in untagged, untagged
    b.logout()
    r.close()
    a.close()


def test_fetch_of_message_expunged_elsewhere(petrel):
    """RFC 9051 5.5: a session may still name a message another session
    expunged until it is told; a non-UID FETCH or STORE of it is answered
    (with the data or NO), never BAD or a broken connection, and no
    EXPUNGE comes during it; the next NOOP reports the expunge."""
    uids = fresh_mailbox(petrel, "Shared5", 3)
    a, _ = selected(petrel, "Shared5")
    b = login(petrel, USER)
    b.select("Shared5")
    b.uid("STORE", str(uids[1]), "+FLAGS.SILENT", r"(\Deleted)")
    b.expunge()
    b.logout()
    tagged, untagged = a.cmd(b"FETCH 2 (UID BODY.PEEK[])")
    assert status(tagged) in (b"OK", b"NO"), tagged
    assert not any(l.endswith(b" EXPUNGE") for l in untagged), untagged
    for l in untagged:
        if l.startswith(b"* 2 FETCH"):
            assert b"UID %d" % uids[1] in l and b"body 1" in l, l
    tagged, untagged = a.cmd(b"STORE 2 +FLAGS (\\Seen)")
    assert status(tagged) in (b"OK", b"NO"), tagged
    assert not any(l.endswith(b" EXPUNGE") for l in untagged), untagged
    # The neighbours are untouched and correctly numbered.
    tagged, untagged = a.cmd(b"FETCH 3 (UID)")
    assert status(tagged) == b"OK" and b"UID %d" % uids[2] in untagged[0], untagged
    tagged, untagged = a.cmd(b"NOOP")
    assert b"* 2 EXPUNGE" in untagged, untagged
    assert fetch_uids(a) == [uids[0], uids[2]]
    a.close()
