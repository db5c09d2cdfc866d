"""The JSON of a check is byte-identical to what the straightforward renderer printed.

bot.render.json_out.checks works out the CVE part of a result once per tuple of verdicts (every host
on one build shares it). Three guards that this changes nothing a user or the store sees:

* golden data (tests/data/golden_check_json.json), captured from the renderer before the cache, for
  hand-built results that do not depend on the knowledge data;
* the reference renderer (tests/reference/render_json.py) against the real one, for results of every
  simulator profile and for generated results (Hypothesis), compact and indented;
* the dicts handed out are fresh: changing one never changes the next rendering.

``check_json`` (the compact line of a batch) also encodes the CVE list once per tuple and splices it
in: it is held to the same golden data and reference, byte for byte.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.catalog import Catalog
from bot.core.judge import cannot_clear
from bot.core.model import STATUSES, Assessment, CheckResult, CveVerdict, Evidence
from bot.probe.targets import parse_target
from bot.render import json_out
from bot.render.json_out import checks as fast
from tests.fakes.exchange_profiles import PROFILES
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.reference import render_json as ref
from tests.test_prober_sim import host, prober

GOLDEN = Path(__file__).parent / "data" / "golden_check_json.json"
AT = dt.datetime(2026, 11, 29, 9, 30, 15, 123456, tzinfo=dt.UTC)
HOSTILE_TEXT = 'a "quoted" \\ back\x00slash\u2028line </script> é 😀 \x1b[31m'


def _cves() -> tuple[CveVerdict, ...]:
    return (
        CveVerdict("CVE-2021-26855", "ProxyLogon", "patched", "15.2.858.5", True, False, "fixed in 15.2.858.5"),
        CveVerdict("CVE-2022-41040", "ProxyNotShell", "vulnerable", "15.2.1118.20", True, False, "not fixed"),
        CveVerdict("CVE-2023-21529", None, "vulnerable", None, False, True, "needs a setting: " + HOSTILE_TEXT),
        CveVerdict("CVE-2024-21410", None, "unknown", None, True, True, "cannot tell"),
        CveVerdict("CVE-2020-0688", None, "not_affected", None, False, False, "older line"),
        CveVerdict("CVE-2023-36439", None, "vulnerable", "15.2.1258.28", True, False, "not fixed"),
    )


def _assessment(cves: tuple[CveVerdict, ...], **kw: object) -> Assessment:
    base = Assessment(
        input="mail.example.com",
        build="15.2.1118.7",
        precision=4,
        product="Exchange 2019",
        cu="CU12",
        update="Nov22SU",
        release_date=dt.date(2022, 11, 8),
        eol=False,
        eol_date=dt.date(2025, 10, 14),
        esu=False,
        families={"ProxyLogon": "patched", "ProxyNotShell": "vulnerable", "ProxyShell": "patched"},
        cves=cves,
        advice="install the latest SU",
        error=None,
        notes=("build 15.2.1118.7 from x-owa-version", HOSTILE_TEXT),
        install="Exchange2019-KB5019758-x64-en.exe",
        knowledge_date=dt.date(2026, 11, 20),
        knowledge_version="2026-11-20.1",
        knowledge_age_days=9,
        kev_date=dt.date(2026, 11, 19),
    )
    return dataclasses.replace(base, **kw)  # type: ignore[arg-type]


def golden_cases() -> dict[str, CheckResult]:
    cves = _cves()
    a = _assessment(cves)
    ok = CheckResult(
        target="mail.example.com",
        host="mail.example.com",
        assessment=a,
        reachable=True,
        exchange=True,
        evidence=(
            Evidence("x-owa-version", "https://mail.example.com/owa/", "15.2.1118.7"),
            Evidence("title", "https://mail.example.com/owa/auth/logon.aspx", HOSTILE_TEXT),
        ),
        warnings=("a warning", HOSTILE_TEXT),
        checked_at=AT,
        error=None,
        address="192.0.2.10",
    )
    return {
        "vulnerable": ok,
        "naive_time_port": dataclasses.replace(
            ok, target="mail.example.com:8443", host="mail.example.com:8443", checked_at=AT.replace(tzinfo=None)
        ),
        "not_read_in_full": dataclasses.replace(ok, assessment=cannot_clear(a)),
        "all_patched": dataclasses.replace(
            ok,
            assessment=_assessment(
                tuple(dataclasses.replace(v, status="patched") for v in cves),
                families={"ProxyLogon": "patched"},
                advice=None,
                install=None,
            ),
        ),
        "unreachable": CheckResult(
            target="gone.example.com",
            host="gone.example.com",
            assessment=_assessment((), build=None, precision=0, product=None, cu=None, update=None, notes=()),
            reachable=False,
            exchange=None,
            evidence=(),
            warnings=(),
            checked_at=AT,
            error="could not check: timed out",
        ),
        "no_build_no_cves": dataclasses.replace(
            ok,
            assessment=_assessment((), build=None, precision=0, eol=None, eol_date=None, release_date=None),
            exchange=False,
        ),
    }


def renderings(module: object, r: CheckResult) -> dict[str, str]:
    check_dict = module.check_dict  # type: ignore[attr-defined]
    dumps = module.dumps  # type: ignore[attr-defined]
    return {
        "compact": dumps(check_dict(r), indent=None),
        "indented": dumps(check_dict(r)),
        "assessment": dumps(module.assessment_dict(r.assessment), indent=None),  # type: ignore[attr-defined]
    }


def test_golden_data_is_what_the_reference_renders() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    cases = golden_cases()
    assert sorted(golden) == sorted(cases)
    for name, r in cases.items():
        assert renderings(ref, r) == golden[name], name


def test_every_golden_case_renders_byte_identical_twice() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    for name, r in golden_cases().items():
        assert renderings(json_out, r) == golden[name], name
        assert renderings(json_out, r) == golden[name], f"{name} (second time, from the cache)"


def test_the_compact_line_is_the_golden_compact_rendering_first_and_from_the_cache() -> None:
    golden = json.loads(GOLDEN.read_text(encoding="utf-8"))
    fast._PARTS.clear()  # the first call encodes the CVE list, the second splices the cached text
    for name, r in golden_cases().items():
        assert json_out.check_json(r) == golden[name]["compact"], name
        assert json_out.check_json(r) == golden[name]["compact"], f"{name} (second time, from the cache)"


def test_the_compact_line_of_a_list_of_verdicts_follows_the_list_not_a_cache() -> None:
    cves = list(_cves())
    r = dataclasses.replace(golden_cases()["vulnerable"], assessment=_assessment(cves))  # type: ignore[arg-type]
    before = json_out.check_json(r)
    cves[1] = dataclasses.replace(cves[1], status="patched")
    after = json_out.check_json(r)
    assert after != before
    assert after == ref.dumps(ref.check_dict(r), indent=None)


def test_results_on_one_build_share_the_work_but_not_the_dicts() -> None:
    r = golden_cases()["vulnerable"]
    first = json_out.check_dict(r)
    first["cves"][0]["status"] = "patched"
    first["cves"].append({"id": "CVE-0000-0000"})
    first["kev"].append("CVE-0000-0000")
    assert json_out.dumps(json_out.check_dict(r)) == ref.dumps(ref.check_dict(r))


def test_a_list_of_verdicts_is_rendered_as_given_not_from_a_stale_cache() -> None:
    cves = list(_cves())
    a = _assessment(cves)  # type: ignore[arg-type]
    before = json_out.dumps(json_out.assessment_dict(a))
    cves[1] = dataclasses.replace(cves[1], status="patched")
    after = json_out.dumps(json_out.assessment_dict(a))
    assert after != before
    assert after == ref.dumps(ref.assessment_dict(a))


def test_the_cache_stays_bounded() -> None:
    cves = _cves()
    for i in range(fast._MAX_PARTS * 3):
        one = (dataclasses.replace(cves[0], id=f"CVE-2099-{i:04d}"),)
        d = json_out.assessment_dict(_assessment(one))
        assert d["cves"][0]["id"] == f"CVE-2099-{i:04d}"
    assert len(fast._PARTS) <= fast._MAX_PARTS


def test_without_cves_is_the_full_dict_minus_cves_in_the_same_order() -> None:
    for name, r in golden_cases().items():
        full = ref.check_dict(r)
        full.pop("cves")
        assert list(json_out.check_dict(r, cves=False).items()) == list(full.items()), name


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="not_exchange") as s:
        yield s


def test_every_simulator_profile_renders_as_the_reference(sim: ExchangeSimulator, catalog: Catalog) -> None:
    names = sorted(n for n, p in PROFILES.items() if not p.hostile)
    targets = [parse_target(host(n, sim)) for n in names]

    async def run() -> list[CheckResult]:
        p = prober(catalog, timeout=5.0, concurrency=len(targets))
        return [r for _, r in sorted([x async for x in p.check_many(targets)], key=lambda x: x[0])]

    results = asyncio.run(run())
    assert len(results) == len(names) > 20
    assert sum(1 for r in results if r.assessment.cves) > 10  # most profiles show a build with verdicts
    for name, r in zip(names, results, strict=True):
        assert renderings(json_out, r) == renderings(ref, r), name
        assert renderings(json_out, r) == renderings(ref, r), f"{name} (second time)"
        assert json_out.check_json(r) == ref.dumps(ref.check_dict(r), indent=None), name


_text = st.text(max_size=12)
_opt_text = st.none() | _text
_verdicts = st.builds(
    CveVerdict,
    id=_text,
    family=_opt_text,
    status=st.sampled_from(STATUSES),
    fixed_in=_opt_text,
    kev=st.booleans(),
    config_dependent=st.booleans(),
    reason=_text,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cves=st.lists(_verdicts, max_size=12).map(tuple), repeat=st.integers(1, 3))
def test_generated_verdicts_render_as_the_reference(cves: tuple[CveVerdict, ...], repeat: int) -> None:
    r = dataclasses.replace(golden_cases()["vulnerable"], assessment=_assessment(cves))
    for _ in range(repeat):
        assert renderings(json_out, r) == renderings(ref, r)
        assert json_out.check_json(r) == ref.dumps(ref.check_dict(r), indent=None)


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text() | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200, deadline=None)
@given(value=_json_values, indent=st.sampled_from([None, 2, 4]))
def test_dumps_is_the_plain_json_dumps(value: object, indent: int | None) -> None:
    assert json_out.dumps(value, indent=indent) == ref.dumps(value, indent=indent)


def test_a_cycle_still_fails_instead_of_looping() -> None:
    loop: list[object] = []
    loop.append(loop)
    for indent in (None, 2):
        with pytest.raises((ValueError, RecursionError)):
            json_out.dumps({"a": loop}, indent=indent)
