"""The watchlist: hosts re-checked daily."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.store.checks import iso
from bot.store.connection import write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)


@dataclass(frozen=True)
class Watched:
    """A watched target and who added it, when and from where."""

    host: str
    target: str
    added_at: dt.datetime
    added_by: str | None
    channel: str | None


def add(
    db: sqlite_utils.Database,
    host: str,
    target: str,
    at: dt.datetime,
    added_by: str | None = None,
    channel: str | None = None,
) -> bool:
    """Add a host; False if it was already watched (the first entry is kept)."""
    with write_transaction(db):
        cur = db.execute(
            "INSERT OR IGNORE INTO watchlist (host, target, added_at, added_by, channel) VALUES (?, ?, ?, ?, ?)",
            [host, target, iso(at), added_by, channel],
        )
        return cur.rowcount == 1


def remove(db: sqlite_utils.Database, host: str) -> bool:
    with write_transaction(db):
        return db.execute("DELETE FROM watchlist WHERE host = ?", [host]).rowcount == 1


def entries(db: sqlite_utils.Database) -> list[Watched]:
    return [
        Watched(r["host"], r["target"], dt.datetime.fromisoformat(r["added_at"]), r["added_by"], r["channel"])
        for r in db.query("SELECT * FROM watchlist ORDER BY host")
    ]
