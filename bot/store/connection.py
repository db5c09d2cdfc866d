"""Opening the SQLite database: WAL, a busy timeout, and one explicit write transaction helper."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.paths import BUSY_TIMEOUT_S as BUSY_TIMEOUT_S  # re-exported: callers import them from here
from bot.paths import default_path as default_path

if TYPE_CHECKING:
    from typing import TypeAlias

    import sqlite_utils  # imported by as_database

    Sql: TypeAlias = "sqlite3.Connection | sqlite_utils.Database"  # what plain SQL runs on


def open_connection(path: str | Path, lock_timeout: float = BUSY_TIMEOUT_S) -> sqlite3.Connection:
    """A connection in WAL mode; safe to use from the thread that opened it. Every wait for a lock
    held by another connection ends after ``lock_timeout`` seconds ("database is locked")."""
    path = Path(path)
    if str(path) != ":memory:":
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # reported like every other database fault
            raise sqlite3.OperationalError(f"unable to open database file: {exc.strerror}") from exc
    # Each thread opens its own connection; check_same_thread=False only lets close() run elsewhere.
    conn = sqlite3.connect(str(path), timeout=lock_timeout, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout={int(lock_timeout * 1000)}")
    _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"), lock_timeout)
    # NORMAL is durable against a killed process in WAL mode; only power loss can drop the last commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


def as_database(conn: sqlite3.Connection) -> sqlite_utils.Database:
    """sqlite-utils over ``conn``, imported on first use: a check that only saves its results (plain
    SQL on the connection) never loads it."""
    from bot.store._sqlite import sqlite_utils

    return sqlite_utils.Database(conn, execute_plugins=False)


def open_database(path: str | Path, lock_timeout: float = BUSY_TIMEOUT_S) -> sqlite_utils.Database:
    """:func:`open_connection` with sqlite-utils over it."""
    return as_database(open_connection(path, lock_timeout))


def connection_of(db: Sql) -> sqlite3.Connection:
    return db if isinstance(db, sqlite3.Connection) else db.conn


@contextlib.contextmanager
def write_transaction(db: Sql) -> Iterator[None]:
    """One logical write: BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks);
    sqlite-utils calls inside nest as savepoints. All or nothing."""
    conn = connection_of(db)
    _retry_busy(lambda: conn.execute("BEGIN IMMEDIATE"), _busy_timeout(conn))
    try:
        yield
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
    else:
        conn.execute("COMMIT")


def _busy_timeout(conn: sqlite3.Connection) -> float:
    row = conn.execute("PRAGMA busy_timeout").fetchone()
    return float(row[0]) / 1000 if row else BUSY_TIMEOUT_S


def _retry_busy(action: Callable[[], object], limit: float = BUSY_TIMEOUT_S, attempts: int = 8) -> None:
    """Run ``action``, retrying "database is locked" until ``limit`` seconds have passed in all.
    SQLite's busy timeout covers most waits, but in WAL mode some lock conflicts (e.g. a stale read
    snapshot) fail at once without it."""
    deadline = time.monotonic() + limit
    delay = 0.02
    for attempt in range(attempts):
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            left = deadline - time.monotonic()
            if "locked" not in str(exc) or attempt == attempts - 1 or left <= 0:
                raise
            time.sleep(min(delay, left))
            delay = min(delay * 2, 1.0)


def inserted_id(table: sqlite_utils.db.Table) -> int:
    """The rowid of the row just inserted through ``table``."""
    pk = table.last_pk
    if pk is None:
        raise RuntimeError(f"insert into {table.name} returned no key")
    return int(pk)
