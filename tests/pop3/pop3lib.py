"""Helpers for the POP3 tests: a petrel with its POP3 listeners and an
[auth] section, mail put into a mailbox through SMTP (local delivery), and
raw POP3 over a socket for what poplib hides (exact bytes, pipelining)."""
import poplib
import re
import smtplib
import socket
import ssl
import time

from conftest import Petrel, rewrite_config

PASSWORD = "secret-bob@example.org"
USER = "bob@example.org"


def enable_pop3(conf, auth=None):
    """Sets auth's keys in the [auth] section quickstart writes (the POP3
    listeners are live in it already)."""
    out = []
    for line in open(conf).read().splitlines():
        out.append(line)
        if line.strip() == "[auth]" and auth:
            out.extend("%s = %s" % kv for kv in auth.items())
    assert not auth or any(l.strip() == "[auth]" for l in out), "no [auth] in " + conf
    open(conf, "w").write("\n".join(out) + "\n")


def make_pop3_petrel(tmp_path_factory, auth=None, limits=None,
                     users=(USER, "carol@example.org")):
    p = Petrel(tmp_path_factory.mktemp("petrel"))
    p.quickstart()
    enable_pop3(p.conf, dict({"failure_delay": "50"}, **(auth or {})))
    rewrite_config(p.conf, p.ports, dict({"max_connections_per_ip": "200"},
                                         **(limits or {})))
    assert "pop3" in p.ports and "pop3s" in p.ports, open(p.conf).read()
    for u in users:
        p.cli("user", "add", u, "--password-stdin", input="secret-%s\n" % u)
    return p


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def login(petrel, user=USER, password=None):
    c = poplib.POP3("127.0.0.1", petrel.ports["pop3"], timeout=20)
    c.user(user)
    c.pass_(password if password is not None else "secret-%s" % user)
    return c


def stat(petrel, user=USER):
    c = login(petrel, user)
    try:
        return c.stat()
    finally:
        c.quit()


def send(petrel, body, rcpt=USER, sender="alice@sender.test"):
    """Sends body through SMTP and waits (bounded) until local delivery put
    it into rcpt's INBOX, seen through POP3 STAT. Returns the new count."""
    before = stat(petrel, rcpt)[0]
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(sender, [rcpt], body)
    deadline = time.time() + 20
    while time.time() < deadline:
        n = stat(petrel, rcpt)[0]
        if n > before:
            return n
        time.sleep(0.1)
    raise AssertionError("message to %s not delivered within 20 s:\n%s"
                         % (rcpt, petrel.read_log()[-3000:]))


def strip_received(data):
    """A delivered message is the message as sent after the Received
    header the receiving session added (folded, ending at "; date")."""
    assert data.startswith(b"Received: from "), data[:200]
    end = data.index(b"\r\n", data.index(b"; ")) + 2
    return data[end:]


def clear_mailbox(petrel, user=USER):
    c = login(petrel, user)
    n, _ = c.stat()
    for i in range(1, n + 1):
        c.dele(i)
    c.quit()


class RawPOP3:
    """A POP3 client on a bare socket: exact bytes in and out."""

    def __init__(self, port, tls=False):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=20)
        if tls:
            self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def multi_raw(self):
        """The raw bytes of a multi-line body, terminator included."""
        while True:
            if self.buf.startswith(b".\r\n"):
                end = 3
            else:
                i = self.buf.find(b"\r\n.\r\n")
                end = i + 5 if i != -1 else -1
            if end != -1:
                raw, self.buf = self.buf[:end], self.buf[end:]
                return raw
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(self.buf[-200:])
            self.buf += chunk

    def eof(self):
        """True once the server closed (after any bytes still buffered)."""
        try:
            return self.sock.recv(1) == b"" and self.buf == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        self.sock.close()


def unstuff(raw):
    """The message a client makes of a multi-line body (RFC 1939 §3)."""
    assert raw.endswith(b".\r\n"), raw[-20:]
    body = raw[:-3]
    lines = body.split(b"\r\n")
    return b"\r\n".join(l[1:] if l.startswith(b".") else l for l in lines)
