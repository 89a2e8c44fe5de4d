"""Stopping the server while the outbound agent waits on DNS: the MX lookups
of a destination and its MTA-STS lookup are both pending when SIGTERM
comes, and the shutdown must free them without touching freed memory
(ASan in the sanitizer build would report it in the log)."""
import socket
import time

from outboundlib import outbound_config  # noqa: I100 (sets sys.path first)
from conftest import SANITIZER_MARKERS, make_petrel
from test_outbound import forward, send


def test_stop_with_dns_pending(tmp_path_factory):
    # A resolver that never answers keeps every query pending.
    silent = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    silent.bind(("127.0.0.1", 0))
    try:
        p = make_petrel(tmp_path_factory)
        outbound_config(p, silent.getsockname()[1], 25)
        p.start()
        try:
            # Two destinations: freeing the first must not free the
            # second one's MTA-STS query under it.
            forward(p, "bob@example.org", "far@remote.example",
                    "far@other.example", "far@third.example")
            send(p, ["bob@example.org"])
            deadline = time.time() + 10
            while time.time() < deadline:
                try:
                    silent.settimeout(0.2)
                    silent.recvfrom(4096)   # the agent is asking
                    break
                except socket.timeout:
                    continue
            else:
                raise AssertionError("no DNS query reached the resolver")
            time.sleep(0.3)
        finally:
            rc = p.stop()
        log = p.read_log()
        for marker in SANITIZER_MARKERS:
            assert marker not in log, log[-4000:]
        assert rc == 0, log[-4000:]
    finally:
        silent.close()
