"""Exposure numbers a CERT can trust: self-checks, region cross-checks under a cut facet, drifted
2007/2010 folders, EOL ranges, org/ASN breakdowns, deep mode per region with short pages, host
lists and calibration. Logic runs against the in-memory fake; the CLI tests use the HTTP fake.
Expected numbers are worked out by hand from the population specs."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
import sqlite3
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result

from bot.cli import main
from bot.clock import FixedClock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.exposure import ExposureResult
from bot.core.exposure_model import Host
from bot.exposure.client import ShodanServerError
from bot.exposure.deep import take_deep_snapshot
from bot.exposure.snapshot import SnapshotRefused, check_counts, take_snapshot
from bot.render.exposure_hosts import COLUMNS, hosts_csv
from bot.render.exposure_text import exposure_text
from bot.render.json_out import exposure_dict
from bot.services.exposure import exposure, exposure_hosts, run_calibration
from bot.store import Store
from tests.fakes.shodan_api import REALISTIC, FakeShodan, Semantics, make_population
from tests.fakes.shodan_memory import CountFn, MemoryShodan

T0 = dt.datetime(2026, 11, 29, 6, 0, tzinfo=dt.UTC)
E16, E10, E07, SE = "Exchange 2016", "Exchange 2010", "Exchange 2007", "Exchange SE"

# Six EU countries and the US; orgs and ASNs differ so the breakdown can be checked by hand.
POP: list[dict[str, Any]] = [
    {"country": "DE", "build": "15.1.2507.39", "count": 10, "org": "Alpha GmbH", "asn": "AS64501"},
    {"country": "DE", "build": "15.2.2562.17", "count": 4, "org": "Beta AG", "asn": "AS64502"},
    {"country": "FR", "build": "15.1.2507.39", "count": 5, "org": "Gamma SA", "asn": "AS64503"},
    {"country": "IT", "build": "15.1.2507.39", "count": 3, "org": "Alpha GmbH", "asn": "AS64501"},
    {"country": "NL", "build": "15.1.2507.39", "count": 2, "org": "Delta BV", "asn": "AS64504"},
    {"country": "ES", "build": "15.1.2507.39", "signal": "none", "count": 1, "org": "Eps SL", "asn": "AS64505"},
    {"country": "AT", "build": "15.2.2562.17", "count": 1, "org": "Zeta", "asn": "AS64506"},
    {"country": "US", "build": "15.1.2507.39", "count": 7, "org": "Eta Inc", "asn": "AS64507"},
    {"country": None, "build": "15.1.2507.39", "count": 2},
    {"country": "DE", "non_exchange": True, "count": 3},
]
# Real 2007/2010 folders that differ from the published build in the last part.
DRIFT: list[dict[str, Any]] = [
    {"country": "DE", "build": "14.3.123.4", "path_build": "14.3.123.3", "count": 3},
    {"country": "DE", "build": "14.2.390.3", "path_build": "14.2.390.1", "count": 2},
    {"country": "FR", "build": "8.1.240.6", "path_build": "8.1.240.5", "count": 1},
    {"country": "FR", "build": "14.3.513.0", "count": 1},
    {"country": "FR", "build": "15.2.2562.17", "count": 2},
]


class Env:
    def __init__(self, tmp_path: Path, catalog: Catalog, api: Any) -> None:
        self.store = Store(tmp_path / "t.db")
        self.db = tmp_path / "t.db"
        self.clock = FixedClock(T0)
        self.catalog = catalog
        self.api = api
        self.settings = Settings(db_path=self.db, shodan_api_key="k", shodan_rps=0, exposure_ttl_hours=24)

    def run(self, region: str, **kw: Any) -> ExposureResult:
        return exposure(
            region,
            refresh=kw.pop("refresh", False),
            store=self.store,
            client_factory=lambda s: self.api,
            clock=self.clock,
            catalog=self.catalog,
            settings=self.settings,
            **kw,
        )


@pytest.fixture()
def make_env(tmp_path: Path, catalog: Catalog) -> Iterator[Any]:
    envs: list[Env] = []

    def make(api: Any) -> Env:
        envs.append(Env(tmp_path, catalog, api))
        return envs[-1]

    yield make
    for e in envs:
        e.store.close()


def calibrate_with(env: Env, api: Any, catalog: Catalog, *, page: bool) -> Any:
    return run_calibration(
        store=env.store,
        client_factory=lambda s: api,
        clock=env.clock,
        catalog=catalog,
        settings=env.settings,
        page=page,
    )


def rows(db: Path, table: str = "snapshots") -> int:
    if not db.exists():
        return 0
    with sqlite3.connect(db) as con:
        if not con.execute("SELECT 1 FROM sqlite_master WHERE name = ?", [table]).fetchone():
            return 0
        return int(con.execute(f"SELECT count(*) FROM {table}").fetchone()[0])


# ---- 1. self-checks


def test_self_checks_name_the_check() -> None:
    check_counts(100, {"a": 60, "b": 40})  # possible: passes
    check_counts(100, {"a": 100, "b": 0})  # every banner on one build: possible
    with pytest.raises(SnapshotRefused, match="'path-count-equals-base'"):
        check_counts(100, {"a": 100, "b": 3})
    with pytest.raises(SnapshotRefused, match="'sum-above-base'"):
        check_counts(100, {"a": 70, "b": 40})
    with pytest.raises(SnapshotRefused, match="'all-zero'"):
        check_counts(5000, {"a": 0, "b": 0})
    check_counts(50, {"a": 0, "b": 0})  # a small base: no build shown is plausible


def test_repeated_filter_ored_refuses_and_stores_nothing(make_env: Any) -> None:
    env = make_env(MemoryShodan(make_population(POP), Semantics(repeated_filters="or")))
    with pytest.raises(SnapshotRefused, match="path-count-equals-base"):
        env.run("eu")
    assert rows(env.db) == 0


def test_token_that_never_matches_refuses(make_env: Any, catalog: Catalog) -> None:
    api = CountFn(lambda q: 0 if 'http.html:"/owa/' in q else 3000)
    with pytest.raises(SnapshotRefused, match="'all-zero'"):
        take_snapshot(api, catalog, now=lambda: T0)


def test_repeated_filter_ored_cli_exit_1(tmp_path: Path) -> None:
    with FakeShodan(make_population(POP), semantics=Semantics(repeated_filters="or")) as fake:
        res = cli(fake, tmp_path / "c.db", "eu", "--json")
    assert res.exit_code == 1 and res.stdout == ""
    assert "path-count-equals-base" in res.stderr and "no snapshot recorded" in res.stderr
    assert rows(tmp_path / "c.db") == 0


# ---- 1. region totals under a cut facet; 6. by_org / by_asn


def test_facet_cut_far_below_the_region_keeps_region_totals_exact(make_env: Any) -> None:
    env = make_env(MemoryShodan(make_population(POP), Semantics(facet_cap=2)))
    eu = env.run("eu")
    # DE 14, FR 5, IT 3, NL 2, ES 1, AT 1 = 26 although only the DE and US buckets came back
    assert eu.total == 26 and eu.total_checked
    assert eu.unattributed == 2  # exact: from the every-country count, not total minus buckets
    cut = [w for w in eu.warnings if "facet" in w]
    assert cut and "2 buckets" in cut[0]
    de_fr = env.run("de,fr")  # asked later of the stored snapshot: one more free count
    assert de_fr.reused and de_fr.total == 19
    at = env.run("at")
    assert at.total == 1 and at.by_org == (("Zeta", 1),)
    world = env.run("world")
    assert world.total == 26 + 7 + 2


def test_by_org_and_by_asn_sorted_by_count(make_env: Any) -> None:
    api = MemoryShodan(make_population(POP))
    env = make_env(api)
    eu = env.run("eu")
    assert eu.credits_used == 0 and api.credits == 1000
    assert eu.by_org == (
        ("Alpha GmbH", 13),
        ("Gamma SA", 5),
        ("Beta AG", 4),
        ("Delta BV", 2),
        ("Eps SL", 1),
        ("Zeta", 1),
    )
    assert eu.by_asn[0] == ("AS64501", 13) and len(eu.by_asn) == 6
    doc = exposure_dict(eu)
    assert doc["by_org"][0] == {"name": "Alpha GmbH", "count": 13}
    assert [x["count"] for x in doc["by_asn"]] == sorted((x["count"] for x in doc["by_asn"]), reverse=True)
    text = exposure_text(eu)
    assert "Top organisations: Alpha GmbH 13; Gamma SA 5; Beta AG 4; Delta BV 2; Eps SL 1" in text
    assert "Zeta" not in text.split("Top organisations:")[1].split("\n")[0]  # top 5 only


# ---- 3. 2007/2010 drift and the EOL range


def test_drifted_2010_folders_are_counted(make_env: Any) -> None:
    env = make_env(MemoryShodan(make_population(DRIFT)))
    r = env.run("de,fr")
    assert r.total == 9 and r.unknown_version == 0
    assert r.by_product == {E10: 6, SE: 2, E07: 1}
    builds = {b.build: b.count for b in r.by_build}
    assert builds["14.3.123.3"] == 3 and builds["14.2.390.1"] == 2 and builds["8.1.240.5"] == 1
    assert r.eol == 7 and r.eol_max == 7


def test_drifted_folders_by_prefix_when_calibration_says_dots_split(make_env: Any, catalog: Catalog) -> None:
    api = MemoryShodan(make_population(DRIFT), Semantics(dotted="split"))
    env = make_env(api)
    cal = run_calibration(
        store=env.store,
        client_factory=lambda s: api,
        clock=env.clock,
        catalog=catalog,
        settings=env.settings,
        page=False,
    )
    assert cal.dotted == "split"
    r = env.run("de,fr")
    assert r.by_product == {E10: 6, SE: 2, E07: 1}
    assert {b.build: b.count for b in r.by_build}["14.3.123"] == 3  # one prefix count per build


def test_eol_is_a_range_with_the_hidden_share(make_env: Any) -> None:
    env = make_env(MemoryShodan(make_population(POP)))
    es = env.run("es,de")
    # DE: 10 CU23 (EOL) + 4 SE; ES: 1 page with its version stripped
    assert (es.total, es.eol, es.eol_max, es.unknown_version) == (15, 10, 11, 1)
    doc = exposure_dict(es)
    assert (doc["eol"], doc["eol_max"], doc["pre2013_or_build_hidden"]) == (10, 11, 1)
    assert "End-of-life: 10 to 11" in exposure_text(es)


# ---- 4. deep mode


def big_de() -> list[dict[str, Any]]:
    return [
        {"country": "DE", "build": "15.1.2507.39", "signal": "both", "count": 180, "org": "Alpha GmbH"},
        {"country": "DE", "build": "15.2.2562.17", "signal": "header", "count": 40, "org": "Beta AG"},
        {"country": "FR", "build": "15.1.2507.39", "count": 30},
    ]


def test_deep_mode_reads_every_page_past_a_short_one(make_env: Any) -> None:
    api = MemoryShodan(make_population(big_de()), Semantics(short_pages={2: 40}))
    env = make_env(api)
    r = env.run("de", deep=True, max_credits=5)
    pages = [c for c in api.calls if c[0] == "search"]
    assert [p[2] for p in pages] == [1, 2, 3] and all("country:DE" in p[1] for p in pages)
    assert r.total == 220 - 60  # page 2 delivered 40 of 100
    assert any("shortfall" in w and "60 of 220" in w for w in r.warnings)
    assert rows(env.db) == 1 and rows(env.db, "snapshot_hosts") == 160
    assert r.by_org[0][0] == "Alpha GmbH"


def test_deep_mode_reads_flat_fields(make_env: Any) -> None:
    nested = make_env(MemoryShodan(make_population(big_de()))).run("de", deep=True, max_credits=5)
    flat = make_env(MemoryShodan(make_population(big_de()), Semantics(flat_fields=True)))
    r = flat.run("de", deep=True, max_credits=5, refresh=True)
    assert r.total == nested.total == 220
    assert {b.build: b.count for b in r.by_build} == {"15.1.2507.39": 180, "15.2.2562.17": 40}


def test_deep_mode_refuses_a_page_of_unknown_shape(catalog: Catalog) -> None:
    api = MemoryShodan(make_population(big_de()))
    api.search_page = lambda q, p, fields=None: {"matches": [["not", "a", "banner"]], "total": 1}  # type: ignore[method-assign,misc]
    with pytest.raises(ShodanServerError, match="not banners"):
        take_deep_snapshot(api, catalog, max_credits=5, now=lambda: T0)


def test_deep_mode_user_filter(make_env: Any) -> None:
    api = MemoryShodan(make_population(big_de()))
    r = make_env(api).run("world", deep=True, max_credits=5, net="192.0.2.0/25")
    assert all("net:192.0.2.0/25" in c[1] for c in api.calls if c[0] == "search")
    assert r.total == 127  # 192.0.2.1 .. 192.0.2.127


def test_host_list_filters_and_csv_is_safe(make_env: Any) -> None:
    env = make_env(MemoryShodan(make_population(big_de())))
    env.run("world", deep=True, max_credits=5)
    hl = exposure_hosts("de", store=env.store, catalog=env.catalog)
    assert len(hl.hosts) == 220 and {h.country for h in hl.hosts} == {"DE"}
    risky = exposure_hosts("de", store=env.store, catalog=env.catalog, at_risk_only=True)
    assert len(risky.hosts) == 180 and all(h.eol for h in risky.hosts)
    evil = Host("192.0.2.9", 443, ("=HYPERLINK(1)",), "DE", "AS1", "+cmd|x", None, None, None, {}, None)
    out = hosts_csv(dataclasses.replace(hl, hosts=(evil,)))
    row = list(csv.reader(io.StringIO(out)))[1]
    assert row[2] == "'=HYPERLINK(1)" and row[5] == "'+cmd|x"


# ---- 2. calibration


def test_calibration_reads_the_index(make_env: Any, catalog: Catalog) -> None:
    # two 2010 pages and one 2016 page without the OWA marker: the base query misses all three
    unmarked = [
        {"country": "DE", "build": "14.3.123.4", "marker": False, "count": 2},
        {"country": "DE", "build": "15.1.2507.39", "marker": False},
    ]
    pop = make_population([*POP, *unmarked])

    def cal(sem: Semantics) -> Any:
        api = MemoryShodan(pop, sem)
        return calibrate_with(make_env(api), api, catalog, page=True)

    c = cal(REALISTIC)
    assert (c.repeated_filters, c.dotted, c.facet_cap, c.old_marker, c.fields_shape) == (
        "and",
        "whole",
        None,
        "no",
        "nested",
    )
    # every base banner is a 15.x page with the same (synthetic) favicon; one more carries it unmarked
    assert c.base_total == 35 and c.favicon[0][1] == 35
    assert any("1 banners carry it without the marker" in f for f in c.findings)
    assert cal(Semantics(repeated_filters="or")).repeated_filters == "or"
    assert cal(Semantics(dotted="split")).dotted == "split"
    assert cal(Semantics(html_match="substring")).dotted == "substring"
    assert cal(Semantics(facet_cap=3)).facet_cap == 3
    assert cal(Semantics(flat_fields=True)).fields_shape == "flat"


def test_calibration_that_found_or_refuses_at_once(make_env: Any, catalog: Catalog) -> None:
    api = MemoryShodan(make_population(POP), Semantics(repeated_filters="or"))
    env = make_env(api)
    run_calibration(
        store=env.store,
        client_factory=lambda s: api,
        clock=env.clock,
        catalog=catalog,
        settings=env.settings,
        page=False,
    )
    before = api.requests
    with pytest.raises(SnapshotRefused, match="'repeated-filters-and'"):
        env.run("eu")
    assert api.requests == before and rows(env.db) == 0


# ---- the CLI against the HTTP fake


def cli(fake: FakeShodan, db: Path, *args: str, key: str = "good-key") -> Result:
    env = {
        "SHODAN_API_URL": fake.url,
        "EXCHBOT_DB": str(db),
        "EXCHBOT_SHODAN_RPS": "0",
        "EXCHBOT_SHODAN_TIMEOUT": "5",
        "SHODAN_API_KEY": key,
    }
    return CliRunner().invoke(main, ["exposure", *args], env=env)


def test_cli_deep_short_page_then_hosts_csv(tmp_path: Path) -> None:
    db = tmp_path / "d.db"
    pop = make_population(big_de())
    with FakeShodan(pop, semantics=Semantics(short_pages={2: 50})) as fake:
        res = cli(fake, db, "de", "--deep", "--max-credits", "5", "--json")
        searches = [c for c in fake.calls if c["path"] == "/shodan/host/search"]
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["total"] == 170 and any("shortfall" in w for w in doc["warnings"])
    assert [c["params"]["page"] for c in searches] == ["1", "2", "3"]
    assert all("country:DE" in c["params"]["query"] for c in searches)
    with FakeShodan() as idle:
        out = cli(idle, db, "hosts", "de", "--csv")
        assert idle.calls == []  # host lists spend nothing
    assert out.exit_code == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0].startswith(
        "ip,port,hostnames,country,asn,org,build,product,eol,proxylogon,proxyshell,proxytoken,proxynotshell,seen_at"
    )
    assert lines[0].split(",") == list(COLUMNS)
    table = list(csv.DictReader(io.StringIO(out.stdout)))
    de_ips = {b["ip_str"] for b in pop if b["location"]["country_code"] == "DE"}
    assert len(table) == 170 and {r["ip"] for r in table} <= de_ips
    cu23 = next(r for r in table if r["build"] == "15.1.2507.39")
    assert (cu23["product"], cu23["eol"], cu23["country"], cu23["port"]) == ("Exchange 2016", "true", "DE", "443")
    assert cu23["hostnames"].startswith("mail") and cu23["seen_at"]


def test_cli_hosts_without_deep_snapshot_and_usage(tmp_path: Path) -> None:
    with FakeShodan() as fake:
        res = cli(fake, tmp_path / "n.db", "hosts", "de", "--csv")
        assert res.exit_code == 1 and "no deep snapshot" in res.stderr
        assert cli(fake, tmp_path / "n.db", "hosts", "mars").exit_code == 2
        assert cli(fake, tmp_path / "n.db", "de", "--net", "10.0.0.0/8").exit_code == 2  # --net needs --deep
        assert fake.calls == []


def test_cli_calibrate_prints_and_stores(tmp_path: Path) -> None:
    with FakeShodan(make_population(POP), semantics=Semantics(facet_cap=2)) as fake:
        res = cli(fake, tmp_path / "cal.db", "calibrate", "--json")
        assert all(c["cost"] == 0 for c in fake.calls)  # without --page: free counts only
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["facet_cap"] == 2 and doc["repeated_filters"] == "and" and doc["fields_shape"] is None
    assert rows(tmp_path / "cal.db", "calibrations") == 1


def test_cli_json_and_slack_card_show_org_and_asn(tmp_path: Path) -> None:
    with FakeShodan(make_population(POP)) as fake:
        res = cli(fake, tmp_path / "o.db", "de", "--json")
        assert fake.credits_spent.get("good-key", 0) == 0
    assert res.exit_code == 0, res.stderr
    doc = json.loads(res.stdout)
    assert doc["by_org"] == [{"name": "Alpha GmbH", "count": 10}, {"name": "Beta AG", "count": 4}]
    assert doc["by_asn"] == [{"name": "AS64501", "count": 10}, {"name": "AS64502", "count": 4}]
    assert doc["total_checked"] and "eol_max" in doc


def test_slack_card_top_five_orgs(make_env: Any) -> None:
    from bot.render.exposure_card import exposure_card

    eu = make_env(MemoryShodan(make_population(POP))).run("eu")
    flat = json.dumps(exposure_card(eu))
    assert "Top organisations" in flat and "Alpha GmbH: 13" in flat and "Delta BV: 2" in flat
    assert "Zeta" not in flat and "Top ASNs" in flat and "AS64501: 13" in flat
    assert "20 to 21" in flat  # EOL range: CU23 in DE 10, FR 5, IT 3, NL 2; one ES page shows no build
