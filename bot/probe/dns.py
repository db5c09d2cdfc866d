"""DNS at the edge: asynchronous lookups with dnspython's asyncio resolver (no threads).

Every lookup exchbot makes goes through :class:`DnsClient`: the prober's A/AAAA lookups (as its
:data:`~bot.probe.ssrf.Resolver`, so the SSRF guard still judges every answer) and discovery's MX,
SRV, TXT and CNAME lookups. Lookups run on the event loop's own sockets, so a name server that
never answers holds no thread and cannot starve other lookups; each lookup ends at the caller's
deadline (cancellation) and at the client's own ``lifetime`` at the latest.

Name servers: ``EXCHBOT_DNS_SERVERS`` (a comma list of ``ip[:port]``, ``[v6]:port`` for IPv6 with
a port), else the system's ``/etc/resolv.conf``; with the system's configuration, names in
``/etc/hosts`` answer first, as they do for the C library.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dns.asyncresolver
import dns.exception
import dns.name
import dns.nameserver
import dns.rdatatype
import dns.resolver

log = logging.getLogger(__name__)

Server = tuple[str, int]
HOSTS_FILE = Path("/etc/hosts")
MAX_HOSTS_BYTES = 1024 * 1024
MAX_CHAIN = 8  # CNAME hops followed by :meth:`DnsClient.cname_chain`
MAX_RECORDS = 20  # records kept per answer (MX, SRV, TXT, addresses)
SECOND_FAMILY_GRACE = 0.5  # seconds the other address family may lag once one has answered
USAGE = "expected a comma list of ip[:port] (IPv6 with a port as [ip]:port)"


class DnsError(OSError):
    """A lookup failed; ``strerror`` says why in a few words (shown as "could not resolve X: why")."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.strerror = message


def parse_servers(text: str) -> tuple[Server, ...]:
    """``"127.0.0.1:5353, ::1, [::1]:53"`` -> ((ip, port), ...); ValueError naming the bad item."""
    servers: list[Server] = []
    for raw in text.split(","):
        item = raw.strip()
        if not item:
            continue
        host, port = item, 53
        if item.startswith("["):
            host, sep, rest = item[1:].partition("]")
            if not sep or (rest and not rest.startswith(":")):
                raise ValueError(f"{item!r}: {USAGE}")
            port = _port(item, rest[1:]) if rest else 53
        elif item.count(":") == 1:
            host, _, text_port = item.partition(":")
            port = _port(item, text_port)
        try:
            ip = ipaddress.ip_address(host)
        except ValueError:
            raise ValueError(f"{item!r} is not an IP address: {USAGE}") from None
        servers.append((str(ip), port))
    if not servers and text.strip():
        raise ValueError(f"{text!r}: {USAGE}")
    return tuple(servers)


def _port(item: str, text: str) -> int:
    if not (text.isascii() and text.isdigit() and len(text) <= 5 and 1 <= int(text) <= 65535):
        raise ValueError(f"{item!r}: port must be 1-65535; {USAGE}")
    return int(text)


def read_hosts(path: Path = HOSTS_FILE) -> dict[str, tuple[str, ...]]:
    """Name -> addresses from a hosts file (bounded; unreadable means empty)."""
    try:
        with path.open("rb") as f:
            text = f.read(MAX_HOSTS_BYTES).decode("utf-8", "replace")
    except OSError:
        return {}
    table: dict[str, list[str]] = {}
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split()
        if len(fields) < 2:
            continue
        try:
            addr = str(ipaddress.ip_address(fields[0].split("%", 1)[0]))
        except ValueError:
            continue
        for name in fields[1:]:
            addrs = table.setdefault(name.lower().rstrip("."), [])
            if addr not in addrs:
                addrs.append(addr)
    return {k: tuple(v) for k, v in table.items()}


@dataclass(frozen=True)
class HostAnswer:
    """Addresses of a name (A first, then AAAA) and the name the CNAME chain ended at."""

    addresses: tuple[str, ...]
    canonical: str
    problem: str | None = None  # None when answered (possibly with no addresses)
    nxdomain: bool = False


@dataclass(frozen=True)
class Records:
    """The records of one lookup, as text (MX: host; SRV: host and port; TXT: joined strings)."""

    items: tuple[str, ...] = ()
    problem: str | None = None
    nxdomain: bool = False


@dataclass(frozen=True)
class SrvRecord:
    """One SRV answer: the host and port it names, and its priority and weight."""

    host: str
    port: int
    priority: int
    weight: int


@dataclass
class DnsClient:
    """Asynchronous DNS lookups against ``servers`` (empty: the system's configuration)."""

    servers: tuple[Server, ...] = ()
    lifetime: float = 10.0  # the longest any lookup may take, whatever the caller's deadline
    hosts: Mapping[str, tuple[str, ...]] | None = None  # None: /etc/hosts when using the system's servers
    _resolver: dns.asyncresolver.Resolver = field(init=False, repr=False)
    _unconfigured: str | None = field(init=False, default=None, repr=False)

    def __post_init__(self) -> None:
        if self.servers:
            self._resolver = dns.asyncresolver.Resolver(configure=False)
            self._resolver.nameservers = [dns.nameserver.Do53Nameserver(ip, port) for ip, port in self.servers]
            if self.hosts is None:
                self.hosts = {}
        else:
            try:
                self._resolver = dns.asyncresolver.Resolver(configure=True)
            except (dns.exception.DNSException, OSError) as exc:
                self._resolver = dns.asyncresolver.Resolver(configure=False)
                self._unconfigured = f"no name servers configured ({type(exc).__name__})"
            if self.hosts is None:
                self.hosts = read_hosts()
        self._resolver.lifetime = self.lifetime
        self._resolver.timeout = min(2.0, self.lifetime)  # per server attempt; then the next one
        self._resolver.cache = None

    # -- the prober's resolver ---------------------------------------------------------------------

    async def __call__(self, host: str, port: int) -> Sequence[str]:
        """:data:`bot.probe.ssrf.Resolver`: every address of ``host``; :class:`DnsError` if none."""
        answer = await self.host(host)
        if answer.problem is not None:
            raise DnsError(answer.problem)
        if not answer.addresses:
            raise DnsError("no addresses")
        return answer.addresses

    # -- lookups -----------------------------------------------------------------------------------

    async def host(self, name: str, deadline: float | None = None) -> HostAnswer:
        """A and AAAA at once (the CNAME chain followed by the server); A addresses first."""
        key = name.lower().rstrip(".")
        if self.hosts and key in self.hosts:
            return HostAnswer(self.hosts[key], key)
        a = asyncio.ensure_future(self._query(name, dns.rdatatype.A, deadline))
        aaaa = asyncio.ensure_future(self._query(name, dns.rdatatype.AAAA, deadline))
        try:
            done, _ = await asyncio.wait({a, aaaa}, return_when=asyncio.FIRST_COMPLETED)
            first = done.pop().result()
            if first[0] and not (a.done() and aaaa.done()):  # one family answered: the other may lag a little
                await asyncio.wait({a, aaaa}, timeout=SECOND_FAMILY_GRACE)
        finally:
            lagging = [task for task in (a, aaaa) if not task.done()]
            for task in lagging:
                task.cancel()
            if lagging:  # let them finish being cancelled: nothing is left running on the loop
                await asyncio.wait(lagging, timeout=1.0)
        results = [t.result() for t in (a, aaaa) if t.done() and not t.cancelled()]
        addresses = tuple(addr for records, _, _ in results for addr in records)[:MAX_RECORDS]
        canonical = next((c for records, c, _ in results if records), results[0][1] if results else key)
        if addresses:
            return HostAnswer(addresses, canonical)
        problems = [p for _, _, p in results if p is not None]
        if any(p.nxdomain for p in problems):
            return HostAnswer((), canonical, "no such name", nxdomain=True)
        if problems:
            return HostAnswer((), canonical, problems[0].problem)
        return HostAnswer((), canonical)

    async def mx(self, domain: str, deadline: float | None = None) -> Records:
        """Mail exchangers, most preferred first (the null MX ``.`` is dropped)."""
        rrs, _, problem = await self._query(domain, dns.rdatatype.MX, deadline, raw=True)
        if problem is not None:
            return Records((), problem.problem, problem.nxdomain)
        pairs = sorted((int(r.preference), _name(r.exchange)) for r in rrs)
        return Records(tuple(dict.fromkeys(h for _, h in pairs if h)))

    async def srv(self, name: str, deadline: float | None = None) -> tuple[tuple[SrvRecord, ...], Records]:
        rrs, _, problem = await self._query(name, dns.rdatatype.SRV, deadline, raw=True)
        if problem is not None:
            return (), Records((), problem.problem, problem.nxdomain)
        found = [SrvRecord(_name(r.target), int(r.port), int(r.priority), int(r.weight)) for r in rrs]
        found = [s for s in found if s.host and s.port > 0]  # "." means "no such service"
        found.sort(key=lambda s: (s.priority, -s.weight))
        return tuple(found), Records(tuple(f"{s.host}:{s.port}" for s in found))

    async def txt(self, domain: str, deadline: float | None = None) -> Records:
        rrs, _, problem = await self._query(domain, dns.rdatatype.TXT, deadline, raw=True)
        if problem is not None:
            return Records((), problem.problem, problem.nxdomain)
        return Records(tuple(b"".join(r.strings).decode("utf-8", "replace")[:4096] for r in rrs))

    async def cname_chain(
        self, name: str, deadline: float | None = None, *, stop: Callable[[str], bool] | None = None
    ) -> Records:
        """The CNAME chain from ``name`` (``name`` first), one query per hop, at most
        :data:`MAX_CHAIN` hops; stops early at a name ``stop`` accepts (not looked up further)."""
        chain = [name.lower().rstrip(".")]
        while len(chain) <= MAX_CHAIN:
            if stop is not None and stop(chain[-1]):
                return Records(tuple(chain))
            rrs, _, problem = await self._query(chain[-1], dns.rdatatype.CNAME, deadline, raw=True)
            if problem is not None:
                # NXDOMAIN after the first hop ends the chain where it is: the last name is dangling.
                return Records(tuple(chain), problem.problem, problem.nxdomain)
            targets = [_name(r.target) for r in rrs]
            if not targets:
                return Records(tuple(chain))
            if targets[0] in chain:
                return Records(tuple(chain), f"CNAME loop at {targets[0]}")
            chain.append(targets[0])
        return Records(tuple(chain), f"CNAME chain longer than {MAX_CHAIN}")

    # -- plumbing ----------------------------------------------------------------------------------

    async def _query(
        self, name: str, rdtype: dns.rdatatype.RdataType, deadline: float | None, *, raw: bool = False
    ) -> tuple[list[Any], str, _Problem | None]:
        """(records, canonical name, problem). Records are rdata objects if ``raw``, else address text."""
        key = name.lower().rstrip(".")
        if self._unconfigured is not None:
            return [], key, _Problem(self._unconfigured)
        lifetime = self.lifetime
        if deadline is not None:
            lifetime = min(lifetime, deadline - asyncio.get_running_loop().time())
            if lifetime <= 0:
                return [], key, _Problem("no time left for DNS")
        try:
            qname = dns.name.from_text(key)
            async with _until(deadline):
                answer = await self._resolver.resolve(
                    qname, rdtype, search=False, raise_on_no_answer=False, lifetime=lifetime
                )
        except dns.resolver.NXDOMAIN:
            return [], key, _Problem("no such name", nxdomain=True)
        except (dns.exception.Timeout, TimeoutError):
            return [], key, _Problem(f"no answer from the name servers within {lifetime:.3g} s")
        except dns.resolver.NoNameservers:
            return [], key, _Problem("the name servers failed to answer")
        except (dns.exception.DNSException, ValueError) as exc:
            return [], key, _Problem(f"DNS error ({type(exc).__name__})")
        canonical = _name(answer.canonical_name) or key
        rrset = answer.rrset
        items: list[Any] = list(rrset)[:MAX_RECORDS] if rrset is not None else []
        if raw:
            return items, canonical, None
        return [str(getattr(r, "address", "")) for r in items if getattr(r, "address", None)], canonical, None


@dataclass(frozen=True)
class _Problem:
    """Why a lookup found nothing (``nxdomain``: the name does not exist)."""

    problem: str
    nxdomain: bool = False


@contextlib.asynccontextmanager
async def _until(deadline: float | None) -> AsyncIterator[None]:
    if deadline is None:
        yield
        return
    async with asyncio.timeout_at(deadline):
        yield


def _name(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=True).lower() if name != dns.name.root else ""


_DEFAULT: list[DnsClient] = []


def default_client() -> DnsClient:
    """One client on the system's configuration, made on first use."""
    if not _DEFAULT:
        _DEFAULT.append(DnsClient())
    return _DEFAULT[0]
