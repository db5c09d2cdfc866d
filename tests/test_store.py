"""The SQLite history: migrations, history and changes, atomic batches, indexes, retention."""

from __future__ import annotations

import datetime as dt
import json
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

from bot.core.catalog import Catalog
from bot.services.history import collect_host_changes
from bot.store import Store
from bot.store.checks import BASELINE_SQL, HISTORY_SQL, SINCE_SQL
from bot.store.connection import open_database
from bot.store.migrations import LATEST, MIGRATIONS, NewerSchema, current_version, migrate
from tests.helpers import T0, result

HOUR = dt.timedelta(hours=1)


def schema(path: Path) -> list[tuple[str, str, str]]:
    conn = sqlite3.connect(path)
    rows = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name"
    ).fetchall()
    conn.close()
    return [(t, n, " ".join((s or "").split())) for t, n, s in rows]


def test_fresh_database_is_at_latest_version(tmp_path: Path) -> None:
    store = Store(tmp_path / "a.db")
    assert current_version(store.db) == LATEST
    names = set(store.db.table_names())
    assert {
        "targets",
        "checks",
        "snapshots",
        "snapshot_countries",
        "snapshot_builds",
        "watchlist",
        "digests",
        "audit",
        "_migrations",
    } <= names
    assert store.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert [r["version"] for r in store.db.query("SELECT version FROM _migrations ORDER BY version")] == list(
        range(1, LATEST + 1)
    )
    store.close()


@pytest.mark.parametrize("start", [v for v, _, _ in MIGRATIONS[:-1]])
def test_upgrade_from_every_earlier_version_matches_fresh(tmp_path: Path, catalog: Catalog, start: int) -> None:
    old = tmp_path / "old.db"
    db = open_database(old)
    assert migrate(db, upto=start) == start
    # Data written under the old schema survives the upgrade.
    db.table("targets").insert({"host": "mail.example.com", "target": "mail.example.com", "first_seen": T0.isoformat()})
    db.close()
    store = Store(old)
    assert current_version(store.db) == LATEST
    assert store.db.execute("SELECT host FROM targets").fetchall() == [("mail.example.com",)]
    store.close()
    Store(tmp_path / "fresh.db").db.close()
    assert schema(old) == schema(tmp_path / "fresh.db")


def test_migrating_twice_is_a_no_op(tmp_path: Path) -> None:
    db = open_database(tmp_path / "x.db")
    assert migrate(db) == LATEST
    assert migrate(db) == LATEST
    assert db.execute("SELECT count(*) FROM _migrations").fetchone()[0] == LATEST


def test_a_database_of_a_newer_exchbot_is_refused_and_left_alone(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "newer.db"
    seeded = Store(path)
    seeded.save_checks([result(catalog, "mail.example.com", T0, "15.2.1748.36")])
    seeded.close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")  # what a newer exchbot's migration leaves
    conn.commit()
    conn.close()
    before = schema(path)
    store = Store(path)
    with pytest.raises(NewerSchema, match=f"schema version {LATEST + 1}; this one knows up to {LATEST}"):
        store.save_checks([result(catalog, "mail.example.com", T0 + HOUR, "15.2.1748.36")])
    with pytest.raises(sqlite3.DatabaseError):  # every use, not only the first
        store.history("mail.example.com")
    store.close()
    conn = sqlite3.connect(path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == LATEST + 1
    assert conn.execute("SELECT count(*) FROM checks").fetchone()[0] == 1  # nothing written
    conn.close()
    assert schema(path) == before  # nothing migrated


def test_history_and_changes_over_a_scripted_sequence(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "h.db")
    host = "mail.example.com"
    script = [
        (T0, "15.2.986.30"),  # 2019 CU11 Oct22SU: ProxyNotShell vulnerable
        (T0 + 24 * HOUR, "15.2.986.30"),  # unchanged
        (T0 + 48 * HOUR, "15.2.986.36"),  # patched (Nov22SU)
        (T0 + 72 * HOUR, "15.2.986.30"),  # regressed (restored from an old image)
        (T0 + 96 * HOUR, None),  # unreachable
        (T0 + 120 * HOUR, "15.2.986.36"),  # back, patched again
    ]
    for at, build in script:
        store.save_checks([result(catalog, host, at, build)])
    hist = store.history(host)
    assert [p.checked_at for p in hist] == [at for at, _ in reversed(script)]
    assert [p.build for p in hist] == [b for _, b in reversed(script)]
    assert hist[0].families["ProxyNotShell"] == "patched" and hist[2].families["ProxyNotShell"] == "vulnerable"

    changes = collect_host_changes(store.points_since(T0 + 36 * HOUR), T0 + 36 * HOUR)
    kinds = [(c.at - T0, c.kind, c.family) for c in changes]
    assert kinds == [
        (48 * HOUR, "build_changed", None),
        (48 * HOUR, "patched", "ProxyNotShell"),
        (72 * HOUR, "build_changed", None),
        (72 * HOUR, "newly_vulnerable", "ProxyNotShell"),
        (96 * HOUR, "unreachable", None),
        (120 * HOUR, "reachable_again", None),
        (120 * HOUR, "build_changed", None),
        (120 * HOUR, "patched", "ProxyNotShell"),
    ]
    # The first check in the window is compared with the last one before it, not reported as new.
    later = collect_host_changes(store.points_since(T0 + 20 * HOUR), T0 + 20 * HOUR)
    assert "first_seen" not in {c.kind for c in later}
    first = collect_host_changes(store.points_since(T0 - HOUR), T0 - HOUR)
    assert first[0].kind == "first_seen"
    store.close()


def test_stored_result_json_is_complete(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "j.db")
    store.save_checks([result(catalog, "mail.example.com", T0, "15.1.2507.39")], knowledge_version="kv")
    doc = store.latest_result("mail.example.com")
    assert doc is not None
    assert doc["build"] == "15.1.2507.39" and doc["target"] == "mail.example.com"
    assert doc["knowledge_version"] == catalog.version and len(doc["cves"]) == len(catalog.cves)
    row = store.db.execute("SELECT knowledge_version, eol, proxynotshell FROM checks").fetchone()
    assert row == (catalog.version, 1, "patched")
    store.close()


def test_a_stored_result_reads_back_as_the_json_printed(tmp_path: Path, catalog: Catalog) -> None:
    """What the row keeps elsewhere (the CVEs and their counts, with the verdict set) or leaves out
    (``update_nearest`` when false, so a row stays small) is put back in its place: the document
    read back is the fresh JSON, key order included."""
    from bot.render import json_out

    fresh = {
        "near.example": result(catalog, "near.example", T0, "15.2.2562.60"),  # update_nearest true
        "old.example": result(catalog, "old.example", T0, "15.0.1497.48"),  # cannot-tell counts > 0
        "gone.example": result(catalog, "gone.example", T0, None, error="could not check: timed out"),
    }
    with Store(tmp_path / "r.db") as store:
        store.save_checks(list(fresh.values()), knowledge_version=catalog.version)
        for host, r in fresh.items():
            doc = store.latest_result(host)
            assert doc is not None
            expected = json.loads(json_out.dumps(json_out.check_dict(r)))
            assert list(doc.items()) == list(expected.items()), host
        stored = {h: json.loads(j) for h, j in store.db.execute("SELECT host, result_json FROM checks")}
    assert "update_nearest" not in stored["old.example"] and stored["near.example"]["update_nearest"] is True
    assert "undetermined_count" not in stored["old.example"]  # with the verdict set
    assert (
        fresh["old.example"].assessment.cves
        and json.loads(json_out.dumps(json_out.check_dict(fresh["old.example"])))["undetermined_count"] > 0
    )


def test_queries_use_indexes(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "p.db")
    store.save_checks([result(catalog, f"h{i}.example.com", T0 + i * HOUR, "15.2.1748.36") for i in range(50)])
    db = store.db
    db.execute("ANALYZE")
    cases: list[tuple[str, list[object], str]] = [
        (HISTORY_SQL, ["h1.example.com", 10], "idx_checks_host_time"),
        (SINCE_SQL, [T0.isoformat()], "idx_checks_time"),
        (BASELINE_SQL, ["h1.example.com", T0.isoformat()], "idx_checks_host_time"),
    ]
    for sql, params, index in cases:
        plan = " | ".join(r[3] for r in db.execute(f"EXPLAIN QUERY PLAN {sql}", params).fetchall())
        assert index in plan, plan
        assert "SCAN checks" not in plan.replace(f"SCAN checks USING INDEX {index}", ""), plan
    store.close()


def test_retention_keeps_newest_and_change_points(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "r.db")
    host = "mail.example.com"
    builds = ["15.2.986.30"] * 5 + ["15.2.986.36"] * 5 + [None] * 3 + ["15.2.986.36"] * 3
    for i, b in enumerate(builds):
        store.save_checks([result(catalog, host, T0 + i * HOUR, b)])
    since = T0 - HOUR
    before = collect_host_changes(store.points_since(since), since)
    deleted = store.prune(T0 + 100 * HOUR)
    remaining = store.history(host, 100)
    assert deleted == len(builds) - len(remaining) > 0
    assert remaining[0].checked_at == T0 + (len(builds) - 1) * HOUR  # newest kept
    after = collect_host_changes(store.points_since(since), since)
    assert [(c.at, c.kind, c.family) for c in after] == [(c.at, c.kind, c.family) for c in before]
    store.close()


WRITER = textwrap.dedent("""
    import datetime as dt, sys, time
    sys.path.insert(0, {root!r})
    from bot.knowledge import load_catalog
    from bot.store import Store
    from tests.helpers import T0, result
    catalog = load_catalog()
    store = Store({db!r})
    size, pause_batch = {size}, {pause_batch}
    batch = 0
    inserted = 0

    def pause_halfway(sql):
        # Holds batch `pause_batch` open after half its rows: the kill lands inside the transaction
        # whatever the machine's speed (a timed sleep raced the commit on a fast run).
        global inserted
        if batch == pause_batch and sql.startswith("INSERT INTO checks"):
            inserted += 1
            if inserted == size // 2:
                print("mid", batch, flush=True)
                time.sleep(600)

    store.conn.set_trace_callback(pause_halfway)
    while True:
        rows = [result(catalog, f"h{{batch}}-{{i}}.example.com", T0 + dt.timedelta(seconds=i), "15.2.1748.36")
                for i in range(size)]
        print("begin", batch, flush=True)
        store.save_checks(rows)
        print("committed", batch, flush=True)
        batch += 1
""")


def _start_writer(tmp_path: Path, size: int, pause_batch: int = -1) -> subprocess.Popen[str]:
    script = WRITER.format(
        root=str(Path(__file__).resolve().parents[1]), db=str(tmp_path / "k.db"), size=size, pause_batch=pause_batch
    )
    return subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"}
    )


def test_sigkill_mid_batch_leaves_last_committed_state(tmp_path: Path) -> None:
    size = 1500
    proc = _start_writer(tmp_path, size, pause_batch=3)
    committed, paused = -1, False
    assert proc.stdout is not None
    try:
        for raw in proc.stdout:  # ends if the writer dies before pausing
            line = raw.split()
            if line[:1] == ["committed"]:
                committed = int(line[1])
            if line == ["mid", "3"]:
                paused = True
                break
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
    assert paused, "the writer never reached the middle of batch 3"
    assert proc.returncode == -signal.SIGKILL
    assert committed == 2
    conn = sqlite3.connect(tmp_path / "k.db")
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    sizes = [n for (n,) in conn.execute("SELECT count(*) FROM checks GROUP BY batch_id")]
    # Exactly the three committed batches: none of the half-written fourth.
    assert sizes == [size] * 3
    assert conn.execute("SELECT count(*) FROM targets").fetchone()[0] == 3 * size


def test_reader_never_sees_a_half_written_batch(tmp_path: Path) -> None:
    size = 800
    proc = _start_writer(tmp_path, size)
    assert proc.stdout is not None
    assert proc.stdout.readline().startswith("begin")
    seen_batches: set[int] = set()
    errors: list[str] = []
    stop = threading.Event()

    def read() -> None:
        store = Store(tmp_path / "k.db")
        while not stop.is_set():
            by_host = store.points_since(T0 - HOUR)
            per_batch: dict[str, int] = {}
            for host in by_host:
                batch = host.split("-")[0]
                per_batch[batch] = per_batch.get(batch, 0) + 1
            for batch, n in per_batch.items():
                seen_batches.add(int(batch[1:]))
                if n != size:
                    errors.append(f"batch {batch} visible with {n} of {size} rows")
        store.close()

    reader = threading.Thread(target=read)
    reader.start()
    deadline = time.monotonic() + 60
    while len(seen_batches) < 4 and time.monotonic() < deadline:
        time.sleep(0.05)
    stop.set()
    proc.kill()
    proc.wait(10)
    reader.join(30)
    assert not errors, errors[:3]
    assert len(seen_batches) >= 4


def test_watchlist_digest_claims_and_audit(tmp_path: Path) -> None:
    store = Store(tmp_path / "w.db")
    assert store.watch_add("mail.example.com", "mail.example.com", T0, "U1", "C1")
    assert not store.watch_add("mail.example.com", "mail.example.com", T0, "U2")
    assert [w.host for w in store.watchlist()] == ["mail.example.com"]
    assert store.watch_remove("mail.example.com") and not store.watch_remove("mail.example.com")
    day = T0.date()
    assert store.claim_digest("C1", day, "p1", T0)
    assert not store.claim_digest("C1", day, "p2", T0)
    store.digest_failed("C1", day, "ratelimited")
    assert store.claim_digest("C1", day, "p2", T0)  # a failed post can be retried
    store.digest_posted("C1", day, "123.456", T0)
    assert not store.claim_digest("C1", day, "p3", T0 + 24 * HOUR)
    assert store.digest_status("C1", day) == "posted"
    # A claim whose poster died is taken over after the lease.
    assert store.claim_digest("C2", day, "p1", T0)
    assert not store.claim_digest("C2", day, "p2", T0 + dt.timedelta(minutes=5))
    assert store.claim_digest("C2", day, "p2", T0 + dt.timedelta(minutes=11))
    aid = store.audit(at=T0, source="slack", command="/exchcheck", text="x" * 5000, outcome="ok", user_id="U1")
    row = store.db.execute("SELECT length(text), command FROM audit WHERE id = ?", [aid]).fetchone()
    assert row == (2000, "/exchcheck")
    store.close()


def test_json_in_db_is_valid_for_every_row(tmp_path: Path, catalog: Catalog) -> None:
    store = Store(tmp_path / "v.db")
    store.save_checks([result(catalog, "a.example.com", T0, None), result(catalog, "b.example.com", T0, "14.3.513.0")])
    for (doc,) in store.db.execute("SELECT result_json FROM checks"):
        assert set(json.loads(doc)) >= {"target", "reachable", "exchange", "evidence", "warnings", "checked_at"}
    store.close()
