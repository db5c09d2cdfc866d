"""Verdicts for real builds, written down by hand from Microsoft's published tables.

Each row states what Microsoft's build page and CVE records say about one build; the engine
must agree. Abbreviations: V vulnerable, P patched, U unknown (cannot tell), N not affected.
"""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.assess import assess
from bot.core.catalog import Catalog

V, P, U, N = "vulnerable", "patched", "unknown", "not_affected"
FAMS = ("ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell")

# build, product, cu, update, eol (as of 2026-11-29), (ProxyLogon, ProxyShell, ProxyToken, ProxyNotShell)
TABLE = [
    # ProxyLogon boundaries: March 2021 SU per CU line, incl. the SUs for older CUs.
    ("15.0.1497.10", "Exchange 2013", "CU23", "Dec20SU", True, (V, V, V, V)),
    ("15.0.1497.12", "Exchange 2013", "CU23", "Mar21SU", True, (P, V, V, V)),
    ("15.1.2176.4", "Exchange 2016", "CU19", "Feb21SU", True, (V, V, V, V)),
    ("15.1.2176.9", "Exchange 2016", "CU19", "Mar21SU", True, (P, V, V, V)),
    ("15.1.2106.8", "Exchange 2016", "CU18", "Feb21SU", True, (V, V, V, V)),
    ("15.1.2106.13", "Exchange 2016", "CU18", "Mar21SU", True, (P, V, V, V)),
    ("15.2.792.5", "Exchange 2019", "CU8", "Feb21SU", True, (V, V, V, V)),
    ("15.2.792.10", "Exchange 2019", "CU8", "Mar21SU", True, (P, V, V, V)),
    ("15.1.1415.7", "Exchange 2016", "CU8", "May18SU", True, (V, V, V, V)),
    ("15.1.1415.10", "Exchange 2016", "CU8", "Mar21SU", True, (P, V, V, V)),
    ("15.1.1261.39", "Exchange 2016", "CU7", "Mar18SU", True, (V, V, V, V)),
    ("15.0.1367.9", "Exchange 2013", "CU20", "Aug18SU", True, (V, V, V, V)),
    ("15.0.847.64", "Exchange 2013", "SP1", "Mar21SU", True, (P, V, V, V)),
    ("15.2.221.18", "Exchange 2019", "RTM", "Mar21SU", True, (P, V, V, V)),
    ("15.1.2242.4", "Exchange 2016", "CU20", "none", True, (P, V, V, V)),
    ("15.2.858.5", "Exchange 2019", "CU9", "none", True, (P, V, V, V)),
    # ProxyShell / ProxyToken: 34473 + 34523 + 33766 fixed by the April 2021 SU, 31207 by May 2021.
    ("15.1.2176.12", "Exchange 2016", "CU19", "Apr21SU", True, (P, V, P, V)),
    ("15.1.2176.14", "Exchange 2016", "CU19", "May21SU", True, (P, P, P, V)),
    ("15.2.858.10", "Exchange 2019", "CU9", "Apr21SU", True, (P, V, P, V)),
    ("15.2.858.12", "Exchange 2019", "CU9", "May21SU", True, (P, P, P, V)),
    ("15.0.1497.15", "Exchange 2013", "CU23", "Apr21SU", True, (P, V, P, V)),
    ("15.0.1497.18", "Exchange 2013", "CU23", "May21SU", True, (P, P, P, V)),
    ("15.2.792.15", "Exchange 2019", "CU8", "May21SU", True, (P, P, P, V)),
    ("15.2.922.7", "Exchange 2019", "CU10", "none", True, (P, P, P, V)),
    ("15.1.2308.8", "Exchange 2016", "CU21", "none", True, (P, P, P, V)),
    # ProxyNotShell: only the November 2022 SU fixed it (October 2022 did not).
    ("15.2.986.30", "Exchange 2019", "CU11", "Oct22SU", True, (P, P, P, V)),
    ("15.2.986.36", "Exchange 2019", "CU11", "Nov22SU", True, (P, P, P, P)),
    ("15.2.1118.15", "Exchange 2019", "CU12", "Oct22SU", True, (P, P, P, V)),
    ("15.2.1118.20", "Exchange 2019", "CU12", "Nov22SU", True, (P, P, P, P)),
    ("15.1.2507.13", "Exchange 2016", "CU23", "Oct22SU", True, (P, P, P, V)),
    ("15.1.2507.16", "Exchange 2016", "CU23", "Nov22SU", True, (P, P, P, P)),
    ("15.1.2375.32", "Exchange 2016", "CU22", "Oct22SU", True, (P, P, P, V)),
    ("15.1.2375.37", "Exchange 2016", "CU22", "Nov22SU", True, (P, P, P, P)),
    ("15.0.1497.42", "Exchange 2013", "CU23", "Oct22SU", True, (P, P, P, V)),
    ("15.0.1497.44", "Exchange 2013", "CU23", "Nov22SU", True, (P, P, P, P)),
    ("15.2.922.27", "Exchange 2019", "CU10", "Mar22SU", True, (P, P, P, V)),  # CU10 never got Nov22SU
    ("15.1.2308.27", "Exchange 2016", "CU21", "Mar22SU", True, (P, P, P, V)),
    ("15.2.1258.12", "Exchange 2019", "CU13", "none", True, (P, P, P, P)),
    # Exchange 2010: of ProxyLogon only CVE-2021-26857 applies, fixed in SP3 RU32.
    ("14.3.509.0", "Exchange 2010", "SP3", "RU31", True, (V, N, N, N)),
    ("14.3.513.0", "Exchange 2010", "SP3", "RU32", True, (P, N, N, N)),
    ("14.2.390.3", "Exchange 2010", "SP2", "RU8", True, (V, N, N, N)),
    # Exchange SE and ESU-era 2016/2019 builds.
    ("15.2.2562.17", "Exchange SE", "RTM", "none", False, (P, P, P, P)),
    ("15.2.2562.53", "Exchange SE", "RTM", "Sep26SUv2", False, (P, P, P, P)),
    ("15.2.1748.10", "Exchange 2019", "CU15", "none", True, (P, P, P, P)),
    ("15.2.1748.53", "Exchange 2019", "CU15", "Sep26SUv2", True, (P, P, P, P)),
    ("15.1.2507.66", "Exchange 2016", "CU23", "Feb26SU", True, (P, P, P, P)),
    # Older products.
    ("8.3.485.1", "Exchange 2007", "SP3", "RU21", True, (U, U, U, U)),
]


@pytest.mark.parametrize(("build", "product", "cu", "update", "eol", "fams"), TABLE)
def test_build_verdicts(
    catalog: Catalog, today: dt.date, build: str, product: str, cu: str, update: str, eol: bool, fams: tuple[str, ...]
) -> None:
    a = assess(build, catalog, today)
    assert a.error is None
    assert (a.product, a.cu, a.update, a.eol) == (product, cu, update, eol)
    assert tuple(a.families[f] for f in FAMS) == fams


THREE_PART = [
    # CU known, SU not: patched only if the CU itself contains the fix, vulnerable if its line never got one.
    ("15.1.2375", "Exchange 2016", "CU22", (P, P, P, U)),
    ("15.2.922", "Exchange 2019", "CU10", (P, P, P, V)),
    ("15.0.1473", "Exchange 2013", "CU22", (U, V, V, V)),
    ("15.1.1466", "Exchange 2016", "CU9", (U, V, V, V)),
    ("15.0.1497", "Exchange 2013", "CU23", (U, U, U, U)),
    ("15.2.858", "Exchange 2019", "CU9", (P, U, U, V)),
    ("15.2.2562", "Exchange SE", "RTM", (P, P, P, P)),
    ("15.1.1261", "Exchange 2016", "CU7", (V, V, V, V)),
    ("14.3.513", "Exchange 2010", "SP3", (P, N, N, N)),
    ("14.3.496", "Exchange 2010", "SP3", (V, N, N, N)),
]


@pytest.mark.parametrize(("build", "product", "cu", "fams"), THREE_PART)
def test_three_part_builds_never_guess(
    catalog: Catalog, today: dt.date, build: str, product: str, cu: str, fams: tuple[str, ...]
) -> None:
    a = assess(build, catalog, today)
    assert (a.product, a.cu, a.precision) == (product, cu, 3)
    assert tuple(a.families[f] for f in FAMS) == fams
    if product not in ("Exchange 2007", "Exchange 2010"):
        assert a.update is None  # the SU level is not visible in three parts


def test_se_is_not_2019(catalog: Catalog, today: dt.date) -> None:
    se = assess("15.2.2562.37", catalog, today)
    e19 = assess("15.2.1748.43", catalog, today)
    assert (se.product, se.eol) == ("Exchange SE", False)
    assert (e19.product, e19.eol) == ("Exchange 2019", True)
    assert assess("15.2", catalog, today).product is None  # 2019 or SE: cannot tell


def test_eol_depends_on_today(catalog: Catalog) -> None:
    before = assess("15.2.1748.36", catalog, dt.date(2025, 10, 14))
    after = assess("15.2.1748.36", catalog, dt.date(2025, 10, 15))
    assert (before.eol, after.eol) == (False, True)
    assert before.eol_date == dt.date(2025, 10, 14)


def test_esu_builds_stay_end_of_life(catalog: Catalog, today: dt.date) -> None:
    esu = assess("15.1.2507.66", catalog, today)
    last_public = assess("15.1.2507.61", catalog, today)
    assert esu.esu and esu.eol
    assert not last_public.esu and last_public.eol
    assert "Exchange SE" in (esu.advice or "")


def test_exchange_online(catalog: Catalog, today: dt.date) -> None:
    a = assess("15.20.485.0", catalog, today)
    assert (a.product, a.eol) == ("Exchange Online", False)
    assert set(a.families.values()) == {N}
    assert all(v.status == N for v in a.cves)


def test_file_version_resolves_to_nearest_published_build(catalog: Catalog, today: dt.date) -> None:
    a = assess("15.2.858.2", catalog, today)  # OWA file version on a CU9 (15.2.858.5) server
    assert (a.product, a.cu, a.update) == ("Exchange 2019", "CU9", "none")
    assert any("15.2.858.5" in n for n in a.notes)
    b = assess("15.1.2242.5", catalog, today)  # export tool one above CU20 (15.1.2242.4)
    assert (b.cu, b.update) == ("CU20", "none")
    assert b.families["ProxyShell"] == V


def test_file_version_straddling_a_fix_is_unknown(catalog: Catalog, today: dt.date) -> None:
    # 15.2.986.35 is unpublished; its nearest build 986.36 (Nov22SU) is fixed, the value itself is not.
    a = assess("15.2.986.35", catalog, today)
    assert a.families["ProxyNotShell"] == U


def test_zero_padded_and_prefixed_forms_agree(catalog: Catalog, today: dt.date) -> None:
    plain = assess("15.1.2176.9", catalog, today)
    for spelling in ("15.01.2176.009", "Exchange/15.01.2176.009"):
        other = assess(spelling, catalog, today)
        assert (other.build, other.families, other.cu, other.update) == (
            plain.build,
            plain.families,
            plain.cu,
            plain.update,
        )


def test_garbage_gets_an_error_not_a_crash(catalog: Catalog, today: dt.date) -> None:
    for text in ("garbage", "", "<!channel>", "15.1.2375.37.9"):
        a = assess(text, catalog, today)
        assert a.error and a.build is None and a.precision == 0 and a.product is None


def test_two_part_build_names_the_product_only(catalog: Catalog, today: dt.date) -> None:
    a = assess("15.1", catalog, today)
    assert (a.product, a.cu, a.eol, a.precision) == ("Exchange 2016", None, True, 2)
    assert set(a.families.values()) == {U}


def test_unknown_newer_build_is_flagged(catalog: Catalog, today: dt.date) -> None:
    a = assess("15.2.2600.5", catalog, today)
    assert a.product == "Exchange SE" and a.cu is None
    assert any("newer than every" in n for n in a.notes)


def test_configuration_dependent_cves_are_never_patched(catalog: Catalog, today: dt.date) -> None:
    a = assess("15.2.1544.4", catalog, today)  # 2019 CU14 turns Extended Protection on by default
    v = {c.id: c for c in a.cves}["CVE-2024-21410"]
    assert v.status == U and v.config_dependent and "configuration" in v.reason
    old = {c.id: c for c in assess("15.2.1118.40", catalog, today).cves}["CVE-2024-21410"]
    assert old.status == V  # CU12 never got the fix


def test_products_not_listed_while_serviced_are_not_affected(catalog: Catalog, today: dt.date) -> None:
    # CVE-2026-55007 lists 2019 and SE but not 2016, which still got builds that month.
    v = {c.id: c for c in assess("15.1.2507.72", catalog, today).cves}["CVE-2026-55007"]
    assert v.status == N
    # Exchange 2013 was out of support in 2026: never assessed, so cannot tell.
    w = {c.id: c for c in assess("15.0.1497.48", catalog, today).cves}["CVE-2026-55007"]
    assert w.status == U


def test_every_cve_is_reported(catalog: Catalog, today: dt.date) -> None:
    a = assess("15.2.1748.36", catalog, today)
    assert {v.id for v in a.cves} == {c.id for c in catalog.cves}
    assert all(v.kev == next(c.kev for c in catalog.cves if c.id == v.id) for v in a.cves)


def test_sources_that_disagree_give_cannot_tell(catalog: Catalog, today: dt.date) -> None:
    # The CVE record names the Aug23SU re-release (v2), Health Checker the first Aug23SU.
    def status(build: str, cve: str) -> str:
        return {v.id: v.status for v in assess(build, catalog, today).cves}[cve]

    assert status("15.2.1258.16", "CVE-2023-38182") == V  # Jun23SU: before both
    assert status("15.2.1258.23", "CVE-2023-38182") == U  # Aug23SU v1: the sources disagree
    assert status("15.2.1258.25", "CVE-2023-38182") == P  # Aug23SU v2: fixed per both
    assert status("15.2.1258.32", "CVE-2024-26198") == U  # Mar24SU (Health Checker) vs Apr24HU (record)


def test_build_above_every_published_update_is_not_named_after_one(catalog: Catalog, today: dt.date) -> None:
    newest = catalog.line_by_name("Exchange SE", "RTM").latest  # type: ignore[union-attr]
    major, minor, build, rev = newest.build.parts
    a = assess(f"{major}.{minor}.{build}.{rev + 10}", catalog, today)
    assert (a.product, a.cu, a.update, a.release_date) == ("Exchange SE", "RTM", None, None)
    assert any("newer than the newest published" in n for n in a.notes)
    assert "Up to date" in (a.advice or "") and a.families["ProxyNotShell"] == P
    close = assess(f"{major}.{minor}.{build}.{rev + 1}", catalog, today)  # a file version of the newest update
    assert close.update == newest.update
