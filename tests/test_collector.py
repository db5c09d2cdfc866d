"""The garbage collector's settings where they cost the user time (bot/collector.py): a batch of
checks runs with fewer collections of the youngest generation, and everything is put back after."""

from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli.batch_output import JsonlSink
from bot.cli.batch_run import run_batch
from bot.clock import SystemClock
from bot.collector import BATCH_THRESHOLD, fewer_collections
from bot.core.catalog import Catalog
from bot.core.model import CheckResult
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import parse_target
from bot.services.checks import CheckService


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults, whatever the test process runs with
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*before)


def test_fewer_collections_raises_the_first_threshold_and_restores_all_three(
    default_thresholds: tuple[int, int, int],
) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (BATCH_THRESHOLD, 10, 10)
    assert gc.get_threshold() == default_thresholds


def test_fewer_collections_restores_on_an_exception(default_thresholds: tuple[int, int, int]) -> None:
    with pytest.raises(KeyError), fewer_collections(5000):
        assert gc.get_threshold()[0] == 5000
        raise KeyError("boom")
    assert gc.get_threshold() == default_thresholds


def test_fewer_collections_never_collects_more_often_than_before(default_thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(50_000, 5, 5)
    with fewer_collections(10_000):
        assert gc.get_threshold() == (50_000, 5, 5)
    assert gc.get_threshold() == (50_000, 5, 5)


class _Recording(JsonlSink):
    """A JSON Lines sink that also notes the collector's threshold as each result arrives."""

    def __init__(self) -> None:
        self.text = io.StringIO()
        super().__init__(self.text)
        self.thresholds: list[int] = []

    def result(self, index: int, r: CheckResult) -> None:
        self.thresholds.append(gc.get_threshold()[0])
        super().result(index, r)


def test_a_batch_runs_with_fewer_collections_and_puts_the_thresholds_back(
    catalog: Catalog, default_thresholds: tuple[int, int, int], tmp_path: Path
) -> None:
    async def resolve(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    prober = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=1, concurrency=5, allow_private=True),
        resolver=resolve,
        clock=SystemClock(),
    )
    service = CheckService(prober=prober, store=None)
    sink = _Recording()
    targets = [parse_target(f"127.0.0.1:{9 + i}") for i in range(3)]  # nothing listens: refused at once
    outcome = run_batch(service, targets, sink)
    assert len(outcome.results) == 3 and outcome.signum is None
    assert sink.thresholds == [BATCH_THRESHOLD] * 3
    assert gc.get_threshold() == default_thresholds
    assert sink.text.getvalue().count('"target": "127.0.0.1:') == 3
