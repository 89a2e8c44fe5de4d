"""[auth] settings against the real daemon: plaintext = never (only the
loopback exists here, so `never` stands in for a remote client), and the
failed-login throttle."""
import poplib
import re
import time

import pytest

from conftest import serve
from pop3lib import PASSWORD, USER, client_tls, make_pop3_petrel

REFUSED = (b"-ERR [AUTH] Plaintext authentication disallowed on non-secure "
           b"connections.")


@pytest.fixture(scope="module")
def never(tmp_path_factory):
    yield from serve(make_pop3_petrel(tmp_path_factory,
                                      auth={"plaintext": "never"}))


def test_plaintext_never_refused(never):
    c = poplib.POP3("127.0.0.1", never.ports["pop3"], timeout=20)
    caps = c.capa()
    assert "USER" not in caps and "SASL" not in caps and "STLS" in caps
    with pytest.raises(poplib.error_proto) as e:
        c.user(USER)
    assert e.value.args[0] == REFUSED
    with pytest.raises(poplib.error_proto) as e:
        c._shortcmd("AUTH PLAIN AGJvYkBleGFtcGxlLm9yZwB4")
    assert e.value.args[0] == REFUSED
    # After STLS the same login works.
    c.stls(context=client_tls())
    caps = c.capa()
    assert "USER" in caps and caps["SASL"] == ["PLAIN"]
    c.user(USER)
    c.pass_(PASSWORD)
    c.quit()


def test_plaintext_never_pop3s(never):
    c = poplib.POP3_SSL("127.0.0.1", never.ports["pop3s"],
                        context=client_tls(), timeout=20)
    c.user(USER)
    c.pass_(PASSWORD)
    assert c.stat()[0] >= 0
    c.quit()


@pytest.fixture(scope="module")
def throttled(tmp_path_factory):
    yield from serve(make_pop3_petrel(tmp_path_factory, auth={
        "max_failures_per_ip": "3", "failure_window": "60",
        "failure_delay": "200"}))


def test_throttle_blocks_ip(throttled):
    for _ in range(3):
        c = poplib.POP3("127.0.0.1", throttled.ports["pop3"], timeout=20)
        c.user(USER)
        t0 = time.time()
        with pytest.raises(poplib.error_proto, match=r"\[AUTH\]"):
            c.pass_("wrong")
        # failure_delay: the answer waits.
        assert time.time() - t0 >= 0.19
        c.quit()
    # Now even the right password is refused, for the window.
    c = poplib.POP3("127.0.0.1", throttled.ports["pop3"], timeout=20)
    c.user(USER)
    with pytest.raises(poplib.error_proto) as e:
        c.pass_(PASSWORD)
    assert e.value.args[0].startswith(b"-ERR [SYS/TEMP] ")
    c.close()
    log = throttled.read_log()
    assert len(re.findall(r"event=auth_failed ip=127\.0\.0\.1 user=bob@"
                          r"example\.org", log)) == 3
    assert "event=auth_blocked ip=127.0.0.1" in log
