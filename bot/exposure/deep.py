"""Deep mode: download the banners of the base query to read 4-part builds. **Costs query credits.**

Shodan charges 1 query credit per page of 100 results for a filtered query, so a deep snapshot of
``total`` banners costs ``ceil(total / 100)`` credits. Before spending any, the balance is read from
``/api-info`` (free) and the total from a ``count()`` (free); the run is refused when the estimate
exceeds ``--max-credits`` or the balance. The query carries the region's ``country:`` list (or the
user's ``net:``/``asn:`` filter), so ``/exposure de --deep`` pays for Germany only. Pages are fetched
one by one with ``search(page=n)`` (``search_cursor`` would hide errors): **every** page up to
``ceil(total / 100)``, never more. Shodan returns short pages mid-search, so a short page is not the
end: reading goes on, and a shortfall (banners the total promised but no page delivered) is reported
in ``warnings``. Page 1's shape is validated before any host is counted: ``fields`` may come back
nested (``{"http": {"html": ...}}``) or flat (``{"http.html": ...}``); both are read, anything else
is refused. Every host is kept (IP, port, hostnames, ASN, org, country, build, verdict, seen at) so
a CERT can notify the owners (``exchbot exposure hosts``).

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

import datetime as dt
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.assess import assess_build
from bot.core.buildnum import Build, BuildParseError, parse_build
from bot.core.catalog import Catalog
from bot.core.exposure_model import BuildCount, Host, Snapshot
from bot.exposure.api import ShodanApi
from bot.exposure.client import AccessDenied, BudgetExceeded, NoCredits, ShodanError, ShodanServerError
from bot.exposure.snapshot import BASE_QUERY, COUNTRY_FACET, Progress, parse_country_facet

PAGE_SIZE = 100
FIELDS = (
    "ip_str",
    "port",
    "data",
    "location.country_code",
    "http.html",
    "http.redirects",
    "hostnames",
    "asn",
    "org",
    "timestamp",
)
_MAX_NAMES = 10  # hostnames kept per host
_MAX_TEXT = 200  # characters kept of any banner text field
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


def page_shape(res: Mapping[str, Any]) -> str:
    """ "nested" or "flat" (how ``fields`` came back), "empty"; ShodanServerError for anything else."""
    matches = res.get("matches")
    if not isinstance(matches, list):
        raise ShodanServerError("Shodan server error (a search page without a list of matches); nothing was stored")
    items = [m for m in matches if isinstance(m, Mapping)]
    if not matches:
        return "empty"
    if len(items) < len(matches) or not any(isinstance(m.get("ip_str"), str) for m in items):
        raise ShodanServerError(
            "Shodan server error (search results are not banners with ip_str; the fields shape changed?); "
            "nothing was stored"
        )
    if any(isinstance(m.get("http"), Mapping) or isinstance(m.get("location"), Mapping) for m in items):
        return "nested"
    if any("." in str(k) for m in items for k in m):
        return "flat"
    return "nested"


def unflatten(banner: Mapping[str, Any]) -> dict[str, Any]:
    """``{"http.html": x}`` -> ``{"http": {"html": x}}`` (nested keys are kept as they are)."""
    out: dict[str, Any] = {}
    for key, value in banner.items():
        parts = str(key).split(".")
        dst = out
        for part in parts[:-1]:
            nxt = dst.get(part)
            if not isinstance(nxt, dict):
                nxt = dst[part] = {}
            dst = nxt
        dst[parts[-1]] = value
    return out


def _text(value: Any) -> str | None:
    if isinstance(value, int | float) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str) or not value.strip():
        return None
    return " ".join(value.split())[:_MAX_TEXT]


@dataclass
class _Seen:
    """What the banners of one host said, gathered across its Shodan matches."""

    country: str | None
    build: Build | None
    port: int | None
    hostnames: list[str]
    asn: str | None
    org: str | None
    seen_at: str | None


class DeepTally:
    """Hosts by IP: country, lowest build, and what a notification needs. Feed banners with :meth:`add`."""

    def __init__(self) -> None:
        self.seen: dict[str, _Seen] = {}
        self.banners = 0

    @property
    def hosts(self) -> dict[str, tuple[str | None, Build | None]]:
        return {ip: (s.country, s.build) for ip, s in self.seen.items()}

    def add(self, banner: Mapping[str, Any]) -> None:
        self.banners += 1
        ip = banner.get("ip_str")
        if not isinstance(ip, str) or not ip:
            ip = f"?{self.banners}"  # no address: cannot be merged with anything, count it alone
        ip = ip[:64]
        loc = banner.get("location")
        country = _text(loc.get("country_code")) if isinstance(loc, Mapping) else None
        country = country.upper()[:8] if country else None
        build = best_build(banner_builds(banner))
        port = banner.get("port")
        port = port if isinstance(port, int) and not isinstance(port, bool) and 0 <= port <= 65535 else None
        names_raw = banner.get("hostnames")
        names = [t for t in (_text(h) for h in names_raw) if t] if isinstance(names_raw, list) else []
        old = self.seen.get(ip)
        if old is None:
            self.seen[ip] = _Seen(
                country,
                build,
                port,
                names[:_MAX_NAMES],
                _text(banner.get("asn")),
                _text(banner.get("org")),
                _text(banner.get("timestamp")),
            )
            return
        old.country = old.country or country
        if build is not None and (old.build is None or _rank(build) < _rank(old.build)):
            old.build, old.port = build, port  # the banner that decides names the port
        old.hostnames.extend(n for n in names if n not in old.hostnames and len(old.hostnames) < _MAX_NAMES)
        old.asn = old.asn or _text(banner.get("asn"))
        old.org = old.org or _text(banner.get("org"))
        ts = _text(banner.get("timestamp"))
        if ts and (old.seen_at is None or ts > old.seen_at):
            old.seen_at = ts

    def host_rows(self, catalog: Catalog, today: dt.date) -> tuple[Host, ...]:
        rows: list[Host] = []
        for ip, s in self.seen.items():
            a = assess_build(s.build, catalog, today) if s.build is not None else None
            rows.append(
                Host(
                    ip=ip,
                    port=s.port,
                    hostnames=tuple(s.hostnames),
                    country=s.country,
                    asn=s.asn,
                    org=s.org,
                    build=str(s.build) if s.build is not None else None,
                    product=a.product if a else None,
                    eol=a.eol if a else None,
                    families=dict(a.families) if a else {},
                    seen_at=s.seen_at,
                )
            )
        return tuple(rows)

    def counts(self) -> tuple[int, dict[str, int], int, tuple[BuildCount, ...]]:
        """(hosts, hosts per country, hosts without country, per-build counts)."""
        countries: dict[str, int] = {}
        unattributed = 0
        per_build: dict[str, dict[str, int]] = {}
        for s in self.seen.values():
            country, build = s.country, s.build
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
    client: ShodanApi,
    catalog: Catalog,
    *,
    max_credits: int,
    now: Callable[[], dt.datetime],
    progress: Progress | None = None,
    base_query: str = BASE_QUERY,
    scope_filter: str = "",
    scope: str = "world",
) -> Snapshot:
    """A complete deep snapshot, or an exception before (budget) or instead of storing anything.

    ``scope_filter`` (e.g. ``country:DE`` or ``net:192.0.2.0/24``) is ANDed to the base query and
    must already be validated; ``scope`` names it (the region) in the snapshot."""
    started = now()
    start_requests = client.requests
    query = f"{base_query} {scope_filter}".strip()
    info = client.info()
    try:
        balance = int(info.get("query_credits", 0))
    except (TypeError, ValueError):
        balance = 0
    total, _, _, _ = parse_country_facet(client.count(query, [COUNTRY_FACET]))
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
    short: list[str] = []
    shape = "none"
    for page in range(1, pages + 1):
        res = client.search_page(query, page, fields=FIELDS)
        fetched += 1
        if page == 1:
            shape = page_shape(res)
        matches = res.get("matches") if isinstance(res.get("matches"), list) else []
        assert isinstance(matches, list)
        for banner in matches:
            if isinstance(banner, Mapping):
                tally.add(unflatten(banner) if shape == "flat" else banner)
        expected = min(PAGE_SIZE, total - (page - 1) * PAGE_SIZE)
        if len(matches) < expected:
            short.append(f"{page} ({len(matches)} of {expected})")
        if progress is not None:
            progress(page, pages, f"page {page}/{pages}, {tally.banners} banners")
    warnings: list[str] = []
    if tally.banners < total:
        warnings.append(
            f"shortfall: {total - tally.banners} of {total} banners were not delivered "
            f"(short pages: {', '.join(short[:10]) or 'none'}; all {fetched} pages were read)"
        )
    hosts, countries, unattributed, builds = tally.counts()
    meta = {
        "unit": "hosts",
        "banners": str(tally.banners),
        "banners_expected": str(total),
        "pages": str(fetched),
        "credits_estimate": str(pages),
        "balance_before": str(balance),
        "finished_at": now().isoformat(),
        "scope": scope,
        "scope_filter": scope_filter,
        "fields_shape": shape,
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
        query=query,
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
        hosts=tally.host_rows(catalog, started.date()),
    )
