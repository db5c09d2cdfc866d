"""The daily digest as text and Block Kit (its JSON is in :mod:`bot.render.json_out`). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.changes import HostChange
from bot.core.digest import Digest, RegionTrend
from bot.core.watch import WatchState
from bot.render.blocks import Block, context, escape, header, message, section

SECTIONS: tuple[tuple[str, str], ...] = (
    ("patched", "Patched"),
    ("newly_vulnerable", "Newly vulnerable"),
    ("became_eol", "Became end-of-life"),
    ("build_changed", "Build changed"),
    ("unreachable", "Went unreachable"),
    ("reachable_again", "Reachable again"),
)
LIST_MAX = 15  # lines per section before "... and N more"


def _signed(n: int) -> str:
    return f"{n:+d}" if n else "±0"


def region_line(t: RegionTrend) -> str:
    r = t.latest
    vuln = max((v.get("vulnerable", 0) for v in r.families.values()), default=0)
    line = (
        f"{r.region}: {r.total} {r.unit}, {r.eol} end-of-life, {r.at_risk} at risk "
        f"(largest family: {vuln} certainly vulnerable), snapshot {r.snapshot_at:%Y-%m-%d}"
    )
    c = t.changes
    if c is not None and t.baseline_at is not None:
        line += (
            f"; since {t.baseline_at:%Y-%m-%d}: total {_signed(c.total)}, EOL {_signed(c.eol)}, "
            f"at risk {_signed(c.at_risk)}"
        )
    elif c is None:
        line += "; no earlier snapshot to compare"
    return line


def _watch_line(w: WatchState) -> str:
    p = w.latest
    state = p.label() if p is not None and p.answered else ("not checked yet" if p is None else (p.error or ""))
    reasons = ", ".join(w.reasons)
    since = f", last change {w.last_change_at:%Y-%m-%d}" if w.last_change_at else ""
    return f"{w.host}: {state}" + (f" [{reasons}]" if reasons else "") + since


def digest_text(d: Digest) -> str:
    out = [f"exchbot digest for {d.day:%Y-%m-%d} (changes since {d.since:%Y-%m-%d %H:%M %Z})"]
    if d.all_quiet:
        out.append("All quiet: no watched host and no tracked region changed.")
    for attr, title in SECTIONS:
        items: Sequence[HostChange] = getattr(d, attr)
        if items:
            out.append(f"{title} ({len(items)}):")
            out += [f"  {c.host}: {c.summary}" for c in items[:LIST_MAX]]
            if len(items) > LIST_MAX:
                out.append(f"  ... and {len(items) - LIST_MAX} more")
    if d.rejudged:
        out.append(f"Re-judged with newer knowledge ({len(d.rejudged)}, stored builds, no new check):")
        out += [f"  {r.host}: {r.summary}" for r in d.rejudged[:LIST_MAX]]
        if len(d.rejudged) > LIST_MAX:
            out.append(f"  ... and {len(d.rejudged) - LIST_MAX} more")
    risky = d.still_at_risk
    out.append(f"Still at risk ({len(risky)} of {len(d.watch)} watched):" if d.watch else "Watchlist is empty.")
    out += [f"  {_watch_line(w)}" for w in risky[:LIST_MAX]]
    for t in d.regions:
        out.append(f"Region {region_line(t)}")
    if d.regions:
        out.append("Data: Shodan (counts are banners, not unique hosts).")
    if d.knowledge_warning:
        out.append(f"Warning: {d.knowledge_warning}")
    return "\n".join(out)


def digest_message(d: Digest) -> dict[str, Any]:
    """A chat.postMessage payload: Block Kit with a text fallback, escaped, within limits."""
    blocks: list[Block] = [header(f"Exchange digest {d.day:%Y-%m-%d}")]
    if d.all_quiet:
        blocks.append(
            section(
                ":white_check_mark: *All quiet*: no watched host and no tracked region changed "
                f"since {d.since:%Y-%m-%d %H:%M %Z}."
            )
        )
    for attr, title in SECTIONS:
        items: Sequence[HostChange] = getattr(d, attr)
        if not items:
            continue
        lines = [f"• `{escape(c.host)}`: {escape(c.summary)}" for c in items[:LIST_MAX]]
        if len(items) > LIST_MAX:
            lines.append(f"… and {len(items) - LIST_MAX} more")
        blocks.append(section(f"*{title}* ({len(items)})\n" + "\n".join(lines)))
    if d.rejudged:
        lines = [f"• `{escape(r.host)}`: {escape(r.summary)}" for r in d.rejudged[:LIST_MAX]]
        if len(d.rejudged) > LIST_MAX:
            lines.append(f"… and {len(d.rejudged) - LIST_MAX} more")
        blocks.append(
            section(f"*Re-judged with newer knowledge* ({len(d.rejudged)}, no new check)\n" + "\n".join(lines))
        )
    risky = d.still_at_risk
    if d.watch:
        lines = [f"• `{escape(w.host)}`: {escape(', '.join(w.reasons))}" for w in risky[:LIST_MAX]]
        more = f"\n… and {len(risky) - LIST_MAX} more" if len(risky) > LIST_MAX else ""
        body = "\n".join(lines) + more if risky else "none"
        blocks.append(section(f"*Still at risk* ({len(risky)} of {len(d.watch)} watched)\n{body}"))
    else:
        blocks.append(section("The watchlist is empty: `/exchwatch add HOST`."))
    if d.regions:
        blocks.append(section("*Regional exposure*\n" + "\n".join(f"• {escape(region_line(t))}" for t in d.regions)))
        blocks.append(context(["Data: Shodan; counts are banners (services), not unique hosts."]))
    if d.knowledge_warning:
        blocks.append(section(f":warning: {escape(d.knowledge_warning)}"))
    return message(escape(digest_text(d)), blocks)
