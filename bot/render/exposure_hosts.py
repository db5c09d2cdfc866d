"""A deep snapshot's host list as CSV and text (pure; its JSON: :mod:`bot.render.json_out`).

CSV cells are hostile text from banners (hostnames, organisations): a cell that a spreadsheet would
read as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from bot.core.exposure_model import HostList
from bot.render.json_out import host_dict, timestamp
from bot.render.json_out.exposure import HOST_FAMILIES

COLUMNS = (
    "ip",
    "port",
    "hostnames",
    "country",
    "asn",
    "org",
    "build",
    "product",
    "eol",
    "proxylogon",
    "proxyshell",
    "proxytoken",
    "proxynotshell",
    "seen_at",
)
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    text = " ".join(value) if isinstance(value, list) else str(value)
    text = text.replace("\r", " ").replace("\n", " ")
    return "'" + text if text.startswith(_FORMULA) else text


def hosts_csv(hl: HostList) -> str:
    """Header (the lower-case column names), then one row per host; hostnames space-separated."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(COLUMNS)
    for h in hl.hosts:
        d = host_dict(h)
        writer.writerow([_cell(d[c]) for c in COLUMNS])
    return buf.getvalue()


def hosts_text(hl: HostList) -> str:
    taken = timestamp(hl.snapshot_at)
    lines = [f"Exchange hosts in {hl.region}: {len(hl.hosts):,} (deep snapshot {taken}, scope {hl.scope})", ""]
    for h in hl.hosts:
        d = host_dict(h)
        bad = [f for c, f in HOST_FAMILIES.items() if d[c] == "vulnerable"]
        verdict = ("EOL " if h.eol else "") + (("vulnerable: " + ", ".join(bad)) if bad else "")
        name = h.hostnames[0] if h.hostnames else "-"
        lines.append(
            f"{h.ip:<39} {h.port or '':>5} {name[:40]:<40} {h.country or '--':<2} {h.build or 'no build':<14} "
            f"{verdict.strip()}"
        )
    lines += ["", "Use --csv for a notification list (ip, port, hostnames, country, asn, org, build, verdicts)."]
    return "\n".join(lines)
