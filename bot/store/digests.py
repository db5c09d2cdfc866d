"""One digest per channel and day, even with several processes: claim a unique row first."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.store.checks import iso
from bot.store.connection import write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

# A claim whose poster died without finishing can be taken over after this long.
CLAIM_LEASE = dt.timedelta(minutes=10)


def claim(db: sqlite_utils.Database, channel: str, day: dt.date, claimer: str, now: dt.datetime) -> bool:
    """True if this caller may post the digest for (channel, day). Atomic under the write lock."""
    with write_transaction(db):
        row = db.execute(
            "SELECT status, claimed_at FROM digests WHERE channel = ? AND day = ?", [channel, day.isoformat()]
        ).fetchone()
        if row is None:
            db.execute(
                "INSERT INTO digests (channel, day, status, claimed_at, claimed_by) VALUES (?, ?, ?, ?, ?)",
                [channel, day.isoformat(), "claimed", iso(now), claimer],
            )
            return True
        status, claimed_at = row
        stale = status == "claimed" and dt.datetime.fromisoformat(claimed_at) < now - CLAIM_LEASE
        if status == "failed" or stale:
            db.execute(
                "UPDATE digests SET status = 'claimed', claimed_at = ?, claimed_by = ?, error = NULL "
                "WHERE channel = ? AND day = ?",
                [iso(now), claimer, channel, day.isoformat()],
            )
            return True
        return False


def mark_posted(db: sqlite_utils.Database, channel: str, day: dt.date, ts: str | None, now: dt.datetime) -> None:
    with write_transaction(db):
        db.execute(
            "UPDATE digests SET status = 'posted', posted_at = ?, message_ts = ? WHERE channel = ? AND day = ?",
            [iso(now), ts, channel, day.isoformat()],
        )


def mark_failed(db: sqlite_utils.Database, channel: str, day: dt.date, error: str) -> None:
    """A failed post can be retried: the next claim succeeds."""
    with write_transaction(db):
        db.execute(
            "UPDATE digests SET status = 'failed', error = ? WHERE channel = ? AND day = ?",
            [error[:500], channel, day.isoformat()],
        )


def status(db: sqlite_utils.Database, channel: str, day: dt.date) -> str | None:
    row = db.execute("SELECT status FROM digests WHERE channel = ? AND day = ?", [channel, day.isoformat()]).fetchone()
    return str(row[0]) if row else None
