"""Per-CVE and per-family verdicts for an identified build.

The rules, in order:

1. A CVE is fixed by a specific build *per CU line*; the knowledge base lists them
   (``cve_fixes.csv``). On a listed line: below the fix is vulnerable, at or above is patched.
2. A line the CVE does not list, in a lineage that got a fix: a CU released after the fix contains
   it (patched); an older CU never got one (vulnerable), whatever its fourth part.
3. A product the CVE does not list at all: not affected if Microsoft still shipped updates for that
   product when the CVE was published and still assessed it (not after the end of its paid ESU
   period, or of extended support without one), otherwise "unknown" (never assessed). A CVE
   published after that end is never "not affected" for the product, whatever the rows say.
4. Precision: a build known only to its CU cannot show its SU: patched only if the CU itself
   contains the fix, vulnerable only if no build of the line is fixed, otherwise unknown.
5. A fix that also needs configuration (Extended Protection, setting overrides, hybrid steps)
   is never reported as patched: at or above the fix it is "unknown" with the reason.

A wrong "patched" is worse than "unknown": every doubt resolves to "unknown".
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.core.buildnum import Build
from bot.core.catalog import ALL_LINES, FAMILIES, Catalog, Cve, CveFix, lineage_key
from bot.core.identify import ONLINE, Identity
from bot.core.model import CveVerdict, Status

_TOP = 10**9  # larger than any fourth part: the highest build a 3-part prefix can stand for


def cve_verdict(cve: Cve, ident: Identity, catalog: Catalog) -> CveVerdict:
    status, fixed_in, reason = _raw_verdict(cve, ident, catalog)
    life = catalog.lifecycles.get(ident.product or "")
    end = life.esu_end if life else None
    if status == "not_affected" and end is not None and cve.published > end:
        # Microsoft stopped assessing the product at the end of its paid ESU period, before this
        # CVE: no row may turn that silence into "not affected" (unlisted products: _unlisted).
        status, reason = (
            "unknown",
            (
                f"{ident.product} was no longer assessed when {cve.id} was published "
                f"({cve.published.isoformat()}, after {end.isoformat()})"
            ),
        )
    if status == "patched" and cve.config_dependent:
        status, reason = "unknown", f"fix installed; depends on configuration: {cve.config_note}"
    return CveVerdict(cve.id, cve.family, status, fixed_in, cve.kev, cve.config_dependent, reason)


def family_status(verdicts: Iterable[CveVerdict], family: str) -> Status:
    statuses = [v.status for v in verdicts if v.family == family]
    if not statuses:
        return "unknown"
    if "vulnerable" in statuses:
        return "vulnerable"
    if "unknown" in statuses:
        return "unknown"
    if all(s == "not_affected" for s in statuses):
        return "not_affected"
    return "patched"


def families(verdicts: tuple[CveVerdict, ...]) -> dict[str, Status]:
    return {f: family_status(verdicts, f) for f in FAMILIES}


def _raw_verdict(cve: Cve, ident: Identity, catalog: Catalog) -> tuple[Status, str | None, str]:
    product = ident.product
    if product is None:
        return "unknown", None, "product not identified"
    if product == ONLINE:
        return "not_affected", None, "Exchange Online is patched by Microsoft"

    rows = catalog.fixes_for(cve.id)
    for row in rows:
        if row.product == product and row.cu == ALL_LINES:
            return _from_row_status(row)

    lineage = lineage_key(product, ident.build)
    lineage_fixed = [
        r
        for r in rows
        if r.status == "fixed" and r.fixed_in is not None and lineage_key(r.product, r.fixed_in) == lineage
    ]

    if ident.line is None:
        if ident.line_state == "newer" and lineage_fixed:
            return "patched", None, "newer CU than any in the knowledge base: contains fixes released before it"
        if not lineage_fixed and product not in cve.products:
            return _unlisted(cve, product, catalog)
        return "unknown", None, "build not in the knowledge base"

    line = ident.line
    on_line = next((r for r in rows if r.product == line.product and r.cu == line.cu), None)
    if on_line is not None:
        if on_line.status != "fixed" or on_line.fixed_in is None:
            return _from_row_status(on_line)
        status, fixed, reason = _against_fix(ident, on_line.fixed_in)
        alt = on_line.alt_fixed_in
        if status == "vulnerable" and alt is not None and _against_fix(ident, alt)[0] != "vulnerable":
            return (
                "unknown",
                fixed,
                (f"Microsoft's sources disagree: the CVE record says fixed in {fixed}, Health Checker in {alt}"),
            )
        return status, fixed, reason

    if lineage_fixed:
        first_fix = min(_fix_date(r, catalog) for r in lineage_fixed)
        if line.release_date > first_fix:
            reason = f"{line.product} {line.cu} was released after the fix and contains it"
            return "patched", str(line.base.build), reason
        return "vulnerable", None, f"no fix was released for {line.product} {line.cu}"
    if product not in cve.products:
        return _unlisted(cve, product, catalog)
    return "unknown", None, f"Microsoft lists {product} without a fixed build for {line.cu}"


def _against_fix(ident: Identity, fixed: Build) -> tuple[Status, str | None, str]:
    assert ident.line is not None
    if ident.build.precision == 4:
        results = {c >= fixed for c in ident.candidates}
        if results == {True}:
            return "patched", str(fixed), f"build is at or above the fix {fixed}"
        if results == {False}:
            return "vulnerable", str(fixed), f"build is below the fix {fixed}"
        reason = f"the reported file version and the nearest published build straddle the fix {fixed}"
        return "unknown", str(fixed), reason
    # Three parts: the lowest build this can be is the line's own build (2013+) or the RU's .0.
    low = (*ident.build.parts, 0)
    if ident.line.product not in ("Exchange 2007", "Exchange 2010"):
        low = max(low, ident.line.base.build.parts)
    high = (*ident.build.parts, _TOP)
    if low >= fixed.parts:
        return "patched", str(fixed), f"every build of {ident.build} contains the fix {fixed}"
    if high < fixed.parts:
        return "vulnerable", str(fixed), f"every build of {ident.build} is below the fix {fixed}"
    return "unknown", str(fixed), f"the security update level is not visible; fixed in {fixed}"


def _from_row_status(row: CveFix) -> tuple[Status, str | None, str]:
    if row.status == "not_affected":
        return "not_affected", None, row.notes or f"{row.product} is not affected"
    if row.status == "no_fix":
        return "vulnerable", None, row.notes or f"no fix for {row.product} {row.cu}"
    return "unknown", str(row.fixed_in) if row.fixed_in else None, row.notes


def _fix_date(row: CveFix, catalog: Catalog) -> dt.date:
    assert row.fixed_in is not None
    rel = catalog.release(row.fixed_in)
    if rel is None:  # the data integrity tests keep this from happening
        raise LookupError(f"fix build {row.fixed_in} of {row.cve_id} is not a published build")
    return rel.release_date


def _unlisted(cve: Cve, product: str, catalog: Catalog) -> tuple[Status, str | None, str]:
    if catalog.serviced(product, cve.published):
        return "not_affected", None, f"Microsoft does not list {product} as affected"
    return "unknown", None, f"{product} was out of support when {cve.id} was published: Microsoft did not assess it"
