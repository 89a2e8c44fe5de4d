"""IMAP message commands against the real daemon: APPEND (flags, date,
APPENDUID, bare LF, MULTIAPPEND all-or-nothing, TRYCREATE, OVERQUOTA, zero
bytes), STORE and UID STORE (.SILENT, keywords, UNCHANGEDSINCE/MODIFIED),
COPY and MOVE (COPYUID, TRYCREATE), EXPUNGE and UID EXPUNGE, read-only
mailboxes and invalid message sets. What is stored is checked in the
account's index and message files (conftest Petrel.mailbox), not only
through the protocol."""
import re
import time

import pytest

from conftest import serve
from test_imap_mailboxes import Raw, login, make_imap_petrel

USER = "bob@example.org"
MSG = b"From: a@b.test\r\nSubject: m\r\n\r\nbody\r\n"

SEEN, ANSWERED, FLAGGED, DELETED, DRAFT = 1, 2, 4, 8, 16


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_imap_petrel(tmp_path_factory))


@pytest.fixture
def bob(petrel):
    c = login(petrel)
    yield c
    c.close()


_boxes = iter(range(1, 1000))


@pytest.fixture
def box(bob):
    """A fresh mailbox with three messages, selected."""
    name = "box%d" % next(_boxes)
    bob.ok("CREATE %s" % name)
    for i in range(3):
        bob.ok("APPEND %s {}" % name, [MSG.replace(b"body", b"body %d" % i)])
    bob.ok("SELECT %s" % name)
    return name


def code(tagged):
    m = re.search(rb"\[([^\]]*)\]", tagged)
    return m.group(1).decode() if m else None


def test_append_flags_date_and_appenduid(petrel, bob):
    bob.ok("CREATE ap1")
    _, tagged = bob.ok('APPEND ap1 (\\Seen $Forwarded) "17-Jul-1996 02:44:25 -0700" {}',
                       [MSG])
    m = re.match(rb"t\d+ OK \[APPENDUID (\d+) 1\] Append completed\.$", tagged)
    assert m, tagged
    lines, _ = bob.ok("STATUS ap1 (UIDVALIDITY MESSAGES)")
    assert lines == [b"* STATUS ap1 (MESSAGES 1 UIDVALIDITY %s)" % m.group(1)]
    msgs = petrel.mailbox(USER, "ap1")
    assert [(u, f, b) for u, f, b in msgs] == [(1, SEEN, MSG)]


def test_append_bare_lf_becomes_crlf(petrel, bob):
    bob.ok("CREATE ap2")
    bob.ok("APPEND ap2 {}", [b"Subject: lf\n\nline\r\nlone\rcr\n"])
    (_, _, data), = petrel.mailbox(USER, "ap2")
    assert data == b"Subject: lf\r\n\r\nline\r\nlone\rcr\r\n"


def test_append_literal8(petrel, bob):
    bob.ok("CREATE ap8")
    data = b"Subject: bin\r\nContent-Transfer-Encoding: binary\r\n\r\n\x00\x01\xff\r\n"
    _, tagged = bob.ok("APPEND ap8 {}", [data], binary=True)
    assert b"APPENDUID" in tagged
    assert [b for _, _, b in petrel.mailbox(USER, "ap8")] == [data]


def test_append_refusals(petrel, bob):
    _, tagged = bob.run("APPEND nosuch {}", [MSG])
    assert b"NO [TRYCREATE]" in tagged
    bob.ok("CREATE ap3")
    bob.s.sendall(b"z1 APPEND ap3 {0}\r\n")
    line = bob.readline()
    if line.startswith(b"+"):
        bob.s.sendall(b"\r\n")
        line = bob.readline()
    assert line.startswith(b"z1 NO"), line
    _, tagged = bob.run("APPEND ap3 (\\Bogus) {}", [MSG])
    assert b" BAD " in tagged
    _, tagged = bob.run('APPEND ap3 "31-Feb-2020 00:00:00 +0000" {}', [MSG])
    assert b" BAD " in tagged
    assert petrel.mailbox(USER, "ap3") == []


def test_multiappend_all_or_nothing(petrel, bob):
    bob.ok("CREATE ma")
    _, tagged = bob.ok("APPEND ma (\\Seen) {} (\\Flagged) {} {}",
                       [MSG, b"Subject: 2\r\n\r\nx\r\n", b"Subject: 3\r\n\r\ny\r\n"])
    assert re.search(rb"\[APPENDUID \d+ 1:3\]", tagged), tagged
    assert [f for _, f, _ in petrel.mailbox(USER, "ma")] == [SEEN, FLAGGED, 0]
    # The store refuses the second message's keyword (over 128 octets):
    # the first, already stored in the transaction, is not kept either.
    _, tagged = bob.run("APPEND ma {} (%s) {}" % ("k" * 200), [MSG, MSG])
    assert tagged.split(b" ")[1] == b"NO", tagged
    assert len(petrel.mailbox(USER, "ma")) == 3
    _, tagged = bob.run("APPEND ma {} {} {}", [MSG, b"", MSG])
    assert tagged.split(b" ")[1] == b"NO", tagged
    assert len(petrel.mailbox(USER, "ma")) == 3


def test_append_to_selected_mailbox_shows_exists(bob, box):
    lines, tagged = bob.ok("APPEND %s {}" % box, [MSG])
    assert b"* 4 EXISTS" in lines, lines
    assert b"APPENDUID" in tagged


def test_append_over_quota(petrel):
    petrel.cli("user", "quota", "carol@example.org", "1K")
    c = login(petrel, "carol@example.org")
    try:
        _, tagged = c.run("APPEND INBOX {}", [b"Subject: big\r\n\r\n" + b"x" * 2000])
        assert b"NO [OVERQUOTA]" in tagged
    finally:
        c.close()
        petrel.cli("user", "quota", "carol@example.org", "none")


def test_store_answers(petrel, bob, box):
    lines, tagged = bob.ok("STORE 1 +FLAGS (\\Seen)")
    # bob's rev1 SELECT claimed \\Recent.
    assert lines == [b"* 1 FETCH (FLAGS (\\Seen \\Recent))"], lines
    assert tagged.endswith(b"OK Store completed.")
    lines, _ = bob.ok("STORE 1:2 +FLAGS.SILENT (\\Flagged)")
    assert lines == []
    lines, _ = bob.ok("STORE 2 -FLAGS \\Flagged")
    assert lines == [b"* 2 FETCH (FLAGS (\\Recent))"]
    lines, _ = bob.ok("UID STORE 3 FLAGS (\\Answered $Work)")
    assert lines == [b"* 3 FETCH (FLAGS (\\Answered $Work \\Recent) UID 3)"], lines
    # Nothing changes: nothing to tell.
    lines, _ = bob.ok("STORE 3 +FLAGS (\\Answered)")
    assert lines == []
    # What STORE told is not told again as news at NOOP.
    lines, _ = bob.ok("NOOP")
    assert not any(b"FETCH" in l for l in lines), lines
    assert [f for _, f, _ in petrel.mailbox(USER, box)] == [
        SEEN | FLAGGED, 0, ANSWERED]


def test_store_seen_by_other_session(petrel, bob, box):
    other = login(petrel)
    try:
        other.ok("SELECT %s" % box)
        bob.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        lines, _ = other.ok("NOOP")
        assert any(re.match(rb"\* 2 FETCH \(.*FLAGS \(\\Deleted\)", l)
                   for l in lines), lines
    finally:
        other.close()


def test_store_condstore(bob, box):
    lines, _ = bob.ok("STORE 1 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    lines, tagged = bob.run("STORE 1:2 (UNCHANGEDSINCE 0) +FLAGS (\\Seen)")
    assert code(tagged) == "MODIFIED 1:2", tagged
    lines, tagged = bob.ok("UID STORE 1 (UNCHANGEDSINCE 9223372036854775807) "
                           "+FLAGS.SILENT (\\Seen)")
    # .SILENT with UNCHANGEDSINCE still tells the new MODSEQ.
    assert len(lines) == 1 and re.match(rb"\* 1 FETCH \(UID 1 MODSEQ \(\d+\)\)$",
                                        lines[0]), lines
    modseq = int(re.search(rb"MODSEQ \((\d+)\)", lines[0]).group(1))
    lines, _ = bob.ok("STORE 1 +FLAGS (\\Flagged)")
    m = re.match(rb"\* 1 FETCH \(FLAGS \(([^)]*)\) MODSEQ \((\d+)\)\)$", lines[0])
    assert m and set(m.group(1).split()) == {b"\\Seen", b"\\Flagged",
                                             b"\\Recent"}, lines
    assert int(m.group(2)) > modseq
    lines, tagged = bob.run("UID STORE 1:3 (UNCHANGEDSINCE %d) -FLAGS (\\Seen)" % modseq)
    assert code(tagged) == "MODIFIED 1", tagged
    _, tagged = bob.run("STORE 1 (UNCHANGEDSINCE 99999999999999999999) +FLAGS (\\Seen)")
    assert b" BAD " in tagged


def test_store_refusals(bob, box):
    _, tagged = bob.run("STORE 4 +FLAGS (\\Seen)")
    assert b" BAD " in tagged
    _, tagged = bob.run("STORE 4294967296 +FLAGS (\\Seen)")
    assert b" BAD " in tagged
    _, tagged = bob.run("STORE 1 +FLAGS (\\Recent)")
    assert b" BAD " in tagged
    _, tagged = bob.run("STORE 1 PLUSFLAGS (\\Seen)")
    assert b" BAD " in tagged
    lines, _ = bob.ok("UID STORE 100:200 +FLAGS (\\Seen)")   # no such UIDs
    assert lines == []
    bob.ok("EXAMINE %s" % box)
    _, tagged = bob.run("STORE 1 +FLAGS (\\Seen)")
    assert b"NO [READ-ONLY]" in tagged


def test_copy_and_move(petrel, bob, box):
    bob.ok("CREATE %s-dst" % box)
    bob.ok("STORE 2 +FLAGS.SILENT (\\Flagged $K)")
    _, tagged = bob.ok("COPY 2:3 %s-dst" % box)
    m = re.search(rb"\[COPYUID (\d+) 2:3 1:2\] Copy completed\.$", tagged)
    assert m, tagged
    dst = petrel.mailbox(USER, box + "-dst")
    src = petrel.mailbox(USER, box)
    assert [b for _, _, b in dst] == [b for _, _, b in src[1:]]
    assert dst[0][1] == FLAGGED
    _, tagged = bob.run("COPY 1 nosuch")
    assert b"NO [TRYCREATE]" in tagged
    _, tagged = bob.run("COPY 7 %s-dst" % box)
    assert b" BAD " in tagged
    lines, tagged = bob.ok("MOVE 1 %s-dst" % box)
    assert re.match(rb"\* OK \[COPYUID \d+ 1 3\]", lines[0]), lines
    assert b"* 1 EXPUNGE" in lines
    assert tagged.endswith(b"OK Move completed.")
    lines, tagged = bob.ok("UID MOVE 3 %s-dst" % box)
    assert re.match(rb"\* OK \[COPYUID \d+ 3 4\]", lines[0]), lines
    assert b"* 2 EXPUNGE" in lines
    assert [u for u, _, _ in petrel.mailbox(USER, box)] == [2]
    assert [u for u, _, _ in petrel.mailbox(USER, box + "-dst")] == [1, 2, 3, 4]
    lines, tagged = bob.ok("UID COPY 50:60 %s-dst" % box)
    assert b"COPYUID" not in tagged


def test_copy_into_selected_mailbox_shows_exists(bob, box):
    lines, tagged = bob.ok("COPY 1 %s" % box)
    assert b"* 4 EXISTS" in lines, lines
    assert b"[COPYUID" in tagged


def test_copy_over_quota(petrel):
    c = login(petrel, "carol@example.org")
    c.ok("CREATE cq")
    c.ok("APPEND cq {}", [b"Subject: q\r\n\r\n" + b"y" * 3000])
    c.close()
    # Limits are read at login.
    petrel.cli("user", "quota", "carol@example.org", "4K")
    c = login(petrel, "carol@example.org")
    try:
        c.ok("SELECT cq")
        _, tagged = c.run("COPY 1 INBOX")
        assert b"NO [OVERQUOTA]" in tagged
    finally:
        c.close()
        petrel.cli("user", "quota", "carol@example.org", "none")


def test_expunge(petrel, bob, box):
    bob.ok("STORE 1,3 +FLAGS.SILENT (\\Deleted)")
    lines, tagged = bob.ok("EXPUNGE")
    assert lines == [b"* 3 EXPUNGE", b"* 1 EXPUNGE"] or \
        lines == [b"* 1 EXPUNGE", b"* 2 EXPUNGE"], lines
    assert tagged.endswith(b"OK Expunge completed.")
    assert [u for u, _, _ in petrel.mailbox(USER, box)] == [2]
    lines, _ = bob.ok("EXPUNGE")
    assert lines == []


def test_uid_expunge_only_the_set(petrel, bob, box):
    bob.ok("STORE 1:3 +FLAGS.SILENT (\\Deleted)")
    lines, _ = bob.ok("UID EXPUNGE 2")
    assert lines == [b"* 2 EXPUNGE"], lines
    assert [u for u, _, _ in petrel.mailbox(USER, box)] == [1, 3]
    lines, _ = bob.ok("UID EXPUNGE 10:20")
    assert lines == []
    assert [u for u, _, _ in petrel.mailbox(USER, box)] == [1, 3]


def test_expunge_read_only(petrel, bob, box):
    bob.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    bob.ok("EXAMINE %s" % box)
    _, tagged = bob.run("EXPUNGE")
    assert b"NO [READ-ONLY]" in tagged
    _, tagged = bob.run("MOVE 1 INBOX")
    assert b"NO [READ-ONLY]" in tagged
    assert len(petrel.mailbox(USER, box)) == 3


def test_expunge_seen_by_other_session(petrel, bob, box):
    other = login(petrel)
    try:
        other.ok("SELECT %s" % box)
        bob.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
        bob.ok("EXPUNGE")
        lines, _ = other.ok("NOOP")
        assert b"* 2 EXPUNGE" in lines, lines
    finally:
        other.close()


def test_client_gone_while_commands_run(petrel, box):
    """The client hangs up while its command's store work runs: the
    session frees the work and answers nothing (checked for leaks and
    crashes when the fixture stops the daemon); others go on."""
    big = b"Subject: big\r\n\r\n" + b"z" * 200000 + b"\r\n"
    for cmd in (b"APPEND %s {%d+}\r\n%s\r\n" % (box.encode(), len(big), big),
                b'LIST "" "*" RETURN (STATUS (MESSAGES SIZE))\r\n',
                b"STATUS %s (MESSAGES)\r\n" % box.encode(),
                b"COPY 1:* %s\r\n" % box.encode(),
                b"STORE 1:* +FLAGS (\\Seen)\r\n",
                b"UID EXPUNGE 1:*\r\n"):
        c = login(petrel)
        c.ok("SELECT %s" % box)
        c.s.sendall(b"g1 " + cmd)
        c.s.close()
    c = login(petrel)
    try:
        lines, _ = c.ok("STATUS %s (MESSAGES)" % box)
        assert re.match(rb"\* STATUS box\d+ \(MESSAGES \d+\)$", lines[0])
    finally:
        c.close()
