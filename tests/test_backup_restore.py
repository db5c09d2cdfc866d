"""``exchbot backup`` and ``exchbot restore`` as real processes against real database files."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from bot.core.catalog import Catalog
from bot.store import Store
from bot.store.migrations import LATEST, migrate
from tests.helpers import T0, result

ROOT = Path(__file__).resolve().parents[1]
EXCHBOT = str(Path(sys.executable).parent / "exchbot")
HOSTS = ("mail.example.com", "owa.example.org", "ex.example.net")


def run(args: list[str], db: Path, **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHBOT_", "SLACK_"))}
    env["EXCHBOT_DB"] = str(db)
    return subprocess.run(  # type: ignore[no-any-return]  # **kw hides run()'s overload
        [EXCHBOT, *args], capture_output=True, text=True, timeout=120, env=env, cwd=ROOT, check=False, **kw
    )  # type: ignore[call-overload]


def seed(path: Path, catalog: Catalog, n: int = 3) -> None:
    import datetime as dt

    store = Store(path)
    try:
        for i in range(n):
            at = T0 + dt.timedelta(hours=i)
            store.save_checks([result(catalog, h, at, "15.2.1544.11") for h in HOSTS])
        store.watch_add(HOSTS[0], HOSTS[0], T0)
    finally:
        store.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def integrity(path: Path) -> str:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])
    finally:
        conn.close()


def check_ids(path: Path) -> set[int]:
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        return {r[0] for r in conn.execute("SELECT id FROM checks")}
    finally:
        conn.close()


WRITER = textwrap.dedent(
    """
    import datetime as dt, sys
    from bot.knowledge import load_catalog
    from bot.store import Store
    from tests.helpers import T0, result
    catalog = load_catalog()
    store = Store(sys.argv[1])
    i = 0
    while True:  # one committed check per transaction, until killed
        i += 1
        store.save_checks([result(catalog, f"h{i % 50}.example.com", T0 + dt.timedelta(seconds=i), "15.2.1544.11")])
        print(i, flush=True)
    """
)


def start_writer(db: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", WRITER, str(db)], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )


def test_backup_while_another_process_writes(tmp_path: Path, catalog: Catalog) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    seed(live, catalog, 1)
    writer = start_writer(live)
    try:
        assert writer.stdout is not None
        for _ in range(30):  # the writer is under way
            writer.stdout.readline()
        committed_before = check_ids(live)
        proc = run(["backup", str(copy), "--json"], live)
        assert writer.poll() is None, "the writer stopped during the backup"
    finally:
        writer.kill()
        writer.wait(10)
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout)
    assert report["path"] == str(copy) and report["integrity"] == "ok" and report["schema_version"] == LATEST
    assert integrity(copy) == "ok"
    held = check_ids(copy)
    assert committed_before <= held  # every check committed before the backup began
    assert report["counts"]["checks"] == len(held) and report["counts"]["watchlist"] == 1
    assert not [p.name for p in tmp_path.iterdir() if ".tmp-" in p.name]  # no temporary file left
    assert not Path(f"{copy}-wal").exists()  # a single self-contained file


def test_backup_text_names_what_it_holds_and_fails_cleanly(tmp_path: Path, catalog: Catalog) -> None:
    live = tmp_path / "live.db"
    seed(live, catalog, 2)
    (tmp_path / "dir").mkdir()
    proc = run(["backup", str(tmp_path / "dir")], live)
    assert proc.returncode == 0, proc.stderr
    assert "6 checks, 3 hosts, 0 snapshots, 1 watchlist entries" in proc.stdout
    (made,) = (tmp_path / "dir").iterdir()
    assert made.name.startswith("exchbot-") and integrity(made) == "ok"
    missing = run(["backup", str(tmp_path / "x.db")], tmp_path / "none.db")
    assert missing.returncode == 1 and "nothing to back up" in missing.stderr
    assert not (tmp_path / "none.db").exists() and not (tmp_path / "x.db").exists()
    status = json.loads(run(["status", "--json"], live).stdout)
    assert status["last_backup"]["ok"] is True and str(made) in status["last_backup"]["detail"]


def _corrupt(src: Path, dest: Path) -> None:
    data = bytearray(src.read_bytes())
    page = 4096
    for offset in range(page, len(data), page):  # every page after the header page: garbage
        data[offset : offset + 64] = os.urandom(64)
    dest.write_bytes(bytes(data))


def _newer(src: Path, dest: Path) -> None:
    dest.write_bytes(src.read_bytes())
    conn = sqlite3.connect(dest)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.commit()
    conn.close()


def _foreign(src: Path, dest: Path) -> None:
    conn = sqlite3.connect(dest)
    conn.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.commit()
    conn.close()


def _trigger(src: Path, dest: Path) -> None:
    dest.write_bytes(src.read_bytes())
    conn = sqlite3.connect(dest)
    conn.execute("CREATE TRIGGER wipe AFTER INSERT ON checks BEGIN DELETE FROM watchlist; END")
    conn.commit()
    conn.close()


@pytest.mark.parametrize(
    ("kind", "make", "expect"),
    [
        ("corrupt", _corrupt, "bad.db"),
        ("not sqlite", lambda s, d: d.write_text("id,host\n1,mail.example.com\n"), "not an SQLite database"),
        ("truncated", lambda s, d: d.write_bytes(s.read_bytes()[: len(s.read_bytes()) // 2]), "truncated"),
        ("newer", _newer, "newer exchbot"),
        ("foreign", _foreign, "not an exchbot one"),
        ("trigger", _trigger, "trigger wipe"),
    ],
)
def test_restore_refuses_bad_files_and_leaves_the_database(
    tmp_path: Path, catalog: Catalog, kind: str, make: object, expect: str
) -> None:
    live, good, bad = tmp_path / "live.db", tmp_path / "good.db", tmp_path / "bad.db"
    seed(live, catalog, 2)
    assert run(["backup", str(good)], live).returncode == 0
    make(good, bad)  # type: ignore[operator]
    before_history = run(["history", HOSTS[1], "--json"], live).stdout
    before_bytes = digest(live)
    proc = run(["restore", str(bad), "--yes"], live)
    assert proc.returncode == 1, kind
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and expect in lines[0] and "Traceback" not in proc.stderr, proc.stderr
    assert digest(live) == before_bytes
    assert not (tmp_path / "live.db.before-restore").exists()
    after = run(["history", HOSTS[1], "--json"], live)
    assert after.returncode == 0 and after.stdout == before_history and len(json.loads(after.stdout)) == 2


def test_restore_into_a_fresh_path_shows_the_history(tmp_path: Path, catalog: Catalog) -> None:
    live, copy, fresh = tmp_path / "live.db", tmp_path / "copy.db", tmp_path / "new" / "exchbot.db"
    seed(live, catalog, 3)
    assert run(["backup", str(copy)], live).returncode == 0
    proc = run(["restore", str(copy), "--yes"], fresh)
    assert proc.returncode == 0, proc.stderr
    assert "9 checks" in proc.stdout
    history = json.loads(run(["history", HOSTS[2], "--json"], fresh).stdout)
    assert [p["build"] for p in history] == ["15.2.1544.11"] * 3
    watched = json.loads(run(["watch", "list", "--json"], fresh).stdout)
    assert [w["host"] for w in watched] == [HOSTS[0]]


def test_restore_over_a_database_keeps_it_and_swaps(tmp_path: Path, catalog: Catalog) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    seed(copy, catalog, 1)
    seed(live, catalog, 4)
    # A process killed mid-work leaves committed checks in the -wal file only.
    writer = start_writer(live)
    assert writer.stdout is not None
    written = [writer.stdout.readline() for _ in range(20)]
    writer.kill()
    writer.wait(10)
    assert written[-1].strip() == "20" and Path(f"{live}-wal").stat().st_size > 0
    proc = run(["restore", str(copy), "--yes"], live)
    assert proc.returncode == 0, proc.stderr
    kept = tmp_path / "live.db.before-restore"
    assert integrity(kept) == "ok" and len(check_ids(kept)) >= 12 + 20  # the WAL's checks are kept too
    assert len(check_ids(live)) == 3
    assert not Path(f"{live}-wal").exists() or Path(f"{live}-wal").stat().st_size == 0
    assert len(json.loads(run(["history", HOSTS[0], "--json"], live).stdout)) == 1
    # A second restore does not overwrite the first safety copy: it is moved aside.
    assert run(["restore", str(copy), "--yes"], live).returncode == 0
    assert len([p for p in tmp_path.iterdir() if p.name.startswith("live.db.before-restore")]) == 2


def test_restore_migrates_an_older_schema(tmp_path: Path) -> None:
    import sqlite_utils

    old = tmp_path / "old.db"
    db = sqlite_utils.Database(old)
    migrate(db, upto=LATEST - 1)
    db.table("watchlist").insert({"host": "mail.example.com", "target": "mail.example.com", "added_at": T0.isoformat()})
    db.close()
    live = tmp_path / "live.db"
    proc = run(["restore", str(old), "--yes"], live)
    assert proc.returncode == 0, proc.stderr
    assert f"migrated from schema {LATEST - 1} to {LATEST}" in proc.stdout
    status = json.loads(run(["status", "--json"], live).stdout)
    assert status["db"]["schema_version"] == LATEST and status["counts"]["watchlist"] == 1


def test_restore_needs_yes_without_a_terminal(tmp_path: Path, catalog: Catalog) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    seed(live, catalog, 1)
    assert run(["backup", str(copy)], live).returncode == 0
    before = digest(live)
    proc = run(["restore", str(copy)], live, stdin=subprocess.DEVNULL)
    assert proc.returncode == 1 and "--yes" in proc.stderr
    assert digest(live) == before and not (tmp_path / "live.db.before-restore").exists()


def test_restore_refuses_a_database_in_use(tmp_path: Path, catalog: Catalog) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    seed(live, catalog, 1)
    assert run(["backup", str(copy)], live).returncode == 0
    holder = Store(live)
    try:
        holder.watchlist()  # an open connection, as `exchbot serve` holds
        proc = run(["restore", str(copy), "--yes"], live)
    finally:
        holder.close()
    assert proc.returncode == 1 and "in use" in proc.stderr
    assert len(check_ids(live)) == 3


def test_backup_while_a_check_batch_writes(tmp_path: Path) -> None:
    from tests.fakes.exchange_sim import ExchangeSimulator

    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    with ExchangeSimulator(default="exchange_se_current", latency=0.05) as sim:
        names = [f"h{i}.sim.test" for i in range(200)]
        (tmp_path / "targets.txt").write_text("".join(f"{n}:{sim.port}\n" for n in names))
        env = {k: v for k, v in os.environ.items() if not k.startswith(("EXCHBOT_", "SLACK_"))}
        env |= {"EXCHBOT_DB": str(live), "EXCHBOT_RESOLVE": ",".join(f"{n}:127.0.0.1" for n in names)}
        batch = subprocess.Popen(
            [EXCHBOT, "check", "-f", str(tmp_path / "targets.txt"), "--allow-private", "--concurrency", "10", "--json"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            committed_before: set[int] = set()
            deadline = time.monotonic() + 90
            while not committed_before and time.monotonic() < deadline:
                time.sleep(0.1)
                if live.exists():
                    with contextlib.suppress(sqlite3.OperationalError):
                        committed_before = check_ids(live)
            assert committed_before, "the batch stored nothing"
            assert batch.poll() is None, "the batch finished before the backup began"
            proc = run(["backup", str(copy)], live)
            assert batch.wait(120) == 0
        finally:
            if batch.poll() is None:
                batch.kill()
                batch.wait(10)
    assert proc.returncode == 0, proc.stderr
    assert integrity(copy) == "ok"
    assert committed_before <= check_ids(copy) <= check_ids(live)
    assert len(check_ids(live)) == 200


def test_restore_over_a_damaged_database_keeps_the_damaged_file(tmp_path: Path, catalog: Catalog) -> None:
    live, copy = tmp_path / "live.db", tmp_path / "copy.db"
    seed(copy, catalog, 2)
    live.write_bytes(b"SQLite format 3\x00" + os.urandom(8192))  # what a failing disk may leave
    damaged = digest(live)
    proc = run(["restore", str(copy), "--yes"], live)
    assert proc.returncode == 0, proc.stderr
    assert digest(tmp_path / "live.db.before-restore") == damaged
    assert integrity(live) == "ok" and len(check_ids(live)) == 6


def test_commands_refuse_a_database_of_a_newer_exchbot(tmp_path: Path, catalog: Catalog) -> None:
    live = tmp_path / "live.db"
    seed(live, catalog, 1)
    conn = sqlite3.connect(live)
    conn.execute(f"PRAGMA user_version = {LATEST + 1}")
    conn.commit()
    conn.close()
    for args in (["watch", "list"], ["watch", "add", "owa.example.org"], ["history", HOSTS[0]]):
        proc = run(args, live)
        assert proc.returncode == 1, (args, proc.stdout, proc.stderr)
        assert "Traceback" not in proc.stderr
        assert f"written by a newer exchbot (schema version {LATEST + 1}" in proc.stderr, proc.stderr
    check = run(["check", "127.0.0.1:9", "--allow-private", "--timeout", "1"], live)  # checked, not stored
    assert "could not check" in check.stdout
    said = f"database {str(live)!a}: 1 results could not be stored: written by a newer exchbot (schema version"
    assert said in check.stderr, check.stderr
    assert check.stderr.count("written by a newer exchbot") == 1, check.stderr
    backup = run(["backup", str(tmp_path / "copy.db")], live)
    assert backup.returncode == 1 and f"{live} was written by a newer exchbot" in backup.stderr, backup.stderr
    assert not (tmp_path / "copy.db").exists() and list(tmp_path.glob(".copy.db.tmp-*")) == []
    status = run(["status"], live)  # still shows what is wrong, from a read-only look
    assert f"schema version {LATEST + 1} is newer" in status.stdout + status.stderr
    conn = sqlite3.connect(live)
    assert conn.execute("SELECT count(*) FROM watchlist").fetchone()[0] == 1  # the add wrote nothing
    conn.close()
