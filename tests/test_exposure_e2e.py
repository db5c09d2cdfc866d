"""`exchbot exposure` end to end: the real shodan client against the fake Shodan API, the service, the
store and the CLI. Every expected number below is worked out by hand from the population spec and
the verdict table (not by calling the code under test)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.clock import FixedClock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.exposure import ExposureResult
from bot.exposure.client import ShodanClient
from bot.ratelimit import RateLimiter
from bot.services.exposure import exposure
from bot.store import Store
from tests.fakes.shodan_api import SPLIT_FACETS_HINT, FakeShodan, make_population

# Verdicts of the knowledge base for the builds used here (as of 2026-11-29):
#   15.1.2507 2016 CU23  EOL  ProxyNotShell cannot tell, rest patched
#   15.1.2242 2016 CU20  EOL  ProxyNotShell vulnerable, ProxyShell/ProxyToken cannot tell, ProxyLogon patched
#   15.1.225  2016 RTM   EOL  all four vulnerable
#   15.0.516  2013 RTM   EOL  all four vulnerable
#   15.0.1497 2013 CU23  EOL  all four cannot tell
#   14.3.513.0 2010 SP3  EOL  ProxyLogon patched, rest not affected
#   15.2.1748 2019 CU15  EOL  all patched
#   15.2.2562 SE RTM     supported, all patched
P1: list[dict[str, Any]] = [
    {"country": "DE", "build": "15.1.2507.39", "signal": "both", "count": 40},
    {"country": "DE", "build": "15.2.2562.17", "signal": "path", "count": 10},
    {"country": "FR", "build": "15.1.2242.12", "signal": "path", "count": 6},
    {"country": "FR", "build": "15.1.2507.39", "signal": "header", "count": 4},  # no path: unknown in count mode
    {"country": "IT", "build": "14.3.513.0", "signal": "path", "count": 3},
    {"country": "GB", "build": "15.0.1497.26", "signal": "path", "count": 5},
    {"country": "CH", "build": "15.1.225.42", "signal": "path", "count": 2},
    {"country": "US", "build": "15.2.1748.10", "signal": "redirect", "count": 20},  # unknown in count mode
    {"country": "US", "build": "15.2.1748.10", "signal": "path", "count": 7},
    {"country": "US", "build": "15.0.516.32", "signal": "path", "count": 2},
    {"country": "JP", "build": "15.1.2507.39", "signal": "path", "count": 8},
    {"country": "CN", "build": "15.2.2562.17", "signal": "path", "count": 4},
    {"country": "IN", "build": "15.1.2242.12", "signal": "none", "count": 3},  # version stripped everywhere
    {"country": None, "build": "15.1.2507.39", "signal": "path", "count": 5},
    {"country": None, "build": "15.2.2562.17", "signal": "header", "count": 2},
    {"country": "NL", "build": "15.1.2507.39", "signal": "both", "ports": [443, 8443]},  # one host, two banners
    {"country": "US", "non_exchange": True, "count": 30},
    {"country": "DE", "non_exchange": True, "count": 5},
]
# Week two: 10 German CU23 servers moved to SE, 5 US servers went away, 3 Korean SE servers appeared.
P2 = [dict(g) for g in P1]
P2[0]["count"], P2[1]["count"], P2[7]["count"] = 30, 20, 15
P2.insert(-2, {"country": "KR", "build": "15.2.2562.17", "signal": "path", "count": 3})

PL, PS, PT, PNS = "ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell"


def fam(pl: tuple[int, int], ps: tuple[int, int], pt: tuple[int, int], pns: tuple[int, int]) -> dict[str, Any]:
    return {f: {"vulnerable": v, "unknown": u} for f, (v, u) in zip((PL, PS, PT, PNS), (pl, ps, pt, pns), strict=True)}


E16, E13, E19, E10, SE = "Exchange 2016", "Exchange 2013", "Exchange 2019", "Exchange 2010", "Exchange SE"
EXPECTED: dict[str, dict[str, Any]] = {
    # DE 40+10, FR 6+4, IT 3, NL 2 (two ports); the FR header-only banners have no path
    "eu": dict(
        total=65,
        by_product={E16: 40 + 6 + 2, SE: 10, E10: 3},
        unknown_version=4,
        eol=51,
        at_risk=51,
        families=fam((0, 0), (0, 6), (0, 6), (6, 42)),
    ),
    "us": dict(
        total=29,
        by_product={E19: 7, E13: 2},
        unknown_version=20,
        eol=9,
        at_risk=9,
        families=fam((2, 0), (2, 0), (2, 0), (2, 0)),
    ),
    "asia": dict(
        total=15,
        by_product={E16: 8, SE: 4},
        unknown_version=3,
        eol=8,
        at_risk=8,
        families=fam((0, 0), (0, 0), (0, 0), (0, 8)),
    ),
    # every Exchange banner, unattributed included: 123 = 116 with a country + 7 without
    "world": dict(
        total=123,
        by_product={E16: 63, SE: 14, E13: 7, E19: 7, E10: 3},
        unknown_version=29,
        eol=80,
        at_risk=80,
        families=fam((4, 5), (4, 11), (4, 11), (10, 60)),
    ),
    "de": dict(
        total=50,
        by_product={E16: 40, SE: 10},
        unknown_version=0,
        eol=40,
        at_risk=40,
        families=fam((0, 0), (0, 0), (0, 0), (0, 40)),
    ),
    "de,fr": dict(
        total=60,
        by_product={E16: 46, SE: 10},
        unknown_version=4,
        eol=46,
        at_risk=46,
        families=fam((0, 0), (0, 6), (0, 6), (6, 40)),
    ),
    "uk": dict(
        total=5, by_product={E13: 5}, unknown_version=0, eol=5, at_risk=5, families=fam((0, 5), (0, 5), (0, 5), (0, 5))
    ),
}
CHANGES: dict[str, dict[str, Any]] = {
    "eu": dict(
        total=0,
        by_product={E16: -10, SE: 10, E10: 0},
        eol=-10,
        unknown_version=0,
        unattributed=0,
        families=fam((0, 0), (0, 0), (0, 0), (0, -10)),
    ),
    "us": dict(
        total=-5,
        by_product={E19: 0, E13: 0},
        eol=0,
        unknown_version=-5,
        unattributed=0,
        families=fam((0, 0), (0, 0), (0, 0), (0, 0)),
    ),
    "asia": dict(
        total=3,
        by_product={E16: 0, SE: 3},
        eol=0,
        unknown_version=0,
        unattributed=0,
        families=fam((0, 0), (0, 0), (0, 0), (0, 0)),
    ),
    "world": dict(
        total=-2,
        by_product={E16: -10, SE: 13, E13: 0, E19: 0, E10: 0},
        eol=-10,
        unknown_version=-5,
        unattributed=0,
        families=fam((0, 0), (0, 0), (0, 0), (0, -10)),
    ),
}
T0 = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC)


def snapshot_rows(db: Path) -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = 'snapshots'").fetchone():
            return 0
        return int(con.execute("SELECT count(*) FROM snapshots").fetchone()[0])


def check_region(got: Mapping[str, Any], want: Mapping[str, Any]) -> None:
    for key, value in want.items():
        assert got[key] == value, (key, got[key], value)


def result_dict(r: ExposureResult) -> dict[str, Any]:
    return {
        "total": r.total,
        "by_product": dict(r.by_product),
        "unknown_version": r.unknown_version,
        "eol": r.eol,
        "at_risk": r.at_risk,
        "families": {f: dict(v) for f, v in r.families.items()},
    }


def assert_count_mode_only(fake: FakeShodan, key: str) -> None:
    calls = [c for c in fake.calls if c["key"] == key]
    assert calls and all(c["path"] == "/shodan/host/count" for c in calls)
    # country facet (base and per-build counts), none (the every-country cross-check), org/asn (a region)
    assert all(c["params"].get("facets") in ("country:300", None, "org:10,asn:10") for c in calls)
    assert not any(SPLIT_FACETS_HINT in (c["error"] or "") for c in calls)
    assert fake.credits_spent.get(key, 0) == 0


# ---- the service, with a fixed clock


@pytest.fixture()
def fake() -> Iterator[FakeShodan]:
    with FakeShodan(make_population(P1), hang_max=10) as server:
        yield server


class Env:
    def __init__(self, fake: FakeShodan, tmp_path: Path, catalog: Catalog) -> None:
        self.fake = fake
        self.db = tmp_path / "exchbot.db"
        self.store = Store(self.db)
        self.clock = FixedClock(T0)
        self.catalog = catalog
        self.settings = Settings(
            db_path=self.db, shodan_api_key="good-key", shodan_rps=0, shodan_timeout=5, exposure_ttl_hours=24
        )

    def factory(self, settings: Settings) -> ShodanClient:
        return ShodanClient(
            settings.shodan_api_key or "",
            timeout=settings.shodan_timeout,
            rps=0,
            api_url=self.fake.url,
            limiter=RateLimiter(0),
        )

    def run(self, region: str, *, refresh: bool = False, **kw: Any) -> ExposureResult:
        return exposure(
            region,
            refresh=refresh,
            store=self.store,
            client_factory=self.factory,
            clock=self.clock,
            catalog=self.catalog,
            settings=self.settings,
            **kw,
        )


@pytest.fixture()
def env(fake: FakeShodan, tmp_path: Path, catalog: Catalog) -> Iterator[Env]:
    e = Env(fake, tmp_path, catalog)
    yield e
    e.store.close()


def test_one_free_snapshot_serves_every_region(env: Env) -> None:
    seen: list[tuple[int, int]] = []
    first = env.run("eu", progress=lambda done, total, label: seen.append((done, total)))
    # 1 base count + 1 every-country cross-check + 404 paths (65 CU lines for 2013-SE, 116 builds for
    # 2007/2010 with every lower revision: 339) + 1 region cross-check
    assert seen[-1][0] == seen[-1][1] == first.requests == 407
    assert first.credits_used == 0 and not first.reused and first.changes is None
    assert_count_mode_only(env.fake, "good-key")
    assert first.query == 'http.html:"OwaPage = ASP.auth_logon_aspx"' and first.data_source == "Shodan"
    assert "not unique hosts" in first.note and first.snapshot_at == T0
    n_calls = len(env.fake.calls)
    for region, want in EXPECTED.items():
        r = env.run(region)
        check_region(result_dict(r), want)
        assert r.unattributed == 7 and r.unattributed_included == (region == "world")
        assert r.reused or region == "eu"
    # every other region came from the stored snapshot, plus one free cross-check count each
    new = env.fake.calls[n_calls:]
    assert len(new) == len(EXPECTED) - 1 and all(c["path"] == "/shodan/host/count" for c in new)
    assert snapshot_rows(env.db) == 1


def test_second_snapshot_reports_deltas(env: Env) -> None:
    env.run("eu")
    env.fake.set_population(make_population(P2))
    env.clock.advance(hours=2)
    reused = env.run("eu")
    assert reused.reused and reused.changes is None  # still within the TTL: same snapshot, nothing earlier
    fresh = env.run("eu", refresh=True)
    assert not fresh.reused and fresh.previous_snapshot_at == T0 and fresh.snapshot_at == T0 + dt.timedelta(hours=2)
    for region, want in CHANGES.items():
        r = env.run(region)
        assert r.reused and r.previous_snapshot_at == T0
        assert r.changes is not None
        got = {
            "total": r.changes.total,
            "by_product": dict(r.changes.by_product),
            "eol": r.changes.eol,
            "unknown_version": r.changes.unknown_version,
            "unattributed": r.changes.unattributed,
            "families": {f: dict(v) for f, v in r.changes.families.items()},
        }
        check_region(got, want)
    assert env.run("world").total == 121 and snapshot_rows(env.db) == 2
    assert env.fake.credits_spent.get("good-key", 0) == 0


def test_ttl_expiry_takes_a_new_snapshot(env: Env) -> None:
    env.run("de")
    env.clock.advance(hours=23, minutes=59)
    assert env.run("de").reused
    env.clock.advance(minutes=2)
    later = env.run("de")
    assert not later.reused and later.previous_snapshot_at == T0 and snapshot_rows(env.db) == 2


def test_snapshot_interrupted_halfway_is_not_recorded(env: Env) -> None:
    from bot.exposure.client import ShodanServerError

    env.settings = Settings(db_path=env.db, shodan_api_key="fail-after-60", shodan_rps=0, shodan_timeout=5)
    with pytest.raises(ShodanServerError):
        env.run("eu")
    assert snapshot_rows(env.db) == 0
    assert len([c for c in env.fake.calls if c["key"] == "fail-after-60"]) == 63  # 60 answered + 1 try, 2 retries


def test_rate_limiting_is_survived(env: Env) -> None:
    env.settings = Settings(db_path=env.db, shodan_api_key="rate-limit", shodan_rps=0, shodan_timeout=5)
    r = env.run("world")
    check_region(result_dict(r), EXPECTED["world"])
    statuses = [c["status"] for c in env.fake.calls if c["key"] == "rate-limit"]
    assert statuses.count(429) >= 100 and statuses.count(200) == 407
    assert snapshot_rows(env.db) == 1


# ---- deep mode

DEEP: list[dict[str, Any]] = [
    {"country": "DE", "build": "15.1.2507.39", "signal": "both", "count": 3},
    {"country": "US", "build": "15.2.1748.10", "signal": "redirect", "count": 2},  # version on the 302 hop only
    {"country": "NL", "build": "15.0.1497.26", "signal": "both", "ports": [443, 8443]},  # one IP, two banners
    {"country": "FR", "build": "15.1.2242.12", "signal": "header", "header_name": "x-owa-version"},
    # a header rewritten to look like SE over a CU23 page: the lower (the page) is believed
    {
        "country": "GB",
        "build": "15.2.2562.37",
        "header_value": "15.02.2562.037",
        "path_build": "15.1.2507",
        "signal": "both",
    },
    {"country": None, "build": "15.2.1748", "signal": "path"},
    {"country": "JP", "build": "15.1.2507.39", "signal": "none"},
    {"country": "US", "non_exchange": True, "count": 5},
]


def test_deep_mode_reads_headers_and_counts_hosts(env: Env) -> None:
    env.fake.set_population(make_population(DEEP))
    env.settings = Settings(db_path=env.db, shodan_api_key="credits-3", shodan_rps=0, shodan_timeout=5)
    r = env.run("world", deep=True, max_credits=1)
    builds = {b.build: b.count for b in r.by_build}
    assert builds == {
        "15.1.2507.39": 3,
        "15.2.1748.10": 2,
        "15.0.1497.26": 1,
        "15.1.2242.12": 1,
        "15.1.2507": 1,
        "15.2.1748": 1,
    }
    assert (r.total, r.unknown_version, r.unattributed, r.unit, r.mode) == (10, 1, 1, "hosts", "deep")
    assert r.credits_used == 1 == env.fake.credits_spent["credits-3"]  # 11 banners: one page
    assert r.by_product == {E16: 5, E19: 3, E13: 1}
    env.clock.advance(minutes=5)
    eu = env.run("eu", deep=True, max_credits=1)
    assert eu.total == 5 and eu.previous_snapshot_at == r.snapshot_at  # DE 3, NL 1, FR 1
    assert env.run("eu").mode == "count"  # count mode never reuses a deep snapshot


def test_deep_mode_refuses_over_budget_before_spending(env: Env) -> None:
    from bot.exposure.client import BudgetExceeded

    env.settings = Settings(db_path=env.db, shodan_api_key="good-key", shodan_rps=0, shodan_timeout=5)
    with pytest.raises(BudgetExceeded, match=r"about 2 query credits .*--max-credits is 1"):
        env.run("world", deep=True, max_credits=1)  # 123 banners: 2 pages (eu alone, 65, would fit)
    assert env.fake.credits_spent.get("good-key", 0) == 0 and snapshot_rows(env.db) == 0
    assert not any(c["path"] == "/shodan/host/search" for c in env.fake.calls)


def test_deep_mode_interrupted_is_not_recorded(env: Env) -> None:
    from bot.exposure.client import ShodanServerError

    env.settings = Settings(db_path=env.db, shodan_api_key="fail-after-3", shodan_rps=0, shodan_timeout=5)
    with pytest.raises(ShodanServerError):  # api-info, count, page 1 answered; page 2 fails
        env.run("world", deep=True, max_credits=5)
    assert snapshot_rows(env.db) == 0


# ---- the CLI


def cli(fake: FakeShodan, db: Path, key: str | None, *args: str, timeout: str = "5") -> Result:
    env = {
        "SHODAN_API_URL": fake.url,
        "EXCHBOT_DB": str(db),
        "EXCHBOT_SHODAN_RPS": "0",
        "EXCHBOT_SHODAN_TIMEOUT": timeout,
        "SHODAN_API_KEY": key,
        "EXCHBOT_EXPOSURE_TTL_HOURS": "24",
    }
    return CliRunner().invoke(main, ["exposure", *args], env=env)


def test_cli_json_for_every_region(fake: FakeShodan, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    for region, want in EXPECTED.items():
        res = cli(fake, db, "good-key", region, "--json")
        assert res.exit_code == 0, res.stderr
        doc = json.loads(res.stdout)
        check_region(doc, want)
        assert doc["region"] == ("gb" if region == "uk" else region)
        assert doc["credits_used"] == 0 and doc["unattributed"] == 7 and doc["data_source"] == "Shodan"
        assert doc["query"] and doc["snapshot_at"].endswith("Z") and doc["changes"] is None
        assert {"countries", "previous_snapshot_at"} <= set(doc)
    assert_count_mode_only(fake, "good-key")
    assert snapshot_rows(db) == 1


def test_cli_text_cites_source_query_time_and_deltas(fake: FakeShodan, tmp_path: Path) -> None:
    db = tmp_path / "cli.db"
    assert cli(fake, db, "good-key", "eu").exit_code == 0
    fake.set_population(make_population(P2))
    res = cli(fake, db, "good-key", "eu", "--refresh")
    assert res.exit_code == 0, res.stderr
    out = res.stdout
    assert "Data: Shodan, snapshot " in out and 'http.html:"OwaPage = ASP.auth_logon_aspx"' in out
    assert "not unique hosts" in out and "Total: 65 banners (±0)" in out and "changes since" in out
    assert "Exchange SE" in out and "(+10)" in out and "(-10)" in out
    assert res.stderr == ""  # no progress when stderr is not a terminal


@pytest.mark.parametrize(
    ("key", "words"),
    [
        ("bad-key", "invalid key"),
        ("server-error", "server error (HTTP 500)"),
        ("bad-gateway", "server error (HTTP 502)"),
        ("timeout-query", "timed out"),
        ("fail-after-30", "server error"),
        ("hang", "did not answer within 0.5 s (timeout"),
        (None, "SHODAN_API_KEY is not set"),
    ],
)
def test_cli_failures_exit_1_with_cause_and_store_nothing(
    fake: FakeShodan, tmp_path: Path, key: str | None, words: str
) -> None:
    db = tmp_path / "fail.db"
    res = cli(fake, db, key, "eu", "--json", timeout="0.5")
    assert res.exit_code == 1
    assert words in res.stderr and "no snapshot recorded" in res.stderr
    assert "Traceback" not in res.stderr + res.stdout and res.stdout == ""
    assert snapshot_rows(db) == 0


@pytest.mark.parametrize(
    ("key", "args", "words"),
    [
        ("no-credits", ["--max-credits", "5"], "not enough query credits"),
        ("free-key", ["--max-credits", "5"], "403 Forbidden"),
        ("good-key", ["--max-credits", "1"], "--max-credits is 1"),
    ],
)
def test_cli_deep_refusals(fake: FakeShodan, tmp_path: Path, key: str, args: list[str], words: str) -> None:
    db = tmp_path / "deep.db"
    res = cli(fake, db, key, "world", "--deep", *args)
    assert res.exit_code == 1 and words in res.stderr, res.stderr
    assert snapshot_rows(db) == 0 and sum(fake.credits_spent.values()) == 0


def test_cli_deep_json(fake: FakeShodan, tmp_path: Path) -> None:
    fake.set_population(make_population(DEEP))
    res = cli(fake, tmp_path / "deep.db", "credits-2", "de,nl", "--deep", "--max-credits", "1", "--json")
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert (doc["total"], doc["unit"], doc["credits_used"], doc["mode"]) == (4, "hosts", 1, "deep")


@pytest.mark.parametrize("args", [["mars"], ["de,zz"], ["eu", "--deep"], ["eu", "--max-credits", "3"]])
def test_cli_usage_errors_exit_2_without_calling_shodan(fake: FakeShodan, tmp_path: Path, args: list[str]) -> None:
    res = cli(fake, tmp_path / "u.db", "good-key", *args)
    assert res.exit_code == 2
    assert fake.calls == []
    if args[0] != "eu":
        assert "europe" in res.stderr and "de,fr" in res.stderr
