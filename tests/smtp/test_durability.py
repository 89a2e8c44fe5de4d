"""Crash and shutdown behaviour: acknowledged mail survives kill -9 and reaches
the mailbox exactly once."""
import re
import signal
import smtplib
import threading
import time

from conftest import make_petrel
from smtpraw import RawSMTP


def sender(port, worker, count, acked, errors, stop):
    for i in range(count):
        if stop.is_set():
            return
        token = "w%02d-m%03d" % (worker, i)
        msg = ("From: a@sender.test\r\nTo: bob@example.org\r\nSubject: %s\r\n"
               "Message-ID: <%s@sender.test>\r\n\r\n%s" % (token, token, ("x" * 76 + "\r\n") * 26))
        try:
            with smtplib.SMTP("127.0.0.1", port, timeout=10) as s:
                s.ehlo("client.test")
                s.mail("a@sender.test")
                s.rcpt("bob@example.org")
                code, resp = s.data(msg)
                if code == 250:
                    acked[token] = re.search(r"queued as (\S+)", resp.decode()).group(1)
        except (OSError, smtplib.SMTPException) as e:
            errors.append(repr(e))
            return


def test_kill_9_during_concurrent_deliveries(tmp_path_factory):
    p = make_petrel(tmp_path_factory)
    p.start()
    acked, errors, stop = {}, [], threading.Event()
    threads = [threading.Thread(target=sender, args=(p.smtp_port, w, 200, acked, errors, stop))
               for w in range(20)]
    for t in threads:
        t.start()
    deadline = time.time() + 60
    while len(acked) < 100 and time.time() < deadline:
        time.sleep(0.01)
    p.proc.send_signal(signal.SIGKILL)
    p.proc.wait()
    p.log.close()
    p.proc = None
    stop.set()
    for t in threads:
        t.join(timeout=30)
    assert len(acked) >= 100, (len(acked), errors[:3])

    p.start()
    try:
        # Local delivery picks up what was queued before the kill; the
        # mailbox then holds every acknowledged message exactly once.
        left = p.wait_queue_empty(timeout=60)
        assert left == [], left[:3]
        by_token = {}
        for uid, _, data in p.mailbox("bob@example.org"):
            m = re.search(rb"Subject: (w\d\d-m\d\d\d)", data)
            assert m, data[:300]
            qid = re.search(rb" id (\S+)", data).group(1).decode().rstrip(";")
            by_token.setdefault(m.group(1).decode(), []).append(qid)
        for token, qid in acked.items():
            assert by_token.get(token) == [qid], (token, qid, by_token.get(token))
        # Nothing is there twice, acknowledged or not.
        assert all(len(v) == 1 for v in by_token.values())
    finally:
        assert p.stop() == 0


def test_graceful_shutdown(tmp_path_factory):
    p = make_petrel(tmp_path_factory)
    p.start()
    idle = RawSMTP(p.smtp_port)
    assert idle.reply()[0] == 220
    busy = RawSMTP(p.smtp_port)
    busy.hello()
    assert busy.to_data()[2] == 354
    busy.send(b"Subject: during shutdown\r\n\r\n")
    p.proc.send_signal(signal.SIGTERM)
    # The idle session is told and closed.
    code, _ = idle.reply()
    assert code == 421
    # The transaction in progress may finish.
    time.sleep(0.3)
    busy.send(b"still here\r\n.\r\n")
    code, lines = busy.reply()
    assert code == 250, lines
    assert p.proc.wait(timeout=60) == 0
    p.log.close()
    p.proc = None
    # New connections are refused once shutdown began.
    p.start()
    try:
        msgs = p.wait_mailbox("bob@example.org", 1)
        assert any(b"during shutdown" in m[2] for m in msgs)
    finally:
        assert p.stop() == 0


def test_bad_config_refused(tmp_path_factory):
    p = make_petrel(tmp_path_factory, users=())
    text = open(p.conf).read()
    open(p.conf, "w").write(text + "\n[limits]\nmax_message_size = lots\n")
    r = p.cli("serve", check=False)
    assert r.returncode != 0
    err = r.stderr.strip().splitlines()
    assert any("petrel.conf:" in l and "max_message_size" in l for l in err), r.stderr
