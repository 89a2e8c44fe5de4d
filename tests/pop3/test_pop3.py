"""POP3 over real sockets against the real daemon: poplib, raw bytes and
fetchmail. Mail gets into the mailbox the way it does in production:
SMTP, the queue, local delivery (pop3lib.send waits for it)."""
import base64
import os
import poplib
import re
import shutil
import subprocess
import time

import pytest

from conftest import serve
from pop3lib import (PASSWORD, USER, RawPOP3, clear_mailbox, client_tls,
                     login, make_pop3_petrel, send, stat, strip_received,
                     unstuff)

MSG = (b"From: Alice <alice@sender.test>\r\n"
       b"To: Bob <bob@example.org>\r\n"
       b"Subject: %s\r\n"
       b"\r\n"
       b"Line one.\r\n"
       b".\r\n"
       b"..two dots stay two\r\n"
       b".leading dot\r\n"
       b"\xc3\xa9t\xc3\xa9 in 8-bit\r\n"
       b"last line\r\n")


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_pop3_petrel(tmp_path_factory,
                                      limits={"max_message_size": "8M"}))


@pytest.fixture
def empty(petrel):
    clear_mailbox(petrel)
    return petrel


def capa(c):
    return {k: v for k, v in c.capa().items()}


def test_greeting_and_capa(petrel):
    c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
    assert c.getwelcome() == b"+OK petrel ready."
    caps = capa(c)
    for k in ("TOP", "UIDL", "RESP-CODES", "AUTH-RESP-CODE", "PIPELINING",
              "USER", "STLS"):
        assert k in caps, caps
    assert caps["SASL"] == ["PLAIN"]
    assert caps["IMPLEMENTATION"] == ["petrel"]
    c.user(USER)
    c.pass_(PASSWORD)
    caps = capa(c)
    assert "USER" not in caps and "SASL" not in caps and "STLS" not in caps
    assert "UIDL" in caps and "TOP" in caps
    c.quit()


def test_retr_byte_identical(empty):
    body = MSG % b"retr"
    send(empty, body)
    # An 8-bit message without a final CRLF: SMTP's end of data adds it.
    body2 = b"Subject: no crlf\r\n\r\n\xff\xfe binary-ish line"
    send(empty, body2)
    c = login(empty)
    count, size = c.stat()
    assert count == 2
    resp, lines, octets = c.retr(1)
    data = b"\r\n".join(lines) + b"\r\n"
    assert strip_received(data) == body
    assert octets >= len(data)
    assert resp == b"+OK %d octets" % len(data)
    resp, lines, _ = c.retr(2)
    assert strip_received(b"\r\n".join(lines) + b"\r\n") == body2 + b"\r\n"
    # LIST sizes are the exact octet counts RETR sends.
    _, listing, _ = c.list()
    sizes = [int(l.split()[1]) for l in listing]
    assert sizes[0] == len(data)
    assert sum(sizes) == size
    c.quit()


def test_retr_raw_dot_stuffing(empty):
    body = MSG % b"raw"
    send(empty, body)
    r = RawPOP3(empty.ports["pop3"])
    assert r.line() == b"+OK petrel ready."
    r.send(b"USER %s\r\nPASS %s\r\nRETR 1\r\nQUIT\r\n" % (USER.encode(),
                                                         PASSWORD.encode()))
    assert r.line() == b"+OK"
    assert r.line() == b"+OK Logged in."
    assert r.line().startswith(b"+OK ")
    raw = r.multi_raw()
    # On the wire every line starting with '.' carries one more.
    assert b"\r\n..\r\n...two dots stay two\r\n..leading dot\r\n" in raw
    assert strip_received(unstuff(raw)) == body
    assert r.line() == b"+OK Logging out."
    r.close()


def test_large_message(empty):
    line = b"0123456789" * 9 + b"\r\n"
    body = (b"Subject: five megabytes\r\n\r\n" +
            b"".join(b"." + line if i % 5 == 0 else line
                     for i in range(5 * 1024 * 1024 // len(line))))
    assert len(body) > 5 * 1024 * 1024
    send(empty, body)
    c = login(empty)
    _, lines, _ = c.retr(1)
    assert strip_received(b"\r\n".join(lines) + b"\r\n") == body
    c.quit()


def test_top(empty):
    body = (b"Subject: top\r\nX-Test: yes\r\n\r\n"
            b"b1\r\n.b2\r\nb3\r\nb4\r\nb5\r\n")
    send(empty, body)
    c = login(empty)
    _, lines, _ = c.top(1, 0)
    data = b"\r\n".join(lines) + b"\r\n"
    assert data.endswith(b"Subject: top\r\nX-Test: yes\r\n\r\n")
    _, lines, _ = c.top(1, 3)
    data = b"\r\n".join(lines) + b"\r\n"
    assert data.endswith(b"X-Test: yes\r\n\r\nb1\r\n.b2\r\nb3\r\n")
    c.quit()


def test_uidl_stable_across_restart(empty):
    send(empty, MSG % b"u1")
    send(empty, MSG % b"u2")
    c = login(empty)
    _, before, _ = c.uidl()
    one = c.uidl(2)
    c.quit()
    assert len(before) == 2
    uids = [l.split()[1] for l in before]
    assert len(set(uids)) == 2
    for u in uids:
        assert 1 <= len(u) <= 70 and all(0x21 <= b <= 0x7e for b in u)
    assert one == b"+OK 2 " + uids[1]
    assert empty.stop() == 0
    empty.start()
    empty.wait_port(empty.ports["pop3"])
    c = login(empty)
    _, after, _ = c.uidl()
    c.quit()
    assert after == before


def test_dele_quit_removes(empty):
    send(empty, MSG % b"d1")
    send(empty, MSG % b"d2")
    c = login(empty)
    assert c.dele(1) == b"+OK Marked to be deleted."
    with pytest.raises(poplib.error_proto, match="deleted"):
        c.retr(1)
    assert c.stat()[0] == 1
    assert c.quit() == b"+OK Logging out, messages deleted."
    assert stat(empty)[0] == 1


def test_dele_rset_keeps(empty):
    send(empty, MSG % b"r1")
    c = login(empty)
    c.dele(1)
    c.rset()
    assert c.quit() == b"+OK Logging out."
    assert stat(empty)[0] == 1


def test_dele_dropped_connection_keeps(empty):
    send(empty, MSG % b"x1")
    c = login(empty)
    c.dele(1)
    c.sock.close()              # no QUIT: no UPDATE state (RFC 1939 §6)
    time.sleep(0.3)
    assert stat(empty)[0] == 1


def test_wrong_password_and_unknown_user_same_answer(petrel):
    answers = []
    for user, password in ((USER, "wrong"), ("nobody@example.org", "x"),
                           ("bob@no-such-domain.example", "x")):
        c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
        c.user(user)
        with pytest.raises(poplib.error_proto) as e:
            c.pass_(password)
        answers.append(e.value.args[0])
        c.quit()
    assert answers == [b"-ERR [AUTH] Authentication failed."] * 3
    log = petrel.read_log()
    assert re.search(r"event=auth_failed ip=127\.0\.0\.1 user=nobody@example"
                     r"\.org", log), log[-2000:]


def test_auth_plain(petrel):
    ir = base64.b64encode(b"\0" + USER.encode() + b"\0" +
                          PASSWORD.encode()).decode()
    c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
    assert c._shortcmd("AUTH PLAIN " + ir) == b"+OK Logged in."
    c.stat()
    c.quit()
    # Without an initial response: "+ " and the response on its own line.
    c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
    c._putcmd("AUTH PLAIN")
    assert c._getline()[0] == b"+ "
    assert c._shortcmd(ir) == b"+OK Logged in."
    c.quit()
    # Cancelled.
    c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
    c._putcmd("AUTH PLAIN")
    assert c._getline()[0] == b"+ "
    with pytest.raises(poplib.error_proto, match="aborted"):
        c._shortcmd("*")
    bad = base64.b64encode(b"\0" + USER.encode() + b"\0nope").decode()
    with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
        c._shortcmd("AUTH PLAIN " + bad)
    c.quit()


def test_stls(petrel):
    c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
    c.stls(context=client_tls())
    assert c.sock.version() in ("TLSv1.2", "TLSv1.3")
    caps = capa(c)
    assert "STLS" not in caps and "USER" in caps
    c.user(USER)
    c.pass_(PASSWORD)
    c.stat()
    c.quit()


def test_pop3s(petrel):
    c = poplib.POP3_SSL("127.0.0.1", petrel.ports["pop3s"],
                        context=client_tls(), timeout=20)
    assert c.getwelcome() == b"+OK petrel ready."
    assert "STLS" not in capa(c)
    c.user(USER)
    c.pass_(PASSWORD)
    c.stat()
    c.quit()


def test_errors_and_long_line(petrel):
    r = RawPOP3(petrel.ports["pop3"])
    assert r.line() == b"+OK petrel ready."
    r.send(b"FOO\r\nSTAT\r\nNOOP " + b"x" * 300 + b"\r\nQUIT\r\n")
    assert r.line() == b"-ERR Unknown command."
    assert r.line() == b"-ERR Not logged in."
    assert r.line() == b"-ERR Line too long."
    assert r.line() == b"+OK Logging out."
    r.close()


def test_fetchmail_byte_identical(empty, tmp_path):
    if shutil.which("fetchmail") is None:
        pytest.skip("fetchmail not installed")
    bodies = [MSG % b"fm1", b"Subject: fm2\r\n\r\n.dot\r\n\xe2\x82\xac\r\n"]
    for b in bodies:
        send(empty, b)
    out = tmp_path / "mbox"
    rc = tmp_path / "fetchmailrc"
    rc.write_text(
        'set no bouncemail\n'
        'poll 127.0.0.1 service %d protocol pop3 auth password\n'
        '  user "%s" there with password "%s" is "%s" here\n'
        '  sslproto "" keep mda "cat >> %s; echo >> %s"\n'
        % (empty.ports["pop3"], USER, PASSWORD, os.environ.get("USER", "root"),
           out, out))
    rc.chmod(0o600)
    r = subprocess.run(["fetchmail", "-f", str(rc), "-v", "--nodetach",
                        "--pidfile", str(tmp_path / "pid")],
                       capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, HOME=str(tmp_path),
                                FETCHMAILHOME=str(tmp_path)))
    assert r.returncode == 0, r.stdout + r.stderr
    got = out.read_bytes()
    # fetchmail writes each message with LF line ends (and, for an MDA,
    # a Return-Path/Received of its own at the top); every line of each
    # message must be there as sent.
    for b in bodies:
        text = b.replace(b"\r\n", b"\n")
        assert text in got, (text, got[-2000:])
    # keep: still on the server.
    assert stat(empty)[0] == 2


def test_snapshot_at_login(empty):
    send(empty, MSG % b"s1")
    c = login(empty)
    assert c.stat()[0] == 1
    # Delivered while the session runs: not in its maildrop (RFC 1939).
    send(empty, MSG % b"s2")
    assert c.stat()[0] == 1
    assert len(c.list()[1]) == 1
    c.quit()
    assert stat(empty)[0] == 2


def test_expunged_meanwhile(empty):
    send(empty, MSG % b"e1")
    send(empty, MSG % b"e2")
    a = login(empty)
    b = login(empty)
    b.dele(1)
    assert b.quit() == b"+OK Logging out, messages deleted."
    with pytest.raises(poplib.error_proto, match="removed"):
        a.retr(1)
    _, lines, _ = a.retr(2)
    assert strip_received(b"\r\n".join(lines) + b"\r\n") == MSG % b"e2"
    a.quit()


def test_pipelined_flood(empty):
    """Commands pipelined far past one input event's batch are all answered,
    in order (the session yields to the loop between batches)."""
    send(empty, MSG % b"flood")
    c = RawPOP3(empty.ports["pop3"])
    assert c.line().startswith(b"+OK")
    n = 1000
    c.send(b"USER %s\r\nPASS %s\r\n" % (USER.encode(), PASSWORD.encode()) +
           b"NOOP\r\nSTAT\r\n" * n + b"QUIT\r\n")
    assert c.line().startswith(b"+OK")
    assert c.line().startswith(b"+OK")
    for _ in range(n):
        assert c.line() == b"+OK"
        assert re.match(rb"\+OK 1 \d+$", c.line())
    assert c.line().startswith(b"+OK")
    c.close()

