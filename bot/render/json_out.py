"""Every JSON shape exchbot prints, in one place (the CLI/JSON contract in docs/ARCHITECTURE.md).

Pure functions of results. One timestamp format everywhere: UTC, ISO 8601, ending in ``Z``
(``2026-11-02T08:15:00Z``); calendar dates are plain ``YYYY-MM-DD``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from bot.core.changes import CheckPoint, HostChange
from bot.core.counts import kev_first, kev_ids, vulnerable_counts
from bot.core.digest import Digest, RegionTrend
from bot.core.exposure import BuildExposure, ExposureChanges, ExposureResult
from bot.core.model import Assessment, CheckResult, CveVerdict
from bot.core.rejudge import Rejudgement
from bot.render.digest import SECTIONS


def timestamp(t: dt.datetime | None) -> str | None:
    """A point in time as UTC ending in ``Z`` (a naive time is taken to be UTC already)."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


class WatchedEntry(Protocol):
    """A watchlist entry as the store reads it."""

    @property
    def host(self) -> str: ...
    @property
    def target(self) -> str: ...
    @property
    def added_at(self) -> dt.datetime: ...
    @property
    def added_by(self) -> str | None: ...


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    if isinstance(value, dt.datetime):
        return timestamp(value)
    return value.isoformat() if value is not None else None


def cve_dict(v: CveVerdict) -> dict[str, Any]:
    return {
        "id": v.id,
        "family": v.family,
        "status": v.status,
        "fixed_in": v.fixed_in,
        "kev": v.kev,
        "config_dependent": v.config_dependent,
        "reason": v.reason,
    }


def assessment_dict(a: Assessment) -> dict[str, Any]:
    return {
        "input": a.input,
        "build": a.build,
        "precision": a.precision,
        "product": a.product,
        "cu": a.cu,
        "update": a.update,
        "release_date": _iso(a.release_date),
        "eol": a.eol,
        "eol_date": _iso(a.eol_date),
        "esu": a.esu,
        "families": dict(a.families),
        "vulnerable_count": vulnerable_counts(a)[0],
        "kev": kev_ids(a),  # the vulnerable CVEs that are known exploited (CISA KEV)
        "cves": [cve_dict(v) for v in kev_first(a.cves)],  # known exploited first
        "advice": a.advice,
        "install": a.install,
        "notes": list(a.notes),
        "knowledge_date": _iso(a.knowledge_date),
        "knowledge_version": a.knowledge_version,
        "knowledge_age_days": a.knowledge_age_days,
        "kev_catalog_date": _iso(a.kev_date),
        "error": a.error,
    }


def check_dict(r: CheckResult) -> dict[str, Any]:
    """The assessment plus what the live check saw (the "check result" of the JSON contract)."""
    d = assessment_dict(r.assessment)
    d.update(
        {
            "target": r.target,
            "host": r.host,
            "address": r.address,
            "reachable": r.reachable,
            "exchange": r.exchange,
            "evidence": [{"signal": e.signal, "url": e.url, "value": e.value} for e in r.evidence],
            "warnings": list(r.warnings),
            "checked_at": _iso(r.checked_at),
        }
    )
    if r.error is not None:
        d["error"] = r.error
    return d


# -- exposure -------------------------------------------------------------------------------------


def exposure_changes_dict(c: ExposureChanges | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "total": c.total,
        "by_product": dict(c.by_product),
        "eol": c.eol,
        "families": {f: dict(v) for f, v in c.families.items()},
        "unattributed": c.unattributed,
        "unknown_version": c.unknown_version,
        "at_risk": c.at_risk,
    }


def _build_dict(b: BuildExposure) -> dict[str, Any]:
    return {
        "build": b.build,
        "count": b.count,
        "precision": b.precision,
        "product": b.product,
        "cu": b.cu,
        "eol": b.eol,
        "families": dict(b.families),
    }


def exposure_dict(r: ExposureResult) -> dict[str, Any]:
    """The "exposure result" of the JSON contract, contract keys first."""
    return {
        "region": r.region,
        "countries": list(r.countries),
        "snapshot_at": timestamp(r.snapshot_at),
        "query": r.query,
        "total": r.total,
        "by_product": dict(r.by_product),
        "eol": r.eol,
        "families": {f: dict(v) for f, v in r.families.items()},
        "credits_used": r.credits_used,
        "unattributed": r.unattributed,
        "previous_snapshot_at": timestamp(r.previous_snapshot_at),
        "changes": exposure_changes_dict(r.changes),
        "unknown_version": r.unknown_version,
        "at_risk": r.at_risk,
        "unattributed_included": r.unattributed_included,
        "by_country": dict(r.by_country),
        "by_build": [_build_dict(b) for b in r.by_build],
        "mode": r.mode,
        "unit": r.unit,
        "note": r.note,
        "data_source": r.data_source,
        "reused_snapshot": r.reused,
        "snapshot_id": r.snapshot_id,
        "snapshot_credits": r.snapshot_credits,
        "requests": r.requests,
        "builds_counted": r.builds_counted,
        "knowledge_version": r.knowledge_version,
        "knowledge_date": _iso(r.knowledge_date),
        "warnings": list(r.warnings),
        "eol_max": r.eol_max,
        "pre2013_or_build_hidden": r.unknown_version,
        "by_org": ranked_list(r.by_org),
        "by_asn": ranked_list(r.by_asn),
        "total_checked": r.total_checked,
    }


def ranked_list(pairs: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    """``[{"name": ..., "count": ...}]``, largest count first."""
    return [{"name": n, "count": c} for n, c in sorted(pairs, key=lambda kv: (-kv[1], kv[0]))]


# -- history, changes, watchlist ------------------------------------------------------------------


def point_dict(p: CheckPoint) -> dict[str, Any]:
    """One stored check (``exchbot history --json``)."""
    return {
        "checked_at": timestamp(p.checked_at),
        "build": p.build,
        "product": p.product,
        "cu": p.cu,
        "update": p.update,
        "eol": p.eol,
        "families": dict(p.families),
        "vulnerable_count": p.vulnerable_count,
        "kev_count": p.kev_count,
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
        "knowledge_date": _iso(knowledge_date),
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


def watched_dict(w: WatchedEntry, latest: CheckPoint | None, rejudged: Rejudgement | None = None) -> dict[str, Any]:
    """One watched host with its newest stored check (``exchbot watch list --json``)."""
    return {
        "host": w.host,
        "target": w.target,
        "added_at": timestamp(w.added_at),
        "added_by": w.added_by,
        "latest": (
            {
                "checked_at": timestamp(latest.checked_at),
                "build": latest.build,
                "eol": latest.eol,
                "families": dict(latest.families),
                "vulnerable_count": latest.vulnerable_count,
                "kev_count": latest.kev_count,
                "error": latest.error,
                "rejudged": (
                    {"knowledge_date": rejudged.knowledge_date.isoformat(), "summary": rejudged.summary}
                    if rejudged is not None
                    else None
                ),
            }
            if latest is not None
            else None
        ),
    }


# -- digest ---------------------------------------------------------------------------------------


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
                "build": w.latest.build if w.latest else None,
                "last_change": timestamp(w.last_change_at),
                "vulnerable_count": w.latest.vulnerable_count if w.latest else None,
                "kev_count": w.latest.kev_count if w.latest else None,
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


# -- encoding -------------------------------------------------------------------------------------


def default(obj: object) -> Any:
    """``json.dumps`` hook: dates, dataclasses, tuples and mappings."""
    if isinstance(obj, dt.date | dt.datetime):
        return _iso(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(value: object, *, indent: int | None = 2) -> str:
    return json.dumps(value, default=default, indent=indent, ensure_ascii=False)
