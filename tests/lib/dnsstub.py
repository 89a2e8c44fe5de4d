"""A loopback DNS server (python3-dnslib) answering from records a test gives,
for the resolver of outbound delivery (petrel forwards to "127.0.0.1@PORT").

    stub = DnsStub()
    stub.add("remote.test. 60 IN MX 10 mx.remote.test.")
    stub.add("mx.remote.test. 60 IN A 127.0.0.1")
    stub.add("_25._tcp.mx.remote.test. 60 IN TLSA 3 1 1 " + sha256_hex)
    stub.servfail("broken.test")        # SERVFAIL for every type
    stub.drop("slow.test")              # never answers (timeouts)
    stub.start()
    ... resolver = f"127.0.0.1@{stub.port}" ...
    stub.stop()

A name with no record at all is NXDOMAIN; a name with records of other types
only is NODATA (NOERROR, empty answer); a CNAME is followed inside the stub's
records. UDP and TCP are served on the same port. Every question asked is
kept in stub.queries as (name, type) for assertions.
"""
import socket
import threading

from dnslib import QTYPE, RCODE, RR, DNSError, DNSRecord
from dnslib.server import BaseResolver, DNSServer


def _norm(name):
    name = str(name).lower()
    return name if name.endswith(".") else name + "."


class _Resolver(BaseResolver):
    def __init__(self, stub):
        self.stub = stub

    def resolve(self, request, handler):
        reply = request.reply()
        q = request.q
        name, qtype = _norm(q.qname), QTYPE[q.qtype]
        with self.stub.lock:
            self.stub.queries.append((name.rstrip("."), qtype))
            if name in self.stub._drop:
                raise DNSError("dropped")   # dnslib then sends nothing
            if name in self.stub._servfail:
                reply.header.rcode = RCODE.SERVFAIL
                return reply
            records = dict((k, list(v)) for k, v in self.stub._records.items())
        seen = set()
        while name not in seen:
            seen.add(name)
            rrs = records.get(name)
            if not rrs:
                if name == _norm(q.qname):
                    reply.header.rcode = RCODE.NXDOMAIN
                return reply
            answer = [rr for rr in rrs if rr.rtype == q.qtype]
            if answer:
                for rr in answer:
                    reply.add_answer(rr)
                return reply
            cname = [rr for rr in rrs if rr.rtype == QTYPE.CNAME]
            if not cname:
                return reply        # NODATA
            reply.add_answer(cname[0])
            name = _norm(cname[0].rdata.label)
        return reply


class DnsStub:
    def __init__(self, address="127.0.0.1"):
        self.address = address
        self.lock = threading.Lock()
        self._records = {}
        self._servfail = set()
        self._drop = set()
        self.queries = []
        self.port = None
        self._servers = []

    def add(self, zone_line):
        """Adds records given in zone-file syntax (one or more lines)."""
        with self.lock:
            for rr in RR.fromZone(zone_line):
                self._records.setdefault(_norm(rr.rname), []).append(rr)

    def remove(self, name):
        with self.lock:
            self._records.pop(_norm(name), None)

    def servfail(self, name):
        with self.lock:
            self._servfail.add(_norm(name))

    def drop(self, name):
        with self.lock:
            self._drop.add(_norm(name))

    def start(self):
        resolver = _Resolver(self)
        for _ in range(20):
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
                s.bind((self.address, 0))
                port = s.getsockname()[1]
            try:
                udp = DNSServer(resolver, port=port, address=self.address,
                                logger=_QuietLogger())
                tcp = DNSServer(resolver, port=port, address=self.address,
                                tcp=True, logger=_QuietLogger())
            except OSError:
                continue
            self._servers = [udp, tcp]
            self.port = port
            udp.start_thread()
            tcp.start_thread()
            return self
        raise OSError("no free port for the DNS stub")

    @property
    def resolver(self):
        return f"{self.address}@{self.port}"

    def stop(self):
        for s in self._servers:
            s.stop()
            s.server.server_close()
        self._servers = []

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class _QuietLogger:
    """dnslib's DNSLogger prints every request; tests want silence."""

    def __getattr__(self, name):
        return lambda *args, **kwargs: None


def query(port, name, qtype="A", address="127.0.0.1", tcp=False):
    """Asks the stub directly (for the stub's own self-test)."""
    q = DNSRecord.question(name, qtype)
    return DNSRecord.parse(q.send(address, port, tcp=tcp, timeout=5))


__all__ = ["DnsStub", "query"]


def main(argv):
    """`dnsstub.py RECORD...`: serves the records (zone-file lines, or
    "servfail:NAME" / "drop:NAME"), prints the port, and stops when stdin
    closes (for the C unit tests of src/dns)."""
    import sys
    stub = DnsStub()
    for a in argv:
        if a.startswith("servfail:"):
            stub.servfail(a[9:])
        elif a.startswith("drop:"):
            stub.drop(a[5:])
        else:
            stub.add(a)
    stub.start()
    print(stub.port, flush=True)
    sys.stdin.read()
    stub.stop()


if __name__ == "__main__":
    import sys
    main(sys.argv[1:])
