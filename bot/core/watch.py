"""A watched host's state: its newest stored check and its newest change (pure).

The one type for it: the watchlist card, the App Home, the digest and its chart all read a
:class:`WatchState`, built by :func:`watch_state` from the host's stored checks.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.core.rejudge import Rejudgement


@dataclass(frozen=True)
class WatchState:
    """One watched host. ``latest`` is None if it was never checked; ``last_change`` is its newest
    change (``first_seen`` when nothing changed since its first check), None if never checked."""

    host: str
    added_at: dt.datetime | None
    added_by: str | None
    latest: CheckPoint | None
    last_change: HostChange | None
    rejudged: Rejudgement | None = None  # what newer knowledge changed for the latest check

    @property
    def at_risk(self) -> bool:
        p = self.latest
        return p is not None and p.answered and (bool(p.eol) or any(s == "vulnerable" for s in p.families.values()))

    @property
    def reasons(self) -> tuple[str, ...]:
        p = self.latest
        if p is None or not p.answered:
            return ()
        out = ["end-of-life"] if p.eol else []
        out += [f"{f} vulnerable" for f in FAMILIES if p.families.get(f) == "vulnerable"]
        return tuple(out)

    @property
    def last_change_at(self) -> dt.datetime | None:
        """When the host last changed (or was first seen)."""
        return self.last_change.at if self.last_change else None


def watch_state(
    host: str,
    points: Sequence[CheckPoint],
    *,
    added_at: dt.datetime | None = None,
    added_by: str | None = None,
    rejudged: Rejudgement | None = None,
) -> WatchState:
    """The state of ``host`` from its stored checks (any order)."""
    newest = max(points, key=lambda p: p.checked_at) if points else None
    changes = host_changes(points)
    return WatchState(host, added_at, added_by, newest, changes[-1] if changes else None, rejudged)
