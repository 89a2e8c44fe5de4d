"""A loopback SMTP server for outbound tests: it records every envelope and
message, and answers as a test tells it (codes per recipient, after DATA,
capabilities offered or not, STARTTLS with a given certificate, AUTH).

    sink = SmtpSink(rcpt_replies={"bad@remote.test": "550 5.1.1 no such user"})
    sink.start()
    ... deliver to 127.0.0.1:sink.port ...
    msg = sink.wait_messages(1)[0]
    assert msg.rcpts == ["good@remote.test"]
    sink.stop()

One thread accepts, one thread serves each connection; everything recorded
is guarded by a lock and read through the wait_* helpers.
"""
import base64
import socket
import ssl
import threading
import time


class Message:
    """One transaction that reached the end of its data."""

    def __init__(self, session):
        self.session = session
        self.mail_from = None       # str, "" for the null sender
        self.mail_params = {}       # {"SIZE": "123", "BODY": "8BITMIME", ...}
        self.rcpts = []             # accepted recipients, as given
        self.rcpt_params = {}       # address -> {"NOTIFY": ..., "ORCPT": ...}
        self.data = b""             # the message as received (unstuffed)
        self.bdat = False           # sent with BDAT rather than DATA
        self.reply = None           # what the sink answered after the data


class Session:
    """One connection, for assertions about what the client did."""

    def __init__(self, peer):
        self.peer = peer
        self.helo = None
        self.verb = None            # "EHLO" or "HELO"
        self.tls = False
        self.tls_version = None
        self.auth_user = None
        self.commands = []          # every command line, decoded latin-1
        self.batches = []           # commands grouped by the recv() that
                                    # completed them (pipelining shows here)
        self.quit = False
        self.closed = False


def _reply_code(text):
    return int(text[:3])


class SmtpSink:
    def __init__(self, host="127.0.0.1", port=0, hostname="sink.test",
                 greeting=None, ehlo_reply=None, helo_reply=None,
                 starttls=False, certfile=None, keyfile=None,
                 implicit_tls=False, starttls_reply="220 2.0.0 Ready to start TLS",
                 auth=None, auth_requires_tls=False,
                 pipelining=True, eightbitmime=True, smtputf8=True,
                 size=None, chunking=True, dsn=True,
                 mail_reply="250 2.1.0 Ok", rcpt_replies=None,
                 rcpt_default="250 2.1.5 Ok", data_reply=None,
                 close_in_data=False, close_after=None, reply_delay=0.0,
                 extra_ehlo=()):
        self.host = host
        self.hostname = hostname
        self.greeting = greeting or f"220 {hostname} ESMTP sink"
        self.ehlo_reply = ehlo_reply    # full override, e.g. "502 5.5.1 no"
        self.helo_reply = helo_reply or f"250 {hostname}"
        self.starttls = starttls
        self.implicit_tls = implicit_tls
        self.starttls_reply = starttls_reply
        self.auth = auth                # {"user": "password"} or None
        self.auth_requires_tls = auth_requires_tls
        self.caps = {"PIPELINING": pipelining, "8BITMIME": eightbitmime,
                     "SMTPUTF8": smtputf8, "CHUNKING": chunking, "DSN": dsn}
        self.size = size                # SIZE limit to announce, or None
        self.extra_ehlo = list(extra_ehlo)
        self.mail_reply = mail_reply
        self.rcpt_replies = {k.lower(): v for k, v in (rcpt_replies or {}).items()}
        self.rcpt_default = rcpt_default
        self.data_reply = data_reply    # str, callable(Message) -> str, or None
        self.close_in_data = close_in_data  # drop the connection mid-DATA
        self.close_after = close_after  # a command verb: close instead of replying
        self.reply_delay = reply_delay  # seconds before every reply
        self.ssl_ctx = None
        if starttls or implicit_tls:
            if not certfile or not keyfile:
                raise ValueError("STARTTLS needs certfile and keyfile")
            self.ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.ssl_ctx.load_cert_chain(certfile, keyfile)
        self.messages = []
        self.sessions = []
        self.lock = threading.Lock()
        self.cond = threading.Condition(self.lock)
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.port = self._sock.getsockname()[1]
        self._stop = False
        self._threads = []
        self._conns = []
        self._seq = 0

    # ---- control ------------------------------------------------------
    def start(self):
        self._sock.listen(64)
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def stop(self):
        self._stop = True
        # shutdown first: close() alone leaves the port listening while
        # the accept thread is blocked in accept() on it.
        for op in (lambda: self._sock.shutdown(socket.SHUT_RDWR), self._sock.close):
            try:
                op()
            except OSError:
                pass
        with self.lock:
            conns = list(self._conns)
        for c in conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        for t in self._threads:
            t.join(5)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()

    def wait_messages(self, n, timeout=20):
        """The first n messages, waiting up to timeout seconds for them."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while len(self.messages) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{len(self.messages)} of {n} messages arrived")
                self.cond.wait(left)
            return list(self.messages[:n])

    def wait_sessions(self, n, closed=True, timeout=20):
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(1 for s in self.sessions if s.closed or not closed) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"fewer than {n} sessions")
                self.cond.wait(left)
            return list(self.sessions)

    # ---- serving --------------------------------------------------------
    def _accept_loop(self):
        while not self._stop:
            try:
                conn, peer = self._sock.accept()
            except OSError:
                return
            with self.lock:
                self._conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn, peer), daemon=True)
            t.start()
            self._threads.append(t)

    def _serve(self, conn, peer):
        session = Session(peer)
        with self.cond:
            self.sessions.append(session)
        io = _Io(conn)
        try:
            if self.implicit_tls:
                io.wrap(self.ssl_ctx)
                session.tls, session.tls_version = True, io.sock.version()
            _Dialog(self, io, session).run()
        except (OSError, ssl.SSLError, ConnectionError, _Closed):
            pass
        finally:
            try:
                io.sock.close()
            except OSError:
                pass
            with self.cond:
                session.closed = True
                self.cond.notify_all()

    def _next_id(self):
        with self.lock:
            self._seq += 1
            return self._seq

    def _record(self, msg):
        with self.cond:
            self.messages.append(msg)
            self.cond.notify_all()

    def ehlo_lines(self, tls):
        caps = [k for k, on in self.caps.items() if on]
        if self.size is not None:
            caps.append(f"SIZE {self.size}")
        caps.append("ENHANCEDSTATUSCODES")
        if self.starttls and not tls:
            caps.append("STARTTLS")
        if self.auth is not None:
            caps.append("AUTH PLAIN LOGIN")
        return caps + self.extra_ehlo


class _Closed(Exception):
    pass


class _Io:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.sock.settimeout(60)

    def wrap(self, ctx):
        self.buf = b""      # RFC 3207 §4.2: nothing from before the handshake
        self.sock = ctx.wrap_socket(self.sock, server_side=True)
        self.sock.settimeout(60)

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise _Closed()
        self.buf += data

    def line(self):
        """One line without CRLF, and whether more bytes were already
        buffered after it (the client pipelined)."""
        while b"\r\n" not in self.buf:
            if len(self.buf) > 100000:
                raise _Closed()
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line, bool(self.buf)

    def exact(self, n):
        while len(self.buf) < n:
            self._fill()
        data, self.buf = self.buf[:n], self.buf[n:]
        return data

    def send(self, text):
        self.sock.sendall(text.encode() + b"\r\n")


class _Dialog:
    def __init__(self, sink, io, session):
        self.sink, self.io, self.s = sink, io, session
        self.msg = None
        self.batch = []

    def reply(self, text):
        if self.sink.reply_delay:
            time.sleep(self.sink.reply_delay)
        self.io.send(text)

    def run(self):
        sink = self.sink
        self.reply(sink.greeting)
        if _reply_code(sink.greeting) >= 400:
            self._read_command()    # whatever comes (QUIT), then close
            return
        while True:
            line = self._read_command()
            verb, _, arg = line.partition(" ")
            verb = verb.upper()
            if sink.close_after and verb == sink.close_after.upper():
                return
            handler = getattr(self, "cmd_" + verb.lower(), None)
            if handler is None:
                self.reply("500 5.5.2 unknown command")
                continue
            if handler(arg) is False:
                return

    def _read_command(self):
        raw, more = self.io.line()
        line = raw.decode("latin-1")
        with self.sink.lock:
            self.s.commands.append(line)
            self.batch.append(line)
            if not more:
                self.s.batches.append(self.batch)
                self.batch = []
        return line

    # ---- commands -------------------------------------------------------
    def cmd_ehlo(self, arg):
        self.s.helo, self.s.verb = arg, "EHLO"
        if self.sink.ehlo_reply:
            self.reply(self.sink.ehlo_reply)
            return
        lines = [self.sink.hostname] + self.sink.ehlo_lines(self.s.tls)
        out = [f"250-{x}" for x in lines[:-1]] + [f"250 {lines[-1]}"]
        self.reply("\r\n".join(out))

    def cmd_helo(self, arg):
        self.s.helo, self.s.verb = arg, "HELO"
        self.reply(self.sink.helo_reply)

    def cmd_starttls(self, arg):
        if not self.sink.starttls or self.s.tls:
            self.reply("503 5.5.1 STARTTLS not available")
            return
        self.reply(self.sink.starttls_reply)
        if _reply_code(self.sink.starttls_reply) != 220:
            return
        self.io.wrap(self.sink.ssl_ctx)
        self.s.tls, self.s.tls_version = True, self.io.sock.version()
        self.s.helo = None
        self.msg = None

    def cmd_auth(self, arg):
        if self.sink.auth is None or (self.sink.auth_requires_tls and not self.s.tls):
            self.reply("503 5.5.1 AUTH not available")
            return
        parts = arg.split(" ", 1)
        mech = parts[0].upper()
        try:
            if mech == "PLAIN":
                if len(parts) == 2:
                    resp = parts[1]
                else:
                    self.reply("334 ")
                    resp = self.io.line()[0].decode()
                _, user, pw = base64.b64decode(resp).decode().split("\0")
            elif mech == "LOGIN":
                self.reply("334 VXNlcm5hbWU6")
                user = base64.b64decode(self.io.line()[0]).decode()
                self.reply("334 UGFzc3dvcmQ6")
                pw = base64.b64decode(self.io.line()[0]).decode()
            else:
                self.reply("504 5.5.4 mechanism not supported")
                return
        except (ValueError, UnicodeDecodeError):
            self.reply("501 5.5.2 bad AUTH data")
            return
        if self.sink.auth.get(user) == pw:
            self.s.auth_user = user
            self.reply("235 2.7.0 Authentication successful")
        else:
            self.reply("535 5.7.8 Authentication credentials invalid")

    @staticmethod
    def _params(text):
        out = {}
        for p in text.split():
            k, _, v = p.partition("=")
            out[k.upper()] = v
        return out

    def cmd_mail(self, arg):
        if not arg.upper().startswith("FROM:<"):
            self.reply("501 5.5.4 syntax")
            return
        path, _, rest = arg[6:].partition(">")
        self.msg = Message(self.s)
        self.msg.mail_from = path
        self.msg.mail_params = self._params(rest)
        self.reply(self.sink.mail_reply)
        if _reply_code(self.sink.mail_reply) >= 400:
            self.msg = None

    def cmd_rcpt(self, arg):
        if self.msg is None:
            self.reply("503 5.5.1 MAIL first")
            return
        if not arg.upper().startswith("TO:<"):
            self.reply("501 5.5.4 syntax")
            return
        path, _, rest = arg[4:].partition(">")
        text = self.sink.rcpt_replies.get(path.lower(), self.sink.rcpt_default)
        if _reply_code(text) < 300:
            self.msg.rcpts.append(path)
            self.msg.rcpt_params[path] = self._params(rest)
        self.reply(text)

    def _finish(self, data, bdat):
        msg, self.msg = self.msg, None
        msg.data, msg.bdat = data, bdat
        reply = self.sink.data_reply
        if callable(reply):
            reply = reply(msg)
        if reply is None:
            reply = f"250 2.0.0 Ok: queued as SINK{self.sink._next_id()}"
        msg.reply = reply
        if _reply_code(reply) < 300:
            self.sink._record(msg)
        self.reply(reply)

    def cmd_data(self, arg):
        if self.msg is None or not self.msg.rcpts:
            self.reply("503 5.5.1 no valid recipients" if self.msg else "503 5.5.1 MAIL first")
            return
        self.reply("354 End data with <CR><LF>.<CR><LF>")
        lines = []
        while True:
            line, _ = self.io.line()
            if self.sink.close_in_data:
                return False
            if line == b".":
                break
            lines.append(line[1:] if line.startswith(b".") else line)
        self._finish(b"".join(x + b"\r\n" for x in lines), False)

    def cmd_bdat(self, arg):
        parts = arg.split()
        if not parts or not parts[0].isdigit():
            self.reply("501 5.5.4 syntax")
            return
        data = self.io.exact(int(parts[0]))
        if self.sink.close_in_data:
            return False
        if self.msg is None:
            self.reply("503 5.5.1 MAIL first")
            return
        self.msg.data += data
        if len(parts) > 1 and parts[1].upper() == "LAST":
            if not self.msg.rcpts:
                self.msg = None
                self.reply("554 5.5.1 no valid recipients")
                return
            self._finish(self.msg.data, True)
        else:
            self.reply(f"250 2.0.0 {len(data)} octets received")

    def cmd_rset(self, arg):
        self.msg = None
        self.reply("250 2.0.0 Ok")

    def cmd_noop(self, arg):
        self.reply("250 2.0.0 Ok")

    def cmd_quit(self, arg):
        self.s.quit = True
        self.reply("221 2.0.0 Bye")
        return False
