"""Reading the stored history: one host's past checks, and what changed since a moment (per host
and per region). Used by ``exchbot history`` and ``exchbot changes``."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.core.digest import RegionTrend
from bot.core.rejudge import Rejudgement
from bot.services.digest import trends
from bot.services.rejudge import rejudge_stored
from bot.store import Store


@dataclass(frozen=True)
class Changes:
    """What ``exchbot changes`` reports: host changes, region trends and re-judgements since ``since``."""

    since: dt.datetime
    hosts: tuple[HostChange, ...]
    regions: tuple[RegionTrend, ...]
    rejudged: tuple[Rejudgement, ...] = ()  # what new knowledge changed, kept apart from wire changes


def host_history(store: Store, host: str, limit: int) -> list[CheckPoint]:
    """Past checks of ``host`` (a target key), newest first."""
    return store.history(host, limit)


def similar_targets(store: Store, host: str) -> list[str]:
    """Stored targets of the same host on another port (``history mail.example.com`` when only
    ``mail.example.com:8443`` was checked)."""
    return store.similar_hosts(host)


def collect_host_changes(points: Mapping[str, Sequence[CheckPoint]], since: dt.datetime) -> list[HostChange]:
    """Every host's changes after ``since``, in time order."""
    out: list[HostChange] = []
    for pts in points.values():
        out.extend(host_changes(pts, since))
    return sorted(out, key=lambda c: (c.at, c.host))


def changes_since(
    store: Store, catalog: Catalog, now: dt.datetime, since: dt.datetime, regions: tuple[str, ...]
) -> Changes:
    """Per host (build, verdicts, reachability) and per region (exposure deltas between the newest
    snapshot and the newest one before ``since``)."""
    rejudge_stored(store, catalog, now)
    rejudged = store.rejudgements_since(since)
    hosts = collect_host_changes(store.points_since(since), since)
    return Changes(since, tuple(hosts), tuple(trends(store, catalog, now, regions, since)), tuple(rejudged))


def prune(store: Store, cutoff: dt.datetime, *, dry_run: bool = False) -> int:
    """Delete checks older than ``cutoff``, keeping each host's newest check and every change point
    (``dry_run``: only count them)."""
    return store.prune(cutoff, dry_run=dry_run)
