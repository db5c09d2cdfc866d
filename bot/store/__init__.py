"""The SQLite history (sqlite-utils): one :class:`Store` per database file.

Each thread gets its own connection (SQLite connections are not shared across threads); the schema
is migrated once, on first use. Every write method is one transaction. A store is a context manager:
``with Store(path) as store: ...`` closes every connection it opened on the way out.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.changes import CheckPoint
from bot.core.exposure_model import Calibration, Host, RegionCount, Snapshot
from bot.core.model import CheckResult
from bot.core.rejudge import Rejudgement
from bot.redact import redact
from bot.store import audit, checks, digests, job_runs, rejudgements, snapshots, watchlist
from bot.store.audit_queue import AuditQueue
from bot.store.connection import BUSY_TIMEOUT_S, as_database, default_path, open_connection
from bot.store.migrations import ensure_current

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

__all__ = ["Store", "default_path"]


class Store:
    def __init__(self, path: str | Path | None = None, lock_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path) if path is not None else default_path()
        self.lock_timeout = lock_timeout
        self._local = threading.local()
        self._lock = threading.Lock()
        self._migrated = False
        self._all: list[sqlite3.Connection] = []
        self._audit_queue: AuditQueue | None = None  # started by the first audit_later()

    @property
    def conn(self) -> sqlite3.Connection:
        """This thread's connection, the schema migrated. Plain sqlite3: saving checks needs no more,
        and sqlite-utils is loaded only by what uses :attr:`db` (or a migration)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = open_connection(self.path, self.lock_timeout)
            try:
                with self._lock:
                    if not self._migrated:
                        ensure_current(conn)
                        self._migrated = True
                    self._all.append(conn)
            except BaseException:  # not a database, read-only, ...: the next use fails the same way
                conn.close()
                raise
            self._local.conn = conn
        return conn

    @property
    def db(self) -> sqlite_utils.Database:
        """sqlite-utils over this thread's connection."""
        db: sqlite_utils.Database | None = getattr(self._local, "db", None)
        if db is None:
            db = as_database(self.conn)
            self._local.db = db
        return db

    def prepare(self) -> None:
        """Open this thread's connection, check the schema and load the code that saving needs, now:
        e.g. on the writer thread while a probe waits for the network, so the first save is quick."""
        self.conn  # noqa: B018  (the property opens and migrates)
        import bot.render.json_out  # noqa: F401  (serialises results for storage)

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            pending, self._audit_queue = self._audit_queue, None
        if pending is not None and not pending.close():  # its rows first, on its own connection
            return  # still writing (a stuck database): leave the connections to the process exit
        with self._lock:
            for conn in self._all:
                conn.close()
            self._all.clear()
        self._local = threading.local()

    # -- checks ---------------------------------------------------------------------------------
    def save_checks(
        self, results: Sequence[CheckResult], *, requested_by: str | None = None, knowledge_version: str = ""
    ) -> list[int]:
        return checks.save_checks(self.conn, results, requested_by=requested_by, knowledge_version=knowledge_version)

    def history(self, host: str, limit: int = 50) -> list[CheckPoint]:
        return checks.history(self.db, host, limit)

    def latest_result(self, host: str) -> dict[str, Any] | None:
        return checks.latest_result(self.db, host)

    def similar_hosts(self, host: str, limit: int = 5) -> list[str]:
        return checks.similar_hosts(self.db, host, limit)

    def points_since(self, since: dt.datetime) -> dict[str, list[CheckPoint]]:
        return checks.points_since(self.db, since)

    def last_check_time(self, requested_by: str) -> dt.datetime | None:
        return checks.last_check_time(self.db, requested_by)

    def prune(self, older_than: dt.datetime, *, dry_run: bool = False) -> int:
        return checks.prune(self.db, older_than, dry_run=dry_run)

    # -- re-judgements under new knowledge ---------------------------------------------------------
    def pending_rejudgements(self, knowledge_version: str) -> list[rejudgements.Pending]:
        return rejudgements.pending(self.db, knowledge_version)

    def record_rejudgements(self, items: list[Rejudgement], at: dt.datetime) -> None:
        rejudgements.record(self.db, items, at)

    def rejudgements_since(self, since: dt.datetime) -> list[Rejudgement]:
        return rejudgements.changed_since(self.db, since)

    def latest_rejudgement(self, check_id: int) -> Rejudgement | None:
        return rejudgements.latest_for_check(self.db, check_id)

    # -- snapshots ------------------------------------------------------------------------------
    def save_snapshot(self, snap: Snapshot) -> int:
        return snapshots.save_snapshot(self.db, snap)

    def latest_snapshot(self, before: dt.datetime | None = None) -> Snapshot | None:
        return snapshots.latest_snapshot(self.db, before)

    def snapshots(self, since: dt.datetime | None = None, limit: int = 365) -> list[Snapshot]:
        return snapshots.snapshots_between(self.db, since, limit)

    def save_region(self, snapshot_id: int, rc: RegionCount) -> None:
        snapshots.save_region(self.db, snapshot_id, rc)

    def snapshot_hosts(self, snapshot_id: int) -> list[Host]:
        return snapshots.snapshot_hosts(self.db, snapshot_id)

    def save_calibration(self, cal: Calibration) -> int:
        return snapshots.save_calibration(self.db, cal)

    def latest_calibration(self) -> Calibration | None:
        return snapshots.latest_calibration(self.db)

    # -- watchlist ------------------------------------------------------------------------------
    def watch_add(
        self, host: str, target: str, at: dt.datetime, added_by: str | None = None, channel: str | None = None
    ) -> bool:
        return watchlist.add(self.db, host, target, at, added_by, channel)

    def watch_remove(self, host: str) -> bool:
        return watchlist.remove(self.db, host)

    def watchlist(self) -> list[watchlist.Watched]:
        return watchlist.entries(self.db)

    # -- digests and audit ----------------------------------------------------------------------
    def claim_digest(self, channel: str, day: dt.date, claimer: str, now: dt.datetime) -> bool:
        return digests.claim(self.db, channel, day, claimer, now)

    def digest_posted(self, channel: str, day: dt.date, ts: str | None, now: dt.datetime) -> None:
        digests.mark_posted(self.db, channel, day, ts, now)

    def digest_failed(self, channel: str, day: dt.date, error: str) -> None:
        digests.mark_failed(self.db, channel, day, redact(error))

    def digest_status(self, channel: str, day: dt.date) -> str | None:
        return digests.status(self.db, channel, day)

    def audit(self, **fields: Any) -> int:
        return audit.record(self.db, **fields)

    # -- job outcomes (exchbot status) ----------------------------------------------------------
    def record_job_run(
        self, job: str, started_at: dt.datetime, finished_at: dt.datetime, ok: bool, detail: str
    ) -> None:
        job_runs.record(self.db, job, started_at, finished_at, ok, detail)

    def last_job_run(self, job: str, *, ok_only: bool = False) -> job_runs.JobRun | None:
        return job_runs.latest(self.db, job, ok_only=ok_only)

    def audit_later(self, **fields: Any) -> None:
        """Queue an audit row for the background writer (bot/store/audit_queue.py) and return at
        once: whoever answers a user does not wait on the database. ``close`` writes what is queued."""
        with self._lock:
            if self._audit_queue is None:
                self._audit_queue = AuditQueue(lambda row: self.audit(**row))
            writer = self._audit_queue
        writer.put(fields)

    def flush_audit(self) -> None:
        """Wait until every queued audit row is written."""
        writer = self._audit_queue
        if writer is not None:
            writer.flush()
