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

**2007/2010 folders drift.** Real OWA folders often differ from the published build in the last
part (``/owa/14.3.123.3/`` where the published build is 14.3.123.4), so by default every revision
from 0 up to the published one is counted under its own build number (the knowledge base places a
drifted revision in the right service pack). When calibration found that Shodan splits dotted paths
into terms, one count per 3-part prefix (``/owa/14.3.123``) covers every revision instead.

**Self-checks** (:func:`check_counts`) run before a snapshot exists: no single path count equal to
the base total while others are non-zero, their sum not above the base, not all zero when the base
is large. A failed check raises :class:`SnapshotRefused` naming the check; nothing is stored.
**The country facet** may be cut below the size asked (300): one more free count with every
country code of the catalog gives the exact number of banners with a country, so ``unattributed``
is exact and a cut is reported in ``warnings`` with the number of buckets; region totals then come
from :func:`count_region` (one free count per region with its own ``country:`` list, which also
names the region's top organisations and ASNs).

Counts are banners (services), not hosts. Any failure raises a :class:`~bot.exposure.client.ShodanError`
before a :class:`~bot.core.exposure_model.Snapshot` exists, so a half-taken snapshot is never stored.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.catalog import Catalog
from bot.core.exposure_model import BuildCount, Calibration, Ranked, RegionCount, Snapshot
from bot.exposure.api import ShodanApi
from bot.exposure.client import ShodanError, ShodanServerError

BASE_QUERY = 'http.html:"OwaPage = ASP.auth_logon_aspx"'
# Larger than the number of ISO 3166-1 codes (249) plus Shodan's extra ones (XK, EU, AP, ...), so the
# facet lists every country unless Shodan cuts it (then the cross-check below notices).
COUNTRY_FACET_SIZE = 300
COUNTRY_FACET = ("country", COUNTRY_FACET_SIZE)
NAME_FACET_SIZE = 10  # organisations and ASNs per region (free, in the same count)
ZERO_CHECK_MIN = 200  # base totals from which "every path count is 0" cannot be chance
_SP_PRODUCTS = ("Exchange 2007", "Exchange 2010")
_PATH_PRODUCTS = ("Exchange 2013", "Exchange 2016", "Exchange 2019", "Exchange SE")

# progress(done, total, label): done of total requests planned so far.
Progress = Callable[[int, int, str], None]


class SnapshotRefused(ShodanError):
    """A self-check failed: the counts cannot all be true, so the snapshot is not stored."""

    kind = "self_check"


@dataclass(frozen=True)
class BuildPath:
    """An OWA resource path a build's logon page shows, counted on Shodan as that build."""

    build: str  # 3 parts (2013+, or a 2007/2010 prefix) or 4 parts (2007/2010)
    path: str  # as it appears in the logon page


def build_paths(catalog: Catalog, *, old: str = "revisions") -> list[BuildPath]:
    """Every OWA resource path to count, oldest build first, without duplicates.

    ``old`` says how 2007/2010 folders are counted: "revisions" (each published build and every
    lower revision of it, ``/owa/14.3.123.0/`` ... ``/owa/14.3.123.4/``), "prefix" (one 3-part
    prefix per build, for an index that splits dotted paths into terms) or "exact" (published only).
    """
    seen: dict[str, BuildPath] = {}
    for line in catalog.lines:
        if line.product in _SP_PRODUCTS:
            for rel in line.releases:
                parts = rel.build.parts
                if old == "prefix":
                    b = ".".join(str(p) for p in parts[:3])
                    seen.setdefault(b, BuildPath(b, f"/owa/{b}"))
                    continue
                last = parts[3] if len(parts) > 3 else 0
                revisions = range(last + 1) if old == "revisions" else (last,)
                for rev in revisions:
                    b = ".".join(str(p) for p in (*parts[:3], rev))
                    seen.setdefault(b, BuildPath(b, f"/owa/{b}/"))
        elif line.product in _PATH_PRODUCTS:
            b = ".".join(str(p) for p in line.key[:3])
            seen.setdefault(b, BuildPath(b, f"/owa/auth/{b}/"))
    return sorted(seen.values(), key=lambda p: tuple(int(x) for x in p.build.split(".")))


def old_mode(calibration: Calibration | None) -> str:
    return "prefix" if calibration is not None and calibration.dotted == "split" else "revisions"


def path_query(base_query: str, path: str) -> str:
    return f'{base_query} http.html:"{path}"'


def country_filter(codes: Iterable[str]) -> str:
    """``country:AT,BE,...`` (codes are the catalog's ISO codes, never user text)."""
    return "country:" + ",".join(sorted(c for c in codes if len(c) == 2 and c.isalpha()))


def _buckets(result: Mapping[str, Any], name: str) -> list[Mapping[str, Any]]:
    buckets = (result.get("facets") or {}).get(name) or []
    if not isinstance(buckets, list):
        raise TypeError(f"facet {name} is not a list")
    return buckets


def parse_country_facet(result: Mapping[str, Any]) -> tuple[int, dict[str, int], int, int]:
    """(total, per-country counts, total minus the buckets, number of buckets) from a count answer."""
    try:
        total = int(result["total"])
        buckets = _buckets(result, "country")
        countries: dict[str, int] = {}
        for b in buckets:
            code = str(b["value"]).upper()[:8]
            countries[code] = countries.get(code, 0) + int(b["count"])
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ShodanServerError(f"Shodan server error (unexpected count answer: {exc!r})") from None
    attributed = sum(countries.values())
    return total, countries, max(0, total - attributed), len(buckets)


def parse_ranked(result: Mapping[str, Any], name: str) -> Ranked:
    """A facet as (name, count) pairs, largest first; unreadable buckets are skipped."""
    out: dict[str, int] = {}
    try:
        buckets = _buckets(result, name)
    except TypeError:
        return ()
    for b in buckets:
        try:
            key = " ".join(str(b["value"]).split())[:120]  # hostile text: one bounded line
            out[key] = out.get(key, 0) + max(0, int(b["count"]))
        except (KeyError, TypeError, ValueError, AttributeError):
            continue
    return tuple(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def _cap(calibration: Calibration | None) -> int:
    if calibration is not None and calibration.facet_cap:
        return min(COUNTRY_FACET_SIZE, calibration.facet_cap)
    return COUNTRY_FACET_SIZE


def count_region(api: ShodanApi, base_query: str, region: str, codes: frozenset[str], *, world: bool) -> RegionCount:
    """One free count of ``region`` (its own ``country:`` list; none for world) with org/ASN facets."""
    query = base_query if world else f"{base_query} {country_filter(codes)}"
    res = api.count(query, [("org", NAME_FACET_SIZE), ("asn", NAME_FACET_SIZE)])
    try:
        total = int(res["total"])
    except (KeyError, TypeError, ValueError) as exc:
        raise ShodanServerError(f"Shodan server error (unexpected count answer: {exc!r})") from None
    return RegionCount(
        region=region,
        total=total,
        by_org=parse_ranked(res, "org"),
        by_asn=parse_ranked(res, "asn"),
        query=query if world else f"{base_query} country:<{len(codes)} codes>",
    )


def check_counts(total: int, counts: Mapping[str, int], *, zero_min: int = ZERO_CHECK_MIN) -> None:
    """Raise :class:`SnapshotRefused` when the per-path counts cannot be subsets of the base total."""
    hint = "; run `exchbot exposure calibrate` to see how Shodan reads the query. Nothing was stored."
    if total <= 0 or not counts:
        return
    values = list(counts.values())
    equal = [b for b, n in counts.items() if n == total]
    if equal and sum(values) - total > 0:
        raise SnapshotRefused(
            f"snapshot refused (check 'path-count-equals-base'): the count for {equal[0]} equals the base "
            f"total ({total}) while other builds are counted too, as if Shodan ORed the repeated "
            f"http.html filters{hint}"
        )
    if sum(values) > total:
        raise SnapshotRefused(
            f"snapshot refused (check 'sum-above-base'): the per-build counts add up to {sum(values)}, more "
            f"than the {total} banners of the base query, so they are not subsets of it{hint}"
        )
    if total >= zero_min and not any(values):
        raise SnapshotRefused(
            f"snapshot refused (check 'all-zero'): every per-build count is 0 while the base query finds "
            f"{total} banners, as if no path term ever matched (tokenisation){hint}"
        )


def take_snapshot(
    client: ShodanApi,
    catalog: Catalog,
    *,
    now: Callable[[], dt.datetime],
    progress: Progress | None = None,
    base_query: str = BASE_QUERY,
    paths: Iterable[BuildPath] | None = None,
    calibration: Calibration | None = None,
    regions: Mapping[str, frozenset[str]] | None = None,
    zero_min: int = ZERO_CHECK_MIN,
) -> Snapshot:
    """A complete, self-checked count-mode snapshot, or an exception (nothing partial is returned).

    ``regions`` ({name: codes}) are cross-checked with one free count each and kept in the snapshot.
    """
    if calibration is not None and calibration.repeated_filters == "or":
        raise SnapshotRefused(
            "snapshot refused (check 'repeated-filters-and'): calibration "
            f"({calibration.taken_at:%Y-%m-%d}) found that Shodan ORs repeated filters, so per-build "
            "counts would all equal the base total. Nothing was stored."
        )
    old = old_mode(calibration)
    todo = list(paths) if paths is not None else build_paths(catalog, old=old)
    wanted = dict(regions or {})
    planned = 2 + len(todo) + len(wanted)
    started = now()
    warnings: list[str] = []
    start_requests = client.requests
    world_codes = catalog.regions.get("world", frozenset()) | frozenset(catalog.countries)
    cap = _cap(calibration)

    def report(done: int, label: str) -> None:
        if progress is not None:
            progress(done, planned, label)

    report(0, "base query")
    total, countries, _, n_buckets = parse_country_facet(client.count(base_query, [COUNTRY_FACET]))
    report(1, "base query")
    attributed, _, _, _ = parse_country_facet(client.count(f"{base_query} {country_filter(world_codes)}"))
    report(2, "banners with a country")
    in_buckets = sum(countries.values())
    unattributed = max(0, total - max(attributed, in_buckets))
    cut = attributed > in_buckets or n_buckets >= cap
    if cut:
        warnings.append(
            f"the country facet was cut at {n_buckets} buckets: {max(0, attributed - in_buckets)} banners with "
            "a country are in no bucket, so region totals come from country-filtered counts and per-build "
            "counts of small countries may be low"
        )
    builds: list[BuildCount] = []
    done = 2
    if total > 0:
        found: dict[str, int] = {}
        cut_builds: list[str] = []
        for bp in todo:
            q = path_query(base_query, bp.path)
            n, per_country, unatt, nb = parse_country_facet(client.count(q, [COUNTRY_FACET]))
            if nb >= cap:
                cut_builds.append(bp.build)
            found[bp.build] = n
            if n > 0:
                builds.append(BuildCount(build=bp.build, total=n, countries=per_country, unattributed=unatt, query=q))
            done += 1
            report(done, bp.build)
        check_counts(total, found, zero_min=zero_min)
        if cut_builds:
            warnings.append(
                f"the country facet returned {cap} buckets (the cap) for {len(cut_builds)} build counts "
                f"({', '.join(cut_builds[:5])}): their smallest countries count as unattributed"
            )
    region_counts: list[RegionCount] = []
    for name, codes in wanted.items():
        rc = count_region(client, base_query, name, codes, world=codes >= world_codes)
        region_counts.append(rc)
        done += 1
        report(done, f"region {name}")
    report(planned, "done" if total > 0 else "no Exchange banners: build counts skipped")
    finished = now()
    meta = {
        "unit": "banners",
        "builds_counted": str(len(todo) if total > 0 else 0),
        "facet_size": str(COUNTRY_FACET_SIZE),
        "facet_buckets": str(n_buckets),
        "attributed_exact": str(attributed),
        "old_builds": old,
        "finished_at": finished.isoformat(),
        "path_query": path_query(base_query, "<path>"),
        "self_checks": "path-count-equals-base, sum-above-base, all-zero: passed",
    }
    if calibration is not None:
        meta["calibration"] = calibration.taken_at.isoformat()
        if calibration.old_marker in ("no", "partly"):
            warnings.append(
                "calibration found 2007/2010 logon pages without the OWA marker: count mode undercounts them"
            )
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
        regions=tuple(region_counts),
    )
