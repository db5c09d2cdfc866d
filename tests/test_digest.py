"""The daily digest: content from scripted histories, one post per channel and day, charts, the
scheduler across restarts, and a watchlist run against the simulator feeding the next digest."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import struct
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from slack_sdk import WebClient

from bot.clock import FixedClock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.exposure import resolve_region
from bot.core.exposure_model import BuildCount, Snapshot
from bot.daily.jobs import make_scheduler
from bot.probe.prober import Prober, ProbeSettings
from bot.render import charts
from bot.render.digest import digest_message, digest_text
from bot.services import digest as digest_service
from bot.services.checks import CheckService
from bot.services.watch import run_watchlist
from bot.store import Store
from tests.fakes.exchange_sim import ExchangeSimulator, get_profile
from tests.fakes.slack_api import FakeSlack
from tests.helpers import result

DAY = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


@pytest.fixture()
def slack(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(var, raising=False)
    with FakeSlack() as fake:
        yield fake


def snapshot(at: dt.datetime, counts: dict[str, dict[str, int]], total_by_country: dict[str, int]) -> Snapshot:
    builds = tuple(BuildCount(b, sum(c.values()), c, 0) for b, c in counts.items())
    return Snapshot(
        taken_at=at,
        query="q",
        total=sum(total_by_country.values()),
        countries=total_by_country,
        unattributed=0,
        builds=builds,
        credits_used=0,
        requests=len(counts) + 1,
        complete=True,
        knowledge_version="kv",
    )


def scripted_store(tmp_path: Path, catalog: Catalog) -> Store:
    store = Store(tmp_path / "d.db")
    for host in (
        "patched.example.com",
        "worse.example.com",
        "down.example.com",
        "quiet.example.com",
        "eol.example.com",
    ):
        store.watch_add(host, host, DAY - 10 * 24 * HOUR)
    before, after = DAY - 30 * HOUR, DAY - 2 * HOUR
    script = {
        "patched.example.com": ("15.2.986.30", "15.2.986.36"),  # ProxyNotShell fixed
        "worse.example.com": ("15.2.986.36", "15.2.986.30"),  # rolled back
        "down.example.com": ("15.2.2562.53", None),  # unreachable now
        "quiet.example.com": ("15.2.2562.53", "15.2.2562.53"),  # nothing happened
        "eol.example.com": ("15.1.2507.72", "15.1.2507.72"),  # still end-of-life
        "adhoc.example.com": ("15.2.986.30", "15.2.986.36"),  # checked, but not watched
    }
    for host, (old, new) in script.items():
        store.save_checks([result(catalog, host, before, old)])
        store.save_checks([result(catalog, host, after, new)])
    # Two snapshots: EU exposure went down.
    store.save_snapshot(snapshot(DAY - 8 * 24 * HOUR, {"15.1.2507": {"DE": 40, "FR": 10}}, {"DE": 50, "FR": 20}))
    store.save_snapshot(snapshot(DAY - 3 * HOUR, {"15.1.2507": {"DE": 30, "FR": 5}}, {"DE": 45, "FR": 20}))
    return store


def test_digest_content_for_a_scripted_history(tmp_path: Path, catalog: Catalog) -> None:
    store = scripted_store(tmp_path, catalog)
    d = digest_service.compose(store, catalog, FixedClock(DAY), ("eu",))
    assert [c.host for c in d.patched] == ["patched.example.com"]
    assert [(c.host, c.family) for c in d.newly_vulnerable] == [("worse.example.com", "ProxyNotShell")]
    assert [c.host for c in d.unreachable] == ["down.example.com"]
    assert {c.host for c in d.build_changed} == {"patched.example.com", "worse.example.com"}
    assert all(c.host != "adhoc.example.com" for c in d.host_changes)  # not watched: not in the digest
    # At risk by the last verdict: end-of-life (2019 and 2016), or vulnerable to CVEs: the Exchange SE
    # build of September 2026 lacks two later updates, unreachable now or not.
    assert {w.host for w in d.still_at_risk} == {
        "patched.example.com",
        "worse.example.com",
        "eol.example.com",
        "down.example.com",
        "quiet.example.com",
    }
    assert not d.all_quiet
    eu = d.regions[0]
    assert (eu.latest.region, eu.latest.total, eu.changes.total if eu.changes else None) == ("eu", 65, -5)
    assert eu.changes is not None and eu.changes.eol == -15
    text = digest_text(d)
    assert "Patched (1)" in text and "worse.example.com" in text and "Data: Shodan" in text
    (down,) = [line for line in text.splitlines() if line.startswith("  down.example.com: 15.2.2562.53")]
    assert f"unreachable since {(DAY - 2 * HOUR):%Y-%m-%d}" in down and "8 CVEs" in down
    msg = digest_message(d)
    assert msg["text"] and len(msg["blocks"]) <= 50 and msg["unfurl_links"] is False and "link_names" not in msg
    store.close()


def test_all_quiet_is_one_line(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "q.db")
    store.watch_add("quiet.example.com", "quiet.example.com", DAY - 48 * HOUR)
    store.save_checks([result(catalog, "quiet.example.com", DAY - 40 * HOUR, "15.2.2562.53")])
    store.save_checks([result(catalog, "quiet.example.com", DAY - 2 * HOUR, "15.2.2562.53")])
    d = digest_service.compose(store, catalog, FixedClock(DAY), ())
    assert d.all_quiet
    assert "All quiet" in digest_text(d).splitlines()[1]
    store.close()


def test_hostile_host_text_is_escaped_in_the_digest(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "e.db")
    host = "mail.example.com"
    store.watch_add(host, host, DAY - 48 * HOUR)
    store.save_checks([result(catalog, host, DAY - 40 * HOUR, "15.2.986.30")])
    store.save_checks([result(catalog, host, DAY - 2 * HOUR, None, error="could not check: <!channel> &")])
    msg = digest_message(digest_service.compose(store, catalog, FixedClock(DAY), ()))
    blob = str(msg["blocks"]) + msg["text"]
    assert "<!channel>" not in blob and "&lt;!channel&gt;" in blob
    store.close()


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_trend_chart_is_a_png_and_its_points_match_the_snapshots(tmp_path: Path, catalog: Catalog) -> None:
    store = scripted_store(tmp_path, catalog)
    name, codes = resolve_region("eu", catalog)
    points = charts.trend_points(store.snapshots(), name, codes, catalog, DAY.date())
    assert [(p.total, p.eol) for p in points] == [(70, 50), (65, 35)]
    chart = charts.exposure_trend(points, name)
    assert png_size(chart.png) == (800, 450)
    assert "eu" in chart.title
    watch = digest_service.compose(store, catalog, FixedClock(DAY), ()).watch
    bars = charts.watchlist_state(watch)
    assert dict(bars.bars) == {  # by the last verdict: the unreachable host was last seen vulnerable
        "end-of-life or vulnerable": 5,
        "no known risk": 0,
        "unreachable": 0,
        "not checked yet": 0,
    }
    assert png_size(bars.png) == (800, 450)
    store.close()


def test_post_uploads_charts_in_the_thread_and_only_once(tmp_path: Path, catalog: Catalog, slack: FakeSlack) -> None:
    store = scripted_store(tmp_path, catalog)
    client = WebClient(base_url=slack.api_url, token="xoxb-test")
    clock = FixedClock(DAY)
    d = digest_service.compose(store, catalog, clock, ("eu",))
    draw = charts.digest_charts
    first = digest_service.post(client, "C123", d, store, clock, catalog=catalog, draw=draw)
    second = digest_service.post(client, "C123", d, store, clock, catalog=catalog, draw=draw)
    assert first.posted and first.chart_uploaded and not second.posted
    posts = slack.calls_to("chat.postMessage")
    assert len(posts) == 1 and posts[0].params["channel"] == "C123"
    assert not any("missing_text_in_blocks" in w for c in slack.calls for w in c.warnings)
    uploads = slack.uploads
    assert len(uploads) == 2 and all(u.completed for u in uploads)
    assert {u.thread_ts for u in uploads} == {first.ts}
    assert all(png_size(u.data or b"") == (800, 450) for u in uploads)
    assert store.digest_status("C123", d.day) == "posted"
    store.close()


def test_a_failed_post_can_be_retried(tmp_path: Path, catalog: Catalog, slack: FakeSlack) -> None:
    store = scripted_store(tmp_path, catalog)
    client = WebClient(base_url=slack.api_url, token="xoxb-test")
    clock = FixedClock(DAY)
    d = digest_service.compose(store, catalog, clock, ())
    slack.fail_next("chat.postMessage", error="internal_error", status=500)
    with pytest.raises(digest_service.DigestPostFailed):
        digest_service.post(client, "C9", d, store, clock, with_chart=False)
    assert store.digest_status("C9", d.day) == "failed"
    assert digest_service.post(client, "C9", d, store, clock, with_chart=False).posted
    store.close()


def test_two_processes_post_one_digest(tmp_path: Path, catalog: Catalog, slack: FakeSlack) -> None:
    scripted_store(tmp_path, catalog).close()
    env = {
        **os.environ,
        "EXCHBOT_DB": str(tmp_path / "d.db"),
        "SLACK_API_URL": slack.api_url,
        "SLACK_BOT_TOKEN": "xoxb-test",
        "EXCHBOT_DIGEST_REGIONS": "eu",
    }
    for var in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
        env.pop(var, None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "bot", "digest", "--post", "CRACE"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    outs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert len([c for c in slack.calls_to("chat.postMessage") if c.params.get("channel") == "CRACE"]) == 1
    said = " ".join(o[0] + o[1] for o in outs)
    assert "posted" in said and "already" in said


def test_scheduler_survives_a_restart_without_duplicate_or_miss(
    tmp_path: Path, catalog: Catalog, slack: FakeSlack
) -> None:
    store = scripted_store(tmp_path, catalog)
    settings = Settings.from_env(
        {
            "EXCHBOT_DB": str(tmp_path / "d.db"),
            "EXCHBOT_DIGEST_CHANNEL": "CDAILY",
            "EXCHBOT_DIGEST_TIME": "08:00",
            "EXCHBOT_WATCH_TIME": "23:59",
            "EXCHBOT_DIGEST_TZ": "Europe/Berlin",
            "EXCHBOT_DIGEST_REGIONS": "eu",
        }
    )
    client = WebClient(base_url=slack.api_url, token="xoxb-test")
    service = CheckService(prober=Prober(catalog=catalog, settings=ProbeSettings()), store=store)

    def scheduler(at: dt.datetime):  # type: ignore[no-untyped-def]
        return make_scheduler(
            settings, client=client, service=service, store=store, catalog=catalog, clock=FixedClock(at)
        )

    berlin = ZoneInfo("Europe/Berlin")
    early = dt.datetime(2026, 11, 29, 7, 59, tzinfo=berlin)
    assert scheduler(early).run_pending() == []  # not yet time
    late = dt.datetime(2026, 11, 29, 8, 30, tzinfo=berlin)
    assert scheduler(late).run_pending() == ["digest"]  # started late: catches up
    assert scheduler(late + HOUR).run_pending() == ["digest"]  # restarted: runs, but the claim holds
    assert len(slack.calls_to("chat.postMessage")) == 1
    next_day = dt.datetime(2026, 11, 30, 8, 1, tzinfo=berlin)
    assert scheduler(next_day).run_pending() == ["digest"]
    assert len(slack.calls_to("chat.postMessage")) == 2
    store.close()


async def _loopback(host: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"]


def test_changed_build_between_watch_runs_shows_in_the_next_digest(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "w.db")
    clock = FixedClock(DAY - 20 * HOUR)
    with ExchangeSimulator(hosts={"mail.watch.test": "exchange2019_cu14_f5"}) as sim:
        target = f"mail.watch.test:{sim.port}"
        store.watch_add(target, target, clock.now())
        prober = Prober(
            catalog=catalog, settings=ProbeSettings(timeout=5, allow_private=True), resolver=_loopback, clock=clock
        )
        service = CheckService(prober=prober, store=store)
        first = asyncio.run(run_watchlist(service, store))
        sim.hosts["mail.watch.test"] = get_profile("exchange_se_current")  # the admin upgraded overnight
        clock.at = DAY - 2 * HOUR
        second = asyncio.run(run_watchlist(service, store))
    assert (first[0].assessment.build, second[0].assessment.build) == ("15.2.1544.11", "15.2.2562.53")
    d = digest_service.compose(store, catalog, FixedClock(DAY), ())
    assert [(c.before, c.after) for c in d.build_changed] == [("15.2.1544.11", "15.2.2562.53")]
    assert "Build changed (1)" in digest_text(d)
    # Exchange SE: no longer end-of-life, but its September 2026 update lacks two later ones: still
    # at risk for its CVEs alone
    (w,) = d.still_at_risk
    assert w.eol is False and w.reasons == () and w.vulnerable_count
    assert f"{target}: 15.2.2562.53" in digest_text(d) and "end-of-life" not in digest_text(d).split(target)[-1]
    store.close()
