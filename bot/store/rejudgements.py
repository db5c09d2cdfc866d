"""Re-judgements: which latest checks still need judging under the knowledge in use, and the
re-judgements made (one per check and knowledge version)."""

from __future__ import annotations

import datetime as dt
import json
import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bot.core.rejudge import CveShift, Rejudgement
from bot.store.checks import iso, read_doc
from bot.store.connection import write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Pending:
    """A host whose latest check was judged under other knowledge, with the verdicts to compare to."""

    host: str
    check_id: int
    build: str
    checked_at: dt.datetime
    old_version: str
    statuses: dict[str, str]  # per CVE: the newest judgement so far (check or earlier re-judgement)


_PENDING_SQL = """
SELECT c.id, c.host, c.build, c.checked_at, COALESCE(c.knowledge_version, ''), c.result_json
FROM targets t JOIN checks c ON c.id = t.last_check_id
WHERE c.build IS NOT NULL AND c.error IS NULL AND COALESCE(c.knowledge_version, '') != ?
  AND NOT EXISTS (SELECT 1 FROM rejudgements r WHERE r.check_id = c.id AND r.knowledge_version = ?)
ORDER BY c.host
"""


def pending(db: sqlite_utils.Database, version: str) -> list[Pending]:
    out: list[Pending] = []
    with db.atomic():
        for cid, host, build, checked_at, old_version, result_json in db.execute(_PENDING_SQL, [version, version]):
            last = _newest_statuses(db, int(cid), host)
            if last is not None:
                old_version, statuses = last
            else:
                doc = read_doc(db, result_json)
                if doc is None:  # its verdicts cannot be read: nothing to compare a new judgement with
                    log.warning("the newest stored check of %s cannot be read (its JSON is damaged)", host)
                    continue
                cves = doc.get("cves")
                statuses = {
                    str(c.get("id")): str(c.get("status"))
                    for c in (cves if isinstance(cves, list) else [])
                    if isinstance(c, dict)
                }
            out.append(Pending(host, int(cid), build, dt.datetime.fromisoformat(checked_at), old_version, statuses))
    return out


def _read(doc_json: str | None) -> dict[str, Any] | None:
    """A re-judgement's document; None when it is no longer JSON (a database damaged outside exchbot)."""
    try:
        doc = json.loads(doc_json or "")
    except ValueError:
        return None
    return doc if isinstance(doc, dict) else None


def _newest_statuses(db: sqlite_utils.Database, check_id: int, host: str) -> tuple[str, dict[str, str]] | None:
    """The knowledge version and per-CVE statuses of the newest readable re-judgement of a check;
    None if it has none. A damaged one is passed over for the one before it (and logged)."""
    rows = db.execute(
        "SELECT knowledge_version, doc_json FROM rejudgements WHERE check_id = ? ORDER BY id DESC", [check_id]
    ).fetchall()
    for version, doc_json in rows:
        doc = _read(doc_json)
        statuses = doc.get("statuses") if doc is not None else None
        if isinstance(statuses, dict):
            return version, {str(k): str(v) for k, v in statuses.items()}
        log.warning("a re-judgement of %s under %s cannot be read (its JSON is damaged)", host, version)
    return None


def _doc(r: Rejudgement) -> dict[str, Any]:
    return {
        "statuses": dict(r.statuses),
        "install": r.install,
        "shifts": [
            {
                "cve_id": s.cve_id,
                "before": s.before,
                "after": s.after,
                "published": s.published.isoformat() if s.published else None,
                "kev": s.kev,
            }
            for s in r.shifts
        ],
    }


def record(db: sqlite_utils.Database, items: list[Rejudgement], at: dt.datetime) -> None:
    if not items:
        return
    with write_transaction(db):
        for r in items:
            db.execute(
                "INSERT OR IGNORE INTO rejudgements (host, check_id, build, checked_at, old_version, "
                "knowledge_version, knowledge_date, judged_at, changed, summary, doc_json) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [
                    r.host,
                    r.check_id,
                    r.build,
                    iso(r.checked_at),
                    r.old_version,
                    r.new_version,
                    r.knowledge_date.isoformat(),
                    iso(at),
                    int(r.changed),
                    r.summary,
                    json.dumps(_doc(r)),
                ],
            )


_COLUMNS = "host, check_id, build, checked_at, old_version, knowledge_version, knowledge_date, judged_at, doc_json"


def _load(row: tuple[Any, ...]) -> Rejudgement | None:
    """One stored re-judgement; None (logged) when its document cannot be read."""
    host, version, doc_json = row[0], row[5], row[8]
    try:
        return _from_doc(row, _read(doc_json))
    except (TypeError, ValueError, KeyError, AttributeError):
        log.warning("a re-judgement of %s under %s cannot be read (its JSON is damaged): left out", host, version)
        return None


def _from_doc(row: tuple[Any, ...], doc: dict[str, Any] | None) -> Rejudgement:
    host, check_id, build, checked_at, old_version, version, kdate, judged_at = row[:8]
    if doc is None:
        raise ValueError("not a JSON object")
    shifts = tuple(
        CveShift(
            s["cve_id"],
            s.get("before"),
            s["after"],
            dt.date.fromisoformat(s["published"]) if s.get("published") else None,
            bool(s.get("kev")),
        )
        for s in doc.get("shifts", [])
    )
    return Rejudgement(
        host=host,
        check_id=int(check_id),
        build=build,
        checked_at=dt.datetime.fromisoformat(checked_at),
        old_version=old_version,
        new_version=version,
        knowledge_date=dt.date.fromisoformat(kdate),
        statuses=dict(doc.get("statuses", {})),
        shifts=shifts,
        install=doc.get("install"),
        judged_at=dt.datetime.fromisoformat(judged_at),
    )


def changed_since(db: sqlite_utils.Database, since: dt.datetime) -> list[Rejudgement]:
    """Re-judgements that changed a verdict, made at or after ``since``, by host then time."""
    sql = f"SELECT {_COLUMNS} FROM rejudgements WHERE changed = 1 AND judged_at >= ? ORDER BY host, id"  # noqa: S608
    return [j for r in db.execute(sql, [iso(since)]).fetchall() if (j := _load(r)) is not None]


def latest_for_check(db: sqlite_utils.Database, check_id: int) -> Rejudgement | None:
    """The newest re-judgement of one check that changed a verdict (None if none did)."""
    sql = f"SELECT {_COLUMNS} FROM rejudgements WHERE check_id = ? AND changed = 1 ORDER BY id DESC LIMIT 1"  # noqa: S608
    row = db.execute(sql, [check_id]).fetchone()
    return _load(row) if row else None  # a damaged newest one is not replaced by an older one: it was newer
