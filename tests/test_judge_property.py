"""The judge's one rule as a property over generated signal sets (Hypothesis):

    a host's verdict is never better than the verdict of the lowest on-premises build it showed,
    whatever other signals come with it.

"Lowest" is defined here on its own: the lowest CU line (first three parts), and in it the lowest
four-part build; a three-part build stands for its line, so a four-part build of the same line is
the more precise reading of it. "Better" orders statuses vulnerable < cannot tell < patched =
not affected, and end of life (True) < unknown < supported (False).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.assess import assess
from bot.core.buildnum import Build
from bot.core.catalog import Catalog
from bot.core.fingerprint import BuildSignal, Observations
from bot.core.judge import judge
from bot.core.model import Assessment
from bot.knowledge import load_catalog

TODAY = dt.date(2026, 11, 29)
FAMS = ("ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell")
RANK = {"vulnerable": 0, "unknown": 1, "patched": 2, "not_affected": 2}
EOL_RANK = {True: 0, None: 1, False: 2}
URL = "https://mail.example.test/owa/"
BUILD_SIGNALS = ("x-owa-version", "x-serverapplication", "exporttool", "owa-path", "owa-path-legacy", "ecp-path")
CATALOG = load_catalog()


@dataclass(frozen=True)
class Signal:
    """One thing a host can show; ``apply`` adds it to observations."""

    kind: str
    value: str
    build: Build | None = None

    def apply(self, obs: Observations) -> None:
        if self.build is not None:
            obs.builds.append(BuildSignal(self.kind, URL, self.value, self.build))
        elif self.kind == "online-name":
            obs.markers.append(("x-feserver", URL, self.value))
            obs.exchange_online.append(("x-feserver", URL, self.value))
        elif self.kind == "online-target":
            obs.markers.append(("x-calculatedbetarget", URL, self.value))
            obs.exchange_online.append(("x-calculatedbetarget", URL, self.value))
        elif self.kind == "marker":
            obs.markers.append((self.value, URL, self.value))
        elif self.kind == "unparseable":
            obs.markers.append(("x-owa-version (unparseable)", URL, self.value))
            obs.unparseable.append(("x-owa-version", URL, self.value))
        elif self.kind == "preauth":
            obs.preauth.append((self.value, URL))
        elif self.kind == "server":
            obs.server_headers.add(self.value)
        elif self.kind == "lost":
            obs.lost.append((URL, self.value))
        elif self.kind == "xml":
            obs.xml_rejected.append(f"{URL}: refused XML ({self.value})")
        elif self.kind == "exchange2003":
            obs.exchange_2003 = True


def observations(signals: list[Signal]) -> Observations:
    obs = Observations()
    for s in signals:
        s.apply(obs)
    return obs


def is_on_prem(b: Build) -> bool:
    return not (b.major == 15 and b.minor >= 20)


def lowest_on_prem(signals: list[Signal]) -> Build | None:
    builds = [s.build for s in signals if s.build is not None and is_on_prem(s.build)]
    if not builds:
        return None
    return min(builds, key=lambda b: (b.parts[:3], b.parts[3] if b.precision == 4 else 10**9))


def not_better(got: Assessment, ref: Assessment) -> list[str]:
    """Where ``got`` is better than ``ref`` (empty: never)."""
    worse = [f for f in FAMS if RANK[got.families[f]] > RANK[ref.families[f]]]
    if EOL_RANK[got.eol] > EOL_RANK[ref.eol]:
        worse.append(f"eol {got.eol} vs {ref.eol}")
    return worse


# --- strategies ----------------------------------------------------------------------------------

_PUBLISHED = sorted({r.build for r in CATALOG.releases if r.build.precision == 4 and r.build.major >= 8})
_published = st.sampled_from(_PUBLISHED)


@st.composite
def on_prem_builds(draw: st.DrawFn) -> Build:
    b = draw(_published)
    form = draw(st.sampled_from(("exact", "three", "file-version")))
    if form == "three":
        return Build(b.parts[:3])
    if form == "file-version":  # an unpublished fourth part of a real CU line
        return Build((*b.parts[:3], draw(st.integers(0, 80))))
    return b


_online_builds = st.builds(
    lambda minor, third, fourth: Build((15, minor, third, fourth)),
    st.integers(20, 21),
    st.integers(1000, 9999),
    st.integers(0, 99),
)

signals = st.one_of(
    st.builds(lambda kind, b: Signal(kind, str(b), b), st.sampled_from(BUILD_SIGNALS), on_prem_builds()),
    st.builds(lambda kind, b: Signal(kind, str(b), b), st.sampled_from(BUILD_SIGNALS[:2]), _online_builds),
    st.builds(Signal, st.just("online-name"), st.sampled_from(("MA1PR0101CA0031", "EXCHPR01", "GV1P191MB2243"))),
    st.builds(Signal, st.just("online-target"), st.just("GV1P191MB2243.EURP191.PROD.OUTLOOK.COM")),
    st.builds(Signal, st.just("marker"), st.sampled_from(("owa-logon-page", "x-feserver", "owa-redirect"))),
    st.builds(Signal, st.just("unparseable"), st.sampled_from(("15.2.1544.4" + " " * 60 + "junk", "15.1", "x"))),
    st.builds(Signal, st.just("preauth"), st.just("KEMP LoadMaster ESP pre-authentication")),
    st.builds(Signal, st.just("server"), st.sampled_from(("Microsoft-IIS/7.5", "Microsoft-IIS/10.0", "nginx"))),
    st.builds(Signal, st.just("lost"), st.just("no more data arrived in time")),
    st.builds(Signal, st.just("xml"), st.just("DTDForbidden")),
    st.builds(Signal, st.just("exchange2003"), st.just("")),
)

PROPERTY = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return CATALOG


# --- properties ----------------------------------------------------------------------------------


@PROPERTY
@given(st.lists(signals, max_size=8), signals)
def test_adding_a_signal_never_beats_the_lowest_on_prem_build(base: list[Signal], extra: Signal) -> None:
    shown = [*base, extra]
    lowest = lowest_on_prem(shown)
    got = judge("host", observations(shown), CATALOG, TODAY).assessment
    if lowest is None:
        return
    ref = assess(str(lowest), CATALOG, TODAY)
    assert not_better(got, ref) == [], (lowest, dict(got.families), dict(ref.families))
    assert got.product != "Exchange Online"
    assert got.build is not None and Build.of(got.build) == lowest  # JSON "build": the lowest seen


@PROPERTY
@given(st.lists(signals, min_size=1, max_size=8), signals)
def test_no_added_signal_improves_a_verdict_on_an_on_prem_build(base: list[Signal], extra: Signal) -> None:
    """Whatever comes on top (Exchange Online names or builds, markers, cut answers, more builds),
    a host that showed an on-prem build is never judged better than its lowest on-prem build is."""
    if lowest_on_prem(base) is None:
        return
    before = judge("host", observations(base), CATALOG, TODAY).assessment
    after = judge("host", observations([*base, extra]), CATALOG, TODAY).assessment
    if lowest_on_prem([*base, extra]) == lowest_on_prem(base):  # nothing lower came: never better than before
        assert not_better(after, before) == [], (extra, dict(before.families), dict(after.families))


@PROPERTY
@given(st.lists(signals, max_size=8))
def test_a_cut_answer_clears_nothing(base: list[Signal]) -> None:
    shown = [*base, Signal("lost", "headers larger than the limit")]
    j = judge("host", observations(shown), CATALOG, TODAY)
    assert not any(s in ("patched", "not_affected") for s in j.assessment.families.values())
    assert not any(v.status in ("patched", "not_affected") for v in j.assessment.cves)
    assert j.assessment.eol is not False
    assert any("not read" in w for w in j.warnings)


@PROPERTY
@given(st.lists(signals, max_size=8))
def test_exchange_online_only_when_every_version_signal_is(base: list[Signal]) -> None:
    j = judge("host", observations(base), CATALOG, TODAY)
    if j.assessment.product == "Exchange Online":
        builds = [s.build for s in base if s.build is not None]
        assert builds and not any(is_on_prem(b) for b in builds)
        assert not any(s.kind in ("unparseable", "exchange2003") for s in base)


@pytest.mark.parametrize("name", ["EXCHPR01", "EXPR01", "MAILPR1", "CASPR02", "NYCPR01"])
def test_an_on_prem_name_alone_is_never_exchange_online(name: str) -> None:
    shown = [Signal("online-name", name)]
    j = judge("host", observations(shown), CATALOG, TODAY)
    assert j.assessment.product is None and set(j.assessment.families.values()) == {"unknown"}
