"""Hostile input over raw sockets, each answered cleanly with the server
and other sessions unaffected: literal sizes checked before the "+",
APPEND over the limit, abandoned APPENDs, NUL bytes, deep nesting, 100k
pipelined commands with bounded memory, path tricks in mailbox names,
numbers past 2^32 and 2^64, commands before login, and logins that must
not tell an unknown user from a wrong password."""
import os
import re
import socket
import statistics
import threading
import time

import pytest

from conftest import serve
from clientlib import (RawIMAP, login, make_imap_petrel, password, quote, status,
                       vm_rss_kib, wait_for)

USER, NUL, VICTIM = "host@example.org", "nul@example.org", "victim@example.org"
LIMIT = 1024 * 1024	# max_message_size, announced as APPENDLIMIT


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    # Under ASan, freed memory waits in a quarantine (256 MiB by default)
    # before reuse, which would hide what the pipelining test measures.
    old = os.environ.get("ASAN_OPTIONS")
    os.environ["ASAN_OPTIONS"] = (old + ":" if old else "") + "quarantine_size_mb=16"
    try:
        yield from serve(make_imap_petrel(
            tmp_path_factory, (USER, NUL, VICTIM),
            limits={"max_message_size": "1M"},
            # Many failed logins on purpose: no lock-out in the middle.
            auth={"max_failures_per_ip": "10000", "max_failures_per_account": "10000"}))
    finally:
        if old is None:
            del os.environ["ASAN_OPTIONS"]
        else:
            os.environ["ASAN_OPTIONS"] = old


def raw(p, user=None, tls=False):
    r = RawIMAP(p.ports["imaps" if tls else "imap"], tls=tls)
    r.greeting()
    if user:
        r.login(user)
    return r


def alive(p):
    """The server still serves: a fresh session logs in and NOOPs."""
    r = raw(p, USER)
    tagged, _ = r.cmd(b"NOOP")
    r.close()
    return status(tagged) == b"OK"


def no_continuation(r, timeout=3):
    """Reads what the server says within timeout; returns it, asserting
    that none of it is a "+" continuation request."""
    r.sock.settimeout(timeout)
    got = []
    try:
        while True:
            line = r.response()
            got.append(line)
            assert not line.startswith(b"+"), got
            if re.match(rb"[a-z]\w* (OK|NO|BAD) ", line):
                break
    except (socket.timeout, EOFError, ConnectionResetError):
        pass
    r.sock.settimeout(30)
    return got


# --- literals -------------------------------------------------------------------

def test_huge_literal_before_login_gets_no_continuation(petrel):
    for lit in (b"{4294967295}", b"{18446744073709551616}", b"{99999999999999999999999}"):
        r = raw(petrel)
        r.send(b"a1 LOGIN " + lit + b"\r\n")
        got = no_continuation(r)
        assert got and re.match(rb"(a1 (BAD|NO)|\* BYE) ", got[-1]), (lit, got)
        r.close()
    # Non-synchronising: the server cannot refuse in advance; it must not
    # wait for 4 GiB either.
    r = raw(petrel)
    r.send(b"a1 LOGIN {4294967295+}\r\nxx\r\n")
    got = no_continuation(r)
    assert got and re.match(rb"(a1 (BAD|NO)|\* BYE) ", got[-1]), got
    r.close()
    assert alive(petrel)


def test_append_over_limit_toobig(petrel):
    before = len(petrel.mailbox(USER))
    r = raw(petrel, USER)
    tagged, untagged = r.cmd(b"CAPABILITY")
    assert b"APPENDLIMIT=%d" % LIMIT in untagged[0], untagged
    r.send(b"a1 APPEND INBOX {%d}\r\n" % (LIMIT + 1))
    got = no_continuation(r)
    assert got[-1].startswith(b"a1 NO [TOOBIG]"), got
    # The session goes on.
    tagged, _ = r.cmd(b"NOOP")
    assert status(tagged) == b"OK"
    # A literal far past any buffer: the same NO [TOOBIG] (RFC 7889 4).
    r.send(b"a2 APPEND INBOX (\\Seen) {4000000000}\r\n")
    got = no_continuation(r)
    assert got[-1].startswith(b"a2 NO [TOOBIG]"), got
    # Just at the limit: accepted.
    body = b"Subject: at limit\r\n\r\n" + b"x" * (LIMIT - 23) + b"\r\n"
    assert len(body) == LIMIT
    r.send(b"a3 APPEND INBOX {%d}\r\n" % len(body))
    assert r.response().startswith(b"+")
    r.send(body + b"\r\n")
    assert status(r.until(b"a3")[-1]) == b"OK"
    r.close()
    assert len(petrel.mailbox(USER)) == before + 1


def test_nonsync_append_over_limit(petrel):
    """LITERAL+ over the limit: NO [TOOBIG] (RFC 7888 4), or BYE and a
    close; never a stored message, and the server stays up."""
    before = len(petrel.mailbox(USER))
    r = raw(petrel, USER)
    r.send(b"a1 APPEND INBOX {%d+}\r\n" % (LIMIT + 1) + b"y" * (LIMIT + 1) + b"\r\n")
    got = no_continuation(r, timeout=10)
    assert got and (got[-1].startswith(b"a1 NO [TOOBIG]") or
                    any(l.startswith(b"* BYE") for l in got)), got[-3:]
    r.close()
    assert len(petrel.mailbox(USER)) == before
    assert alive(petrel)


def msg_files(p, user):
    root = os.path.join(p.data, "accounts", str(p.account_id(user)))
    return sorted(os.path.join(d, f) for d, _, fs in os.walk(root) for f in fs
                  if "index.db" not in f and not f.endswith(".lock"))


def test_abandoned_append_leaves_nothing(petrel):
    before, files = len(petrel.mailbox(VICTIM)), msg_files(petrel, VICTIM)
    for sync in (True, False):
        r = raw(petrel, VICTIM)
        if sync:
            r.send(b"a1 APPEND INBOX {200000}\r\n")
            assert r.response().startswith(b"+")
            r.send(b"Subject: half\r\n\r\n" + b"z" * 100000)
        else:
            r.send(b"a1 APPEND INBOX {200000+}\r\nSubject: half\r\n\r\n" + b"z" * 100000)
        time.sleep(0.2)
        r.sock.shutdown(socket.SHUT_RDWR)
        r.close()
    # MULTIAPPEND-style (RFC 3502): one complete literal, then a second
    # one dropped: the command never completed, so neither is stored.
    r = raw(petrel, VICTIM)
    r.send(b"a2 APPEND INBOX {10+}\r\nSubject: 1 {50000+}\r\nSubject: 2\r\n\r\n")
    time.sleep(0.2)
    r.close()
    time.sleep(0.5)
    assert alive(petrel)
    assert len(petrel.mailbox(VICTIM)) == before
    assert msg_files(petrel, VICTIM) == files


# --- NUL bytes ------------------------------------------------------------------

def test_nul_in_password_never_logs_in(petrel):
    pw = password(NUL).encode()
    cases = [
        b'a1 LOGIN "%s" "%s\x00junk"\r\n' % (NUL.encode(), pw),
        b'a1 LOGIN %s {%d}\r\n' % (NUL.encode(), len(pw) + 5),	# literal, below
        b'a1 LOGIN "%s" "%s\x00"\r\n' % (NUL.encode(), pw),
    ]
    for i, case in enumerate(cases):
        r = raw(petrel)
        r.send(case)
        if i == 1:
            first = r.response()
            if first.startswith(b"+"):
                r.send(pw + b"\x00junk\r\n")
                got = r.until(b"a1")
            else:
                got = [first]
        else:
            got = no_continuation(r)
        assert got and re.match(rb"a1 (NO|BAD) ", got[-1]), (case, got)
        # Still not logged in.
        tagged, _ = r.cmd(b"SELECT INBOX")
        assert status(tagged) in (b"NO", b"BAD"), tagged
        r.close()
    # SASL PLAIN with junk after a NUL in the password (authzid NUL authcid
    # NUL password NUL junk).
    import base64
    for blob in (b"\x00%s\x00%s\x00junk" % (NUL.encode(), pw),
                 b"\x00%s\x00%s\x00" % (NUL.encode(), pw)):
        r = raw(petrel)
        tagged, _ = r.cmd(b"AUTHENTICATE PLAIN " + base64.b64encode(blob))
        assert status(tagged) in (b"NO", b"BAD"), (blob, tagged)
        r.close()
    # The real password works (the account is not locked by the above).
    r = raw(petrel)
    tagged, _ = r.cmd(b"LOGIN " + quote(NUL) + b" " + quote(pw))
    assert status(tagged) == b"OK", tagged
    r.close()


def test_nul_in_strings_and_mailbox_names(petrel):
    r = raw(petrel, USER)
    for cmd in (b'CREATE "nul\x00box"', b'SELECT "INBOX\x00junk"',
                b'SEARCH SUBJECT "a\x00b"', b'STATUS "IN\x00BOX" (MESSAGES)'):
        tagged, _ = r.cmd(cmd)
        assert status(tagged) in (b"BAD", b"NO"), (cmd, tagged)
    # In a literal.
    r.send(b"a9 CREATE {7}\r\n")
    first = r.response()
    if first.startswith(b"+"):
        r.send(b"nul\x00box\r\n")
        tagged = r.until(b"a9")[-1]
    else:
        tagged = first
    assert status(tagged) in (b"BAD", b"NO"), tagged
    tagged, untagged = r.cmd(b'LIST "" "*"')
    assert not any(b"nul" in l for l in untagged), untagged
    r.close()


# --- nesting and floods -----------------------------------------------------------

def test_deep_nesting_is_bad(petrel):
    r = raw(petrel, USER)
    r.cmd(b"SELECT INBOX")
    deep = [b"FETCH 1 " + b"(" * 10000 + b"FLAGS" + b")" * 10000,
            b"SEARCH " + b"NOT " * 10000 + b"ALL",
            b"SEARCH " + b"(" * 10000 + b"ALL" + b")" * 10000,
            b"SEARCH " + b"OR ALL " * 5000 + b"ALL",
            b"STORE 1 +FLAGS " + b"(" * 10000 + b")" * 10000]
    for cmd in deep:
        tagged, _ = r.cmd(cmd)
        assert status(tagged) == b"BAD", (cmd[:40], tagged)
    tagged, _ = r.cmd(b"NOOP")
    assert status(tagged) == b"OK"
    r.close()
    assert alive(petrel)


def test_100k_pipelined_noops_bounded_memory(petrel):
    """100k NOOPs written at once while the client does not read for a
    while (the server must stop reading rather than queue its answers),
    then every answer read. The RSS growth is bounded generously (ASan's
    quarantine keeps freed memory for a while)."""
    pid = petrel.proc.pid
    r = raw(petrel, USER)
    r.cmd(b"SELECT INBOX")
    rss0 = vm_rss_kib(pid)
    n = 100_000
    data = b"".join(b"n%d NOOP\r\n" % i for i in range(n))
    sent = {}

    def writer():
        try:
            r.sock.sendall(data)
            sent["ok"] = True
        except OSError as e:
            sent["error"] = e

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(2)	# not reading: the server's output backs up
    rss_peak = vm_rss_kib(pid)
    r.sock.settimeout(60)
    last, count = None, 0
    while last != b"n%d" % (n - 1):
        line = r.response()
        if line.startswith(b"n"):
            tag, st = line.split(b" ")[:2]
            assert st == b"OK", line
            count += 1
            last = tag
    t.join(60)
    assert sent.get("ok"), sent
    assert count == n
    rss_peak = max(rss_peak, vm_rss_kib(pid))
    print("\nRSS before %d KiB, peak %d KiB, after %d KiB"
          % (rss0, rss_peak, vm_rss_kib(pid)))
    assert rss_peak - rss0 < 64 * 1024, (rss0, rss_peak)
    tagged, _ = r.cmd(b"NOOP")
    assert status(tagged) == b"OK"
    r.close()


# --- mailbox names and paths ----------------------------------------------------------

def tree(root):
    out = set()
    for d, dirs, files in os.walk(root):
        for f in dirs + files:
            out.add(os.path.relpath(os.path.join(d, f), root))
    return out


def test_hostile_mailbox_names(petrel):
    p = petrel
    top = os.path.dirname(p.data)
    before = tree(top)
    assert not os.path.exists("/abs")
    names = [b'"../x"', b'"../../x"', b'"/abs"', b'"INBOX/../../x"', b'"a/../../b"',
             b'"&Jjo"', b'"a&b"', b'"&AGE-"', b'"&-&"', b'"&ZeVnLIqe"', b'"&2D0-"', b'"&3AA-"',
             b'"\xff\xfe"', b'"a\r"',
             b'"' + b"/".join([b"d"] * 300) + b'"', b'"' + b"x" * 5000 + b'"']
    r = raw(p, USER)
    wrong = []
    for name in names:
        for verb in (b"CREATE", b"RENAME INBOX", b"SELECT", b"APPEND"):
            cmd = verb + b" " + name
            if verb == b"APPEND":
                cmd += b" {3+}\r\nx\r\n"
            tagged, _ = r.cmd(cmd)
            if status(tagged) not in (b"NO", b"BAD"):
                wrong.append((cmd[:60], tagged))
    assert wrong == []
    tagged, untagged = r.cmd(b'LIST "" "*"')
    listed = b"\n".join(untagged)
    for bad in (b"..", b"abs", b"&Jjo", b"d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d/d"):
        assert bad not in listed, (bad, untagged)
    r.close()
    # Nothing new on disk outside the accounts' stores (databases' WAL
    # side files aside).
    new = {f for f in tree(top) - before
           if not f.startswith(os.path.join(os.path.basename(p.data), "accounts") + os.sep)
           and not f.endswith(("-wal", "-shm", "-journal"))}
    assert new == set(), new
    assert not os.path.exists("/abs")


# --- numbers ----------------------------------------------------------------------------

def test_numbers_past_32_and_64_bits(petrel):
    r = raw(petrel, USER)
    c = login(petrel, USER)
    c.append("INBOX", None, None, b"Subject: n\r\n\r\nn\r\n")
    c.logout()
    r.cmd(b"SELECT INBOX")
    big32, big64 = b"4294967296", b"18446744073709551616"
    cmds = [b"FETCH " + big32 + b" FLAGS", b"FETCH 1:" + big32 + b" FLAGS",
            b"UID FETCH " + big32 + b" FLAGS", b"UID FETCH 1:" + big64 + b" FLAGS",
            b"FETCH " + big64 + b" FLAGS", b"STORE " + big32 + b" +FLAGS (\\Seen)",
            b"UID STORE 1," + big32 + b" +FLAGS (\\Seen)", b"COPY " + big32 + b" INBOX",
            b"SEARCH UID 1:" + big32, b"SEARCH " + big64,
            b"FETCH 1 BODY.PEEK[]<0." + big32 + b">", b"FETCH 1 BODY.PEEK[]<" + big32 + b".1>",
            b"FETCH 1 BODY.PEEK[]<" + big64 + b".1>", b"FETCH 1 BINARY.PEEK[1]<0." + big64 + b">",
            b"FETCH 1 (FLAGS) (CHANGEDSINCE " + big64 + b")",
            b"SEARCH MODSEQ " + big64, b"STORE 1 (UNCHANGEDSINCE " + big64 + b") +FLAGS (\\Seen)",
            b"SEARCH LARGER " + big64, b"SEARCH SMALLER " + big64,
            b"SEARCH LARGER 9223372036854775808",	# number64 stops at 2^63 - 1
            b"SEARCH LARGER 99999999999999999999999999"]
    wrong = []
    for i, cmd in enumerate(cmds):
        if i and i % 10 == 0:	# the server closes after max_errors (20)
            r.close()
            r = raw(petrel, USER)
            r.cmd(b"SELECT INBOX")
        tagged, untagged = r.cmd(cmd)
        if status(tagged) != b"BAD":
            wrong.append((cmd, tagged, untagged[:3]))
    assert wrong == []
    # RFC 9051 made LARGER and SMALLER number64: past 2^32 is a size.
    tagged, untagged = r.cmd(b"SEARCH LARGER " + big32)
    assert status(tagged) == b"OK" and untagged == [b"* SEARCH"], (tagged, untagged)
    tagged, _ = r.cmd(b"NOOP")
    assert status(tagged) == b"OK"
    r.close()


# --- before login ------------------------------------------------------------------------

def test_commands_before_login(petrel):
    """Each on a new connection: a server may close after a few errors."""
    wrong = []
    for cmd in (b"SELECT INBOX", b"EXAMINE INBOX", b"CREATE x", b"DELETE INBOX",
                b"RENAME INBOX x", b"SUBSCRIBE INBOX", b'LIST "" "*"', b'LSUB "" "*"',
                b"STATUS INBOX (MESSAGES)", b"FETCH 1 FLAGS", b"UID FETCH 1 FLAGS",
                b"STORE 1 +FLAGS (\\Seen)", b"SEARCH ALL", b"EXPUNGE", b"CLOSE",
                b"UNSELECT", b"IDLE", b"NAMESPACE", b"GETQUOTAROOT INBOX",
                b"ENABLE CONDSTORE", b"COPY 1 INBOX", b"MOVE 1 INBOX", b"CHECK",
                b"COMPRESS DEFLATE", b"SORT (DATE) UTF-8 ALL", b"APPEND INBOX {3+}\r\nabc"):
        r = raw(petrel)
        try:
            tagged, untagged = r.cmd(cmd)
        except EOFError as e:
            tagged, untagged = b"(closed)", [repr(e).encode()]
        if status(tagged) not in (b"BAD", b"NO") or \
                any(re.match(rb"\* \d+ EXISTS", l) for l in untagged):
            wrong.append((cmd, tagged, untagged[:2]))
        r.close()
    assert wrong == []
    r = raw(petrel)
    for cmd in (b"CAPABILITY", b"NOOP", b'ID NIL'):
        tagged, _ = r.cmd(cmd)
        assert status(tagged) == b"OK", (cmd, tagged)
    tagged, _ = r.cmd(b"LOGOUT")
    assert status(tagged) == b"OK"
    r.close()


def test_unknown_user_and_wrong_password_alike(petrel):
    """Same tagged text, and timing within a loose bound: the server checks
    unknown users against a dummy hash."""
    def attempt(user, pw):
        r = raw(petrel)
        t0 = time.monotonic()
        tagged, _ = r.cmd(b"LOGIN " + quote(user) + b" " + quote(pw))
        took = time.monotonic() - t0
        r.close()
        return tagged.split(b" ", 1)[1], took

    wrong, unknown = [], []
    for i in range(4):
        wrong.append(attempt(VICTIM, "not-the-password-%d" % i))
        unknown.append(attempt("nobody%d@example.org" % i, "not-the-password-%d" % i))
        unknown.append(attempt("x%d@unknown-domain.test" % i, "whatever"))
    texts = {t for t, _ in wrong + unknown}
    assert len(texts) == 1, texts
    assert next(iter(texts)).startswith(b"NO "), texts
    w = statistics.median(s for _, s in wrong)
    u = statistics.median(s for _, s in unknown)
    print("\nfailed LOGIN: wrong password median %.0f ms, unknown user %.0f ms"
          % (w * 1000, u * 1000))
    assert abs(w - u) < 0.5 * max(w, u) + 0.05, (w, u)
    # And AUTHENTICATE PLAIN answers alike too.
    import base64
    r = raw(petrel)
    t1, _ = r.cmd(b"AUTHENTICATE PLAIN " + base64.b64encode(b"\x00%s\x00bad" % VICTIM.encode()))
    t2, _ = r.cmd(b"AUTHENTICATE PLAIN " + base64.b64encode(b"\x00ghost@example.org\x00bad"))
    assert t1.split(b" ", 1)[1] == t2.split(b" ", 1)[1], (t1, t2)
    r.close()
    assert wait_for(lambda: alive(petrel))


def test_starttls_injection_discarded(petrel):
    """Commands pipelined after STARTTLS in the same packet are dropped,
    not run inside the TLS session (the STARTTLS command injection class,
    CVE-2011-0411 in Postfix, CVE-2021-33515 in Dovecot)."""
    r = raw(petrel)
    r.send(b"a1 STARTTLS\r\na2 LOGIN " + quote(USER) + b" " + quote(password(USER)) +
           b"\r\n")
    tagged = r.until(b"a1")[-1]
    assert status(tagged) == b"OK", tagged
    r.start_tls()
    # Not logged in: the injected LOGIN never ran.
    tagged, _ = r.cmd(b"SELECT INBOX")
    assert status(tagged) in (b"NO", b"BAD"), tagged
    tagged, _ = r.cmd(b"LOGIN " + quote(USER) + b" " + quote(password(USER)))
    assert status(tagged) == b"OK", tagged
    r.close()
