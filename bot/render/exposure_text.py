"""Exposure results as plain text and as JSON-ready dictionaries. Pure functions of the result."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

from bot.core.exposure import BuildExposure, ExposureChanges, ExposureResult

TOP_BUILDS = 15
_REGION_LIST_MAX = 12


def _iso(t: dt.datetime | None) -> str | None:
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def _when(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _delta(n: int | None) -> str:
    if n is None:
        return ""
    return f" ({n:+,})" if n else " (±0)"


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
    """The JSON object of DESIGN.md section 3 ("Exposure result"), contract keys first."""
    return {
        "region": r.region,
        "countries": list(r.countries),
        "snapshot_at": _iso(r.snapshot_at),
        "query": r.query,
        "total": r.total,
        "by_product": dict(r.by_product),
        "eol": r.eol,
        "families": {f: dict(v) for f, v in r.families.items()},
        "credits_used": r.credits_used,
        "unattributed": r.unattributed,
        "previous_snapshot_at": _iso(r.previous_snapshot_at),
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
        "knowledge_date": r.knowledge_date.isoformat() if r.knowledge_date else None,
        "warnings": list(r.warnings),
    }


def _region_label(r: ExposureResult) -> str:
    n = len(r.countries)
    if n <= _REGION_LIST_MAX and r.region.replace(",", "").upper() != "".join(r.countries):
        return f"{r.region} ({', '.join(r.countries)})"
    return f"{r.region} ({n} countr{'y' if n == 1 else 'ies'})"


def _family_line(name: str, counts: Mapping[str, int], delta: Mapping[str, int] | None) -> str:
    vul = f"{counts.get('vulnerable', 0):,}" + (_delta(delta.get("vulnerable", 0)) if delta is not None else "")
    unk = f"{counts.get('unknown', 0):,}" + (_delta(delta.get("unknown", 0)) if delta is not None else "")
    return f"  {name:<14} {vul:>22} {unk:>22}"


def exposure_text(r: ExposureResult) -> str:
    c = r.changes
    unit = "hosts" if r.unit == "hosts" else "banners"
    age = "stored snapshot, reused" if r.reused else "new snapshot"
    lines = [
        f"Exchange exposure: {_region_label(r)}",
        f"Snapshot {_when(r.snapshot_at)} ({age}, {r.mode} mode)"
        + (f"; changes since {_when(r.previous_snapshot_at)}" if r.previous_snapshot_at else "; no earlier snapshot"),
        "",
        f"Total: {r.total:,} {unit}{_delta(c.total if c else None)}",
    ]
    for product, n in r.by_product.items():
        lines.append(f"  {product:<16} {n:>9,}{_delta(c.by_product.get(product, 0) if c else None)}")
    if c is not None:
        for product, d in c.by_product.items():
            if product not in r.by_product and d:
                lines.append(f"  {product:<16} {0:>9,}{_delta(d)}")
    lines.append(f"  {'no build shown':<16} {r.unknown_version:>9,}{_delta(c.unknown_version if c else None)}")
    lines += [
        "",
        f"End-of-life: {r.eol:,}{_delta(c.eol if c else None)}",
        f"At risk (end of life or vulnerable to a named family): {r.at_risk:,}{_delta(c.at_risk if c else None)}",
        "",
        f"  {'family':<14} {'vulnerable':>22} {'cannot tell':>22}",
    ]
    for fam, counts in r.families.items():
        lines.append(_family_line(fam, counts, c.families.get(fam) if c else None))
    lines.append('  ("cannot tell": the build seen names only the CU, or the update level leaves it open)')
    if r.by_build:
        lines += ["", f"Top builds ({min(len(r.by_build), TOP_BUILDS)} of {len(r.by_build)}):"]
        for b in r.by_build[:TOP_BUILDS]:
            name = " ".join(x for x in (b.product, b.cu) if x) or "unknown"
            eol = "  EOL" if b.eol else ""
            lines.append(f"  {b.build:<15} {name:<22} {b.count:>9,}{eol}")
    if r.by_country and len(r.by_country) > 1:
        top = sorted(r.by_country.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
        lines += ["", "Top countries: " + ", ".join(f"{k} {v:,}" for k, v in top)]
    included = "included in the total" if r.unattributed_included else f"not included in {r.region}"
    lines += [
        "",
        f"Unattributed (Shodan gave no country): {r.unattributed:,}, {included}.",
        r.note,
    ]
    lines += [f"Warning: {w}" for w in r.warnings]
    paths = f" + one count per known OWA build path ({r.builds_counted})" if r.builds_counted else ""
    lines += [
        f"Query: {r.query}{paths if r.mode == 'count' else ' (banners downloaded)'}",
        f"Query credits used by this run: {r.credits_used}"
        + (" (count mode: Shodan count() with facets is free)" if r.mode == "count" else "")
        + f"; the snapshot took {r.requests} requests.",
        f"Data: {r.data_source}, snapshot {_iso(r.snapshot_at)}. Knowledge base as of "
        f"{r.knowledge_date.isoformat() if r.knowledge_date else 'unknown'}.",
    ]
    return "\n".join(lines)
