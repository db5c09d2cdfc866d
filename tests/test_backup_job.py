"""The daily backup of ``exchbot serve``: dated files, rotation, restart safety, failures recorded."""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path
from zoneinfo import ZoneInfo

from slack_sdk import WebClient

from bot.clock import FixedClock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.daily.jobs import make_scheduler
from bot.daily.scheduler import DailyJob, Scheduler
from bot.probe.prober import Prober, ProbeSettings
from bot.services.backup_job import backup_job
from bot.services.checks import CheckService
from bot.services.job_log import recorded
from bot.services.status import collect
from bot.store import Store
from tests.helpers import T0, result

UTC = ZoneInfo("UTC")
AT = dt.time(8, 0)


def setup(tmp_path: Path, catalog: Catalog) -> tuple[Store, FixedClock]:
    store = Store(tmp_path / "live.db")
    store.save_checks([result(catalog, "mail.example.com", T0, "15.2.1544.11")])
    return store, FixedClock(dt.datetime(2026, 12, 1, 8, 5, tzinfo=dt.UTC))


def test_one_backup_a_day_keeping_the_newest(tmp_path: Path, catalog: Catalog) -> None:
    store, clock = setup(tmp_path, catalog)
    backups = tmp_path / "backups"
    backups.mkdir()
    (backups / "notes.txt").write_text("not a backup: never deleted")
    job = recorded(backup_job(store, backups, 3, clock, UTC, AT), store, clock)
    scheduler = Scheduler(jobs=[job], tz=UTC, clock=clock)
    try:
        for _ in range(5):
            assert scheduler.run_pending() == ["backup"]
            clock.advance(days=1)
        names = sorted(p.name for p in backups.iterdir())
        assert names == [
            "exchbot-20261203T080500Z.db",
            "exchbot-20261204T080500Z.db",
            "exchbot-20261205T080500Z.db",
            "notes.txt",
        ]
        newest = backups / names[2]
        conn = sqlite3.connect(f"file:{newest}?mode=ro", uri=True)
        assert conn.execute("SELECT count(*) FROM checks").fetchone()[0] == 1
        conn.close()
        # A restart later the same day (a new scheduler) does not back up again.
        again = Scheduler(
            jobs=[recorded(backup_job(store, backups, 3, clock, UTC, AT), store, clock)], tz=UTC, clock=clock
        )
        clock.advance(days=-1, hours=2)
        again.run_pending()
        assert len(list(backups.glob("exchbot-*.db"))) == 3
        run = store.last_job_run("backup")
        assert run is not None and run.ok and "1 checks" in run.detail
    finally:
        store.close()


def test_a_failed_backup_is_recorded_shown_and_not_fatal(tmp_path: Path, catalog: Catalog) -> None:
    store, clock = setup(tmp_path, catalog)
    blocked = tmp_path / "file-not-dir"
    blocked.write_text("x")
    ran: list[dt.date] = []
    other = DailyJob("other", AT, lambda day: ran.append(day))
    scheduler = Scheduler(
        jobs=[recorded(backup_job(store, blocked, 7, clock, UTC, AT), store, clock), other], tz=UTC, clock=clock
    )
    try:
        assert scheduler.run_pending() == ["other"]  # the backup failed, the next job still ran
        assert ran == [dt.date(2026, 12, 1)]
        run = store.last_job_run("backup")
        assert run is not None and not run.ok and "cannot create" in run.detail
        status = collect(store.path, catalog, clock.now(), blocked)
        assert status.last_backup is not None and status.last_backup.ok is False
        assert status.healthy  # a failed backup is reported, not an outage
    finally:
        store.close()


def test_serve_schedules_the_backup_after_the_other_daily_jobs(tmp_path: Path, catalog: Catalog) -> None:
    env = {
        "EXCHBOT_DB": str(tmp_path / "d.db"),
        "EXCHBOT_DIGEST_CHANNEL": "CDAILY",
        "EXCHBOT_DIGEST_TIME": "09:15",
        "EXCHBOT_WATCH_TIME": "07:30",
    }
    store = Store(tmp_path / "d.db")
    service = CheckService(prober=Prober(catalog=catalog, settings=ProbeSettings()), store=store)
    client = WebClient(base_url="http://127.0.0.1:9/", token="xoxb-test")
    clock = FixedClock(T0)
    try:
        plain = make_scheduler(
            Settings.from_env(env), client=client, service=service, store=store, catalog=catalog, clock=clock
        )
        assert [j.name for j in plain.jobs] == ["watchlist", "digest"]
        env["EXCHBOT_BACKUP_DIR"] = str(tmp_path / "b")
        with_backup = make_scheduler(
            Settings.from_env(env), client=client, service=service, store=store, catalog=catalog, clock=clock
        )
        assert [j.name for j in with_backup.jobs] == ["watchlist", "digest", "backup"]
        assert with_backup.jobs[-1].at == dt.time(9, 15)
    finally:
        store.close()
