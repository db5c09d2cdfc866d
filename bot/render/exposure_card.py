"""The answer to ``/exposure``: totals, EOL and vulnerable counts with their changes (pure)."""

from __future__ import annotations

from collections.abc import Mapping

from bot.core.exposure import ExposureResult
from bot.render.blocks import (
    Block,
    Message,
    code_span,
    context,
    date_text,
    delta_text,
    escape,
    fields_section,
    header,
    limit_blocks,
    message,
    product_name,
    section,
    sections,
    when,
)
from bot.render.digest import snapshot_name
from bot.render.exposure_text import TOP_NAMES, eol_range

# --------------------------------------------------------------------------------------------------
# Exposure card
# --------------------------------------------------------------------------------------------------


def _family_count_line(fam: str, counts: Mapping[str, int], delta: Mapping[str, int] | None) -> str:
    vul, unk = counts.get("vulnerable", 0), counts.get("unknown", 0)
    dv = delta_text(delta.get("vulnerable", 0)) if delta is not None else ""
    du = delta_text(delta.get("unknown", 0)) if delta is not None else ""
    return f"• *{escape(fam)}*: {vul:,}{dv} vulnerable, {unk:,}{du} cannot tell from the build"


def exposure_card(r: ExposureResult, *, warning: str | None = None) -> Message:
    """The answer to ``/exposure``: totals, EOL and vulnerable counts with their changes, per product."""
    c = r.changes
    unit = "hosts" if r.unit == "hosts" else "banners"
    region = escape(r.region)
    countries = ", ".join(escape(x) for x in r.countries[:12]) + (" …" if len(r.countries) > 12 else "")
    blocks: list[Block] = [
        header(f"Exchange exposure: {region}"),
        section(
            f"*{r.total:,}* Exchange {unit} in *{region}* ({len(r.countries)} countr"
            f"{'y' if len(r.countries) == 1 else 'ies'}: {countries})"
            + (
                f"; changes since {when(r.previous_snapshot_at)}"
                if r.previous_snapshot_at
                else "; no earlier snapshot to compare with"
            )
            + f"\n_From the {escape(snapshot_name(r.mode, r.snapshot_at))}"
            + (" (stored, reused)_" if r.reused else " (taken now)_")
        ),
        fields_section(
            [
                f"*Total*\n{r.total:,}{delta_text(c.total if c else None)}",
                f"*End of life*\n{eol_range(r)}{delta_text(c.eol if c else None)}",
                f"*At risk (end of life or vulnerable)*\n{r.at_risk:,}{delta_text(c.at_risk if c else None)}",
                f"*Pre-2013 or no build shown*\n{r.unknown_version:,}{delta_text(c.unknown_version if c else None)}",
                f"*Unattributed* (no country)\n{r.unattributed:,}"
                + (" (included)" if r.unattributed_included else " (not included)"),
            ]
        ),
    ]
    if r.by_country:
        top_countries = sorted(r.by_country.items(), key=lambda kv: (-kv[1], kv[0]))[:8]
        blocks.append(
            section(
                f"*Top countries* ({unit})\n" + " · ".join(f"{escape(code.lower())} {n:,}" for code, n in top_countries)
            )
        )
    fam_lines = [_family_count_line(f, counts, c.families.get(f) if c else None) for f, counts in r.families.items()]
    blocks.extend(sections(fam_lines, title="*Exploit families* (counted from the visible builds)"))
    products = [
        f"• {escape(p)}: {n:,}{delta_text(c.by_product.get(p, 0) if c else None)}" for p, n in r.by_product.items()
    ]
    if c is not None:
        products += [f"• {escape(p)}: 0{delta_text(d)}" for p, d in c.by_product.items() if p not in r.by_product and d]
    if products:
        blocks.extend(sections(products, title="*Per product*"))
    if r.by_build:
        top = [
            f"• {code_span(b.build, 30)} {escape(product_name(b.product, b.cu, None) or 'unknown')}: {b.count:,}"
            + (" · EOL" if b.eol else "")
            for b in r.by_build[:10]
        ]
        blocks.extend(sections(top, title=f"*Top builds* ({min(len(r.by_build), 10)} of {len(r.by_build)})"))
    if r.by_org:
        orgs = [f"• {escape(n)}: {k:,}" for n, k in r.by_org[:TOP_NAMES]]
        blocks.extend(sections(orgs, title=f"*Top organisations* ({min(len(r.by_org), TOP_NAMES)})"))
    if r.by_asn:
        asns = [f"• {escape(n)}: {k:,}" for n, k in r.by_asn[:TOP_NAMES]]
        blocks.extend(sections(asns, title=f"*Top ASNs* ({min(len(r.by_asn), TOP_NAMES)})"))
    shown = [*r.warnings[:5], *([warning] if warning else [])]
    if shown:
        blocks.extend(sections([f"• {escape(w)}" for w in shown], title=":warning: *Warnings*"))
    age = "stored snapshot" if r.reused else "new snapshot"
    blocks.append(
        context(
            [
                f"Data: {escape(r.data_source)} · snapshot {when(r.snapshot_at)} ({age}, {escape(r.mode)} mode) · "
                f"query {code_span(r.query, 200)} · {r.credits_used} query credits used",
                escape(r.note),
                f"Knowledge base as of {date_text(r.knowledge_date)}",
            ]
        )
    )
    text = (
        f"Exchange exposure {region}: {r.total:,} {unit}, {r.eol:,} end of life, "
        f"{r.at_risk:,} at risk (Data: {escape(r.data_source)}, {escape(snapshot_name(r.mode, r.snapshot_at))})"
    )
    return message(text, blocks)


def with_chart_note(card: Message, posted: bool, channel: str) -> Message:
    """The ephemeral card says where the (public) trend chart went, or that it could not be posted."""
    ch = escape(channel)
    note = (
        f":bar_chart: The trend chart was posted in <#{ch}> where everyone in the channel can see it."
        if posted and ch.isalnum()
        else ":warning: The trend chart could not be posted in this channel (is exchbot a member, with files:write?)."
    )
    blocks = [*card["blocks"]]
    blocks.insert(min(2, len(blocks)), section(note))
    return {**card, "blocks": limit_blocks(blocks)}
