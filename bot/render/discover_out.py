"""Discovery for the command line: the JSON document and the text report. Pure."""

from __future__ import annotations

from typing import Any

from bot.core.discover import ONLINE_STATEMENT
from bot.render import json_out, text
from bot.services.discover import Discovery


def discovery_dict(d: Discovery) -> dict[str, Any]:
    """``{"domain", "exchange_online", "endpoints": [{"host", "port", "found_by", "address"}], "results"}``."""
    return {
        "domain": d.domain,
        "exchange_online": d.exchange_online,
        "endpoints": [
            {"host": e.host, "port": e.port, "found_by": list(e.found_by), "address": e.address} for e in d.endpoints
        ],
        "results": [json_out.check_dict(r) for r in d.results],
    }


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
