"""The exposure service: answer "how exposed is REGION" from a fresh or stored Shodan snapshot.

* Count mode reuses the newest complete count-mode snapshot younger than the TTL
  (``EXCHBOT_EXPOSURE_TTL_HOURS``, default 24; ``0`` = always take a new one) that was taken with
  the same knowledge base (a new knowledge base may add build paths to count); ``refresh`` forces a
  new one. Deep mode always takes a new snapshot: it is asked for explicitly and spends credits.
* A new snapshot is stored (one transaction) only once it is complete: any Shodan failure raises
  before :meth:`Store.save_snapshot` is called.
* Changes are against the newest complete snapshot of the same mode taken before the one answered
  from; both are summarised with today's catalog, so a delta is a change in what Shodan sees.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable

from bot.clock import Clock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.exposure import ExposureResult, diff, resolve_region, summarise
from bot.core.exposure_model import Snapshot
from bot.exposure.client import MissingKey, ShodanClient
from bot.exposure.deep import take_deep_snapshot
from bot.exposure.snapshot import Progress, take_snapshot
from bot.store import Store

ClientFactory = Callable[[Settings], ShodanClient]
_LOOKBACK = 50  # snapshots of the other mode skipped at most when looking for one of this mode


def latest_of_mode(store: Store, mode: str, before: dt.datetime | None = None) -> Snapshot | None:
    """The newest complete snapshot of ``mode`` (strictly before ``before`` if given)."""
    cursor = before
    for _ in range(_LOOKBACK):
        snap = store.latest_snapshot(before=cursor)
        if snap is None:
            return None
        if snap.mode == mode:
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
) -> ExposureResult:
    """Exposure of ``region``. Raises RegionError for an unknown region (before any Shodan call),
    ValueError for deep mode without a budget,
    :class:`~bot.exposure.client.ShodanError` subclasses for Shodan failures (nothing stored)."""
    name, codes = resolve_region(region, catalog)
    if deep and (max_credits is None or max_credits < 0):
        raise ValueError("deep mode needs a credit budget (--max-credits N)")
    now = clock.now()
    mode = "deep" if deep else "count"
    snap: Snapshot | None = None
    reused = False
    if not deep and not refresh:
        candidate = latest_of_mode(store, "count")
        if _fresh(candidate, now, settings.exposure_ttl_hours, catalog.version):
            snap, reused = candidate, True
    if snap is None:
        if not settings.shodan_api_key:
            raise MissingKey("SHODAN_API_KEY is not set: a new Shodan snapshot needs an API key")
        client = client_factory(settings)
        if deep:
            assert max_credits is not None
            snap = take_deep_snapshot(client, catalog, max_credits=max_credits, now=clock.now, progress=progress)
        else:
            snap = take_snapshot(client, catalog, now=clock.now, progress=progress)
        snap = dataclasses.replace(snap, id=store.save_snapshot(snap))
    today = now.date()
    result = summarise(
        snap, name, codes, catalog, today, credits_used=0 if reused else snap.credits_used, reused=reused
    )
    previous = latest_of_mode(store, mode, before=snap.taken_at)
    if previous is not None:
        before = summarise(previous, name, codes, catalog, today)
        result = dataclasses.replace(result, previous_snapshot_at=previous.taken_at, changes=diff(result, before))
    return result
