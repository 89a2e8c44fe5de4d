"""Hostile clients against a real daemon: framing a BDAT line cannot give,
loops of free commands, and a half-closing pipeliner (the fixes of the
session review; unit tests in src/smtpd/smtpd_test.c)."""
import socket

import pytest

from conftest import make_petrel, serve
from smtpraw import RawSMTP


def hello(c):
    greeting, ehlo = c.hello()
    assert greeting[0] == 220
    assert ehlo[0] == 250


def test_bdat_line_too_long_closes(petrel):
    """Its chunk's end is unknown: the octets must never run as commands."""
    c = RawSMTP(petrel.smtp_port)
    hello(c)
    c.cmd("MAIL FROM:<a@sender.test>")
    c.cmd("RCPT TO:<bob@example.org>")
    c.send(b"BDAT 14" + b" " * 600 + b"\r\nRSET\r\nNOOP\r\n\r\n")
    code, lines = c.reply()
    assert code == 500 and "5.5.2" in lines[0]
    assert c.closed()


@pytest.mark.parametrize("command", [
    "EHLO client.test", "HELO client.test",
    "RCPT TO:<someone@elsewhere.test>", "RCPT TO:<bob@example.org>"])
def test_free_command_loop_ends(petrel, command):
    """Past max_commands_before_data (100) each one is an error, and the
    error budget (20) closes the session."""
    c = RawSMTP(petrel.smtp_port, timeout=30)
    hello(c)
    if command.startswith("RCPT"):
        c.cmd("MAIL FROM:<a@sender.test>")
    c.send((command + "\r\n") * 200)
    codes = []
    while True:
        code, _ = c.reply()
        codes.append(code)
        if code == 421:
            break
    assert len(codes) <= 125
    assert c.closed()


@pytest.fixture(scope="module")
def patient(tmp_path_factory):
    yield from serve(make_petrel(tmp_path_factory,
                                 limits={"max_commands_before_data": "1000000"}))


def test_half_closed_pipeline_answered(patient):
    """A client that sends more than our output buffer holds, half-closes,
    and only then reads still gets every reply, up to the 221."""
    n = 30000
    s = socket.create_connection(("127.0.0.1", patient.smtp_port), timeout=30)
    s.sendall(b"EHLO client.test\r\n" + b"NOOP\r\n" * n + b"QUIT\r\n")
    s.shutdown(socket.SHUT_WR)
    data = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        data += chunk
    s.close()
    lines = data.split(b"\r\n")
    assert lines[-1] == b""
    assert lines[-2].startswith(b"221 ")
    assert lines.count(b"250 2.0.0 Ok") == n
