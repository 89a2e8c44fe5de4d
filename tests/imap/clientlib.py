"""Helpers for the IMAP tests with real clients, concurrent sessions and
hostile input: a petrel serving IMAP, mail delivered the production way
(SMTP, queue, local delivery), imaplib sessions, and a raw IMAP client on
a bare socket for exact bytes (literals included)."""
import imaplib
import os
import re
import smtplib
import socket
import ssl
import time

from conftest import Petrel, rewrite_config


def password(user):
    return "secret-%s" % user


def make_imap_petrel(tmp_path_factory, users, limits=None, auth=None):
    """quickstart, every listener on a free loopback port, failed logins
    answered after 50 ms (the default 2 s would only slow the tests), and
    one account per user with password(user)."""
    p = Petrel(tmp_path_factory.mktemp("petrel"))
    p.quickstart()
    rewrite_config(p.conf, p.ports,
                   dict({"max_connections_per_ip": "300"}, **(limits or {})),
                   {"auth": dict({"failure_delay": "50"}, **(auth or {}))})
    assert "imap" in p.ports and "imaps" in p.ports, open(p.conf).read()
    for u in users:
        p.cli("user", "add", u, "--password-stdin", input=password(u) + "\n")
    return p


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def cert_path(p):
    """The server's (self-signed) certificate, for clients that pin it."""
    return os.path.join(p.data, "tls", "cert.pem")


def login(p, user, tls=False):
    if tls:
        c = imaplib.IMAP4_SSL("127.0.0.1", p.ports["imaps"], ssl_context=client_tls(),
                              timeout=30)
    else:
        c = imaplib.IMAP4("127.0.0.1", p.ports["imap"], timeout=30)
    typ, _ = c.login(user, password(user))
    assert typ == "OK"
    return c


def deliver(p, user, msg, sender="alice@sender.test", name="INBOX"):
    """Sends msg through SMTP and waits (bounded) until local delivery put
    it into user's mailbox; returns the stored bytes (Received added)."""
    before = len(p.mailbox(user, name))
    with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=30) as s:
        s.ehlo("client.test")
        s.sendmail(sender, [user], msg)
    got = p.wait_mailbox(user, before + 1, name)
    assert len(got) > before, "not delivered within 20 s:\n" + p.read_log()[-3000:]
    return got[-1][2]


def append(c, mailbox, msg, flags=None):
    """APPENDs msg with imaplib; returns the UID of APPENDUID (RFC 4315)."""
    typ, data = c.append(mailbox, flags, None, msg)
    assert typ == "OK", data
    m = re.search(rb"APPENDUID \d+ (\d+)", data[0])
    assert m, data
    return int(m.group(1))


def big_message(subject, size):
    """An 8-bit text message of about size bytes, CRLF, 78-byte lines."""
    head = ("From: Alice <alice@sender.test>\r\nTo: x@example.org\r\n"
            "Subject: %s\r\nMIME-Version: 1.0\r\n"
            "Content-Type: text/plain; charset=utf-8\r\n"
            "Content-Transfer-Encoding: 8bit\r\n\r\n" % subject).encode()
    line = ("%-72s" % "caf\u00e9 na\u00efve \u20ac line").encode()[:74] + b"\r\n"
    return head + line * max(1, (size - len(head)) // len(line))


class RawIMAP:
    """An IMAP client on a bare socket: exact bytes out, whole responses
    in (a line ending in {n} goes on after n octets, RFC 9051 4.3)."""

    def __init__(self, port, tls=False, timeout=30):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        if tls:
            self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""
        self.n = 0

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(self.buf[-300:])
        self.buf += chunk

    def response(self):
        """One response, literals inline, without its final CRLF."""
        pos = 0
        while True:
            e = self.buf.find(b"\r\n", pos)
            if e < 0:
                self._fill()
                continue
            m = re.search(rb"\{(\d+)\}$", self.buf[pos:e])
            if not m:
                out, self.buf = self.buf[:e], self.buf[e + 2:]
                return out
            end = e + 2 + int(m.group(1))
            while len(self.buf) < end:
                self._fill()
            pos = end

    def greeting(self):
        line = self.response()
        assert line.startswith(b"* OK"), line
        return line

    def until(self, tag):
        """Responses up to and including the one tagged tag."""
        out = []
        while True:
            r = self.response()
            out.append(r)
            if r.startswith(tag + b" "):
                return out

    def cmd(self, text):
        """Sends "<tag> text" and returns (tagged line, untagged list)."""
        self.n += 1
        tag = b"t%d" % self.n
        self.send(tag + b" " + (text if isinstance(text, bytes) else text.encode()) + b"\r\n")
        out = self.until(tag)
        return out[-1], out[:-1]

    def login(self, user, pw=None):
        tagged, _ = self.cmd(b"LOGIN " + quote(user) + b" " + quote(pw or password(user)))
        assert b" OK " in tagged, tagged
        return tagged

    def start_tls(self):
        """TLS on the socket, after the server's OK to STARTTLS. Bytes
        buffered before the handshake would be plaintext: there must be
        none."""
        assert self.buf == b"", self.buf
        self.sock = client_tls().wrap_socket(self.sock)

    def closed(self, timeout=5):
        """True once the server closed the connection (data before EOF is
        read and dropped)."""
        self.sock.settimeout(timeout)
        try:
            while self.sock.recv(65536):
                pass
            return True
        except (ConnectionResetError, BrokenPipeError):
            return True
        except socket.timeout:
            return False

    def close(self):
        self.sock.close()


def quote(s):
    """An IMAP quoted string (RFC 9051 4.3)."""
    b = s if isinstance(s, bytes) else s.encode()
    return b'"' + b.replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'


def status(tagged):
    """OK, NO or BAD of a tagged line."""
    return tagged.split(b" ", 2)[1]


def vm_rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise AssertionError("no VmRSS for %d" % pid)


def wait_for(pred, timeout=10, step=0.02):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(step)
    return pred()
