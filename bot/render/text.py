"""Plain-text renderings for the terminal. Pure functions of results."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from bot.core.catalog import FAMILIES
from bot.core.changes import CheckPoint
from bot.core.counts import (
    assessment_counts_text,
    cve_label,
    glance_text,
    kev_first,
    point_counts_text,
    vulnerable_counts,
    vulnerable_first,
)
from bot.core.judge import alert_labels, alerts
from bot.core.model import Assessment, CheckResult
from bot.render.hints import domain_hint, failure_hints, failure_text

STATUS_TEXT = {
    "vulnerable": "VULNERABLE",
    "patched": "patched",
    "unknown": "cannot tell",
    "not_affected": "not affected",
}


def kev_as_of(kev_date: dt.date | None) -> str:
    """``, CISA KEV catalogue of DATE + CVE records`` after a count of known exploited CVEs: the
    flags come from that catalogue and from CISA's entries in the CVE records read since, so a CVE
    added after the catalogue's date can be flagged (knowledge/README.md)."""
    return f", CISA KEV catalogue of {kev_date.isoformat()} + CVE records" if kev_date else ""


def stale_lines(warning: str | None) -> list[str]:
    """The staleness warning as the last line(s) of a text answer."""
    return [f"warning: {warning}"] if warning else []


def yes_no(value: bool | None) -> str:
    return "unknown" if value is None else ("yes" if value else "no")


def point_state(p: CheckPoint) -> str:
    """A stored check in one line: ``15.1.2375.17 (Exchange 2016 CU22 Nov21SU); EOL; 87 CVEs (5 KEV)``."""
    if p.error or not p.reachable:
        return failure_text(p.error or "no answer", slack=False)
    parts = [p.label()]
    if p.eol:
        parts.append("EOL")
    cves = point_counts_text(p)
    if cves:
        parts.append(cves)
    return "; ".join(parts)


def assessment_name(a: Assessment) -> str:
    """``Exchange SE RTM Nov26SU``: product, CU and update (``~`` marks the nearest published one)."""
    return " ".join(p for p in (a.product, a.cu, a.update_label if a.update not in (None, "none") else None) if p)


NEAREST_LEGEND = "~ marks the nearest published build's update: the build itself was never published."


def build_table(assessments: Sequence[Assessment]) -> str:
    """One row per input: the verdict at a glance."""
    head = ["input", "product", "CU", "update", "EOL", "vulnerable", *FAMILIES]
    rows = [head]
    for a in assessments:
        if a.error:
            rows.append([a.input, f"error: {a.error}", *([""] * (len(head) - 2))])
            continue
        rows.append(
            [
                a.input,
                a.product or "?",
                a.cu or "?",
                a.update_label or "?",
                yes_no(a.eol),
                glance_text(a) or "?",
                *(STATUS_TEXT[a.families[f]] for f in FAMILIES),
            ]
        )
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def assessment_details(a: Assessment) -> str:
    """Everything one assessment says, for a single input."""
    if a.error:
        return f"{a.input}: error: {a.error}"
    out = [f"{a.input} -> {a.build} (precision: {a.precision} parts)"]
    name = assessment_name(a)
    released = f", released {a.release_date}" if a.release_date else ""
    if a.update_nearest:
        released += " (~: the nearest published build)"
    out.append(f"  product:   {name or 'unknown'}{released}")
    eol = yes_no(a.eol) + (f" (end of support {a.eol_date})" if a.eol_date else "")
    if a.esu:
        eol += "; paid Extended Security Update build"
    out.append(f"  EOL:       {eol}")
    for fam in FAMILIES:
        out.append(f"  {fam + ':':<14} {STATUS_TEXT[a.families[fam]]}")
    vulnerable = vulnerable_first(a)
    if vulnerable:
        kev = vulnerable_counts(a)[1]
        ids = ", ".join(cve_label(v) for v in vulnerable[:8]) + (" ..." if len(vulnerable) > 8 else "")
        out.append(f"  vulnerable to {assessment_counts_text(a)}{kev_as_of(a.kev_date)}: {ids}")
        if kev:
            out.append(f"  known exploited (CISA KEV): {', '.join(v.id for v in vulnerable if v.kev)}")
    config = [v.id for v in a.cves if v.status == "unknown" and v.config_dependent]
    if config:
        out.append(f"  depends on configuration: {', '.join(config)}")
    # Neither vulnerable nor patched: e.g. a CVE Microsoft published after it stopped assessing the
    # product, or a build whose update level is not visible. Said, so silence never reads as patched.
    unknown = [cve_label(v) for v in kev_first(a.cves) if v.status == "unknown" and not v.config_dependent]
    if unknown:
        shown = ", ".join(unknown[:8]) + (" ..." if len(unknown) > 8 else "")
        out.append(f"  cannot tell: {len(unknown)} CVE{'s' if len(unknown) != 1 else ''}: {shown}")
    for note in a.notes:
        out.append(f"  note: {note}")
    if a.advice:
        out.append(f"  advice:    {a.advice}")
    age = f" ({a.knowledge_age_days} days old)" if a.knowledge_age_days is not None else ""
    out.append(f"  data:      knowledge base as of {a.knowledge_date}{age}")
    return "\n".join(out)


def check_line(r: CheckResult) -> str:
    """One line per target for batches; disagreeing signals or a possible honeypot lead it."""
    if r.error:
        return f"{r.target}: {failure_text(r.error, slack=False)}"
    labels = alert_labels(r.warnings)
    lead = f"{r.target}: {'; '.join(labels).upper()}:" if labels else f"{r.target}:"
    return f"{lead} {_verdict_text(r)}"


def _verdict_text(r: CheckResult) -> str:
    a = r.assessment
    if a.build is None:
        return {True: "Exchange, version hidden", False: "not Exchange", None: "cannot tell (front end)"}[r.exchange]
    name = assessment_name(a)
    fams = " ".join(f"{f}={STATUS_TEXT[a.families[f]]}" for f in FAMILIES)
    eol = "EOL" if a.eol else ("supported" if a.eol is False else "EOL unknown")
    flag = " (!)" if r.warnings else ""
    cves = glance_text(a)
    return f"{a.build} {name or '?'}; {eol}; {cves}; {fams}{flag}"


def check_details(r: CheckResult) -> str:
    """Everything one check found."""
    head = f"{r.target} ({r.host}{', ' + r.address if r.address else ''}) checked {r.checked_at:%Y-%m-%d %H:%M:%S %Z}"
    if r.error:
        hints = [*failure_hints(r.error), *filter(None, [domain_hint(r.host)])]
        return "\n".join([head, f"  {failure_text(r.error, slack=False)}", *(f"  hint:      {h}" for h in hints)])
    out = [head]
    first = alerts(r.warnings)
    out.extend(f"  ALERT:     {w}" for w in first)  # said first, not as the last line
    exch = {True: "yes", False: "no", None: "cannot tell (a front end hides it)"}[r.exchange]
    out.append(f"  Exchange:  {exch}")
    if r.assessment.build is not None:
        out.append(assessment_details(r.assessment).split("\n", 1)[1])
    for e in r.evidence[:12]:
        out.append(f"  evidence:  {e.signal}: {e.value}  [{e.url}]")
    for w in r.warnings:
        if w not in first:
            out.append(f"  warning:   {w}")
    return "\n".join(out)
