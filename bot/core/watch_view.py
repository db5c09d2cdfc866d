"""Each watched host's latest verdict for ``watch list`` (at-risk first). Pure."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint


@dataclass(frozen=True)
class WatchVerdict:
    host: str
    target: str
    added_at: dt.datetime
    added_by: str | None
    latest: CheckPoint | None  # the newest stored check (None: never checked)
    last_verdict: CheckPoint | None  # the newest check that reached the host
    vulnerable_count: int | None  # CVEs of the last verdict certainly vulnerable (None: no verdict)
    kev_count: int | None
    unreachable_since: dt.datetime | None  # first failed check of the current run of failures

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
    def vulnerable_families(self) -> tuple[str, ...]:
        p = self.last_verdict
        return () if p is None else tuple(f for f in FAMILIES if p.families.get(f) == "vulnerable")

    @property
    def eol(self) -> bool | None:
        return None if self.last_verdict is None else self.last_verdict.eol

    @property
    def at_risk(self) -> bool:
        return bool(self.eol) or bool(self.vulnerable_families) or bool(self.vulnerable_count)


def watch_verdict(
    host: str,
    target: str,
    added_at: dt.datetime,
    added_by: str | None,
    history: Sequence[CheckPoint],
    counts: tuple[int, int] | None,
) -> WatchVerdict:
    """``history``: the host's checks, newest first; ``counts``: (vulnerable, KEV) CVE counts of
    the newest check that reached it."""
    latest = history[0] if history else None
    last_verdict = next((p for p in history if p.answered), None)
    since: dt.datetime | None = None
    for p in history:
        if p.answered:
            break
        since = p.checked_at
    return WatchVerdict(
        host=host,
        target=target,
        added_at=added_at,
        added_by=added_by,
        latest=latest,
        last_verdict=last_verdict,
        vulnerable_count=counts[0] if counts and last_verdict else None,
        kev_count=counts[1] if counts and last_verdict else None,
        unreachable_since=since,
    )


def at_risk_first(rows: Sequence[WatchVerdict]) -> list[WatchVerdict]:
    """At-risk hosts first (most vulnerable CVEs first), then unreachable, then the rest; by host."""

    def key(w: WatchVerdict) -> tuple[int, int, str]:
        group = 0 if w.at_risk else (1 if w.checked and not w.reachable else (2 if w.checked else 3))
        return (group, -(w.vulnerable_count or 0), w.host)

    return sorted(rows, key=key)
