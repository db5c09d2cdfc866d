"""Results of the core: frozen, JSON-friendly dataclasses (renderers turn them into text)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["vulnerable", "patched", "unknown", "not_affected"]
STATUSES: tuple[Status, ...] = ("vulnerable", "patched", "unknown", "not_affected")


@dataclass(frozen=True)
class CveVerdict:
    """One CVE's verdict on a build (vulnerable / patched / cannot tell / not affected) and why."""

    id: str
    family: str | None
    status: Status
    fixed_in: str | None
    kev: bool
    config_dependent: bool
    reason: str


@dataclass(frozen=True)
class Assessment:
    """What one build string says about a server (the "assessment" of the JSON contract)."""

    input: str
    build: str | None
    precision: int
    product: str | None
    cu: str | None
    update: str | None
    release_date: dt.date | None
    eol: bool | None
    eol_date: dt.date | None
    esu: bool
    families: Mapping[str, Status]
    cves: tuple[CveVerdict, ...]
    advice: str | None
    error: str | None
    notes: tuple[str, ...] = ()
    install: str | None = None
    knowledge_date: dt.date | None = None
    knowledge_version: str | None = None
    extra: Mapping[str, str] = field(default_factory=dict)
    knowledge_age_days: int | None = None  # days between knowledge_date and the day of the answer
    kev_date: dt.date | None = None  # date of the CISA KEV catalogue the ``kev`` flags come from
    # ``update`` and ``release_date`` are those of the nearest published build: this four-part build
    # was never published (a file version that differs slightly). The JSON says so in ``notes``.
    update_nearest: bool = False

    @property
    def update_label(self) -> str | None:
        """The update as the views name it: ``~Nov26SU`` when it is the nearest published build's."""
        if self.update_nearest and self.update not in (None, "none"):
            return f"~{self.update}"
        return self.update

    @property
    def at_risk(self) -> bool:
        """End-of-life, or certainly vulnerable to one of the named families."""
        return bool(self.eol) or any(s == "vulnerable" for s in self.families.values())


@dataclass(frozen=True)
class Evidence:
    """One observation that led to the verdict: which signal, from which URL, with what value."""

    signal: str
    url: str
    value: str


@dataclass(frozen=True)
class CheckResult:
    """A live check of one target (the "check result" of the JSON contract)."""

    target: str  # as the user gave it
    host: str  # normalised key for history: lower-case IDNA host, ":port" unless 443
    assessment: Assessment
    reachable: bool
    exchange: bool | None
    evidence: tuple[Evidence, ...]
    warnings: tuple[str, ...]
    checked_at: dt.datetime
    error: str | None
    address: str | None = None  # the IP actually connected to
    # False when nothing was sent to the host (the SSRF guard refused it): not an observation of
    # the host, so it is never stored and never shows up in changes, the digest or the watch views.
    attempted: bool = True

    @property
    def checked(self) -> bool:
        """An answer was obtained (the target could be checked), whatever it says."""
        return self.error is None
