"""Stored checks: write a batch atomically, read one host's history, read changes since a time."""

from __future__ import annotations

import datetime as dt
import json
import logging
import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.core.changes import CheckPoint, change_point_ids, group_by_host
from bot.core.counts import undetermined_counts
from bot.core.model import CheckResult
from bot.store.connection import write_transaction

if TYPE_CHECKING:
    import sqlite3

    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

    from bot.store.connection import Sql

log = logging.getLogger(__name__)

# Fixed column list, interpolated into constant SQL below (no user input reaches these strings).
_POINT_COLUMNS = (
    "id, host, checked_at, build, product, cu, update_name, eol, proxylogon, proxyshell, "
    "proxytoken, proxynotshell, reachable, exchange, error, vulnerable_cves, "
    # KEV count: from the result (newer rows carry "kev"), else from the stored per-CVE verdicts.
    # JSON is read only where json_valid says it can be: one damaged row must not fail the query
    # (SQLite raises on malformed JSON), which would take down the history or the digest of all.
    "CASE WHEN build IS NULL THEN NULL WHEN vulnerable_cves = 0 THEN 0 ELSE coalesce("
    "CASE WHEN json_valid(result_json) THEN json_array_length(json_extract(result_json, '$.kev')) END, "
    "(SELECT CASE WHEN json_valid(vs.cves_json) THEN (SELECT count(*) FROM json_each(vs.cves_json) j "
    "WHERE json_extract(j.value, '$.status') = 'vulnerable' AND json_extract(j.value, '$.kev')) END "
    "FROM verdict_sets vs WHERE vs.id = checks.verdict_set_id)) END, "
    # Cannot-tell counts: stored with the verdict set (NULL for checks stored before verdict sets).
    "(SELECT undetermined_cves FROM verdict_sets WHERE id = checks.verdict_set_id), "
    "(SELECT undetermined_kev FROM verdict_sets WHERE id = checks.verdict_set_id), "
    # The update is that of the nearest published build (NULL, not marked, for rows stored before).
    "CASE WHEN json_valid(result_json) THEN json_extract(result_json, '$.update_nearest') END"
)


def iso(t: dt.datetime) -> str:
    """Stored times are UTC ISO-8601 with microseconds, so text order is time order."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat(timespec="microseconds")


def _bool(v: bool | None) -> int | None:
    return None if v is None else int(v)


def _row(
    r: CheckResult, batch_id: str, requested_by: str | None, knowledge_version: str, verdict_set_id: int | None
) -> dict[str, Any]:
    from bot.render.json_out.base import dumps  # loaded by Store.prepare, off the hot path
    from bot.render.json_out.checks import check_dict

    a = r.assessment
    fam = a.families
    if verdict_set_id is not None:
        doc = check_dict(r, cves=False)  # cves stored once in verdict_sets; expand() puts them back
        doc["cves_ref"] = verdict_set_id
        del doc["undetermined_count"], doc["undetermined_kev_count"]  # the set holds them too
    else:
        doc = check_dict(r)
    if not doc["update_nearest"]:
        del doc["update_nearest"]  # the usual case, left out to keep rows small (read back as false)
    return {
        "host": r.host,
        "target": r.target,
        "checked_at": iso(r.checked_at),
        "batch_id": batch_id,
        "reachable": int(r.reachable),
        "exchange": _bool(r.exchange),
        "build": a.build,
        "precision": a.precision,
        "product": a.product,
        "cu": a.cu,
        "update_name": a.update,
        "eol": _bool(a.eol),
        "proxylogon": fam.get("ProxyLogon"),
        "proxyshell": fam.get("ProxyShell"),
        "proxytoken": fam.get("ProxyToken"),
        "proxynotshell": fam.get("ProxyNotShell"),
        "vulnerable_cves": doc["vulnerable_count"],  # the CVEs with status "vulnerable"
        "error": r.error,
        "knowledge_version": a.knowledge_version or knowledge_version,
        "requested_by": requested_by,
        "result_json": dumps(doc, indent=None),
        "verdict_set_id": verdict_set_id,
    }


def _verdict_set(db: Sql, r: CheckResult, cache: dict[tuple[str, str], int]) -> int | None:
    from bot.render.json_out import cves_json

    a = r.assessment
    if not a.cves or a.build is None:
        return None
    key = (a.build, a.knowledge_version or "")
    if key not in cache:
        db.execute(
            "INSERT OR IGNORE INTO verdict_sets (build, knowledge_version, cves_json, undetermined_cves, "
            "undetermined_kev) VALUES (?, ?, ?, ?, ?)",
            [
                key[0],
                key[1],
                cves_json(a.cves),  # known exploited first, as check --json prints it
                *undetermined_counts(a.cves),
            ],
        )
        row = db.execute("SELECT id FROM verdict_sets WHERE build = ? AND knowledge_version = ?", list(key)).fetchone()
        cache[key] = int(row[0])
    return cache[key]


# The columns a stored check fills, in the order of _row (plus target_id): one fixed INSERT statement,
# prepared once by sqlite3's statement cache, instead of sqlite-utils building it (and a savepoint) per row.
_CHECK_COLUMNS = (
    *("host", "target", "checked_at", "batch_id", "reachable", "exchange", "build", "precision", "product", "cu"),
    *("update_name", "eol", "proxylogon", "proxyshell", "proxytoken", "proxynotshell", "vulnerable_cves", "error"),
    *("knowledge_version", "requested_by", "result_json", "verdict_set_id", "target_id"),
)
_INSERT_CHECK = f"INSERT INTO checks ({', '.join(_CHECK_COLUMNS)}) VALUES ({', '.join('?' * len(_CHECK_COLUMNS))})"  # noqa: S608
_INSERT_TARGET = "INSERT INTO targets (host, target, first_seen) VALUES (?, ?, ?)"
_UPDATE_TARGET = (
    "UPDATE targets SET last_checked_at = ?, last_check_id = ?, target = ? WHERE id = ? "
    "AND (last_checked_at IS NULL OR last_checked_at <= ?)"
)
_LOOKUP_CHUNK = 500  # hosts per "IN (...)" query, well under SQLite's limit on bound parameters


def _known_targets(db: Sql, hosts: Sequence[str]) -> dict[str, int]:
    """The target id of each of ``hosts`` already stored: a few queries per batch, not one per row."""
    unique = list(dict.fromkeys(hosts))
    known: dict[str, int] = {}
    for start in range(0, len(unique), _LOOKUP_CHUNK):
        chunk = unique[start : start + _LOOKUP_CHUNK]
        marks = ",".join("?" * len(chunk))
        sql = f"SELECT host, id FROM targets WHERE host IN ({marks})"  # noqa: S608 (placeholders only)
        known.update((str(host), int(tid)) for host, tid in db.execute(sql, chunk).fetchall())
    return known


def save_checks(
    db: Sql,
    results: Sequence[CheckResult],
    *,
    requested_by: str | None = None,
    knowledge_version: str = "",
) -> list[int]:
    """Store a batch in ONE transaction: after a crash either all of it is there or none. Results
    that were not attempted (the SSRF guard refused them) are not observations: never stored."""
    results = [r for r in results if r.attempted]
    if not results:
        return []
    batch_id = uuid.uuid4().hex
    ids: list[int] = []
    sets: dict[tuple[str, str], int] = {}
    with write_transaction(db):
        targets = _known_targets(db, [r.host for r in results])
        for r in results:
            row = _row(r, batch_id, requested_by, knowledge_version, _verdict_set(db, r, sets))
            target_id = targets.get(r.host)
            if target_id is None:
                target_id = _inserted(db.execute(_INSERT_TARGET, [r.host, r.target, row["checked_at"]]), "targets")
                targets[r.host] = target_id
            row["target_id"] = target_id
            check_id = _inserted(db.execute(_INSERT_CHECK, [row[c] for c in _CHECK_COLUMNS]), "checks")
            db.execute(_UPDATE_TARGET, [row["checked_at"], check_id, r.target, target_id, row["checked_at"]])
            ids.append(check_id)
    return ids


def _inserted(cursor: sqlite3.Cursor, table: str) -> int:
    """The rowid of the row ``cursor`` just inserted."""
    if cursor.lastrowid is None:
        raise RuntimeError(f"insert into {table} returned no key")
    return int(cursor.lastrowid)


def _point(row: tuple[Any, ...]) -> CheckPoint:
    (
        cid,
        host,
        checked_at,
        build,
        product,
        cu,
        update,
        eol,
        pl,
        ps,
        pt,
        pns,
        reachable,
        exchange,
        error,
        nv,
        nk,
        nu,
        nuk,
        nearest,
    ) = row
    return CheckPoint(
        host=host,
        checked_at=dt.datetime.fromisoformat(checked_at),
        build=build,
        product=product,
        cu=cu,
        update=update,
        eol=None if eol is None else bool(eol),
        families={
            k: v for k, v in (("ProxyLogon", pl), ("ProxyShell", ps), ("ProxyToken", pt), ("ProxyNotShell", pns)) if v
        },
        reachable=bool(reachable),
        error=error,
        check_id=cid,
        exchange=None if exchange is None else bool(exchange),
        vulnerable_count=None if build is None or nv is None else int(nv),
        kev_count=None if nk is None else int(nk),
        undetermined_count=None if build is None or nu is None else int(nu),
        undetermined_kev=None if build is None or nuk is None else int(nuk),
        update_nearest=nearest == 1,
    )


HISTORY_SQL = f"SELECT {_POINT_COLUMNS} FROM checks WHERE host = ? ORDER BY checked_at DESC LIMIT ?"  # noqa: S608
SINCE_SQL = f"SELECT {_POINT_COLUMNS} FROM checks WHERE checked_at >= ? ORDER BY checked_at"  # noqa: S608
BASELINE_SQL = (
    f"SELECT {_POINT_COLUMNS} FROM checks WHERE host = ? AND checked_at < ? "  # noqa: S608
    "ORDER BY checked_at DESC LIMIT 1"
)
HOST_ALL_SQL = f"SELECT {_POINT_COLUMNS} FROM checks WHERE host = ? ORDER BY checked_at"  # noqa: S608


def history(db: sqlite_utils.Database, host: str, limit: int = 50) -> list[CheckPoint]:
    """Past checks of one host, newest first."""
    return [_point(r) for r in db.execute(HISTORY_SQL, [host, limit]).fetchall()]


def latest_result(db: sqlite_utils.Database, host: str) -> dict[str, Any] | None:
    """The newest stored result of ``host`` as the JSON the CLI printed (cves re-attached)."""
    row = db.execute(
        "SELECT result_json FROM checks WHERE host = ? ORDER BY checked_at DESC LIMIT 1", [host]
    ).fetchone()
    if row is None:
        return None
    doc = read_doc(db, row[0])
    if doc is None:
        log.warning("the newest stored check of %s cannot be read (its JSON is damaged)", host)
    return doc


def read_doc(db: sqlite_utils.Database, text: str) -> dict[str, Any] | None:
    """A stored result document, expanded (:func:`expand`); None when it or its verdict set is no
    longer JSON (a database damaged outside exchbot): the caller goes on without it."""
    try:
        doc = json.loads(text)
        return expand(db, doc) if isinstance(doc, dict) else None
    except ValueError:
        return None


def similar_hosts(db: sqlite_utils.Database, host: str, limit: int = 5) -> list[str]:
    """Stored targets that are ``host`` with a port (or ``host`` without its port), for a hint
    when ``history HOST`` finds nothing."""
    bare = host.rsplit(":", 1)[0] if host.rsplit(":", 1)[-1].isdigit() and not host.endswith("]") else host
    like = bare.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + ":%"
    rows = db.execute(
        "SELECT host FROM targets WHERE (host LIKE ? ESCAPE '\\' OR host = ?) AND host != ? ORDER BY host LIMIT ?",
        [like, bare, host, limit],
    ).fetchall()
    return [str(r[0]) for r in rows]


def expand(db: sqlite_utils.Database, doc: dict[str, Any]) -> dict[str, Any]:
    """A stored result as the JSON the CLI printed: what the row keeps elsewhere (the verdict set's
    CVEs and counts) or leaves out when false (``update_nearest``) put back, in their places."""
    ref = doc.pop("cves_ref", None)
    added: dict[str, Any] = {"update_nearest": doc.get("update_nearest", False)}
    if ref is not None:
        got = db.execute(
            "SELECT cves_json, undetermined_cves, undetermined_kev FROM verdict_sets WHERE id = ?", [ref]
        ).fetchone()
        added["undetermined_count"], added["undetermined_kev_count"] = (got[1], got[2]) if got else (None, None)
        added["cves"] = json.loads(got[0]) if got else []
    after = {"update": ("update_nearest",), "kev": ("undetermined_count", "undetermined_kev_count", "cves")}
    out: dict[str, Any] = {}
    for key, value in doc.items():
        if key not in added:
            out[key] = value
        for extra in after.get(key, ()):
            if extra in added:
                out[extra] = added[extra]
    for key, value in added.items():  # a document without the key it follows (damaged): at the end
        out.setdefault(key, value)
    return out


def points_since(db: sqlite_utils.Database, since: dt.datetime) -> dict[str, list[CheckPoint]]:
    """Every host checked since ``since``: its checks in the window plus the last one before it
    (the baseline to compare with), oldest first. Read in one transaction: a consistent view."""
    with db.atomic():
        window = [_point(r) for r in db.execute(SINCE_SQL, [iso(since)]).fetchall()]
        by_host = group_by_host(window)
        for host, pts in by_host.items():
            base = db.execute(BASELINE_SQL, [host, iso(since)]).fetchone()
            if base is not None:
                pts.insert(0, _point(base))
    return by_host


def prune(db: sqlite_utils.Database, older_than: dt.datetime, *, dry_run: bool = False) -> int:
    """Delete checks older than ``older_than`` except each host's newest and every change point.
    Returns the number of checks deleted (``dry_run``: that would be; nothing is deleted)."""
    deleted = 0
    with write_transaction(db):
        hosts = [
            r[0]
            for r in db.execute("SELECT DISTINCT host FROM checks WHERE checked_at < ?", [iso(older_than)]).fetchall()
        ]
        for host in hosts:
            pts = [_point(r) for r in db.execute(HOST_ALL_SQL, [host]).fetchall()]
            keep = change_point_ids(pts)
            doomed = [
                p.check_id
                for p in pts
                if p.check_id is not None and p.check_id not in keep and p.checked_at < older_than
            ]
            for chunk_start in range(0, 0 if dry_run else len(doomed), 500):
                chunk = doomed[chunk_start : chunk_start + 500]
                marks = ",".join("?" * len(chunk))
                db.execute(f"DELETE FROM checks WHERE id IN ({marks})", chunk)  # noqa: S608 (placeholders only)
            deleted += len(doomed)
    return deleted


def last_check_time(db: sqlite_utils.Database, requested_by: str) -> dt.datetime | None:
    """When checks requested by ``requested_by`` (e.g. the daily watchlist run) were last stored."""
    row = db.execute("SELECT max(checked_at) FROM checks WHERE requested_by = ?", [requested_by]).fetchone()
    return dt.datetime.fromisoformat(row[0]) if row and row[0] else None
