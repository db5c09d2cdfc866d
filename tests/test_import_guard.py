"""Start-up guard: each command loads only the libraries it uses.

The console script runs in a subprocess under ``python -X importtime``: every module the process
imported is a line on stderr. A future
top-level import of Slack, Shodan, matplotlib or the database layer in the wrong place fails here
instead of silently adding its start-up cost to every ``exchbot`` run. The command list of
``--help`` comes from the lazy registry in ``bot/cli/__init__.py``; its short help strings are
checked against the commands themselves.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import click
import pytest

from bot.cli import COMMANDS, main
from tests.fakes.exchange_sim import ExchangeSimulator

NEVER = frozenset({"matplotlib", "slack_bolt", "slack_sdk", "shodan", "requests", "numpy", "pandas"})
DATABASE = frozenset({"sqlite_utils", "sqlite3"})
HOST = "exchange-se-current.sim.test"
# what any command module imports: absent, no command was imported
COMMAND_CODE = ("bot.core", "bot.render", "bot.store", "bot.probe", "bot.services", "bot.slack", "bot.exposure")


def exchbot() -> list[str]:
    script = Path(sys.executable).with_name("exchbot")  # the console script pip installed
    target = [str(script)] if script.exists() else ["-m", "bot"]
    return [sys.executable, "-X", "importtime", *target]


def loaded_modules(importtime_stderr: str) -> set[str]:
    """Module names from ``-X importtime`` lines: ``import time: self | cumulative | name``. (A
    module loaded by ``importlib.import_module``, like a lazy command, is not listed itself; what it
    imports is.)"""
    names = set()
    for line in importtime_stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            name = line.rsplit("|", 1)[1].strip()
            if name and name != "imported package":
                names.add(name)
    return names


def tops(names: set[str]) -> set[str]:
    return {n.split(".", 1)[0] for n in names}


def run(args: list[str], db: Path) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHBOT_", "SLACK_", "SHODAN_"))}
    env["EXCHBOT_DB"] = str(db)
    proc = subprocess.run([*exchbot(), *args], capture_output=True, text=True, timeout=120, env=env, check=False)
    return proc, loaded_modules(proc.stderr)


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="exchange_se_current") as s:
        yield s


def test_the_parser_reads_importtime_lines() -> None:
    sample = (
        "import time: self [us] | cumulative | imported package\n"
        "import time:       120 |        340 |   sqlite_utils.db\n"
        "import time:        80 |        900 | bot.store\n"
        "exchbot: some other line | with | bars\n"
    )
    assert loaded_modules(sample) == {"sqlite_utils.db", "bot.store"}
    assert tops(loaded_modules(sample)) == {"sqlite_utils", "bot"}


def test_version_loads_no_command_and_no_heavy_library(tmp_path: Path) -> None:
    proc, mods = run(["--version"], tmp_path / "v.db")
    assert proc.returncode == 0 and "exchbot, version" in proc.stdout
    assert "bot.cli" in mods  # the probe works: the CLI itself shows up
    assert not tops(mods) & (NEVER | DATABASE)
    assert not {m for m in mods if m.startswith(COMMAND_CODE)}


def test_build_loads_no_database_and_no_heavy_library(tmp_path: Path) -> None:
    proc, mods = run(["build", "15.1.2507.6", "--json"], tmp_path / "b.db")
    assert proc.returncode == 0 and '"build": "15.1.2507.6"' in proc.stdout
    assert {"bot.core.assess", "bot.render.json_out"} <= mods
    assert not tops(mods) & (NEVER | DATABASE)
    assert not {m for m in mods if m.startswith(("bot.store", "bot.probe.prober", "bot.services", "bot.slack"))}
    assert not tops(mods) & {"defusedxml", "dns"}  # the XML parser and dnspython: only where used
    assert not (tmp_path / "b.db").exists()  # nothing opened the database


def test_check_loads_the_store_but_no_slack_shodan_or_charts(sim: ExchangeSimulator, tmp_path: Path) -> None:
    db = tmp_path / "c.db"
    target = f"{HOST}:{sim.port}"
    proc, mods = run(["check", target, "--allow-private", "--resolve", f"{HOST}:127.0.0.1", "--json"], db)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert '"build": "15.' in proc.stdout
    assert {"bot.probe.prober", "bot.services.checks", "sqlite_utils"} <= mods  # it probed and stored
    assert not tops(mods) & NEVER
    assert not {m for m in mods if m.startswith(("bot.slack", "bot.exposure", "bot.render.charts"))}
    assert "dns" not in tops(mods)  # a pinned name (--resolve) needs no DNS: dnspython is not loaded
    assert "idna" not in tops(mods)  # a plain letter-digit-hyphen name is encoded without it
    assert not {m for m in mods if m.startswith("bot.cli.discover")}  # no mail address: no discovery
    assert "defusedxml" in tops(mods)  # the manifest was parsed
    assert db.exists()


def test_a_check_saves_with_plain_sql_when_the_schema_is_current(sim: ExchangeSimulator, tmp_path: Path) -> None:
    """sqlite-utils is loaded to create or migrate the schema; saving checks is plain SQL on the
    connection (bot/store/checks.py), so a check against a current database does without it."""
    db = tmp_path / "again.db"
    args = ["check", f"{HOST}:{sim.port}", "--allow-private", "--resolve", f"{HOST}:127.0.0.1", "--json"]
    first, first_mods = run(args, db)
    again, again_mods = run(args, db)
    assert first.returncode == again.returncode == 0, again.stderr[-500:]
    assert "sqlite_utils" in tops(first_mods)  # a new database: the schema was created
    assert "bot.store.checks" in again_mods and "sqlite_utils" not in tops(again_mods)
    from bot.store import Store

    with Store(db) as store:
        assert len(store.history(f"{HOST}:{sim.port}")) == 2  # both stored


def test_check_no_store_loads_no_database(sim: ExchangeSimulator, tmp_path: Path) -> None:
    """``check`` makes its store only once the requests are out (CheckService.open_store), and
    ``--no-store`` never: the database layer is not even imported."""
    db = tmp_path / "n.db"
    target = f"{HOST}:{sim.port}"
    proc, mods = run(["check", target, "--allow-private", "--resolve", f"{HOST}:127.0.0.1", "--no-store"], db)
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "bot.probe.prober" in mods
    assert not tops(mods) & (NEVER | DATABASE)
    assert not {m for m in mods if m.startswith("bot.store")}
    assert not db.exists()


@pytest.mark.parametrize("args", [["history", "mail.example.com", "--json"], ["watch", "list", "--json"]])
def test_database_commands_load_no_slack_shodan_or_charts(tmp_path: Path, args: list[str]) -> None:
    proc, mods = run(args, tmp_path / "h.db")
    assert proc.returncode == 0, proc.stderr[-500:]
    assert "sqlite_utils" in tops(mods)
    assert not tops(mods) & NEVER


def test_help_lists_every_command_without_importing_any(tmp_path: Path) -> None:
    proc, mods = run(["--help"], tmp_path / "h.db")
    assert proc.returncode == 0
    listed = proc.stdout.split("Commands:", 1)[1]
    for name in COMMANDS:
        assert f"\n  {name} " in listed
    assert "bot.cli.lazy" in mods
    assert not {m for m in mods if m.startswith(COMMAND_CODE)}
    assert not tops(mods) & (NEVER | DATABASE)


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_registry_short_help_is_the_commands_own(name: str) -> None:
    entry = COMMANDS[name]
    command = entry.load()
    assert command.name == name
    assert entry.short_help == command.get_short_help_str(limit=10_000)
    for limit in (30, 45, 70):  # cut exactly as click cuts the loaded command's help
        assert entry.short_help_str(limit) == command.get_short_help_str(limit)


def test_every_loaded_command_is_in_the_registry() -> None:
    ctx = click.Context(main)
    assert set(main.list_commands(ctx)) == set(COMMANDS)
    for name in COMMANDS:
        assert main.get_command(ctx, name) is COMMANDS[name].load()


FIRST_REQUEST_PROBE = """
import json, sys
seen = {}
def hook(event, args):
    if event == "open" and isinstance(args[0], str) and args[0].endswith(".csv"):
        seen.setdefault("csv", []).append(args[0])
    if event == "socket.connect" and "modules" not in seen:
        seen["modules"] = sorted(sys.modules)
        seen["csv_before"] = list(seen.get("csv", []))
sys.addaudithook(hook)
import atexit
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write(json.dumps(seen)))
sys.argv = ["exchbot", *sys.argv[2:]]
from bot.entry import run
run()
"""
# What a check needs only once answers arrive: loaded while the first requests wait for them.
NOT_BEFORE_FIRST_REQUEST = (
    "bot.core.judge",
    "bot.core.model",
    "bot.core.fingerprint",
    "bot.core.buildnum",
    "packaging",
    "bot.core.catalog",
    "bot.knowledge",
    "bot.probe.verdict",
    "bot.store",
    "bot.render.json_out",
    "sqlite3",
    "sqlite_utils",
    "cryptography",
    "defusedxml",
)


def test_a_check_sends_its_first_request_before_loading_what_judges_and_stores_the_answers(
    sim: ExchangeSimulator, tmp_path: Path
) -> None:
    """The knowledge, the fingerprinting and judge, the renderer, the database and the X.509 parser are loaded while
    the requests wait for their answers (Prober.prepare, CheckService.open_store): none of them is
    in ``sys.modules``, and no knowledge file was opened, when the first connection is made."""
    out = tmp_path / "seen.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHBOT_", "SLACK_", "SHODAN_"))}
    env["EXCHBOT_DB"] = str(tmp_path / "order.db")
    args = ["check", f"{HOST}:{sim.port}", "--allow-private", "--resolve", f"{HOST}:127.0.0.1", "--json"]
    proc = subprocess.run(
        [sys.executable, "-c", FIRST_REQUEST_PROBE, str(out), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-500:]
    assert '"build": "15.' in proc.stdout  # judged against the knowledge all the same
    seen = json.loads(out.read_text())
    before = set(seen["modules"])
    assert "bot.probe.prober" in before  # the probe works: the prober made the connection
    assert not {m for m in before if m.startswith(NOT_BEFORE_FIRST_REQUEST)}
    assert seen["csv_before"] == [] and any(p.endswith("builds.csv") for p in seen["csv"])
