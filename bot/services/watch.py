"""The watchlist: add, remove, list with each host's newest check, and re-check every host (CLI
``watch``, the Slack ``/exchwatch`` command and button, the daily job in ``serve``)."""

from __future__ import annotations

import datetime as dt

from bot.core.catalog import Catalog
from bot.core.changes import CheckPoint
from bot.core.model import CheckResult
from bot.core.rejudge import Rejudgement
from bot.core.watch import WatchState, watch_state
from bot.probe.targets import Target, TargetError, parse_target
from bot.services.checks import CheckService, Progress
from bot.services.rejudge import rejudge_stored
from bot.store import Store
from bot.store.watchlist import Watched


def add(store: Store, target: Target, at: dt.datetime, *, added_by: str | None, channel: str | None = None) -> bool:
    """Watch ``target``; False if it was watched already."""
    return store.watch_add(target.key, target.raw, at, added_by=added_by, channel=channel)


def remove(store: Store, target: Target) -> bool:
    """Stop watching ``target``; False if it was not watched."""
    return store.watch_remove(target.key)


def watched_with_latest(
    store: Store, catalog: Catalog, now: dt.datetime
) -> list[tuple[Watched, CheckPoint | None, Rejudgement | None]]:
    """Every watched host with its newest stored check (None if never checked) and what newer
    knowledge changed for that check (None if nothing was re-judged)."""
    rejudge_stored(store, catalog, now)
    out: list[tuple[Watched, CheckPoint | None, Rejudgement | None]] = []
    for w in store.watchlist():
        points = store.history(w.host, 1)
        p = points[0] if points else None
        r = store.latest_rejudgement(p.check_id) if p is not None and p.check_id is not None else None
        out.append((w, p, r))
    return out


def states(
    store: Store, history: int = 20, *, catalog: Catalog | None = None, now: dt.datetime | None = None
) -> list[WatchState]:
    """Every watched host's state from its newest ``history`` stored checks. With ``catalog`` and
    ``now``, hosts judged under other knowledge are re-judged first and each state carries what the
    new knowledge changed for its latest check."""
    rejudging = catalog is not None and now is not None
    if catalog is not None and now is not None:
        rejudge_stored(store, catalog, now)
    out: list[WatchState] = []
    for w in store.watchlist():
        points = store.history(w.host, history)  # newest first
        rejudged = (
            store.latest_rejudgement(points[0].check_id)
            if rejudging and points and points[0].check_id is not None
            else None
        )
        out.append(watch_state(w.host, points, added_at=w.added_at, added_by=w.added_by, rejudged=rejudged))
    return out


async def run_watchlist(
    service: CheckService, store: Store, *, progress: Progress | None = None, requested_by: str = "watchlist"
) -> list[CheckResult]:
    targets: list[Target] = []
    for w in store.watchlist():
        try:
            targets.append(parse_target(w.target))
        except TargetError:
            targets.append(parse_target(w.host))
    if not targets:
        return []
    return [r async for r in service.run(targets, requested_by=requested_by, progress=progress)]
