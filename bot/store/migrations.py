"""Versioned schema migrations. Each runs in its own transaction and is recorded in
``_migrations`` and ``PRAGMA user_version``; a fresh database and one upgraded from any earlier
version end up with the same schema (tests/test_store.py checks it)."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING

from bot.core.counts import stored_undetermined_counts
from bot.store.connection import as_database, connection_of, write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

    from bot.store.connection import Sql

Migration = tuple[int, str, Callable[["sqlite_utils.Database"], None]]


def _v1_checks(db: sqlite_utils.Database) -> None:
    db.table("targets").create(
        {"id": int, "host": str, "target": str, "first_seen": str, "last_checked_at": str, "last_check_id": int},
        pk="id",
        not_null={"host", "first_seen"},
    )
    db.table("targets").create_index(["host"], unique=True)
    db.table("checks").create(
        {
            "id": int,
            "target_id": int,
            "host": str,
            "target": str,
            "checked_at": str,
            "batch_id": str,
            "reachable": int,
            "exchange": int,
            "build": str,
            "precision": int,
            "product": str,
            "cu": str,
            "update_name": str,
            "eol": int,
            "proxylogon": str,
            "proxyshell": str,
            "proxytoken": str,
            "proxynotshell": str,
            "vulnerable_cves": int,
            "error": str,
            "knowledge_version": str,
            "requested_by": str,
            "result_json": str,
        },
        pk="id",
        foreign_keys=[("target_id", "targets", "id")],
        not_null={"host", "checked_at", "result_json"},
    )
    db.table("checks").create_index(["host", "checked_at"], index_name="idx_checks_host_time")
    db.table("watchlist").create(
        {"host": str, "target": str, "added_at": str, "added_by": str, "channel": str},
        pk="host",
    )


def _v2_snapshots(db: sqlite_utils.Database) -> None:
    db.table("snapshots").create(
        {
            "id": int,
            "taken_at": str,
            "query": str,
            "total": int,
            "unattributed": int,
            "credits_used": int,
            "requests": int,
            "complete": int,
            "mode": str,
            "knowledge_version": str,
            "meta_json": str,
        },
        pk="id",
        not_null={"taken_at", "query", "total", "complete"},
    )
    db.table("snapshot_countries").create(
        {"snapshot_id": int, "country": str, "count": int},
        pk=("snapshot_id", "country"),
        foreign_keys=[("snapshot_id", "snapshots", "id")],
    )
    db.table("snapshot_builds").create(
        {"snapshot_id": int, "build": str, "country": str, "count": int, "query": str},
        pk=("snapshot_id", "build", "country"),
        foreign_keys=[("snapshot_id", "snapshots", "id")],
    )


def _v3_slack(db: sqlite_utils.Database) -> None:
    db.table("digests").create(
        {
            "channel": str,
            "day": str,
            "status": str,
            "claimed_at": str,
            "claimed_by": str,
            "posted_at": str,
            "message_ts": str,
            "error": str,
        },
        pk=("channel", "day"),
    )
    db.table("audit").create(
        {
            "id": int,
            "at": str,
            "source": str,
            "user_id": str,
            "user_name": str,
            "channel_id": str,
            "command": str,
            "text": str,
            "outcome": str,
        },
        pk="id",
        not_null={"at", "command"},
    )


def _v4_indexes_and_views(db: sqlite_utils.Database) -> None:
    db.table("checks").create_index(["checked_at"], index_name="idx_checks_time")
    db.table("snapshots").create_index(["complete", "taken_at"], index_name="idx_snapshots_complete_time")
    db.table("audit").create_index(["at"], index_name="idx_audit_time")
    # For browsing with Datasette: the newest check of every host.
    db.create_view(
        "latest_checks",
        """SELECT t.host, c.checked_at, c.build, c.product, c.cu, c.update_name, c.eol, c.proxylogon,
                  c.proxyshell, c.proxytoken, c.proxynotshell, c.vulnerable_cves, c.error
           FROM targets t JOIN checks c ON c.id = t.last_check_id""",
    )


def _v5_verdict_sets(db: sqlite_utils.Database) -> None:
    # Per-CVE verdicts depend only on (build, knowledge version): store each set once, not per check.
    db.table("verdict_sets").create(
        {"id": int, "build": str, "knowledge_version": str, "cves_json": str},
        pk="id",
        not_null={"build", "knowledge_version", "cves_json"},
    )
    db.table("verdict_sets").create_index(
        ["build", "knowledge_version"], unique=True, index_name="idx_verdict_sets_key"
    )
    db.table("checks").add_column("verdict_set_id", int)


def _v6_rejudgements(db: sqlite_utils.Database) -> None:
    # A host's latest check judged again under new knowledge, once per (check, knowledge version):
    # the record makes each re-judgement reported from the moment it was made, like a wire change.
    db.table("rejudgements").create(
        {
            "id": int,
            "host": str,
            "check_id": int,
            "build": str,
            "checked_at": str,
            "old_version": str,
            "knowledge_version": str,
            "knowledge_date": str,
            "judged_at": str,
            "changed": int,
            "summary": str,
            "doc_json": str,
        },
        pk="id",
        not_null={"host", "check_id", "knowledge_version", "judged_at", "doc_json"},
    )
    db.table("rejudgements").create_index(
        ["check_id", "knowledge_version"], unique=True, index_name="idx_rejudgements_key"
    )
    db.table("rejudgements").create_index(["judged_at"], index_name="idx_rejudgements_time")


def _v7_exposure_trust(db: sqlite_utils.Database) -> None:
    # Cross-checked region totals with their top organisations/ASNs, deep-mode hosts, calibrations.
    db.table("snapshot_regions").create(
        {"snapshot_id": int, "region": str, "total": int, "by_org_json": str, "by_asn_json": str, "query": str},
        pk=("snapshot_id", "region"),
        foreign_keys=[("snapshot_id", "snapshots", "id")],
    )
    db.table("snapshot_hosts").create(
        {
            "snapshot_id": int,
            "ip": str,
            "port": int,
            "hostnames": str,
            "country": str,
            "asn": str,
            "org": str,
            "build": str,
            "product": str,
            "eol": int,
            "proxylogon": str,
            "proxyshell": str,
            "proxytoken": str,
            "proxynotshell": str,
            "seen_at": str,
        },
        pk=("snapshot_id", "ip"),
        foreign_keys=[("snapshot_id", "snapshots", "id")],
    )
    db.table("calibrations").create({"id": int, "taken_at": str, "result_json": str}, pk="id")


def _v8_job_runs(db: sqlite_utils.Database) -> None:
    # Outcome of each scheduled job and backup, for `exchbot status` (issue 21).
    db.table("job_runs").create(
        {"id": int, "job": str, "started_at": str, "finished_at": str, "ok": int, "detail": str},
        pk="id",
        not_null={"job", "started_at", "finished_at", "ok"},
    )
    db.table("job_runs").create_index(["job", "finished_at"], index_name="idx_job_runs_job_time")


def _v9_forget_refusals(db: sqlite_utils.Database) -> None:
    # Targets the SSRF guard refused (nothing was sent) are not observations of the host and are no
    # longer stored; forget the ones stored before, so changes, the digest and the watch views
    # stop reporting them as "could not be checked".
    db.execute(
        "DELETE FROM checks WHERE reachable = 0 AND build IS NULL "
        "AND (error LIKE 'refused: % resolves to %' OR error LIKE 'resolver returned a non-address %')"
    )
    db.execute(
        "UPDATE targets SET "
        "last_check_id = (SELECT c.id FROM checks c WHERE c.host = targets.host ORDER BY c.checked_at DESC LIMIT 1), "
        "last_checked_at = (SELECT max(c.checked_at) FROM checks c WHERE c.host = targets.host)"
    )


def _v10_undetermined_counts(db: sqlite_utils.Database) -> None:
    # How many CVEs of a verdict set cannot be told (and how many of them are KEV), stored with the
    # set, so history, the watch list and the digest say it as a fresh answer does.
    db.table("verdict_sets").add_column("undetermined_cves", int)
    db.table("verdict_sets").add_column("undetermined_kev", int)
    for set_id, cves_json in db.execute("SELECT id, cves_json FROM verdict_sets").fetchall():
        try:
            cves = json.loads(cves_json)
        except ValueError:
            continue  # unreadable: the counts stay unknown (NULL), the views then say nothing of them
        if not isinstance(cves, list):
            continue
        n, kev = stored_undetermined_counts(cves)
        db.execute("UPDATE verdict_sets SET undetermined_cves = ?, undetermined_kev = ? WHERE id = ?", [n, kev, set_id])


MIGRATIONS: list[Migration] = [
    (1, "targets, checks, watchlist", _v1_checks),
    (2, "exposure snapshots", _v2_snapshots),
    (3, "digest claims and audit trail", _v3_slack),
    (4, "indexes for history/changes and the latest_checks view", _v4_indexes_and_views),
    (5, "per-CVE verdicts stored once per build and knowledge version", _v5_verdict_sets),
    (6, "re-judgements of stored checks under new knowledge", _v6_rejudgements),
    (7, "exposure: region cross-checks, deep-mode hosts, calibrations", _v7_exposure_trust),
    (8, "job runs (watchlist, digest, backup outcomes)", _v8_job_runs),
    (9, "forget SSRF-guard refusals stored as checks (not observations)", _v9_forget_refusals),
    (10, "cannot-tell counts of each verdict set", _v10_undetermined_counts),
]
LATEST = MIGRATIONS[-1][0]


def current_version(db: Sql) -> int:
    row = db.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


class NewerSchema(sqlite3.DatabaseError):
    """The database was written by a newer exchbot. Its schema is not this one's to write to (rows
    without the newer columns' meaning) or to migrate: refused, as restore refuses such a backup."""

    def __init__(self, version: int) -> None:
        super().__init__(
            f"written by a newer exchbot (schema version {version}; this one knows up to {LATEST}): upgrade exchbot"
        )
        self.version = version


def ensure_current(conn: Sql) -> None:
    """Migrate ``conn``'s database to :data:`LATEST` if it is older; refuse it if it is newer."""
    version = current_version(conn)
    if version > LATEST:
        raise NewerSchema(version)
    if version < LATEST:
        migrate(as_database(connection_of(conn)))


def migrate(db: sqlite_utils.Database, upto: int | None = None) -> int:
    """Apply pending migrations (up to ``upto``); return the resulting version."""
    target = LATEST if upto is None else upto
    version = current_version(db)
    if version >= target:  # the usual case: one read, no write transaction per migration
        return version
    if current_version(db) == 0 and "_migrations" not in db.table_names():
        with write_transaction(db):
            db.table("_migrations").create(
                {"version": int, "name": str, "applied_at": str}, pk="version", if_not_exists=True
            )
    for version, name, apply in MIGRATIONS:
        if version > target:
            break
        with write_transaction(db):
            # Re-read inside the lock: another process may have migrated meanwhile.
            if current_version(db) >= version:
                continue
            apply(db)
            db.table("_migrations").insert(
                {"version": version, "name": name, "applied_at": dt.datetime.now(dt.UTC).isoformat()}
            )
            db.execute(f"PRAGMA user_version = {int(version)}")
    return current_version(db)
