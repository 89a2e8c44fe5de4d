"""Listeners: IPv6 and IPv4 side by side, and the connection limits."""
import re
import smtplib
import socket
import time

import pytest

from conftest import make_petrel
from smtpraw import RawSMTP


def has_ipv6_loopback():
    try:
        with socket.socket(socket.AF_INET6) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


@pytest.mark.skipif(not has_ipv6_loopback(), reason="no ::1 on this machine")
def test_ipv6_and_ipv4_on_one_port(tmp_path_factory):
    p = make_petrel(tmp_path_factory, users=("bob@example.org",))
    text = open(p.conf).read()
    # The smtp listener on both loopbacks, same port.
    text = re.sub(r"(\[listen\.smtp\]\naddress = )127\.0\.0\.1", r"\g<1>127.0.0.1, ::1", text)
    open(p.conf, "w").write(text)
    p.start()
    try:
        for host in ("::1", "127.0.0.1"):
            with smtplib.SMTP(host, p.smtp_port, timeout=10) as s:
                s.ehlo("client.test")
                assert s.sendmail("a@sender.test", ["bob@example.org"],
                                  b"Subject: over %s\r\n\r\nx\r\n" % host.encode()) == {}
        queued = [m[2] for m in p.wait_mailbox("bob@example.org", 2)]
        assert any(b"[::1]" in q and b"Subject: over ::1" in q for q in queued)
        assert any(b"[127.0.0.1]" in q for q in queued)
    finally:
        assert p.stop() == 0


def test_connections_per_ip_limited(tmp_path_factory):
    p = make_petrel(tmp_path_factory, users=(), limits={"max_connections_per_ip": "5"})
    p.start()
    try:
        # The start-up probe's slot may not be released yet: retry briefly.
        conns = []
        for _ in range(100):
            c = RawSMTP(p.smtp_port)
            if c.reply()[0] == 220:
                conns.append(c)
                if len(conns) == 5:
                    break
            else:
                c.close()
                time.sleep(0.02)
        assert len(conns) == 5
        extra = RawSMTP(p.smtp_port)
        code, lines = extra.reply()
        assert code == 421 and "4.7.0" in lines[0]
        assert extra.closed()
        # A slot frees when a client leaves.
        conns.pop().cmd("QUIT")
        for _ in range(50):
            again = RawSMTP(p.smtp_port)
            code, _ = again.reply()
            if code == 220:
                break
            again.close()
        assert code == 220
        for c in conns + [again]:
            c.close()
    finally:
        assert p.stop() == 0
