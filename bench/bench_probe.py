"""Probe speed and memory, measured against the HTTPS simulator on loopback.

The simulator runs in its own process (the scanned servers are other machines in reality).

1. One host's check time as a multiple of the simulated round trip (the simulator sleeps LATENCY
   before every response): the concurrent probe should need about one round trip, not one per path.
2. The same host probed with its paths one after another (sequential), for comparison.
3. 200 distinct hosts at concurrency 200, as a multiple of one host's time (ideal 1).
4. Peak Python memory for 10,000 targets through the full check service (results streamed to SQLite
   in batches), compared with 1,000 targets: flat means memory does not grow with the batch.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import statistics
import tempfile
import time
import tracemalloc
from collections.abc import Sequence
from pathlib import Path

from bench.sim_process import simulator_process
from bot.clock import FixedClock
from bot.core.response import Response
from bot.knowledge import load_catalog
from bot.probe.fetch import CertFacts
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import Target, parse_target
from bot.services.checks import CheckService
from bot.store import Store

LATENCY = 0.2
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


async def loopback(host: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"]


def make_prober(concurrency: int, timeout: float = 30.0) -> Prober:
    return Prober(
        catalog=load_catalog(),
        settings=ProbeSettings(timeout=timeout, concurrency=concurrency, allow_private=True),
        resolver=loopback,
        clock=FixedClock(NOW),
    )


async def _one(prober: Prober, target: str) -> float:
    t = time.perf_counter()
    r = await prober.check(parse_target(target))
    assert r.error is None and r.assessment.build, r.error
    return time.perf_counter() - t


async def _sequential(prober: Prober, target: str) -> float:
    """All six requests, one after another (what a naive prober does)."""
    one_path = [
        ProbeSettings(timeout=30, allow_private=True, paths=(dataclasses.replace(p, fallback=False),))
        for p in prober.settings.paths
    ]
    t = time.perf_counter()
    for s in one_path:
        p = Prober(catalog=prober.catalog, settings=s, resolver=loopback, clock=prober.clock)
        await p.check(parse_target(target))
    return time.perf_counter() - t


async def _batch(prober: Prober, targets: list[str]) -> float:
    parsed = [parse_target(t) for t in targets]
    t = time.perf_counter()
    n = 0
    async for _, r in prober.check_many(parsed):
        assert r.error is None, r.error
        n += 1
    assert n == len(parsed)
    return time.perf_counter() - t


def timing(port: int) -> None:
    prober = make_prober(concurrency=200)
    host = f"exchange-se-current.sim.test:{port}"
    asyncio.run(_one(prober, host))  # warm up (imports, SSL context)
    singles = [asyncio.run(_one(prober, host)) for _ in range(5)]
    single = statistics.median(singles)
    seq = statistics.median(asyncio.run(_sequential(prober, host)) for _ in range(2))
    targets = [f"h{i}.exchange-se-current.sim.test:{port}" for i in range(200)]
    batch = statistics.median(asyncio.run(_batch(prober, targets)) for _ in range(3))
    print(f"   simulated round trip: {LATENCY * 1000:.0f} ms per response; {len(prober.settings.paths)} paths per host")
    print(f"   one host, concurrent paths:   {single / LATENCY:5.2f} x round trip   (goal <= 3)")
    print(
        f"   one host, paths in sequence:  {seq / LATENCY:5.2f} x round trip   "
        f"(concurrent is {seq / single:.1f}x faster)"
    )
    print(
        f"   200 hosts at concurrency 200: {batch / single:5.2f} x one host     (ideal 1, goal <= 4); "
        f"{200 / batch:.0f} hosts/s"
    )


PAGE = (
    b"<!-- OwaPage = ASP.auth_logon_aspx --><title>Outlook</title>"
    b'<link href="/owa/auth/15.2.2562/themes/resources/favicon.ico">'
) + b" " * 20000


class InProcessSession:
    """A fake session (no sockets): isolates the prober's own memory use from TLS and the network."""

    cert: CertFacts | None = None

    def __init__(self, target: Target, address: str) -> None:
        self.base = f"https://{target.host_header}"

    async def get(self, path: str, *, follow: bool, max_bytes: int, deadline: float | None = None) -> Response:
        if path == "/owa/":
            return Response(
                path,
                self.base + path,
                302,
                (("x-owa-version", "15.2.2562.53"), ("x-feserver", "EX01"), ("location", "/owa/auth/logon.aspx")),
            )
        if path == "/owa/auth/logon.aspx":
            return Response(path, self.base + path, 200, (), PAGE[:max_bytes])
        return Response(path, self.base + path, 401, (("x-owa-version", "15.2.2562.53"),))

    async def aclose(self) -> None:
        return None


def memory(n: int) -> tuple[int, float]:
    prober = make_prober(concurrency=200)
    prober.sessions = InProcessSession
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(Path(tmp) / "bench.db")
        service = CheckService(prober=prober, store=store, batch_size=200)
        targets = [parse_target(f"host{i}.example.com") for i in range(n)]
        tracemalloc.start()
        t = time.perf_counter()

        async def consume() -> int:
            count = 0
            async for _ in service.run(targets):
                count += 1
            return count

        done = asyncio.run(consume())
        elapsed = time.perf_counter() - t
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        stored = store.db.execute("SELECT count(*) FROM checks").fetchone()[0]
        store.close()
    assert done == n == stored
    return peak, elapsed


def main() -> None:
    with simulator_process("exchange_se_current", LATENCY) as port:
        timing(port)
    small, t_small = memory(1_000)
    big, t_big = memory(10_000)
    print(
        f"   peak Python memory, 10,000 targets checked and stored: {big / 1e6:.1f} MB "
        f"({big / small:.2f} x the peak for 1,000 targets; flat = 1)"
    )
    print(
        f"   throughput with an in-process fake session: {10_000 / t_big:.0f} targets/s "
        f"({(10_000 / t_big) / (1_000 / t_small):.2f} x the 1,000-target rate)"
    )


if __name__ == "__main__":
    main()
