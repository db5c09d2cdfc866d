"""The answer to ``/exchcheck`` when discovery ran: each endpoint found, how, and its verdict. Pure."""

from __future__ import annotations

from bot.core.discover import ONLINE_STATEMENT
from bot.core.model import CheckResult
from bot.render.blocks import Block, Message, assessment_name, code_span, context, escape, header, message, section
from bot.render.check_card import verdict_line
from bot.services.discover import Discovery

MAX_ENDPOINTS = 10
WAYS = {"mx": "MX", "autodiscover": "autodiscover", "srv": "SRV", "name": "common name"}


def _build(r: CheckResult) -> str:
    a = r.assessment
    if r.error or a.build is None:
        return ""
    name = assessment_name(a) or "Exchange"
    return f"\n{escape(name)} · build {code_span(a.build, 40)}"


def _fallback(d: Discovery) -> str:
    parts = [ONLINE_STATEMENT] if d.exchange_online else []
    for e, r in zip(d.endpoints, d.results, strict=False):
        a = r.assessment
        what = r.error or (f"{a.product or 'Exchange'} {a.build}" if a.build else "no build visible")
        parts.append(f"{e.target}: {what}")
    if not parts:
        parts.append("no Exchange endpoint found")
    return escape(f"{d.domain}: " + "; ".join(parts))


def discovery_card(d: Discovery, name_result: CheckResult | None = None) -> Message:
    """``name_result``: the check of the name as typed, when discovery ran because it was not Exchange."""
    title = f"Exchange servers of {d.domain}"
    blocks: list[Block] = [header(title)]
    if d.address:
        blocks.append(context([f"Found from the mail address {code_span(d.address, 80)}"]))
    if name_result is not None:
        blocks.append(section(f"*{escape(name_result.host)} itself:* {verdict_line(name_result)}"))
    if d.exchange_online:
        signs = escape("; ".join(d.online_signs))
        blocks.append(section(f":cloud: *Exchange Online:* {escape(ONLINE_STATEMENT)}.\n_{signs}_"))
        if d.endpoints:
            blocks.append(section("*Hybrid:* on-premises endpoints were found too; they are checked below."))
    elif not d.endpoints:
        blocks.append(
            section(
                ":grey_question: *No Exchange endpoint found* (MX, autodiscover, SRV "
                "`_autodiscover._tcp` and the common names were tried)."
            )
        )
    for e, r in list(zip(d.endpoints, d.results, strict=False))[:MAX_ENDPOINTS]:
        ways = ", ".join(WAYS.get(w, w) for w in e.found_by)
        blocks.append(
            section(
                f"*{escape(e.target)}* ({code_span(e.address, 60)}, found by {escape(ways)})\n"
                f"{verdict_line(r)}{_build(r)}"
            )
        )
    if len(d.endpoints) > MAX_ENDPOINTS:
        blocks.append(
            context([f"…and {len(d.endpoints) - MAX_ENDPOINTS} more (`exchbot discover {escape(d.domain)}`)"])
        )
    if d.notes:
        blocks.append(context([escape(n) for n in d.notes[:5]]))
    return message(_fallback(d), blocks)
