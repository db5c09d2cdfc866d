"""``exchbot knowledge`` as text (its JSON: :mod:`bot.render.json_out`). Pure functions of a
:class:`KnowledgeSummary`."""

from __future__ import annotations

from bot.core.knowledge_summary import KnowledgeSummary
from bot.render.text import stale_lines


def knowledge_text(k: KnowledgeSummary) -> str:
    s = k.staleness
    where = "packaged with exchbot" if k.origin == "packaged" else f"EXCHBOT_KNOWLEDGE_DIR {k.origin}"
    kev = (
        f"CISA KEV catalogue of {k.kev_date.isoformat()}, later additions from CISA's entries in the CVE records"
        if k.kev_date
        else "CISA KEV catalogue date unknown"
    )
    out = [
        f"Knowledge as of {s.data_date.isoformat()} ({s.age_days} days old; answers warn from "
        f"{s.warn_from.isoformat()}: the Patch Tuesday of {s.patch_tuesday.isoformat()} "
        f"or after {s.max_age_days} days)",
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
