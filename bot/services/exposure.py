"""The exposure service: answer "how exposed is REGION" from a fresh or stored Shodan snapshot.

* Count mode reuses the newest complete count-mode snapshot younger than the TTL
  (``EXCHBOT_EXPOSURE_TTL_HOURS``, default 24; ``0`` = always take a new one) that was taken with
  the same knowledge base (a new knowledge base may add build paths to count); ``refresh`` forces a
  new one. Deep mode always takes a new snapshot: it is asked for explicitly and spends credits.
* A new snapshot is stored (one transaction) only once it is complete: any Shodan failure raises
  before :meth:`Store.save_snapshot` is called.
* Changes are against the newest complete snapshot of the same mode (and, for deep mode, the same
  scope) taken before the one answered from; both are summarised with today's catalog, so a delta is
  a change in what Shodan sees.
* Count mode uses the latest calibration (if any), cross-checks the asked region with one free
  count (stored with the snapshot); a region asked later of a stored snapshot gets its free count
  then, when a key is set. Deep mode searches only the region (its ``country:`` list, or the user's
  ``net:``/``asn:`` filter) and stores its hosts.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import ipaddress
import re
from collections.abc import Callable

from bot.clock import Clock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.exposure import (
    WORLD,
    ExposureResult,
    RegionError,
    diff,
    hosts_in_region,
    resolve_region,
    summarise,
)
from bot.core.exposure_model import Calibration, Host, HostList, RegionCount, Snapshot
from bot.exposure.api import ShodanApi
from bot.exposure.calibrate import calibrate
from bot.exposure.client import MissingKey, ShodanError
from bot.exposure.deep import take_deep_snapshot
from bot.exposure.snapshot import Progress, count_region, country_filter, take_snapshot
from bot.store import Store

ClientFactory = Callable[[Settings], ShodanApi]
_ASN = re.compile(r"(?i)AS(\d{1,10})")
_LOOKBACK = 50  # snapshots of the other mode skipped at most when looking for one of this mode


def latest_of_mode(
    store: Store, mode: str, before: dt.datetime | None = None, scope: str | None = None
) -> Snapshot | None:
    """The newest complete snapshot of ``mode`` (strictly before ``before``; if ``scope`` is given, one
    whose scope is that one or the world, so it covers the region)."""
    cursor = before
    for _ in range(_LOOKBACK):
        snap = store.latest_snapshot(before=cursor)
        if snap is None:
            return None
        if snap.mode == mode and (scope is None or snap.meta.get("scope", WORLD) in (scope, WORLD)):
            return snap
        cursor = snap.taken_at
    return None


def _fresh(snap: Snapshot | None, now: dt.datetime, ttl_hours: float, knowledge_version: str) -> bool:
    if snap is None or ttl_hours <= 0 or snap.knowledge_version != knowledge_version:
        return False
    taken = snap.taken_at if snap.taken_at.tzinfo else snap.taken_at.replace(tzinfo=dt.UTC)
    current = now if now.tzinfo else now.replace(tzinfo=dt.UTC)
    age = current - taken
    return dt.timedelta(0) <= age < dt.timedelta(hours=ttl_hours)


def scope_filter(net: str | None, asn: str | None) -> tuple[str, str]:
    """(filter, label) for a user's deep-mode ``net:``/``asn:`` (validated: it goes into a query)."""
    parts: list[str] = []
    if net:
        try:
            block = ipaddress.ip_network(net.strip(), strict=False)
        except ValueError:
            raise RegionError(f"--net {net[:60]!r} is not an IP network such as 192.0.2.0/24") from None
        parts.append(f"net:{block}")
    if asn:
        m = _ASN.fullmatch(asn.strip())
        if m is None:
            raise RegionError(f"--asn {asn[:60]!r} is not an AS number such as AS64500") from None
        parts.append(f"asn:AS{int(m.group(1))}")
    return " ".join(parts), " ".join(parts)


def exposure(
    region: str,
    *,
    refresh: bool,
    store: Store,
    client_factory: ClientFactory,
    clock: Clock,
    catalog: Catalog,
    settings: Settings,
    deep: bool = False,
    max_credits: int | None = None,
    progress: Progress | None = None,
    net: str | None = None,
    asn: str | None = None,
) -> ExposureResult:
    """Exposure of ``region``. Raises RegionError for an unknown region (before any Shodan call),
    ValueError for deep mode without a budget,
    :class:`~bot.exposure.client.ShodanError` subclasses for Shodan failures and refused self-checks
    (nothing stored)."""
    name, codes = resolve_region(region, catalog)
    world = _world(codes, catalog)
    if deep and (max_credits is None or max_credits < 0):
        raise ValueError("deep mode needs a credit budget (--max-credits N)")
    user_filter, user_label = scope_filter(net, asn)
    if user_filter and not deep:
        raise ValueError("--net and --asn only apply with --deep")
    scope = user_label or name
    now = clock.now()
    mode = "deep" if deep else "count"
    snap: Snapshot | None = None
    reused = False
    if not deep and not refresh:
        candidate = latest_of_mode(store, "count")
        if _fresh(candidate, now, settings.exposure_ttl_hours, catalog.version):
            snap, reused = candidate, True
    client: ShodanApi | None = None
    if snap is None:
        if not settings.shodan_api_key:
            raise MissingKey("SHODAN_API_KEY is not set: a new Shodan snapshot needs an API key")
        client = client_factory(settings)
        if deep:
            assert max_credits is not None
            filt = user_filter or ("" if world else country_filter(codes))
            snap = take_deep_snapshot(
                client,
                catalog,
                max_credits=max_credits,
                now=clock.now,
                progress=progress,
                scope_filter=filt,
                scope=scope,
            )
        else:
            snap = take_snapshot(
                client,
                catalog,
                now=clock.now,
                progress=progress,
                calibration=store.latest_calibration(),
                regions={name: codes},
            )
        snap = dataclasses.replace(snap, id=store.save_snapshot(snap))
    today = now.date()
    extra: list[str] = []
    region_count: RegionCount | None = None
    hosts: list[Host] | tuple[Host, ...] | None = None
    if deep:
        hosts = snap.hosts or (store.snapshot_hosts(snap.id) if snap.id is not None else [])
    else:
        region_count, note = _region_count(snap, name, codes, world, store, client, client_factory, settings)
        if note:
            extra.append(note)
    result = summarise(
        snap,
        name,
        codes,
        catalog,
        today,
        credits_used=0 if reused else snap.credits_used,
        reused=reused,
        region_count=region_count,
        hosts=hosts,
    )
    if extra:
        result = dataclasses.replace(result, warnings=result.warnings + tuple(extra))
    previous = latest_of_mode(store, mode, before=snap.taken_at, scope=scope if deep else None)
    if previous is not None:
        prev_rc = next((r for r in previous.regions if r.region == name), None)
        before = summarise(previous, name, codes, catalog, today, region_count=prev_rc)
        result = dataclasses.replace(result, previous_snapshot_at=previous.taken_at, changes=diff(result, before))
    return result


def _world(codes: frozenset[str], catalog: Catalog) -> bool:
    world = catalog.regions.get(WORLD)
    return world is not None and len(world) > 0 and codes >= world


def _region_count(
    snap: Snapshot,
    name: str,
    codes: frozenset[str],
    world: bool,
    store: Store,
    client: ShodanApi | None,
    client_factory: ClientFactory,
    settings: Settings,
) -> tuple[RegionCount | None, str | None]:
    """The region's cross-check: stored with the snapshot, or one free count now (then stored)."""
    found = next((r for r in snap.regions if r.region == name), None)
    if found is not None or snap.id is None:
        return found, None
    if client is None:
        if not settings.shodan_api_key:
            return None, "region total not cross-checked and no per-organisation counts (SHODAN_API_KEY is not set)"
        client = client_factory(settings)
    try:
        rc = count_region(client, snap.query, name, codes, world=world)
    except ShodanError as exc:
        return None, f"region total not cross-checked: {exc}"
    store.save_region(snap.id, rc)
    return rc, None


# --------------------------------------------------------------------------------------------------
# Host lists and calibration
# --------------------------------------------------------------------------------------------------


class NoDeepSnapshot(LookupError):
    """No deep snapshot is stored yet: host lists come only from deep mode."""


def exposure_hosts(region: str, *, store: Store, catalog: Catalog, at_risk_only: bool = False) -> HostList:
    """The hosts of the latest deep snapshot in ``region``. RegionError, NoDeepSnapshot."""
    name, codes = resolve_region(region, catalog)
    snap = latest_of_mode(store, "deep")
    if snap is None or snap.id is None:
        raise NoDeepSnapshot(
            f"no deep snapshot stored: run `exchbot exposure {name} --deep --max-credits N` first (costs query credits)"
        )
    hosts = hosts_in_region(store.snapshot_hosts(snap.id), codes, _world(codes, catalog), at_risk_only=at_risk_only)
    return HostList(
        region=name,
        countries=tuple(sorted(codes)),
        snapshot_at=snap.taken_at,
        snapshot_id=snap.id,
        scope=snap.meta.get("scope", WORLD),
        hosts=tuple(hosts),
    )


def run_calibration(
    *, store: Store, client_factory: ClientFactory, clock: Clock, catalog: Catalog, settings: Settings, page: bool
) -> Calibration:
    """Run the calibration checks with the real key and store the result."""
    if not settings.shodan_api_key:
        raise MissingKey("SHODAN_API_KEY is not set: calibration asks Shodan")
    client = client_factory(settings)
    world = catalog.regions.get(WORLD, frozenset()) | frozenset(catalog.countries)
    cal = calibrate(client, now=clock.now, world_codes=world, page=page)
    return dataclasses.replace(cal, id=store.save_calibration(cal))
