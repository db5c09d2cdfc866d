"""Discovery: from a domain (or a mail address) to its Exchange endpoints, each checked.

One deadline bounds the whole run: DNS gets at most half of it (lookups run at once; what has not
answered by then is left out and said so), the checks get the rest. Candidates come from the MX
hosts, ``autodiscover.<domain>``, the SRV record ``_autodiscover._tcp.<domain>`` and the common
names (:data:`bot.core.discover.COMMON_NAMES`); Microsoft's hosts are never probed. Each endpoint
is checked by the same prober as ``exchbot check``, pinned to the addresses discovery found (no
second lookup), so the SSRF guard judges exactly what was found. :meth:`DiscoverService.discover`
stores nothing; :func:`discover_and_store` (``exchbot discover``) and :func:`store_results`
(``exchbot check admin@contoso.com``, see ``bot/cli/discover_cmd.py``) store what was checked in the
store they are handed.
"""

from __future__ import annotations

import asyncio
import collections
import dataclasses
from collections.abc import Generator, Sequence
from dataclasses import dataclass

from bot.core.discover import (
    ONLINE_STATEMENT,
    SRV_NAME,
    Candidate,
    Endpoint,
    Query,
    QueryError,
    common_names,
    is_microsoft,
    merge,
    online_signs,
    split_query,
)
from bot.core.model import CheckResult
from bot.loops import close_loop
from bot.probe.dns import DnsClient, DnsError, HostAnswer
from bot.probe.prober import Prober
from bot.probe.ssrf import Resolver
from bot.probe.targets import Target, TargetError, parse_target
from bot.probe.verdict import failed_result
from bot.store import Store

MAX_MX = 10
MAX_SRV = 5
DNS_SHARE = 0.5  # of the deadline, at most, for DNS
MIN_CHECK_TIME = 0.5  # seconds; with less left, endpoints are reported but not checked


def parse_query(text: str) -> Query:
    """A domain or a mail address -> :class:`Query` with the domain as an ASCII host name;
    :class:`QueryError` says what is accepted otherwise."""
    query = split_query(text)
    if "://" in query.domain or "/" in query.domain:
        raise QueryError(f"{query.domain[:80]!r}: give a domain (contoso.com) or a mail address, not a URL")
    try:
        target = parse_target(query.domain)
    except TargetError as exc:
        raise QueryError(f"{query.domain[:80]!r}: not a domain ({exc})") from None
    if target.is_ip or target.port != 443 or "." not in target.host:
        raise QueryError(f"{query.domain[:80]!r}: give a domain name such as contoso.com")
    return Query(target.host, query.address)


@dataclass(frozen=True)
class Discovery:
    """What discovery found for a domain: Exchange Online signs, endpoints and each endpoint's check."""

    domain: str
    address: str | None  # the mail address asked about, if any
    exchange_online: bool
    online_signs: tuple[str, ...]
    endpoints: tuple[Endpoint, ...]
    results: tuple[CheckResult, ...]  # one per endpoint, same order
    notes: tuple[str, ...] = ()  # what DNS said along the way (no such domain, loops, timeouts)

    @property
    def failures(self) -> int:
        """Endpoints that could not be checked, or 1 when nothing was found and mail is not Online."""
        failed = sum(1 for r in self.results if r.error is not None)
        if not self.endpoints and not self.exchange_online:
            return 1
        return failed


@dataclass
class DiscoverService:
    """Finds a domain's Exchange endpoints through DNS and checks each one."""

    dns: DnsClient
    prober: Prober
    https_port: int = 443  # tests point it at the simulator's port

    async def discover(
        self,
        domain: str,
        *,
        timeout: float,
        address: str | None = None,
        allow_private: bool | None = None,
        host_gate: asyncio.Semaphore | None = None,
    ) -> Discovery:
        """``host_gate``: a gate shared with other discoveries on this loop, so that all of them together
        check at most that many endpoints at once (None: this discovery's endpoints all at once)."""
        loop = asyncio.get_running_loop()
        start = loop.time()
        deadline = start + timeout
        dns_deadline = start + timeout * DNS_SHARE
        notes: list[str] = []
        mx, (srv, srv_records), txt, ad = await asyncio.gather(
            self.dns.mx(domain, dns_deadline),
            self.dns.srv(f"{SRV_NAME}.{domain}", dns_deadline),
            self.dns.txt(domain, dns_deadline),
            self.dns.cname_chain(f"autodiscover.{domain}", dns_deadline, stop=is_microsoft),
        )
        signs = online_signs(mx.items, ad.items, txt.items)
        if mx.nxdomain and txt.nxdomain:
            notes.append(f"{domain}: no such domain")
            return Discovery(domain, address, bool(signs), signs, (), (), tuple(notes))
        for what, rec in (("MX", mx), ("SRV", srv_records), ("TXT", txt)):
            if rec.problem is not None and not rec.nxdomain:
                notes.append(f"{what} lookup: {rec.problem}")

        wanted: list[tuple[str, int, str]] = []
        for host in mx.items[:MAX_MX]:
            if not is_microsoft(host):
                wanted.append((host, self.https_port, "mx"))
        if ad.problem is not None and not ad.nxdomain:
            notes.append(f"autodiscover.{domain}: {ad.problem}")
        elif ad.items and not is_microsoft(ad.items[-1]) and not ad.nxdomain:
            wanted.append((f"autodiscover.{domain}", self.https_port, "autodiscover"))
        for record in srv[:MAX_SRV]:
            if not is_microsoft(record.host):
                wanted.append((record.host, record.port, "srv"))
        wanted += [(name, self.https_port, "name") for name in common_names(domain)]

        valid = [w for w in wanted if _host_name(w[0])]
        notes += [
            f"{escape_name(h)} ({way}): not a valid host name, skipped" for h, _, way in wanted if not _host_name(h)
        ]
        wanted = valid
        hosts = list(dict.fromkeys(h for h, _, _ in wanted))
        answers: dict[str, HostAnswer] = dict(
            zip(hosts, await asyncio.gather(*(self.dns.host(h, dns_deadline) for h in hosts)), strict=True)
        )
        candidates: list[Candidate] = []
        for host, port, way in wanted:
            answer = answers[host]
            if is_microsoft(answer.canonical):
                continue  # an alias of Microsoft's hosts: nothing on premises there
            if answer.problem is not None and (way != "name" or not answer.nxdomain):
                notes.append(f"{host} ({way}): {answer.problem}")
            if answer.addresses:
                candidates.append(Candidate(host, port, way, answer.addresses))
        endpoints = merge(candidates)
        gate = host_gate or asyncio.Semaphore(len(endpoints) or 1)
        results = await self._check(endpoints, deadline, allow_private, gate)
        return Discovery(domain, address, bool(signs), signs, endpoints, results, tuple(dict.fromkeys(notes)))

    async def _check(
        self, endpoints: Sequence[Endpoint], deadline: float, allow_private: bool | None, host_gate: asyncio.Semaphore
    ) -> tuple[CheckResult, ...]:
        """Each endpoint checked once ``host_gate`` lets it in, with the time that was left of the
        deadline when it reached the gate: waiting for other endpoints to be checked (a throttle the
        user chose) takes nothing from its own check. With too little left, it is reported and not
        checked."""
        loop = asyncio.get_running_loop()
        settings = dataclasses.replace(
            self.prober.settings,
            allow_private=self.prober.settings.allow_private if allow_private is None else allow_private,
        )
        resolver = _pinned(endpoints)

        async def one(e: Endpoint) -> CheckResult:
            target = Target(e.target, e.host, e.port, False)
            remaining = deadline - loop.time()
            if remaining < MIN_CHECK_TIME:
                why = "could not check: no time left before the deadline"
                return failed_result(target.raw, target.key, self.prober.clock.now(), why, self.prober.knowledge())
            async with host_gate:
                timed = dataclasses.replace(settings, timeout=round(remaining, 1))
                return await dataclasses.replace(self.prober, settings=timed, resolver=resolver).check(target)

        return tuple(await asyncio.gather(*(one(e) for e in endpoints)))


def _host_name(host: str) -> bool:
    """Names from DNS answers are hostile input: only plain host names become targets."""
    try:
        target = parse_target(host)
    except TargetError:
        return False
    return not target.is_ip and target.port == 443 and target.host == host


def escape_name(host: str) -> str:
    """A name from DNS for a note: printable ASCII only, at most 100 characters."""
    return "".join(c if " " < c < "\x7f" else "?" for c in host)[:100]


def _pinned(endpoints: Sequence[Endpoint]) -> Resolver:
    """Answers with the addresses discovery found: the check connects where discovery looked."""
    table = {e.host: e.addresses for e in endpoints}

    async def resolve(host: str, port: int) -> Sequence[str]:
        found = table.get(host)
        if not found:
            raise DnsError("not found by discovery")
        return found

    return resolve


# -- orchestration for the command line ---------------------------------------------------------


def store_results(store: Store, results: Sequence[CheckResult], knowledge_version: str) -> str | None:
    """Store ``results``; what went wrong as one line (None: stored, or nothing to store)."""
    if not results:
        return None
    try:
        store.save_checks(list(results), requested_by=None, knowledge_version=knowledge_version)
    except Exception as exc:  # the results are still shown; the exit code says it
        return f"results could not be stored: {exc}"
    return None


def run_discovery(service: DiscoverService, query: Query, timeout: float) -> Discovery:
    """:meth:`DiscoverService.discover` on its own event loop."""
    return asyncio.run(service.discover(query.domain, address=query.address, timeout=timeout))


# A discovery finds a handful of endpoints for most domains (at most MAX_MX + MAX_SRV + autodiscover
# + the usual names), so ``exchbot check --concurrency N`` (hosts at once) discovers about
# N / ENDPOINTS_PER_DISCOVERY addresses at once (5 at the default of 20 hosts), and the endpoints
# they find share one gate of N hosts (run_discoveries' ``hosts_at_once``).
ENDPOINTS_PER_DISCOVERY = 4


def discoveries_at_once(concurrency: int) -> int:
    """How many mail addresses to discover at once for ``concurrency`` hosts at once (at least one)."""
    return max(1, concurrency // ENDPOINTS_PER_DISCOVERY)


def run_discoveries(
    service: DiscoverService, queries: Sequence[Query], timeout: float, at_once: int, hosts_at_once: int | None = None
) -> Generator[tuple[Query, Discovery], None, None]:
    """Discover ``queries``, at most ``at_once`` at a time, each within ``timeout`` of its own
    start; handed out in input order, each as soon as it and those before it are done. At most
    twice ``at_once`` are started and not yet handed out (a file of 100,000 addresses is not
    100,000 tasks). ``hosts_at_once``: how many endpoints all of them check at once, at most
    (None: each discovery checks its own all at once). Stopping early cancels the discoveries
    still running."""
    loop = asyncio.new_event_loop()
    gate = asyncio.Semaphore(max(1, at_once))
    host_gate = asyncio.Semaphore(max(1, hosts_at_once)) if hosts_at_once is not None else None
    window = 2 * max(1, at_once)

    async def one(query: Query) -> Discovery:
        async with gate:
            return await service.discover(query.domain, address=query.address, timeout=timeout, host_gate=host_gate)

    waiting = iter(queries)
    started: collections.deque[tuple[Query, asyncio.Task[Discovery]]] = collections.deque()
    try:
        while True:
            while len(started) < window and (query := next(waiting, None)) is not None:
                started.append((query, loop.create_task(one(query))))
            if not started:
                return
            query, task = started.popleft()
            # the loop runs (every started discovery progresses) until this one is done; it pauses
            # while the caller handles the answer
            yield query, loop.run_until_complete(task)
    finally:
        close_loop(loop)  # cancels the discoveries still running (stopped early) and what they left


def discover_and_store(
    service: DiscoverService, store: Store, query: Query, timeout: float
) -> tuple[Discovery, str | None]:
    """``exchbot discover``: the discovery, and why its results could not be stored (None: stored)."""
    found = run_discovery(service, query, timeout)
    return found, store_results(store, found.results, service.prober.knowledge().version)


def unanswered_line(query: Query, found: Discovery) -> str | None:
    """For a mail address whose domain has no endpoint on premises: why it has no result."""
    if found.endpoints:
        return None
    why = ONLINE_STATEMENT if found.exchange_online else "no Exchange endpoint found"
    return f"{query.address or query.domain}: {why}"
