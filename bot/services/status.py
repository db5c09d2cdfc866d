"""What ``exchbot status`` and the health endpoint report: the database (where, writable, schema,
what it holds), the knowledge date, and the last watchlist run, digest and backup with outcome.

Reads the database through a read-only connection: asking for the status never creates, migrates or
changes the file.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.catalog import Catalog
from bot.core.staleness import DEFAULT_MAX_AGE_DAYS, staleness
from bot.store import job_runs
from bot.store.backup import dated_backups
from bot.store.dbfile import Counts, connect_readonly, counts, schema_version, writable_problem
from bot.store.migrations import LATEST

MANUAL_BACKUP = "manual-backup"  # `exchbot backup`; the daily one of `serve` is "backup"


@dataclass(frozen=True)
class Outcome:
    """When a job last ran and whether it went well."""

    at: dt.datetime
    ok: bool | None  # None: known to have run, outcome not recorded (e.g. only its checks are stored)
    detail: str


@dataclass(frozen=True)
class Status:
    """What ``exchbot status`` reports: the database, the knowledge and the last runs of each job."""

    db_path: Path
    db_exists: bool
    writable: bool
    schema_version: int | None
    counts: Counts | None
    knowledge_date: dt.date
    knowledge_version: str
    knowledge_age_days: int
    knowledge_warn_from: dt.date | None = None  # the first day answers carry the staleness warning
    knowledge_warning: str | None = None  # that warning, once it is due (not a health problem)
    last_watchlist_run: Outcome | None = None
    last_digest: Outcome | None = None
    last_backup: Outcome | None = None
    backup_dir: Path | None = None
    backups_in_dir: int = 0
    schema_expected: int = LATEST
    problems: tuple[str, ...] = field(default_factory=tuple)

    @property
    def healthy(self) -> bool:
        return not self.problems


def _outcome(run: job_runs.JobRun | None) -> Outcome | None:
    return None if run is None else Outcome(run.finished_at, run.ok, run.detail)


def _newest(*outcomes: Outcome | None) -> Outcome | None:
    present = [o for o in outcomes if o is not None]
    return max(present, key=lambda o: o.at) if present else None


def collect(
    db_path: Path,
    catalog: Catalog,
    now: dt.datetime,
    backup_dir: Path | None = None,
    knowledge_max_age_days: int = DEFAULT_MAX_AGE_DAYS,
) -> Status:
    db_path = Path(db_path)
    problems: list[str] = []
    exists = db_path.is_file()
    version: int | None = None
    held: Counts | None = None
    watch = digest = backup = None
    write_problem: str | None = None
    if exists:
        try:
            conn = connect_readonly(db_path, timeout=5.0)
            try:
                version = schema_version(conn)
                held = counts(conn)
                watch = _outcome(job_runs.latest(conn, "watchlist"))
                row = conn.execute("SELECT max(checked_at) FROM checks WHERE requested_by = 'watchlist'").fetchone()
                if row and row[0] and (watch is None or dt.datetime.fromisoformat(row[0]) > watch.at):
                    watch = Outcome(dt.datetime.fromisoformat(row[0]), None, "checks stored by a watchlist run")
                digest = _outcome(job_runs.latest(conn, "digest"))
                backup = _newest(
                    _outcome(job_runs.latest(conn, "backup")), _outcome(job_runs.latest(conn, MANUAL_BACKUP))
                )
            finally:
                conn.close()
        except (sqlite3.Error, ValueError) as exc:
            problems.append(f"cannot read the database: {exc}")
        write_problem = writable_problem(db_path)
        if write_problem:
            problems.append(write_problem)
        if version is not None and version > LATEST:
            problems.append(f"schema version {version} is newer than this exchbot knows ({LATEST}): upgrade exchbot")
    else:
        problems.append(f"no database at {db_path} yet (it is created by the first command that stores something)")
    stale = staleness(catalog.data_date, now.date(), knowledge_max_age_days)
    return Status(
        db_path=db_path,
        db_exists=exists,
        writable=exists and write_problem is None,
        schema_version=version,
        counts=held,
        knowledge_date=catalog.data_date,
        knowledge_version=catalog.version,
        knowledge_age_days=(now.date() - catalog.data_date).days,
        knowledge_warn_from=stale.warn_from,
        knowledge_warning=stale.warning,
        last_watchlist_run=watch,
        last_digest=digest,
        last_backup=backup,
        backup_dir=backup_dir,
        backups_in_dir=len(dated_backups(backup_dir)) if backup_dir is not None else 0,
        problems=tuple(problems),
    )
