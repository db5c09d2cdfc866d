"""History store at scale: one million checks over 10,000 targets, against 10,000 checks.

Two databases are built the way the service writes (``Store.save_checks``, one transaction per
daily round over all targets), each with 100 daily rounds: 100 targets (10,000 checks) and 10,000
targets (1,000,000 checks). Every host therefore has the same history length in both, and the
ratios show what the size of the table alone costs (flat = 1):

* ``history``: one host, newest 50 checks;
* ``changes``: every check of the last round plus each host's baseline check before it, and the
  change detection over them, per host in the window.

Also: database size per check.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import tempfile
import time
from pathlib import Path

from bot.core.changes import host_changes
from bot.knowledge import load_catalog
from bot.store import Store
from tests.helpers import result

ROUNDS = 100
T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
BUILDS = ["15.2.1748.36", "15.2.1748.39", "15.1.2507.61", "15.2.2562.49", "15.2.2562.53", "15.0.1497.48"]


def write_round(store: Store, catalog: object, n: int, targets: int) -> float:
    at = T0 + dt.timedelta(days=n)
    rng = random.Random(n)
    batch = []
    for i in range(targets):
        host = f"mail{i}.example.com"
        build = BUILDS[(i + n // 10) % len(BUILDS)] if rng.random() > 0.01 else None  # 1% unreachable
        batch.append(result(catalog, host, at + dt.timedelta(seconds=i), build))  # type: ignore[arg-type]
    t = time.perf_counter()
    store.save_checks(batch)
    return time.perf_counter() - t


def measure(store: Store, n: int, targets: int) -> tuple[float, float]:
    rng = random.Random(42)
    hosts = [f"mail{rng.randrange(targets)}.example.com" for _ in range(300)]
    t = time.perf_counter()
    for h in hosts:
        store.history(h, 50)
    history = (time.perf_counter() - t) / len(hosts)
    since = T0 + dt.timedelta(days=n)
    runs = []
    for _ in range(3):
        t = time.perf_counter()
        points = store.points_since(since)
        changes = [c for pts in points.values() for c in host_changes(pts, since)]
        runs.append(time.perf_counter() - t)
    assert len(points) == targets and changes is not None
    return history, statistics.median(runs) / targets


def build(tmp: str, targets: int, catalog: object) -> tuple[float, float, int, int, list[float]]:
    path = Path(tmp) / f"bench-{targets}.db"
    store = Store(path)
    writes = [write_round(store, catalog, n, targets) for n in range(ROUNDS)]
    history, changes = measure(store, ROUNDS - 1, targets)
    total = store.db.execute("SELECT count(*) FROM checks").fetchone()[0]
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return history, changes, total, os.path.getsize(path), writes


def main() -> None:
    catalog = load_catalog()
    with tempfile.TemporaryDirectory() as tmp:
        h_small, c_small, n_small, _, _ = build(tmp, 100, catalog)
        h_big, c_big, n_big, size, writes = build(tmp, 10_000, catalog)
    print(f"   {n_big:,} checks over 10,000 targets vs {n_small:,} checks over 100 targets (100 rounds each)")
    print(f"   history (one host, newest 50):         {h_big / h_small:5.2f} x the time at 10,000 checks (flat = 1)")
    print(f"   changes (last round, per host):        {c_big / c_small:5.2f} x the time at 10,000 checks (flat = 1)")
    print(
        f"   writing: the 100th batch of 10,000 took {writes[-1] / writes[0]:.2f} x the first "
        f"({10_000 / statistics.median(writes):,.0f} checks/s)"
    )
    print(f"   database size: {size / n_big:,.0f} bytes per check (verdicts stored once per build)")
