"""Discovery for the command line: the text report (its JSON: :mod:`bot.render.json_out`). Pure."""

from __future__ import annotations

from bot.core.discover import ONLINE_STATEMENT
from bot.render import text
from bot.services.discover import Discovery


def discovery_text(d: Discovery) -> str:
    who = f"{d.address} ({d.domain})" if d.address else d.domain
    out = [f"Discovery for {who}"]
    if d.exchange_online:
        out.append(f"  {ONLINE_STATEMENT} ({'; '.join(d.online_signs)})")
        if d.endpoints:
            out.append("  hybrid: on-premises endpoints were found too")
    if not d.endpoints and not d.exchange_online:
        out.append("  no Exchange endpoint found (MX, autodiscover, SRV and the common names tried)")
    for e, r in zip(d.endpoints, d.results, strict=False):
        out.append(f"  {e.target} [{e.address}] found by {', '.join(e.found_by)}")
        out.append(f"    {text.check_line(r)}")
    out += [f"  note: {n}" for n in d.notes[:20]]
    return "\n".join(out)
