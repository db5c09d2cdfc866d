"""``exchbot knowledge`` as JSON and as text. Pure functions of a :class:`KnowledgeSummary`."""

from __future__ import annotations

from typing import Any

from bot.core.knowledge_summary import KnowledgeSummary
from bot.render.text import stale_lines


def knowledge_dict(k: KnowledgeSummary) -> dict[str, Any]:
    s = k.staleness
    return {
        "date": s.data_date.isoformat(),
        "age_days": s.age_days,
        "max_age_days": s.max_age_days,
        "stale": s.stale,
        "warnings": [s.warning] if s.warning else [],
        "version": k.version,
        "source": k.origin,
        "counts": {"builds": k.builds, "cves": k.cves, "fix_rows": k.fix_rows, "kev_entries": k.kev_entries},
        "kev_catalog_date": k.kev_date.isoformat() if k.kev_date else None,
        "newest_builds": [
            {
                "product": n.product,
                "cu": n.cu,
                "update": n.update,
                "build": n.build,
                "release_date": n.release_date.isoformat(),
            }
            for n in k.newest
        ],
        "sources": [{"id": x.id, "title": x.title, "url": x.url, "as_of": x.as_of or None} for x in k.sources],
    }


def knowledge_text(k: KnowledgeSummary) -> str:
    s = k.staleness
    where = "packaged with exchbot" if k.origin == "packaged" else f"EXCHBOT_KNOWLEDGE_DIR {k.origin}"
    kev = f"CISA KEV catalogue of {k.kev_date.isoformat()}" if k.kev_date else "CISA KEV catalogue date unknown"
    out = [
        f"Knowledge as of {s.data_date.isoformat()} ({s.age_days} days old; warning after {s.max_age_days})",
        f"  data:      {where} (version {k.version})",
        f"  counts:    {k.builds} builds, {k.cves} CVEs, {k.fix_rows} fix rows, "
        f"{k.kev_entries} known exploited ({kev})",
        "  newest build per product:",
    ]
    for n in k.newest:
        upd = "" if n.update == "none" else f" {n.update}"
        out.append(f"    {n.product} {n.cu}{upd}: {n.build} ({n.release_date.isoformat()})")
    out.append("  sources (retrieved):")
    for x in k.sources:
        out.append(f"    {x.id}: {x.as_of or 'date unknown'}")
    out += stale_lines(s.warning)
    return "\n".join(out)
