"""The watchlist as a message and as the App Home view (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint
from bot.core.counts import point_risk_text
from bot.core.failure import failure_reason
from bot.core.watch import WatchState, at_risk, at_risk_first
from bot.render.blocks import (
    CHECK_HOST,
    HOME_PAGE,
    HOST_MENU,
    MAX_HOME_BLOCKS,
    MENU_RECHECK,
    MENU_REMOVE,
    WATCH_PAGE,
    Block,
    Message,
    button,
    change_summary,
    context,
    date_text,
    divider,
    escape,
    header,
    limit_blocks,
    message,
    section,
    when,
)
from bot.render.hints import failure_text

# --------------------------------------------------------------------------------------------------
# Watchlist (message and App Home)
# --------------------------------------------------------------------------------------------------


PAGE_SIZE = 20  # hosts per /exchwatch list page (one section each, within 50 blocks)
HOME_PAGE_SIZE = 40  # hosts per App Home page (within 100 blocks)
MAX_MENU_VALUE = 150  # Slack's limit for an overflow option value


def point_verdict(p: CheckPoint | None) -> str:
    """One line: the stored verdict of a host."""
    if p is None:
        return ":white_circle: never checked"
    if not p.answered:
        return f":x: {escape(failure_text(p.error or 'no answer', slack=True))}"
    if p.build is None:
        return (
            ":grey_question: "
            + {True: "Exchange, version hidden", False: "not Exchange", None: "cannot tell (front end)"}[p.exchange]
        )
    vulnerable = [f for f in FAMILIES if p.families.get(f) == "vulnerable"]
    parts = [escape(p.label())]
    if p.eol:
        parts.append("*EOL*")
    if cves := point_risk_text(p):
        parts.append(escape(cves))
    if vulnerable:
        parts.append("vulnerable: " + ", ".join(vulnerable))
    return (":rotating_light: " if at_risk(p) else ":large_green_circle: ") + " · ".join(parts)


@dataclass(frozen=True)
class WatchSummary:
    """The counts at the top of the watchlist views."""

    hosts: int
    at_risk: int
    unreachable: int
    never_checked: int
    vulnerable_cves: int  # summed over hosts
    kev_hosts: int  # hosts vulnerable to a known-exploited CVE

    def text(self) -> str:
        parts = [
            f"*{self.hosts}* host{'s' if self.hosts != 1 else ''}",
            f":rotating_light: *{self.at_risk}* at risk",
            f":fire: *{self.kev_hosts}* with known-exploited CVEs",
            f":x: *{self.unreachable}* could not be checked",
        ]
        if self.never_checked:
            parts.append(f":white_circle: *{self.never_checked}* never checked")
        return " · ".join(parts)


def summarise(rows: Sequence[WatchState]) -> WatchSummary:
    """Counted on each host's last verdict (:mod:`bot.core.watch`); unreachable: the newest check failed."""
    return WatchSummary(
        hosts=len(rows),
        at_risk=sum(1 for w in rows if w.at_risk),
        unreachable=sum(1 for w in rows if w.checked and not w.reachable),
        never_checked=sum(1 for w in rows if not w.checked),
        vulnerable_cves=sum(w.vulnerable_count or 0 for w in rows),
        kev_hosts=sum(1 for w in rows if (w.kev_count or 0) > 0),
    )


def _verdict(w: WatchState) -> str:
    """The last verdict, and when the host has stopped answering since, since when and why."""
    latest = w.latest
    if latest is None or latest.answered or w.last_verdict is None:
        return point_verdict(latest)
    reason = escape(failure_reason(latest.error or "no answer"))
    since = when(w.unreachable_since) if w.unreachable_since else "the last check"
    return f"{point_verdict(w.last_verdict)} · :x: unreachable since {since} ({reason})"


def _watch_line(w: WatchState) -> str:
    checked = f"checked {when(w.latest.checked_at)}" if w.latest else "not checked yet"
    change = (
        f"; last change {w.last_change.at.date().isoformat()}: {change_summary(w.last_change)}"
        if w.last_change and w.last_change.kind != "first_seen"
        else ""
    )
    line = f"• *{escape(w.host)}* {_verdict(w)} ({checked}{change})"
    if w.rejudged is not None:
        line += (
            f"\n    :arrows_counterclockwise: re-judged with the knowledge of "
            f"{w.rejudged.knowledge_date.isoformat()}: {escape(w.rejudged.summary)}"
        )
    return line


def _host_menu(host: str) -> Block | None:
    """Re-check and Remove for one host, as an overflow menu (None if the host key is too long)."""
    options = [("Re-check", f"{MENU_RECHECK}|{host}"), ("Remove from watchlist", f"{MENU_REMOVE}|{host}")]
    if any(len(v) > MAX_MENU_VALUE for _t, v in options):
        return None
    return {
        "type": "overflow",
        "action_id": HOST_MENU,
        "options": [{"text": {"type": "plain_text", "text": t}, "value": v} for t, v in options],
    }


def _host_block(w: WatchState) -> Block:
    block = section(_watch_line(w))
    menu = _host_menu(w.host)
    if menu is not None:
        block["accessory"] = menu
    return block


def _stale_block(warning: str | None) -> list[Block]:
    return [section(f":warning: {escape(warning)}")] if warning else []


def _page(rows: Sequence[WatchState], page: int, size: int) -> tuple[list[WatchState], int, int]:
    """(rows of ``page``, the page actually shown, number of pages); pages count from 1."""
    pages = max(1, -(-len(rows) // size))
    page = min(max(1, page), pages)
    return list(rows[(page - 1) * size : page * size]), page, pages


def _page_buttons(action_id: str, page: int, pages: int, remaining: int) -> list[Block]:
    buttons = []
    if page > 1:
        buttons.append(button("← Previous", action_id, str(page - 1)))
    if page < pages:
        buttons.append(button(f"Next page ({remaining} more)", action_id, str(page + 1)))
    return buttons


def watchlist_card(rows: Sequence[WatchState], *, warning: str | None = None, page: int = 1) -> Message:
    """``/exchwatch list``: counts at the top, at-risk hosts first, one page of hosts with a menu each."""
    if not rows:
        return message(
            "The watchlist is empty.",
            [
                section(
                    "The watchlist is empty. Add a host with `/exchwatch add mail.example.com` "
                    "or the *Watch* button under a check."
                )
            ],
        )
    summary = summarise(rows)
    shown, page, pages = _page(at_risk_first(rows), page, PAGE_SIZE)
    first = (page - 1) * PAGE_SIZE
    remaining = len(rows) - first - len(shown)
    blocks: list[Block] = [
        header(f"Watchlist: {len(rows)} host{'s' if len(rows) != 1 else ''}"),
        section(summary.text()),
        *_stale_block(warning),
        *(_host_block(w) for w in shown),
    ]
    if pages > 1:
        blocks.append(
            context(
                [f"Hosts {first + 1}–{first + len(shown)} of {len(rows)} (page {page} of {pages}); {remaining} more"]
            )
        )
    elements = [
        *_page_buttons(WATCH_PAGE, page, pages, remaining),
        button("Check a host…", CHECK_HOST, "check"),
    ]
    blocks.append({"type": "actions", "block_id": "exchbot_watch_actions", "elements": elements})
    blocks.append(context(["At risk first · re-checked daily · the menu beside a host re-checks or removes it"]))
    return message(
        f"Watchlist: {len(rows)} hosts, {summary.at_risk} at risk, {summary.kev_hosts} with known-exploited CVEs",
        blocks,
    )


def watch_changed(host: str, action: str, done: bool) -> Message:
    """Result of ``/exchwatch add|remove`` or the *Watch* button."""
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
    page: int = 1,
) -> dict[str, Any]:
    """The App Home tab: counts, then the watched hosts at risk first, a page at a time, with buttons."""
    blocks: list[Block] = [header("exchbot: watched Exchange servers")]
    if note:
        blocks.append(section(escape(note)))
    blocks.extend(_stale_block(warning))
    if not rows:
        blocks.append(
            section(
                "Nothing is watched yet. In any channel: `/exchwatch add mail.example.com`, "
                "or press *Watch* under a check."
            )
        )
    else:
        blocks.append(section(summarise(rows).text()))
        shown, page, pages = _page(at_risk_first(rows), page, HOME_PAGE_SIZE)
        first = (page - 1) * HOME_PAGE_SIZE
        remaining = len(rows) - first - len(shown)
        blocks.extend(_host_block(w) for w in shown)
        if pages > 1:
            blocks.append(context([f"Hosts {first + 1}–{first + len(shown)} of {len(rows)}; {remaining} more"]))
        nav = _page_buttons(HOME_PAGE, page, pages, remaining)
        if nav:
            blocks.append({"type": "actions", "block_id": "exchbot_home_pages", "elements": nav})
    blocks.append(divider())
    blocks.append(
        {
            "type": "actions",
            "block_id": "exchbot_home_actions",
            "elements": [button("Check a host…", CHECK_HOST, "check", style="primary")],
        }
    )
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
