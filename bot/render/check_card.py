"""The answer to ``/exchcheck``: the check card (pure; escaping and limits from :mod:`bot.render.blocks`)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint, HostChange
from bot.core.counts import (
    assessment_counts_text,
    cve_label,
    glance_text,
    point_counts_text,
    stored_counts_text,
    stored_undetermined_counts,
    undetermined_text,
    vulnerable_counts,
    vulnerable_first,
)
from bot.core.failure import failure_reason
from bot.core.judge import alert_labels, alerts
from bot.core.model import CheckResult
from bot.render.blocks import (
    CONFIDENCE,
    MAX_EVIDENCE,
    RECHECK,
    SHARE,
    SHOW_EVIDENCE,
    WATCH_ADD,
    WATCH_REMOVE,
    Block,
    Message,
    assessment_name,
    button,
    change_summary,
    clip,
    code_span,
    context,
    date_text,
    eol_text,
    escape,
    family_text,
    fields_section,
    header,
    message,
    product_name,
    section,
    sections,
    when,
)
from bot.render.config_checks import config_summary
from bot.render.hints import domain_hint, failure_hints, failure_text, is_refusal, private_hint
from bot.render.text import kev_as_of

# --------------------------------------------------------------------------------------------------
# Check card
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinceLast:
    """What changed for the host since its previous stored check (from bot.core.changes)."""

    previous_at: dt.datetime | None  # None: this is the first check of the host
    changes: tuple[HostChange, ...] = ()
    last_answered: CheckPoint | None = None  # the newest earlier check that got an answer


@dataclass(frozen=True)
class CardState:
    """What the buttons under a card depend on besides the result."""

    watched: bool = False


def _headline(r: CheckResult) -> str:
    """The verdict at a glance; disagreeing signals or a possible honeypot are said first."""
    verdict = _verdict(r)
    labels = alert_labels(r.warnings)
    if r.error or not labels:
        return verdict
    first = alerts(r.warnings)
    more = f" (+{len(first) - 1} more, see warnings)" if len(first) > 1 else ""
    lead = "; ".join(labels).capitalize()
    return f":warning: *{lead}:* {clip(escape(first[0]), 600)}{more}\n{verdict}"


def _verdict(r: CheckResult) -> str:
    a = r.assessment
    if r.error:
        reason = escape(failure_reason(r.error))
        if is_refusal(r.error):
            return f":no_entry: *Not checked:* {reason}."
        return f":x: *Could not check:* {reason}."
    if r.exchange is False:
        return ":information_source: *Not Exchange:* nothing on this host looks like Outlook on the web."
    if a.build is None:
        if r.exchange is None:
            return ":grey_question: *Cannot tell:* a front end hides what is behind it."
        return ":grey_question: *Exchange, version hidden:* no build number is visible."
    vulnerable = [f for f in FAMILIES if a.families.get(f) == "vulnerable"]
    unknown = [f for f in FAMILIES if a.families.get(f) == "unknown"]
    count, _kev = vulnerable_counts(a)
    risks = ["end of life"] if a.eol else []
    if count:
        named = f", including {', '.join(vulnerable)}" if vulnerable else ""
        risks.append(f"vulnerable to {assessment_counts_text(a)}{named}")
    if risks:
        return f":rotating_light: *At risk:* {'; '.join(risks)}."
    if unknown:
        return f":large_yellow_circle: *Nothing proven, but cannot tell* for {', '.join(unknown)}."
    return ":large_green_circle: *Supported and patched* against the named exploit families."


def verdict_line(r: CheckResult) -> str:
    """The check's verdict in one mrkdwn line (the card's headline; also used by the discovery card)."""
    return _headline(r)


def _update_text(update: str | None, *, nearest: bool = False) -> str:
    if update is None:
        return "cannot tell"
    if update == "none":
        return "none (base build)"
    return f"{escape(update)} (nearest published build)" if nearest else escape(update)


def _confidence(r: CheckResult) -> str:
    text = CONFIDENCE.get(r.assessment.precision, f"{r.assessment.precision} parts known")
    if alerts(r.warnings):
        text += "; signals disagree (see warnings)"
    return text


def _fallback(r: CheckResult) -> str:
    a = r.assessment
    who = escape(r.target)
    if r.error:
        return f"{who}: {escape(failure_text(r.error, slack=True))}"
    if a.build is None:
        what = {True: "Exchange, version hidden", False: "not Exchange", None: "cannot tell (front end)"}[r.exchange]
        return f"{who}: {what}"
    eol = "end of life" if a.eol else ("supported" if a.eol is False else "support status unknown")
    count = assessment_counts_text(a)
    named = [f for f in FAMILIES if a.families.get(f) == "vulnerable"]
    vul = f"; vulnerable to {count}" if vulnerable_counts(a)[0] else f"; {count}"
    if named:
        vul += f", including {', '.join(named)}"
    if unsure := undetermined_text(a):
        vul += f"; {unsure}"
    name = assessment_name(a) or "Exchange"
    return f"{who}: {escape(name)} ({escape(a.build)}), {eol}{vul}"


def evidence_lines(r_evidence: list[tuple[str, str]]) -> list[str]:
    """Evidence (signal, value) pairs as bullets, duplicates dropped."""
    seen: set[tuple[str, str]] = set()
    lines: list[str] = []
    for signal, value in r_evidence:
        key = (signal, value)
        if key in seen:
            continue
        seen.add(key)
        lines.append(f"• {escape(signal)}: {code_span(value)}")
    return lines


def _evidence_lines(r: CheckResult) -> tuple[list[str], int]:
    """The first lines of evidence for the card and how many more are behind *Show evidence*."""
    lines = evidence_lines([(e.signal, e.value) for e in r.evidence])
    return lines[:MAX_EVIDENCE], max(0, len(lines) - MAX_EVIDENCE)


def _cve_lines(r: CheckResult) -> list[str]:
    a = r.assessment
    vulnerable = vulnerable_first(a)
    config = [v for v in a.cves if v.status == "unknown" and v.config_dependent]
    lines: list[str] = []
    if vulnerable:
        kev = [v for v in vulnerable if v.kev]
        ids = ", ".join(escape(cve_label(v)) for v in vulnerable[:10]) + (" …" if len(vulnerable) > 10 else "")
        lines.append(f":red_circle: *Vulnerable to {assessment_counts_text(a)}*{kev_as_of(a.kev_date)}: {ids}")
        if kev:
            lines.append(
                ":fire: *Known exploited (CISA KEV), patch first:* " + ", ".join(escape(v.id) for v in kev[:20])
            )
    if config:
        lines.append(config_summary(config))
    return lines


def _unreachable_lines(r: CheckResult, since: SinceLast | None) -> list[str]:
    """For a host that did not answer: what it was last time, and what to try."""
    lines: list[str] = []
    last = since.last_answered if since else None
    if last is not None:
        verdict = escape(last.label())
        risk = []
        if last.eol:
            risk.append("end of life")
        risk.extend(f"vulnerable to {f}" for f in FAMILIES if last.families.get(f) == "vulnerable")
        count = point_counts_text(last)
        if count:
            risk.append(count)
        lines.append(
            f"*Last known* ({when(last.checked_at)}): {verdict}" + (f"; {escape('; '.join(risk))}" if risk else "")
        )
    elif since is not None:
        lines.append("*Last known:* this host never answered a check.")
    if is_refusal(r.error):
        lines.append(f":bulb: {escape(private_hint(slack=True))}.")
    else:
        port = int(r.host.rsplit(":", 1)[1]) if r.host.rsplit(":", 1)[-1].isdigit() and ":" in r.host else 443
        lines.extend(f":bulb: {escape(h)}" for h in failure_hints(r.error, port))
    return lines


def card_buttons(r: CheckResult, state: CardState, *, more_evidence: int) -> Block:
    """Re-check, Show evidence (if some is hidden), Share in channel, and the watch state."""
    host = r.host
    elements = [button("Re-check", RECHECK, host, style="primary")]
    if more_evidence:
        elements.append(button(f"Show evidence (+{more_evidence})", SHOW_EVIDENCE, host))
    elements.append(button("Share in channel", SHARE, host))
    if r.exchange is not False or r.error:
        if state.watched:
            elements.append(button("Watched ✓ · Remove", WATCH_REMOVE, host))
        else:
            elements.append(button("Watch", WATCH_ADD, host))
    return {"type": "actions", "block_id": "exchbot_check_actions", "elements": elements}


def since_last_text(since: SinceLast | None) -> str:
    if since is None:
        return ""
    if since.previous_at is None:
        return ":new: *Since the last check:* this is the first check of this host."
    changes = [c for c in since.changes if c.kind != "first_seen"]
    if not changes:
        return f"*Since the last check* ({when(since.previous_at)}): no change."
    lines = [f"• {change_summary(c)}" for c in changes[:10]]
    return f"*Since the last check* ({when(since.previous_at)}):\n" + "\n".join(lines)


def check_card(
    r: CheckResult,
    since: SinceLast | None = None,
    *,
    knowledge_date: dt.date | None = None,
    state: CardState | None = None,
) -> Message:
    """The answer to ``/exchcheck``: verdict at a glance, then the facts, the evidence and the advice."""
    a = r.assessment
    state = state or CardState()
    blocks: list[Block] = [header(f"Exchange check: {escape(r.host)}"), section(_headline(r))]
    if r.error:
        blocks.append(section("\n".join(_unreachable_lines(r, since))))
    hint = domain_hint(r.host) if (r.error and not is_refusal(r.error)) or r.exchange is False else None
    if hint:
        blocks.append(section(f":bulb: {escape(hint)}"))
    if not r.error and a.build is not None:
        blocks.append(
            fields_section(
                [
                    f"*End of life*\n{eol_text(a.eol, a.eol_date, a.esu)}",
                    f"*Vulnerable*\n{escape(glance_text(a))}",
                    *(f"*{fam}*\n{family_text(a.families.get(fam, 'unknown'))}" for fam in FAMILIES),
                    f"*Confidence*\n{escape(_confidence(r))}",
                ]
            )
        )
        blocks.append(
            fields_section(
                [
                    f"*Build*\n{code_span(a.build, 40)}",
                    f"*Product*\n{escape(a.product or 'unknown')}",
                    f"*CU*\n{escape(a.cu or 'unknown')}",
                    f"*Update*\n{_update_text(a.update, nearest=a.update_nearest)}",
                    f"*Released*\n{date_text(a.release_date)}",
                    f"*Address*\n{code_span(r.address or 'unknown', 60)}",
                ]
            )
        )
        cves = _cve_lines(r)
        if cves:
            blocks.append(section("\n".join(cves)))
    change_text = since_last_text(since) if not r.error else ""
    if change_text:
        blocks.append(section(change_text))
    if a.advice and not r.error:
        blocks.append(section(f"*Advice*\n{escape(a.advice)}"))
    evidence, more = _evidence_lines(r)
    if evidence:
        title = "*Evidence*" + (f" (first {len(evidence)}; *Show evidence* for all)" if more else "")
        blocks.extend(sections(evidence, title=title))
    if r.warnings:
        blocks.extend(sections([f"• {escape(w)}" for w in r.warnings[:10]], title=":warning: *Warnings*"))
    notes = [escape(n) for n in a.notes[:5]]
    kd = knowledge_date or a.knowledge_date
    blocks.append(
        context(
            [
                f"Checked {when(r.checked_at)} with plain HTTPS GETs · knowledge base as of {date_text(kd)}"
                " · only you can see this until you press *Share in channel*",
                *notes,
            ]
        )
    )
    blocks.append(card_buttons(r, state, more_evidence=more))
    return message(_fallback(r), blocks)


# --------------------------------------------------------------------------------------------------
# From the stored answer: the full evidence, and the answer shared in the channel
# --------------------------------------------------------------------------------------------------


def _doc_str(doc: dict[str, Any], key: str) -> str | None:
    value = doc.get(key)
    return value if isinstance(value, str) else None


def evidence_card(host: str, doc: dict[str, Any] | None) -> Message:
    """All the evidence of the newest stored check of ``host`` (the *Show evidence* button)."""
    h = escape(host)
    raw = doc.get("evidence") if doc else None
    items = [
        (str(e.get("signal", "")), str(e.get("value", "")))
        for e in (raw if isinstance(raw, list) else [])
        if isinstance(e, dict)
    ]
    if not items:
        return message(f"No evidence stored for {h}.", [section(f"No evidence is stored for *{h}*.")])
    lines = evidence_lines(items)[:40]
    checked = _doc_str(doc or {}, "checked_at") or "unknown"
    blocks = [
        *sections(lines, title=f"*Evidence for {h}* (check of {escape(checked)})"),
        context(["Each line: the signal, and the value the server showed."]),
    ]
    return message(f"Evidence for {h}: {len(lines)} lines", blocks)


_USER_ID = re.compile(r"^[UW][A-Z0-9]{2,20}$")


def shared_card(host: str, doc: dict[str, Any] | None, shared_by: str) -> Message:
    """The newest stored answer for ``host`` as a visible channel message (*Share in channel*)."""
    h = escape(host)
    who = f"<@{shared_by}>" if _USER_ID.match(shared_by) else escape(shared_by)
    if not doc:
        return message(f"No stored check of {h}.", [section(f"There is no stored check of *{h}* to share.")])
    error = _doc_str(doc, "error")
    build = _doc_str(doc, "build")
    checked = escape(_doc_str(doc, "checked_at") or "unknown")
    if error:
        line = f":x: *{h}*: {escape(failure_text(error, slack=True))}"
    elif build is None:
        exch = doc.get("exchange")
        what = (
            "Exchange, version hidden"
            if exch is True
            else ("not Exchange" if exch is False else "cannot tell (a front end hides it)")
        )
        line = f":grey_question: *{h}*: {what}"
    else:
        name = product_name(_doc_str(doc, "product"), _doc_str(doc, "cu"), _doc_str(doc, "update"))
        eol = doc.get("eol")
        count = doc.get("vulnerable_count")
        kev = doc.get("kev")
        kev_list = [str(k) for k in kev] if isinstance(kev, list) else []
        risk = bool(eol) or (isinstance(count, int) and count > 0)
        parts = [f"{escape(name or 'Exchange')} ({code_span(build, 40)})"]
        parts.append("*end of life*" if eol else ("supported" if eol is False else "support status unknown"))
        if isinstance(count, int):
            parts.append(escape(stored_counts_text(count, len(kev_list), *stored_undetermined_counts(doc.get("cves")))))
        line = (":rotating_light: " if risk else ":large_green_circle: ") + f"*{h}*: " + " · ".join(parts)
        if kev_list:
            line += "\n:fire: Known exploited (CISA KEV): " + ", ".join(escape(k) for k in kev_list[:20])
        advice = _doc_str(doc, "advice")
        if advice:
            line += f"\n*Advice:* {escape(advice)}"
    blocks = [section(line), context([f"Checked {checked} · shared by {who} · `/exchcheck {h}` to check again"])]
    return message(f"{h}: shared check", blocks)
