"""Integration-test fixtures: a real `petrel serve` on free loopback ports in a
temporary data dir, set up the way a user does it (`petrel quickstart`)."""
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PETREL = os.environ.get("PETREL_BIN", os.path.join(ROOT, "build", "petrel"))
DOMAIN = "example.org"
HOSTNAME = "mx.example.org"


_handed_out = set()


def free_port():
    """A port nothing listens on now, never the same twice in this run: the
    kernel may hand a just-closed ephemeral port out again at once."""
    while True:
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        if port not in _handed_out:
            _handed_out.add(port)
            return port


def rewrite_config(path, ports, limits=None, sections=None):
    """Moves every listener to a free port and sets keys: limits is
    {key: value} for [limits], sections {section: {key: value}} for any
    other ([auth], [submission], [outbound]...). Keys already in the file
    are replaced in place, missing sections appended."""
    want = {name: dict(keys) for name, keys in (sections or {}).items()}
    if limits:
        want.setdefault("limits", {}).update(limits)
    out, section = [], None
    for line in open(path).read().splitlines():
        m = re.match(r"\s*\[([^\]]+)\]", line)
        if m:
            section = m.group(1)
        key = re.match(r"\s*([a-z_]+)\s*=", line)
        if key and section and section.startswith("listen."):
            if key.group(1) == "port":
                name = section[len("listen."):]
                ports[name] = free_port()
                line = "port = %d" % ports[name]
        if key and section in want and key.group(1) in want[section]:
            line = "%s = %s" % (key.group(1), want[section].pop(key.group(1)))
        out.append(line)
    for name, keys in want.items():
        if not keys:
            continue
        header = "[%s]" % name
        if header in (l.strip() for l in out):
            i = [l.strip() for l in out].index(header)
            for k, v in keys.items():
                out.insert(i + 1, "%s = %s" % (k, v))
        else:
            out.append(header)
            out.extend("%s = %s" % kv for kv in keys.items())
    open(path, "w").write("\n".join(out) + "\n")


class Petrel:
    """One data dir and, once started, one running daemon."""

    def __init__(self, data):
        self.data = str(data)
        self.conf = os.path.join(self.data, "petrel.conf")
        self.ports = {}
        self.proc = None
        self.log_path = os.path.join(self.data, "serve.log")
        self.admin_password = None

    def cli(self, *args, input=None, check=True, json_out=False):
        cmd = [PETREL, "-c", self.conf] + (["--json"] if json_out else []) + list(args)
        r = subprocess.run(cmd, input=input, capture_output=True, text=True, timeout=60)
        if check and r.returncode != 0:
            raise AssertionError("%s failed (%d): %s%s" % (" ".join(args), r.returncode,
                                                            r.stdout, r.stderr))
        if json_out and r.returncode == 0:
            return json.loads(r.stdout)
        return r

    def quickstart(self):
        r = subprocess.run([PETREL, "quickstart", HOSTNAME, "--domain", DOMAIN,
                            "--data", self.data], capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        m = re.search(r"password\s+(\S+)", r.stdout)
        self.admin_password = m.group(1) if m else None
        return r

    def start(self, wait=True, env=None):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([PETREL, "-c", self.conf, "serve"],
                                     stdout=self.log, stderr=subprocess.STDOUT,
                                     env=dict(os.environ, **(env or {})))
        if wait:
            self.wait_port(self.ports["smtp"])
        return self.proc

    def wait_port(self, port, timeout=30):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError("petrel exited %d:\n%s" % (self.proc.returncode,
                                                                 self.read_log()))
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.05)
        raise AssertionError("petrel did not listen on %d" % port)

    def stop(self, sig=signal.SIGTERM, timeout=60):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
            raise AssertionError("petrel did not stop on %s" % sig)
        finally:
            self.log.close()
            self.proc = None
        return rc

    def read_log(self):
        try:
            return open(self.log_path, "rb").read().decode("utf-8", "replace")
        except OSError:
            return ""

    def queue(self):
        return self.cli("queue", "list", json_out=True)["messages"]

    def queue_file(self, qid, timeout=10):
        """The bytes of message qid: its queue file, or, once local delivery
        took it, a stored copy (found by the "id <qid>" of its Received
        header)."""
        path = os.path.join(self.data, "queue", "msg", qid)
        deadline = time.time() + timeout
        while True:
            try:
                return open(path, "rb").read()
            except FileNotFoundError:
                pass
            needle = (" id %s" % qid).encode()
            for data in self.stored_files():
                if needle in data[:4096]:
                    return data
            if time.time() > deadline:
                raise AssertionError("message %s neither queued nor stored" % qid)
            time.sleep(0.05)

    def stored_files(self):
        """The bytes of every message file in every account's store."""
        root = os.path.join(self.data, "accounts")
        for dirpath, _, files in os.walk(root):
            if os.path.basename(os.path.dirname(dirpath)) != "msg":
                continue
            for f in files:
                try:
                    yield open(os.path.join(dirpath, f), "rb").read()
                except FileNotFoundError:
                    pass

    def account_id(self, address):
        return self.cli("user", "show", address, json_out=True)["id"]

    def mailbox(self, address, name="INBOX"):
        """The messages of an account's mailbox, in UID order, as
        (uid, flags, bytes), read from its index (read-only)."""
        acct = os.path.join(self.data, "accounts", str(self.account_id(address)))
        if not os.path.exists(os.path.join(acct, "index.db")):
            return []
        db = sqlite3.connect("file:%s?mode=ro" % os.path.join(acct, "index.db"), uri=True,
                             timeout=10)
        try:
            rows = db.execute("SELECT m.uid, m.flags, m.file FROM messages m"
                              " JOIN mailboxes b ON b.id = m.mailbox_id"
                              " WHERE b.name = ? ORDER BY m.uid", (name,)).fetchall()
        except sqlite3.OperationalError:
            return []       # being created by the server right now
        finally:
            db.close()
        return [(uid, flags, open(os.path.join(acct, "msg", f), "rb").read())
                for uid, flags, f in rows]

    def wait_mailbox(self, address, count, name="INBOX", timeout=20):
        """Waits until the mailbox holds at least count messages; returns them."""
        deadline = time.time() + timeout
        while True:
            msgs = self.mailbox(address, name)
            if len(msgs) >= count or time.time() > deadline:
                return msgs
            time.sleep(0.05)

    def wait_queue_empty(self, timeout=20):
        deadline = time.time() + timeout
        while True:
            q = self.queue()
            if not q or time.time() > deadline:
                return q
            time.sleep(0.05)

    @property
    def smtp_port(self):
        return self.ports["smtp"]


SANITIZER_MARKERS = ("AddressSanitizer", "LeakSanitizer", "runtime error:", "panic:")


def make_petrel(tmp_path_factory, limits=None, users=("bob@example.org",),
                sections=None):
    p = Petrel(tmp_path_factory.mktemp("petrel"))
    p.quickstart()
    sections = dict(sections or {})
    # Never the machine's resolver: a closed loopback port makes DNS fail
    # temporarily, so mail for other domains stays queued as "outbound"
    # unless a test points the resolver at its own stub.
    sections.setdefault("outbound", {}).setdefault("resolver",
                                                   "127.0.0.1@%d" % free_port())
    rewrite_config(p.conf, p.ports, limits, sections)
    for u in users:
        p.cli("user", "add", u, "--password-stdin", input="secret-%s\n" % u)
    return p


def serve(p):
    """For a fixture: starts p, yields it, then stops it and checks for a
    clean exit with no sanitizer report in the log."""
    p.start()
    yield p
    rc = p.stop()
    log = p.read_log()
    for marker in SANITIZER_MARKERS:
        assert marker not in log, log[-4000:]
    assert rc == 0, "exit %s\n%s" % (rc, log[-4000:])


@pytest.fixture(scope="module")
def petrel(tmp_path_factory):
    yield from serve(make_petrel(tmp_path_factory, limits={
        "max_message_size": "1M",
        "unknown_rcpt_delay_ms": "20",
        "max_connections_per_ip": "200",
    }))
