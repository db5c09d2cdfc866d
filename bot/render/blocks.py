"""Block Kit messages for Slack. Pure functions of results: no Slack client, no clock, no store.

Two rules hold for every message built here:

* **Escaping.** Text that comes from users, scanned hosts or Shodan goes through :func:`escape`
  (``&`` ``<`` ``>`` become entities, a backtick ``'``, ``*`` ``_`` ``~`` are fenced by zero-width
  spaces) or
  :func:`code_span` before it is placed in any text field, ``text`` fallbacks
  included, so a header such as ``X-FEServer: <!channel>`` shows as text and pings nobody. Only the
  fixed wording of this module carries Slack markup (``*bold*``, emoji codes).
* **Limits.** Slack rejects a whole message when one block breaks a limit, so everything is clipped:
  :data:`MAX_SECTION` characters per section text, :data:`MAX_FIELD` per field, :data:`MAX_FIELDS`
  fields, :data:`MAX_HEADER` characters per header, :data:`MAX_BLOCKS` blocks per message
  (:data:`MAX_HOME_BLOCKS` in the App Home).

Every message dict has ``text`` (notifications, screen readers, clients without Block Kit) and
``blocks``, unfurls switched off and never ``link_names``.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.changes import HostChange

if TYPE_CHECKING:
    from bot.core.model import Assessment

Block = dict[str, Any]
Message = dict[str, Any]

MAX_BLOCKS = 50
MAX_HOME_BLOCKS = 100
MAX_SECTION = 3000
MAX_FIELD = 2000
MAX_FIELDS = 10
MAX_HEADER = 150
MAX_CONTEXT = 10
MAX_BUTTON_TEXT = 75
MAX_VALUE = 2000
MAX_TEXT = 3000  # the fallback ``text``: Slack allows more, but a notification needs one line or two
MAX_EVIDENCE = 3  # evidence lines on a card; the rest behind "Show evidence"
MAX_VALUE_SHOWN = 160  # characters of one evidence value

RECHECK = "exchbot_recheck"
WATCH_ADD = "exchbot_watch_add"
WATCH_REMOVE = "exchbot_watch_remove"
SHOW_EVIDENCE = "exchbot_show_evidence"
SHARE = "exchbot_share"
HOST_MENU = "exchbot_host_menu"  # overflow beside a watched host: value "recheck|HOST" or "remove|HOST"
MENU_RECHECK, MENU_REMOVE = "recheck", "remove"
WATCH_PAGE = "exchbot_watch_page"  # value: the page number
HOME_PAGE = "exchbot_home_page"
CHECK_HOST = "exchbot_check_host"

STATUS_EMOJI = {
    "vulnerable": ":red_circle:",
    "patched": ":large_green_circle:",
    "unknown": ":white_circle:",
    "not_affected": ":heavy_minus_sign:",
}
STATUS_WORDS = {
    "vulnerable": "*vulnerable*",
    "patched": "patched",
    "unknown": "cannot tell",
    "not_affected": "not affected",
}
CONFIDENCE = {
    4: "high: full build number",
    3: "medium: the CU is known, the update level is not",
    2: "low: only the major version is known",
    0: "none: no build number visible",
}

_ENTITY_TAIL = re.compile(r"&[a-z]{0,4}$")


# --------------------------------------------------------------------------------------------------
# Escaping and clipping
# --------------------------------------------------------------------------------------------------


def _entities(text: object) -> str:
    """Slack's three control characters as entities (``&`` first, so nothing is escaped twice)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


_ZWSP = "\u200b"
# ``*`` ``_`` ``~`` only where they could act: Slack formats them only at a word boundary, so
# SHODAN_API_KEY or a*b stay as they are. A backtick pair makes a code span wherever it stands, so
# a backtick becomes ' (as in code_span).
_MARKUP = re.compile(r"(?<![A-Za-z0-9])[*_~]|[*_~](?![A-Za-z0-9])")


def escape(text: object) -> str:
    """Untrusted text made inert in mrkdwn: Slack's three control characters as entities, a backtick
    as ``'``, and each of ``*`` ``_`` ``~`` where it could act between zero-width spaces, so it can
    neither open nor close bold, italics or strike-through (mrkdwn has no backslash escape)."""
    return _MARKUP.sub(lambda m: _ZWSP + m.group(0) + _ZWSP, _entities(text).replace("`", "'"))


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters with an ellipsis, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    cut = _ENTITY_TAIL.sub("", cut)  # "&am" left over from "&amp;" would show as garbage
    return cut + "…"


def code_span(text: object, limit: int = MAX_VALUE_SHOWN) -> str:
    """Untrusted text as inline code: escaped, clipped, one line, no backtick to close the span."""
    flat = " ".join(str(text).split()).replace("`", "'")
    # Inside a code span only a backtick (replaced) and Slack's control characters act.
    return "`" + clip(_entities(flat), limit) + "`" if flat else "(empty)"


def limit_blocks(blocks: list[Block], limit: int = MAX_BLOCKS) -> list[Block]:
    """At most ``limit`` blocks; a trailing actions block (the buttons) survives the cut."""
    if len(blocks) <= limit:
        return blocks
    tail = [blocks[-1]] if blocks and blocks[-1].get("type") == "actions" else []
    keep = blocks[: limit - len(tail) - 1]
    note = context([f"{len(blocks) - len(keep) - len(tail)} more blocks left out (Slack shows at most {limit})."])
    return [*keep, note, *tail]


# --------------------------------------------------------------------------------------------------
# Block builders (they clip; callers escape)
# --------------------------------------------------------------------------------------------------


def header(text: str) -> Block:
    return {"type": "header", "text": {"type": "plain_text", "text": clip(text or " ", MAX_HEADER), "emoji": True}}


def section(text: str, fields: Sequence[str] = ()) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text or " ", MAX_SECTION)}}
    if fields:
        block["fields"] = [{"type": "mrkdwn", "text": clip(f or " ", MAX_FIELD)} for f in fields[:MAX_FIELDS]]
    return block


def fields_section(fields: Sequence[str]) -> Block:
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": clip(f or " ", MAX_FIELD)} for f in fields[:MAX_FIELDS]],
    }


def context(parts: Sequence[str]) -> Block:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(p or " ", MAX_SECTION)} for p in parts[:MAX_CONTEXT]],
    }


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    b: Block = {
        "type": "button",
        "action_id": action_id,
        "value": value[:MAX_VALUE],
        "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT), "emoji": True},
    }
    if style:
        b["style"] = style
    return b


def sections(lines: Iterable[str], title: str = "") -> list[Block]:
    """Lines packed into as few section blocks as the 3000-character limit allows."""
    out: list[Block] = []
    current = title
    for line in lines:
        line = clip(line, MAX_SECTION - 10)
        candidate = f"{current}\n{line}" if current else line
        if len(candidate) > MAX_SECTION:
            out.append(section(current))
            current = line
        else:
            current = candidate
    if current:
        out.append(section(current))
    return out


def message(text: str, blocks: list[Block], limit: int = MAX_BLOCKS) -> Message:
    """A complete message: fallback text, blocks within limits, unfurls off, no link_names."""
    return {
        "text": clip(text or " ", MAX_TEXT),
        "blocks": limit_blocks(blocks, limit),
        "unfurl_links": False,
        "unfurl_media": False,
    }


# --------------------------------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------------------------------


def when(t: dt.datetime | None) -> str:
    if t is None:
        return "never"
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def date_text(d: dt.date | None) -> str:
    return d.isoformat() if d else "unknown"


def delta_text(n: int | None) -> str:
    if n is None:
        return ""
    return f" ({n:+,})" if n else " (±0)"


def eol_text(eol: bool | None, eol_date: dt.date | None = None, esu: bool = False) -> str:
    if eol is None:
        return ":grey_question: unknown"
    if not eol:
        return ":white_check_mark: supported"
    since = f" since {eol_date.isoformat()}" if eol_date else ""
    return f":warning: *end of life*{since}" + ("; paid ESU build" if esu else "")


def family_text(status: str) -> str:
    return f"{STATUS_EMOJI.get(status, ':white_circle:')} {STATUS_WORDS.get(status, escape(status))}"


def product_name(product: str | None, cu: str | None, update: str | None) -> str:
    parts = [p for p in (product, cu, None if update in (None, "none") else update) if p]
    return " ".join(parts)


def assessment_name(a: Assessment) -> str:
    """``Exchange SE RTM Nov26SU``, and ``(nearest)`` after an update named after the nearest
    published build (mrkdwn has no quiet marker: ``~`` strikes through). Not escaped."""
    name = product_name(a.product, a.cu, a.update)
    return f"{name} (nearest)" if a.update_nearest and a.update not in (None, "none") else name


def change_summary(change: HostChange) -> str:
    """One change, escaped, for a card line."""
    return escape(change.summary.replace(" -> ", " → "))


def check_buttons(host: str) -> Block:
    """Re-check and Watch, for error cards (the check card builds its own row)."""
    return {
        "type": "actions",
        "block_id": "exchbot_check_actions",
        "elements": [
            button("Re-check", RECHECK, host, style="primary"),
            button("Watch", WATCH_ADD, host),
        ],
    }


def pending_card(what: str) -> Message:
    """The instant acknowledgement: ``Checking mail.example.com…``."""
    text = f":hourglass_flowing_sand: {escape(what)}"
    return message(escape(what), [section(text)])


# --------------------------------------------------------------------------------------------------
# Help, usage and errors
# --------------------------------------------------------------------------------------------------

HELP = {
    "/exchcheck": (
        "Check one Exchange server (plain HTTPS GETs, nothing intrusive)",
        [
            "`/exchcheck mail.example.com`",
            "`/exchcheck mail.example.com:8443`",
            "`/exchcheck https://owa.example.com`",
            "`/exchcheck 203.0.113.7`",
            "`/exchcheck admin@example.com` (finds the domain's Exchange servers)",
        ],
    ),
    "/exposure": (
        "How many Exchange servers a region exposes on Shodan (versions, EOL, vulnerable)",
        ["`/exposure eu`", "`/exposure us`", "`/exposure de,fr`", "`/exposure world`"],
    ),
    "/exchwatch": (
        "The watchlist: hosts re-checked daily and reported in the digest",
        ["`/exchwatch add mail.example.com`", "`/exchwatch remove mail.example.com`", "`/exchwatch list`"],
    ),
}


def help_card(command: str | None = None) -> Message:
    names = [command] if command in HELP else list(HELP)
    blocks: list[Block] = [header("exchbot help")]
    for name in names:
        assert name is not None
        what, examples = HELP[name]
        blocks.append(section(f"*{name}*: {what}\n" + "\n".join(examples)))
    blocks.append(
        context(
            [
                "Answers are visible only to you. Verdicts come from the build number the server "
                'shows; "cannot tell" means the visible build does not prove it either way.'
            ]
        )
    )
    return message("exchbot help: " + ", ".join(names), blocks)


def usage_card(command: str, problem: str) -> Message:
    """A helpful answer to malformed input; ``problem`` may quote the user's text (escaped here)."""
    what, examples = HELP.get(command, ("", []))
    body = f":information_source: {escape(clip(' '.join(problem.split()), 300))}"
    blocks = [section(body)]
    if examples:
        blocks.append(section(f"*{command}*: {what}\nFor example: " + ", ".join(examples[:3])))
    return message(f"{command}: {escape(clip(problem, 200))}", blocks)


def notice(text: str, emoji: str = ":information_source:") -> Message:
    """A one-line message (rate limit, busy, access denied); ``text`` is escaped."""
    return message(escape(text), [section(f"{emoji} {escape(text)}")])


def error_card(what: str, error: str, *, host: str | None = None) -> Message:
    """An error as data: ``could not check mail.example.com: timeout``; buttons to retry a check."""
    blocks = [section(f":x: *{escape(what)}:* {escape(error)}")]
    if host:
        blocks.append(check_buttons(host))
    return message(f"{escape(what)}: {escape(error)}", blocks)
