"""Outcomes of the daily jobs and backups (``job_runs``): what ``exchbot status`` reports."""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.store.checks import iso
from bot.store.connection import write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

DETAIL_MAX = 500  # characters of detail kept per run (errors can be long)
KEEP_PER_JOB = 400  # older runs of a job are dropped when a new one is recorded


@dataclass(frozen=True)
class JobRun:
    """One run of a scheduled job (watchlist, digest, backup) and its outcome."""

    job: str
    started_at: dt.datetime
    finished_at: dt.datetime
    ok: bool
    detail: str


def record(
    db: sqlite_utils.Database, job: str, started_at: dt.datetime, finished_at: dt.datetime, ok: bool, detail: str
) -> None:
    with write_transaction(db):
        db.execute(
            "INSERT INTO job_runs (job, started_at, finished_at, ok, detail) VALUES (?, ?, ?, ?, ?)",
            [job, iso(started_at), iso(finished_at), int(ok), detail[:DETAIL_MAX]],
        )
        db.execute(
            "DELETE FROM job_runs WHERE job = ? AND id NOT IN "
            "(SELECT id FROM job_runs WHERE job = ? ORDER BY id DESC LIMIT ?)",
            [job, job, KEEP_PER_JOB],
        )


def latest(conn: sqlite3.Connection | sqlite_utils.Database, job: str, *, ok_only: bool = False) -> JobRun | None:
    """The newest run of ``job`` (the newest successful one with ``ok_only``); works on a plain
    read-only connection too, and on a database that has no ``job_runs`` table yet (None)."""
    sql = "SELECT job, started_at, finished_at, ok, detail FROM job_runs WHERE job = ?"
    if ok_only:
        sql += " AND ok = 1"
    try:
        row = conn.execute(sql + " ORDER BY id DESC LIMIT 1", [job]).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return None
        raise
    if row is None:
        return None
    return JobRun(
        job=row[0],
        started_at=dt.datetime.fromisoformat(row[1]),
        finished_at=dt.datetime.fromisoformat(row[2]),
        ok=bool(row[3]),
        detail=row[4] or "",
    )
