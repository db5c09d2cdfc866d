"""The knowledge data is consistent, sourced, and every fix boundary behaves."""

from __future__ import annotations

import csv
import datetime as dt
from collections import Counter
from pathlib import Path

import pytest

from bot.core.assess import assess
from bot.core.buildnum import Build
from bot.core.catalog import FAMILIES, Catalog
from bot.knowledge import knowledge_dir

KNOWLEDGE = knowledge_dir()


def rows(name: str) -> list[dict[str, str]]:
    with open(Path(KNOWLEDGE) / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


SOURCE_IDS = {r["source_id"] for r in rows("sources.csv")}
DATA_FILES = [
    "builds.csv",
    "lifecycle.csv",
    "cves.csv",
    "cve_fixes.csv",
    "regions.csv",
    "countries.csv",
    "cve_curated.csv",
    "cve_statements.csv",
    "meta.csv",
]


@pytest.mark.parametrize("name", DATA_FILES)
def test_every_row_names_a_known_source(name: str) -> None:
    for row in rows(name):
        assert row["source"], f"{name}: row without source: {row}"
        for sid in row["source"].split(";"):
            assert sid in SOURCE_IDS, f"{name}: unknown source id {sid!r}"


def test_sources_have_urls_and_dates() -> None:
    for row in rows("sources.csv"):
        assert row["url"] and row["title"]
        dt.date.fromisoformat(row["as_of"])


def test_builds_are_unique_and_dated() -> None:
    builds = rows("builds.csv")
    assert Counter(r["build"] for r in builds).most_common(1)[0][1] == 1
    names = Counter((r["product"], r["cu"], r["update"]) for r in builds)
    assert names.most_common(1)[0][1] == 1
    for r in builds:
        dt.date.fromisoformat(r["release_date"])
        Build.of(r["build"])
        assert r["esu"] in ("true", "false")


def test_build_coverage_reaches_2026(catalog: Catalog) -> None:
    products = {r.product for r in catalog.releases}
    assert {
        "Exchange 2007",
        "Exchange 2010",
        "Exchange 2013",
        "Exchange 2016",
        "Exchange 2019",
        "Exchange SE",
    } <= products
    assert max(r.release_date for r in catalog.releases) >= dt.date(2026, 1, 1)
    assert catalog.release(Build.of("15.2.2562.17")).product == "Exchange SE"  # type: ignore[union-attr]


def test_each_line_has_one_product_and_cu(catalog: Catalog) -> None:
    for line in catalog.lines:
        assert {(r.product, r.cu) for r in line.releases} == {(line.product, line.cu)}
        assert line.base.update == "none", f"{line.product} {line.cu} has no base build"
        assert all(r.release_date >= line.base.release_date for r in line.releases)


def test_esu_flag_matches_end_of_support() -> None:
    for r in rows("builds.csv"):
        after = dt.date.fromisoformat(r["release_date"]) > dt.date(2025, 10, 14)
        expect = r["product"] in ("Exchange 2016", "Exchange 2019") and after
        assert (r["esu"] == "true") == expect, r


def test_lifecycle_covers_every_product(catalog: Catalog) -> None:
    for product in {r.product for r in catalog.releases}:
        assert product in catalog.lifecycles
    assert catalog.lifecycles["Exchange 2016"].extended_end == dt.date(2025, 10, 14)
    assert catalog.lifecycles["Exchange 2019"].extended_end == dt.date(2025, 10, 14)
    assert catalog.lifecycles["Exchange 2013"].extended_end == dt.date(2023, 4, 11)
    assert catalog.lifecycles["Exchange SE"].extended_end is None


def test_cves_are_well_formed(catalog: Catalog) -> None:
    ids = [c.id for c in catalog.cves]
    assert len(ids) == len(set(ids))
    assert all(c.published >= dt.date(2021, 1, 1) for c in catalog.cves)
    families = {f: sorted(c.id for c in catalog.cves if c.family == f) for f in FAMILIES}
    assert families == {
        "ProxyLogon": ["CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"],
        "ProxyShell": ["CVE-2021-31207", "CVE-2021-34473", "CVE-2021-34523"],
        "ProxyToken": ["CVE-2021-33766"],
        "ProxyNotShell": ["CVE-2022-41040", "CVE-2022-41082"],
    }
    for required in ("CVE-2022-41080", "CVE-2023-21529", "CVE-2024-21410", "CVE-2025-53786", "CVE-2026-21527"):
        assert required in ids
    kev = {c.id for c in catalog.cves if c.kev}
    assert {"CVE-2021-26855", "CVE-2021-34473", "CVE-2022-41040", "CVE-2022-41082"} <= kev


def test_every_fix_row_points_at_a_published_build_of_its_line(catalog: Catalog) -> None:
    cve_ids = {c.id for c in catalog.cves}
    for fix in catalog.fixes:
        assert fix.cve_id in cve_ids
        if fix.cu == "*":
            assert fix.status != "fixed"
            continue
        line = catalog.line_by_name(fix.product, fix.cu)
        assert line is not None, f"{fix.cve_id}: no line {fix.product} {fix.cu}"
        if fix.status == "fixed":
            assert fix.fixed_in is not None
            rel = catalog.release(fix.fixed_in)
            assert rel is not None and (rel.product, rel.cu) == (fix.product, fix.cu), fix


def test_every_cve_has_a_fix_or_an_explanation(catalog: Catalog) -> None:
    for cve in catalog.cves:
        assert catalog.fixes_for(cve.id), f"{cve.id} has no fix rows"


def test_regions(catalog: Catalog) -> None:
    assert len(catalog.regions["eu"]) == 27
    assert {"DE", "FR", "CY", "IE"} <= catalog.regions["eu"]
    assert "GB" not in catalog.regions["eu"] and "GB" in catalog.regions["europe"]
    assert catalog.regions["us"] == frozenset({"US"})
    assert {"US", "CA", "MX"} <= catalog.regions["na"]
    assert {"JP", "CN", "IN", "AU"} <= catalog.regions["apac"]
    assert {"JP", "CN", "IN", "SA"} <= catalog.regions["asia"]
    for name, codes in catalog.regions.items():
        assert codes <= set(catalog.countries), name
    assert catalog.regions["world"] == frozenset(catalog.countries)


# -- every family fix boundary, on every CU line, from the data ------------------------------------


def _boundaries(catalog: Catalog) -> list[tuple[str, str, str, str]]:
    cases = []
    family_of = {c.id: c.family for c in catalog.cves if c.family in FAMILIES}
    for fix in catalog.fixes:
        if fix.cve_id not in family_of or fix.status != "fixed" or fix.fixed_in is None:
            continue
        line = catalog.line_by_name(fix.product, fix.cu)
        assert line is not None
        before = [r for r in line.releases if r.build < fix.fixed_in]
        cases.append((fix.cve_id, str(fix.fixed_in), "patched", f"{fix.product} {fix.cu}"))
        if before:
            cases.append((fix.cve_id, str(before[-1].build), "vulnerable", f"{fix.product} {fix.cu}"))
    return cases


def test_family_boundaries_on_every_line(catalog: Catalog) -> None:
    today = dt.date(2026, 11, 29)
    cases = _boundaries(catalog)
    assert len(cases) > 100
    for cve_id, build, expected, where in cases:
        verdict = {v.id: v for v in assess(build, catalog, today).cves}[cve_id]
        assert verdict.status == expected, f"{cve_id} on {where} {build}: {verdict}"
