"""Hostile review of the IMAP server against the real daemon: each test is a
bug found in review (or by fuzz_imapd_session) and fixed, checked over a real
socket: SEARCH and SORT in an empty mailbox, APPEND past APPENDLIMIT,
COMPRESS with an update pending, literal data never run as commands,
expunges withheld during FETCH, IDLE with a burst of deliveries. The
fixture's teardown fails on any sanitizer report in the daemon's log."""
import base64
import smtplib
import socket
import time
import zlib

import pytest

from conftest import make_petrel, serve

USER = "bob@example.org"
PASSWORD = "secret-bob@example.org"


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_petrel(tmp_path_factory, limits={
        "max_message_size": "1M",
        "max_connections_per_ip": "200",
    }))


def deliver(p, subject="hello"):
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30) as s:
        s.sendmail("alice@remote.example", [USER],
                   "From: alice@remote.example\r\nTo: %s\r\nSubject: %s\r\n\r\n"
                   "body\r\n" % (USER, subject))


class Raw:
    """A line-level client for exact answers."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        self.buf = b""
        assert self.line().startswith("* OK [CAPABILITY ")

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until(self, tag):
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, tag, text):
        self.send("%s %s\r\n" % (tag, text))
        return self.until(tag)

    def login(self):
        assert self.cmd("l", "LOGIN %s %s" % (USER, PASSWORD))[-1].startswith("l OK")
        return self

    def close(self):
        self.sock.close()


def test_search_sort_in_empty_mailbox(petrel):
    # The view of an empty mailbox was a NULL array that SEARCH and SORT
    # copied with memcpy: UBSan aborted the daemon on "SEARCH ALL".
    r = Raw(petrel.ports["imap"]).login()
    assert r.cmd("a", "CREATE Empty")[-1].startswith("a OK")
    assert r.cmd("b", "SELECT Empty")[-1] == "b OK [READ-WRITE] Select completed."
    assert r.cmd("c", "SEARCH ALL") == ["* SEARCH", "c OK Search completed."]
    assert r.cmd("d", "UID SEARCH RETURN (ALL COUNT) UNSEEN")[-1].startswith("d OK")
    assert r.cmd("e", "SORT (ARRIVAL) UTF-8 ALL")[-1].startswith("e OK")
    assert r.cmd("f", "THREAD REFERENCES UTF-8 ALL")[-1].startswith("f OK")
    assert r.cmd("z", "LOGOUT")[-1] == "z OK Logout completed."
    r.close()
    # The daemon is still there.
    Raw(petrel.ports["imap"]).close()


def test_append_over_appendlimit(petrel):
    r = Raw(petrel.ports["imap"]).login()
    # Past what the parser holds at all: NO [TOOBIG] like one just over
    # the limit (it was a BAD syntax error), and no "+".
    r.send("a APPEND INBOX {4294967296}\r\n")
    assert r.line() == "a NO [TOOBIG] Message too large."
    r.send("b APPEND INBOX (\\Seen) {1048577}\r\n")
    assert r.line() == "b NO [TOOBIG] Message too large."
    assert r.cmd("c", "NOOP")[-1] == "c OK NOOP completed."
    r.close()


def test_refused_literal_data_is_never_a_command(petrel):
    r = Raw(petrel.ports["imap"]).login()
    assert r.cmd("a", "CREATE Victim")[-1].startswith("a OK")
    # A non-synchronizing literal over the line limit is refused; its
    # octets are skipped, not parsed: the DELETE inside never runs.
    payload = b"x DELETE Victim\r\n" * 4200
    r.send(b"b CREATE {%d+}\r\n" % len(payload) + payload + b"\r\n")
    assert r.line().startswith("b BAD ")
    lines = r.cmd("c", "LIST \"\" Victim")
    assert lines[0] == '* LIST (\\HasNoChildren) "/" Victim', lines
    assert lines[-1] == "c OK List completed."
    assert not any(l.startswith("x ") for l in lines)
    r.close()


def test_compress_with_update_pending(petrel):
    # The OK of COMPRESS waited for a sync job when a change of the
    # selected mailbox was pending, and went out compressed.
    r = Raw(petrel.ports["imap"]).login()
    lines = r.cmd("a", "SELECT INBOX")
    assert lines[-1] == "a OK [READ-WRITE] Select completed."
    n = int([l for l in lines if l.endswith(" EXISTS")][0].split()[1])
    deliver(petrel, "while selected")
    petrel.wait_mailbox(USER, n + 1)
    time.sleep(0.3)  # the change feed reaches the session
    r.send("b COMPRESS DEFLATE\r\n")
    assert r.line() == "b OK DEFLATE active"
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    dec = zlib.decompressobj(-15)
    r.sock.sendall(comp.compress(b"c NOOP\r\n") + comp.flush(zlib.Z_SYNC_FLUSH))
    text = b""
    while b"c OK NOOP completed.\r\n" not in text:
        chunk = r.sock.recv(65536)
        assert chunk, text
        text += dec.decompress(chunk)
    assert b"* %d EXISTS\r\n" % (n + 1) in text, text
    r.close()


def test_expunge_withheld_during_fetch(petrel):
    deliver(petrel, "one")
    deliver(petrel, "two")
    a = Raw(petrel.ports["imap"]).login()
    b = Raw(petrel.ports["imap"]).login()
    n = int([l for l in a.cmd("s", "SELECT INBOX") if l.endswith(" EXISTS")][0].split()[1])
    assert n >= 2
    b.cmd("s", "SELECT INBOX")
    assert b.cmd("d", "STORE 1 +FLAGS.SILENT (\\Deleted)")[-1].startswith("d OK")
    assert b.cmd("e", "EXPUNGE")[-2:] == ["* 1 EXPUNGE", "e OK Expunge completed."]
    time.sleep(0.3)
    # A's numbering does not move under FETCH: no EXPUNGE before its OK.
    lines = a.cmd("f", "FETCH 1:* (UID)")
    assert not any(l.endswith(" EXPUNGE") for l in lines), lines
    assert lines[-1].startswith("f OK")
    lines = a.cmd("g", "NOOP")
    assert lines == ["* 1 EXPUNGE", "g OK NOOP completed."], lines
    a.close()
    b.close()


def test_idle_burst_of_deliveries(petrel):
    r = Raw(petrel.ports["imap"]).login()
    lines = r.cmd("s", "SELECT INBOX")
    n = int([l for l in lines if l.endswith(" EXISTS")][0].split()[1])
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    k = 6
    for i in range(k):
        deliver(petrel, "burst %d" % i)
    # Every delivery is told without another one to wake the session.
    deadline = time.time() + 20
    last = n
    r.sock.settimeout(5)
    while last < n + k and time.time() < deadline:
        line = r.line()
        if line.endswith(" EXISTS"):
            last = int(line.split()[1])
    assert last == n + k
    r.send("DONE\r\n")
    assert r.until("i")[-1] == "i OK Idle completed."
    r.close()


def test_authenticate_plain_authzid_and_nul(petrel):
    r = Raw(petrel.ports["imap"])
    # authzid naming someone else is refused; "pass\0junk" never logs in.
    other = base64.b64encode(("admin@example.org\0%s\0%s" % (USER, PASSWORD)).encode())
    r.send(b"a AUTHENTICATE PLAIN " + other + b"\r\n")
    assert r.until("a")[-1].startswith("a NO [AUTHENTICATIONFAILED]")
    junk = base64.b64encode(("\0%s\0%s\0junk" % (USER, PASSWORD)).encode())
    r.send(b"b AUTHENTICATE PLAIN " + junk + b"\r\n")
    assert not r.until("b")[-1].startswith("b OK")
    r.close()
