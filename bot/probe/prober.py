"""Check live hosts: resolve (SSRF guard), fetch the version-disclosing pages concurrently, judge.

Non-intrusive by design: only plain GETs that a browser or Outlook sends, never exploit-shaped
requests. One deadline bounds each host; what arrived before it is still used.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from dataclasses import dataclass, field

import httpx

from bot.clock import Clock, SystemClock
from bot.core.catalog import Catalog
from bot.core.fingerprint import Response, observe
from bot.core.judge import judge
from bot.core.model import Assessment, CheckResult, Evidence
from bot.probe.fetch import CertFacts, fetch, insecure_ssl_context
from bot.probe.ssrf import Refused, Resolver, pick_address, system_resolver
from bot.probe.targets import Target


@dataclass(frozen=True)
class ProbePath:
    path: str
    follow: bool  # follow same-host redirects
    max_bytes: int


# Every request a browser or Outlook sends anyway (DESIGN.md section 5), all at once.
PROBE_PATHS: tuple[ProbePath, ...] = (
    ProbePath("/owa/", False, 32 * 1024),
    ProbePath("/owa/auth/logon.aspx", True, 128 * 1024),
    ProbePath("/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", True, 64 * 1024),
    ProbePath("/autodiscover/autodiscover.xml", False, 8 * 1024),
    ProbePath("/EWS/Exchange.asmx", False, 8 * 1024),
    ProbePath("/Microsoft-Server-ActiveSync", False, 8 * 1024),
)

ClientFactory = Callable[[float], httpx.AsyncClient]


@dataclass
class ProbeSettings:
    timeout: float = 10.0  # seconds per host, everything included
    concurrency: int = 20  # hosts at once
    allow_private: bool = False
    paths: tuple[ProbePath, ...] = PROBE_PATHS


def default_client_factory() -> ClientFactory:
    ctx = insecure_ssl_context()

    def make(timeout: float) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            verify=ctx, timeout=httpx.Timeout(timeout), trust_env=False, follow_redirects=False,
            limits=httpx.Limits(max_connections=len(PROBE_PATHS), max_keepalive_connections=0),
        )

    return make


@dataclass
class Prober:
    catalog: Catalog
    settings: ProbeSettings = field(default_factory=ProbeSettings)
    resolver: Resolver = system_resolver
    client_factory: ClientFactory = field(default_factory=default_client_factory)
    clock: Clock = field(default_factory=SystemClock)

    async def check(self, target: Target) -> CheckResult:
        started = self.clock.now()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout
        try:
            async with asyncio.timeout(self.settings.timeout):
                address = await pick_address(target.host, target.port, resolver=self.resolver,
                                             allow_private=self.settings.allow_private)
        except Refused as exc:
            return self._failed(target, started, str(exc))
        except TimeoutError:
            return self._failed(target, started,
                                f"could not check: DNS lookup timed out after {self.settings.timeout:g} s")
        responses, cert = await self._fetch_all(target, address, deadline)
        return self._result(target, address, started, responses, cert)

    async def check_many(self, targets: Sequence[Target]) -> AsyncIterator[tuple[int, CheckResult]]:
        """Yield (input index, result) as hosts finish; at most ``concurrency`` hosts at once."""
        gate = asyncio.Semaphore(max(1, self.settings.concurrency))
        queue: asyncio.Queue[tuple[int, CheckResult]] = asyncio.Queue()

        async def one(i: int, t: Target) -> None:
            async with gate:
                await queue.put((i, await self.check(t)))

        # Bounded task creation: never more than concurrency * 2 pending tasks for huge inputs.
        pending: set[asyncio.Task[None]] = set()
        it = iter(enumerate(targets))
        done_count = 0
        total = len(targets)
        while done_count < total:
            while len(pending) < self.settings.concurrency * 2:
                try:
                    i, t = next(it)
                except StopIteration:
                    break
                task = asyncio.create_task(one(i, t))
                pending.add(task)
                task.add_done_callback(pending.discard)
            item = await queue.get()
            done_count += 1
            yield item

    async def _fetch_all(self, target: Target, address: str,
                         deadline: float) -> tuple[list[Response], CertFacts | None]:
        loop = asyncio.get_running_loop()
        remaining = max(0.05, deadline - loop.time())
        async with self.client_factory(remaining) as client:
            tasks = [asyncio.create_task(fetch(client, target, address, p.path, follow=p.follow,
                                               max_bytes=p.max_bytes)) for p in self.settings.paths]
            done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()))
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.wait(pending, timeout=1.0)
        responses: list[Response] = []
        cert: CertFacts | None = None
        for p, task in zip(self.settings.paths, tasks, strict=True):
            if task in done and not task.cancelled() and task.exception() is None:
                response, seen_cert = task.result()
                responses.append(response)
                cert = cert or seen_cert
            else:
                responses.append(Response(p.path, f"https://{target.host_header}{p.path}", None,
                                          error=f"no answer within {self.settings.timeout:g} s"))
        return responses, cert

    def _result(self, target: Target, address: str, started: dt.datetime, responses: list[Response],
                cert: CertFacts | None) -> CheckResult:
        answered = [r for r in responses if r.status is not None]
        if not answered:
            reason = _common_error(r.error for r in responses)
            return self._failed(target, started, f"could not check: {reason}", address=address)
        extra: tuple[Evidence, ...] = ()
        if cert is not None:
            extra = (Evidence("tls-certificate", f"https://{target.host_header}/", cert.describe(started)),)
        obs = observe(answered)
        verdict = judge(target.raw, obs, self.catalog, started.date(), extra)
        warnings = list(verdict.warnings)
        failed = [r for r in responses if r.status is None]
        if failed:
            warnings.append(f"{len(failed)} of {len(responses)} requests got no answer "
                            f"({_common_error(r.error for r in failed)})")
        if cert is not None and started > cert.not_after:
            warnings.append(f"TLS certificate expired on {cert.not_after:%Y-%m-%d}")
        return CheckResult(
            target=target.raw, host=target.key, assessment=verdict.assessment, reachable=True,
            exchange=verdict.exchange, evidence=verdict.evidence, warnings=tuple(warnings), checked_at=started,
            error=None, address=address,
        )

    def _failed(self, target: Target, started: dt.datetime, error: str, address: str | None = None) -> CheckResult:
        return failed_result(target.raw, target.key, started, error, self.catalog, address=address)


def failed_result(raw: str, host: str, at: dt.datetime, error: str, catalog: Catalog,
                  address: str | None = None) -> CheckResult:
    assessment = Assessment(
        input=raw, build=None, precision=0, product=None, cu=None, update=None, release_date=None, eol=None,
        eol_date=None, esu=False,
        families={"ProxyLogon": "unknown", "ProxyShell": "unknown", "ProxyToken": "unknown",
                  "ProxyNotShell": "unknown"},
        cves=(), advice=None, error=None, knowledge_date=catalog.data_date, knowledge_version=catalog.version,
    )
    return CheckResult(target=raw, host=host, assessment=assessment, reachable=False, exchange=None, evidence=(),
                       warnings=(), checked_at=at, error=error, address=address)


def _common_error(errors: Iterable[str | None]) -> str:
    counts: dict[str, int] = {}
    for e in errors:
        if e:
            counts[e] = counts.get(e, 0) + 1
    if not counts:
        return "no answer"
    return max(counts.items(), key=lambda kv: kv[1])[0]
