"""Local delivery: SMTP in, through the queue, into the account's mailboxes,
with plus-addressing, forwarding and quotas, as a user of the server sees it."""
import smtplib
import time

import pytest

from conftest import make_petrel, serve

MSG = b"From: a@sender.test\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@sender.test>\r\n\r\nbody\r\n"


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_petrel(tmp_path_factory, users=(
        "bob@example.org", "carol@example.org", "dave@example.org", "fwd@example.org",
        "full@example.org")))


def send(p, rcpts, subject, token=None):
    token = token or subject.replace(" ", "-")
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        refused = s.sendmail("a@sender.test", rcpts, MSG % (rcpts[0].encode(),
                                                            subject.encode(), token.encode()))
    assert refused == {}
    return token


def find(p, address, token, name="INBOX", timeout=20):
    deadline = time.time() + timeout
    while True:
        hits = [m for m in p.mailbox(address, name) if token.encode() in m[2]]
        if hits or time.time() > deadline:
            return hits
        time.sleep(0.05)


def test_delivered_byte_for_byte(petrel):
    body = b"".join(b"line %d \xc3\xa9\r\n" % i for i in range(2000))
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail("a@sender.test", ["BODY=8BITMIME"])
        s.rcpt("bob@example.org")
        code, resp = s.data(b"Subject: exact\r\nMessage-ID: <exact@sender.test>\r\n\r\n" + body)
        assert code == 250
    qid = resp.decode().split()[-1]
    hits = find(petrel, "bob@example.org", "<exact@sender.test>")
    assert len(hits) == 1
    data = hits[0][2]
    # The stored copy is the queued message: our Received header, then
    # exactly the bytes the client sent.
    assert data.startswith(b"Received: from client.test")
    assert (" id %s" % qid).encode() in data
    assert data.endswith(b"Subject: exact\r\nMessage-ID: <exact@sender.test>\r\n\r\n" + body)


def test_plus_address_ignored_by_default(petrel):
    token = send(petrel, ["carol+news@example.org"], "plus default")
    assert len(find(petrel, "carol@example.org", token)) == 1
    names = [m["name"] for m in petrel.cli("mailbox", "list", "carol@example.org",
                                           json_out=True)["mailboxes"]]
    assert "INBOX/news" not in names


def test_plus_address_into_subfolder(petrel):
    petrel.cli("user", "plus-mode", "dave@example.org", "folder")
    token = send(petrel, ["dave+newsletter@example.org"], "plus folder")
    assert len(find(petrel, "dave@example.org", token, "INBOX/newsletter")) == 1
    assert find(petrel, "dave@example.org", token, timeout=0) == []
    boxes = {m["name"]: m for m in petrel.cli("mailbox", "list", "dave@example.org",
                                              json_out=True)["mailboxes"]}
    # Created on first use, subscribed so that clients show it.
    assert boxes["INBOX/newsletter"]["messages"] == 1
    assert boxes["INBOX/newsletter"]["subscribed"] is True
    # A second message to the same tag lands in the same folder.
    token = send(petrel, ["dave+newsletter@example.org"], "plus folder 2")
    assert len(find(petrel, "dave@example.org", token, "INBOX/newsletter")) == 1


def test_plus_address_subject_prefix(petrel):
    petrel.cli("user", "plus-mode", "bob@example.org", "subject")
    try:
        token = send(petrel, ["bob+shop@example.org"], "plus subject")
        hits = find(petrel, "bob@example.org", token)
        assert len(hits) == 1
        assert b"\r\nSubject: [shop] plus subject\r\n" in hits[0][2]
    finally:
        petrel.cli("user", "plus-mode", "bob@example.org", "ignore")


def test_forward_stays_queued_for_outbound(petrel):
    petrel.cli("user", "forward", "fwd@example.org", "someone@remote.example", "--keep")
    token = send(petrel, ["fwd@example.org"], "forward keep")
    assert len(find(petrel, "fwd@example.org", token)) == 1
    # The copy for the remote address waits in the queue (sent by the
    # outbound delivery agent), not lost.
    deadline = time.time() + 10
    while True:
        entries = [e for e in petrel.queue()
                   if any(r["address"] == "someone@remote.example" for r in e["recipients"])]
        if entries or time.time() > deadline:
            break
        time.sleep(0.05)
    assert len(entries) == 1
    rcpts = {r["address"]: r["status"] for r in entries[0]["recipients"]}
    assert rcpts == {"fwd@example.org": "delivered", "someone@remote.example": "outbound"}
    assert token.encode() in petrel.queue_file(entries[0]["id"])

    # Without --keep: nothing stored here.
    petrel.cli("user", "forward", "fwd@example.org", "someone@remote.example")
    token = send(petrel, ["fwd@example.org"], "forward only")
    time.sleep(1)
    assert find(petrel, "fwd@example.org", token, timeout=0) == []
    petrel.cli("user", "forward", "fwd@example.org", "--off")


def test_quota_refused_at_rcpt_and_data(petrel):
    petrel.cli("user", "quota", "full@example.org", "2K")
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        # SIZE larger than the quota: the message alone cannot fit.
        s.mail("a@sender.test", ["SIZE=5000"])
        code, msg = s.rcpt("full@example.org")
        assert code == 552 and b"5.2.2" in msg, msg
        s.rset()
        # Without SIZE, an over-quota message is refused after DATA.
        s.mail("a@sender.test")
        assert s.rcpt("full@example.org")[0] == 250
        code, msg = s.data(b"Subject: big\r\n\r\n" + (b"x" * 78 + b"\r\n") * 50)
        assert code == 552 and b"5.2.2" in msg, msg
    # Fill it up: once usage reaches the quota, RCPT says 452 4.2.2.
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        assert s.sendmail("a@sender.test", ["full@example.org"],
                          b"Subject: fits\r\n\r\n" + (b"y" * 98 + b"\r\n") * 15) == {}
    assert len(find(petrel, "full@example.org", "Subject: fits")) == 1
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        s.ehlo("client.test")
        s.mail("a@sender.test", ["SIZE=600"])
        code, msg = s.rcpt("full@example.org")
        assert code == 452 and b"4.2.2" in msg, msg
    usage = petrel.cli("mailbox", "list", "full@example.org", json_out=True)["quota"]
    assert usage["messages"] == 1 and 1500 < usage["bytes"] <= 2048


def test_uids_ascend_across_restart(tmp_path_factory):
    """Delivery goes on after a restart, with UIDs above the earlier ones."""
    p = make_petrel(tmp_path_factory)
    p.start()
    try:
        for i in range(5):
            send(p, ["bob@example.org"], "batch %d" % i)
        msgs = p.wait_mailbox("bob@example.org", 5)
        assert len(msgs) == 5
        uids = [m[0] for m in msgs]
        assert uids == sorted(uids) and len(set(uids)) == 5
    finally:
        assert p.stop() == 0
    p.start()
    try:
        send(p, ["bob@example.org"], "after restart")
        msgs = p.wait_mailbox("bob@example.org", 6)
        assert len(msgs) == 6
        # UIDs keep ascending across the restart.
        assert msgs[-1][0] > max(m[0] for m in msgs[:-1])
        assert p.queue() == []
    finally:
        assert p.stop() == 0
