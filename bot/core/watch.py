"""A watched host's state: its newest stored check, its last verdict and its newest change (pure).

The one type for it: ``watch list`` (text and JSON), the watchlist card, the App Home, the digest
and its chart all read a :class:`WatchState`, built by :func:`watch_state` from the host's stored
checks.

"At risk" means one thing everywhere (``watch list``, its JSON, the digest and its chart, the Slack
watchlist and App Home), the same as ``check --fail-on at-risk``: :func:`at_risk` -- end-of-life, or
vulnerable to a named family or to any CVE. A watched host is judged on its *last verdict*, the
newest check that reached it: a host that stops answering is not thereby out of danger, so it stays
at risk, with the day it became unreachable beside it. Any CVE counts, not only the named families
or the known-exploited ones: a supported build a security update behind is at risk in every view.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.core.rejudge import Rejudgement


def at_risk(p: CheckPoint | None) -> bool:
    """A stored check that reached the host and found it end-of-life or vulnerable (a named family
    or any CVE)."""
    if p is None or not p.answered:
        return False
    return bool(p.eol) or any(s == "vulnerable" for s in p.families.values()) or bool(p.vulnerable_count)


@dataclass(frozen=True)
class WatchState:
    """One watched host. ``latest`` is None if it was never checked; ``last_change`` is its newest
    change (``first_seen`` when nothing changed since its first check), None if never checked;
    ``last_verdict`` is the newest check that reached the host; ``unreachable_since`` the first
    failed check of the current run of failures. The CVE counts are those stored with the last
    verdict."""

    host: str
    added_at: dt.datetime | None
    added_by: str | None
    latest: CheckPoint | None
    last_change: HostChange | None
    rejudged: Rejudgement | None = None  # what newer knowledge changed for the latest check
    target: str | None = None  # the target as it was added (None: the host)
    last_verdict: CheckPoint | None = None
    unreachable_since: dt.datetime | None = None

    @property
    def at_risk(self) -> bool:
        """The last verdict is end-of-life or vulnerable (:func:`at_risk`), reachable now or not."""
        return at_risk(self.last_verdict)

    @property
    def reasons(self) -> tuple[str, ...]:
        """Why the last verdict is at risk: end-of-life and the vulnerable families (the CVE counts
        are said apart, with the KEV among them)."""
        p = self.last_verdict
        if p is None:
            return ()
        out = ["end-of-life"] if p.eol else []
        out += [f"{f} vulnerable" for f in FAMILIES if p.families.get(f) == "vulnerable"]
        return tuple(out)

    @property
    def last_change_at(self) -> dt.datetime | None:
        """When the host last changed (or was first seen)."""
        return self.last_change.at if self.last_change else None

    # -- the last verdict (``watch list``) ----------------------------------------------------------

    @property
    def checked(self) -> bool:
        return self.latest is not None

    @property
    def reachable(self) -> bool:
        return self.latest is not None and self.latest.answered

    @property
    def never_reachable(self) -> bool:
        return self.latest is not None and self.last_verdict is None

    @property
    def vulnerable_count(self) -> int | None:
        """CVEs of the last verdict certainly vulnerable (None: no verdict or not stored)."""
        return self.last_verdict.vulnerable_count if self.last_verdict else None

    @property
    def kev_count(self) -> int | None:
        return self.last_verdict.kev_count if self.last_verdict else None

    @property
    def undetermined_count(self) -> int | None:
        """CVEs of the last verdict that cannot be told from its build (None: not stored)."""
        return self.last_verdict.undetermined_count if self.last_verdict else None

    @property
    def undetermined_kev(self) -> int | None:
        return self.last_verdict.undetermined_kev if self.last_verdict else None

    @property
    def vulnerable_families(self) -> tuple[str, ...]:
        p = self.last_verdict
        return () if p is None else tuple(f for f in FAMILIES if p.families.get(f) == "vulnerable")

    @property
    def eol(self) -> bool | None:
        return None if self.last_verdict is None else self.last_verdict.eol


def watch_state(
    host: str,
    points: Sequence[CheckPoint],
    *,
    added_at: dt.datetime | None = None,
    added_by: str | None = None,
    rejudged: Rejudgement | None = None,
    target: str | None = None,
) -> WatchState:
    """The state of ``host`` from its stored checks (any order)."""
    newest_first = sorted(points, key=lambda p: p.checked_at, reverse=True)
    newest = newest_first[0] if newest_first else None
    last_verdict = next((p for p in newest_first if p.answered), None)
    since: dt.datetime | None = None
    for p in newest_first:
        if p.answered:
            break
        since = p.checked_at
    changes = host_changes(points)
    return WatchState(
        host,
        added_at,
        added_by,
        newest,
        changes[-1] if changes else None,
        rejudged,
        target=target,
        last_verdict=last_verdict,
        unreachable_since=since,
    )


def at_risk_first(rows: Sequence[WatchState]) -> list[WatchState]:
    """The order of every watchlist view: at risk (most known-exploited CVEs, then most vulnerable
    CVEs first), then unreachable, then never checked, then the rest; by host within each."""

    def key(w: WatchState) -> tuple[int, int, int, str]:
        if w.at_risk:
            return (0, -(w.kev_count or 0), -(w.vulnerable_count or 0), w.host)
        group = 1 if w.checked and not w.reachable else (2 if not w.checked else 3)
        return (group, 0, 0, w.host)

    return sorted(rows, key=key)
