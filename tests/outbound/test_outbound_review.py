"""Hostile review of the outbound agent: messages that must not stay in the
queue forever, bounces of large messages, kill -9 in the middle of a
transaction, deletion of a message being sent."""
import contextlib
import os
import signal
import smtplib
import sqlite3
import threading
import time

import pytest

from outboundlib import outbound_config  # noqa: I100 (sets sys.path first)
from conftest import make_petrel
from dnsstub import DnsStub
from smtpsink import SmtpSink
from test_outbound import find_local, forward, send, wait_token


@pytest.fixture(scope="module")
def stub():
    s = DnsStub()
    for dom in ("remote.example", "slow.example", "keyless.example"):
        s.add("%s. 60 IN MX 10 mx.%s." % (dom, dom))
        s.add("mx.%s. 60 IN A 127.0.0.1" % dom)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink(rcpt_replies={"bad@remote.example": "550 5.1.1 no such user"},
                 size=50 * 1024 * 1024)
    s.start()
    yield s
    s.stop()


@contextlib.contextmanager
def running(p):
    """p serving for the with block; stopped even when the block fails,
    and checked for a clean exit (no sanitizer report) when it did not."""
    p.start()
    try:
        yield p
    except BaseException:
        p.stop(signal.SIGKILL)
        raise
    rc = p.stop()
    log = p.read_log()
    for marker in ("AddressSanitizer", "LeakSanitizer", "runtime error:", "panic:"):
        assert marker not in log, log[-4000:]
    assert rc == 0, log[-4000:]


def age_queue(p, seconds):
    """Makes every queued message look `seconds` older (its arrival), as
    if it had waited that long."""
    db = sqlite3.connect(os.path.join(p.data, "queue", "queue.db"), timeout=10)
    try:
        db.execute("UPDATE messages SET arrival = arrival - ?", (seconds,))
        db.commit()
    finally:
        db.close()


def wait_until(pred, timeout=20, what="condition"):
    deadline = time.time() + timeout
    while time.time() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


def rcpt_of(p, address):
    for m in p.queue():
        for r in m["recipients"]:
            if r["address"] == address:
                return m, r
    return None


@pytest.fixture(scope="module")
def rejecter():
    """A relay host answering slowly and refusing every recipient."""
    s = SmtpSink(rcpt_default="550 5.1.1 unknown here", reply_delay=0.4).start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def shared(tmp_path_factory, stub, sink, rejecter):
    """One petrel for the tests below: slow.example relayed to the
    rejecter; keyless.example to a rule whose password no key opens."""
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, sink.port, {"max_lifetime": 3600})
    p.cli("relay", "add", "--recipient", "slow.example", "--host", "127.0.0.1",
          "--port", str(rejecter.port))
    p.cli("relay", "add", "--recipient", "keyless.example", "--host", "127.0.0.1",
          "--port", str(sink.port), "--user", "u", "--password-stdin", input="pw\n")
    os.unlink(os.path.join(p.data, "relay.key"))
    with running(p) as s:
        yield s


def test_deferred_before_sending_still_expires(shared):
    """A recipient deferred before any connection (relay rules that cannot
    be read: relay.key gone) must still leave the queue at max_lifetime
    with a DSN, not stay there forever."""
    s = shared
    forward(s, "bob@example.org", "who@keyless.example")
    token = send(s, ["bob@example.org"])
    m, r = wait_until(lambda: (lambda x: x if x and x[1].get("last_error") else None)(
        rcpt_of(s, "who@keyless.example")), what="a deferral")
    assert r["status"] == "outbound" and "4.3.0" in r["last_error"], r
    age_queue(s, 7200)
    dsn = find_local(s, "carol@example.org", token, timeout=20)
    assert b"Action: failed" in dsn and b"who@keyless.example" in dsn
    assert b"5.4.7" in dsn
    q = s.wait_queue_empty(20)
    assert q == [], q


def test_bounce_of_large_message_has_its_header(shared):
    """An original too large to return whole is returned as its header
    (RFC 3462 text/rfc822-headers), also when it is very large."""
    s = shared
    forward(s, "bob@example.org", "bad@remote.example")
    body = ("x" * 998 + "\r\n") * 600          # ~600 KB
    token = send(s, ["bob@example.org"], body=body)
    dsn = find_local(s, "carol@example.org", token, timeout=30)
    assert b"text/rfc822-headers" in dsn
    assert ("Message-ID: <%s@test>" % token).encode() in dsn
    assert len(dsn) < 100 * 1024
    assert s.wait_queue_empty(20) == []


def test_kill_9_mid_transaction_then_sent_after_restart(tmp_path_factory, stub):
    """kill -9 while the remote server holds the reply to the data: after
    the restart the claim is released and the message goes (at most a
    duplicate, RFC 5321 §6.1), and nothing stays claimed."""
    arrived, release = threading.Event(), threading.Event()

    def hold(msg):
        if not arrived.is_set():            # the first attempt hangs
            arrived.set()
            release.wait(30)
        return None
    sink = SmtpSink(data_reply=hold)
    sink.start()
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, sink.port)
    try:
        p.start()
        forward(p, "bob@example.org", "x@slow.example")
        token = send(p, ["bob@example.org"])
        assert arrived.wait(20), "the data never arrived"
        p.proc.send_signal(signal.SIGKILL)
        p.proc.wait()
        p.log.close()
        p.proc = None
        release.set()
        q = p.queue()
        assert len(q) == 1, q
        assert rcpt_of(p, "x@slow.example")[1]["status"] == "outbound", q
        with sink.lock:
            sink.messages.clear()
        p.start()
        m = wait_token(sink, token, timeout=30)
        assert m.rcpts == ["x@slow.example"]
        assert p.wait_queue_empty(20) == []
        assert p.stop() == 0
    finally:
        release.set()
        sink.stop()
        if p.proc is not None:
            p.stop()
    log = p.read_log()
    assert "AddressSanitizer" not in log and "runtime error:" not in log


def test_delete_while_sending(tmp_path_factory, stub):
    """`queue delete` of a message in the middle of its transaction: it is
    gone for good (no bounce, no retry) and the agent carries on."""
    arrived = threading.Event()

    def hold(msg):
        arrived.set()
        time.sleep(3)
        return "451 4.3.0 later"
    slow = SmtpSink(data_reply=hold)
    slow.start()
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, slow.port)
    try:
        with running(p) as s:
            forward(s, "bob@example.org", "x@slow.example")
            token = send(s, ["bob@example.org"])
            assert arrived.wait(20), "the data never arrived"
            qid = s.queue()[0]["id"]
            assert "deleted: 1 message" in s.cli("queue", "delete", qid).stdout
            time.sleep(4)                   # the 451 comes back and is recorded
            assert s.queue() == []
            assert not os.path.exists(os.path.join(s.data, "queue", "msg", qid))
            assert all(token.encode() not in d for _, _, d in s.mailbox("carol@example.org"))
            assert "action=delete" in s.cli("trace", qid).stdout
    finally:
        slow.stop()


def test_one_dsn_for_recipients_failing_on_two_routes(shared):
    """Two recipients of one message fail on two routes, one answering
    later than the other: the sender gets one report naming both, not one
    per route."""
    s = shared
    forward(s, "bob@example.org", "bad@remote.example", "gone@slow.example")
    token = send(s, ["bob@example.org"])
    find_local(s, "carol@example.org", token, timeout=30)
    assert s.wait_queue_empty(20) == []
    dsns = [d for _, _, d in s.mailbox("carol@example.org") if token.encode() in d]
    assert len(dsns) == 1, [d[:300] for d in dsns]
    assert b"bad@remote.example" in dsns[0] and b"gone@slow.example" in dsns[0]


def start_with_fd_limit(p, limit):
    """Like Petrel.start, with RLIMIT_NOFILE soft = hard = limit, so the
    daemon cannot raise it."""
    import resource
    import subprocess
    from conftest import PETREL
    p.log = open(p.log_path, "ab")
    p.proc = subprocess.Popen(
        [PETREL, "-c", p.conf, "serve"], stdout=p.log, stderr=subprocess.STDOUT,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (limit, limit)))
    p.wait_port(p.ports["smtp"])


def test_out_of_file_descriptors_defers_never_bounces(tmp_path_factory, stub):
    """A message file that cannot be opened for a passing reason (EMFILE:
    many messages claimed at once under a low fd limit) is tried again
    later; only a file that is really gone fails the recipient."""
    arrived, release = threading.Event(), threading.Event()

    def hold(msg):
        if not arrived.is_set():
            arrived.set()
            release.wait(30)
        return None
    sink = SmtpSink(data_reply=hold).start()
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, sink.port, {"max_connections": 1})
    forward(p, "bob@example.org", "x@slow.example")
    start_with_fd_limit(p, 100)
    try:
        accepted = 0
        with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30) as c:
            for i in range(80):
                try:
                    c.sendmail("carol@example.org", ["bob@example.org"],
                               "Subject: fd %d\r\nMessage-ID: <fd%d@test>\r\n\r\nx\r\n"
                               % (i, i))
                    accepted += 1
                except smtplib.SMTPDataError as e:     # 451: out of fds here too
                    assert e.smtp_code == 451, e
        assert accepted > 0
        assert arrived.wait(20)
        time.sleep(2)
        release.set()
        sink.wait_messages(accepted, timeout=40)
        assert p.wait_queue_empty(30) == []
        assert p.mailbox("carol@example.org") == []         # no bounce
        assert "message-file-missing" not in p.read_log()
    finally:
        release.set()
        sink.stop()
        p.stop(signal.SIGKILL)
