"""Fixtures for outbound tests: a DNS stub pointing remote domains at the
loopback, SMTP sinks playing the remote servers, and a petrel whose
[outbound] section uses them with short retry times."""
import os
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "lib"))
sys.path.insert(0, os.path.dirname(HERE))

from conftest import make_petrel, rewrite_config, serve  # noqa: E402,F401
from dnsstub import DnsStub  # noqa: E402
from smtpsink import SmtpSink  # noqa: E402


def outbound_config(p, stub_port, sink_port, extra=None):
    """Points p's [outbound] at the DNS stub and the sink's port, with
    short retry times; extra: more [outbound] keys."""
    keys = {"resolver": "127.0.0.1@%d" % stub_port, "port": sink_port,
            "retry_min": 1, "retry_max": 2, "connect_timeout": 5,
            "command_timeout": 10}
    keys.update(extra or {})
    rewrite_config(p.conf, p.ports, sections={"outbound": keys})


@pytest.fixture(scope="module")
def stub():
    s = DnsStub()
    for dom in ("remote.example", "other.example", "third.example"):
        s.add("%s. 60 IN MX 10 mx.%s." % (dom, dom))
        s.add("mx.%s. 60 IN A 127.0.0.1" % dom)
    s.add("nullmx.example. 60 IN MX 0 .")
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def sink():
    s = SmtpSink(rcpt_replies={"bad@remote.example": "550 5.1.1 no such user",
                               "later@remote.example": "450 4.2.0 try later"},
                 size=50 * 1024 * 1024)
    s.start()
    yield s
    s.stop()


@pytest.fixture(scope="module")
def petrel(tmp_path_factory, stub, sink):
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, sink.port)
    yield from serve(p)
