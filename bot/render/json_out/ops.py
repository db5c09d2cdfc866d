"""Operations: ``exchbot status``, ``knowledge``, ``backup``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.render.json_out.base import iso, timestamp

if TYPE_CHECKING:
    from bot.core.knowledge_summary import KnowledgeSummary
    from bot.services.status import Outcome, Status
    from bot.store.dbfile import DbInfo


def _outcome_dict(o: Outcome | None) -> dict[str, Any] | None:
    if o is None:
        return None
    return {"at": timestamp(o.at), "ok": o.ok, "detail": o.detail}


def status_dict(s: Status) -> dict[str, Any]:
    """``exchbot status --json``."""
    return {
        "healthy": s.healthy,
        "problems": list(s.problems),
        "db": {
            "path": str(s.db_path),
            "exists": s.db_exists,
            "writable": s.writable,
            "schema_version": s.schema_version,
            "schema_expected": s.schema_expected,
        },
        "counts": s.counts.as_dict() if s.counts is not None else None,
        "knowledge_date": iso(s.knowledge_date),
        "knowledge_age_days": s.knowledge_age_days,
        "knowledge_warn_from": iso(s.knowledge_warn_from),
        "knowledge_warnings": [s.knowledge_warning] if s.knowledge_warning else [],
        "knowledge_version": s.knowledge_version,
        "last_watchlist_run": _outcome_dict(s.last_watchlist_run),
        "last_digest": _outcome_dict(s.last_digest),
        "last_backup": _outcome_dict(s.last_backup),
        "backup_dir": str(s.backup_dir) if s.backup_dir is not None else None,
        "backups_in_dir": s.backups_in_dir,
    }


def knowledge_dict(k: KnowledgeSummary) -> dict[str, Any]:
    """``exchbot knowledge --json``."""
    s = k.staleness
    return {
        "date": iso(s.data_date),
        "age_days": s.age_days,
        "max_age_days": s.max_age_days,
        "patch_tuesday": iso(s.patch_tuesday),
        "warn_from": iso(s.warn_from),
        "stale": s.stale,
        "warnings": [s.warning] if s.warning else [],
        "version": k.version,
        "source": k.origin,
        "counts": {"builds": k.builds, "cves": k.cves, "fix_rows": k.fix_rows, "kev_entries": k.kev_entries},
        "kev_catalog_date": iso(k.kev_date),
        "newest_builds": [
            {
                "product": n.product,
                "cu": n.cu,
                "update": n.update,
                "build": n.build,
                "release_date": iso(n.release_date),
            }
            for n in k.newest
        ],
        "sources": [{"id": x.id, "title": x.title, "url": x.url, "as_of": x.as_of or None} for x in k.sources],
    }


def backup_dict(info: DbInfo, source: str) -> dict[str, Any]:
    """``exchbot backup --json``: the copy written, and the database it was copied from."""
    return {
        "path": str(info.path),
        "bytes": info.size,
        "schema_version": info.schema_version,
        "integrity": info.integrity,
        "counts": info.counts.as_dict(),
        "source": source,
    }
