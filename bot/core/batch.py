"""Batch checks as data: which results match ``--fail-on``, the end-of-run summary, the exit code. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from bot.core.counts import vulnerable_counts

if TYPE_CHECKING:
    from bot.core.model import CheckResult

FailOn = Literal["vulnerable", "eol", "at-risk", "error"]
FAIL_ON: tuple[FailOn, ...] = ("vulnerable", "eol", "at-risk", "error")

# Exit codes of `check` and `watch run` (README, "Exit codes").
EXIT_OK = 0
EXIT_NOT_CHECKED = 1
EXIT_USAGE = 2
EXIT_FINDINGS = 3
EXIT_SIGINT = 130
EXIT_SIGTERM = 143


def is_vulnerable(r: CheckResult) -> bool:
    """Any named family or any CVE certainly vulnerable."""
    if r.error is not None:
        return False
    a = r.assessment
    return any(s == "vulnerable" for s in a.families.values()) or vulnerable_counts(a)[0] > 0


def is_eol(r: CheckResult) -> bool:
    return r.error is None and bool(r.assessment.eol)


def matches(r: CheckResult, fail_on: Iterable[FailOn]) -> bool:
    """Whether ``r`` is a finding under any of the ``--fail-on`` conditions."""
    for cond in fail_on:
        if cond == "vulnerable" and is_vulnerable(r):
            return True
        if cond == "eol" and is_eol(r):
            return True
        if cond == "at-risk" and (is_vulnerable(r) or is_eol(r)):
            return True
        if cond == "error" and r.error is not None:
            return True
    return False


@dataclass(frozen=True)
class Summary:
    """The counts of a batch of checks, as its closing line and ``--fail-on`` see them."""

    total: int  # targets asked for (valid lines)
    checked: int  # results obtained (any outcome)
    vulnerable: int
    eol: int
    not_checked: int
    skipped: int  # invalid input lines
    findings: int  # results matching --fail-on
    interrupted: bool = False

    def text(self) -> str:
        """``300 checked: 161 with a vulnerable family, 277 end-of-life, 2 could not be checked, 1 line skipped``."""
        parts = [
            f"{self.vulnerable} with a vulnerable family or CVE",
            f"{self.eol} end-of-life",
            f"{self.not_checked} could not be checked",
        ]
        if self.skipped:
            parts.append(f"{self.skipped} line{'s' if self.skipped != 1 else ''} skipped")
        if self.findings:
            parts.append(f"{self.findings} matched --fail-on")
        return f"{self.checked} checked: " + ", ".join(parts)


def summarise(
    results: Iterable[CheckResult],
    *,
    total: int,
    skipped: int = 0,
    fail_on: Iterable[FailOn] = (),
    interrupted: bool = False,
) -> Summary:
    conds = tuple(fail_on)
    checked = vulnerable = eol = not_checked = findings = 0
    for r in results:
        checked += 1
        vulnerable += is_vulnerable(r)
        eol += is_eol(r)
        not_checked += r.error is not None
        findings += matches(r, conds)
    return Summary(total, checked, vulnerable, eol, not_checked, skipped, findings, interrupted)


def exit_code(s: Summary) -> int:
    """3 when a ``--fail-on`` condition matched, else 1 when a host could not be checked, else 0."""
    if s.findings:
        return EXIT_FINDINGS
    if s.not_checked:
        return EXIT_NOT_CHECKED
    return EXIT_OK
