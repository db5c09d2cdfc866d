"""Check results as CSV rows (``check --csv``). Pure: a header and one row of strings per result.

Cells that a spreadsheet would run as a formula (starting with ``=``, ``+``, ``-``, ``@``, a tab or
a carriage return) are prefixed with ``'``: hostile hosts choose their own banners and errors.
"""

from __future__ import annotations

import datetime as dt

from bot.core.counts import undetermined_counts, vulnerable_counts
from bot.core.model import CheckResult

HEADER: tuple[str, ...] = (
    "target",
    "host",
    "port",
    "address",
    "reachable",
    "exchange",
    "build",
    "product",
    "cu",
    "update",
    "eol",
    "proxylogon",
    "proxyshell",
    "proxytoken",
    "proxynotshell",
    "vulnerable_count",
    "kev_count",
    "undetermined_count",
    "undetermined_kev_count",
    "warnings",
    "error",
    "checked_at",
)
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _cell(value: str | int | bool | None) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    text = value.replace("\x00", "")
    return "'" + text if text.startswith(_FORMULA_START) else text


def split_key(host_key: str) -> tuple[str, int]:
    """A history key (``host``, ``host:port``, ``[v6]`` or ``[v6]:port``; no port means 443) as
    ``(host, port)``."""
    if host_key.startswith("["):
        host, _, rest = host_key[1:].partition("]")
        port = rest[1:] if rest.startswith(":") else ""
    elif host_key.count(":") == 1:
        host, _, port = host_key.partition(":")
    else:
        host, port = host_key, ""
    return host, int(port) if port.isascii() and port.isdigit() and len(port) <= 5 else 443


def row(r: CheckResult) -> list[str]:
    a = r.assessment
    fam = a.families
    vulnerable, kev = vulnerable_counts(a) if r.error is None else (None, None)
    undetermined, undetermined_kev = undetermined_counts(a.cves) if r.error is None else (None, None)
    cells: list[str | int | bool | None] = [
        r.target,
        *split_key(r.host),
        r.address,
        r.reachable,
        r.exchange,
        a.build,
        a.product,
        a.cu,
        a.update,
        a.eol,
        fam.get("ProxyLogon"),
        fam.get("ProxyShell"),
        fam.get("ProxyToken"),
        fam.get("ProxyNotShell"),
        vulnerable,
        kev,
        undetermined,
        undetermined_kev,
        "; ".join(r.warnings),
        r.error,
        r.checked_at.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    ]
    return [_cell(c) for c in cells]
