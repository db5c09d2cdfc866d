"""From a Shodan snapshot to the exposure of one region (pure: no Shodan, no IO, ``today`` passed in).

How a snapshot counts (see :mod:`bot.exposure.snapshot`): one free ``count()`` of the base query
with a ``country`` facet gives the total per country, and one more per known OWA build path gives
the banners that disclose that build. The path counts are disjoint (a logon page names one resource
folder, and each path query is ANDed with the base query) and are a subset of the base total, so

    total = sum(by_product) + unknown_version

holds for every region. A banner that also shows a 4-part ``X-OWA-Version`` header is still counted
once, by its path: count mode never queries headers. Deep mode reads headers too and keeps one build
per IP (the lowest seen), so its counts are hosts, not banners.

Regions are computed here from the country buckets, so one snapshot serves every region:

* a named region or a list of ISO codes sums the buckets of its countries; banners Shodan could not
  place (``unattributed``) belong to no country and are reported but not included;
* ``world`` (or any selection that covers every country of the catalog's ``world``) sums **every**
  bucket, including codes outside the catalog, **plus** the unattributed banners, so its total is the
  snapshot's total.

Verdicts per build come from :func:`bot.core.assess.assess_build`: a 3-part build (OWA path, 2013+)
can prove "vulnerable" (no fix for that CU) but never "patched" unless the CU contains the fix; all
else is "unknown" (cannot tell). ``families`` counts banners per family as ``vulnerable`` (certain)
and ``unknown`` (cannot tell from the visible build). Banners with no build at all are
``unknown_version`` (shown as "pre-2013 or build hidden": 2007/2010 pages whose folder no count
matched, and pages whose version a rewrite rule stripped) and are in neither.

**End-of-life is a range.** Since 2025-10-14 every version but Exchange SE is end-of-life, so of
the banners without a visible build most are end-of-life too: ``eol`` counts the identified ones,
``eol_max`` adds every banner without a build (the most it can be).

**Region totals are cross-checked.** When the snapshot holds a :class:`RegionCount` for the region
(one free count with the region's own ``country:`` list), that exact figure is the total, also when
Shodan cut the country facet; its organisations and ASNs become ``by_org`` / ``by_asn``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from bot.core.assess import assess_build
from bot.core.buildnum import BuildParseError, parse_build
from bot.core.catalog import FAMILIES, Catalog
from bot.core.exposure_model import Host, Ranked, RegionCount, Snapshot

DATA_SOURCE = "Shodan"
WORLD = "world"
# Spellings people use that are not ISO 3166-1 alpha-2 (Shodan reports GB and GR).
COUNTRY_ALIASES = {"UK": "GB", "EL": "GR"}
UNIT_NOTE = {
    "banners": "Counts are Shodan banners (services), not unique hosts: a server answering on two ports or "
    "names counts twice.",
    "hosts": "Counts are unique IP addresses (deep mode de-duplicates banners by IP; the lowest build seen "
    "on an IP decides).",
}


@dataclass(frozen=True)
class BuildExposure:
    """One build seen in a region, with its verdicts (same for every banner on that build)."""

    build: str
    count: int
    precision: int
    product: str | None
    cu: str | None
    eol: bool | None
    families: Mapping[str, str]


@dataclass(frozen=True)
class ExposureChanges:
    """Deltas against the previous snapshot (current minus previous), same keys as the result."""

    total: int
    by_product: Mapping[str, int]
    eol: int
    families: Mapping[str, Mapping[str, int]]
    unattributed: int
    unknown_version: int
    at_risk: int


@dataclass(frozen=True)
class ExposureResult:
    """The "exposure result" of the JSON contract (docs/ARCHITECTURE.md), plus what a reader needs to trust it."""

    region: str
    countries: tuple[str, ...]  # ISO codes the region is made of
    snapshot_at: dt.datetime
    query: str
    total: int
    by_product: Mapping[str, int]
    eol: int
    families: Mapping[str, Mapping[str, int]]  # family -> {"vulnerable": n, "unknown": n}
    credits_used: int  # query credits spent by this run (0 when a stored snapshot was reused)
    unattributed: int  # banners of the snapshot with no country
    previous_snapshot_at: dt.datetime | None = None
    changes: ExposureChanges | None = None
    # -- beyond the contract
    unknown_version: int = 0  # in the region's total, but no build disclosed (or none we count)
    at_risk: int = 0  # end-of-life or certainly vulnerable to at least one family
    unattributed_included: bool = False  # True for world
    by_country: Mapping[str, int] = field(default_factory=dict)
    by_build: tuple[BuildExposure, ...] = ()
    mode: str = "count"
    unit: str = "banners"
    note: str = UNIT_NOTE["banners"]
    data_source: str = DATA_SOURCE
    reused: bool = False  # answered from a stored snapshot younger than the TTL
    snapshot_id: int | None = None
    snapshot_credits: int = 0  # what the snapshot cost when it was taken
    requests: int = 0  # Shodan requests the snapshot took
    builds_counted: int | None = None  # build paths queried (count mode)
    knowledge_version: str = ""
    knowledge_date: dt.date | None = None
    warnings: tuple[str, ...] = ()
    eol_max: int = 0  # eol plus every banner without a visible build (all but SE is end-of-life)
    by_org: Ranked = ()  # (organisation, count), largest first
    by_asn: Ranked = ()
    total_checked: bool = False  # the total comes from a country-filtered count, not the facet buckets


# --------------------------------------------------------------------------------------------------
# Regions
# --------------------------------------------------------------------------------------------------


class RegionError(ValueError):
    """Not a region name or ISO country code; the message lists the valid names."""


def region_names(catalog: Catalog) -> list[str]:
    return sorted(catalog.regions)


def resolve_region(text: str, catalog: Catalog) -> tuple[str, frozenset[str]]:
    """``"eu"`` / ``"de"`` / ``"de,fr"`` / ``"eu,ch"`` -> (normalised name, ISO codes).

    Items are region names from ``knowledge/regions.csv`` or ISO 3166-1 alpha-2 codes (``uk`` is
    accepted for GB). Raises :class:`RegionError` (a ValueError) listing the valid names otherwise.
    """
    items = [x.strip().lower() for x in (text or "").split(",")]
    items = [x for x in items if x]
    if not items:
        raise RegionError(_help("no region given", catalog))
    names: list[str] = []
    codes: set[str] = set()
    bad: list[str] = []
    for item in items:
        if item in catalog.regions:
            codes |= catalog.regions[item]
            key = item
        else:
            code = COUNTRY_ALIASES.get(item.upper(), item.upper())
            if len(code) != 2 or code not in _known_codes(catalog):
                bad.append(item)
                continue
            codes.add(code)
            key = code.lower()
        if key not in names:
            names.append(key)
    if bad:
        raise RegionError(_help(f"unknown region or country code {', '.join(repr(b) for b in bad)}", catalog))
    return ",".join(names), frozenset(codes)


def _known_codes(catalog: Catalog) -> frozenset[str]:
    return frozenset(catalog.countries) | catalog.regions.get(WORLD, frozenset())


def _help(problem: str, catalog: Catalog) -> str:
    return (
        f"{problem}: use a region ({', '.join(region_names(catalog))}) or ISO 3166-1 country codes such as de or de,fr"
    )


def _is_world(codes: frozenset[str], catalog: Catalog) -> bool:
    world = catalog.regions.get(WORLD)
    return world is not None and len(world) > 0 and codes >= world


# --------------------------------------------------------------------------------------------------
# Summary
# --------------------------------------------------------------------------------------------------


def _in_region(counts: Mapping[str, int], unattributed: int, codes: frozenset[str], world: bool) -> int:
    if world:
        return sum(counts.values()) + unattributed
    return sum(n for c, n in counts.items() if c in codes)


def summarise(
    snapshot: Snapshot,
    region_name: str,
    codes: frozenset[str],
    catalog: Catalog,
    today: dt.date,
    *,
    credits_used: int | None = None,
    reused: bool = False,
    region_count: RegionCount | None = None,
    hosts: Iterable[Host] | None = None,
) -> ExposureResult:
    """The exposure of one region in one snapshot. ``credits_used`` defaults to the snapshot's cost.

    ``region_count`` (count mode): the region's cross-checked total and top organisations/ASNs;
    ``hosts`` (deep mode): the snapshot's hosts, to rank organisations and ASNs of the region."""
    world = _is_world(codes, catalog)
    total = _in_region(snapshot.countries, snapshot.unattributed, codes, world)
    warnings: list[str] = []
    by_org: Ranked = ()
    by_asn: Ranked = ()
    if region_count is not None:
        if region_count.total != total:
            warnings.append(
                f"region total cross-checked: {region_count.total:,} by a count with the region's country list, "
                f"{total:,} in the country facet buckets; the count is used"
            )
        total = region_count.total
        by_org, by_asn = region_count.by_org, region_count.by_asn
    elif hosts is not None:
        by_org, by_asn = rank_hosts(hosts, codes, world)
    by_country = {c: n for c, n in sorted(snapshot.countries.items()) if n and (world or c in codes)}
    by_product: dict[str, int] = {}
    families = {f: {"vulnerable": 0, "unknown": 0} for f in FAMILIES}
    eol = at_risk = identified = 0
    rows: list[BuildExposure] = []
    for bc in snapshot.builds:
        n = _in_region(bc.countries, bc.unattributed, codes, world)
        if n <= 0:
            continue
        try:
            build = parse_build(bc.build)
        except BuildParseError:
            warnings.append(f"stored build {bc.build!r} is not a build number; counted as unknown version")
            continue
        a = assess_build(build, catalog, today)
        identified += n
        if a.product:
            by_product[a.product] = by_product.get(a.product, 0) + n
        eol += n if a.eol else 0
        at_risk += n if a.at_risk else 0
        for fam in FAMILIES:
            status = a.families.get(fam, "unknown")
            if status in ("vulnerable", "unknown"):
                families[fam][status] += n
        rows.append(
            BuildExposure(
                build=str(build),
                count=n,
                precision=build.precision,
                product=a.product,
                cu=a.cu,
                eol=a.eol,
                families=dict(a.families),
            )
        )
    if identified > total:
        # Facet counts can be approximate on the real API; never report a negative remainder.
        warnings.append(f"per-build counts ({identified}) exceed the total ({total}); Shodan counts are approximate")
    rows.sort(key=lambda r: (-r.count, r.build))
    meta_warnings = tuple(w for w in (snapshot.meta.get("warnings") or "").split("\n") if w)
    unit = snapshot.meta.get("unit") or ("hosts" if snapshot.mode == "deep" else "banners")
    builds_counted = snapshot.meta.get("builds_counted")
    return ExposureResult(
        region=region_name,
        countries=tuple(sorted(codes)),
        snapshot_at=snapshot.taken_at,
        query=snapshot.query,
        total=total,
        by_product=dict(sorted(by_product.items(), key=lambda kv: (-kv[1], kv[0]))),
        eol=eol,
        families=families,
        credits_used=snapshot.credits_used if credits_used is None else credits_used,
        unattributed=snapshot.unattributed,
        unknown_version=max(0, total - identified),
        at_risk=at_risk,
        unattributed_included=world,
        by_country=by_country,
        by_build=tuple(rows),
        mode=snapshot.mode,
        unit=unit,
        note=UNIT_NOTE.get(unit, UNIT_NOTE["banners"]),
        reused=reused,
        snapshot_id=snapshot.id,
        snapshot_credits=snapshot.credits_used,
        requests=snapshot.requests,
        builds_counted=int(builds_counted) if builds_counted and builds_counted.isdigit() else None,
        knowledge_version=catalog.version,
        knowledge_date=catalog.data_date,
        warnings=meta_warnings + tuple(warnings),
        eol_max=eol + max(0, total - identified),
        by_org=by_org,
        by_asn=by_asn,
        total_checked=region_count is not None,
    )


def rank_hosts(hosts: Iterable[Host], codes: frozenset[str], world: bool) -> tuple[Ranked, Ranked]:
    """(organisations, ASNs) of the hosts in the region, largest first."""
    orgs: dict[str, int] = {}
    asns: dict[str, int] = {}
    for h in hosts:
        if not world and (h.country or "") not in codes:
            continue
        if h.org:
            orgs[h.org] = orgs.get(h.org, 0) + 1
        if h.asn:
            asns[h.asn] = asns.get(h.asn, 0) + 1

    def ranked(d: Mapping[str, int]) -> Ranked:
        return tuple(sorted(d.items(), key=lambda kv: (-kv[1], kv[0])))

    return ranked(orgs), ranked(asns)


def hosts_in_region(hosts: Iterable[Host], codes: frozenset[str], world: bool, *, at_risk_only: bool) -> list[Host]:
    """The region's hosts (every host for world), optionally only end-of-life or certainly vulnerable ones."""
    out = []
    for h in hosts:
        if not world and (h.country or "") not in codes:
            continue
        if at_risk_only and not (h.eol or "vulnerable" in h.families.values()):
            continue
        out.append(h)
    return out


def _delta_map(cur: Mapping[str, int], prev: Mapping[str, int]) -> dict[str, int]:
    keys: Iterable[str] = sorted(set(cur) | set(prev))
    return {k: cur.get(k, 0) - prev.get(k, 0) for k in keys}


def diff(current: ExposureResult, previous: ExposureResult) -> ExposureChanges:
    """Current minus previous, for the same region (both summarised with the same catalog and day,
    so a delta is a change in the population, not in the knowledge base)."""
    return ExposureChanges(
        total=current.total - previous.total,
        by_product=_delta_map(current.by_product, previous.by_product),
        eol=current.eol - previous.eol,
        families={
            f: _delta_map(current.families.get(f, {}), previous.families.get(f, {}))
            for f in sorted(set(current.families) | set(previous.families), key=_family_order)
        },
        unattributed=current.unattributed - previous.unattributed,
        unknown_version=current.unknown_version - previous.unknown_version,
        at_risk=current.at_risk - previous.at_risk,
    )


def _family_order(name: str) -> tuple[int, str]:
    return (FAMILIES.index(name) if name in FAMILIES else len(FAMILIES), name)
