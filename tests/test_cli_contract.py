"""The CLI's shared contract: failures of the layers below are one line (never a traceback), and
every JSON timestamp is UTC ending in ``Z``."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot import knowledge
from bot.cli import build_cmd, digest_cmd, main
from bot.core.changes import CheckPoint
from bot.knowledge import KnowledgeError
from bot.render import json_out
from bot.store import Store

MISSING = "knowledge/ not found (set EXCHBOT_KNOWLEDGE_DIR to the folder with builds.csv)"


def _no_knowledge(directory: str | None = None) -> object:
    raise KnowledgeError(MISSING)


@pytest.fixture
def env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    db = tmp_path / "h.db"
    monkeypatch.setenv("EXCHBOT_DB", str(db))
    for var in ("SLACK_BOT_TOKEN", "SHODAN_API_KEY", "EXCHBOT_DIGEST_REGIONS"):
        monkeypatch.delenv(var, raising=False)
    return db


@pytest.mark.parametrize(
    ("args", "module"),
    [
        (["build", "15.1.2375.37"], build_cmd),
        (["check", "--allow-private", "127.0.0.1:9"], knowledge),  # wiring imports it when building
        (["digest"], digest_cmd),
    ],
)
def test_missing_knowledge_is_one_line(
    env: Path, monkeypatch: pytest.MonkeyPatch, args: list[str], module: object
) -> None:
    monkeypatch.setattr(module, "load_catalog", _no_knowledge)
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output == f"exchbot: {MISSING}\n"
    assert isinstance(result.exception, SystemExit)  # handled, not a crash


def test_an_unusable_database_is_one_line(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EXCHBOT_DB", str(tmp_path))  # a directory: SQLite cannot open it
    result = CliRunner().invoke(main, ["history", "mail.example.com"])
    assert result.exit_code == 1
    assert result.output.startswith("exchbot: database ") and result.output.count("\n") == 1
    assert "Traceback" not in result.output


def test_user_errors_keep_their_exit_code(env: Path) -> None:
    result = CliRunner().invoke(main, ["serve"])
    assert result.exit_code == 2
    assert result.output.startswith("exchbot: cannot start the Slack app:")


def test_timestamps_are_utc_with_z() -> None:
    berlin = dt.timezone(dt.timedelta(hours=1))
    assert json_out.timestamp(dt.datetime(2026, 11, 2, 9, 15, tzinfo=berlin)) == "2026-11-02T08:15:00Z"
    assert json_out.timestamp(dt.datetime(2026, 11, 2, 8, 15)) == "2026-11-02T08:15:00Z"  # naive = UTC
    assert json_out.timestamp(None) is None
    assert json.loads(json_out.dumps({"at": dt.datetime(2026, 1, 1, tzinfo=dt.UTC)})) == {"at": "2026-01-01T00:00:00Z"}
    assert json.loads(json_out.dumps({"day": dt.date(2026, 1, 1)})) == {"day": "2026-01-01"}


def test_history_and_watch_list_json_use_z(env: Path) -> None:
    at = dt.datetime(2026, 11, 2, 8, 15, tzinfo=dt.UTC)
    with Store(env) as store:
        store.watch_add("mail.example.com", "mail.example.com", at, added_by="cli")
    runner = CliRunner()
    history = runner.invoke(main, ["history", "mail.example.com", "--json"])
    assert history.exit_code == 0 and json.loads(history.output) == []
    listed = runner.invoke(main, ["watch", "list", "--json"])
    assert listed.exit_code == 0
    (entry,) = json.loads(listed.output)
    assert entry["added_at"] == "2026-11-02T08:15:00Z" and entry["latest"] is None
    point = CheckPoint("h", at, "15.1.2375.37", None, None, None, False, {}, True, None)
    assert json_out.point_dict(point)["checked_at"] == "2026-11-02T08:15:00Z"


def test_cli_modules_build_no_clock_or_store_themselves() -> None:
    """The CLI asks wiring for IO objects (a clock is not even imported there)."""
    cli = Path(__file__).resolve().parent.parent / "bot" / "cli"
    for path in cli.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        assert "SystemClock" not in text and "Store(" not in text, path.name
