"""The pure exposure core: regions, summaries of hand-made snapshots, deltas."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.catalog import Catalog
from bot.core.exposure import RegionError, diff, resolve_region, summarise
from bot.core.exposure_model import BuildCount, Snapshot

T0 = dt.datetime(2026, 11, 28, 6, 0, tzinfo=dt.UTC)


def snap(countries: dict[str, int], unattributed: int, builds: list[BuildCount]) -> Snapshot:
    return Snapshot(
        taken_at=T0,
        query="q",
        total=sum(countries.values()) + unattributed,
        countries=countries,
        unattributed=unattributed,
        builds=tuple(builds),
        credits_used=0,
        requests=3,
        complete=True,
        knowledge_version="k",
    )


def bc(build: str, countries: dict[str, int], unattributed: int = 0) -> BuildCount:
    return BuildCount(
        build=build, total=sum(countries.values()) + unattributed, countries=countries, unattributed=unattributed
    )


# ---- regions


@pytest.mark.parametrize(
    ("text", "name", "size"),
    [
        ("eu", "eu", 27),
        ("EU", "eu", 27),
        ("europe", "europe", 53),
        ("us", "us", 1),
        ("na", "na", 41),
        ("asia", "asia", 51),
        ("apac", "apac", 57),
        ("world", "world", 250),
    ],
)
def test_named_regions(catalog: Catalog, text: str, name: str, size: int) -> None:
    got_name, codes = resolve_region(text, catalog)
    assert got_name == name and len(codes) == size


def test_country_codes_and_aliases(catalog: Catalog) -> None:
    assert resolve_region("de", catalog) == ("de", frozenset({"DE"}))
    assert resolve_region(" de , FR ", catalog) == ("de,fr", frozenset({"DE", "FR"}))
    assert resolve_region("uk", catalog) == ("gb", frozenset({"GB"}))
    assert resolve_region("de,de", catalog) == ("de", frozenset({"DE"}))
    name, codes = resolve_region("eu,ch", catalog)
    assert name == "eu,ch" and "CH" in codes and "DE" in codes and len(codes) == 28
    assert "US" in resolve_region("us", catalog)[1] and "DE" not in resolve_region("us", catalog)[1]


@pytest.mark.parametrize("bad", ["", "  ", "mars", "zz", "d", "deu", "de,xx", "eu;fr"])
def test_unknown_region_lists_valid_names(catalog: Catalog, bad: str) -> None:
    with pytest.raises(RegionError) as info:
        resolve_region(bad, catalog)
    msg = str(info.value)
    assert "eu" in msg and "world" in msg and "de,fr" in msg


# ---- summaries (verdicts: 15.1.2507 = 2016 CU23, EOL, ProxyNotShell cannot tell; 15.1.225 = 2016 RTM,
# every family certainly vulnerable; 15.2.2562 = Exchange SE, supported, patched)


def test_region_sums_and_unattributed(catalog: Catalog, today: dt.date) -> None:
    s = snap(
        {"DE": 10, "FR": 5, "US": 7, "XX": 2},
        3,
        [
            bc("15.1.2507", {"DE": 4, "US": 1}, 1),
            bc("15.1.225", {"FR": 2}),
            bc("15.2.2562", {"DE": 3, "US": 6}, 2),
        ],
    )
    name, codes = resolve_region("eu", catalog)
    eu = summarise(s, name, codes, catalog, today)
    assert (eu.total, eu.unattributed, eu.unattributed_included) == (15, 3, False)
    assert eu.by_product == {"Exchange 2016": 6, "Exchange SE": 3}
    assert eu.unknown_version == 15 - 9
    assert eu.eol == 6 and eu.at_risk == 6
    assert eu.families["ProxyNotShell"] == {"vulnerable": 2, "unknown": 4}
    assert eu.families["ProxyLogon"] == {"vulnerable": 2, "unknown": 0}
    assert eu.by_country == {"DE": 10, "FR": 5}

    world = summarise(s, *resolve_region("world", catalog), catalog, today)
    # every bucket (also the code the catalog does not know) plus the unattributed banners
    assert world.total == 10 + 5 + 7 + 2 + 3 == s.total and world.unattributed_included
    assert world.by_product == {"Exchange 2016": 8, "Exchange SE": 11}
    assert world.unknown_version == s.total - 19

    de_us = summarise(s, *resolve_region("de,us", catalog), catalog, today)
    assert de_us.total == 17 and de_us.by_product == {"Exchange SE": 9, "Exchange 2016": 5}
    assert de_us.countries == ("DE", "US")


def test_diff_has_the_same_keys(catalog: Catalog, today: dt.date) -> None:
    codes = resolve_region("eu", catalog)[1]
    before = summarise(snap({"DE": 10}, 0, [bc("15.1.2507", {"DE": 8})]), "eu", codes, catalog, today)
    after = summarise(
        snap({"DE": 12}, 1, [bc("15.1.2507", {"DE": 5}), bc("15.2.2562", {"DE": 6})]), "eu", codes, catalog, today
    )
    d = diff(after, before)
    assert d.total == 2 and d.eol == -3 and d.unattributed == 1
    assert d.by_product == {"Exchange 2016": -3, "Exchange SE": 6}
    assert d.families["ProxyNotShell"] == {"vulnerable": 0, "unknown": -3}
    assert d.unknown_version == (12 - 11) - (10 - 8)


def test_bad_stored_build_is_unknown_version(catalog: Catalog, today: dt.date) -> None:
    s = snap({"DE": 4}, 0, [bc("garbage", {"DE": 4})])
    r = summarise(s, "de", frozenset({"DE"}), catalog, today)
    assert r.unknown_version == 4 and r.by_product == {} and r.warnings
