"""``exchbot exposure calibrate``: the day-one checks of what Shodan leaves undocumented.

Every check but the last is a free ``count()``; each one's reading goes into a
:class:`~bot.core.exposure_model.Calibration` that count mode then uses (a cap it must expect, how to
count 2007/2010 folders, whether to refuse at once). Calibration is never required: without it,
defaults and the snapshot's self-checks apply.

1. **Repeated filters**: the base query ANDed with an ``http.html`` term no page contains. ANDed,
   the count is 0; ORed, it equals the base total (then per-build counts are meaningless).
2. **Dotted paths**: ``/owa/auth/15`` (a prefix of every 2013+ folder) and ``/owa/auth/1`` (a partial
   term). Shodan matches ``http.html`` by terms; if ``15.1.2507`` is one term the prefix finds
   nothing ("whole"); if dots split terms it finds every 2013+ page ("split"); if even the partial
   term matches, the index matches substrings ("substring").
3. **The facet cap**: the country facet asked for 300 buckets against one count with every country
   code; fewer buckets than countries with banners means Shodan cut it there.
4. **2007/2010 marker**: pages titled "Outlook Web App" without a 2013+ ``/owa/auth/15`` folder, with
   and without the base query's marker (approximate: 2013's title is the same).
5. **Favicon coverage**: the base query's commonest favicon hashes, and how many banners carry the
   commonest one without the marker (pages the base query misses).
6. Optionally (``--page``, 1 query credit): one search page, to see whether ``fields`` come back
   nested or flat.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from bot.core.exposure_model import Calibration
from bot.exposure.api import ShodanApi
from bot.exposure.deep import FIELDS, page_shape
from bot.exposure.snapshot import BASE_QUERY, COUNTRY_FACET, country_filter, parse_country_facet, parse_ranked

NO_SUCH_TERM = "zqxexchbotnosuchterm"
OLD_PAGES = 'http.title:"Outlook Web App" -http.html:"/owa/auth/15"'


def _total(res: dict[str, Any]) -> int:
    try:
        return int(res.get("total", 0))
    except (TypeError, ValueError):
        return 0


def calibrate(
    api: ShodanApi,
    *,
    now: Callable[[], dt.datetime],
    world_codes: frozenset[str],
    base_query: str = BASE_QUERY,
    page: bool = False,
) -> Calibration:
    findings: list[str] = []
    base, countries, _, n_buckets = parse_country_facet(api.count(base_query, [COUNTRY_FACET]))
    findings.append(f"base query: {base:,} banners")

    nonsense = _total(api.count(f'{base_query} http.html:"{NO_SUCH_TERM}"'))
    if base == 0:
        repeated = "unclear"
        findings.append("repeated filters: cannot tell (the base query finds nothing)")
    elif nonsense == 0:
        repeated = "and"
        findings.append("repeated filters are ANDed (base AND an absent term: 0): per-build counts hold")
    elif nonsense >= base:
        repeated = "or"
        findings.append(
            f"PROBLEM: repeated filters are ORed (base AND an absent term: {nonsense:,}): count mode refuses"
        )
    else:
        repeated = "unclear"
        findings.append(f"repeated filters: unclear (base AND an absent term: {nonsense:,} of {base:,})")

    prefix = _total(api.count(f'{base_query} http.html:"/owa/auth/15"'))
    partial = _total(api.count(f'{base_query} http.html:"/owa/auth/1"'))
    if repeated == "or" or base == 0:
        dotted = "unclear"
    elif partial > 0:
        dotted = "substring"
        findings.append("dotted paths: matched as substrings (a partial term matches); exact paths are counted")
    elif prefix > 0:
        dotted = "split"
        findings.append("dotted paths are split into terms: 2007/2010 folders are counted by 3-part prefix")
    else:
        dotted = "whole"
        findings.append(
            "dotted paths are whole terms (a prefix matches nothing): every revision of a 2007/2010 build is counted"
        )

    attributed = _total(api.count(f"{base_query} {country_filter(world_codes)}"))
    in_buckets = sum(countries.values())
    cap: int | None = None
    if attributed > in_buckets:
        cap = n_buckets
        findings.append(
            f"PROBLEM: the country facet is cut at {n_buckets} buckets ({attributed - in_buckets:,} banners with a "
            "country in none): region totals come from country-filtered counts"
        )
    else:
        findings.append(f"country facet: {n_buckets} buckets, none cut")

    old_pages = _total(api.count(OLD_PAGES))
    old_marked = _total(api.count(f"{base_query} {OLD_PAGES}"))
    if old_pages == 0:
        marker = "no data"
        findings.append("2007/2010 marker: no page titled Outlook Web App without a 2013+ folder")
    elif old_marked >= old_pages:
        marker = "yes"
        findings.append(f"2007/2010 marker: all {old_pages:,} older-looking pages carry it")
    elif old_marked == 0:
        marker = "no"
        findings.append(f"PROBLEM: 2007/2010 marker: none of {old_pages:,} older-looking pages carries it")
    else:
        marker = "partly"
        findings.append(f"2007/2010 marker: {old_marked:,} of {old_pages:,} older-looking pages carry it")

    favicon = parse_ranked(api.count(base_query, [("http.favicon.hash", 5)]), "http.favicon.hash")[:5]
    if favicon and base:
        top, n = favicon[0]
        with_hash = _total(api.count(f"http.favicon.hash:{int(top)}")) if top.lstrip("-").isdigit() else 0
        findings.append(
            f"favicon: hash {top} on {n:,} of {base:,} base banners ({100 * n / base:.0f}%); "
            f"{max(0, with_hash - n):,} banners carry it without the marker"
        )
    else:
        findings.append("favicon: the base banners carry no favicon hash")

    shape: str | None = None
    if page:
        shape = page_shape(api.search_page(base_query, 1, fields=FIELDS))
        findings.append(f"search page 1 (1 query credit): fields come back {shape}")
    return Calibration(
        taken_at=now(),
        repeated_filters=repeated,
        dotted=dotted,
        facet_cap=cap,
        old_marker=marker,
        favicon=favicon,
        base_total=base,
        fields_shape=shape,
        findings=tuple(findings),
    )
