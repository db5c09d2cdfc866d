"""A deep snapshot's host list as CSV, JSON-ready dictionaries and text (pure).

CSV cells are hostile text from banners (hostnames, organisations): a cell that a spreadsheet would
read as a formula (leading ``=``, ``+``, ``-``, ``@``, tab or carriage return) gets a leading ``'``.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from typing import Any

from bot.core.exposure_model import Host, HostList

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
_FAMILIES = {"proxylogon": "ProxyLogon", "proxyshell": "ProxyShell", "proxytoken": "ProxyToken"}
_FAMILIES["proxynotshell"] = "ProxyNotShell"
_FORMULA = ("=", "+", "-", "@", "\t", "\r")


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def host_dict(h: Host) -> dict[str, Any]:
    row: dict[str, Any] = {
        "ip": h.ip,
        "port": h.port,
        "hostnames": list(h.hostnames),
        "country": h.country,
        "asn": h.asn,
        "org": h.org,
        "build": h.build,
        "product": h.product,
        "eol": h.eol,
    }
    for col, fam in _FAMILIES.items():
        row[col] = h.families.get(fam, "unknown")
    row["seen_at"] = h.seen_at
    return row


def hosts_dict(hl: HostList) -> dict[str, Any]:
    return {
        "region": hl.region,
        "countries": list(hl.countries),
        "snapshot_at": _iso(hl.snapshot_at),
        "snapshot_id": hl.snapshot_id,
        "snapshot_scope": hl.scope,
        "unit": "hosts",
        "count": len(hl.hosts),
        "hosts": [host_dict(h) for h in hl.hosts],
    }


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
    lines = [
        f"Exchange hosts in {hl.region}: {len(hl.hosts):,} (deep snapshot {_iso(hl.snapshot_at)}, scope {hl.scope})",
        "",
    ]
    for h in hl.hosts:
        d = host_dict(h)
        bad = [f for c, f in _FAMILIES.items() if d[c] == "vulnerable"]
        verdict = ("EOL " if h.eol else "") + (("vulnerable: " + ", ".join(bad)) if bad else "")
        name = h.hostnames[0] if h.hostnames else "-"
        lines.append(
            f"{h.ip:<39} {h.port or '':>5} {name[:40]:<40} {h.country or '--':<2} {h.build or 'no build':<14} "
            f"{verdict.strip()}"
        )
    lines += ["", "Use --csv for a notification list (ip, port, hostnames, country, asn, org, build, verdicts)."]
    return "\n".join(lines)
