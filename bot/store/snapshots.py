"""Stored exposure snapshots: written whole or not at all; only complete ones are read back."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import sqlite_utils

from bot.core.exposure_model import BuildCount, Snapshot
from bot.store.checks import iso
from bot.store.connection import inserted_id, write_transaction

UNATTRIBUTED = ""  # country column value for banners without a country


def save_snapshot(db: sqlite_utils.Database, snap: Snapshot) -> int:
    with write_transaction(db):
        sid = inserted_id(
            db.table("snapshots").insert(
                {
                    "taken_at": iso(snap.taken_at),
                    "query": snap.query,
                    "total": snap.total,
                    "unattributed": snap.unattributed,
                    "credits_used": snap.credits_used,
                    "requests": snap.requests,
                    "complete": int(snap.complete),
                    "mode": snap.mode,
                    "knowledge_version": snap.knowledge_version,
                    "meta_json": json.dumps(dict(snap.meta)),
                }
            )
        )
        db.table("snapshot_countries").insert_all(
            {"snapshot_id": sid, "country": c, "count": n} for c, n in snap.countries.items()
        )
        rows: list[dict[str, Any]] = []
        for b in snap.builds:
            rows.extend(
                {"snapshot_id": sid, "build": b.build, "country": c, "count": n, "query": b.query}
                for c, n in b.countries.items()
            )
            rows.append(
                {
                    "snapshot_id": sid,
                    "build": b.build,
                    "country": UNATTRIBUTED,
                    "count": b.unattributed,
                    "query": b.query,
                }
            )
        db.table("snapshot_builds").insert_all(rows)
    return sid


def _load(db: sqlite_utils.Database, row: dict[str, Any]) -> Snapshot:
    sid = row["id"]
    countries = {
        r["country"]: r["count"]
        for r in db.query("SELECT country, count FROM snapshot_countries WHERE snapshot_id = ?", [sid])
    }
    per_build: dict[str, dict[str, Any]] = {}
    for r in db.query("SELECT build, country, count, query FROM snapshot_builds WHERE snapshot_id = ?", [sid]):
        entry = per_build.setdefault(r["build"], {"countries": {}, "unattributed": 0, "query": r["query"]})
        if r["country"] == UNATTRIBUTED:
            entry["unattributed"] = r["count"]
        else:
            entry["countries"][r["country"]] = r["count"]
    builds = tuple(
        BuildCount(
            build=b,
            total=sum(e["countries"].values()) + e["unattributed"],
            countries=e["countries"],
            unattributed=e["unattributed"],
            query=e["query"] or "",
        )
        for b, e in sorted(per_build.items())
    )
    return Snapshot(
        taken_at=dt.datetime.fromisoformat(row["taken_at"]),
        query=row["query"],
        total=row["total"],
        countries=countries,
        unattributed=row["unattributed"],
        builds=builds,
        credits_used=row["credits_used"],
        requests=row["requests"] or 0,
        complete=bool(row["complete"]),
        knowledge_version=row["knowledge_version"] or "",
        mode=row["mode"] or "count",
        id=sid,
        meta=json.loads(row["meta_json"] or "{}"),
    )


def _complete(db: sqlite_utils.Database, condition: str, at: dt.datetime | None, limit: int) -> list[Snapshot]:
    """Complete snapshots, newest first, optionally filtered on ``taken_at`` (one consistent read)."""
    sql = "SELECT * FROM snapshots WHERE complete = 1"
    params: list[Any] = []
    if at is not None:
        sql += f" AND taken_at {condition} ?"
        params.append(iso(at))
    sql += " ORDER BY taken_at DESC LIMIT ?"
    params.append(limit)
    with db.atomic():
        return [_load(db, r) for r in list(db.query(sql, params))]


def latest_snapshot(db: sqlite_utils.Database, before: dt.datetime | None = None) -> Snapshot | None:
    """The newest complete snapshot (taken strictly before ``before`` if given)."""
    found = _complete(db, "<", before, 1)
    return found[0] if found else None


def snapshots_between(db: sqlite_utils.Database, since: dt.datetime | None = None, limit: int = 365) -> list[Snapshot]:
    """Complete snapshots, oldest first (for trends and charts)."""
    return list(reversed(_complete(db, ">=", since, limit)))
