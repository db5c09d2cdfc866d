"""How old the knowledge is, and the warning every answer carries when it is too old (pure).

The knowledge (``knowledge/``) knows Exchange builds and CVEs up to its data date. An answer given
later than that cannot know what Microsoft published since, so "patched" only means "patched up to
the data date". Every answer says so from the first Patch Tuesday after the data date (Microsoft
releases Exchange security updates then), or once the knowledge is older than ``max_age_days``
(``EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS``), whichever comes first: a host patched up to the data date is
not called patched without that qualification on the day updates may have come out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.model import Assessment, CheckResult


DEFAULT_MAX_AGE_DAYS = 35  # the longest gap between two Patch Tuesdays


def patch_tuesday(year: int, month: int) -> dt.date:
    """Microsoft's monthly security release day: the second Tuesday of the month."""
    first = dt.date(year, month, 1)
    return first + dt.timedelta(days=(1 - first.weekday()) % 7 + 7)  # weekday(): Tuesday is 1


def next_patch_tuesday(after: dt.date) -> dt.date:
    """The first Patch Tuesday strictly after ``after`` (the data date's own releases are known)."""
    this_month = patch_tuesday(after.year, after.month)
    if this_month > after:
        return this_month
    if (after.year, after.month) == (dt.MAXYEAR, 12):
        return dt.date.max  # a data date at the calendar's end (a damaged knowledge file): never
    return patch_tuesday(after.year + after.month // 12, after.month % 12 + 1)


@dataclass(frozen=True)
class Staleness:
    """How old the knowledge is on ``today``, against the age after which results carry a warning."""

    data_date: dt.date
    today: dt.date
    max_age_days: int

    @property
    def age_days(self) -> int:
        return (self.today - self.data_date).days

    @property
    def patch_tuesday(self) -> dt.date:
        """The first Patch Tuesday after the data date: what it released is not known."""
        return next_patch_tuesday(self.data_date)

    @property
    def warn_from(self) -> dt.date:
        """The first day answers carry the warning."""
        try:
            by_age = self.data_date + dt.timedelta(days=self.max_age_days + 1)
        except OverflowError:  # past the calendar's end: only the Patch Tuesday rule is left
            by_age = dt.date.max
        return min(self.patch_tuesday, by_age)

    @property
    def stale(self) -> bool:
        return self.today >= self.warn_from

    @property
    def warning(self) -> str | None:
        if not self.stale:
            return None
        d = self.data_date.isoformat()
        why = [f"{self.age_days} days old"]
        if self.age_days > self.max_age_days:
            why.append(f"more than {self.max_age_days}")
        if self.today >= self.patch_tuesday:
            why.append(f"older than Microsoft's Patch Tuesday of {self.patch_tuesday.isoformat()}")
        return (
            f"knowledge data is from {d} ({', '.join(why)}): "
            f'Exchange updates and CVEs released since {d} are not known, so "patched" means '
            f'"patched up to {d}" (update exchbot or its knowledge data)'
        )


def staleness(data_date: dt.date, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS) -> Staleness:
    return Staleness(data_date, today, max_age_days)


def stamp_assessment(a: Assessment, today: dt.date, max_age_days: int) -> Assessment:
    """The assessment with its knowledge age, and the staleness warning in ``notes`` (``exchbot build``)."""
    if a.knowledge_date is None:
        return a
    s = staleness(a.knowledge_date, today, max_age_days)
    notes = a.notes + ((s.warning,) if s.warning and s.warning not in a.notes else ())
    return dataclasses.replace(a, knowledge_age_days=s.age_days, notes=notes)


def stamp_check(r: CheckResult, today: dt.date, max_age_days: int) -> CheckResult:
    """The check result with its knowledge age, and the staleness warning in ``warnings`` when a
    verdict was given (a host that could not be checked has no verdict to qualify)."""
    a = r.assessment
    if a.knowledge_date is None:
        return r
    s = staleness(a.knowledge_date, today, max_age_days)
    a = dataclasses.replace(a, knowledge_age_days=s.age_days)
    warnings = r.warnings
    if s.warning and r.error is None and s.warning not in warnings:
        warnings = (*warnings, s.warning)
    return dataclasses.replace(r, assessment=a, warnings=warnings)
