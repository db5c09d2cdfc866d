"""The watchlist with each host's newest check and newest change, read from the store."""

from __future__ import annotations

import datetime as dt

from bot.core.catalog import Catalog
from bot.core.changes import host_changes
from bot.render.watch_cards import WatchRow
from bot.services.rejudge import rejudge_stored
from bot.store import Store

HISTORY = 20


def watch_rows(store: Store, catalog: Catalog | None = None, now: dt.datetime | None = None) -> list[WatchRow]:
    """With ``catalog`` and ``now``, hosts judged under other knowledge are re-judged first and
    each row carries what the new knowledge changed for its latest check."""
    if catalog is not None and now is not None:
        rejudge_stored(store, catalog, now)
    rows: list[WatchRow] = []
    for w in store.watchlist():
        points = store.history(w.host, HISTORY)  # newest first
        changes = [c for c in host_changes(points) if c.kind != "first_seen"]
        rows.append(
            WatchRow(
                host=w.host,
                added_at=w.added_at,
                added_by=w.added_by,
                latest=points[0] if points else None,
                last_change=changes[-1] if changes else None,
                rejudged=(
                    store.latest_rejudgement(points[0].check_id)
                    if catalog is not None and points and points[0].check_id is not None
                    else None
                ),
            )
        )
    return rows
