"""The garbage collector's settings where they cost the user time (bot/collector.py): the exchbot
process collects its youngest generation less often, set before the commands are imported."""

from __future__ import annotations

import gc
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.collector import YOUNG_THRESHOLD, collect_less_often
from tests.cli_proc import ROOT, clean_env


@pytest.fixture
def default_thresholds() -> Iterator[tuple[int, int, int]]:
    before = gc.get_threshold()
    gc.set_threshold(700, 10, 10)  # CPython's defaults, whatever the test process runs with
    try:
        yield gc.get_threshold()
    finally:
        gc.set_threshold(*before)


def test_the_youngest_generation_is_collected_less_often_and_the_older_ones_as_before(
    default_thresholds: tuple[int, int, int],
) -> None:
    collect_less_often()
    assert gc.get_threshold() == (YOUNG_THRESHOLD, 10, 10)


def test_a_process_already_collecting_less_often_keeps_its_setting(default_thresholds: tuple[int, int, int]) -> None:
    gc.set_threshold(50_000, 5, 5)
    collect_less_often(10_000)
    assert gc.get_threshold() == (50_000, 5, 5)


# The console script, in its own interpreter: the threshold in force while the commands' modules
# are imported (the first bot.cli module, seen by an import hook) and when the process ends.
PROBE = """
import atexit, gc, sys
seen = {}
class Finder:
    def find_spec(self, name, path=None, target=None):
        if name == "bot.cli" and "at_import" not in seen:
            seen["at_import"] = gc.get_threshold()[0]
        return None
sys.meta_path.insert(0, Finder())
atexit.register(lambda: sys.stderr.write(f"thresholds {seen['at_import']} {gc.get_threshold()}\\n"))
sys.argv = ["exchbot", *sys.argv[1:]]
from bot.entry import run
run()
"""


@pytest.mark.parametrize(
    ("args", "printed"), [(["--version"], "version"), (["build", "15.1.2507.6", "--json"], '"build": "15.1.2507.6"')]
)
def test_the_console_script_sets_it_before_importing_the_commands(
    args: list[str], printed: str, tmp_path: Path
) -> None:
    env = clean_env(EXCHBOT_DB=str(tmp_path / "x.db"))
    proc = subprocess.run(
        [sys.executable, "-c", PROBE, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    assert f"thresholds {YOUNG_THRESHOLD} ({YOUNG_THRESHOLD}, 10, 10)" in proc.stderr
    assert printed in proc.stdout  # the command itself ran
