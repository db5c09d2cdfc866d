"""Count-mode snapshots: Shodan ``count()`` calls only, so **zero query credits**.

1. The base query with a ``country`` facet: the number of banners that show an on-premises OWA logon
   page, per country (plus a remainder with no country: ``unattributed``).
2. For every OWA resource path the knowledge base knows, the base query ANDed with that path, with the
   same facet: the banners that disclose that build. 2013 and later put the CU's 3-part build in the
   path (``/owa/auth/15.1.2507/``), so one count per CU line; 2007 and 2010 put the full 4-part build
   there (``/owa/14.3.513.0/``), so one count per published build. Exchange 2003 has no such path.

Requests per snapshot = 1 + number of known paths (181 with the knowledge base of 2026-10: 65 CU lines
for 2013-SE, 116 builds for 2007/2010), i.e. about three minutes at Shodan's 1 request/s, growing by
one request per new CU; the base count alone would tell nothing about versions.

**Base query** ``http.html:"OwaPage = ASP.auth_logon_aspx"``: the HTML comment the OWA logon page
(``/owa/auth/logon.aspx``) carries in every generation we have samples of (2013 CU21, 2016 CU9, 2019
CU9 in ``samples/``), which WhatWeb's Outlook Web App plugin and other fingerprint sets treat as a
definitive OWA marker. It finds the logon page whether Shodan crawled ``/owa/`` or followed the
``/`` -> ``/owa/`` -> ``logon.aspx`` redirects, and whether the version paths were stripped or not.
Rejected: ``http.title:"Outlook"`` (themed titles such as "ABC - Outlook WebApp" miss it, non-Exchange
"Outlook" pages and pre-auth proxies such as KEMP's "Outlook Web App Login" match it);
``http.html:"/owa/auth/"`` (misses 2007/2010, whose paths are ``/owa/<build>/``, and pages whose paths
a rewrite rule stripped); ``"X-OWA-Version"`` (misses every server whose hardening removed the header,
and the header is only on some crawled responses). Known blind spots, reported as such: OWA behind a
pre-authentication proxy (TMG, KEMP ESP) that never shows Microsoft's page, and look-alike phishing
pages that copy the comment. Shodan ANDs query terms, so ``base path`` counts a subset of ``base``.

Each path query carries a trailing ``/`` so that ``/owa/auth/15.1.25/`` can never match
``/owa/auth/15.1.2507/``; a page names one resource folder, so the path counts are disjoint and a
banner is counted once even when it also discloses a 4-part ``X-OWA-Version`` header (count mode
does not query headers; deep mode reads them).

Counts are banners (services), not hosts. Any failure raises a :class:`~bot.exposure.client.ShodanError`
before a :class:`~bot.core.exposure_model.Snapshot` exists, so a half-taken snapshot is never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.catalog import Catalog
from bot.core.exposure_model import BuildCount, Snapshot
from bot.exposure.client import ShodanClient, ShodanServerError

BASE_QUERY = 'http.html:"OwaPage = ASP.auth_logon_aspx"'
# Larger than the number of ISO 3166-1 codes (249) plus Shodan's extra ones (XK, EU, AP, ...), so the
# facet lists every country and ``total - sum(buckets)`` is only banners without a country.
COUNTRY_FACET_SIZE = 300
COUNTRY_FACET = ("country", COUNTRY_FACET_SIZE)
_SP_PRODUCTS = ("Exchange 2007", "Exchange 2010")
_PATH_PRODUCTS = ("Exchange 2013", "Exchange 2016", "Exchange 2019", "Exchange SE")

# progress(done, total, label): done of total requests planned so far.
Progress = Callable[[int, int, str], None]


@dataclass(frozen=True)
class BuildPath:
    build: str  # 3 parts (2013+) or 4 parts (2007/2010)
    path: str  # as it appears in the logon page


def build_paths(catalog: Catalog) -> list[BuildPath]:
    """Every OWA resource path the knowledge base can name, oldest build first, without duplicates."""
    seen: dict[str, BuildPath] = {}
    for line in catalog.lines:
        if line.product in _SP_PRODUCTS:
            for rel in line.releases:
                b = str(rel.build)
                seen.setdefault(b, BuildPath(b, f"/owa/{b}/"))
        elif line.product in _PATH_PRODUCTS:
            b = ".".join(str(p) for p in line.key[:3])
            seen.setdefault(b, BuildPath(b, f"/owa/auth/{b}/"))
    return sorted(seen.values(), key=lambda p: tuple(int(x) for x in p.build.split(".")))


def path_query(base_query: str, path: str) -> str:
    return f'{base_query} http.html:"{path}"'


def parse_country_facet(result: Mapping[str, Any]) -> tuple[int, dict[str, int], int, bool]:
    """(total, per-country counts, unattributed, possibly_truncated) from a count answer."""
    try:
        total = int(result["total"])
        buckets = (result.get("facets") or {}).get("country") or []
        countries: dict[str, int] = {}
        for b in buckets:
            code = str(b["value"]).upper()
            countries[code] = countries.get(code, 0) + int(b["count"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ShodanServerError(f"Shodan server error (unexpected count answer: {exc!r})") from None
    attributed = sum(countries.values())
    return total, countries, max(0, total - attributed), len(buckets) >= COUNTRY_FACET_SIZE


def take_snapshot(
    client: ShodanClient,
    catalog: Catalog,
    *,
    now: Callable[[], dt.datetime],
    progress: Progress | None = None,
    base_query: str = BASE_QUERY,
    paths: Iterable[BuildPath] | None = None,
) -> Snapshot:
    """A complete count-mode snapshot, or an exception (nothing partial is ever returned)."""
    todo = list(paths) if paths is not None else build_paths(catalog)
    planned = 1 + len(todo)
    started = now()
    warnings: list[str] = []
    start_requests = client.requests

    def report(done: int, label: str) -> None:
        if progress is not None:
            progress(done, planned, label)

    report(0, "base query")
    total, countries, unattributed, truncated = parse_country_facet(client.count(base_query, [COUNTRY_FACET]))
    if truncated:
        warnings.append(
            f"the country facet returned {COUNTRY_FACET_SIZE} buckets: the smallest countries may be "
            "counted as unattributed"
        )
    report(1, "base query")
    builds: list[BuildCount] = []
    if total > 0:
        for i, bp in enumerate(todo, start=2):
            q = path_query(base_query, bp.path)
            n, per_country, unatt, trunc = parse_country_facet(client.count(q, [COUNTRY_FACET]))
            if trunc:
                warnings.append(f"country facet truncated for {bp.build}")
            if n > 0:
                builds.append(BuildCount(build=bp.build, total=n, countries=per_country, unattributed=unatt, query=q))
            report(i, bp.build)
    else:
        report(planned, "no Exchange banners: build counts skipped")
    finished = now()
    meta = {
        "unit": "banners",
        "builds_counted": str(len(todo) if total > 0 else 0),
        "facet_size": str(COUNTRY_FACET_SIZE),
        "finished_at": finished.isoformat(),
        "path_query": path_query(base_query, "<path>"),
    }
    if warnings:
        meta["warnings"] = "\n".join(warnings)
    return Snapshot(
        taken_at=started,
        query=base_query,
        total=total,
        countries=countries,
        unattributed=unattributed,
        builds=tuple(builds),
        credits_used=0,
        requests=client.requests - start_requests,
        complete=True,
        knowledge_version=catalog.version,
        mode="count",
        meta=meta,
    )
