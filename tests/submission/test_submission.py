"""Submission against the real daemon (issue 5): AUTH PLAIN and LOGIN over
STARTTLS (587-style) and implicit TLS (465-style) with smtplib and swaks,
relaying for logged-in users and relay networks only, 535 after the delay,
plaintext = never, the sender/login match and send-as, Message-ID and
Date added, always-BCC, master users, and one throttle shared with POP3."""
import base64
import poplib
import smtplib
import socket
import ssl
import subprocess
import time

import pytest

from conftest import free_port, make_petrel, serve

BOB, CAROL = "bob@example.org", "carol@example.org"
ARCHIVE = "archive@example.org"
PW = {u: "secret-%s" % u for u in (BOB, CAROL, ARCHIVE)}
REMOTE = "someone@elsewhere.example"


def tls_ctx():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def sections(**extra):
    s = {
        "auth": {"failure_delay": "300"},
        # Remote recipients must stay queued: nothing answers here.
        "outbound": {"resolver": "127.0.0.1@%d" % free_port(),
                     "port": str(free_port())},
        "limits": {"max_connections_per_ip": "200"},
    }
    for name, keys in extra.items():
        s.setdefault(name, {}).update(keys)
    return s


def make(tmp_path_factory, **extra):
    return make_petrel(tmp_path_factory, users=(BOB, CAROL, ARCHIVE),
                       sections=sections(**extra))


@pytest.fixture(scope="module")
def sub(tmp_path_factory):
    yield from serve(make(tmp_path_factory,
                          submission={"always_bcc": ARCHIVE}))


@pytest.fixture(scope="module")
def strict(tmp_path_factory):
    yield from serve(make(tmp_path_factory, auth={
        "plaintext": "never", "max_failures_per_ip": "3",
        "failure_window": "60"}, submission={
        "sender_login_match": "yes", "received_auth": "yes"}))


@pytest.fixture(scope="module")
def relaynet(tmp_path_factory):
    yield from serve(make(tmp_path_factory, submission={
        "relay_networks": "192.0.2.0/24, 127.0.0.1, 2001:db8::/32"}))


@pytest.fixture(scope="module")
def per_account(tmp_path_factory):
    # The per-account budget alone: the IP is never the one blocked.
    yield from serve(make(tmp_path_factory, auth={
        "max_failures_per_ip": "100", "max_failures_per_account": "3",
        "failure_window": "60"}))


def message(subject, headers=""):
    return ("From: <%s>\r\nTo: <%s>\r\nSubject: %s\r\n%s\r\nbody of %s\r\n"
            % (BOB, CAROL, subject, headers, subject))


def submit(p, user=BOB, password=None, port="submission"):
    c = smtplib.SMTP("127.0.0.1", p.ports[port], timeout=30)
    c.ehlo("client.example")
    c.starttls(context=tls_ctx())
    c.ehlo("client.example")
    c.login(user, password if password is not None else PW[user])
    return c


def find(p, address, needle, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for _, _, data in p.mailbox(address):
            if needle in data:
                return data
        time.sleep(0.05)
    raise AssertionError("%r not delivered to %s" % (needle, address))


def count(p, address, needle):
    return sum(needle in data for _, _, data in p.mailbox(address))


def raw(p, port="submission"):
    s = socket.create_connection(("127.0.0.1", p.ports[port]), timeout=30)
    f = s.makefile("rb")

    def reply():
        lines = []
        while True:
            line = f.readline().decode()
            lines.append(line.rstrip("\r\n"))
            if len(line) < 4 or line[3] != "-":
                return lines
    reply()
    return s, reply


def test_auth_offered_on_submission_only(sub):
    c = smtplib.SMTP("127.0.0.1", sub.ports["submission"], timeout=30)
    c.ehlo("client.example")
    # Loopback: plaintext = loopback (the default) allows it before TLS.
    assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    c.quit()
    m = smtplib.SMTP("127.0.0.1", sub.ports["smtp"], timeout=30)
    m.ehlo("client.example")
    assert "auth" not in m.esmtp_features
    code, text = m.docmd("AUTH", "PLAIN AGJvYkBleGFtcGxlLm9yZwB4")
    assert code == 503
    m.quit()


def test_mail_without_auth_refused(sub):
    c = smtplib.SMTP("127.0.0.1", sub.ports["submission"], timeout=30)
    c.ehlo("client.example")
    code, text = c.mail(BOB)
    assert (code, text) == (530, b"5.7.0 Authentication required")
    c.quit()
    # The MTA port still refuses relaying, as before.
    m = smtplib.SMTP("127.0.0.1", sub.ports["smtp"], timeout=30)
    m.ehlo("client.example")
    assert m.mail(BOB)[0] == 250
    code, text = m.rcpt(REMOTE)
    assert code == 550 and b"Relay access denied" in text
    m.quit()


def test_plain_send_local_and_remote(sub):
    c = submit(sub)
    c.sendmail(BOB, [CAROL, REMOTE], message("plain-send"))
    c.quit()
    data = find(sub, CAROL, b"body of plain-send")
    head = data.split(b"\r\n\r\n", 1)[0]
    # Message-ID and Date were missing: added at the end of the header.
    assert b"\r\nMessage-ID: <" in head and b"@mx.example.org>" in head
    assert b"\r\nDate: " in head
    assert head.index(b"Subject: plain-send") < head.index(b"Message-ID:")
    # The login is not revealed by default; the protocol says ESMTPSA.
    assert b"Authenticated sender" not in head
    assert b"with ESMTPSA" in head
    # The remote copy waits in the queue, with the login recorded.
    msgs = [m for m in sub.queue()
            if any(r["address"] == REMOTE for r in m["recipients"])]
    assert msgs and msgs[0]["auth_user"] == BOB


def test_existing_message_id_and_date_kept(sub):
    c = submit(sub)
    c.sendmail(BOB, [CAROL], message("kept", "Message-ID: <own@client>\r\n"
                                     "DATE: Mon, 1 Jan 2024 00:00:00 +0000\r\n"))
    c.quit()
    data = find(sub, CAROL, b"body of kept")
    head = data.split(b"\r\n\r\n", 1)[0]
    assert head.count(b"Message-ID:") == 1 and b"<own@client>" in head
    assert head.lower().count(b"\r\ndate:") == 1


def test_auth_login_and_bdat(sub):
    s, reply = raw(sub)
    s.sendall(b"EHLO client.example\r\n")
    assert "250-AUTH PLAIN LOGIN" in reply()
    s.sendall(b"AUTH LOGIN\r\n")
    assert reply() == ["334 VXNlcm5hbWU6"]
    s.sendall(base64.b64encode(CAROL.encode()) + b"\r\n")
    assert reply() == ["334 UGFzc3dvcmQ6"]
    s.sendall(base64.b64encode(PW[CAROL].encode()) + b"\r\n")
    assert reply() == ["235 2.7.0 Authentication successful"]
    s.sendall(b"AUTH PLAIN =\r\n")
    assert reply()[0].startswith("503 ")
    body = b"Subject: bdat-login\r\n\r\nbody of bdat-login\r\n"
    s.sendall(b"MAIL FROM:<%s>\r\nRCPT TO:<%s>\r\nBDAT %d LAST\r\n%s"
              % (CAROL.encode(), BOB.encode(), len(body), body))
    assert reply()[0].startswith("250")
    assert reply()[0].startswith("250")
    assert reply()[0].startswith("250 2.0.0 Ok: queued")
    s.sendall(b"QUIT\r\n")
    s.close()
    head = find(sub, BOB, b"body of bdat-login").split(b"\r\n\r\n", 1)[0]
    assert b"Message-ID: <" in head and b"Date: " in head


def test_wrong_password_535_after_delay(sub):
    c = smtplib.SMTP("127.0.0.1", sub.ports["submission"], timeout=30)
    c.ehlo("client.example")
    # One mechanism, one failure per login() (smtplib tries each).
    c.esmtp_features["auth"] = "PLAIN"
    t0 = time.time()
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login(CAROL, "wrong")
    assert time.time() - t0 >= 0.28
    assert e.value.smtp_code == 535 and e.value.smtp_error.startswith(b"5.7.8")
    # An unknown user gets the same answer.
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login("nobody@example.org", "wrong")
    assert e.value.smtp_code == 535
    # The third failure in one connection is the last.
    with pytest.raises(smtplib.SMTPAuthenticationError):
        c.login("nobody@example.org", "wrong")
    with pytest.raises(smtplib.SMTPServerDisconnected):
        c.noop()
    c.close()
    assert "event=auth_failed ip=127.0.0.1 user=carol@example.org" in \
        sub.read_log()


def test_implicit_tls_smtp_ssl(sub):
    c = smtplib.SMTP_SSL("127.0.0.1", sub.ports["submissions"],
                         context=tls_ctx(), timeout=30)
    c.ehlo("client.example")
    c.login(BOB, PW[BOB])
    c.sendmail(BOB, [CAROL], message("implicit-tls"))
    c.quit()
    find(sub, CAROL, b"body of implicit-tls")


@pytest.mark.parametrize("port,tls", [("submission", "--tls"),
                                      ("submissions", "--tlsc")])
def test_swaks(sub, port, tls):
    for auth in ("PLAIN", "LOGIN"):
        subj = "swaks-%s-%s" % (port, auth)
        r = subprocess.run(
            ["swaks", "--server", "127.0.0.1:%d" % sub.ports[port], tls,
             "--auth", auth, "--auth-user", BOB, "--auth-password", PW[BOB],
             "--from", BOB, "--to", CAROL, "--header", "Subject: " + subj,
             "--body", "body of " + subj, "--timeout", "30"],
            capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, r.stdout + r.stderr
        assert "235 2.7.0 Authentication successful" in r.stdout
        find(sub, CAROL, ("body of " + subj).encode())


def test_always_bcc(sub):
    c = submit(sub)
    c.sendmail(BOB, [CAROL], message("bcc-out"))
    # Listed already: one copy, not two.
    c.sendmail(BOB, [ARCHIVE], message("bcc-listed"))
    c.quit()
    m = smtplib.SMTP("127.0.0.1", sub.ports["smtp"], timeout=30)
    m.sendmail("outsider@elsewhere.example", [CAROL], message("bcc-in"))
    m.sendmail("", [CAROL], message("bcc-bounce"))
    m.quit()
    for subj in (b"bcc-out", b"bcc-in", b"bcc-bounce"):
        data = find(sub, ARCHIVE, b"body of " + subj)
        # Hidden: the archive is never named in the copy.
        assert ARCHIVE.encode() not in data
        find(sub, CAROL, b"body of " + subj)
    find(sub, ARCHIVE, b"body of bcc-listed")
    time.sleep(0.5)
    assert count(sub, ARCHIVE, b"body of bcc-listed") == 1
    assert count(sub, ARCHIVE, b"body of bcc-out") == 1


def test_sender_match_per_domain(sub):
    c = submit(sub)
    assert c.mail(CAROL)[0] == 250      # off: anything goes
    c.rset()
    sub.cli("domain", "set-sender-match", "example.org", "on")
    try:
        code, text = c.mail(CAROL)
        assert code == 553 and text.startswith(b"5.7.1 <carol@example.org>")
        assert b"not owned by user bob@example.org" in text
        assert c.mail(BOB)[0] == 250
        c.rset()
        # Another domain's addresses are not under this domain's switch.
        assert c.mail(REMOTE)[0] == 250
        c.rset()
    finally:
        sub.cli("domain", "set-sender-match", "example.org", "off")
    assert c.mail(CAROL)[0] == 250
    c.quit()


def test_sender_match_per_domain_quoted_spellings(sub):
    # Valid SMTP the directory does not parse was let through the
    # per-domain switch: the domain still decides.
    c = submit(sub)
    sub.cli("domain", "set-sender-match", "example.org", "on")
    try:
        for sender in ('"carol smith"@example.org', '"carol."@example.org',
                       '"carol"@Example.ORG', 'CAROL@example.org'):
            code, text = c.docmd("MAIL", "FROM:<%s>" % sender)
            assert code == 553, (sender, code, text)
        code, _ = c.docmd("MAIL", 'FROM:<"x y"@elsewhere.example>')
        assert code == 250
        c.rset()
    finally:
        sub.cli("domain", "set-sender-match", "example.org", "off")
    c.quit()


def test_obsolete_date_field_not_doubled(sub):
    # RFC 5322 obs-optional: "Date :" is the Date field; a second one
    # would make the message invalid.
    c = submit(sub)
    c.sendmail(BOB, [CAROL], message(
        "obs-date", "Message-Id\t: <own2@client>\r\n"
        "Date : Mon, 1 Jan 2024 00:00:00 +0000\r\n"))
    c.quit()
    head = find(sub, CAROL, b"body of obs-date").split(b"\r\n\r\n", 1)[0]
    assert head.lower().count(b"\r\ndate") == 1
    assert head.lower().count(b"\r\nmessage-id") == 1


def login_fails(p, user, password, code):
    c = smtplib.SMTP("127.0.0.1", p.ports["submission"], timeout=30)
    c.ehlo("client.example")
    c.esmtp_features["auth"] = "PLAIN"
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login(user, password)
    assert e.value.smtp_code == code, (user, e.value)
    c.close()


def test_account_throttle_counts_every_spelling(per_account):
    # Each spelling of bob's address had a budget of its own; quoted
    # pairs make any number of them.
    for user in ('"bob"@example.org', '"b\\ob"@EXAMPLE.org',
                 '"bo\\b"@example.org'):
        login_fails(per_account, user, "wrong", 535)
    login_fails(per_account, BOB, PW[BOB], 454)
    login_fails(per_account, '"\\bob"@example.org', PW[BOB], 454)
    # Carol's budget is her own.
    submit(per_account, user=CAROL).quit()
    # POP3 shares the block.
    c = poplib.POP3("127.0.0.1", per_account.ports["pop3"], timeout=30)
    c.user(BOB)
    with pytest.raises(poplib.error_proto):
        c.pass_(PW[BOB])
    c.close()


def test_master_user(sub):
    r = sub.cli("master", "add", "support", "--password-stdin",
                input="master-secret\n")
    assert "support" in sub.cli("master", "list").stdout
    c = poplib.POP3("127.0.0.1", sub.ports["pop3"], timeout=30)
    c.user(BOB + "*support")
    c.pass_("master-secret")
    assert c.stat()[0] >= 0
    c.quit()
    # SASL PLAIN: authzid the account, authcid the master.
    s = submit(sub, user=BOB + "*support", password="master-secret")
    s.sendmail(BOB, [CAROL], message("master-sent"))
    s.quit()
    find(sub, CAROL, b"body of master-sent")
    assert "master=support" in sub.read_log()
    sub.cli("master", "del", "support")
    c = poplib.POP3("127.0.0.1", sub.ports["pop3"], timeout=30)
    c.user(BOB + "*support")
    with pytest.raises(poplib.error_proto):
        c.pass_("master-secret")
    c.close()
    del r


def test_plaintext_never(strict):
    c = smtplib.SMTP("127.0.0.1", strict.ports["submission"], timeout=30)
    c.ehlo("client.example")
    assert "auth" not in c.esmtp_features
    code, text = c.docmd("AUTH", "PLAIN " + base64.b64encode(
        b"\0" + BOB.encode() + b"\0" + PW[BOB].encode()).decode())
    assert code == 530
    c.starttls(context=tls_ctx())
    c.ehlo("client.example")
    assert c.esmtp_features["auth"].split() == ["PLAIN", "LOGIN"]
    c.login(BOB, PW[BOB])
    c.quit()


def test_sender_match_server_wide_and_send_as(strict):
    c = submit(strict)
    code, text = c.mail(CAROL)
    assert code == 553
    assert c.mail(BOB)[0] == 250
    c.rset()
    assert c.mail("bob+lists@example.org")[0] == 250
    c.rset()
    assert c.mail("")[0] == 250         # bounces of the user's filters
    c.rset()
    # An alias that reaches bob is bob's to use.
    strict.cli("alias", "add", "sales@example.org", BOB)
    assert c.mail("sales@example.org")[0] == 250
    c.rset()
    # Delegation.
    assert c.mail("info@elsewhere.example")[0] == 553
    strict.cli("user", "allow-send-as", BOB, "info@elsewhere.example")
    assert strict.cli("user", "send-as", BOB).stdout.split() == [
        "info@elsewhere.example"]
    assert c.mail("info@elsewhere.example")[0] == 250
    c.rset()
    strict.cli("user", "deny-send-as", BOB, "info@elsewhere.example")
    assert c.mail("info@elsewhere.example")[0] == 553
    c.sendmail(BOB, [CAROL], message("received-auth"))
    c.quit()
    head = find(strict, CAROL, b"body of received-auth").split(b"\r\n\r\n")[0]
    assert b"(Authenticated sender: bob@example.org)" in head


def test_throttle_shared_with_pop3(strict):
    # Three wrong POP3 passwords (over TLS: plaintext = never) ...
    for _ in range(3):
        c = poplib.POP3_SSL("127.0.0.1", strict.ports["pop3s"],
                            context=tls_ctx(), timeout=30)
        c.user(CAROL)
        with pytest.raises(poplib.error_proto):
            c.pass_("wrong")
        c.close()
    # ... block the IP for submission too, right password or not.
    c = smtplib.SMTP_SSL("127.0.0.1", strict.ports["submissions"],
                         context=tls_ctx(), timeout=30)
    c.ehlo("client.example")
    c.esmtp_features["auth"] = "PLAIN"
    with pytest.raises(smtplib.SMTPAuthenticationError) as e:
        c.login(BOB, PW[BOB])
    assert e.value.smtp_code == 454
    assert "event=auth_blocked ip=127.0.0.1" in strict.read_log()


def test_relay_network(relaynet):
    c = smtplib.SMTP("127.0.0.1", relaynet.ports["submission"], timeout=30)
    c.ehlo("printer.example")
    c.sendmail("scanner@example.org", [REMOTE, CAROL], message("scanned"))
    c.quit()
    find(relaynet, CAROL, b"body of scanned")
    assert any(r["address"] == REMOTE
               for m in relaynet.queue() for r in m["recipients"])
    # The MTA port is not a relay for them.
    m = smtplib.SMTP("127.0.0.1", relaynet.ports["smtp"], timeout=30)
    m.ehlo("printer.example")
    m.mail("scanner@example.org")
    assert m.rcpt(REMOTE)[0] == 550
    m.quit()
