"""The admin CLI: every command, its errors and its --json output."""
import json
import os
import subprocess

import pytest

from conftest import PETREL, Petrel, make_petrel


@pytest.fixture(scope="module")
def p(tmp_path_factory):
    return make_petrel(tmp_path_factory, users=())


def test_quickstart_prints_dns_and_credentials(tmp_path):
    q = Petrel(tmp_path / "qs")
    r = q.quickstart()
    out = r.stdout
    assert q.admin_password and len(q.admin_password) >= 12
    assert "IN MX 10 mx.example.org." in out
    assert "v=spf1" in out and "_dmarc.example.org." in out
    assert "_submission._tcp.example.org." in out and "_imaps._tcp.example.org." in out
    assert os.path.exists(q.conf)
    # A second quickstart into the same place is refused.
    r = subprocess.run([PETREL, "quickstart", "mx.example.org", "--data", q.data],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "exists" in r.stderr
    # The admin mailbox exists.
    users = q.cli("user", "list", json_out=True)
    assert "admin@example.org" in json.dumps(users)


def test_domains(p):
    out = p.cli("domain", "add", "Second.Test").stdout
    assert "domain second.test added" in out
    assert "second.test. IN MX 10 mx.example.org." in out
    dns = p.cli("domain", "dns", "second.test", json_out=True)
    assert dns["domain"] == "second.test"
    assert {"name": "_submissions._tcp.second.test.", "type": "SRV",
            "value": "0 1 465 mx.example.org."} in dns["records"]
    assert p.cli("domain", "dns", "nope.test", check=False).returncode == 1
    # RFC 5321 §4.5.1: postmaster works for a domain added later too.
    assert "admin@example.org" in p.cli("resolve", "postmaster@second.test").stdout
    r = p.cli("domain", "add", "second.test", check=False)
    assert r.returncode == 1 and "exists" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    assert "second.test" in p.cli("domain", "list").stdout
    assert "second.test" in json.dumps(p.cli("domain", "list", json_out=True))
    assert p.cli("domain", "show", "second.test").returncode == 0
    r = p.cli("domain", "show", "nope.test", check=False)
    assert r.returncode == 1
    r = p.cli("domain", "add", "not a domain", check=False)
    assert r.returncode != 0
    p.cli("domain", "del", "second.test")
    assert "second.test" not in p.cli("domain", "list").stdout


def test_users(p):
    r = p.cli("user", "add", "eve@example.org")
    assert "password" in r.stdout.lower()
    p.cli("user", "add", "frank@example.org", "--name", "Frank", "--quota", "2G",
          "--password-stdin", input="frank-pw\n")
    r = p.cli("user", "add", "frank@example.org", "--password-stdin", input="x\n", check=False)
    assert r.returncode == 1
    r = p.cli("user", "add", "x@unknown-domain.test", "--password-stdin", input="x\n",
              check=False)
    assert r.returncode == 1 and "domain" in r.stderr
    show = p.cli("user", "show", "frank@example.org", json_out=True)
    text = json.dumps(show)
    assert "Frank" in text and str(2 * 1024 ** 3) in text
    p.cli("user", "quota", "frank@example.org", "500M")
    assert str(500 * 1024 ** 2) in json.dumps(p.cli("user", "show", "frank@example.org",
                                                    json_out=True))
    p.cli("user", "passwd", "frank@example.org", "--password-stdin", input="new-pw\n")
    p.cli("user", "disable", "frank@example.org")
    assert p.cli("resolve", "frank@example.org", check=False).returncode == 1
    p.cli("user", "enable", "frank@example.org")
    assert p.cli("resolve", "frank@example.org").returncode == 0
    users = json.dumps(p.cli("user", "list", json_out=True))
    assert "eve@example.org" in users and "frank@example.org" in users
    p.cli("user", "del", "eve@example.org")
    assert p.cli("user", "show", "eve@example.org", check=False).returncode == 1
    r = p.cli("user", "frobnicate", check=False)
    assert r.returncode == 2


def test_aliases_and_resolve(p):
    p.cli("user", "add", "gina@example.org", "--password-stdin", input="pw\n")
    p.cli("user", "add", "hank@example.org", "--password-stdin", input="pw\n")
    p.cli("alias", "add", "team@example.org", "gina@example.org", "hank@example.org",
          "friend@elsewhere.test")
    out = p.cli("resolve", "team@example.org").stdout
    assert "gina@example.org" in out and "hank@example.org" in out
    assert "friend@elsewhere.test" in out
    # Plus-addressing keeps the tag.
    out = p.cli("resolve", "gina+news@example.org").stdout
    assert "gina@example.org" in out and "news" in out
    # Wildcard address on every domain.
    p.cli("alias", "add", "info@*", "gina@example.org")
    assert "gina@example.org" in p.cli("resolve", "INFO@example.org").stdout
    # Internal-only addresses.
    p.cli("alias", "add", "staff@example.org", "hank@example.org", "--internal")
    r = p.cli("resolve", "staff@example.org", check=False)
    assert r.returncode == 1 and "5.7.1" in r.stdout + r.stderr
    assert p.cli("resolve", "staff@example.org", "--internal").returncode == 0
    # Alias domains.
    p.cli("alias-domain", "add", "example.net", "example.org")
    assert "gina@example.org" in p.cli("resolve", "gina@EXAMPLE.NET").stdout
    assert "example.net" in p.cli("alias-domain", "list").stdout
    # Unknown and not-local answers.
    r = p.cli("resolve", "nobody@example.org", check=False)
    assert r.returncode == 1 and "5.1.1" in r.stdout + r.stderr
    r = p.cli("resolve", "x@elsewhere.test", check=False)
    assert r.returncode == 1
    aliases = json.dumps(p.cli("alias", "list", json_out=True))
    assert "team@example.org" in aliases
    p.cli("alias", "del", "team@example.org")
    assert p.cli("resolve", "team@example.org", check=False).returncode == 1
    p.cli("alias-domain", "del", "example.net")
    assert p.cli("resolve", "gina@example.net", check=False).returncode == 1


def test_catch_all(p):
    p.cli("user", "add", "catch@example.org", "--password-stdin", input="pw\n")
    assert p.cli("resolve", "random123@example.org", check=False).returncode == 1
    p.cli("domain", "catchall", "example.org", "catch@example.org")
    assert "catch@example.org" in p.cli("resolve", "random123@example.org").stdout
    p.cli("domain", "catchall", "example.org", "--off")
    assert p.cli("resolve", "random123@example.org", check=False).returncode == 1


def test_usage_errors(p):
    r = subprocess.run([PETREL, "-c", p.conf, "nonsense"], capture_output=True, text=True)
    assert r.returncode == 2
    r = subprocess.run([PETREL, "-c", "/nonexistent/petrel.conf", "domain", "list"],
                       capture_output=True, text=True)
    assert r.returncode != 0 and "petrel.conf" in r.stderr


def test_queue_cli_errors(p):
    r = p.cli("queue", "show", "doesnotexist", check=False)
    assert r.returncode == 1
    assert p.cli("queue", "list", json_out=True) == {"messages": []}
