"""How many CVEs an answer is vulnerable to, and which of them are known exploited (CISA KEV). Pure.

Every view says the same thing the same way: ``N CVEs (K KEV)``, with the known-exploited ones
listed first, and then how many CVEs cannot be told (``55 cannot tell (1 KEV)``): the views of a
fresh answer (the build table, one-line check answers, the Slack card) through :func:`glance_text`,
the summaries of stored checks (history, watch list, digest, the card's "last known") through
:func:`stored_counts_text`, from the counts stored with each check's verdicts.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.changes import CheckPoint
    from bot.core.model import Assessment, CveVerdict


def vulnerable_counts(assessment: Assessment) -> tuple[int, int]:
    """(vulnerable_count, kev_count): CVEs with status vulnerable, and those of them known exploited."""
    return cve_counts(assessment.cves)


def cve_counts(cves: Iterable[CveVerdict]) -> tuple[int, int]:
    """:func:`vulnerable_counts` of a list of verdicts."""
    vulnerable = [v for v in cves if v.status == "vulnerable"]
    return len(vulnerable), sum(1 for v in vulnerable if v.kev)


def kev_ids(assessment: Assessment) -> list[str]:
    """Ids of the vulnerable CVEs that are known exploited, in catalogue order."""
    return vulnerable_kev_ids(assessment.cves)


def vulnerable_kev_ids(cves: Iterable[CveVerdict]) -> list[str]:
    """:func:`kev_ids` of a list of verdicts."""
    return [v.id for v in cves if v.status == "vulnerable" and v.kev]


def kev_first(cves: Iterable[CveVerdict]) -> list[CveVerdict]:
    """Known-exploited vulnerable CVEs first, then other known-exploited ones, then the rest;
    otherwise the order is kept."""
    return sorted(cves, key=lambda v: 0 if (v.kev and v.status == "vulnerable") else (1 if v.kev else 2))


def vulnerable_first(assessment: Assessment) -> list[CveVerdict]:
    """The vulnerable CVEs, known-exploited ones first."""
    return kev_first(v for v in assessment.cves if v.status == "vulnerable")


def counts_text(vulnerable: int | None, kev: int | None) -> str:
    """``N CVEs (K KEV)``; ``no vulnerable CVEs`` for zero; empty when unknown; ``N CVEs`` alone when
    the KEV count is unknown (a stored check whose verdicts cannot be read): never a made-up 0 KEV."""
    if vulnerable is None:
        return ""
    if vulnerable == 0:
        return "no vulnerable CVEs"
    noun = "CVE" if vulnerable == 1 else "CVEs"
    return f"{vulnerable} {noun}" if kev is None else f"{vulnerable} {noun} ({kev} KEV)"


def undetermined_counts(cves: Iterable[CveVerdict]) -> tuple[int, int]:
    """(count, kev_count) of the CVEs whose verdict cannot be told from the build (status unknown,
    not because it depends on configuration): e.g. CVEs published after the product's end of life,
    which Microsoft no longer assesses for it."""
    return count_undetermined((v.status, v.config_dependent, v.kev) for v in cves)


def count_undetermined(verdicts: Iterable[tuple[object, object, object]]) -> tuple[int, int]:
    """:func:`undetermined_counts` of (status, config_dependent, kev) triples: the one rule, also
    applied to stored verdicts (JSON), where only ``True`` is true."""
    undetermined = [
        kev for status, config_dependent, kev in verdicts if status == "unknown" and config_dependent is not True
    ]
    return len(undetermined), sum(1 for kev in undetermined if kev is True)


def stored_undetermined_counts(cves: object) -> tuple[int, int]:
    """:func:`undetermined_counts` of a stored (JSON) CVE list; anything else than a list of
    objects (an old or damaged document) counts none."""
    if not isinstance(cves, list):
        return 0, 0
    return count_undetermined(
        (c.get("status"), c.get("config_dependent"), c.get("kev")) for c in cves if isinstance(c, dict)
    )


def undetermined_text(assessment: Assessment) -> str:
    """``55 cannot tell (1 KEV)``; empty when every CVE's verdict is known (or nothing was judged)."""
    if assessment.build is None or assessment.error:
        return ""
    return undetermined_phrase(*undetermined_counts(assessment.cves))


def undetermined_phrase(count: int | None, kev: int | None) -> str:
    """``55 cannot tell (1 KEV)``, ``3 cannot tell``; empty for none (or not stored)."""
    if not count:
        return ""
    return f"{count} cannot tell" + (f" ({kev} KEV)" if kev else "")


def stored_counts_text(
    vulnerable: int | None, kev: int | None, undetermined: int | None = None, undetermined_kev: int | None = None
) -> str:
    """:func:`counts_text`, then :func:`undetermined_phrase`, of counts read back from the store:
    ``no vulnerable CVEs, 55 cannot tell (1 KEV)``; empty when the vulnerable count is unknown."""
    if vulnerable is None:
        return ""
    return ", ".join(
        t for t in (counts_text(vulnerable, kev), undetermined_phrase(undetermined, undetermined_kev)) if t
    )


def point_counts_text(p: CheckPoint) -> str:
    """:func:`stored_counts_text` of one stored check."""
    return stored_counts_text(p.vulnerable_count, p.kev_count, p.undetermined_count, p.undetermined_kev)


def point_risk_text(p: CheckPoint) -> str:
    """The counts of one stored check worth flagging in a list of hosts at risk: the vulnerable
    ones when there are some, and how many cannot be told when some cannot; else empty."""
    if p.vulnerable_count:
        return point_counts_text(p)
    return undetermined_phrase(p.undetermined_count, p.undetermined_kev)


def glance_text(assessment: Assessment) -> str:
    """:func:`assessment_counts_text`, then :func:`undetermined_text`: ``no vulnerable CVEs, 55 cannot
    tell (1 KEV)``. For the views that give one line per answer, where "no vulnerable CVEs" alone
    would read as all clear though the knowledge does not say."""
    return ", ".join(t for t in (assessment_counts_text(assessment), undetermined_text(assessment)) if t)


def assessment_counts_text(assessment: Assessment) -> str:
    """:func:`counts_text` of an assessment; empty when it has no build (nothing was judged)."""
    if assessment.build is None or assessment.error:
        return ""
    return counts_text(*vulnerable_counts(assessment))


def cve_label(v: CveVerdict) -> str:
    """A CVE id, marked when it is known exploited: ``CVE-2021-26855 [KEV]``."""
    return f"{v.id} [KEV]" if v.kev else v.id
