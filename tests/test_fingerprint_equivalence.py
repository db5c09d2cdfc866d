"""Fingerprinting with one pass for every kind of versioned path and one pass over the headers
observes exactly what the straightforward way (tests/reference/fingerprint.py: a regex pass per
kind, a header lookup per name) observed: for every answer of every simulator profile, hostile ones
included, for the real samples in tests/data/samples, and for generated bodies built from the
pieces where the two could part (paths back to back, sharing their "/", repeated, cut short)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core import fingerprint as fast
from bot.core.catalog import Catalog
from bot.core.fingerprint import Observations
from bot.core.response import Response
from bot.probe import verdict as verdict_module
from bot.probe.targets import parse_target
from tests.fakes.exchange_profiles import PROFILES, exporttool_manifest
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.reference import fingerprint as ref
from tests.test_prober_sim import host, prober

SAMPLES = Path(__file__).parent / "data" / "samples"
MANIFEST = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"


def same(responses: list[Response]) -> Observations:
    got, want = fast.observe(responses), ref.observe(responses)
    assert got == want
    return got


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="not_exchange") as s:
        yield s


def test_every_simulator_answer_is_observed_as_the_reference(
    sim: ExchangeSimulator, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[list[Response]] = []

    def recording(responses: list[Response], into: Observations | None = None) -> Observations:
        seen.append(list(responses))
        return fast.observe(responses, into)

    monkeypatch.setattr(verdict_module, "observe", recording)  # the prober observes through it
    names = sorted(PROFILES)
    targets = [parse_target(host(n, sim)) for n in names]

    async def run() -> None:
        # every profile at once, in this process: a deadline that a loaded CI machine still meets for
        # the profiles that answer (the hanging ones take all of it)
        async for _ in prober(catalog, timeout=4.0, concurrency=len(targets)).check_many(targets):
            pass

    asyncio.run(run())
    assert len(seen) >= len(names)
    kinds = {"owa-path", "exporttool", "x-owa-version"}
    observed = [same(rs) for rs in seen]
    signals = {b.signal for o in observed for b in o.builds}
    assert kinds <= signals, f"signals seen: {sorted(signals)}"  # the answers do hold signals
    assert any(o.preauth for o in observed) and any(o.xml_rejected for o in observed)


def test_the_real_samples_are_observed_as_the_reference() -> None:
    files = sorted(p for p in SAMPLES.rglob("*") if p.is_file())
    assert len(files) > 10
    builds = 0
    for p in files:
        body = p.read_bytes()
        for path in ("/owa/auth/logon.aspx", MANIFEST):
            builds += len(same([Response(path, f"https://h{path}", 200, (), body)]).builds)
    assert builds > 10


_VERSION_PIECES = [
    "/owa/auth/15.2.1544/",
    "/owa/auth/15.2.1544",
    "/owa/auth/15.1.2507",
    "/owa/14.3.513.0/",
    "/owa/14.3.513.0",
    "/owa/8.3.485.1",
    "/ecp/15.2.1544.4/",
    "/ecp/15.2.1544.4",
    "/ecp/15.1.2507.6",
    "/owa/auth/",
    "/owa/",
    "/ecp/",
    "/",
    "auth/",
    "15.2.1544",
    "14.3.513.0",
    "123456",
    ".",
    "x",
    "99.99.99999.99999",
    "OwaPage = ASP.auth_logon_aspx",
    'action="/owa/auth.owa"',
    "<title> Outlook </title>",
    "CookieAuth.dll",
    "/exchweb/bin/auth/owalogon.asp",
]
_bodies = st.lists(st.sampled_from(_VERSION_PIECES), max_size=30).map(lambda xs: "".join(xs).encode())
_header_names = st.sampled_from(
    ["x-owa-version", "x-serverapplication", "x-feserver", "x-calculatedbetarget", "server", "location", "x-other"]
)
_header_values = st.sampled_from(
    [
        *("15.2.1544.4", " 15.1.2507.6\t", "15.20", "junk", "", "MA1PR0101CA0031", "a.PROD.OUTLOOK.COM"),
        *("/owa/auth/logon.aspx", "/exchweb/bin/", "Microsoft-IIS/7.5"),
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    body=_bodies,
    headers=st.lists(st.tuples(_header_names, _header_values), max_size=8),
    status=st.sampled_from([200, 302, 440, None]),
)
def test_generated_answers_are_observed_as_the_reference(
    body: bytes, headers: list[tuple[str, str]], status: int | None
) -> None:
    same([Response("/owa/auth/logon.aspx", "https://h/owa/auth/logon.aspx", status, tuple(headers), body)])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    versions=st.lists(st.sampled_from(["15.2.1544.4", "15.1.2507.6", "junk", " 15.0.1497.2 ", ""]), max_size=4),
    prefix=st.sampled_from(["", "asmv1:", "x:"]),
    cut=st.integers(0, 400),
)
def test_generated_manifests_are_observed_as_the_reference(versions: list[str], prefix: str, cut: int) -> None:
    ns = 'xmlns:asmv1="urn:schemas-microsoft-com:asm.v1" xmlns:x="urn:other"'
    ids = "".join(
        f'<{prefix}assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="{v}"/>'
        f'<{prefix}NotassemblyIdentity name="exporttool" version="{v}"/>'
        for v in versions
    )
    body = f"<?xml version='1.0'?><asmv1:assembly {ns}>{ids}</asmv1:assembly>".encode()
    for b in (body, body[: len(body) - cut]):
        same([Response(MANIFEST, f"https://h{MANIFEST}", 200, (), b)])


def test_the_simulator_manifest_and_logon_page_give_their_builds() -> None:
    body = exporttool_manifest("15.2.1544.4")
    got = same([Response(MANIFEST, f"https://h{MANIFEST}", 200, (), body)])
    assert [b.raw for b in got.builds if b.signal == "exporttool"] == ["15.2.1544.4"]


def test_a_path_that_starts_on_the_slash_closing_another_counts_only_for_another_kind() -> None:
    body = b"/owa/auth/15.2.1544/owa/auth/15.1.2507/ /owa/auth/15.0.1497/ecp/15.2.1544.4/owa/14.3.513.0/"
    got = same([Response("/owa/", "https://h/owa/", 200, (), body)])
    assert [(b.signal, b.raw) for b in got.builds] == [
        ("owa-path", "15.2.1544"),
        ("owa-path", "15.0.1497"),  # 15.1.2507 began on the "/" that closed 15.2.1544
        ("owa-path-legacy", "14.3.513.0"),
        ("ecp-path", "15.2.1544.4"),
    ]


def _manifests_again() -> list[bytes]:
    ns = 'xmlns:asmv1="urn:schemas-microsoft-com:asm.v1"'
    ident = '<assemblyIdentity name="microsoft.exchange.ediscovery.exporttool.application" version="{}"/>'
    return [
        exporttool_manifest("15.2.1544.4"),
        exporttool_manifest("15.2.1544.4", dependency_version="15.1.2507.6"),
        f"<asmv1:assembly {ns}>{ident.format('15.2.1544.4')}<broken".encode(),  # breaks off after a version
        b"<!DOCTYPE x [<!ENTITY e 'v'>]><x>&e;</x>",  # refused
        f"<asmv1:assembly {ns}>{ident.format('x') * 70}</asmv1:assembly>".encode(),  # over MAX_IDENTITIES
        b"not xml at all",
    ]


@pytest.mark.parametrize("body", _manifests_again())
def test_a_manifest_met_again_is_read_as_the_first_time_for_its_own_url(body: bytes) -> None:
    # A batch meets the same manifest on many hosts: the second reading (kept from the first) must
    # name its own host's URL and say exactly what the reference says for it.
    fast._manifest.cache_clear()
    first = same([Response(MANIFEST, f"https://a.example{MANIFEST}", 200, (), body)])
    again = same([Response(MANIFEST, f"https://b.example{MANIFEST}", 200, (), bytes(bytearray(body)))])
    assert fast._manifest.cache_info().hits == 1  # the second was not parsed again
    urls = {u for u, _ in again.lost} | {b.url for b in again.builds} | {m[1] for m in again.markers}
    assert urls <= {f"https://b.example{MANIFEST}"}
    assert again != first or not (first.builds or first.lost or first.markers or first.xml_rejected)


def test_the_kept_manifests_are_bounded() -> None:
    fast._manifest.cache_clear()
    for i in range(fast.MANIFEST_CACHE + 5):
        same([Response(MANIFEST, f"https://h{MANIFEST}", 200, (), exporttool_manifest(f"15.2.1544.{i}"))])
    assert fast._manifest.cache_info().currsize == fast.MANIFEST_CACHE
