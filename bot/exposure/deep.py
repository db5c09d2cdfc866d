"""Deep mode: download the banners of the base query to read 4-part builds. **Costs query credits.**

Shodan charges 1 query credit per page of 100 results for a filtered query, so a deep snapshot of
``total`` banners costs ``ceil(total / 100)`` credits. Before spending any, the balance is read from
``/api-info`` (free) and the total from a ``count()`` (free); the run is refused when the estimate
exceeds ``--max-credits`` or the balance. Pages are fetched one by one with ``search(page=n)``
(``search_cursor`` would hide errors) and never more than the estimate, even if the population grew
meanwhile (a warning says how many banners were left unread).

What a banner tells (all case-insensitive, zero padding normalised by :func:`parse_build`):

* ``X-OWA-Version`` in the raw headers of the final response (``data``) and of every redirect hop
  (``http.redirects[].data``: Shodan follows ``/`` -> ``/owa/`` and the 302 often carries it);
* the OWA resource path in ``http.html`` (3 parts for 2013+, 4 for 2007/2010).

When they disagree, the **lowest** CU wins (a header rewritten to look newer, a mixed pool); within
one CU a 4-part build beats the 3-part path. Banners are de-duplicated by IP (``ip_str``): an IP
counts once, with the lowest build of all its banners, so deep counts are hosts. Memory is bounded
by the number of distinct IPs (one small tuple each); banners are dropped page by page.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from bot.core.buildnum import Build, BuildParseError, parse_build
from bot.core.catalog import Catalog
from bot.core.exposure_model import BuildCount, Snapshot
from bot.exposure.client import AccessDenied, BudgetExceeded, NoCredits, ShodanClient, ShodanError
from bot.exposure.snapshot import BASE_QUERY, COUNTRY_FACET, Progress, parse_country_facet

PAGE_SIZE = 100
FIELDS = ("ip_str", "port", "data", "location.country_code", "http.html", "http.redirects")
_HEADER = re.compile(r"^x-owa-version:[ \t]*([0-9][0-9.]{2,40})", re.I | re.M)
_PATH_MODERN = re.compile(r"/owa/auth/(\d{1,2}\.\d{1,2}\.\d{1,5})/")
_PATH_OLD = re.compile(r"/owa/(\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5})/")
_MAX_HTML = 200_000  # the paths are in the page head; a huge page need not be scanned to its end


def _may_search(info: Mapping[str, Any]) -> bool:
    """False when /api-info describes a free account: ``unlocked`` false (no membership) or plan "oss"/"free"."""
    return info.get("unlocked") is not False and str(info.get("plan", "")).lower() not in ("oss", "free")


def estimate_credits(total: int) -> int:
    return math.ceil(max(0, total) / PAGE_SIZE)


def _rank(b: Build) -> tuple[tuple[int, ...], int, tuple[int, ...]]:
    """Lower is chosen: lowest CU first, then a 4-part build over a 3-part one, then the lowest."""
    return (b.parts[:3], 0 if b.precision == 4 else 1, b.parts)


def _parse(text: str) -> Build | None:
    try:
        return parse_build(text.strip().rstrip("."))
    except BuildParseError:
        return None


def banner_builds(banner: Mapping[str, Any]) -> list[Build]:
    """Every build a banner discloses: X-OWA-Version in ``data`` and redirect hops, OWA paths in the HTML."""
    found: list[Build] = []
    http = banner.get("http") or {}
    texts: list[str] = [banner.get("data") or ""]
    for hop in http.get("redirects") or []:
        if isinstance(hop, Mapping):
            texts.append(hop.get("data") or "")
    for text in texts:
        if isinstance(text, str) and "owa-version" in text.lower():
            found.extend(b for b in (_parse(m) for m in _HEADER.findall(text)) if b is not None)
    html = http.get("html")
    if isinstance(html, str) and "/owa/" in html:
        head = html[:_MAX_HTML]
        for rx in (_PATH_MODERN, _PATH_OLD):
            m = rx.search(head)
            if m:
                b = _parse(m.group(1))
                if b is not None:
                    found.append(b)
    return found


def best_build(builds: Iterable[Build]) -> Build | None:
    return min(builds, key=_rank, default=None)


class DeepTally:
    """Hosts by IP: (country, lowest build). Feed banners with :meth:`add`."""

    def __init__(self) -> None:
        self.hosts: dict[str, tuple[str | None, Build | None]] = {}
        self.banners = 0

    def add(self, banner: Mapping[str, Any]) -> None:
        self.banners += 1
        ip = banner.get("ip_str")
        if not isinstance(ip, str) or not ip:
            ip = f"?{self.banners}"  # no address: cannot be merged with anything, count it alone
        country = (banner.get("location") or {}).get("country_code") or None
        build = best_build(banner_builds(banner))
        old = self.hosts.get(ip)
        if old is not None:
            country = old[0] or country
            if old[1] is not None and (build is None or _rank(old[1]) <= _rank(build)):
                build = old[1]
        self.hosts[ip] = (country.upper() if isinstance(country, str) else None, build)

    def counts(self) -> tuple[int, dict[str, int], int, tuple[BuildCount, ...]]:
        """(hosts, hosts per country, hosts without country, per-build counts)."""
        countries: dict[str, int] = {}
        unattributed = 0
        per_build: dict[str, dict[str, int]] = {}
        for country, build in self.hosts.values():
            key = country or ""
            if country:
                countries[country] = countries.get(country, 0) + 1
            else:
                unattributed += 1
            if build is not None:
                bucket = per_build.setdefault(str(build), {})
                bucket[key] = bucket.get(key, 0) + 1
        builds = tuple(
            BuildCount(
                build=b,
                total=sum(c.values()),
                countries={k: v for k, v in c.items() if k},
                unattributed=c.get("", 0),
                query="deep: X-OWA-Version header or OWA path",
            )
            for b, c in sorted(per_build.items())
        )
        return len(self.hosts), countries, unattributed, builds


def take_deep_snapshot(
    client: ShodanClient,
    catalog: Catalog,
    *,
    max_credits: int,
    now: Callable[[], dt.datetime],
    progress: Progress | None = None,
    base_query: str = BASE_QUERY,
) -> Snapshot:
    """A complete deep snapshot, or an exception before (budget) or instead of storing anything."""
    started = now()
    start_requests = client.requests
    info = client.info()
    try:
        balance = int(info.get("query_credits", 0))
    except (TypeError, ValueError):
        balance = 0
    total, _, _, _ = parse_country_facet(client.count(base_query, [COUNTRY_FACET]))
    pages = estimate_credits(total)
    if pages > max_credits:
        raise BudgetExceeded(
            f"deep mode would spend about {pages} query credits ({total} banners, 100 per credit); "
            f"--max-credits is {max_credits}: nothing was spent"
        )
    if pages > balance and not _may_search(info):
        plan = info.get("plan") or "unknown"
        raise AccessDenied(
            f"Shodan: this API plan ({plan}) cannot download search results (free keys get 403 "
            "Forbidden); deep mode needs a membership or paid plan; nothing was spent"
        )
    if pages > balance:
        raise NoCredits(
            f"Shodan: not enough query credits for deep mode (needs about {pages}, the key has "
            f"{balance} left); nothing was spent"
        )
    tally = DeepTally()
    fetched = 0
    reported_total = total
    for page in range(1, pages + 1):
        res = client.search_page(base_query, page, fields=FIELDS)
        fetched += 1
        matches = res.get("matches") or []
        with contextlib.suppress(TypeError, ValueError):
            reported_total = int(res.get("total", reported_total))
        for banner in matches:
            if isinstance(banner, Mapping):
                tally.add(banner)
        if progress is not None:
            progress(page, pages, f"page {page}/{pages}, {tally.banners} banners")
        if len(matches) < PAGE_SIZE:
            break  # the last page (the population may have shrunk since the count)
    warnings: list[str] = []
    if reported_total > tally.banners and fetched == pages:
        warnings.append(f"{reported_total - tally.banners} banners were not read (the budget covered {pages} pages)")
    hosts, countries, unattributed, builds = tally.counts()
    meta = {
        "unit": "hosts",
        "banners": str(tally.banners),
        "pages": str(fetched),
        "credits_estimate": str(pages),
        "balance_before": str(balance),
        "finished_at": now().isoformat(),
        "signals": "X-OWA-Version in data and http.redirects[].data; OWA paths in http.html",
    }
    try:
        after = client.info().get("query_credits")
        meta["balance_after"] = str(after)
    except ShodanError:
        pass  # the snapshot is complete; the balance is only informative
    if warnings:
        meta["warnings"] = "\n".join(warnings)
    return Snapshot(
        taken_at=started,
        query=base_query,
        total=hosts,
        countries=countries,
        unattributed=unattributed,
        builds=builds,
        credits_used=fetched,
        requests=client.requests - start_requests,
        complete=True,
        knowledge_version=catalog.version,
        mode="deep",
        meta=meta,
    )
