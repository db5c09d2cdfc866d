"""Check live hosts: resolve (SSRF guard), fetch the version-disclosing pages concurrently, judge.

Non-intrusive by design: only plain GETs that a browser or Outlook sends, never exploit-shaped
requests. One deadline bounds each host; what arrived before it is still used: every request reads
until the deadline and returns what it has (a response cut short says so, and the judge then never
reports the host patched or not affected).
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.clock import Clock, SystemClock
from bot.core.response import Response
from bot.core.staleness import DEFAULT_MAX_AGE_DAYS, stamp_check
from bot.probe.fetch import NO_ANSWER, CertFacts, Session, SessionFactory, http1_sessions, load_cert_parser
from bot.probe.outgoing import OutgoingRequests
from bot.probe.ssrf import Forbidden, Refused, Resolver, pick_address, system_resolver
from bot.probe.targets import Target

if TYPE_CHECKING:
    from bot.core.catalog import Catalog
    from bot.core.fingerprint import Observations
    from bot.core.model import CheckResult

log = logging.getLogger(__name__)
_GRACE = 0.5  # seconds past the deadline before a request that ignores it is cancelled


@dataclass(frozen=True)
class ProbePath:
    """One path the prober asks for, how much of its answer to read and whether to follow redirects."""

    path: str
    follow: bool  # follow same-host redirects
    max_bytes: int
    fallback: bool = False  # only asked when the first round found no four-part build


# Every request a browser or Outlook sends anyway. The first three go out
# at once; the 401 endpoints only if they still found no four-part build, over the same
# (kept-alive) connections.
PROBE_PATHS: tuple[ProbePath, ...] = (
    ProbePath("/owa/", False, 32 * 1024),
    ProbePath("/owa/auth/logon.aspx", True, 128 * 1024),
    ProbePath("/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application", True, 64 * 1024),
    ProbePath("/autodiscover/autodiscover.xml", False, 8 * 1024, fallback=True),
    ProbePath("/EWS/Exchange.asmx", False, 8 * 1024, fallback=True),
    ProbePath("/Microsoft-Server-ActiveSync", False, 8 * 1024, fallback=True),
)


@dataclass
class ProbeSettings:
    """How the prober behaves: deadline, hosts at once, private addresses, paths."""

    timeout: float = 10.0  # seconds per host, everything included
    concurrency: int = 20  # hosts at once
    allow_private: bool = False
    paths: tuple[ProbePath, ...] = PROBE_PATHS
    knowledge_max_age_days: int = DEFAULT_MAX_AGE_DAYS  # older knowledge: results carry a warning


@dataclass
class Prober:
    """Checks live hosts: resolve through the address guard, ask the paths, judge the answers."""

    # The knowledge answers are judged against. None: ``load_catalog`` loads it when first needed,
    # so a check sends its first requests before parsing it (see prepare()).
    catalog: Catalog | None = None
    settings: ProbeSettings = field(default_factory=ProbeSettings)
    resolver: Resolver = system_resolver
    sessions: SessionFactory | None = None  # None: real HTTPS, its connections counted in ``outgoing``
    clock: Clock = field(default_factory=SystemClock)
    load_catalog: Callable[[], Catalog] | None = None
    outgoing: OutgoingRequests = field(default_factory=OutgoingRequests)

    def __post_init__(self) -> None:
        if self.catalog is None and self.load_catalog is None:
            raise ValueError("a Prober needs a catalog or a way to load one")
        self._https: SessionFactory = http1_sessions(outgoing=self.outgoing)

    def knowledge(self) -> Catalog:
        """The catalog, loaded on first use if it was not given."""
        if self.catalog is None:
            assert self.load_catalog is not None  # __post_init__
            self.catalog = self.load_catalog()
        return self.catalog

    def prepare(self) -> None:
        """Load what judging needs (the knowledge, the judge, the X.509 parser) before the first
        answer arrives; the caller runs this once the first requests are out (see
        :meth:`when_requests_out`). A failure here is not lost: it is raised again where the first
        answer is judged."""
        try:
            self.knowledge()
            from bot.probe.verdict import load_xml

            load_xml()  # the judge and the fingerprinting with it, and the manifest's XML parser
            load_cert_parser()
        except Exception as exc:  # raised again on first use, where the caller handles it
            log.debug("preparing the judge failed (raised again on first use): %s", exc)

    def when_requests_out(self, delay: float, fn: Callable[[], object]) -> None:
        """Run ``fn`` (work the answers will need) ``delay`` seconds from now, or later if
        connections are still being opened then: once none is (bot.probe.outgoing). The delay lets
        the first hosts start connecting; a slow DNS lookup meanwhile is idle time the work may use."""
        asyncio.get_running_loop().call_later(delay, self.outgoing.when_sent, fn)

    async def check(self, target: Target) -> CheckResult:
        try:
            result = await self._check(target)
        except Exception as exc:
            if self.catalog is None:  # the knowledge could not be loaded: nothing can be judged, the run ends
                raise
            # A fault of ours on this host's answers: this host cannot be told, the others still can.
            log.exception("check of %s failed", target.key)
            result = self._failed(target, self.clock.now(), f"could not check: internal error ({type(exc).__name__})")
        return stamp_check(result, result.checked_at.date(), self.settings.knowledge_max_age_days)

    async def _check(self, target: Target) -> CheckResult:
        started = self.clock.now()
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.timeout
        try:
            async with asyncio.timeout(self.settings.timeout):
                address = await pick_address(
                    target.host, target.port, resolver=self.resolver, allow_private=self.settings.allow_private
                )
        except Forbidden as exc:  # nothing was sent: not an observation of the host
            return self._failed(target, started, str(exc), attempted=False)
        except Refused as exc:
            return self._failed(target, started, str(exc))
        except TimeoutError:
            return self._failed(
                target, started, f"could not check: DNS lookup timed out after {self.settings.timeout:g} s"
            )
        responses, obs, cert = await self._fetch_all(target, address, deadline)
        return self._result(target, address, started, responses, obs, cert)

    async def check_many(self, targets: Sequence[Target]) -> AsyncIterator[tuple[int, CheckResult]]:
        """Yield (input index, result) as hosts finish; at most ``concurrency`` hosts at once."""
        gate = asyncio.Semaphore(max(1, self.settings.concurrency))
        queue: asyncio.Queue[tuple[int, CheckResult | Exception]] = asyncio.Queue()

        async def one(i: int, t: Target) -> None:
            async with gate:
                try:
                    result: CheckResult | Exception = await self.check(t)
                except Exception as exc:  # unreadable knowledge (see check): ends the run (below)
                    result = exc
                await queue.put((i, result))

        # Bounded: never more than concurrency * 2 targets started but not yet handed out, so a
        # slow consumer (e.g. storing a batch) holds back new work instead of piling up results.
        tasks: set[asyncio.Task[None]] = set()
        it = iter(enumerate(targets))
        started = done_count = 0
        total = len(targets)
        try:
            while done_count < total:
                while started - done_count < max(1, self.settings.concurrency) * 2:
                    try:
                        i, t = next(it)
                    except StopIteration:
                        break
                    task = asyncio.create_task(one(i, t))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    started += 1
                i, result = await queue.get()
                if isinstance(result, Exception):
                    raise result  # not left waiting for a result that will never come
                done_count += 1
                yield i, result
        finally:
            for task in list(tasks):  # the consumer stopped early: do not leave probes running
                task.cancel()

    async def _fetch_all(
        self, target: Target, address: str, deadline: float
    ) -> tuple[list[Response], Observations, CertFacts | None]:
        first = [p for p in self.settings.paths if not p.fallback]
        second = [p for p in self.settings.paths if p.fallback]
        session = (self.sessions or self._https)(target, address)
        try:
            responses = await self._round(session, target, first, deadline)
            # imported once the first requests are out, not before (see prepare)
            from bot.probe.verdict import needs_fallback, observe

            obs = observe(responses)
            answered = any(r.answered for r in responses)
            if second and (answered or not first) and needs_fallback(obs):
                more = await self._round(session, target, second, deadline)
                observe(more, into=obs)
                responses += more
        finally:
            await session.aclose()
        return responses, obs, session.cert

    async def _round(self, session: Session, target: Target, paths: list[ProbePath], deadline: float) -> list[Response]:
        if not paths:
            return []
        loop = asyncio.get_running_loop()
        tasks = [
            asyncio.create_task(session.get(p.path, follow=p.follow, max_bytes=p.max_bytes, deadline=deadline))
            for p in paths
        ]
        # Sessions stop reading at the deadline and return what arrived; the grace only catches one
        # that does not (it is cancelled, and its request counts as unanswered).
        done, pending = await asyncio.wait(tasks, timeout=max(0.0, deadline - loop.time()) + _GRACE)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        responses: list[Response] = []
        for p, task in zip(paths, tasks, strict=True):
            if task in done and not task.cancelled() and (exc := task.exception()) is not None:
                log.error("probe of %s%s failed", target.key, p.path, exc_info=exc)
                responses.append(
                    Response(
                        p.path,
                        f"https://{target.host_header}{p.path}",
                        None,
                        error=f"internal error ({type(exc).__name__})",
                    )
                )
            elif task in done and not task.cancelled():
                r = task.result()
                if r.error == NO_ANSWER:
                    r = dataclasses.replace(r, error=f"no answer within {self.settings.timeout:g} s")
                responses.append(r)
            else:
                responses.append(
                    Response(
                        p.path,
                        f"https://{target.host_header}{p.path}",
                        None,
                        error=f"no answer within {self.settings.timeout:g} s",
                    )
                )
        return responses

    def _result(
        self,
        target: Target,
        address: str,
        started: dt.datetime,
        responses: list[Response],
        obs: Observations,
        cert: CertFacts | None,
    ) -> CheckResult:
        # imported here, not at the top: the first requests need neither the judge nor the knowledge
        from bot.probe.verdict import probe_result

        return probe_result(target, address, started, responses, obs, cert, self.knowledge())

    def _failed(
        self, target: Target, started: dt.datetime, error: str, address: str | None = None, *, attempted: bool = True
    ) -> CheckResult:
        from bot.probe.verdict import failed_result

        return failed_result(
            target.raw, target.key, started, error, self.knowledge(), address=address, attempted=attempted
        )
