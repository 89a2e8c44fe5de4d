"""Outbound TLS policy: MTA-STS (RFC 8461) fetched over HTTPS from a
loopback server with a test CA, enforced (verified TLS to a matching MX,
deferral when no MX matches), cached in queue.db; DANE (RFC 7672) not
applied on insecure (unsigned) answers."""
import http.server
import os
import sqlite3
import ssl
import subprocess
import threading
import time

import pytest

from outboundlib import outbound_config  # noqa: I100 (sets sys.path first)
from conftest import make_petrel, serve
from dnsstub import DnsStub
from smtpsink import SmtpSink
from test_outbound import forward, send, wait_token

POLICIES = {
    "sts.example": "version: STSv1\r\nmode: enforce\r\nmx: *.sts.example\r\nmax_age: 86400\r\n",
    "bad.example": "version: STSv1\nmode: enforce\nmx: mx.elsewhere.example\nmax_age: 86400\n",
}


def make_certs(d):
    """A test CA and one certificate for the MX and policy hosts."""
    def run(*args):
        subprocess.run(["openssl"] + list(args), check=True, capture_output=True, cwd=d)
    run("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out",
        "ca.pem", "-days", "2", "-subj", "/CN=petrel test CA")
    names = ["mx.sts.example", "mta-sts.sts.example", "mx.bad.example",
             "mta-sts.bad.example", "mx.dane.example"]
    with open(os.path.join(d, "ext.cnf"), "w") as f:
        f.write("subjectAltName=" + ",".join("DNS:" + n for n in names) + "\n")
    run("req", "-newkey", "rsa:2048", "-nodes", "-keyout", "host.key", "-out", "host.csr",
        "-subj", "/CN=mx.sts.example")
    run("x509", "-req", "-in", "host.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-out", "host.pem", "-days", "2", "-extfile", "ext.cnf")
    return {k: os.path.join(d, k + ".pem") for k in ("ca", "host")} | \
        {"key": os.path.join(d, "host.key")}


class PolicyServer:
    """HTTPS on loopback serving /.well-known/mta-sts.txt by Host name."""

    def __init__(self, certs):
        fetched = self.fetched = []

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                host = (self.headers.get("Host") or "").split(":")[0]
                domain = host[len("mta-sts."):] if host.startswith("mta-sts.") else ""
                fetched.append((host, self.path))
                body = POLICIES.get(domain)
                if self.path != "/.well-known/mta-sts.txt" or body is None:
                    self.send_error(404)
                    return
                data = body.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/plain")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(certs["host"], certs["key"])
        self.httpd.socket = ctx.wrap_socket(self.httpd.socket, server_side=True)
        self.port = self.httpd.server_address[1]
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()

    def stop(self):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("certs"))
    certs = make_certs(d)
    stub = DnsStub()
    for dom in ("sts.example", "bad.example", "dane.example"):
        stub.add("%s. 60 IN MX 10 mx.%s." % (dom, dom))
        stub.add("mx.%s. 60 IN A 127.0.0.1" % dom)
        stub.add("mta-sts.%s. 60 IN A 127.0.0.1" % dom)
    stub.add('_mta-sts.sts.example. 60 IN TXT "v=STSv1; id=20260101T000000;"')
    stub.add('_mta-sts.bad.example. 60 IN TXT "v=STSv1; id=1;"')
    https = PolicyServer(certs)
    sink = SmtpSink(hostname="mx.sts.example", starttls=True, certfile=certs["host"],
                    keyfile=certs["key"]).start()
    # A TLSA record that matches nothing: enforced, it would stop delivery.
    stub.add("_%d._tcp.mx.dane.example. 60 IN TLSA 3 1 1 %s" % (sink.port, "00" * 32))
    stub.start()
    p = make_petrel(tmp_path_factory, users=("bob@example.org", "carol@example.org"))
    outbound_config(p, stub.port, sink.port, {"mta_sts_port": https.port,
                                              "tls_ca_file": certs["ca"]})
    try:
        for s in serve(p):
            yield s, stub, https, sink
    finally:
        sink.stop()
        https.stop()
        stub.stop()


def test_mta_sts_enforced_with_verified_tls(env):
    p, stub, https, sink = env
    forward(p, "bob@example.org", "alice@sts.example")
    token = send(p, ["bob@example.org"])
    m = wait_token(sink, token)
    assert m.rcpts == ["alice@sts.example"] and m.session.tls
    assert ("mta-sts.sts.example", "/.well-known/mta-sts.txt") in https.fetched
    log = p.read_log()
    assert "domain=sts.example event=mta-sts-fetched id=20260101T000000 mode=enforce" in log
    # Cached in queue.db under the TXT id; the next message does not fetch.
    db = sqlite3.connect(os.path.join(p.data, "queue", "queue.db"))
    try:
        row = db.execute("SELECT policy_id, policy, expires - fetched FROM mta_sts"
                         " WHERE domain = 'sts.example'").fetchone()
    finally:
        db.close()
    assert row == ("20260101T000000", POLICIES["sts.example"], 86400)
    n = len(https.fetched)
    time.sleep(2.5)         # the destination is forgotten after idling
    token = send(p, ["bob@example.org"])
    assert wait_token(sink, token).session.tls
    assert len(https.fetched) == n


def test_mta_sts_no_matching_mx_defers(env):
    p, stub, https, sink = env
    forward(p, "bob@example.org", "zoe@bad.example")
    token = send(p, ["bob@example.org"])
    deadline = time.time() + 20
    while time.time() < deadline:
        rs = [r for m in p.queue() for r in m["recipients"] if r["address"] == "zoe@bad.example"]
        if rs and rs[0].get("last_error"):
            break
        time.sleep(0.2)
    assert rs and rs[0]["status"] == "outbound" and "4.7.5" in rs[0]["last_error"] \
        and "MTA-STS" in rs[0]["last_error"], rs
    assert "host=mx.bad.example event=mta-sts-mx-mismatch mode=enforce" in p.read_log()
    assert not any(token.encode() in m.data for m in sink.messages)
    qid = [m["id"] for m in p.queue() if any(r["address"] == "zoe@bad.example"
                                             for r in m["recipients"])][0]
    p.cli("queue", "delete", qid)


def test_insecure_tlsa_does_not_force_dane(env):
    p, stub, https, sink = env
    forward(p, "bob@example.org", "dan@dane.example")
    token = send(p, ["bob@example.org"])
    m = wait_token(sink, token)
    # Opportunistic TLS to a certificate the TLSA record does not match:
    # the unsigned answer was not used (RFC 7672 §2.2), nor even asked
    # for below an insecure MX.
    assert m.session.tls
    assert ("_%d._tcp.mx.dane.example" % sink.port, "TLSA") not in stub.queries
    assert "event=dane " not in p.read_log()
