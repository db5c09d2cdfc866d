"""Every setting is parsed and range-checked once at start-up: a bad value is a usage error (exit 2,
one line naming the variable, the value and what is accepted), in real processes."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.config import SETTINGS, SettingError, Settings
from tests.cli_proc import ROOT, clean_env, exchbot, one_line_error

BAD = [
    ("EXCHBOT_CONCURRENCY", "0", "from 1 to 1000"),
    ("EXCHBOT_CONCURRENCY", "-5", "from 1 to 1000"),
    ("EXCHBOT_TIMEOUT", "inf", "from 0.5 to 300"),
    ("EXCHBOT_TIMEOUT", "1e9", "from 0.5 to 300"),
    ("EXCHBOT_TIMEOUT", "0", "from 0.5 to 300"),
    ("EXCHBOT_TIMEOUT", "-1", "from 0.5 to 300"),
    ("EXCHBOT_TIMEOUT", "nan", "from 0.5 to 300"),
    ("EXCHBOT_RESOLVE", "mail.example.com:192.0.2.1,oops", "HOST:ADDRESS"),
    ("EXCHBOT_RESOLVE", "mail.example.com:192.0.2.1,,", "HOST:ADDRESS"),
    ("EXCHBOT_DIGEST_TZ", "Mars/Olympus", "IANA time zone"),
    ("EXCHBOT_DIGEST_TZ", "../../etc/passwd", "IANA time zone"),
    ("EXCHBOT_KNOWLEDGE_DIR", "/nonexistent", "builds.csv"),
    ("EXCHBOT_DIGEST_TIME", "25:00", "HH:MM"),
    ("EXCHBOT_WATCH_TIME", "7", "HH:MM"),
    ("EXCHBOT_ALLOW_PRIVATE", "maybe", "true"),
    ("EXCHBOT_SHODAN_RPS", "-1", "from 0 to 100"),
    ("EXCHBOT_SHODAN_TIMEOUT", "0", "from 0.5 to 600"),
    ("EXCHBOT_EXPOSURE_TTL_HOURS", "nan", "from 0 to 8760"),
    ("EXCHBOT_USER_RATE_PER_MINUTE", "1.5", "whole number"),
    ("EXCHBOT_MAX_JOBS", "0", "from 1 to 256"),
    ("EXCHBOT_DB_LOCK_TIMEOUT", "-3", "from 0 to 600"),
    ("EXCHBOT_ALLOWED_USERS", "U1,<!channel>", "Slack IDs"),
    ("EXCHBOT_DIGEST_REGIONS", "eu,mars", "region"),
    ("SLACK_API_URL", "ftp://x", "http"),
]


@pytest.mark.parametrize(("name", "value", "accepts"), BAD)
def test_bad_setting_is_a_one_line_usage_error(tmp_path: Path, name: str, value: str, accepts: str) -> None:
    env = clean_env(EXCHBOT_DB=str(tmp_path / "x.db"), **{name: value})
    proc = exchbot("history", "mail.example.com", env=env, timeout=60)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert name in line and accepts in line
    assert repr(value)[1:-1][:40] in line  # the value, quoted
    assert not (tmp_path / "x.db").exists()  # nothing ran


def test_concurrency_zero_ends_at_once_instead_of_hanging(tmp_path: Path) -> None:
    env = clean_env(EXCHBOT_DB=str(tmp_path / "x.db"), EXCHBOT_CONCURRENCY="0")
    proc = exchbot("check", "127.0.0.1:9", "--allow-private", "--timeout", "1", env=env, timeout=60)
    assert proc.returncode == 2 and "EXCHBOT_CONCURRENCY" in one_line_error(proc)


def test_serve_refuses_to_start_on_a_bad_setting(tmp_path: Path) -> None:
    env = clean_env(
        EXCHBOT_DB=str(tmp_path / "x.db"),
        SLACK_BOT_TOKEN="xoxb-1-secret-value",
        SLACK_SIGNING_SECRET="signing-secret-value",
        EXCHBOT_DIGEST_TZ="Mars/Olympus",
    )
    proc = exchbot("serve", "--http", "--port", "0", env=env, timeout=60)
    assert proc.returncode == 2
    line = one_line_error(proc)
    assert "EXCHBOT_DIGEST_TZ" in line and "secret-value" not in line


def test_a_secret_value_is_never_echoed() -> None:
    with pytest.raises(SettingError) as info:
        Settings.from_env({"SHODAN_API_KEY": "abcd\x1befgh-very-secret"})
    assert "very-secret" not in str(info.value) and "SHODAN_API_KEY" in str(info.value)


def test_control_characters_in_a_value_are_shown_escaped() -> None:
    with pytest.raises(SettingError) as info:
        Settings.from_env({"EXCHBOT_TIMEOUT": "1\x1b[2J\u202e"})
    assert "\x1b" not in str(info.value) and "\u202e" not in str(info.value) and "\\x1b" in str(info.value)


def test_good_values_are_parsed(tmp_path: Path) -> None:
    s = Settings.from_env(
        {
            "EXCHBOT_DB": str(tmp_path / "y.db"),
            "EXCHBOT_TIMEOUT": "2.5",
            "EXCHBOT_CONCURRENCY": "7",
            "EXCHBOT_RESOLVE": "a.example:192.0.2.1, b.example:[2001:db8::1]",
            "EXCHBOT_DIGEST_TZ": "Europe/Berlin",
            "EXCHBOT_DIGEST_REGIONS": "EU, de",
            "EXCHBOT_ALLOW_PRIVATE": "off",
            "EXCHBOT_KNOWLEDGE_DIR": str(ROOT / "knowledge"),
            "EXCHBOT_DB_LOCK_TIMEOUT": "0.5",
            "SLACK_API_URL": "http://127.0.0.1:1/api",
        }
    )
    assert (s.timeout, s.concurrency, s.db_lock_timeout) == (2.5, 7, 0.5)
    assert dict(s.resolve) == {"a.example": "192.0.2.1", "b.example": "2001:db8::1"}
    assert s.digest_tz == "Europe/Berlin" and s.digest_regions == ("eu", "de") and s.allow_private is False
    assert s.knowledge_dir == ROOT / "knowledge" and s.slack_api_url == "http://127.0.0.1:1/api/"
    assert s.db_path == tmp_path / "y.db"


def test_unset_and_empty_mean_the_default() -> None:
    s = Settings.from_env({"EXCHBOT_TIMEOUT": "", "EXCHBOT_CONCURRENCY": "  "})
    assert (s.timeout, s.concurrency, s.digest_regions) == (10.0, 20, ("eu", "us", "world"))


def test_every_setting_is_a_field_with_a_matching_default() -> None:
    defaults = Settings.from_env({})
    for s in SETTINGS:
        assert hasattr(defaults, s.field), s.env
        if s.default is not None:
            assert getattr(defaults, s.field) == s.default, s.env


def test_readme_lists_every_setting_with_its_range() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    rows = {m.group(1): m.group(0) for m in re.finditer(r"^\| `([A-Z_]+)` \|.*$", section, re.M)}
    for s in SETTINGS:
        assert s.env in rows, f"README's Configuration table has no row for {s.env}"
        assert s.parser.accepts in rows[s.env], f"README does not give the range of {s.env}"


def test_knowledge_dir_has_no_silent_fallback(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from bot.knowledge import KnowledgeError, knowledge_dir

    monkeypatch.setenv("EXCHBOT_KNOWLEDGE_DIR", str(tmp_path / "missing"))
    with pytest.raises(KnowledgeError, match="EXCHBOT_KNOWLEDGE_DIR"):
        knowledge_dir()


def test_changes_region_is_validated_like_exposure(tmp_path: Path) -> None:
    env = clean_env(EXCHBOT_DB=str(tmp_path / "x.db"))
    proc = exchbot("changes", "--region", "europa", env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "unknown region or country code 'europa'" in proc.stderr and "--region" in proc.stderr
    assert "digest region" not in proc.stderr
    ok = exchbot("changes", "--region", "eu,de", "--json", env=env)
    assert ok.returncode == 0, ok.stderr


def test_a_comma_list_is_several_regions(catalog: object) -> None:
    from bot.cli.history_cmd import region_list_option
    from bot.core.catalog import Catalog

    assert isinstance(catalog, Catalog)
    assert region_list_option(("eu,DE", "us", "eu"), catalog) == ("eu", "de", "us")


def test_help_works_with_a_bad_setting(tmp_path: Path) -> None:
    proc = exchbot("check", "--help", env=clean_env(EXCHBOT_TIMEOUT="inf"))
    assert proc.returncode == 0 and "--timeout" in proc.stdout


def test_the_prober_clamps_a_bad_concurrency(catalog: object) -> None:
    """Defence in depth: even a Prober built with concurrency 0 (or -5) checks every target."""
    import asyncio

    from bot.clock import SystemClock
    from bot.core.catalog import Catalog
    from bot.probe.prober import Prober, ProbeSettings
    from bot.probe.targets import parse_target

    assert isinstance(catalog, Catalog)

    async def loopback(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    targets = [parse_target(f"127.0.0.1:{9 + i}") for i in range(3)]
    for concurrency in (0, -5):
        prober = Prober(
            catalog=catalog,
            settings=ProbeSettings(timeout=2, concurrency=concurrency, allow_private=True),
            resolver=loopback,
            clock=SystemClock(),
        )

        async def run(p: Prober = prober) -> list[int]:
            return [i async for i, _ in p.check_many(targets)]

        assert sorted(asyncio.run(asyncio.wait_for(run(), 60))) == [0, 1, 2]


def test_serve_refuses_to_start_on_a_bad_database(tmp_path: Path) -> None:
    (tmp_path / "d.db").mkdir()
    env = clean_env(EXCHBOT_DB=str(tmp_path / "d.db"), SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="x" * 32)
    proc = exchbot("serve", "--http", "--port", "0", env=env)
    assert proc.returncode == 1 and "is a directory" in one_line_error(proc)
