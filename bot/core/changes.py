"""What changed for a host between checks, and which checks are change points. Pure.

The same logic feeds ``exchbot changes``, the Slack check card ("since the last check") and the daily
digest, so the three can never disagree.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

from bot.core.catalog import FAMILIES
from bot.core.failure import failure_reason

ChangeKind = Literal[
    "first_seen",
    "build_changed",
    "patched",
    "newly_vulnerable",
    "family_changed",
    "eol_changed",
    "unreachable",
    "reachable_again",
    "flapped",  # went unreachable and came back within one digest window (reported once)
]


@dataclass(frozen=True)
class CheckPoint:
    """The summary of one stored check that change detection needs."""

    host: str
    checked_at: dt.datetime
    build: str | None
    product: str | None
    cu: str | None
    update: str | None
    eol: bool | None
    families: Mapping[str, str]
    reachable: bool
    error: str | None
    check_id: int | None = None
    exchange: bool | None = None
    vulnerable_count: int | None = None  # CVEs with status vulnerable (None: not stored)
    kev_count: int | None = None  # of them, known exploited (CISA KEV)
    undetermined_count: int | None = None  # CVEs that cannot be told from the build (None: not stored)
    undetermined_kev: int | None = None  # of them, known exploited
    update_nearest: bool = False  # ``update`` is that of the nearest published build (the build never was)

    @property
    def answered(self) -> bool:
        """The host was reached and produced a result worth comparing."""
        return self.reachable and self.error is None

    def label(self) -> str:
        """``build (product CU update)``; an update named after the nearest published build says so
        in words (``~`` would strike text through in Slack)."""
        line = " ".join(p for p in (self.product, self.cu) if p)
        update = None if self.update in (None, "none") else self.update
        if update and self.update_nearest:
            name = ", ".join(p for p in (line, f"nearest {update}") if p)
        else:
            name = " ".join(p for p in (line, update) if p)
        return f"{self.build} ({name})" if name and self.build else (self.build or name or "unknown build")


@dataclass(frozen=True)
class HostChange:
    """One change between two checks of a host: build, a family's verdict, end of life or reachability."""

    host: str
    at: dt.datetime
    kind: ChangeKind
    summary: str
    before: str | None = None
    after: str | None = None
    family: str | None = None
    check_id: int | None = None
    details: Mapping[str, str] = field(default_factory=dict)


def host_changes(points: Sequence[CheckPoint], since: dt.datetime | None = None) -> list[HostChange]:
    """Changes of one host, oldest first. ``points`` may include checks from before ``since``:
    they serve as the baseline and produce no changes themselves."""
    ordered = sorted(points, key=lambda p: p.checked_at)
    changes: list[HostChange] = []
    last_answered: CheckPoint | None = None
    previous: CheckPoint | None = None
    for cur in ordered:
        found: list[HostChange] = []
        if previous is None:
            found.append(_change(cur, "first_seen", f"first check: {_state(cur)}", after=_state(cur)))
        elif previous.answered and not cur.answered:
            found.append(
                _change(
                    cur,
                    "unreachable",
                    f"could not be checked: {failure_reason(cur.error)}",
                    before=previous.label(),
                    after=cur.error,
                )
            )
        elif not previous.answered and cur.answered:
            found.append(_change(cur, "reachable_again", f"reachable again: {cur.label()}", after=cur.label()))
        if cur.answered and last_answered is not None:
            found.extend(_compare(last_answered, cur))
        if since is None or cur.checked_at >= since:
            changes.extend(found)
        previous = cur
        if cur.answered:
            last_answered = cur
    return changes


def _compare(old: CheckPoint, new: CheckPoint) -> list[HostChange]:
    found = []
    if old.build != new.build and old.build and new.build:
        found.append(
            _change(new, "build_changed", f"build {old.label()} -> {new.label()}", before=old.build, after=new.build)
        )
    for fam in FAMILIES:
        a, b = old.families.get(fam), new.families.get(fam)
        if a == b or a is None or b is None:
            continue
        if b == "vulnerable":
            kind: ChangeKind = "newly_vulnerable"
        elif a == "vulnerable" and b in ("patched", "not_affected"):
            kind = "patched"
        else:
            kind = "family_changed"
        found.append(_change(new, kind, f"{fam}: {a} -> {b}", before=a, after=b, family=fam))
    if old.eol != new.eol and new.eol is not None and old.eol is not None:
        found.append(
            _change(
                new,
                "eol_changed",
                f"end of life: {_yn(old.eol)} -> {_yn(new.eol)}",
                before=_yn(old.eol),
                after=_yn(new.eol),
            )
        )
    return found


def change_point_ids(points: Sequence[CheckPoint]) -> set[int]:
    """Checks that changed something (plus the first and the newest): retention keeps these."""
    ordered = sorted(points, key=lambda p: p.checked_at)
    keep = {p.check_id for p in ordered[:1] + ordered[-1:] if p.check_id is not None}
    for ch in host_changes(ordered):
        if ch.check_id is not None:
            keep.add(ch.check_id)
    return keep


def group_by_host(points: Iterable[CheckPoint]) -> dict[str, list[CheckPoint]]:
    out: dict[str, list[CheckPoint]] = {}
    for p in points:
        out.setdefault(p.host, []).append(p)
    return out


def _change(
    p: CheckPoint,
    kind: ChangeKind,
    summary: str,
    *,
    before: str | None = None,
    after: str | None = None,
    family: str | None = None,
) -> HostChange:
    return HostChange(p.host, p.checked_at, kind, summary, before, after, family, p.check_id)


def _state(p: CheckPoint) -> str:
    return p.label() if p.answered else f"could not be checked ({failure_reason(p.error)})"


def _yn(v: bool | None) -> str:
    return "unknown" if v is None else ("yes" if v else "no")
