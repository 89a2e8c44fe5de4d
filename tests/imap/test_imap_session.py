"""The IMAP session against the real daemon: greeting and capabilities,
LOGIN and AUTHENTICATE, SELECT, IDLE woken by an SMTP delivery, STARTTLS,
COMPRESS=DEFLATE, LOGOUT, and hostile input (huge literals, floods,
garbage) over raw sockets."""
import imaplib
import smtplib
import socket
import ssl
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

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=30)
        if tls:
            ctx = ssl.create_default_context()
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
            self.sock = ctx.wrap_socket(self.sock)
        self.buf = b""

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

    def closed(self):
        try:
            while True:
                if not self.sock.recv(65536):
                    return True
        except (ConnectionResetError, socket.timeout):
            return False

    def close(self):
        self.sock.close()


def test_greeting_capability_login_logout(petrel):
    m = imaplib.IMAP4("127.0.0.1", petrel.ports["imap"])
    assert m.welcome.startswith(b"* OK [CAPABILITY IMAP4rev1 IMAP4rev2")
    assert "STARTTLS" in m.capabilities and "AUTH=PLAIN" in m.capabilities
    typ, _ = m.login(USER, PASSWORD)
    assert typ == "OK"
    typ, caps = m.capability()
    assert b"IDLE" in caps[0] and b"COMPRESS=DEFLATE" in caps[0]
    typ, data = m.namespace()
    assert data[0] == b'(("" "/")) NIL NIL'
    assert m.logout()[0] == "BYE"


def test_login_failure_and_authenticate(petrel):
    m = imaplib.IMAP4("127.0.0.1", petrel.ports["imap"])
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login(USER, "wrong")
    m.authenticate("PLAIN", lambda _: ("\0%s\0%s" % (USER, PASSWORD)).encode())
    assert m.state == "AUTH"
    m.logout()
    r = Raw(petrel.ports["imap"])
    r.line()
    # A NUL inside the password never logs in with the part before it.
    import base64
    b = base64.b64encode(("\0%s\0%s\0x" % (USER, PASSWORD)).encode()).decode()
    r.send("a AUTHENTICATE PLAIN %s\r\n" % b)
    assert not r.line().startswith("a OK")
    r.close()


def test_select_and_idle_woken_by_delivery(petrel):
    deliver(petrel, "first")
    petrel.wait_mailbox(USER, 1)
    r = Raw(petrel.ports["imaps"], tls=True)
    assert r.line().startswith("* OK [CAPABILITY")
    r.send("a LOGIN %s %s\r\n" % (USER, PASSWORD))
    assert r.until("a")[-1].startswith("a OK [CAPABILITY")
    lines = r.until("s") if not r.send("s SELECT INBOX\r\n") else None
    assert lines[-1] == "s OK [READ-WRITE] Select completed."
    exists = [l for l in lines if l.endswith(" EXISTS")]
    n = int(exists[0].split()[1])
    assert n >= 1
    # rev1: what this SELECT claimed, plus what arrives while selected.
    recent = [l for l in lines if l.endswith(" RECENT")]
    k = int(recent[0].split()[1])
    assert any(l.startswith("* OK [UIDVALIDITY ") for l in lines)
    r.send("i IDLE\r\n")
    assert r.line() == "+ idling"
    t0 = time.time()
    deliver(petrel, "second")
    line = r.line()
    assert line == "* %d EXISTS" % (n + 1), line
    assert time.time() - t0 < 10
    assert r.line() == "* %d RECENT" % (k + 1)
    r.send("DONE\r\n")
    assert r.line() == "i OK Idle completed."
    r.send("z LOGOUT\r\n")
    assert r.until("z")[-1] == "z OK Logout completed."
    r.close()


def test_starttls(petrel):
    m = imaplib.IMAP4("127.0.0.1", petrel.ports["imap"])
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    m.starttls(ssl_context=ctx)
    m.login(USER, PASSWORD)
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    # Plaintext after STARTTLS in the same packet is dropped.
    r = Raw(petrel.ports["imap"])
    r.line()
    r.send("a STARTTLS\r\nb LOGIN %s %s\r\n" % (USER, PASSWORD))
    assert r.line() == "a OK Begin TLS negotiation now."
    ctx2 = ssl.create_default_context()
    ctx2.check_hostname = False
    ctx2.verify_mode = ssl.CERT_NONE
    r.sock = ctx2.wrap_socket(r.sock)
    r.send("c NOOP\r\n")
    assert r.line() == "c OK NOOP completed."
    r.close()


def test_compress_deflate(petrel):
    r = Raw(petrel.ports["imap"])
    r.line()
    r.send("a LOGIN %s %s\r\n" % (USER, PASSWORD))
    r.until("a")
    r.send("b COMPRESS DEFLATE\r\n")
    assert r.line() == "b OK DEFLATE active"
    comp = zlib.compressobj(6, zlib.DEFLATED, -15)
    dec = zlib.decompressobj(-15)
    data = b""

    def send(text):
        r.sock.sendall(comp.compress(text.encode()) + comp.flush(zlib.Z_SYNC_FLUSH))

    def lines_until(tag):
        nonlocal data
        out = []
        while True:
            while b"\r\n" in data:
                line, data = data.split(b"\r\n", 1)
                out.append(line.decode())
                if line.startswith(tag.encode() + b" "):
                    return out
            chunk = r.sock.recv(65536)
            assert chunk, "closed"
            data += dec.decompress(chunk)

    send("c CAPABILITY\r\n")
    got = lines_until("c")
    assert "COMPRESS=DEFLATE" not in got[0]
    assert got[-1] == "c OK Capability completed."
    send("d COMPRESS DEFLATE\r\n")
    assert lines_until("d")[-1].startswith("d NO [COMPRESSIONACTIVE]")
    send("e SELECT INBOX\r\n")
    assert lines_until("e")[-1] == "e OK [READ-WRITE] Select completed."
    send("f LOGOUT\r\n")
    assert lines_until("f")[-1] == "f OK Logout completed."
    r.close()


def test_hostile_input(petrel):
    r = Raw(petrel.ports["imap"])
    r.line()
    # No "+" for a literal over the pre-login limit.
    r.send("a LOGIN {4294967295}\r\n")
    assert r.line().startswith("a BAD")
    r.send("b LOGIN {100000}\r\n")
    assert r.line().startswith("b BAD ")
    # A non-synchronizing giant is not read: the connection ends.
    r.send("c LOGIN {100000000+}\r\n")
    lines = []
    try:
        while True:
            lines.append(r.line())
    except EOFError:
        pass
    assert any(l.startswith("* BYE") for l in lines), lines
    r.close()

    # A flood of pipelined commands is answered in order.
    r = Raw(petrel.ports["imap"])
    r.line()
    r.send("a LOGIN %s %s\r\n" % (USER, PASSWORD))
    r.until("a")
    n = 20000
    r.send("".join("p%d NOOP\r\n" % i for i in range(n)))
    for i in range(n):
        assert r.line() == "p%d OK NOOP completed." % i
    # Garbage counts toward the error budget.
    r.send("".join("x%d FOO\r\n" % i for i in range(30)))
    lines = []
    try:
        while True:
            lines.append(r.line())
    except EOFError:
        pass
    assert "* BYE Too many invalid commands." in lines
    r.close()
