"""Reference storing of a batch of checks: the whole result rendered, then its cves dropped; one
sqlite-utils insert (with its savepoint) and one target lookup per row (as bot.store.checks did
before it used fixed statements and one lookup per batch)."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.core.counts import kev_first
from bot.core.model import CheckResult
from bot.store.checks import _bool, iso
from bot.store.connection import inserted_id, write_transaction
from tests.reference.render_json import check_dict, cve_dict, dumps

if TYPE_CHECKING:
    import sqlite_utils


def _row(
    r: CheckResult, batch_id: str, requested_by: str | None, knowledge_version: str, verdict_set_id: int | None
) -> dict[str, Any]:
    a = r.assessment
    fam = a.families
    doc = check_dict(r)
    if verdict_set_id is not None:
        doc.pop("cves")
        doc["cves_ref"] = verdict_set_id
        doc.pop("undetermined_count")
        doc.pop("undetermined_kev_count")
    if doc["update_nearest"] is False:
        doc.pop("update_nearest")
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
        "vulnerable_cves": sum(1 for v in a.cves if v.status == "vulnerable"),
        "error": r.error,
        "knowledge_version": a.knowledge_version or knowledge_version,
        "requested_by": requested_by,
        "result_json": dumps(doc, indent=None),
        "verdict_set_id": verdict_set_id,
    }


def _verdict_set(db: sqlite_utils.Database, r: CheckResult, cache: dict[tuple[str, str], int]) -> int | None:
    a = r.assessment
    if not a.cves or a.build is None:
        return None
    key = (a.build, a.knowledge_version or "")
    if key not in cache:
        docs = [cve_dict(v) for v in kev_first(a.cves)]
        # cannot tell: unknown, and not because it depends on the server's configuration
        unsure = [d for d in docs if d["status"] == "unknown" and not d["config_dependent"]]
        db.execute(
            "INSERT OR IGNORE INTO verdict_sets (build, knowledge_version, cves_json, undetermined_cves, "
            "undetermined_kev) VALUES (?, ?, ?, ?, ?)",
            [key[0], key[1], dumps(docs, indent=None), len(unsure), sum(1 for d in unsure if d["kev"])],
        )
        row = db.execute("SELECT id FROM verdict_sets WHERE build = ? AND knowledge_version = ?", list(key)).fetchone()
        cache[key] = int(row[0])
    return cache[key]


def save_checks(
    db: sqlite_utils.Database,
    results: Sequence[CheckResult],
    *,
    requested_by: str | None = None,
    knowledge_version: str = "",
) -> list[int]:
    results = [r for r in results if r.attempted]
    if not results:
        return []
    batch_id = uuid.uuid4().hex
    ids: list[int] = []
    sets: dict[tuple[str, str], int] = {}
    with write_transaction(db):
        for r in results:
            row = _row(r, batch_id, requested_by, knowledge_version, _verdict_set(db, r, sets))
            target = db.execute("SELECT id, first_seen FROM targets WHERE host = ?", [r.host]).fetchone()
            if target is None:
                target_id = inserted_id(
                    db.table("targets").insert({"host": r.host, "target": r.target, "first_seen": row["checked_at"]})
                )
            else:
                target_id = target[0]
            row["target_id"] = target_id
            check_id = inserted_id(db.table("checks").insert(row))
            db.execute(
                "UPDATE targets SET last_checked_at = ?, last_check_id = ?, target = ? WHERE id = ? "
                "AND (last_checked_at IS NULL OR last_checked_at <= ?)",
                [row["checked_at"], check_id, r.target, target_id, row["checked_at"]],
            )
            ids.append(check_id)
    return ids
