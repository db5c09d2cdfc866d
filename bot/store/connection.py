"""Opening the SQLite database: WAL, a busy timeout, and one explicit write transaction helper."""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from bot.paths import default_path as default_path  # re-exported: callers import it from here

if TYPE_CHECKING:
    import sqlite_utils  # imported by open_database

DEFAULT_PATH = "~/.local/share/exchbot/exchbot.db"
BUSY_TIMEOUT_S = 30.0


def open_database(path: str | Path) -> sqlite_utils.Database:
    """A connection in WAL mode; safe to use from the thread that opened it."""
    path = Path(path)
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    from bot.store._sqlite import sqlite_utils  # on first open: commands without a database skip it

    # Each thread opens its own connection; check_same_thread=False only lets close() run elsewhere.
    conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_S, check_same_thread=False)
    db = sqlite_utils.Database(conn, execute_plugins=False)
    _retry_busy(lambda: conn.execute("PRAGMA journal_mode=WAL"))
    # NORMAL is durable against a killed process in WAL mode; only power loss can drop the last commit.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    return db


@contextlib.contextmanager
def write_transaction(db: sqlite_utils.Database) -> Iterator[sqlite_utils.Database]:
    """One logical write: BEGIN IMMEDIATE takes the write lock up front (no upgrade deadlocks);
    sqlite-utils calls inside nest as savepoints. All or nothing."""
    _retry_busy(lambda: db.conn.execute("BEGIN IMMEDIATE"))
    try:
        yield db
    except BaseException:
        if db.conn.in_transaction:
            db.conn.execute("ROLLBACK")
        raise
    else:
        db.conn.execute("COMMIT")


def _retry_busy(action: Callable[[], object], attempts: int = 8) -> None:
    """Run ``action``, retrying "database is locked". SQLite's busy timeout covers most waits, but
    in WAL mode some lock conflicts (e.g. a stale read snapshot) fail at once without it."""
    delay = 0.02
    for attempt in range(attempts):
        try:
            action()
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 1.0)


def inserted_id(table: sqlite_utils.db.Table) -> int:
    """The rowid of the row just inserted through ``table``."""
    pk = table.last_pk
    if pk is None:
        raise RuntimeError(f"insert into {table.name} returned no key")
    return int(pk)
