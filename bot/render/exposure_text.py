"""Exposure results as plain text (their JSON is in :mod:`bot.render.json_out`). Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

from bot.core.exposure import ExposureResult
from bot.render.json_out import timestamp

TOP_BUILDS = 15
TOP_NAMES = 5
_REGION_LIST_MAX = 12


def _when(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _delta(n: int | None) -> str:
    if n is None:
        return ""
    return f" ({n:+,})" if n else " (±0)"


def eol_range(r: ExposureResult) -> str:
    """``51 to 55`` (identified ... identified + no build shown) or ``51`` when nothing is hidden."""
    if r.eol_max > r.eol:
        return f"{r.eol:,} to {r.eol_max:,}"
    return f"{r.eol:,}"


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
    lines.append(
        f"  {'pre-2013 or build hidden':<16} {r.unknown_version:>9,}{_delta(c.unknown_version if c else None)}"
    )
    hidden = (
        f" ({r.eol:,} identified; up to {r.eol_max - r.eol:,} more among those without a visible build)"
        if r.eol_max > r.eol
        else ""
    )
    lines += [
        "",
        f"End-of-life: {eol_range(r)}{hidden}{_delta(c.eol if c else None)}",
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
    if r.by_org:
        lines += ["", "Top organisations: " + "; ".join(f"{n} {k:,}" for n, k in r.by_org[:TOP_NAMES])]
    if r.by_asn:
        lines += ["Top ASNs: " + ", ".join(f"{n} {k:,}" for n, k in r.by_asn[:TOP_NAMES])]
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
        f"Data: {r.data_source}, snapshot {timestamp(r.snapshot_at)}. Knowledge base as of "
        f"{r.knowledge_date.isoformat() if r.knowledge_date else 'unknown'}.",
    ]
    return "\n".join(lines)
