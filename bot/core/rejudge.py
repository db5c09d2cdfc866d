"""What new knowledge changes for a host already checked: the stored verdicts of its latest build
against a fresh judgement of the same build under the knowledge now in use (pure, no probing).

Kept apart from changes seen on the wire (:mod:`bot.core.changes`): the server did not change,
what is known about its build did (a new CVE, a changed fix row, a new KEV flag).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from bot.core.buildnum import Build, BuildParseError
from bot.core.catalog import Catalog
from bot.core.model import Assessment

ShiftKind = Literal["newly_vulnerable", "no_longer_vulnerable", "changed"]
_WORDS = {"vulnerable": "vulnerable", "patched": "patched", "unknown": "cannot tell", "not_affected": "not affected"}


@dataclass(frozen=True)
class CveShift:
    """How new knowledge changed one CVE's verdict on a stored build (``before`` None: a CVE new to it)."""

    cve_id: str
    before: str | None  # None: the CVE was not in the knowledge of the stored check
    after: str
    published: dt.date | None
    kev: bool

    @property
    def kind(self) -> ShiftKind:
        if self.after == "vulnerable":
            return "newly_vulnerable"
        if self.before == "vulnerable":
            return "no_longer_vulnerable"
        return "changed"


@dataclass(frozen=True)
class Rejudgement:
    """Host ``host``'s latest check (``check_id``, build ``build``) judged again under ``new_version``."""

    host: str
    check_id: int
    build: str
    checked_at: dt.datetime
    old_version: str
    new_version: str
    knowledge_date: dt.date
    statuses: Mapping[str, str]  # the fresh verdict per CVE: the baseline of the next re-judgement
    shifts: tuple[CveShift, ...]
    install: str | None = None  # what to install now, named ("Exchange SE RTM Nov26SU (15.2.…)")
    judged_at: dt.datetime | None = None

    @property
    def changed(self) -> bool:
        return bool(self.shifts)

    def of(self, kind: ShiftKind) -> tuple[CveShift, ...]:
        return tuple(s for s in self.shifts if s.kind == kind)

    @property
    def summary(self) -> str:
        parts: list[str] = []
        newly = self.of("newly_vulnerable")
        if newly:
            parts.append("newly vulnerable to " + ", ".join(_cve_text(s) for s in newly[:8]) + _more(newly, 8))
        fixed = self.of("no_longer_vulnerable")
        if fixed:
            parts.append(
                "no longer vulnerable to "
                + ", ".join(f"{s.cve_id} (now {_WORDS.get(s.after, s.after)})" for s in fixed[:8])
                + _more(fixed, 8)
            )
        other = self.of("changed")
        if other:
            parts.append(
                "changed: "
                + ", ".join(
                    f"{s.cve_id} {_WORDS.get(s.before or '', 'new')} -> {_WORDS.get(s.after, s.after)}"
                    for s in other[:8]
                )
                + _more(other, 8)
            )
        if not parts:
            return f"no change under the knowledge of {self.knowledge_date.isoformat()}"
        if newly and self.install:
            parts.append(f"install {self.install}")
        return "; ".join(parts)


def _cve_text(s: CveShift) -> str:
    pub = f"published {s.published.isoformat()}" if s.published else "publication date unknown"
    return f"{s.cve_id} ({pub}{', known exploited' if s.kev else ''})"


def _more(items: tuple[CveShift, ...], shown: int) -> str:
    return f" and {len(items) - shown} more" if len(items) > shown else ""


def rejudge(
    *,
    host: str,
    check_id: int,
    build: str,
    checked_at: dt.datetime,
    old_version: str,
    old_statuses: Mapping[str, str],
    fresh: Assessment,
    catalog: Catalog,
    judged_at: dt.datetime | None = None,
) -> Rejudgement:
    """Compare the stored per-CVE verdicts of a build with a fresh assessment of it. A CVE the new
    knowledge no longer lists is not reported (it cannot be judged either way)."""
    cves = {c.id: c for c in catalog.cves}
    new = {v.id: v.status for v in fresh.cves}
    shifts: list[CveShift] = []
    for v in fresh.cves:
        before = old_statuses.get(v.id)
        if before == v.status or (before is None and v.status in ("not_affected", "patched")):
            continue  # unchanged, or a new CVE that does not concern this build
        c = cves.get(v.id)
        shifts.append(CveShift(v.id, before, v.status, c.published if c else None, v.kev))
    return Rejudgement(
        host=host,
        check_id=check_id,
        build=build,
        checked_at=checked_at,
        old_version=old_version,
        new_version=catalog.version,
        knowledge_date=catalog.data_date,
        statuses=new,
        shifts=tuple(shifts),
        install=_install_name(fresh, catalog),
        judged_at=judged_at,
    )


def _install_name(a: Assessment, catalog: Catalog) -> str | None:
    if not a.install or a.install == a.build:
        return None
    try:
        rel = catalog.release(Build.of(a.install))
    except (BuildParseError, ValueError):
        rel = None
    if rel is None:
        return a.install
    upd = "" if rel.update == "none" else f" {rel.update}"
    return f"{rel.product} {rel.cu}{upd} ({rel.build}, {rel.release_date.isoformat()})"
