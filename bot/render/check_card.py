"""The answer to ``/exchcheck``: the check card (pure; escaping and limits from :mod:`bot.render.blocks`)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from bot.core.catalog import FAMILIES
from bot.core.changes import HostChange
from bot.core.judge import alert_labels, alerts
from bot.core.model import CheckResult
from bot.render.blocks import (
    CONFIDENCE,
    MAX_EVIDENCE,
    Block,
    Message,
    change_summary,
    check_buttons,
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
from bot.render.text import kev_as_of

# --------------------------------------------------------------------------------------------------
# Check card
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SinceLast:
    """What changed for the host since its previous stored check (from bot.core.changes)."""

    previous_at: dt.datetime | None  # None: this is the first check of the host
    changes: tuple[HostChange, ...] = ()


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


def verdict_line(r: CheckResult) -> str:
    """The check's verdict in one mrkdwn line (the card's headline; also used by the discovery card)."""
    return _headline(r)


def _other_vulnerable(r: CheckResult) -> int:
    """Vulnerable CVEs outside the four named families (the later Exchange CVEs)."""
    return sum(1 for v in r.assessment.cves if v.status == "vulnerable" and v.family not in FAMILIES)


def _update_text(update: str | None) -> str:
    if update is None:
        return "cannot tell"
    return "none (base build)" if update == "none" else escape(update)


def _confidence(r: CheckResult) -> str:
    text = CONFIDENCE.get(r.assessment.precision, f"{r.assessment.precision} parts known")
    if alerts(r.warnings):
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
        lines.append(f"• {escape(e.signal)}: {code_span(e.value)}")
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
        lines.append(
            f":red_circle: Vulnerable to {len(vulnerable)} CVE{'s' if len(vulnerable) != 1 else ''}"
            f" ({kev} known exploited{kev_as_of(a.kev_date)}): {ids}"
        )
    if config:
        lines.append(":large_yellow_circle: Depends on configuration: " + ", ".join(escape(v.id) for v in config[:10]))
    return lines


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


def check_card(r: CheckResult, since: SinceLast | None = None, *, knowledge_date: dt.date | None = None) -> Message:
    """The answer to ``/exchcheck``: verdict at a glance, then the facts, the evidence and the advice."""
    a = r.assessment
    blocks: list[Block] = [header(f"Exchange check: {escape(r.host)}"), section(_headline(r))]
    if not r.error and a.build is not None:
        blocks.append(
            fields_section(
                [
                    f"*End of life*\n{eol_text(a.eol, a.eol_date, a.esu)}",
                    f"*Confidence*\n{escape(_confidence(r))}",
                    *(f"*{fam}*\n{family_text(a.families.get(fam, 'unknown'))}" for fam in FAMILIES),
                ]
            )
        )
        blocks.append(
            fields_section(
                [
                    f"*Build*\n{code_span(a.build, 40)}",
                    f"*Product*\n{escape(a.product or 'unknown')}",
                    f"*CU*\n{escape(a.cu or 'unknown')}",
                    f"*Update*\n{_update_text(a.update)}",
                    f"*Released*\n{date_text(a.release_date)}",
                    f"*Address*\n{code_span(r.address or 'unknown', 60)}",
                ]
            )
        )
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
    blocks.append(
        context(
            [
                f"Checked {when(r.checked_at)} with plain HTTPS GETs · knowledge base as of {date_text(kd)}",
                *notes,
            ]
        )
    )
    blocks.append(check_buttons(r.host))
    return message(_fallback(r), blocks)
