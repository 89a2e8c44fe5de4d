"""TLS on real sockets: implicit TLS (465), protocol floor, certificate reload
on SIGHUP, and the privilege drop when started as root."""
import os
import pwd
import re
import signal
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time
import warnings

import pytest

from conftest import make_petrel
from smtpraw import RawSMTP, client_tls


def peer_cert(port, starttls):
    sock = socket.create_connection(("127.0.0.1", port), timeout=10)
    if starttls:
        c = RawSMTP.__new__(RawSMTP)
        c.sock, c.buf = sock, b""
        c.hello()
        c.starttls()
        sock = c.sock
    else:
        sock = client_tls().wrap_socket(sock)
    der = sock.getpeercert(binary_form=True)
    sock.close()
    return der


def test_implicit_tls_submissions_port(petrel):
    with smtplib.SMTP_SSL("127.0.0.1", petrel.ports["submissions"], context=client_tls(),
                          timeout=10) as s:
        code, _ = s.ehlo("client.test")
        assert code == 250
        assert not s.has_extn("starttls")
        assert s.sock.version() in ("TLSv1.2", "TLSv1.3")


def test_tls_1_1_refused(petrel):
    ctx = client_tls()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        ctx.minimum_version = ssl.TLSVersion.TLSv1
        ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    try:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    except ssl.SSLError:
        pass
    with pytest.raises((ssl.SSLError, OSError)):
        with smtplib.SMTP_SSL("127.0.0.1", petrel.ports["submissions"], context=ctx,
                              timeout=10) as s:
            s.ehlo("client.test")
    # The server is still there.
    with smtplib.SMTP("127.0.0.1", petrel.smtp_port, timeout=10) as s:
        assert s.noop()[0] == 250


def test_sighup_reloads_certificate(tmp_path_factory):
    p = make_petrel(tmp_path_factory, users=())
    p.start()
    try:
        before = peer_cert(p.smtp_port, starttls=True)
        conf = open(p.conf).read()
        cert = re.search(r"^cert = (.*)$", conf, re.M).group(1)
        key = re.search(r"^key = (.*)$", conf, re.M).group(1)
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-days", "2",
                        "-subj", "/CN=reloaded.example.org", "-keyout", key + ".new",
                        "-out", cert + ".new"], check=True, capture_output=True)
        os.rename(key + ".new", key)
        os.rename(cert + ".new", cert)
        p.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        after = before
        while after == before and time.time() < deadline:
            time.sleep(0.1)
            after = peer_cert(p.smtp_port, starttls=True)
        assert after != before
        assert after == peer_cert(p.ports["submissions"], starttls=False)
        # A broken certificate file keeps the working one.
        open(cert, "w").write("not a certificate\n")
        p.proc.send_signal(signal.SIGHUP)
        time.sleep(0.5)
        assert peer_cert(p.smtp_port, starttls=True) == after
        assert p.proc.poll() is None
    finally:
        assert p.stop() == 0


class WorldTraversable:
    """pytest's own temporary root is 0700: the service user could not reach it."""

    def mktemp(self, name):
        d = tempfile.mkdtemp(prefix="petrel-%s-" % name)
        os.chmod(d, 0o755)
        return d


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges")
def test_drops_privileges_after_binding():
    p = make_petrel(WorldTraversable(), users=("bob@example.org",))
    nobody = pwd.getpwnam("nobody")
    # Data still owned by root: refused at start, with the reason.
    text = open(p.conf).read()
    open(p.conf, "w").write(re.sub(r"^# user = petrel$", "user = nobody", text, flags=re.M))
    r = p.cli("serve", check=False)
    assert r.returncode != 0 and "not writable" in r.stderr, r.stderr
    assert "user = nobody" in open(p.conf).read()
    # The data belongs to the service user, as a packaged install would set it up.
    for root, dirs, files in os.walk(p.data):
        for n in dirs + files:
            os.chown(os.path.join(root, n), nobody.pw_uid, nobody.pw_gid)
    os.chown(p.data, nobody.pw_uid, nobody.pw_gid)
    p.start()
    try:
        # The port listens before root is dropped (binding needs it): wait.
        deadline = time.time() + 10
        while True:
            status = open("/proc/%d/status" % p.proc.pid).read()
            uids = re.search(r"^Uid:\s+(.*)$", status, re.M).group(1).split()
            if set(map(int, uids)) == {nobody.pw_uid} or time.time() > deadline:
                break
            time.sleep(0.02)
        assert set(map(int, uids)) == {nobody.pw_uid}, uids
        with smtplib.SMTP("127.0.0.1", p.smtp_port, timeout=10) as s:
            s.ehlo("client.test")
            s.starttls(context=client_tls())
            s.ehlo("client.test")
            refused = s.sendmail("a@sender.test", ["bob@example.org"],
                                 b"Subject: unprivileged\r\n\r\nx\r\n")
            assert refused == {}
        # Delivered into the mailbox by the unprivileged process.
        msgs = p.wait_mailbox("bob@example.org", 1)
        assert len(msgs) == 1 and b"Subject: unprivileged" in msgs[0][2]
        assert p.queue() == []
        # The CLI run as root works as the service user: a new account's
        # store, made by `mailbox list`, stays writable for the server.
        p.cli("user", "add", "new@example.org", "--password-stdin", input="pw-new\n")
        p.cli("mailbox", "list", "new@example.org")
        for root, dirs, files in os.walk(os.path.join(p.data, "accounts")):
            for n in dirs + files:
                assert os.stat(os.path.join(root, n)).st_uid == nobody.pw_uid, n
    finally:
        assert p.stop() == 0
