"""CheckService.open_store: ``exchbot check`` makes its store only after the first requests have left
(bot/services/checks.py), yet every result is stored, also when the run ends before that moment."""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.clock import SystemClock
from bot.core.catalog import Catalog
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import parse_target
from bot.services.checks import CheckService
from bot.store import Store


def _service(catalog: Catalog, made: list[Store], db: Path) -> CheckService:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    prober = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=1, concurrency=5, allow_private=True),
        resolver=resolve,
        clock=SystemClock(),
    )

    def open_store() -> Store:
        made.append(Store(db))
        return made[-1]

    return CheckService(prober=prober, store=None, batch_size=3, open_store=open_store)


def test_the_store_is_made_once_during_the_run_and_holds_every_result(tmp_path: Path, catalog: Catalog) -> None:
    made: list[Store] = []
    service = _service(catalog, made, tmp_path / "later.db")
    assert made == [] and service.store is None  # nothing made before the run
    targets = [parse_target(f"127.0.0.1:{9 + i % 2}") for i in range(7)]  # port 9/10: refused at once

    async def run() -> list[str]:
        return [r.host async for r in service.run(targets)]

    hosts = asyncio.run(run())
    assert len(made) == 1 and service.store is made[0]
    assert len(hosts) == 7
    assert sum(len(made[0].history(h)) for h in set(hosts)) == 7  # three batches, all stored
    made[0].close()


def test_without_open_store_nothing_is_made_or_stored(tmp_path: Path, catalog: Catalog) -> None:
    made: list[Store] = []
    service = _service(catalog, made, tmp_path / "none.db")
    service.open_store = None

    async def run() -> int:
        return len([r async for r in service.run([parse_target("127.0.0.1:9")])])

    assert asyncio.run(run()) == 1
    assert service.store is None and not (tmp_path / "none.db").exists()
