"""The daily digest and regional trends, as data (pure; renderers turn it into text or Block Kit).

The digest covers watched hosts only: a host someone checked ad hoc in a private channel must not
show up in the digest channel. Changes come from :mod:`bot.core.changes`, the same logic as
``exchbot changes`` and the check card.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.core.exposure import ExposureChanges, ExposureResult, diff, summarise
from bot.core.exposure_model import Snapshot
from bot.core.rejudge import Rejudgement
from bot.core.watch import WatchState


@dataclass(frozen=True)
class RegionTrend:
    """A region's latest exposure snapshot and its change since the digest's baseline."""

    region: str
    latest: ExposureResult
    baseline_at: dt.datetime | None
    changes: ExposureChanges | None

    @property
    def changed(self) -> bool:
        c = self.changes
        return c is not None and bool(
            c.total or c.eol or c.at_risk or any(v for fam in c.families.values() for v in fam.values())
        )


@dataclass(frozen=True)
class LongUnreachable:
    """A watched host that could not be checked since ``since`` (at least N days)."""

    host: str
    since: dt.datetime
    error: str | None
    never_reachable: bool


@dataclass(frozen=True)
class Digest:
    """The day's digest: host changes by kind since ``since``, and each watched region's trend."""

    day: dt.date
    since: dt.datetime
    generated_at: dt.datetime
    patched: tuple[HostChange, ...]
    newly_vulnerable: tuple[HostChange, ...]
    became_eol: tuple[HostChange, ...]
    build_changed: tuple[HostChange, ...]
    unreachable: tuple[HostChange, ...]
    reachable_again: tuple[HostChange, ...]
    watch: tuple[WatchState, ...]
    regions: tuple[RegionTrend, ...]
    # Watched hosts whose latest build the knowledge now in use judges differently (no new check).
    rejudged: tuple[Rejudgement, ...] = ()
    knowledge_warning: str | None = None  # the knowledge is older than EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS
    flapped: tuple[HostChange, ...] = ()  # down and back up within the window: once, not twice
    long_unreachable: tuple[LongUnreachable, ...] = ()  # unreachable for EXCHBOT_UNREACHABLE_DAYS or more
    unreachable_days: int = 0
    never_reachable: int = 0  # watched hosts checked but never reached (no verdict to be at risk with)

    @property
    def still_at_risk(self) -> tuple[WatchState, ...]:
        return tuple(w for w in self.watch if w.at_risk)

    @property
    def host_changes(self) -> tuple[HostChange, ...]:
        return (
            self.patched
            + self.newly_vulnerable
            + self.became_eol
            + self.build_changed
            + self.unreachable
            + self.reachable_again
            + self.flapped
        )

    @property
    def all_quiet(self) -> bool:
        return not self.host_changes and not self.rejudged and not any(r.changed for r in self.regions)


def region_trend(
    snapshots: Sequence[Snapshot],
    region: str,
    codes: frozenset[str],
    catalog: Catalog,
    today: dt.date,
    since: dt.datetime | None = None,
) -> RegionTrend | None:
    """The newest snapshot against the newest one taken before ``since`` (else the one before it).
    Only snapshots of the newest one's mode are compared: banners and hosts do not mix."""
    complete = sorted((s for s in snapshots if s.complete), key=lambda s: s.taken_at)
    if not complete:
        return None
    latest = complete[-1]
    same = [s for s in complete[:-1] if s.mode == latest.mode]
    if since is not None:
        older = [s for s in same if s.taken_at < since]
        base = older[-1] if older else None
    else:
        base = same[-1] if same else None
    current = summarise(latest, region, codes, catalog, today)
    if base is None:
        return RegionTrend(region, current, None, None)
    previous = summarise(base, region, codes, catalog, today)
    return RegionTrend(region, current, base.taken_at, diff(current, previous))


def build_digest(
    *,
    day: dt.date,
    since: dt.datetime,
    now: dt.datetime,
    watch: Sequence[WatchState],
    points: Mapping[str, list[CheckPoint]],
    regions: Sequence[RegionTrend],
    rejudged: Sequence[Rejudgement] = (),
    knowledge_warning: str | None = None,
    unreachable_since: Mapping[str, dt.datetime | None] | None = None,
    unreachable_days: int = 0,
    never_reached: Collection[str] = (),
) -> Digest:
    """``points``: checks per host since ``since`` (plus the baseline before it), as
    :meth:`Store.points_since` returns them; only the hosts in ``watch`` are reported.
    ``unreachable_since``: since when each watched host could not be checked (None: reachable);
    those down for ``unreachable_days`` or more get their own section. ``never_reached``: watched
    hosts checked but never reached (counted: they have no verdict to be at risk with)."""
    watched_set = {w.host for w in watch}
    changes: list[HostChange] = []
    for host, pts in points.items():
        if host in watched_set:
            changes.extend(merge_flaps(host_changes(pts, since)))
    changes.sort(key=lambda c: (c.host, c.at))

    def kind(*kinds: str) -> tuple[HostChange, ...]:
        return tuple(c for c in changes if c.kind in kinds)

    became_eol = tuple(c for c in changes if c.kind == "eol_changed" and c.after == "yes")
    watch = tuple(sorted(watch, key=lambda w: w.host))
    down = unreachable_since or {}
    never = set(never_reached) & watched_set
    long_unreachable = tuple(
        LongUnreachable(w.host, t, w.latest.error, w.host in never)
        for w in watch
        if w.latest is not None
        and not w.latest.answered
        and (t := down.get(w.host)) is not None
        and now - t >= dt.timedelta(days=unreachable_days)
    )
    return Digest(
        day=day,
        since=since,
        generated_at=now,
        patched=kind("patched"),
        newly_vulnerable=kind("newly_vulnerable"),
        became_eol=became_eol,
        build_changed=kind("build_changed"),
        unreachable=kind("unreachable"),
        reachable_again=kind("reachable_again"),
        flapped=kind("flapped"),
        long_unreachable=long_unreachable,
        unreachable_days=unreachable_days,
        never_reachable=len(never),
        watch=watch,
        regions=tuple(regions),
        rejudged=tuple(r for r in rejudged if r.host in watched_set and r.changed),
        knowledge_warning=knowledge_warning,
    )


def merge_flaps(changes: Sequence[HostChange]) -> list[HostChange]:
    """One host's changes in the window with "went unreachable" and "reachable again" merged into
    one "flapped" entry: a host that went down and came back appears once, not in two sections."""
    down = [c for c in changes if c.kind == "unreachable"]
    up = [c for c in changes if c.kind == "reachable_again"]
    if not down or not up:
        return list(changes)
    rest = [c for c in changes if c.kind not in ("unreachable", "reachable_again")]
    last = max(down + up, key=lambda c: c.at)
    now_state = f"back up: {up[-1].after}" if last.kind == "reachable_again" else f"down again: {down[-1].after}"
    times = len(down)
    summary = (
        f"flapped: went down {times} time{'s' if times != 1 else ''} ({down[0].after or 'no answer'}); {now_state}"
    )
    flap = HostChange(
        last.host, last.at, "flapped", summary, before=down[0].before, after=last.after, check_id=last.check_id
    )
    return sorted([*rest, flap], key=lambda c: c.at)
