"""The watchlist: add and remove targets (one or many), each host's state and latest verdict
(`watch list`, the Slack views, the digest), and re-checking it (CLI `watch run`, the daily job in
`serve`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.changes import HostChange, host_changes
from bot.core.model import CheckResult
from bot.core.rejudge import Rejudgement
from bot.core.watch import WatchState, at_risk_first, watch_state
from bot.probe.targets import Target, TargetError, parse_target
from bot.services.checks import CheckService, Progress
from bot.services.rejudge import rejudge_stored
from bot.store import Store

HISTORY = 200  # checks read per host to find its last verdict and since when it is unreachable


def add(store: Store, target: Target, at: dt.datetime, *, added_by: str | None, channel: str | None = None) -> bool:
    """Watch ``target``; False if it was watched already."""
    return store.watch_add(target.key, target.raw, at, added_by=added_by, channel=channel)


def remove(store: Store, target: Target) -> bool:
    """Stop watching ``target``; False if it was not watched."""
    return store.watch_remove(target.key)


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


def watched_targets(store: Store) -> list[Target]:
    targets: list[Target] = []
    for w in store.watchlist():
        try:
            targets.append(parse_target(w.target))
        except TargetError:
            targets.append(parse_target(w.host))
    return targets


async def run_watchlist(
    service: CheckService, store: Store, *, progress: Progress | None = None, requested_by: str = "watchlist"
) -> list[CheckResult]:
    targets = watched_targets(store)
    if not targets:
        return []
    return [r async for r in service.run(targets, requested_by=requested_by, progress=progress)]


def changes_since(store: Store, since: dt.datetime, hosts: Sequence[str]) -> list[HostChange]:
    """What changed for ``hosts`` in checks stored since ``since`` (against the check before it)."""
    wanted = set(hosts)
    out: list[HostChange] = []
    for host, pts in store.points_since(since).items():
        if host in wanted:
            out.extend(c for c in host_changes(pts, since) if c.kind != "first_seen" or len(pts) == 1)
    return sorted(out, key=lambda c: (c.host, c.at))


@dataclass(frozen=True)
class Edit:
    """The outcome of adding or removing one target on the watchlist."""

    key: str
    done: bool  # added / removed; False: was already watched / was not watched


def add_targets(store: Store, targets: Sequence[Target], at: dt.datetime, added_by: str) -> list[Edit]:
    return [Edit(t.key, store.watch_add(t.key, t.raw, at, added_by=added_by)) for t in targets]


def remove_targets(store: Store, targets: Sequence[Target]) -> list[Edit]:
    return [Edit(t.key, store.watch_remove(t.key)) for t in targets]


def watch_list(
    store: Store, catalog: Catalog, now: dt.datetime
) -> tuple[list[WatchState], dict[str, Rejudgement | None]]:
    """Each watched host's latest verdict, at-risk first, and what newer knowledge changed for it."""
    rejudge_stored(store, catalog, now)
    rows: list[WatchState] = []
    rejudged: dict[str, Rejudgement | None] = {}
    for w in store.watchlist():
        history = store.history(w.host, HISTORY)
        rejudged[w.host] = (
            store.latest_rejudgement(history[0].check_id) if history and history[0].check_id is not None else None
        )
        rows.append(
            watch_state(
                w.host,
                history,
                added_at=w.added_at,
                added_by=w.added_by,
                rejudged=rejudged[w.host],
                target=w.target,
            )
        )
    return at_risk_first(rows), rejudged
