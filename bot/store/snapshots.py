"""Stored exposure snapshots: written whole or not at all; only complete ones are read back."""

from __future__ import annotations

import datetime as dt
import json
import logging
from typing import TYPE_CHECKING, Any

from bot.core.exposure_model import BuildCount, Calibration, Host, Ranked, RegionCount, Snapshot
from bot.store.checks import iso
from bot.store.connection import inserted_id, write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

log = logging.getLogger(__name__)

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
        for rc in snap.regions:
            _insert_region(db, sid, rc)
        db.table("snapshot_hosts").insert_all(_host_row(sid, h) for h in snap.hosts)
    return sid


_FAMILY_COLUMNS = {"ProxyLogon": "proxylogon", "ProxyShell": "proxyshell", "ProxyToken": "proxytoken"}
_FAMILY_COLUMNS["ProxyNotShell"] = "proxynotshell"


def _insert_region(db: sqlite_utils.Database, sid: int, rc: RegionCount) -> None:
    db.table("snapshot_regions").insert(
        {
            "snapshot_id": sid,
            "region": rc.region,
            "total": rc.total,
            "by_org_json": json.dumps([list(x) for x in rc.by_org]),
            "by_asn_json": json.dumps([list(x) for x in rc.by_asn]),
            "query": rc.query,
        },
        replace=True,
    )


def save_region(db: sqlite_utils.Database, sid: int, rc: RegionCount) -> None:
    """Add (or replace) one region's cross-check to a stored snapshot."""
    with write_transaction(db):
        _insert_region(db, sid, rc)


def _ranked(text: str | None) -> Ranked:
    try:
        return tuple((str(n), int(c)) for n, c in json.loads(text or "[]"))
    except (ValueError, TypeError):
        return ()


def _regions(db: sqlite_utils.Database, sid: int) -> tuple[RegionCount, ...]:
    return tuple(
        RegionCount(
            region=r["region"],
            total=r["total"],
            by_org=_ranked(r["by_org_json"]),
            by_asn=_ranked(r["by_asn_json"]),
            query=r["query"] or "",
        )
        for r in db.query("SELECT * FROM snapshot_regions WHERE snapshot_id = ? ORDER BY region", [sid])
    )


def _host_row(sid: int, h: Host) -> dict[str, Any]:
    row: dict[str, Any] = {
        "snapshot_id": sid,
        "ip": h.ip,
        "port": h.port,
        "hostnames": json.dumps(list(h.hostnames)),
        "country": h.country,
        "asn": h.asn,
        "org": h.org,
        "build": h.build,
        "product": h.product,
        "eol": None if h.eol is None else int(h.eol),
        "seen_at": h.seen_at,
    }
    for fam, col in _FAMILY_COLUMNS.items():
        row[col] = h.families.get(fam)
    return row


def snapshot_hosts(db: sqlite_utils.Database, sid: int) -> list[Host]:
    """The hosts a deep snapshot stored, by IP."""
    out: list[Host] = []
    for r in db.query("SELECT * FROM snapshot_hosts WHERE snapshot_id = ? ORDER BY ip", [sid]):
        try:
            names = tuple(str(n) for n in json.loads(r["hostnames"] or "[]"))
        except (ValueError, TypeError):  # damaged outside exchbot: the host without its names
            names = ()
        out.append(
            Host(
                ip=r["ip"],
                port=r["port"],
                hostnames=names,
                country=r["country"],
                asn=r["asn"],
                org=r["org"],
                build=r["build"],
                product=r["product"],
                eol=None if r["eol"] is None else bool(r["eol"]),
                families={fam: r[col] for fam, col in _FAMILY_COLUMNS.items() if r[col]},
                seen_at=r["seen_at"],
            )
        )
    return out


def save_calibration(db: sqlite_utils.Database, cal: Calibration) -> int:
    doc = {
        "repeated_filters": cal.repeated_filters,
        "dotted": cal.dotted,
        "facet_cap": cal.facet_cap,
        "old_marker": cal.old_marker,
        "favicon": [list(x) for x in cal.favicon],
        "base_total": cal.base_total,
        "fields_shape": cal.fields_shape,
        "findings": list(cal.findings),
    }
    with write_transaction(db):
        return inserted_id(
            db.table("calibrations").insert({"taken_at": iso(cal.taken_at), "result_json": json.dumps(doc)})
        )


def latest_calibration(db: sqlite_utils.Database) -> Calibration | None:
    rows = list(db.query("SELECT * FROM calibrations ORDER BY taken_at DESC, id DESC LIMIT 1"))
    if not rows:
        return None
    row = rows[0]
    try:
        doc = json.loads(row["result_json"] or "{}")
        cap = doc.get("facet_cap")
        return Calibration(
            taken_at=dt.datetime.fromisoformat(row["taken_at"]),
            repeated_filters=str(doc.get("repeated_filters", "unclear")),
            dotted=str(doc.get("dotted", "unclear")),
            facet_cap=int(cap) if cap is not None else None,
            old_marker=str(doc.get("old_marker", "no data")),
            favicon=_ranked(json.dumps(doc.get("favicon") or [])),
            base_total=int(doc.get("base_total", 0)),
            fields_shape=doc.get("fields_shape"),
            findings=tuple(str(x) for x in doc.get("findings") or []),
            id=row["id"],
        )
    except (ValueError, TypeError, AttributeError):
        return None  # an unreadable calibration is no calibration: defaults and self-checks apply


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
        regions=_regions(db, sid),
    )


_READABLE_META = "(meta_json IS NULL OR CASE WHEN json_valid(meta_json) THEN json_type(meta_json) = 'object' END)"


def _warn_unreadable(db: sqlite_utils.Database) -> None:
    damaged = [r[0] for r in db.execute(f"SELECT id FROM snapshots WHERE complete = 1 AND NOT {_READABLE_META}")]  # noqa: S608
    if damaged:
        log.warning("snapshots %s cannot be read (their JSON is damaged): left out", ", ".join(map(str, damaged)))


def _complete(db: sqlite_utils.Database, condition: str, at: dt.datetime | None, limit: int) -> list[Snapshot]:
    """Complete snapshots, newest first, optionally filtered on ``taken_at`` (one consistent read)."""
    # A snapshot whose meta (its scope, unit and self-check warnings) is no longer a JSON object is
    # left out: read without them it could pass for a world snapshot, or one without warnings.
    sql = f"SELECT * FROM snapshots WHERE complete = 1 AND {_READABLE_META}"  # noqa: S608 - a constant
    params: list[Any] = []
    if at is not None:
        sql += f" AND taken_at {condition} ?"
        params.append(iso(at))
    sql += " ORDER BY taken_at DESC LIMIT ?"
    params.append(limit)
    with db.atomic():
        _warn_unreadable(db)
        return [_load(db, r) for r in list(db.query(sql, params))]


def latest_snapshot(db: sqlite_utils.Database, before: dt.datetime | None = None) -> Snapshot | None:
    """The newest complete snapshot (taken strictly before ``before`` if given)."""
    found = _complete(db, "<", before, 1)
    return found[0] if found else None


def snapshots_between(db: sqlite_utils.Database, since: dt.datetime | None = None, limit: int = 365) -> list[Snapshot]:
    """Complete snapshots, oldest first (for trends and charts)."""
    return list(reversed(_complete(db, ">=", since, limit)))
