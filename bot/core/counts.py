"""How many CVEs an assessment is certainly vulnerable to, and how many of those are known exploited. Pure."""

from __future__ import annotations

from bot.core.model import Assessment


def vulnerable_counts(assessment: Assessment) -> tuple[int, int]:
    """``(vulnerable_count, kev_count)``: CVEs judged vulnerable, and those of them in CISA KEV."""
    vulnerable = [v for v in assessment.cves if v.status == "vulnerable"]
    return len(vulnerable), sum(1 for v in vulnerable if v.kev)
