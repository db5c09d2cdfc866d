"""Database faults end every command with one line naming the file and the cause (exit 1), in real
processes; lock waits are bounded by EXCHBOT_DB_LOCK_TIMEOUT; a failing store is reported once."""

from __future__ import annotations

import asyncio
import logging
import sqlite3
from pathlib import Path

import pytest

from bot.cli.failure import database_cause
from bot.store import Store
from tests.cli_proc import clean_env, exchbot, one_line_error

READ_COMMANDS = [
    ("history", "mail.example.com"),
    ("changes",),
    ("watch", "list"),
    ("watch", "add", "mail.example.com"),
    ("prune",),
    ("digest", "--json"),
]


def _corrupt(path: Path) -> None:
    store = Store(path)
    store.watch_add("a.example", "a.example", __import__("datetime").datetime(2026, 1, 1))
    store.close()
    data = bytearray(path.read_bytes())
    data[100:4096] = b"\xff" * (4096 - 100)  # the schema page
    path.write_bytes(bytes(data))


@pytest.mark.parametrize("args", READ_COMMANDS, ids=lambda a: " ".join(a))
@pytest.mark.parametrize("fault", ["directory", "not-a-database", "corrupt"])
def test_database_faults_are_one_line(tmp_path: Path, fault: str, args: tuple[str, ...]) -> None:
    db = tmp_path / "ex.db"
    if fault == "directory":
        db.mkdir()
    elif fault == "not-a-database":
        db.write_text("this is a text file, not SQLite\n" * 200)
    else:
        _corrupt(db)
    proc = exchbot(*args, env=clean_env(EXCHBOT_DB=str(db)))
    assert proc.returncode == 1, proc.stderr
    line = one_line_error(proc)
    assert str(db) in line
    want = "is a directory" if fault == "directory" else "not a SQLite database, or corrupt"
    assert want in line


def test_check_reports_a_store_fault_once(tmp_path: Path) -> None:
    db = tmp_path / "dir.db"
    db.mkdir()
    targets = "\n".join(f"127.0.0.1:{9 + i % 2}" for i in range(120))  # three batches of 50, all refused
    proc = exchbot(
        "check", "--allow-private", "--timeout", "1", "-f", "-", env=clean_env(EXCHBOT_DB=str(db)), stdin=targets
    )
    assert proc.returncode == 1
    assert "Traceback" not in proc.stderr
    # One line for the fault (not one per batch of 50), besides the end-of-run summary.
    lines = [line for line in proc.stderr.strip().splitlines() if line.startswith("exchbot:")]
    assert len(lines) == 1, proc.stderr
    assert str(db) in lines[0] and "is a directory" in lines[0] and "(3 times)" in lines[0]
    assert len(proc.stdout.strip().splitlines()) == 120  # the results are still printed


def test_a_held_lock_fails_within_the_documented_bound(tmp_path: Path) -> None:
    db = tmp_path / "locked.db"
    Store(db).watchlist()  # create and migrate
    holder = sqlite3.connect(db)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        proc = exchbot(
            "watch",
            "add",
            "mail.example.com",
            env=clean_env(EXCHBOT_DB=str(db), EXCHBOT_DB_LOCK_TIMEOUT="0.5"),
            timeout=60,
        )
    finally:
        holder.rollback()
        holder.close()
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert "locked by another process for more than 0.5 s" in line and "EXCHBOT_DB_LOCK_TIMEOUT" in line


def test_read_only_and_disk_full_causes(tmp_path: Path) -> None:
    db = tmp_path / "ro.db"
    Store(db).watchlist()
    ro = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    with pytest.raises(sqlite3.OperationalError) as info:
        ro.execute("CREATE TABLE t (x)")
    ro.close()
    assert "read-only" in database_cause(info.value, db, 30)

    full = sqlite3.connect(tmp_path / "full.db")
    full.execute("CREATE TABLE t (x)")
    pages = full.execute("PRAGMA page_count").fetchone()[0]
    full.execute(f"PRAGMA max_page_count={pages}")
    with pytest.raises(sqlite3.OperationalError) as info:
        full.execute("INSERT INTO t VALUES (zeroblob(100000))")
    full.close()
    assert database_cause(info.value, tmp_path / "full.db", 30) == "the disk is full"


def test_a_full_disk_is_reported_once_with_a_count(tmp_path: Path, catalog: object) -> None:
    """Every batch fails the same way: one StoreFailed naming the count, not one line per batch."""
    from bot.clock import SystemClock
    from bot.core.catalog import Catalog
    from bot.probe.prober import Prober, ProbeSettings
    from bot.probe.targets import parse_target
    from bot.services.checks import CheckService, StoreFailed

    assert isinstance(catalog, Catalog)
    store = Store(tmp_path / "small.db")
    store.watchlist()
    pages = store.db.conn.execute("PRAGMA page_count").fetchone()[0]
    store.db.conn.execute(f"PRAGMA max_page_count={pages}")

    async def refuse(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    prober = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=1, concurrency=20, allow_private=True),
        resolver=refuse,
        clock=SystemClock(),
    )
    service = CheckService(prober=prober, store=store, batch_size=10)
    service._writer.submit(lambda: None).result()
    # The writer thread has its own connection: limit that one too.
    service._writer.submit(lambda: store.db.conn.execute(f"PRAGMA max_page_count={pages}")).result()
    targets = [parse_target(f"127.0.0.1:{9 + i % 2}") for i in range(35)]

    async def run() -> int:
        n = 0
        async for _ in service.run(targets):
            n += 1
        return n

    with pytest.raises(StoreFailed) as info:
        asyncio.run(run())
    store.close()
    assert info.value.failures == 4
    assert "35 results could not be stored" in str(info.value) and "(4 times)" in str(info.value)
    assert database_cause(info.value.__cause__ or info.value, tmp_path / "small.db", 30) == "the disk is full"


def test_repeated_errors_are_logged_once_with_a_count() -> None:
    import logging

    from bot.repeats import RepeatedErrors

    now = [0.0]
    lines: list[str] = []

    class H(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.append(record.getMessage())

    logger = logging.getLogger("tests.repeats")
    logger.addHandler(H())
    logger.propagate = False
    rep = RepeatedErrors(every=60, clock=lambda: now[0])
    for _ in range(50):
        rep.report(logger, "database or disk is full")
    assert lines == ["database or disk is full"]
    now[0] = 61
    rep.report(logger, "database or disk is full")
    assert lines[-1] == "database or disk is full (repeated 50 more times)"
    rep.report(logger, "database is locked")
    rep.report(logger, "database or disk is full")  # interleaved: still counted, not logged
    rep.report(logger, "database is locked")
    assert lines[-1] == "database is locked" and len(lines) == 3


def test_slack_checks_on_a_broken_database_answer_and_log_once(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    import logging

    from tests.fakes.slack_api import FakeSlack
    from tests.slack_harness import SlackHarness

    db = tmp_path / "dir.db"
    db.mkdir()
    caplog.set_level(logging.ERROR)
    with FakeSlack() as fake, SlackHarness(fake, db) as app:
        cards = []
        for _ in range(4):
            ack, name = app.command("/exchcheck", "127.0.0.1:9")
            assert ack.status == 200
            cards.append(app.final(name))
    for card in cards:
        assert "history database is unavailable" in card["text"]
    messages = [r.getMessage() for r in caplog.records if "dir.db" in r.getMessage()]
    assert "Traceback" not in caplog.text
    assert len([m for m in messages if "/exchcheck failed" in m]) == 1  # the rest are counted


def test_a_stored_result_that_is_no_longer_json_does_not_fail_the_others(
    tmp_path: Path, catalog: object, caplog: pytest.LogCaptureFixture
) -> None:
    """SQLite raises on malformed JSON, so one damaged row read with json_extract would fail the
    whole history query, and with it the changes and the digest of every host. The row is read
    without what its JSON held; its KEV count falls back to the stored verdicts."""
    import datetime as dt

    from bot.core.catalog import Catalog
    from tests.helpers import T0, result

    assert isinstance(catalog, Catalog)
    path = tmp_path / "damaged.db"
    with Store(path) as store:
        store.save_checks(
            [
                result(catalog, "near.example", T0, "15.2.2562.60"),  # update_nearest read from the JSON
                result(catalog, "old.example", T0, "15.1.2507.6"),  # vulnerable: KEV count read from the JSON
                result(catalog, "fine.example", T0, "15.2.2562.57"),
            ],
            knowledge_version=catalog.version,
        )
        (kev_before,) = [p.kev_count for p in store.history("old.example")]
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE checks SET result_json = '{\"cut short' WHERE host != 'fine.example'")
    conn.close()
    with Store(path) as store:
        (near,) = store.history("near.example")
        (old,) = store.history("old.example")
        since = store.points_since(T0 - dt.timedelta(days=1))
    assert near.build == "15.2.2562.60" and not near.update_nearest  # unknown: not marked
    assert old.kev_count == kev_before and kev_before  # from the verdict set instead
    assert sorted(since) == ["fine.example", "near.example", "old.example"]
    # read in Python: the damaged ones are left out (and said in the log), the others still read
    with Store(path) as store, caplog.at_level(logging.WARNING, logger="bot.store"):
        assert store.latest_result("near.example") is None
        assert store.latest_result("fine.example") is not None
        assert [p.host for p in store.pending_rejudgements("newer knowledge")] == ["fine.example"]
    assert sum("near.example cannot be read" in r.getMessage() for r in caplog.records) == 2
    with sqlite3.connect(path) as conn:  # the verdicts too: then the KEV count is not known
        conn.execute("UPDATE verdict_sets SET cves_json = '[{' WHERE build = '15.1.2507.6'")
    conn.close()
    with Store(path) as store:
        (old,) = store.history("old.example")
    assert old.kev_count is None and old.vulnerable_count
    from bot.core.counts import point_counts_text

    said = point_counts_text(old)
    assert said.startswith(f"{old.vulnerable_count} CVEs") and "(0 KEV)" not in said  # no made-up "0 KEV"


def test_a_damaged_rejudgement_is_passed_over_not_fatal(
    tmp_path: Path, catalog: object, caplog: pytest.LogCaptureFixture
) -> None:
    """A re-judgement's document damaged outside exchbot: ``changes`` and the digest (rejudgements
    since) leave it out, and the next re-judgement starts from the newest one that can be read."""
    import datetime as dt

    from bot.core.catalog import Catalog
    from bot.core.rejudge import CveShift, Rejudgement
    from tests.helpers import T0, result

    assert isinstance(catalog, Catalog)
    path = tmp_path / "rejudged.db"
    with Store(path) as store:
        store.save_checks([result(catalog, "a.example", T0, "15.1.2507.6")], knowledge_version="v1")
        (cid,) = [r[0] for r in store.db.execute("SELECT id FROM checks")]

        def rejudged(version: str, status: str, hours: int) -> Rejudgement:
            shift = CveShift("CVE-2026-00001", "patched", status, None, False)
            return Rejudgement(
                "a.example", cid, "15.1.2507.6", T0, "v1", version, dt.date(2026, 11, 10),
                {"CVE-2026-00001": status}, (shift,), None, T0 + dt.timedelta(hours=hours),
            )  # fmt: skip

        store.record_rejudgements([rejudged("v2", "vulnerable", 1)], T0 + dt.timedelta(hours=1))
        store.record_rejudgements([rejudged("v3", "unknown", 2)], T0 + dt.timedelta(hours=2))
    with sqlite3.connect(path) as conn:
        conn.execute("UPDATE rejudgements SET doc_json = '{\"statuses\": ' WHERE knowledge_version = 'v3'")
    conn.close()
    with Store(path) as store, caplog.at_level(logging.WARNING, logger="bot.store"):
        since = store.rejudgements_since(T0)
        (pending,) = store.pending_rejudgements("v4")
    assert [r.new_version for r in since] == ["v2"]  # the damaged v3 is left out
    assert pending.old_version == "v2" and pending.statuses == {"CVE-2026-00001": "vulnerable"}
    assert sum("a.example under v3 cannot be read" in r.getMessage() for r in caplog.records) == 2


def test_a_snapshot_whose_meta_is_damaged_is_left_out(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Its meta holds the scope and the self-check warnings: read without them, a damaged region
    snapshot would pass for a world one without warnings, so it is left out (and logged)."""
    import datetime as dt

    from bot.core.exposure_model import BuildCount, Snapshot

    def snap(day: int, total: int) -> Snapshot:
        return Snapshot(
            taken_at=dt.datetime(2026, 11, day, tzinfo=dt.UTC), query="q", total=total, countries={"DE": total},
            unattributed=0, builds=(BuildCount("15.1.2507", total, {"DE": total}, 0),), credits_used=0,
            requests=2, complete=True, knowledge_version="kv", meta={"scope": "eu", "warnings": "capped"},
        )  # fmt: skip

    path = tmp_path / "snap.db"
    with Store(path) as store:
        store.save_snapshot(snap(1, 10))
        store.save_snapshot(snap(2, 20))
        store.save_snapshot(snap(3, 30))
    with sqlite3.connect(path) as conn:
        conn.execute('UPDATE snapshots SET meta_json = \'{"scope": "eu\' WHERE total = 30')
        conn.execute("UPDATE snapshots SET meta_json = '[1]' WHERE total = 10")
    conn.close()
    with Store(path) as store, caplog.at_level(logging.WARNING, logger="bot.store"):
        latest = store.latest_snapshot()
        every = store.snapshots()
    assert latest is not None and latest.total == 20 and latest.meta["warnings"] == "capped"
    assert [s.total for s in every] == [20]
    assert any("cannot be read" in r.getMessage() for r in caplog.records)
