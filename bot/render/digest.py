"""The daily digest as text and Block Kit (its JSON is in :mod:`bot.render.json_out`). Pure."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.core.changes import HostChange
from bot.core.counts import point_risk_text
from bot.core.digest import Digest, LongUnreachable, RegionTrend
from bot.core.watch import WatchState
from bot.render.blocks import Block, context, escape, header, message, section
from bot.render.digest_sections import SECTIONS
from bot.render.hints import failure_text

LIST_MAX = 15  # lines per section before "... and N more"


def _signed(n: int) -> str:
    return f"{n:+d}" if n else "±0"


def snapshot_name(mode: str, at: object) -> str:
    """``count snapshot of 2026-11-01 08:00 UTC``: which data an answer used."""
    when = at.strftime("%Y-%m-%d %H:%M UTC") if hasattr(at, "strftime") else str(at)
    kind = {"count": "count", "deep": "deep (per-banner)"}.get(mode, mode)
    return f"{kind} snapshot of {when}"


def region_line(t: RegionTrend) -> str:
    r = t.latest
    worst = max(((f, v.get("vulnerable", 0)) for f, v in r.families.items()), key=lambda fv: fv[1], default=("", 0))
    line = f"{r.region}: {r.total:,} {r.unit}; {r.eol:,} end-of-life; {r.at_risk:,} end-of-life or vulnerable"
    if worst[1]:
        line += f" (most often vulnerable to {worst[0]}: {worst[1]:,})"
    line += f"; {snapshot_name(r.mode, r.snapshot_at)}"
    c = t.changes
    if c is not None and t.baseline_at is not None:
        line += (
            f"; since {t.baseline_at:%Y-%m-%d}: total {_signed(c.total)}, end-of-life {_signed(c.eol)}, "
            f"end-of-life or vulnerable {_signed(c.at_risk)}"
        )
    elif c is None:
        line += "; no earlier snapshot to compare"
    return line


def _unit_note(trends: Sequence[RegionTrend]) -> str:
    units = {t.latest.unit for t in trends}
    if units == {"hosts"}:
        return "Data: Shodan; counts are unique hosts (deep snapshots)."
    if units == {"banners"}:
        return "Data: Shodan; counts are banners (services), not unique hosts."
    return "Data: Shodan; count snapshots count banners (services), deep snapshots unique hosts."


def _risk_text(w: WatchState) -> str:
    """Why the host is at risk, from its last verdict, and since when it has not answered, if so."""
    p = w.last_verdict
    parts = list(w.reasons)
    if p is not None and (cves := point_risk_text(p)):
        parts.append(cves)
    if p is not None and w.unreachable_since is not None:
        parts.append(f"unreachable since {w.unreachable_since:%Y-%m-%d}")
    return ", ".join(parts)


def _watch_line(w: WatchState) -> str:
    p = w.last_verdict
    latest = w.latest
    state = (
        p.label()
        if p is not None
        else ("not checked yet" if latest is None else failure_text(latest.error or "no answer", slack=False))
    )
    reasons = _risk_text(w)
    since = f", last change {w.last_change_at:%Y-%m-%d}" if w.last_change_at else ""
    return f"{w.host}: {state}" + (f" [{reasons}]" if reasons else "") + since


def _down_line(u: LongUnreachable) -> str:
    what = "never reachable" if u.never_reachable else "unreachable"
    return f"{u.host}: {what} since {u.since:%Y-%m-%d} ({u.error or 'no answer'})"


def _down_title(d: Digest) -> str:
    return f"Unreachable for {d.unreachable_days} days or more ({len(d.long_unreachable)})"


def _risk_title(d: Digest) -> str:
    never = f"; {d.never_reachable} never reachable" if d.never_reachable else ""
    return f"Still at risk ({len(d.still_at_risk)} of {len(d.watch)} watched{never})"


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
    if d.long_unreachable:
        out.append(_down_title(d) + ":")
        out += [f"  {_down_line(u)}" for u in d.long_unreachable[:LIST_MAX]]
        if len(d.long_unreachable) > LIST_MAX:
            out.append(f"  ... and {len(d.long_unreachable) - LIST_MAX} more")
    risky = d.still_at_risk
    out.append(_risk_title(d) + ":" if d.watch else "Watchlist is empty.")
    out += [f"  {_watch_line(w)}" for w in risky[:LIST_MAX]]
    for t in d.regions:
        out.append(f"Region {region_line(t)}")
    if d.regions:
        out.append(_unit_note(d.regions))
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
    if d.long_unreachable:
        lines = [
            f"• `{escape(u.host)}`: {escape(_down_line(u).split(': ', 1)[1])}" for u in d.long_unreachable[:LIST_MAX]
        ]
        if len(d.long_unreachable) > LIST_MAX:
            lines.append(f"… and {len(d.long_unreachable) - LIST_MAX} more")
        blocks.append(section(f"*{_down_title(d)}*\n" + "\n".join(lines)))
    risky = d.still_at_risk
    if d.watch:
        lines = [f"• `{escape(w.host)}`: {escape(_risk_text(w))}" for w in risky[:LIST_MAX]]
        more = f"\n… and {len(risky) - LIST_MAX} more" if len(risky) > LIST_MAX else ""
        body = "\n".join(lines) + more if risky else "none"
        title, _, rest = _risk_title(d).partition(" (")
        blocks.append(section(f"*{title}* ({rest}\n{body}"))
    else:
        blocks.append(section("The watchlist is empty: `/exchwatch add HOST`."))
    if d.regions:
        blocks.append(section("*Regional exposure*\n" + "\n".join(f"• {escape(region_line(t))}" for t in d.regions)))
        blocks.append(context([escape(_unit_note(d.regions))]))
    if d.knowledge_warning:
        blocks.append(section(f":warning: {escape(d.knowledge_warning)}"))
    return message(escape(digest_text(d)), blocks)
