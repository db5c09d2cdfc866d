"""Shodan exposure snapshots as data (the counting and verdict logic is in bot.core.exposure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BuildCount:
    """How many banners disclose one build (3 parts from an OWA path, or 4 parts), per country."""

    build: str
    total: int
    countries: Mapping[str, int]
    unattributed: int
    query: str = ""


@dataclass(frozen=True)
class Snapshot:
    """One Shodan snapshot; every region is computed from its country buckets."""

    taken_at: dt.datetime
    query: str  # the base query that finds on-premises Exchange
    total: int
    countries: Mapping[str, int]
    unattributed: int
    builds: tuple[BuildCount, ...]
    credits_used: int
    requests: int
    complete: bool
    knowledge_version: str
    mode: str = "count"  # "count" (zero credits) or "deep" (banners downloaded)
    id: int | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
    regions: tuple[RegionCount, ...] = ()  # cross-checked region totals (count mode)
    hosts: tuple[Host, ...] = ()  # deep mode, when saving; read back with Store.snapshot_hosts


Ranked = tuple[tuple[str, int], ...]  # (name, count), largest first


@dataclass(frozen=True)
class RegionCount:
    """One region's total from a free count with its own ``country:`` list (exact even when the
    country facet was cut), with the organisations and ASNs Shodan's facets name for it."""

    region: str
    total: int
    by_org: Ranked = ()
    by_asn: Ranked = ()
    query: str = ""


@dataclass(frozen=True)
class Host:
    """One IP of a deep snapshot: where it is, what it shows, and the verdict when it was read."""

    ip: str
    port: int | None
    hostnames: tuple[str, ...]
    country: str | None
    asn: str | None
    org: str | None
    build: str | None
    product: str | None
    eol: bool | None
    families: Mapping[str, str]
    seen_at: str | None


@dataclass(frozen=True)
class Calibration:
    """What ``exchbot exposure calibrate`` found about Shodan's undocumented behaviour.

    ``repeated_filters``: "and", "or" or "unclear"; ``dotted``: "whole" (``15.1.2507`` is one term),
    "split" (a dotted prefix matches) or "unclear"; ``facet_cap``: buckets Shodan returned at most
    (None: no cap seen); ``old_marker``: "yes", "no", "partly" or "no data" (2007/2010 logon pages
    carry the OWA marker); ``favicon``: (hash, banners) of the base query's commonest favicons;
    ``fields_shape``: "nested", "flat" or None (the 1-credit page was not fetched)."""

    taken_at: dt.datetime
    repeated_filters: str
    dotted: str
    facet_cap: int | None
    old_marker: str
    favicon: Ranked
    base_total: int
    fields_shape: str | None = None
    findings: tuple[str, ...] = ()
    id: int | None = None


@dataclass(frozen=True)
class HostList:
    """The hosts of one deep snapshot in one region (``exchbot exposure hosts``)."""

    region: str
    countries: tuple[str, ...]
    snapshot_at: dt.datetime
    snapshot_id: int | None
    scope: str  # what the deep snapshot searched (a region, or the user's net:/asn: filter)
    hosts: tuple[Host, ...]
