"""CheckService.open_store and Prober.load_catalog: ``exchbot check`` makes its store and loads its
knowledge only after the first requests have left (bot/services/checks.py, bot/probe/prober.py), yet
every result is judged and stored, also when the run ends before that moment."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.clock import SystemClock
from bot.core.catalog import Catalog
from bot.core.model import CheckResult
from bot.core.response import Response
from bot.probe.fetch import CertFacts
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


def test_the_knowledge_is_loaded_once_during_the_run_when_given_as_a_loader(tmp_path: Path, catalog: Catalog) -> None:
    """``exchbot check`` gives the prober a loader, not a catalog (Prober.prepare loads it once the
    first requests are out); every result is still judged against it."""
    loads: list[int] = []

    def load() -> Catalog:
        loads.append(1)
        return catalog

    service = _service(catalog, [], tmp_path / "k.db")
    service.prober.catalog, service.prober.load_catalog = None, load
    service.open_store = None

    async def run() -> list[str]:
        return [r.target async for r in service.run([parse_target(f"127.0.0.1:{9 + i}") for i in range(4)])]

    assert asyncio.run(run()) == [f"127.0.0.1:{9 + i}" for i in range(4)]
    assert loads == [1] and service.prober.catalog is catalog


def test_an_unreadable_knowledge_ends_the_run_with_its_error_instead_of_hanging(
    tmp_path: Path, catalog: Catalog
) -> None:
    from bot.knowledge import KnowledgeError

    def broken() -> Catalog:
        raise KnowledgeError("cannot read knowledge/cves.csv: No such file or directory")

    service = _service(catalog, [], tmp_path / "broken.db")
    service.prober.catalog, service.prober.load_catalog = None, broken
    service.open_store = None

    async def run() -> list[object]:
        return [r async for r in service.run([parse_target(f"127.0.0.1:{9 + i % 2}") for i in range(6)])]

    async def bounded() -> list[object]:
        return await asyncio.wait_for(run(), 30)  # a lost error would leave the run waiting forever

    with pytest.raises(KnowledgeError, match=r"cves\.csv"):
        asyncio.run(bounded())


def test_a_prober_needs_a_catalog_or_a_loader() -> None:
    with pytest.raises(ValueError, match="catalog"):
        Prober()


def test_exchbot_check_with_unreadable_knowledge_is_one_line_and_stores_nothing(tmp_path: Path) -> None:
    """The knowledge is loaded once the requests are out; a file missing from it still ends the
    command with one line and exit 1 (no traceback, no wait), and no result is stored."""
    import shutil

    from tests.cli_proc import ROOT, clean_env, exchbot, one_line_error

    broken = tmp_path / "knowledge"
    shutil.copytree(ROOT / "knowledge", broken)
    (broken / "cves.csv").unlink()
    db = tmp_path / "broken.db"
    proc = exchbot(
        "check", "127.0.0.1:9", "--allow-private", env=clean_env(EXCHBOT_KNOWLEDGE_DIR=str(broken), EXCHBOT_DB=str(db))
    )
    assert proc.returncode == 1
    assert "cves.csv" in one_line_error(proc)
    if db.exists():
        with Store(db) as store:
            assert store.history("127.0.0.1:9") == []


class _BrokenAnswers:
    """A session whose answers trip the fingerprinting (a header value that is not text): stands for
    a fault of ours on one host's answers."""

    cert: CertFacts | None = None

    def __init__(self, target: object, address: str) -> None:
        self.address = address

    async def get(self, path: str, *, follow: bool, max_bytes: int, deadline: float | None = None) -> Response:
        return Response(path, f"https://h{path}", 200, (("x-owa-version", None),))  # type: ignore[arg-type]

    async def aclose(self) -> None:
        return None


def test_a_fault_on_one_hosts_answers_makes_that_host_cannot_tell_and_the_run_goes_on(catalog: Catalog) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    prober = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=2, allow_private=True),
        resolver=resolve,
        sessions=_BrokenAnswers,
    )
    targets = [parse_target(f"broken{i}.example.test") for i in range(3)]

    async def run() -> list[CheckResult]:
        return [r async for _, r in prober.check_many(targets)]

    results = asyncio.run(asyncio.wait_for(run(), 30))
    assert sorted(r.host for r in results) == [t.key for t in targets]
    for r in results:
        assert not r.reachable and r.error is not None and r.error.startswith("could not check: internal error (")
        assert set(r.assessment.families.values()) == {"unknown"}  # never a guess: cannot tell
