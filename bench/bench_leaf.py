"""CPU per result of the pure parts of a batch check, in-process, against the way they were written
before (tests/reference/): what a 200-host batch spends besides the network.

The answers of one simulated Exchange SE server (the simulator's ``exchange_se_current`` profile,
in its own process, no added latency) are fetched once through the real prober, recording what
each request returned; then, for 200 copies of that host, each part is timed on its own (process
CPU time, best of several rounds, so other load on the machine counts as little as possible):

1. fingerprinting the three answers (``bot.core.fingerprint.observe``; each host's answers as bytes of
   their own, the export-tool manifest read once per round as a fresh process reads it);
2. judging the observations (``bot.core.judge.judge``);
3. the JSON printed per result (``check_json(r)``, what ``check --json`` writes for a batch);
4. storing the 200 results in one batch (``bot.store.checks.save_checks``), into a fresh database.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import gc
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bench.sim_process import simulator_process
from bot.clock import FixedClock
from bot.core import fingerprint
from bot.core.catalog import Catalog
from bot.core.fingerprint import Observations, observe
from bot.core.judge import judge
from bot.core.model import CheckResult
from bot.core.response import Response
from bot.knowledge import load_catalog
from bot.probe.fetch import Session, http1_sessions
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import Target, parse_target
from bot.render import json_out
from bot.store import Store
from bot.store import checks as store_checks
from tests.reference import fingerprint as ref_fingerprint
from tests.reference import render_json as ref_json
from tests.reference import store_checks as ref_store

PROFILE = "exchange_se_current"
HOST = "exchange-se-current.sim.test"
HOSTS = 200
ROUNDS = 9
NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


async def _loopback(host: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"]


class _Recording:
    """A session that keeps what every GET returned (the prober's own session underneath)."""

    def __init__(self, inner: Session, into: list[Response]) -> None:
        self.inner, self.into = inner, into

    @property
    def cert(self) -> object:
        return self.inner.cert

    async def get(self, path: str, *, follow: bool, max_bytes: int, deadline: float | None = None) -> Response:
        r = await self.inner.get(path, follow=follow, max_bytes=max_bytes, deadline=deadline)
        self.into.append(r)
        return r

    async def aclose(self) -> None:
        await self.inner.aclose()


def answers(catalog: Catalog, port: int) -> tuple[list[Response], CheckResult]:
    seen: list[Response] = []
    real = http1_sessions()

    def sessions(target: Target, address: str) -> Session:
        return _Recording(real(target, address), seen)  # type: ignore[return-value]

    prober = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=10.0, allow_private=True),
        resolver=_loopback,
        sessions=sessions,
        clock=FixedClock(NOW),
    )
    result = asyncio.run(prober.check(parse_target(f"{HOST}:{port}")))
    assert result.error is None and result.assessment.build, result.error
    return seen, result


def cpu(*actions: Callable[[], object], rounds: int = ROUNDS) -> list[float]:
    """Best process CPU time of ``rounds`` runs of each action, the actions taking turns (so load on
    the machine hits them alike)."""
    best = [float("inf")] * len(actions)
    for _ in range(rounds):
        for i, action in enumerate(actions):
            gc.collect()
            gc.disable()  # as timeit does: a collection falls on whichever action happens to run
            try:
                start = time.process_time()
                action()
                best[i] = min(best[i], time.process_time() - start)
            finally:
                gc.enable()
    return best


def store_cpu(*saves: Callable[..., object], results: list[CheckResult], rounds: int = 5) -> list[float]:
    """:func:`cpu` of storing ``results`` in one batch into a fresh database, per save function."""
    best = [float("inf")] * len(saves)
    for _ in range(rounds):
        for i, save in enumerate(saves):
            with tempfile.TemporaryDirectory() as tmp, Store(Path(tmp) / "bench.db") as store:
                db = store.db  # opened and migrated before the clock starts
                start = time.process_time()
                save(db, results)
                best[i] = min(best[i], time.process_time() - start)
    return best


def main() -> None:
    catalog = load_catalog()
    with simulator_process(PROFILE, 0.0) as port:
        responses, result = answers(catalog, port)
    results = [dataclasses.replace(result, target=f"h{i}.{HOST}", host=f"h{i}.{HOST}:{port}") for i in range(HOSTS)]
    obs: Observations = observe(responses)
    assert obs == ref_fingerprint.observe(responses)
    assert json_out.check_json(result) == ref_json.dumps(ref_json.check_dict(result), indent=None)
    today = NOW.date()
    # Each host's answers arrive as bytes of their own (their hashes not yet computed), and each
    # round starts as a fresh process does, with no manifest read yet (bot.core.fingerprint).
    per_host = [[dataclasses.replace(r, body=bytes(bytearray(r.body))) for r in responses] for _ in range(HOSTS)]

    def fingerprint_now() -> list[Observations]:
        fingerprint._manifest.cache_clear()
        return [observe(rs) for rs in per_host]

    fp_now, fp_before = cpu(fingerprint_now, lambda: [ref_fingerprint.observe(rs) for rs in per_host])
    (judged,) = cpu(lambda: [judge(HOST, obs, catalog, today) for _ in range(HOSTS)])
    json_now, json_before = cpu(
        lambda: [json_out.check_json(r) for r in results],
        lambda: [ref_json.dumps(ref_json.check_dict(r), indent=None) for r in results],
    )
    store_now, store_before = store_cpu(store_checks.save_checks, ref_store.save_checks, results=results)
    rows: list[tuple[str, float, float | None]] = [
        ("fingerprint (observe, 3 answers each)", fp_now, fp_before),
        ("judge", judged, None),
        ("JSON per result (check --json)", json_now, json_before),
        ("save_checks, one batch", store_now, store_before),
    ]
    size = len(json_out.check_json(result))
    print(f"   {HOSTS} results of one Exchange SE host ({size:,} bytes of JSON each), CPU, best of {ROUNDS}:")
    for name, now, before in rows:
        was = f"   the way before: {before * 1000:6.1f} ms = {now / before:4.2f} x" if before else ""
        print(f"   {name:38s} {now * 1000:6.1f} ms{was}")
