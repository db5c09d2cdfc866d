"""app_manifest.yaml is valid for Slack's manifest schema and declares exactly what the app handles;
the Procfile runs the app."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from bot.slack.app import COMMANDS
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import PROXY_VARS, SlackHarness

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = Path(__file__).parent / "data" / "slack_manifest.schema.json"


@pytest.fixture(scope="module")
def manifest() -> dict[str, Any]:
    data = yaml.safe_load((ROOT / "app_manifest.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def test_manifest_is_valid_for_slacks_schema(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(schema)
    errors = sorted(jsonschema.Draft7Validator(schema).iter_errors(manifest), key=str)
    assert errors == [], [e.message for e in errors]


def test_the_schema_catches_mistakes(manifest: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    broken = json.loads(json.dumps(manifest))
    broken["features"]["slash_commands"][0]["command"] = "exchcheck"  # no leading slash
    broken["settings"]["interactivity"] = {}
    assert len(list(jsonschema.Draft7Validator(schema).iter_errors(broken))) == 2


def test_manifest_declares_the_commands_scopes_and_settings_the_app_uses(manifest: dict[str, Any]) -> None:
    commands = [c["command"] for c in manifest["features"]["slash_commands"]]
    assert sorted(commands) == sorted(COMMANDS)
    assert all(c.get("usage_hint") and c.get("should_escape") is True for c in manifest["features"]["slash_commands"])
    assert set(manifest["oauth_config"]["scopes"]["bot"]) == {"commands", "chat:write", "files:write"}
    assert "user" not in manifest["oauth_config"]["scopes"]
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True and settings["socket_mode_enabled"] is True
    assert settings["event_subscriptions"]["bot_events"] == ["app_home_opened"]
    assert manifest["features"]["app_home"]["home_tab_enabled"] is True


@pytest.fixture()
def app(tmp_path: Path) -> Iterator[SlackHarness]:
    saved = {k: os.environ.pop(k) for k in PROXY_VARS if k in os.environ}
    try:
        with FakeSlack() as fake, SlackHarness(fake, tmp_path / "m.db") as h:
            yield h
    finally:
        os.environ.update(saved)


def test_every_manifest_command_is_handled_and_nothing_else(manifest: dict[str, Any], app: SlackHarness) -> None:
    for entry in manifest["features"]["slash_commands"]:
        reply, _ = app.command(entry["command"], "help")
        assert reply.status == 200 and "exchbot help" in reply.body, entry["command"]
    assert app.command("/exchbot", "help")[0].status == 404  # not declared, not handled


def test_procfile_runs_the_app() -> None:
    lines = [x for x in (ROOT / "Procfile").read_text(encoding="utf-8").splitlines() if x and not x.startswith("#")]
    assert lines == ["worker: exchbot serve"]
    assert "# web: exchbot serve --http --host 0.0.0.0 --port $PORT" in (ROOT / "Procfile").read_text()
