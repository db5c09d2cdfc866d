"""What the knowledge in use holds: its date and age, counts, newest builds, sources (pure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from bot.core.catalog import Catalog
from bot.core.staleness import Staleness, staleness


@dataclass(frozen=True)
class SourceInfo:
    """One source of the knowledge and when it was read."""

    id: str
    title: str
    url: str
    as_of: str


@dataclass(frozen=True)
class NewestBuild:
    """The newest release of one product line, for ``exchbot knowledge``."""

    product: str
    cu: str
    update: str
    build: str
    release_date: dt.date


@dataclass(frozen=True)
class KnowledgeSummary:
    """What ``exchbot knowledge`` reports: where the knowledge comes from, its age and its counts."""

    version: str
    origin: str  # "packaged" or the EXCHBOT_KNOWLEDGE_DIR path
    staleness: Staleness
    builds: int
    cves: int
    fix_rows: int
    kev_entries: int
    kev_date: dt.date | None
    newest: tuple[NewestBuild, ...]  # the newest build of every product's newest CU line
    sources: tuple[SourceInfo, ...]


def summarize(
    catalog: Catalog,
    today: dt.date,
    max_age_days: int,
    *,
    origin: str,
    sources: Iterable[Mapping[str, str]] = (),
) -> KnowledgeSummary:
    newest: list[NewestBuild] = []
    for product in dict.fromkeys(ln.product for ln in catalog.lines):
        line = max((ln for ln in catalog.lines if ln.product == product), key=lambda ln: ln.key)
        r = line.latest
        newest.append(NewestBuild(r.product, r.cu, r.update, str(r.build), r.release_date))
    return KnowledgeSummary(
        version=catalog.version,
        origin=origin,
        staleness=staleness(catalog.data_date, today, max_age_days),
        builds=len(catalog.releases),
        cves=len(catalog.cves),
        fix_rows=len(catalog.fixes),
        kev_entries=sum(1 for c in catalog.cves if c.kev),
        kev_date=catalog.kev_date,
        newest=tuple(newest),
        sources=tuple(
            SourceInfo(
                id=row.get("source_id") or row.get("id") or "",
                title=row.get("title", ""),
                url=row.get("url", ""),
                as_of=row.get("as_of", ""),
            )
            for row in sources
        ),
    )
