"""Deep mode's banner reading and IP de-duplication, on banners from the fake's population builder."""

from __future__ import annotations

from typing import Any

from bot.core.buildnum import Build
from bot.exposure.deep import DeepTally, banner_builds, best_build, estimate_credits
from tests.fakes.shodan_api import make_population


def one(**spec: Any) -> dict[str, Any]:
    return make_population([{"country": "DE", **spec}])[0]


def test_signals_are_read_where_shodan_keeps_them() -> None:
    assert best_build(banner_builds(one(build="15.1.2507.39", signal="both"))) == Build.of("15.1.2507.39")
    assert banner_builds(one(build="15.1.2507.39", signal="path")) == [Build.of("15.1.2507")]
    assert banner_builds(one(build="15.2.1748.10", signal="redirect")) == [Build.of("15.2.1748.10")]
    lower = one(build="15.1.2242.12", signal="header", header_name="x-owa-version")
    assert banner_builds(lower) == [Build.of("15.1.2242.12")]
    padded = one(build="15.1.2375.37", signal="header", header_value="15.01.2375.037")
    assert banner_builds(padded) == [Build.of("15.1.2375.37")]
    assert banner_builds(one(build="14.3.513.0", signal="path")) == [Build.of("14.3.513.0")]
    assert banner_builds(one(build="15.1.2507.39", signal="none")) == []
    assert banner_builds(make_population([{"country": "DE", "non_exchange": True}])[0]) == []


def test_lowest_cu_wins_and_four_parts_beat_three_within_a_cu() -> None:
    spoofed = one(build="15.2.2562.37", header_value="15.02.2562.037", path_build="15.1.2507", signal="both")
    assert best_build(banner_builds(spoofed)) == Build.of("15.1.2507")
    assert best_build([Build.of("15.1.2507"), Build.of("15.1.2507.39")]) == Build.of("15.1.2507.39")
    assert best_build([Build.of("15.1.2507.41"), Build.of("15.1.2507.39")]) == Build.of("15.1.2507.39")


def test_tally_counts_each_ip_once_with_its_lowest_build() -> None:
    banners = make_population(
        [
            {"country": "NL", "build": "15.1.2507.39", "signal": "both", "ports": [443, 8443, 80]},
            {"country": None, "build": "15.2.1748", "signal": "path", "count": 2},
            {"country": "FR", "build": "15.1.2507.39", "signal": "none"},
        ]
    )
    banners[1]["data"] = banners[1]["data"].replace("15.1.2507.39", "15.1.2507.41")  # port 8443: newer build
    tally = DeepTally()
    for b in banners:
        tally.add(b)
    hosts, countries, unattributed, builds = tally.counts()
    assert tally.banners == 6 and hosts == 4
    assert countries == {"NL": 1, "FR": 1} and unattributed == 2
    assert {b.build: (b.total, dict(b.countries), b.unattributed) for b in builds} == {
        "15.1.2507.39": (1, {"NL": 1}, 0),
        "15.2.1748": (2, {}, 2),
    }


def test_credit_estimate_is_one_per_page_of_100() -> None:
    assert [estimate_credits(n) for n in (0, 1, 100, 101, 250)] == [0, 1, 1, 2, 3]
