"""The watchlist as a message and as the App Home view (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint
from bot.core.watch import WatchState
from bot.render.blocks import (
    MAX_HOME_BLOCKS,
    Block,
    Message,
    change_summary,
    context,
    date_text,
    divider,
    escape,
    header,
    limit_blocks,
    message,
    section,
    sections,
    when,
)

# --------------------------------------------------------------------------------------------------
# Watchlist (message and App Home)
# --------------------------------------------------------------------------------------------------


def point_verdict(p: CheckPoint | None) -> str:
    """One line: the stored verdict of a host."""
    if p is None:
        return ":white_circle: never checked"
    if not p.answered:
        return f":x: could not be checked: {escape(p.error or 'no answer')}"
    if p.build is None:
        return (
            ":grey_question: "
            + {True: "Exchange, version hidden", False: "not Exchange", None: "cannot tell (front end)"}[p.exchange]
        )
    vulnerable = [f for f in FAMILIES if p.families.get(f) == "vulnerable"]
    risk = bool(p.eol) or bool(vulnerable)
    parts = [escape(p.label())]
    if p.eol:
        parts.append("*EOL*")
    if vulnerable:
        parts.append("vulnerable: " + ", ".join(vulnerable))
    return (":rotating_light: " if risk else ":large_green_circle: ") + " · ".join(parts)


def _watch_line(w: WatchState) -> str:
    checked = f"checked {when(w.latest.checked_at)}" if w.latest else "not checked yet"
    change = (
        f"; last change {w.last_change.at.date().isoformat()}: {change_summary(w.last_change)}"
        if w.last_change and w.last_change.kind != "first_seen"
        else ""
    )
    line = f"• *{escape(w.host)}* {point_verdict(w.latest)} ({checked}{change})"
    if w.rejudged is not None:
        line += (
            f"\n    :arrows_counterclockwise: re-judged with the knowledge of "
            f"{w.rejudged.knowledge_date.isoformat()}: {escape(w.rejudged.summary)}"
        )
    return line


def _stale_block(warning: str | None) -> list[Block]:
    return [section(f":warning: {escape(warning)}")] if warning else []


def watchlist_card(rows: Sequence[WatchState], *, warning: str | None = None) -> Message:
    if not rows:
        return message(
            "The watchlist is empty.",
            [
                section(
                    "The watchlist is empty. Add a host with `/exchwatch add mail.example.com` "
                    "or the *Add to watchlist* button under a check."
                )
            ],
        )
    at_risk = sum(
        1
        for w in rows
        if w.latest is not None
        and w.latest.answered
        and (w.latest.eol or any(s == "vulnerable" for s in w.latest.families.values()))
    )
    blocks = [
        header(f"Watchlist: {len(rows)} host{'s' if len(rows) != 1 else ''}"),
        *sections([_watch_line(w) for w in rows]),
        *_stale_block(warning),
        context(
            [f"{at_risk} at risk (EOL or vulnerable) · re-checked daily · `/exchwatch remove HOST` to stop watching"]
        ),
    ]
    return message(f"Watchlist: {len(rows)} hosts, {at_risk} at risk", blocks)


def watch_changed(host: str, action: str, done: bool) -> Message:
    """Result of ``/exchwatch add|remove`` or the *Add to watchlist* button."""
    h = escape(host)
    texts = {
        ("add", True): f":eyes: Watching *{h}*: it is re-checked daily and reported in the digest.",
        ("add", False): f"*{h}* was already on the watchlist.",
        ("remove", True): f"Stopped watching *{h}*.",
        ("remove", False): f"*{h}* was not on the watchlist.",
    }
    text = texts[(action, done)]
    return message(text.replace(":eyes: ", ""), [section(text)])


def home_view(
    rows: Sequence[WatchState],
    *,
    knowledge_date: dt.date | None = None,
    note: str | None = None,
    warning: str | None = None,
) -> dict[str, Any]:
    """The App Home tab: the watchlist with each host's latest verdict and last-change date."""
    blocks: list[Block] = [header("exchbot: watched Exchange servers")]
    if note:
        blocks.append(section(escape(note)))
    blocks.extend(_stale_block(warning))
    if not rows:
        blocks.append(
            section(
                "Nothing is watched yet. In any channel: `/exchwatch add mail.example.com`, "
                "or press *Add to watchlist* under a check."
            )
        )
    shown = rows[: MAX_HOME_BLOCKS - 6]
    for w in shown:
        blocks.append(section(_watch_line(w)))
    if len(rows) > len(shown):
        blocks.append(context([f"…and {len(rows) - len(shown)} more: `/exchwatch list`"]))
    blocks.append(divider())
    blocks.append(
        context(
            [
                "`/exchcheck HOST` check a server · `/exposure eu` regional exposure · "
                "`/exchwatch add|remove|list` the watchlist",
                f"Knowledge base as of {date_text(knowledge_date)}",
            ]
        )
    )
    return {"type": "home", "blocks": limit_blocks(blocks, MAX_HOME_BLOCKS)}
