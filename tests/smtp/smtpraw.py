"""A raw SMTP client for hostile input: exact bytes out, replies parsed."""
import socket
import ssl


class RawSMTP:
    def __init__(self, port, host="127.0.0.1", timeout=10, tls=False):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        if tls:
            self.sock = client_tls().wrap_socket(self.sock)
        self.buf = b""

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed; buffered %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return line.rstrip(b"\r").decode("utf-8", "replace")

    def reply(self):
        """Returns (code, [lines]) of one possibly multi-line reply."""
        lines = []
        while True:
            l = self.line()
            lines.append(l)
            if len(l) < 4 or l[3] != "-":
                return int(l[:3]), lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def hello(self, name="client.test"):
        """Reads the greeting and says EHLO; returns both replies."""
        return self.reply(), self.cmd("EHLO " + name)

    def to_data(self, sender="a@sender.test", rcpt="bob@example.org"):
        """MAIL, RCPT and DATA; returns the codes of their three replies."""
        return [self.cmd("MAIL FROM:<%s>" % sender)[0],
                self.cmd("RCPT TO:<%s>" % rcpt)[0],
                self.cmd("DATA")[0]]

    def starttls(self):
        code, _ = self.cmd("STARTTLS")
        assert code == 220
        assert self.buf == b""
        self.sock = client_tls().wrap_socket(self.sock)

    def closed(self):
        """True if the server closed the connection (EOF)."""
        try:
            self.sock.settimeout(5)
            return self.sock.recv(1) == b""
        except (ConnectionResetError, ssl.SSLError):
            return True

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def client_tls():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx
