""" "At risk" is one rule in every watchlist view: end-of-life, or vulnerable to a named family or to
any CVE (what ``check --fail-on at-risk`` matches), judged on the host's last verdict, so a host
that stops answering stays at risk with the day it went silent.

The case that used to split the views: an Exchange SE build that lacks its two latest security
updates (no family, no known-exploited CVE, supported) was "AT RISK" in ``watch list`` but a green
circle in Slack and absent from the digest's "Still at risk", and a vulnerable host that went
unreachable dropped out of the Slack and digest risk counts.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from bot.clock import FixedClock
from bot.core.catalog import Catalog
from bot.core.watch import at_risk, at_risk_first, watch_state
from bot.render import charts, watch_cards
from bot.render.digest import digest_message, digest_text
from bot.render.json_out import digest_dict, watch_dict
from bot.render.watch_text import watch_list_lines
from bot.services import digest as digest_service
from bot.services.watch import watch_list
from bot.store import Store
from tests.helpers import result

DAY = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)
BEHIND = "15.2.2562.53"  # Exchange SE, September 2026: two later updates exist


def _newest_se(catalog: Catalog) -> str:
    return str(max(r.build for r in catalog.releases if r.product == "Exchange SE"))


@pytest.fixture()
def store(tmp_path: Path, catalog: Catalog) -> Store:
    s = Store(tmp_path / "risk.db")
    checks: dict[str, list[str | None]] = {
        "behind.example.com": [BEHIND],  # vulnerable to CVEs only
        "silent.example.com": [BEHIND, None],  # the same, then no answer
        "current.example.com": [_newest_se(catalog)],  # nothing known against it
    }
    for host, builds in checks.items():
        s.watch_add(host, host, DAY - 5 * 24 * HOUR)
        for i, build in enumerate(builds):
            s.save_checks([result(catalog, host, DAY - (20 - 10 * i) * HOUR, build)], knowledge_version=catalog.version)
    return s


def test_the_rule(store: Store, catalog: Catalog) -> None:
    (behind,) = store.history("behind.example.com")
    (current,) = store.history("current.example.com")
    assert behind.vulnerable_count and not behind.kev_count and behind.eol is False
    assert not any(s == "vulnerable" for s in behind.families.values())
    assert at_risk(behind) and not at_risk(current)
    assert not at_risk(None)


def test_every_view_says_the_same_hosts_are_at_risk(store: Store, catalog: Catalog) -> None:
    rows, rejudged = watch_list(store, catalog, DAY)
    risky = {"behind.example.com", "silent.example.com"}
    assert {w.host for w in rows if w.at_risk} == risky
    assert [w.host for w in at_risk_first(rows)][-1] == "current.example.com"

    # exchbot watch list: text and JSON
    lines = watch_list_lines(rows, rejudged)
    assert lines[0] == "3 watched, 2 at risk"
    assert {line.split(": ")[0].removeprefix("AT RISK ") for line in lines if line.startswith("AT RISK")} == risky
    assert {doc["host"] for w in rows if (doc := watch_dict(w, None))["at_risk"]} == risky

    # Slack: the watchlist card and the App Home
    card = watch_cards.watchlist_card(rows)
    assert card["text"].startswith("Watchlist: 3 hosts, 2 at risk")
    flat = json.dumps(card)
    for host in risky:
        assert f"*{host}* :rotating_light: {BEHIND}" in flat
    assert "*current.example.com* :large_green_circle:" in flat
    # the silent one: its last verdict, then since when it has not answered
    assert ":x: unreachable since 2026-11-28 23:00 UTC (timed out)" in flat
    home = json.dumps(watch_cards.home_view(rows))
    assert "*2* at risk" in home

    # the digest: text, JSON, Block Kit, and its chart
    d = digest_service.compose(store, catalog, FixedClock(DAY), ())
    assert {w.host for w in d.still_at_risk} == risky
    assert "Still at risk (2 of 3 watched)" in digest_text(d)
    # "could not" is said once, in the change summaries too (the stored error begins with it)
    assert "silent.example.com: could not be checked: timed out" in digest_text(d)
    assert "could not check: could not" not in flat and "could not be checked: could not" not in flat
    doc = digest_dict(d)
    silent = next(x for x in doc["still_at_risk"] if x["host"] == "silent.example.com")
    assert silent["build"] == BEHIND and silent["vulnerable_count"] and silent["unreachable_since"]
    assert "silent.example.com" in json.dumps(digest_message(d)["blocks"])
    bars = dict(charts.watchlist_state(d.watch).bars)
    assert bars["end-of-life or vulnerable"] == 2 and bars["no known risk"] == 1 and bars["unreachable"] == 0
    store.close()


def test_a_host_never_reached_is_unreachable_not_at_risk(tmp_path: Path, catalog: Catalog) -> None:
    with Store(tmp_path / "never.db") as s:
        s.save_checks([result(catalog, "never.example.com", DAY - HOUR, None)])
        points = s.history("never.example.com")
    w = watch_state("never.example.com", points)
    assert not w.at_risk and w.never_reachable and w.reasons == ()
    summary = watch_cards.summarise([w])
    assert (summary.unreachable, summary.at_risk) == (1, 0)


def test_an_unreachable_host_at_risk_stays_escaped_and_within_slacks_limits() -> None:
    """Its line now carries the failure too: hostile error text (a server's, a resolver's) and long
    names must stay inert and inside Block Kit's limits, on every page."""
    import dataclasses

    from tests.helpers import T0 as BLOCKS_T0  # the time of test_slack_blocks.point
    from tests.test_slack_blocks import assert_no_markup, assert_valid_message, point

    rows = []
    for i in range(65):
        host = f"h{i:03d}." + "x" * 240 + ".example.com"
        seen = dataclasses.replace(point(host, "15.1.2375.17", True, "vulnerable"), vulnerable_count=87, kev_count=5)
        gone = dataclasses.replace(
            point(host, None, None, "unknown", error="could not check: " + "<!channel> *bold* " * 200),
            checked_at=BLOCKS_T0 + HOUR,
        )
        rows.append(watch_state(host, [seen, gone]))
    assert all(w.at_risk and w.unreachable_since == BLOCKS_T0 + HOUR for w in rows)
    for page in (1, 2, 4):
        card = watch_cards.watchlist_card(rows, page=page)
        assert_valid_message(card)
        assert_no_markup(card)
    home = watch_cards.home_view(rows)
    assert_no_markup(home)
    assert "<!channel>" not in json.dumps(home)
