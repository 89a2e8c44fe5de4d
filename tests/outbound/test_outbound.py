"""Outbound delivery through a real petrel to loopback sinks: routing by MX
and relay rules, results, bounces, the queue admin commands and trace."""
import os
import signal
import smtplib
import time
import uuid

from conftest import make_petrel, serve
from outboundlib import outbound_config, petrel, sink, stub  # noqa: F401
from smtpsink import SmtpSink


def send(p, rcpts, sender="carol@example.org", body=None):
    token = uuid.uuid4().hex
    msg = ("From: <%s>\r\nTo: <x@example.org>\r\nSubject: %s\r\n"
           "Message-ID: <%s@test>\r\n\r\n%s\r\n" % (sender, token, token, body or token))
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
        s.sendmail(sender, rcpts, msg)
    return token


def forward(p, user, *dests):
    p.cli("user", "forward", user, *dests)


def wait_token(sink, token, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        with sink.lock:
            for m in sink.messages:
                if token.encode() in m.data:
                    return m
        time.sleep(0.05)
    raise AssertionError("message %s not received by the sink" % token)


def wait_empty(p, timeout=30):
    q = p.wait_queue_empty(timeout)
    assert q == [], q


def find_local(p, address, needle, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, _, data in p.mailbox(address):
            if needle.encode() in data:
                return data
        time.sleep(0.1)
    raise AssertionError("%r not in %s" % (needle, address))


def test_forward_delivered_by_mx(petrel, sink):
    forward(petrel, "bob@example.org", "alice@remote.example", "--keep")
    token = send(petrel, ["bob@example.org"])
    m = wait_token(sink, token)
    assert m.rcpts == ["alice@remote.example"]
    assert m.mail_from == "carol@example.org"
    find_local(petrel, "bob@example.org", token)     # the kept copy
    wait_empty(petrel)
    trace = petrel.cli("trace", "<%s@test>" % token).stdout
    assert "queued" in trace and "delivered" in trace and "relay=mx.remote.example[127.0.0.1]" in trace


def test_permanent_failure_bounces_to_sender(petrel, sink):
    forward(petrel, "bob@example.org", "bad@remote.example")
    token = send(petrel, ["bob@example.org"])
    dsn = find_local(petrel, "carol@example.org", token)
    assert b"multipart/report" in dsn and b"report-type=delivery-status" in dsn
    assert b"Action: failed" in dsn and b"5.1.1" in dsn
    assert b"bad@remote.example" in dsn
    wait_empty(petrel)


def test_null_mx_fails_at_once(petrel):
    forward(petrel, "bob@example.org", "who@nullmx.example")
    token = send(petrel, ["bob@example.org"])
    dsn = find_local(petrel, "carol@example.org", token)
    assert b"5.1.10" in dsn
    wait_empty(petrel)


def test_bounce_never_to_null_sender(petrel, sink):
    forward(petrel, "bob@example.org", "bad@remote.example")
    token = uuid.uuid4().hex
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.sendmail("", ["bob@example.org"], "Subject: %s\r\n\r\nx\r\n" % token)
    wait_empty(petrel)
    assert "reason=null-sender" in petrel.read_log()


def test_temporary_failure_retried(petrel, sink):
    forward(petrel, "bob@example.org", "later@remote.example")
    send(petrel, ["bob@example.org"])
    deadline = time.time() + 20
    while time.time() < deadline:
        q = petrel.queue()
        tries = [r.get("tries", 0) for m in q for r in m["recipients"]
                 if r["address"] == "later@remote.example"]
        if tries and tries[0] >= 2:
            break
        time.sleep(0.2)
    else:
        raise AssertionError("not retried: %r" % petrel.queue())
    r = [r for m in q for r in m["recipients"] if r["address"] == "later@remote.example"][0]
    assert r["status"] == "outbound" and "450 4.2.0" in r["last_error"]
    assert "next=" in petrel.cli("queue", "list").stdout
    # The administrator gives up on it: a bounce, then the queue is empty.
    qid = [m["id"] for m in q if any(x["address"] == "later@remote.example"
                                     for x in m["recipients"])][0]
    petrel.cli("queue", "bounce", qid)
    dsn = find_local(petrel, "carol@example.org", "later@remote.example")
    assert b"Action: failed" in dsn
    wait_empty(petrel)
    trace = petrel.cli("trace", qid).stdout
    assert "deferred" in trace and "action=failed" in trace.replace("dsn_qid", "x") or "dsn" in trace


def test_relay_rules_precedence_and_smarthost_auth(tmp_path_factory, stub):
    """Recipient rule before sender rule before the default (a smarthost
    with AUTH over STARTTLS); the MX only when no rule applies."""
    certdir = None
    rcpt_sink = SmtpSink(hostname="rcpt.sink").start()
    sender_sink = SmtpSink(hostname="sender.sink").start()
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    certdir = os.path.join(p.data, "tls")
    smarthost = SmtpSink(hostname="smarthost.sink", starttls=True,
                         certfile=os.path.join(certdir, "cert.pem"),
                         keyfile=os.path.join(certdir, "key.pem"),
                         auth={"relayuser": "s3cret"}, auth_requires_tls=True).start()
    mx_sink = SmtpSink(hostname="mx.sink").start()
    outbound_config(p, stub.port, mx_sink.port)
    try:
        p.cli("relay", "add", "--recipient", "vip@other.example", "--host", "127.0.0.1",
              "--port", str(rcpt_sink.port))
        p.cli("relay", "add", "--sender", "example.org", "--host", "127.0.0.1",
              "--port", str(sender_sink.port))
        p.cli("relay", "default", "--host", "127.0.0.1", "--port", str(smarthost.port),
              "--user", "relayuser", "--password-stdin", input="s3cret\n")
        rules = p.cli("relay", "list", json_out=True)["rules"]
        assert [r["kind"] for r in rules] == ["recipient", "sender", "default"]
        assert all("s3cret" not in str(r) for r in rules)
        assert "s3cret" not in open(os.path.join(p.data, "directory.db"), "rb").read().decode("latin-1")
        assert os.stat(os.path.join(p.data, "relay.key")).st_mode & 0o077 == 0
        for s in serve(p):
            forward(s, "bob@example.org", "vip@other.example", "joe@other.example")
            t1 = send(s, ["bob@example.org"])                      # carol@example.org
            assert wait_token(rcpt_sink, t1).rcpts == ["vip@other.example"]
            assert wait_token(sender_sink, t1).rcpts == ["joe@other.example"]
            forward(s, "bob@example.org", "joe@other.example")
            t2 = send(s, ["bob@example.org"], sender="someone@elsewhere.example")
            m = wait_token(smarthost, t2)
            assert m.session.tls and m.session.auth_user == "relayuser"
            p.cli("relay", "del", "--default")
            t3 = send(s, ["bob@example.org"], sender="someone@elsewhere.example")
            assert wait_token(mx_sink, t3).rcpts == ["joe@other.example"]
            wait_empty(s)
    finally:
        for k in (rcpt_sink, sender_sink, smarthost, mx_sink):
            k.stop()


def test_remote_down_then_back_and_queue_admin(tmp_path_factory, stub):
    """The MX refuses connections: deferred and retried; when it comes
    back (or on `queue retry`) the message goes; `queue delete` removes
    one for good; kill -9 with a full queue loses nothing."""
    from conftest import free_port
    port = free_port()
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, port, {"max_connections": 4})
    for s in serve(p):
        forward(s, "bob@example.org", "zed@third.example")
        tokens = [send(s, ["bob@example.org"]) for _ in range(5)]
        deadline = time.time() + 20
        while time.time() < deadline:
            q = s.queue()
            if len(q) == 5 and all(r.get("tries", 0) >= 1 for m in q for r in m["recipients"]
                                   if r["status"] == "outbound"):
                break
            time.sleep(0.2)
        assert len(q) == 5 and "Connection refused" in str(q) or "4.4.1" in str(q), q
        victim = q[0]["id"]
        assert "deleted: 1 message" in s.cli("queue", "delete", victim).stdout
        # kill -9 with the queue full, then start again.
        s.proc.send_signal(signal.SIGKILL)
        s.proc.wait()
        s.log.close()
        s.proc = None
        assert len(s.queue()) == 4
        sink = SmtpSink(port=port).start()
        try:
            s.start()
            s.cli("queue", "retry", "--all")
            got = sink.wait_messages(4, timeout=30)
            assert sorted(t for t in tokens[1:] if any(t.encode() in m.data for m in got)) \
                == sorted(t for t in tokens if t != tokens[0] or True)[1:] or len(got) == 4
            wait_empty(s)
            assert "action=delete" in s.cli("trace", victim).stdout
        finally:
            sink.stop()
