"""Shodan exposure snapshots as data (the counting and verdict logic is in bot.core.exposure)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class BuildCount:
    """How many banners disclose one build (3 parts from an OWA path, or 4 parts), per country."""

    build: str
    total: int
    countries: Mapping[str, int]
    unattributed: int
    query: str = ""


@dataclass(frozen=True)
class Snapshot:
    """One Shodan snapshot; every region is computed from its country buckets."""

    taken_at: dt.datetime
    query: str  # the base query that finds on-premises Exchange
    total: int
    countries: Mapping[str, int]
    unattributed: int
    builds: tuple[BuildCount, ...]
    credits_used: int
    requests: int
    complete: bool
    knowledge_version: str
    mode: str = "count"  # "count" (zero credits) or "deep" (banners downloaded)
    id: int | None = None
    meta: Mapping[str, str] = field(default_factory=dict)
