"""The watchlist with each host's newest check and newest change, read from the store."""

from __future__ import annotations

from bot.core.changes import host_changes
from bot.render.watch_cards import WatchRow
from bot.store import Store

HISTORY = 20


def watch_rows(store: Store) -> list[WatchRow]:
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
            )
        )
    return rows
