"""History, changes, the watchlist and the digest: ``exchbot history``, ``changes``, ``watch list``,
``digest``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from bot.render.digest_sections import SECTIONS
from bot.render.json_out.base import iso, timestamp
from bot.render.json_out.exposure import exposure_changes_dict

if TYPE_CHECKING:
    import datetime as dt

    from bot.core.changes import CheckPoint, HostChange
    from bot.core.digest import Digest, RegionTrend
    from bot.core.rejudge import Rejudgement
    from bot.core.watch import WatchState


def point_dict(p: CheckPoint) -> dict[str, Any]:
    """One stored check (``exchbot history --json``)."""
    return {
        "checked_at": timestamp(p.checked_at),
        "build": p.build,
        "product": p.product,
        "cu": p.cu,
        "update": p.update,
        "update_nearest": p.update_nearest,
        "eol": p.eol,
        "families": dict(p.families),
        "vulnerable_count": p.vulnerable_count,
        "kev_count": p.kev_count,
        "undetermined_count": p.undetermined_count,
        "undetermined_kev_count": p.undetermined_kev,
        "reachable": p.reachable,
        "exchange": p.exchange,
        "error": p.error,
    }


def change_dict(c: HostChange) -> dict[str, Any]:
    return {
        "host": c.host,
        "at": timestamp(c.at),
        "kind": c.kind,
        "summary": c.summary,
        "before": c.before,
        "after": c.after,
        "family": c.family,
    }


def _trend_dict(t: RegionTrend) -> dict[str, Any]:
    return {
        "region": t.latest.region,
        "snapshot_at": timestamp(t.latest.snapshot_at),
        "baseline_at": timestamp(t.baseline_at),
        "total": t.latest.total,
        "by_product": dict(t.latest.by_product),
        "eol": t.latest.eol,
        "families": {f: dict(v) for f, v in t.latest.families.items()},
        "changes": exposure_changes_dict(t.changes),
    }


def changes_dict(
    since: dt.datetime,
    hosts: Sequence[HostChange],
    regions: Sequence[RegionTrend],
    rejudged: Sequence[Rejudgement] = (),
    *,
    knowledge_date: dt.date | None = None,
    knowledge_age_days: int | None = None,
    warnings: Sequence[str] = (),
) -> dict[str, Any]:
    """``exchbot changes --json``: {since, knowledge_date, knowledge_age_days, warnings, hosts: [...],
    rejudged: [...], regions: [...]}."""
    return {
        "since": timestamp(since),
        "knowledge_date": iso(knowledge_date),
        "knowledge_age_days": knowledge_age_days,
        "warnings": list(warnings),
        "hosts": [change_dict(c) for c in hosts],
        "rejudged": [rejudged_dict(r) for r in rejudged],
        "regions": [_trend_dict(t) for t in regions],
    }


def rejudged_dict(r: Rejudgement) -> dict[str, Any]:
    """A stored host judged again under new knowledge (no new check)."""
    return {
        "host": r.host,
        "build": r.build,
        "checked_at": timestamp(r.checked_at),
        "judged_at": timestamp(r.judged_at) if r.judged_at else None,
        "knowledge_date": r.knowledge_date.isoformat(),
        "knowledge_version": r.new_version,
        "previous_knowledge_version": r.old_version,
        "summary": r.summary,
        "install": r.install,
        "cves": [
            {
                "id": s.cve_id,
                "kind": s.kind,
                "before": s.before,
                "after": s.after,
                "published": s.published.isoformat() if s.published else None,
                "kev": s.kev,
            }
            for s in r.shifts
        ],
    }


def watch_dict(w: WatchState, rejudged: Rejudgement | None) -> dict[str, Any]:
    """One watched host and its last verdict (``exchbot watch list --json``)."""
    p = w.latest
    v = w.last_verdict
    return {
        "host": w.host,
        "target": w.target,
        "added_at": timestamp(w.added_at),
        "added_by": w.added_by,
        "at_risk": w.at_risk,
        "reachable": w.reachable if p is not None else None,
        "last_checked": timestamp(p.checked_at) if p else None,
        "unreachable_since": timestamp(w.unreachable_since),
        "never_reachable": w.never_reachable,
        "build": v.build if v else None,
        "eol": w.eol,
        "vulnerable_families": list(w.vulnerable_families),
        "vulnerable_count": w.vulnerable_count,
        "kev_count": w.kev_count,
        "undetermined_count": w.undetermined_count,
        "undetermined_kev_count": w.undetermined_kev,
        "latest": (
            {
                "checked_at": timestamp(p.checked_at),
                "build": p.build,
                "eol": p.eol,
                "families": dict(p.families),
                "error": p.error,
                "rejudged": (
                    {"knowledge_date": rejudged.knowledge_date.isoformat(), "summary": rejudged.summary}
                    if rejudged
                    else None
                ),
            }
            if p
            else None
        ),
    }


def digest_dict(d: Digest) -> dict[str, Any]:
    return {
        "day": d.day.isoformat(),
        "since": timestamp(d.since),
        "generated_at": timestamp(d.generated_at),
        "all_quiet": d.all_quiet,
        **{
            attr: [
                {
                    "host": c.host,
                    "at": timestamp(c.at),
                    "kind": c.kind,
                    "summary": c.summary,
                    "family": c.family,
                    "before": c.before,
                    "after": c.after,
                }
                for c in getattr(d, attr)
            ]
            for attr, _ in SECTIONS
        },
        "still_at_risk": [
            {
                "host": w.host,
                "reasons": list(w.reasons),
                "build": w.last_verdict.build if w.last_verdict else None,
                "last_change": timestamp(w.last_change_at),
                "vulnerable_count": w.vulnerable_count,
                "kev_count": w.kev_count,
                "undetermined_count": w.undetermined_count,
                "undetermined_kev_count": w.undetermined_kev,
                "unreachable_since": timestamp(w.unreachable_since),
            }
            for w in d.still_at_risk
        ],
        "watched": len(d.watch),
        "never_reachable": d.never_reachable,
        "unreachable_days": d.unreachable_days,
        "long_unreachable": [
            {"host": u.host, "since": timestamp(u.since), "error": u.error, "never_reachable": u.never_reachable}
            for u in d.long_unreachable
        ],
        "rejudged": [
            {
                "host": r.host,
                "build": r.build,
                "knowledge_date": r.knowledge_date.isoformat(),
                "summary": r.summary,
                "newly_vulnerable": [s.cve_id for s in r.of("newly_vulnerable")],
                "no_longer_vulnerable": [s.cve_id for s in r.of("no_longer_vulnerable")],
            }
            for r in d.rejudged
        ],
        "warnings": [d.knowledge_warning] if d.knowledge_warning else [],
        "regions": [
            {
                "region": t.latest.region,
                "total": t.latest.total,
                "eol": t.latest.eol,
                "at_risk": t.latest.at_risk,
                "snapshot_at": timestamp(t.latest.snapshot_at),
                "mode": t.latest.mode,
                "unit": t.latest.unit,
                "baseline_at": timestamp(t.baseline_at),
                "changes": None
                if t.changes is None
                else {"total": t.changes.total, "eol": t.changes.eol, "at_risk": t.changes.at_risk},
            }
            for t in d.regions
        ],
    }
