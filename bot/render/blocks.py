"""Block Kit messages for Slack. Pure functions of results: no Slack client, no clock, no store.

Two rules hold for every message built here:

* **Escaping.** Text that comes from users, scanned hosts or Shodan goes through :func:`escape`
  (``&`` ``<`` ``>`` become entities) before it is placed in any text field, ``text`` fallbacks
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
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint, HostChange
from bot.core.exposure import ExposureResult
from bot.core.model import CheckResult

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
MAX_EVIDENCE = 8
MAX_VALUE_SHOWN = 160  # characters of one evidence value

RECHECK = "exchbot_recheck"
WATCH_ADD = "exchbot_watch_add"

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


def escape(text: object) -> str:
    """Slack's three control characters as entities (``&`` first, so nothing is escaped twice)."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    """``text`` cut to at most ``limit`` characters with an ellipsis, never inside an entity."""
    if len(text) <= limit:
        return text
    cut = text[: max(0, limit - 1)]
    cut = _ENTITY_TAIL.sub("", cut)  # "&am" left over from "&amp;" would show as garbage
    return cut + "…"


def _code(text: object, limit: int = MAX_VALUE_SHOWN) -> str:
    """Untrusted text as inline code: escaped, clipped, one line, no backtick to close the span."""
    flat = " ".join(str(text).split()).replace("`", "'")
    return "`" + clip(escape(flat), limit) + "`" if flat else "(empty)"


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
    return {"type": "section",
            "fields": [{"type": "mrkdwn", "text": clip(f or " ", MAX_FIELD)} for f in fields[:MAX_FIELDS]]}


def context(parts: Sequence[str]) -> Block:
    return {"type": "context",
            "elements": [{"type": "mrkdwn", "text": clip(p or " ", MAX_SECTION)} for p in parts[:MAX_CONTEXT]]}


def divider() -> Block:
    return {"type": "divider"}


def button(text: str, action_id: str, value: str, style: str | None = None) -> Block:
    b: Block = {"type": "button", "action_id": action_id, "value": value[:MAX_VALUE],
                "text": {"type": "plain_text", "text": clip(text, MAX_BUTTON_TEXT), "emoji": True}}
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
    return {"text": clip(text or " ", MAX_TEXT), "blocks": limit_blocks(blocks, limit),
            "unfurl_links": False, "unfurl_media": False}


# --------------------------------------------------------------------------------------------------
# Small formatting helpers
# --------------------------------------------------------------------------------------------------


def when(t: dt.datetime | None) -> str:
    if t is None:
        return "never"
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def _date(d: dt.date | None) -> str:
    return d.isoformat() if d else "unknown"


def _delta(n: int | None) -> str:
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


# --------------------------------------------------------------------------------------------------
# Check card
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinceLast:
    """What changed for the host since its previous stored check (from bot.core.changes)."""

    previous_at: dt.datetime | None  # None: this is the first check of the host
    changes: tuple[HostChange, ...] = ()


def _headline(r: CheckResult) -> str:
    a = r.assessment
    if r.error:
        return f":x: *Could not check:* {escape(r.error)}"
    if r.exchange is False:
        return ":information_source: *Not Exchange:* nothing on this host looks like Outlook on the web."
    if a.build is None:
        if r.exchange is None:
            return ":grey_question: *Cannot tell:* a front end hides what is behind it."
        return ":grey_question: *Exchange, version hidden:* no build number is visible."
    vulnerable = [f for f in FAMILIES if a.families.get(f) == "vulnerable"]
    unknown = [f for f in FAMILIES if a.families.get(f) == "unknown"]
    others = _other_vulnerable(r)
    risks = (["end of life"] if a.eol else []) + ([f"vulnerable to {', '.join(vulnerable)}"] if vulnerable else [])
    if others:
        risks.append(f"{others} {'other ' if vulnerable else ''}vulnerable CVE{'s' if others != 1 else ''}")
    if risks:
        return f":rotating_light: *At risk:* {'; '.join(risks)}."
    if unknown:
        return f":large_yellow_circle: *Nothing proven, but cannot tell* for {', '.join(unknown)}."
    return ":large_green_circle: *Supported and patched* against the named exploit families."


def _other_vulnerable(r: CheckResult) -> int:
    """Vulnerable CVEs outside the four named families (the later Exchange CVEs)."""
    return sum(1 for v in r.assessment.cves if v.status == "vulnerable" and v.family not in FAMILIES)


def _update_text(update: str | None) -> str:
    if update is None:
        return "cannot tell"
    return "none (base build)" if update == "none" else escape(update)


def _confidence(r: CheckResult) -> str:
    text = CONFIDENCE.get(r.assessment.precision, f"{r.assessment.precision} parts known")
    if r.warnings:
        text += "; signals disagree (see warnings)"
    return text


def _fallback(r: CheckResult) -> str:
    a = r.assessment
    who = escape(r.target)
    if r.error:
        return f"{who}: could not check: {escape(r.error)}"
    if a.build is None:
        what = {True: "Exchange, version hidden", False: "not Exchange", None: "cannot tell (front end)"}[r.exchange]
        return f"{who}: {what}"
    vulnerable = [f for f in FAMILIES if a.families.get(f) == "vulnerable"]
    eol = "end of life" if a.eol else ("supported" if a.eol is False else "support status unknown")
    vul = f"; vulnerable to {', '.join(vulnerable)}" if vulnerable else ""
    others = _other_vulnerable(r)
    if others:
        vul += f"; {others} {'other ' if vulnerable else ''}vulnerable CVE{'s' if others != 1 else ''}"
    return f"{who}: {escape(product_name(a.product, a.cu, a.update) or 'Exchange')} ({escape(a.build)}), {eol}{vul}"


def _evidence_lines(r: CheckResult) -> list[str]:
    seen: set[tuple[str, str]] = set()
    lines: list[str] = []
    for e in r.evidence:
        key = (e.signal, e.value)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"• {escape(e.signal)}: {_code(e.value)}")
    if len(lines) > MAX_EVIDENCE:
        extra = len(lines) - MAX_EVIDENCE
        lines = [*lines[:MAX_EVIDENCE], f"…and {extra} more (`exchbot history {escape(r.host)} --json`)"]
    return lines


def _cve_lines(r: CheckResult) -> list[str]:
    a = r.assessment
    vulnerable = [v for v in a.cves if v.status == "vulnerable"]
    config = [v for v in a.cves if v.status == "unknown" and v.config_dependent]
    lines: list[str] = []
    if vulnerable:
        kev = sum(1 for v in vulnerable if v.kev)
        ids = ", ".join(escape(v.id) for v in vulnerable[:10]) + (" …" if len(vulnerable) > 10 else "")
        lines.append(f":red_circle: Vulnerable to {len(vulnerable)} CVE{'s' if len(vulnerable) != 1 else ''}"
                     f" ({kev} known exploited): {ids}")
    if config:
        lines.append(":large_yellow_circle: Depends on configuration: " + ", ".join(escape(v.id) for v in config[:10]))
    return lines


def _summary(change: HostChange) -> str:
    return escape(change.summary.replace(" -> ", " → "))


def since_last_text(since: SinceLast | None) -> str:
    if since is None:
        return ""
    if since.previous_at is None:
        return ":new: *Since the last check:* this is the first check of this host."
    changes = [c for c in since.changes if c.kind != "first_seen"]
    if not changes:
        return f"*Since the last check* ({when(since.previous_at)}): no change."
    lines = [f"• {_summary(c)}" for c in changes[:10]]
    return f"*Since the last check* ({when(since.previous_at)}):\n" + "\n".join(lines)


def check_buttons(host: str) -> Block:
    return {"type": "actions", "block_id": "exchbot_check_actions", "elements": [
        button("Re-check", RECHECK, host, style="primary"),
        button("Add to watchlist", WATCH_ADD, host),
    ]}


def check_card(r: CheckResult, since: SinceLast | None = None, *, knowledge_date: dt.date | None = None) -> Message:
    """The answer to ``/exchcheck``: verdict at a glance, then the facts, the evidence and the advice."""
    a = r.assessment
    blocks: list[Block] = [header(f"Exchange check: {escape(r.host)}"), section(_headline(r))]
    if not r.error and a.build is not None:
        blocks.append(fields_section([
            f"*End of life*\n{eol_text(a.eol, a.eol_date, a.esu)}",
            f"*Confidence*\n{escape(_confidence(r))}",
            *(f"*{fam}*\n{family_text(a.families.get(fam, 'unknown'))}" for fam in FAMILIES),
        ]))
        blocks.append(fields_section([
            f"*Build*\n{_code(a.build, 40)}",
            f"*Product*\n{escape(a.product or 'unknown')}",
            f"*CU*\n{escape(a.cu or 'unknown')}",
            f"*Update*\n{_update_text(a.update)}",
            f"*Released*\n{_date(a.release_date)}",
            f"*Address*\n{_code(r.address or 'unknown', 60)}",
        ]))
        cves = _cve_lines(r)
        if cves:
            blocks.append(section("\n".join(cves)))
    change_text = since_last_text(since)
    if change_text:
        blocks.append(section(change_text))
    if a.advice and not r.error:
        blocks.append(section(f"*Advice*\n{escape(a.advice)}"))
    evidence = _evidence_lines(r)
    if evidence:
        blocks.extend(sections(evidence, title="*Evidence*"))
    if r.warnings:
        blocks.extend(sections([f"• {escape(w)}" for w in r.warnings[:10]], title=":warning: *Warnings*"))
    notes = [escape(n) for n in a.notes[:5]]
    kd = knowledge_date or a.knowledge_date
    blocks.append(context([
        f"Checked {when(r.checked_at)} with plain HTTPS GETs · knowledge base as of {_date(kd)}",
        *notes,
    ]))
    blocks.append(check_buttons(r.host))
    return message(_fallback(r), blocks)


def pending_card(what: str) -> Message:
    """The instant acknowledgement: ``Checking mail.example.com…``."""
    text = f":hourglass_flowing_sand: {escape(what)}"
    return message(escape(what), [section(text)])


# --------------------------------------------------------------------------------------------------
# Exposure card
# --------------------------------------------------------------------------------------------------


def _family_count_line(fam: str, counts: Mapping[str, int], delta: Mapping[str, int] | None) -> str:
    vul, unk = counts.get("vulnerable", 0), counts.get("unknown", 0)
    dv = _delta(delta.get("vulnerable", 0)) if delta is not None else ""
    du = _delta(delta.get("unknown", 0)) if delta is not None else ""
    return f"• *{escape(fam)}*: {vul:,}{dv} certainly vulnerable, {unk:,}{du} cannot tell"


def exposure_card(r: ExposureResult) -> Message:
    """The answer to ``/exposure``: totals, EOL and vulnerable counts with their changes, per product."""
    c = r.changes
    unit = "hosts" if r.unit == "hosts" else "banners"
    region = escape(r.region)
    countries = ", ".join(escape(x) for x in r.countries[:12]) + (" …" if len(r.countries) > 12 else "")
    blocks: list[Block] = [
        header(f"Exchange exposure: {region}"),
        section(f"*{r.total:,}* Exchange {unit} in *{region}* ({len(r.countries)} countr"
                f"{'y' if len(r.countries) == 1 else 'ies'}: {countries})"
                + (f"; changes since {when(r.previous_snapshot_at)}" if r.previous_snapshot_at
                   else "; no earlier snapshot to compare with")),
        fields_section([
            f"*Total*\n{r.total:,}{_delta(c.total if c else None)}",
            f"*End of life*\n{r.eol:,}{_delta(c.eol if c else None)}",
            f"*EOL or certainly vulnerable*\n{r.at_risk:,}{_delta(c.at_risk if c else None)}",
            f"*No build shown*\n{r.unknown_version:,}{_delta(c.unknown_version if c else None)}",
            f"*Unattributed* (no country)\n{r.unattributed:,}"
            + (" (included)" if r.unattributed_included else " (not included)"),
        ]),
    ]
    fam_lines = [_family_count_line(f, counts, c.families.get(f) if c else None) for f, counts in r.families.items()]
    blocks.extend(sections(fam_lines, title="*Exploit families* (counted from the visible builds)"))
    products = [f"• {escape(p)}: {n:,}{_delta(c.by_product.get(p, 0) if c else None)}"
                for p, n in r.by_product.items()]
    if c is not None:
        products += [f"• {escape(p)}: 0{_delta(d)}" for p, d in c.by_product.items() if p not in r.by_product and d]
    if products:
        blocks.extend(sections(products, title="*Per product*"))
    if r.by_build:
        top = [f"• {_code(b.build, 30)} {escape(product_name(b.product, b.cu, None) or 'unknown')}: {b.count:,}"
               + (" · EOL" if b.eol else "") for b in r.by_build[:10]]
        blocks.extend(sections(top, title=f"*Top builds* ({min(len(r.by_build), 10)} of {len(r.by_build)})"))
    if r.warnings:
        blocks.extend(sections([f"• {escape(w)}" for w in r.warnings[:5]], title=":warning: *Warnings*"))
    age = "stored snapshot" if r.reused else "new snapshot"
    blocks.append(context([
        f"Data: {escape(r.data_source)} · snapshot {when(r.snapshot_at)} ({age}, {escape(r.mode)} mode) · "
        f"query {_code(r.query, 200)} · {r.credits_used} query credits used",
        escape(r.note),
        f"Knowledge base as of {_date(r.knowledge_date)}",
    ]))
    text = (f"Exchange exposure {region}: {r.total:,} {unit}, {r.eol:,} end of life, "
            f"{r.at_risk:,} EOL or certainly vulnerable (Data: {escape(r.data_source)}, {when(r.snapshot_at)})")
    return message(text, blocks)


# --------------------------------------------------------------------------------------------------
# Watchlist (message and App Home)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class WatchRow:
    """One watched host with its newest stored check and its newest change (None if never checked)."""

    host: str
    added_at: dt.datetime
    added_by: str | None
    latest: CheckPoint | None
    last_change: HostChange | None


def point_verdict(p: CheckPoint | None) -> str:
    """One line: the stored verdict of a host."""
    if p is None:
        return ":white_circle: never checked"
    if not p.answered:
        return f":x: could not be checked: {escape(p.error or 'no answer')}"
    if p.build is None:
        return ":grey_question: " + {True: "Exchange, version hidden", False: "not Exchange",
                                      None: "cannot tell (front end)"}[p.exchange]
    vulnerable = [f for f in FAMILIES if p.families.get(f) == "vulnerable"]
    risk = bool(p.eol) or bool(vulnerable)
    parts = [escape(p.label())]
    if p.eol:
        parts.append("*EOL*")
    if vulnerable:
        parts.append("vulnerable: " + ", ".join(vulnerable))
    return (":rotating_light: " if risk else ":large_green_circle: ") + " · ".join(parts)


def _watch_line(w: WatchRow) -> str:
    checked = f"checked {when(w.latest.checked_at)}" if w.latest else "not checked yet"
    change = (f"; last change {w.last_change.at.date().isoformat()}: {_summary(w.last_change)}"
              if w.last_change and w.last_change.kind != "first_seen" else "")
    return f"• *{escape(w.host)}* {point_verdict(w.latest)} ({checked}{change})"


def watchlist_card(rows: Sequence[WatchRow]) -> Message:
    if not rows:
        return message("The watchlist is empty.", [
            section("The watchlist is empty. Add a host with `/exchwatch add mail.example.com` "
                    "or the *Add to watchlist* button under a check.")])
    at_risk = sum(1 for w in rows if w.latest is not None and w.latest.answered
                  and (w.latest.eol or any(s == "vulnerable" for s in w.latest.families.values())))
    blocks = [header(f"Watchlist: {len(rows)} host{'s' if len(rows) != 1 else ''}"),
              *sections([_watch_line(w) for w in rows]),
              context([f"{at_risk} at risk (EOL or vulnerable) · re-checked daily · "
                       "`/exchwatch remove HOST` to stop watching"])]
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


def home_view(rows: Sequence[WatchRow], *, knowledge_date: dt.date | None = None,
              note: str | None = None) -> dict[str, Any]:
    """The App Home tab: the watchlist with each host's latest verdict and last-change date."""
    blocks: list[Block] = [header("exchbot: watched Exchange servers")]
    if note:
        blocks.append(section(escape(note)))
    if not rows:
        blocks.append(section("Nothing is watched yet. In any channel: `/exchwatch add mail.example.com`, "
                              "or press *Add to watchlist* under a check."))
    shown = rows[: MAX_HOME_BLOCKS - 6]
    for w in shown:
        blocks.append(section(_watch_line(w)))
    if len(rows) > len(shown):
        blocks.append(context([f"…and {len(rows) - len(shown)} more: `/exchwatch list`"]))
    blocks.append(divider())
    blocks.append(context(["`/exchcheck HOST` check a server · `/exposure eu` regional exposure · "
                           "`/exchwatch add|remove|list` the watchlist",
                           f"Knowledge base as of {_date(knowledge_date)}"]))
    return {"type": "home", "blocks": limit_blocks(blocks, MAX_HOME_BLOCKS)}


# --------------------------------------------------------------------------------------------------
# Help, usage and errors
# --------------------------------------------------------------------------------------------------

HELP = {
    "/exchcheck": ("Check one Exchange server (plain HTTPS GETs, nothing intrusive)",
                   ["`/exchcheck mail.example.com`", "`/exchcheck mail.example.com:8443`",
                    "`/exchcheck https://owa.example.com`", "`/exchcheck 203.0.113.7`"]),
    "/exposure": ("How many Exchange servers a region exposes on Shodan (versions, EOL, vulnerable)",
                  ["`/exposure eu`", "`/exposure us`", "`/exposure de,fr`", "`/exposure world`"]),
    "/exchwatch": ("The watchlist: hosts re-checked daily and reported in the digest",
                   ["`/exchwatch add mail.example.com`", "`/exchwatch remove mail.example.com`",
                    "`/exchwatch list`"]),
}


def help_card(command: str | None = None) -> Message:
    names = [command] if command in HELP else list(HELP)
    blocks: list[Block] = [header("exchbot help")]
    for name in names:
        assert name is not None
        what, examples = HELP[name]
        blocks.append(section(f"*{name}*: {what}\n" + "\n".join(examples)))
    blocks.append(context(["Answers are visible only to you. Verdicts come from the build number the server "
                           "shows; \"cannot tell\" means the visible build does not prove it either way."]))
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
