"""The prober against the HTTPS Exchange simulator: real TLS, real HTTP, real clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import tracemalloc
from collections.abc import Iterator, Sequence

import pytest

from bot.clock import FixedClock
from bot.core.assess import assess
from bot.core.catalog import Catalog
from bot.core.model import CheckResult
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import parse_target
from tests.fakes.exchange_profiles import PROFILES
from tests.fakes.exchange_sim import ExchangeSimulator

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
FAMS = ("ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell")
HOSTILE = sorted(n for n, p in PROFILES.items() if p.hostile)
NORMAL = sorted(n for n, p in PROFILES.items() if not p.hostile)

# Where the design differs from a profile's own expectation, the design wins:
# pre-authentication front ends hide what is behind them (exchange = None;
# the CRYPTOCard agent runs on the Exchange server itself, whose headers prove it);
# a honeypot that serves a real OWA page is judged Exchange, with a warning; OWA's own status 440
# (Login Timeout, Exchange 2003 forms-based auth) identifies Exchange, though not its version.
EXCHANGE_OVERRIDE = {"kemp_preauth": None, "tmg_preauth": None, "honeypot_owa": True, "exchange2003_fba": True}
BUILD_OVERRIDE: dict[str, str] = {}


def host(name: str, sim: ExchangeSimulator) -> str:
    return f"{name.replace('_', '-')}.sim.test:{sim.port}"


async def loopback(hostname: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"]


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="not_exchange") as s:
        yield s


def prober(catalog: Catalog, timeout: float = 5.0, concurrency: int = 20) -> Prober:
    return Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=timeout, concurrency=concurrency, allow_private=True),
        resolver=loopback,
        clock=FixedClock(NOW),
    )


def check(catalog: Catalog, target: str, timeout: float = 5.0) -> CheckResult:
    return asyncio.run(prober(catalog, timeout).check(parse_target(target)))


def consistent(result: str, truth: str) -> bool:
    """A verdict agrees with the truth, or honestly says it cannot tell."""
    return result == truth or result == "unknown"


@pytest.mark.parametrize("name", NORMAL)
def test_every_profile_gets_the_true_verdict_or_cannot_tell(
    name: str, sim: ExchangeSimulator, catalog: Catalog
) -> None:
    profile = PROFILES[name]
    r = check(catalog, host(name, sim))
    assert r.error is None and r.reachable, r.error
    assert r.exchange == EXCHANGE_OVERRIDE.get(name, profile.expect_exchange), (r.exchange, r.warnings)
    assert r.assessment.build == BUILD_OVERRIDE.get(name, profile.expect_build), (r.assessment.build, r.evidence)
    if profile.expect_warning:
        assert any(profile.expect_warning.lower() in w.lower() for w in r.warnings), r.warnings
    if r.assessment.build:
        assert r.evidence, "a build needs the evidence that led to it"
    if profile.true_build and r.assessment.build:
        truth = assess(profile.true_build, catalog, NOW.date())
        for fam in FAMS:
            assert consistent(r.assessment.families[fam], truth.families[fam]), (fam, r.assessment.families)
        for got, want in zip(r.assessment.cves, truth.cves, strict=True):
            assert consistent(got.status, want.status), (got.id, got.status, want.status)
    assert any(e.signal == "tls-certificate" for e in r.evidence)


def test_three_part_only_never_claims_the_su(sim: ExchangeSimulator, catalog: Catalog) -> None:
    r = check(catalog, host("exchange2016_cu9_pathonly", sim))
    a = r.assessment
    assert (a.product, a.cu, a.update, a.precision) == ("Exchange 2016", "CU9", None, 3)
    assert a.families["ProxyShell"] == "vulnerable"  # CU9 never got a ProxyShell fix
    assert a.families["ProxyLogon"] == "unknown"  # CU9 did get one: the SU level decides


def test_spoofed_header_is_judged_on_the_lowest_build(sim: ExchangeSimulator, catalog: Catalog) -> None:
    r = check(catalog, host("exchange2019_cu15_spoofed", sim))
    assert r.assessment.product == "Exchange 2019" and r.assessment.eol is True
    assert any("15.02.2562.037" in w for w in r.warnings)


def test_exchange_online_is_recognised(sim: ExchangeSimulator, catalog: Catalog) -> None:
    r = check(catalog, host("exchange_online", sim))
    assert r.assessment.product == "Exchange Online"
    assert set(r.assessment.families.values()) == {"not_affected"}
    assert any("Exchange Online" in w for w in r.warnings)


def test_expired_certificate_is_fingerprinted_and_reported(catalog: Catalog) -> None:
    with ExchangeSimulator(default="exchange_se_current", cert="expired") as s:
        r = check(catalog, f"127.0.0.1:{s.port}")
    assert r.assessment.build == "15.2.2562.53"
    cert = next(e for e in r.evidence if e.signal == "tls-certificate")
    assert "EXPIRED" in cert.value and "self-signed" in cert.value
    assert any("expired" in w for w in r.warnings)


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_hosts_end_within_the_deadline(name: str, sim: ExchangeSimulator, catalog: Catalog) -> None:
    timeout = 2.0
    tracemalloc.start()
    started = time.monotonic()
    r = check(catalog, host(name, sim), timeout=timeout)
    elapsed = time.monotonic() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert elapsed < timeout + 2.5, f"{name} took {elapsed:.1f}s"
    assert peak < 32 * 1024 * 1024, f"{name} used {peak / 1e6:.0f} MB"
    # Either a clear error, or a result that says what went wrong.
    assert r.error or r.warnings or r.exchange is False, (r.error, r.warnings)
    if r.error:
        assert r.error.startswith("could not check")


def test_xml_bomb_is_refused_not_expanded(sim: ExchangeSimulator, catalog: Catalog) -> None:
    for name in ("xml_bomb", "xml_xxe"):
        r = check(catalog, host(name, sim))
        assert any("XML" in w for w in r.warnings), r.warnings
        assert not any("root:" in e.value for e in r.evidence)


def test_redirects_never_leave_the_host(sim: ExchangeSimulator, catalog: Catalog) -> None:
    sim.reset()
    check(catalog, host("redirect_offhost", sim))
    hosts = {req.host.split(":")[0] for req in sim.requests}
    assert hosts == {"redirect-offhost.sim.test"}


def test_only_plain_gets_are_sent(sim: ExchangeSimulator, catalog: Catalog) -> None:
    sim.reset()
    for name in ("exchange2019_cu14_f5", "exchange_se_current", "not_exchange"):
        check(catalog, host(name, sim))
    allowed = {
        "/owa/",
        "/owa/auth/logon.aspx",
        "/autodiscover/autodiscover.xml",
        "/EWS/Exchange.asmx",
        "/Microsoft-Server-ActiveSync",
        "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application",
    }
    for req in sim.requests:
        assert req.method == "GET"
        assert req.path.split("?")[0] in allowed or req.path.startswith("/owa/auth/"), req.path
        assert "@" not in req.path and "autodiscover.json" not in req.path.lower()
        assert "cookie" not in req.headers
        assert req.headers.get("user-agent", "").startswith("exchbot/")


def test_connection_is_pinned_to_the_checked_address(sim: ExchangeSimulator, catalog: Catalog) -> None:
    calls: list[str] = []

    async def rebinding(hostname: str, port: int) -> Sequence[str]:
        calls.append(hostname)
        return ["127.0.0.1"] if len(calls) == 1 else ["10.9.9.9"]

    p = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=5.0, allow_private=True),
        resolver=rebinding,
        clock=FixedClock(NOW),
    )
    r = asyncio.run(p.check(parse_target(host("exchange_se_current", sim))))
    assert calls == ["exchange-se-current.sim.test"]  # one lookup per check, whatever the paths
    assert r.address == "127.0.0.1" and r.assessment.build == "15.2.2562.53"


def test_batch_checks_come_back_complete(sim: ExchangeSimulator, catalog: Catalog) -> None:
    names = NORMAL * 3
    targets = [parse_target(host(n, sim)) for n in names]

    async def run() -> list[tuple[int, CheckResult]]:
        return [item async for item in prober(catalog, concurrency=16).check_many(targets)]

    items = asyncio.run(run())
    assert sorted(i for i, _ in items) == list(range(len(targets)))
    for i, r in items:
        assert r.host == targets[i].key and r.error is None
