"""bench/imap/imapload.py -- the IMAP load generator of bench/imap/run.

Many IMAP connections (plain or TLS) driven by one thread through a
selector.  Each connection runs a script: a Python generator that yields
requests (a command to send and wait for, IDLE and DONE, a barrier) and is
resumed with the answer.  Responses are read whole, literals included
(RFC 9051 4.3), and every tagged answer must be OK: anything else stops
the run with the line.  Bounded everywhere: response sizes, time without
progress, connections in setup at once.

Standard library only; run with Debian's /usr/bin/python3.
"""

import collections
import os
import selectors
import socket
import ssl
import time

from benchlib import BenchError

MAX_LINE = 1 << 20		# one response line outside literals
MAX_RESPONSE = 64 << 20		# one response, literals included
STALL = 60.0			# seconds without progress on a busy connection


class Result:
    """What a command got: its untagged responses (bytes, literals inline),
    the sizes of the literals among them, the tagged line, the latency."""
    __slots__ = ("untagged", "literals", "tagged", "seconds")

    def __init__(self, untagged, literals, tagged, seconds):
        self.untagged = untagged
        self.literals = literals
        self.tagged = tagged
        self.seconds = seconds


# Requests a script yields:
#   ("cmd", line)     send "<tag> line", resume with a Result once tagged OK
#   ("idle",)         send "<tag> IDLE", resume with seconds until "+"
#   ("done",)         send "DONE", resume with the IDLE's Result
#   ("barrier",)      park until Driver.release(); resume with None
#   ("close",)        close the connection, resume with None
#   ("connect",)      open a new connection (greeting read), resume with None

class Conn:
    """One connection and the script driving it."""

    def __init__(self, driver, idx, script):
        self.driver = driver
        self.idx = idx
        self.script = script
        self.sock = None
        self.events = 0
        self.tagno = 0
        self.parked = False
        self.done = False
        self.started = False
        self.idle_tag = None
        self.waiting = None
        self.logging_out = False
        self.last_progress = time.monotonic()

    # --- life

    def fail(self, why):
        raise BenchError("connection %d: %s" % (self.idx, why))

    def start(self):
        self.started = True
        self.resume(None)

    def resume(self, value):
        """Runs the script to its next request and starts that request."""
        try:
            req = self.script.send(value)
        except StopIteration:
            self.close()
            self.done = True
            self.driver.finished(self)
            return
        kind = req[0]
        if kind == "cmd":
            self.command(req[1], "tagged")
        elif kind == "idle":
            self.command(b"IDLE", "cont")
            self.idle_tag = self.tag
        elif kind == "done":
            if self.idle_tag is None:
                self.fail("DONE without IDLE")
            self.tag, self.idle_tag = self.idle_tag, None
            self.expect("tagged")
            self.send(b"DONE\r\n")
        elif kind == "barrier":
            self.parked = True
            self.driver.parked(self)
        elif kind == "close":
            self.close()
            self.driver.later(self, None)
        elif kind == "connect":
            self.connect()
        else:
            self.fail("script asked for %r" % (kind,))

    def connect(self):
        d = self.driver
        self.inbuf = bytearray()
        self.outbuf = b""
        self.scan = 0
        self.lit_left = 0
        self.lits = []
        self.untagged = []
        self.lits_seen = []
        self.size = 0
        self.handshaking = False
        self.connecting = True
        self.expect("greeting")
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", d.port))
        self.sock = s
        self.events = selectors.EVENT_WRITE
        d.sel.register(s, self.events, self)

    def close(self):
        if self.sock is not None:
            self.driver.sel.unregister(self.sock)
            self.sock.close()
            self.sock = None

    # --- commands

    def expect(self, kind):
        self.waiting = kind
        self.t0 = time.perf_counter()
        self.last_progress = time.monotonic()

    def command(self, line, kind):
        self.tagno += 1
        self.tag = b"a%d" % self.tagno
        self.logging_out = line == b"LOGOUT"
        self.expect(kind)
        self.send(self.tag + b" " + line + b"\r\n")

    def send(self, data):
        self.outbuf += data
        self.flush()

    def flush(self):
        if self.handshaking or self.connecting:
            return
        while self.outbuf:
            try:
                n = self.sock.send(self.outbuf)
            except (BlockingIOError, InterruptedError, ssl.SSLWantWriteError,
                    ssl.SSLWantReadError):
                break
            except OSError as e:
                self.fail("write: %s" % e)
            self.outbuf = self.outbuf[n:]
        self.want(selectors.EVENT_READ | (selectors.EVENT_WRITE if self.outbuf else 0))

    def want(self, events):
        if self.sock is not None and events != self.events:
            self.events = events
            self.driver.sel.modify(self.sock, events, self)

    # --- I/O events

    def on_event(self, mask):
        self.last_progress = time.monotonic()
        if self.connecting:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail("connect: %s" % os.strerror(err))
            self.connecting = False
            if self.driver.tls is not None:
                # Wrapped once connected: the TLS object needs the peer.
                self.driver.sel.unregister(self.sock)
                self.sock = self.driver.tls.wrap_socket(self.sock,
                                                        do_handshake_on_connect=False)
                self.driver.sel.register(self.sock, self.events, self)
                self.handshaking = True
        if self.handshaking:
            try:
                self.sock.do_handshake()
            except ssl.SSLWantReadError:
                self.want(selectors.EVENT_READ)
                return
            except ssl.SSLWantWriteError:
                self.want(selectors.EVENT_WRITE)
                return
            except (ssl.SSLError, OSError) as e:
                self.fail("TLS handshake: %s" % e)
            self.handshaking = False
            self.want(selectors.EVENT_READ)
        if mask & selectors.EVENT_WRITE and self.outbuf:
            self.flush()
        if self.outbuf:
            self.want(selectors.EVENT_READ | selectors.EVENT_WRITE)
        else:
            self.want(selectors.EVENT_READ)
        self.read()

    def read(self):
        # A TLS socket may hold decrypted bytes the selector cannot see:
        # read until it would block.
        while self.sock is not None:
            try:
                data = self.sock.recv(262144)
            except (BlockingIOError, InterruptedError, ssl.SSLWantReadError,
                    ssl.SSLWantWriteError):
                return
            except OSError as e:
                self.fail("read: %s" % e)
            if not data:
                if self.logging_out and self.waiting is None:
                    self.close()	# LOGOUT answered: the server's close
                    return
                self.fail("server closed the connection (waiting for %s)" % self.waiting)
            self.inbuf += data
            self.parse()
            if self.driver.tls is None:
                return

    def parse(self):
        """Takes every complete response out of inbuf (RFC 9051 4.3: a line
        that ends in {n} goes on after n octets)."""
        buf = self.inbuf
        while self.sock is not None:
            if self.lit_left:
                avail = len(buf) - self.scan
                if avail < self.lit_left:
                    self.lit_left -= avail
                    self.scan = len(buf)
                    return
                self.scan += self.lit_left
                self.lit_left = 0
            e = buf.find(b"\r\n", self.scan)
            if e < 0:
                if len(buf) - self.scan > MAX_LINE:
                    self.fail("response line over %d bytes" % MAX_LINE)
                return
            if e > self.scan and buf[e - 1] == 0x7d:	# "}"
                o = buf.rfind(b"{", self.scan, e)
                if o >= 0 and buf[o + 1:e - 1].isdigit():
                    n = int(buf[o + 1:e - 1])
                    if e + 2 + n > MAX_RESPONSE:
                        self.fail("response over %d bytes" % MAX_RESPONSE)
                    self.lits.append(n)
                    self.lit_left = n
                    self.scan = e + 2
                    continue
            resp = bytes(buf[:e + 2])
            del buf[:e + 2]
            self.scan = 0
            lits, self.lits = self.lits, []
            self.dispatch(resp, lits)

    def dispatch(self, resp, lits):
        w = self.waiting
        if w == "greeting":
            if not resp.startswith(b"* OK"):
                self.fail("greeting: %r" % resp[:200])
            self.driver.later(self, None)
            self.waiting = None
            return
        if resp.startswith(b"* "):
            if resp.startswith(b"* BYE") and w is not None and not self.logging_out:
                self.fail("BYE while waiting for %s: %r" % (w, resp[:200]))
            self.untagged.append(resp)
            self.size += len(resp)
            self.lits_seen.extend(lits)
            if self.size > MAX_RESPONSE:
                self.fail("response over %d bytes" % MAX_RESPONSE)
            return
        if resp.startswith(b"+"):
            if w != "cont":
                self.fail("unexpected continuation %r" % resp[:200])
            self.waiting = None
            self.driver.later(self, time.perf_counter() - self.t0)
            return
        if w == "tagged" and resp.startswith(self.tag + b" "):
            if resp[len(self.tag) + 1:len(self.tag) + 4] != b"OK ":
                self.fail("%r" % resp[:300])
            r = Result(self.untagged, self.lits_seen, resp,
                       time.perf_counter() - self.t0)
            self.untagged, self.size, self.lits_seen = [], 0, []
            self.waiting = None
            self.driver.later(self, r)
            return
        self.fail("unexpected response %r (waiting for %s)" % (resp[:200], w))


class Driver:
    """Runs scripts on many connections in one selector loop.

    run(): until every started script is parked at a barrier or finished;
    at most `window` scripts are between their start and their first
    barrier at once (so thousands of connections open without overflowing
    the server's listen queue).  release(): resumes the parked scripts."""

    def __init__(self, port, tls=None, window=1_000_000):
        self.port = port
        self.tls = tls
        self.window = window
        self.sel = selectors.DefaultSelector()
        self.conns = []
        self.ready = collections.deque()	# (conn, value) to resume
        self.waiting_start = collections.deque()
        self.active = 0			# started, not parked, not done
        self.n_parked = 0
        self.n_done = 0

    def add(self, script):
        c = Conn(self, len(self.conns), script)
        self.conns.append(c)
        self.waiting_start.append(c)
        return c

    def later(self, conn, value):
        self.ready.append((conn, value))

    def parked(self, conn):
        self.active -= 1
        self.n_parked += 1

    def finished(self, conn):
        self.active -= 1
        self.n_done += 1

    def release(self):
        for c in self.conns:
            if c.parked:
                c.parked = False
                self.n_parked -= 1
                self.active += 1
                self.later(c, None)

    def run(self, deadline):
        sel = self.sel
        last_check = time.monotonic()
        while True:
            while self.waiting_start and self.active < self.window:
                c = self.waiting_start.popleft()
                self.active += 1
                c.start()
            while self.ready:
                c, v = self.ready.popleft()
                c.resume(v)
                while self.waiting_start and self.active < self.window:
                    c = self.waiting_start.popleft()
                    self.active += 1
                    c.start()
            if self.active == 0 and not self.waiting_start:
                return
            for key, mask in sel.select(timeout=deadline.left(1.0)):
                key.data.on_event(mask)
            now = time.monotonic()
            if now - last_check > 5:
                last_check = now
                for c in self.conns:
                    if c.started and not c.parked and not c.done and \
                            c.sock is not None and now - c.last_progress > STALL:
                        c.fail("no progress for %.0f s (waiting for %s)"
                               % (STALL, c.waiting))

    def close(self):
        for c in self.conns:
            c.close()
        self.sel.close()


def client_tls():
    """A client TLS context that accepts the servers' self-signed
    certificates (the bench measures, it does not authenticate)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def quote(s):
    """An IMAP quoted string (RFC 9051 4.3) of an ASCII text."""
    return b'"' + s.encode().replace(b"\\", b"\\\\").replace(b'"', b'\\"') + b'"'
