"""A fake DNS server on 127.0.0.1 (UDP and TCP on one port) for discovery and prober tests.

It answers like a small recursive resolver over the records it is given: CNAME chains inside its
data are followed into the answer (at most 8 hops, stopping where a name repeats), names it has
no record for are NXDOMAIN, names with other records are NOERROR without answers. Messages are
parsed and built with dnspython's message and wire code. ``mode="silent"`` reads every query and
never answers (a dead resolver); ``tcp_only=True`` answers UDP with an empty truncated message
(TC bit), so clients must repeat the query over TCP.

Usage::

    with FakeDns(zones(sim_port=sim.port)) as dns_server:
        DnsClient(servers=(("127.0.0.1", dns_server.port),))
        dns_server.queries  # [("udp" | "tcp", "mail.contoso.test", "A"), ...]

:func:`zones` returns the standard test zones (all addresses are on loopback, 127.0.0.1, where the
HTTPS simulator listens; nothing here ever points off the machine):

============================  ==========================================================================
``contoso.test``              on premises: MX ``mail``; ``autodiscover`` CNAME ``ad`` CNAME ``mail``;
                              SRV ``_autodiscover._tcp`` -> ``mail`` on the simulator's port; ``mail`` A
``mx.contoso.test``           only an MX (``ex1.mx.contoso.test``)
``ad.contoso.test``           only ``autodiscover`` (CNAME chain to ``cas.ad.contoso.test``)
``srv.contoso.test``          only the SRV record (``ex.srv.contoso.test`` on the simulator's port)
``fabrikam.test``             Exchange Online: MX ``*.mail.protection.outlook.com``, ``autodiscover``
                              CNAME ``autodiscover.outlook.com``, SPF ``include:spf.protection.outlook.com``
``hybrid.test``               Online MX and SPF, plus ``owa.hybrid.test`` on premises
``nothing.test``              exists (SPF ``-all``) but has no mail records or web names
``loop.test``                 ``autodiscover`` CNAME loop; MX into the loop
``private.test``              MX and ``mail`` answer 127.0.0.1 (private space: refused by default)
``weird.test``                an MX host that is no host name (``bad@name\n``)
anything else                 NXDOMAIN
============================  ==========================================================================

``autodiscover.outlook.com`` and the Online MX hosts have A records (127.0.0.1) here on purpose: if
discovery ever probed Microsoft's hosts, the simulator would see the request.
"""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import cast

import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdataclass
import dns.rdatatype
import dns.rrset

Record = tuple[str, str, str]  # (name, type, rdata text)
MAX_HOPS = 8


def zones(sim_port: int, address: str = "127.0.0.1") -> list[Record]:
    """The standard test zones; SRV records point at ``sim_port``."""
    online_mx = "10 {}-test.mail.protection.outlook.com."
    return [
        # on premises: every way leads to mail.contoso.test
        ("contoso.test", "MX", "10 mail.contoso.test."),
        ("contoso.test", "TXT", '"v=spf1 mx -all"'),
        ("mail.contoso.test", "A", address),
        ("autodiscover.contoso.test", "CNAME", "ad.contoso.test."),
        ("ad.contoso.test", "CNAME", "mail.contoso.test."),
        ("_autodiscover._tcp.contoso.test", "SRV", f"0 0 {sim_port} mail.contoso.test."),
        # one way each
        ("mx.contoso.test", "MX", "5 ex1.mx.contoso.test."),
        ("ex1.mx.contoso.test", "A", address),
        ("autodiscover.ad.contoso.test", "CNAME", "cas.ad.contoso.test."),
        ("cas.ad.contoso.test", "A", address),
        ("_autodiscover._tcp.srv.contoso.test", "SRV", f"0 0 {sim_port} ex.srv.contoso.test."),
        ("ex.srv.contoso.test", "A", address),
        # Exchange Online
        ("fabrikam.test", "MX", online_mx.format("fabrikam")),
        ("fabrikam.test", "TXT", '"v=spf1 include:spf.protection.outlook.com -all"'),
        ("autodiscover.fabrikam.test", "CNAME", "autodiscover.outlook.com."),
        ("autodiscover.outlook.com", "A", address),
        ("fabrikam-test.mail.protection.outlook.com", "A", address),
        # hybrid
        ("hybrid.test", "MX", online_mx.format("hybrid")),
        ("hybrid.test", "TXT", '"v=spf1 include:spf.protection.outlook.com" " -all"'),
        ("hybrid-test.mail.protection.outlook.com", "A", address),
        ("owa.hybrid.test", "A", address),
        # nothing
        ("nothing.test", "TXT", '"v=spf1 -all"'),
        # CNAME loop
        ("autodiscover.loop.test", "CNAME", "a.loop.test."),
        ("a.loop.test", "CNAME", "autodiscover.loop.test."),
        ("loop.test", "MX", "10 a.loop.test."),
        # hostile answers: a name that is no host name
        ("weird.test", "MX", "10 bad\\@name\\010.weird.test."),
        # answers into private space
        ("private.test", "MX", "10 mail.private.test."),
        ("mail.private.test", "A", address),
    ]


class FakeDns:
    def __init__(
        self,
        records: Iterable[Record] = (),
        *,
        mode: str = "answer",
        tcp_only: bool = False,
        silent_for: Iterable[str] = (),
    ) -> None:
        if mode not in ("answer", "silent"):
            raise ValueError(mode)
        self.mode = mode
        self.silent_for = frozenset(silent_for)  # record types never answered (e.g. "AAAA")
        self.tcp_only = tcp_only
        self._data: dict[tuple[str, int], dns.rrset.RRset] = {}
        self._names: set[str] = set()
        for name, rdtype, text in records:
            key = (name.lower().rstrip("."), dns.rdatatype.from_text(rdtype))
            rrset = self._data.get(key)
            if rrset is None:
                rrset = self._data[key] = dns.rrset.from_text(name + ".", 60, "IN", rdtype, text)
            else:
                rrset.add(dns.rrset.from_text(name + ".", 60, "IN", rdtype, text)[0])
            labels = key[0].split(".")
            self._names.update(".".join(labels[i:]) for i in range(len(labels)))  # empty non-terminals exist
        self.queries: list[tuple[str, str, str]] = []
        self.port = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="fake-dns", daemon=True)

    @property
    def servers(self) -> str:
        """The ``EXCHBOT_DNS_SERVERS`` value for this server."""
        return f"127.0.0.1:{self.port}"

    # -- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> FakeDns:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake DNS did not start")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def __enter__(self) -> FakeDns:
        return self.start()

    def __exit__(self, t: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        udp_sock, tcp_sock = _bind_pair()
        self.port = udp_sock.getsockname()[1]
        transport, _ = await self._loop.create_datagram_endpoint(lambda: _Udp(self), sock=udp_sock)
        server = await asyncio.start_server(self._tcp, sock=tcp_sock)
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            transport.close()
            server.close()

    # -- answering ---------------------------------------------------------------------------------

    def answer(self, wire: bytes, transport: str) -> bytes | None:
        try:
            query = dns.message.from_wire(wire)
        except Exception:
            return None
        if not query.question:
            return None
        q = query.question[0]
        qname = q.name.to_text(omit_final_dot=True).lower()
        self.queries.append((transport, qname, dns.rdatatype.to_text(q.rdtype)))
        if self.mode == "silent" or dns.rdatatype.to_text(q.rdtype) in self.silent_for:
            return None
        response = dns.message.make_response(query)
        response.flags |= dns.flags.RA
        if transport == "udp" and self.tcp_only:
            response.flags |= dns.flags.TC
            return response.to_wire()
        name, seen = qname, set()
        for _ in range(MAX_HOPS):
            seen.add(name)
            exact = self._data.get((name, q.rdtype))
            if exact is not None:
                response.answer.append(exact)
                break
            cname = self._data.get((name, dns.rdatatype.CNAME))
            if cname is None:
                if name not in self._names:
                    response.set_rcode(dns.rcode.NXDOMAIN)
                break
            response.answer.append(cname)
            name = cname[0].target.to_text(omit_final_dot=True).lower()
            if name in seen:
                break
        return response.to_wire()

    async def _tcp(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                size = int.from_bytes(await asyncio.wait_for(reader.readexactly(2), 30), "big")
                wire = await asyncio.wait_for(reader.readexactly(size), 30)
                reply = self.answer(wire, "tcp")
                if reply is not None:
                    writer.write(len(reply).to_bytes(2, "big") + reply)
                    await writer.drain()
        except (asyncio.IncompleteReadError, TimeoutError, OSError):
            pass
        finally:
            writer.close()


class _Udp(asyncio.DatagramProtocol):
    def __init__(self, server: FakeDns) -> None:
        self.server = server
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str | object, int]) -> None:
        reply = self.server.answer(data, "udp")
        if reply is not None and self.transport is not None:
            self.transport.sendto(reply, addr)


def _bind_pair() -> tuple[socket.socket, socket.socket]:
    """A UDP and a TCP socket on the same free loopback port."""
    for _ in range(50):
        udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        udp.bind(("127.0.0.1", 0))
        tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            tcp.bind(("127.0.0.1", udp.getsockname()[1]))
        except OSError:
            udp.close()
            tcp.close()
            continue
        tcp.listen(64)
        udp.setblocking(False)
        tcp.setblocking(False)
        return udp, tcp
    raise RuntimeError("no free port for the fake DNS server")
