"""A verdict the scanned server cannot talk down: each crafted answer, through the real prober
against the HTTPS simulator on 127.0.0.1, gets exactly the verdict of its lowest on-premises build,
or "cannot tell", with a warning that says why. Never "patched" or "not affected" for a host that
showed a vulnerable on-premises build."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import pytest

from bot.clock import FixedClock
from bot.core.catalog import Catalog
from bot.core.fingerprint import observe
from bot.core.model import CheckResult
from bot.core.response import Response
from bot.probe.http1 import partial_head
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.targets import parse_target
from bot.render import text
from bot.render.check_card import check_card
from bot.render.json_out import check_dict
from tests.fakes.exchange_profiles import CU14, LOOKALIKE_NAMES, LOW, LOW3, PATCHED, PROFILES
from tests.fakes.exchange_sim import ExchangeSimulator

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
FAMS = ("ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell")
VULNERABLE = dict.fromkeys(FAMS, "vulnerable")
UNKNOWN = dict.fromkeys(FAMS, "unknown")
PATCHED_ALL = dict.fromkeys(FAMS, "patched")


@dataclass(frozen=True)
class Want:
    build: str | None
    product: str | None
    families: dict[str, str]
    eol: bool | None
    exchange: bool | None = True
    warnings: tuple[str, ...] = ()  # substrings, each must appear in some warning
    alert_first: bool = False  # a "signals disagree" / honeypot warning leads the list
    slow: bool = False  # answers only partly before the deadline: checked with a short one


E2016 = "Exchange 2016"
WANT: dict[str, Want] = {
    # 1. Exchange Online look-alikes: an on-premises name is no Exchange Online signal at all, and a
    #    real Exchange Online name, target or build beside an on-premises build is a disagreement.
    **{f"lookalike_{n.lower()}": Want(LOW, E2016, VULNERABLE, True) for n in LOOKALIKE_NAMES},
    "lookalike_online_target": Want(
        LOW,
        E2016,
        VULNERABLE,
        True,
        warnings=("Exchange Online signals", "GV1P191MB2243.EURP191.PROD.OUTLOOK.COM", "MA1PR0101CA0031"),
        alert_first=True,
    ),
    "lookalike_online_build": Want(
        LOW, E2016, VULNERABLE, True, warnings=("Exchange Online signals", "15.20.7918.024"), alert_first=True
    ),
    # 2. Version headers wherever they stand; a header cap never yields a verdict on what was kept.
    "hidden_header_250": Want(LOW, E2016, VULNERABLE, True, warnings=("signals disagree", CU14), alert_first=True),
    "hidden_header_first": Want(LOW, E2016, VULNERABLE, True, warnings=("signals disagree", CU14), alert_first=True),
    "hidden_header_1500": Want(LOW, E2016, VULNERABLE, True),
    "hidden_header_over_cap": Want(None, None, UNKNOWN, None, exchange=None, warnings=("headers larger than",)),
    "hidden_header_over_cap_patched_first": Want(
        PATCHED, "Exchange SE", UNKNOWN, None, warnings=("headers larger than", "nothing is reported patched")
    ),
    # 3. Values validated whole.
    "value_cut": Want(None, None, UNKNOWN, None, warnings=("is not a build number",)),
    "value_junk_suffix": Want(None, None, UNKNOWN, None, warnings=("is not a build number",)),
    "value_cut_beside_path": Want(LOW3, E2016, VULNERABLE, True, warnings=("is not a build number",)),
    "value_padded": Want(LOW, E2016, VULNERABLE, True),
    # 4. Partial answers are judged, with a warning; what was not read blocks any all-clear.
    "drip_chunked": Want(LOW, E2016, VULNERABLE, True, warnings=("incomplete response",), slow=True),
    "drip_chunked_patched": Want(
        PATCHED, "Exchange SE", UNKNOWN, None, warnings=("incomplete response", "not read"), slow=True
    ),
    "short_body": Want(LOW, E2016, VULNERABLE, True, warnings=("incomplete response", "closed")),
    "short_logon_page": Want(LOW3, E2016, VULNERABLE, True, warnings=("incomplete response",)),
    "stall_head": Want(LOW, E2016, VULNERABLE, True, warnings=("incomplete response", "headers broke off"), slow=True),
    "redirect_chain": Want(LOW, E2016, VULNERABLE, True, warnings=("more than 3 redirects",), alert_first=True),
    # 5. Export-tool manifests: the lowest identity; the limit actually applied; HTML is not XML.
    "manifest_two_versions": Want(
        CU14, "Exchange 2019", PATCHED_ALL, True, warnings=("signals disagree", PATCHED), alert_first=True
    ),
    "manifest_two_versions_low_first": Want(
        CU14, "Exchange 2019", PATCHED_ALL, True, warnings=("signals disagree", PATCHED), alert_first=True
    ),
    "manifest_oversize": Want(PATCHED, "Exchange SE", UNKNOWN, None, warnings=("65536-byte read limit",)),
    "preauth_html_manifest": Want(PATCHED, "Exchange SE", PATCHED_ALL, False),
}


async def loopback(hostname: str, port: int) -> Sequence[str]:
    return ["127.0.0.1"]


def _host(name: str, sim: ExchangeSimulator) -> str:
    return f"{name.replace('_', '-')}.sim.test:{sim.port}"


@pytest.fixture(scope="module")
def results(catalog: Catalog) -> Iterator[dict[str, CheckResult]]:
    """Every case checked once, concurrently: complete answers with a generous deadline, the ones
    that drip or stall with a short one (their partial answer is what is judged)."""

    async def run(names: list[str], timeout: float, port: int) -> dict[str, CheckResult]:
        prober = Prober(
            catalog=catalog,
            settings=ProbeSettings(timeout=timeout, concurrency=len(names), allow_private=True),
            resolver=loopback,
            clock=FixedClock(NOW),
        )
        targets = [parse_target(f"{n.replace('_', '-')}.sim.test:{port}") for n in names]
        return {names[i]: r async for i, r in prober.check_many(targets)}

    with ExchangeSimulator(default="not_exchange") as sim:
        fast = [n for n, w in WANT.items() if not w.slow] + ["honeypot_owa"]
        slow = [n for n, w in WANT.items() if w.slow]
        out = asyncio.run(run(fast, 10.0, sim.port))
        out.update(asyncio.run(run(slow, 3.0, sim.port)))
        yield out
        assert sim.internal_errors == []


def test_every_case_has_a_profile() -> None:
    assert set(WANT) <= set(PROFILES)


@pytest.mark.parametrize("name", sorted(WANT))
def test_exact_verdict(name: str, results: dict[str, CheckResult]) -> None:
    want, r = WANT[name], results[name]
    a = r.assessment
    assert r.error is None, r.error
    assert (a.build, a.product, a.eol, r.exchange) == (want.build, want.product, want.eol, want.exchange), r.warnings
    assert dict(a.families) == want.families, (a.families, r.warnings)
    for needle in want.warnings:
        assert any(needle in w for w in r.warnings), (needle, r.warnings)
    if want.alert_first:
        assert r.warnings[0].startswith("signals disagree"), r.warnings
    assert check_dict(r)["build"] == want.build  # JSON names the judged (lowest) build


@pytest.mark.parametrize("name", sorted(WANT))
def test_no_all_clear_beside_a_vulnerable_build(name: str, results: dict[str, CheckResult]) -> None:
    """The done-when of the rule: any on-prem build the host showed that is vulnerable to a family
    (every LOW case) rules out "patched" and "not affected" for that family."""
    r = results[name]
    shown = {e.value for e in r.evidence}
    if not any(LOW in v or f"/{LOW3}/" in v or v == LOW3 for v in shown):
        pytest.skip("no vulnerable on-premises build shown")
    for fam in FAMS:
        assert r.assessment.families[fam] == "vulnerable", (fam, r.assessment.families)
    assert not any(v.status in ("patched", "not_affected") for v in r.assessment.cves if v.family in FAMS)


def test_cut_and_partial_answers_clear_nothing(results: dict[str, CheckResult]) -> None:
    for name in ("hidden_header_over_cap_patched_first", "drip_chunked_patched", "manifest_oversize"):
        a = results[name].assessment
        assert not any(v.status in ("patched", "not_affected") for v in a.cves), name
        assert a.install is None and (a.advice is None or "Up to date" not in a.advice), name


def test_html_at_the_manifest_path_is_not_hostile_xml(results: dict[str, CheckResult]) -> None:
    r = results["preauth_html_manifest"]
    assert not any("XML" in w for w in r.warnings), r.warnings
    assert any(e.signal == "exporttool-html" for e in r.evidence)


def test_kemp_login_page_at_the_manifest_path_is_not_hostile_xml(catalog: Catalog) -> None:
    with ExchangeSimulator(default="kemp_preauth") as sim:
        prober = Prober(
            catalog=catalog,
            settings=ProbeSettings(timeout=10.0, allow_private=True),
            resolver=loopback,
            clock=FixedClock(NOW),
        )
        r = asyncio.run(prober.check(parse_target(f"127.0.0.1:{sim.port}")))
    assert r.error is None and not any("XML" in w for w in r.warnings), r.warnings
    assert any("pre-authentication" in w for w in r.warnings)


def test_json_of_a_disagreement_is_safe_to_read(results: dict[str, CheckResult]) -> None:
    doc = json.loads(json.dumps(check_dict(results["hidden_header_250"]), default=str))
    assert doc["build"] == LOW
    assert doc["warnings"][0].startswith("signals disagree")


# --- the headline says it first (CLI and Slack card) ---------------------------------------------


@pytest.mark.parametrize(
    ("name", "label"), [("hidden_header_250", "signals disagree"), ("honeypot_owa", "possible honeypot")]
)
def test_alerts_lead_the_cli_answer_and_the_card(name: str, label: str, results: dict[str, CheckResult]) -> None:
    r = results[name]
    details = text.check_details(r).splitlines()
    assert details[1].startswith("  ALERT:") and label in details[1], details[:3]
    assert not any(line.startswith("  warning:") and label in line for line in details)  # said once, first
    line = text.check_line(r)
    assert line.startswith(f"{r.target}: ") and line[len(r.target) + 2 :].lower().startswith(
        ("signals disagree", "possible honeypot")
    ), line
    headline = check_card(r)["blocks"][1]["text"]["text"]
    assert headline.startswith(":warning: *") and label in headline.split("\n")[0].lower(), headline


def test_a_plain_warning_is_no_alert(results: dict[str, CheckResult]) -> None:
    r = results["short_body"]  # incomplete, but nothing disagrees
    assert check_card(r)["blocks"][1]["text"]["text"].startswith(":rotating_light:")
    assert "ALERT" not in text.check_details(r)


# --- pure pieces ------------------------------------------------------------------------------------


def _obs(*headers: tuple[str, str], body: bytes = b"", path: str = "/owa/") -> list[str]:
    r = Response(path, "https://h/owa/", 200, headers, body)
    obs = observe([r])
    return [f"{s.signal}={s.build}" for s in obs.builds] + [f"!{sig}" for sig, _, _ in obs.unparseable]


@pytest.mark.parametrize(
    ("value", "want"),
    [
        ("15.2.1544.4", ["x-owa-version=15.2.1544.4"]),
        (" \t15.2.1544.4 \t ", ["x-owa-version=15.2.1544.4"]),
        ("15.2.1544.4" + " " * 60, ["x-owa-version=15.2.1544.4"]),
        ("15.2.1544.4" + " " * 60 + "junk", ["!x-owa-version"]),
        ("15.2.1544.4junk", ["!x-owa-version"]),
        ("15.2.1544.4\xa0", ["!x-owa-version"]),  # not ordinary whitespace
        ("15.2.1544.4\r", ["!x-owa-version"]),
        ("15.2.1544.4, 15.1.225.16", ["!x-owa-version"]),
    ],
)
def test_version_values_are_validated_whole(value: str, want: list[str]) -> None:
    assert _obs(("x-owa-version", value)) == want


def test_every_version_header_counts_wherever_it_stands() -> None:
    pads = tuple((f"x-pad-{i}", "p") for i in range(5000))
    got = _obs(
        ("x-owa-version", CU14), *pads, ("x-serverapplication", f"Exchange/{LOW}"), *pads, ("x-owa-version", LOW)
    )
    assert got == [f"x-owa-version={CU14}", f"x-owa-version={LOW}", f"x-serverapplication={LOW}"]


@pytest.mark.parametrize("name", [*LOOKALIKE_NAMES, "EX01", "MAIL.CA-IBM.ORG", "AMPR01", "ABCDEFPR1"])
def test_on_prem_front_end_names_are_no_exchange_online_sign(name: str) -> None:
    obs = observe([Response("/owa/", "https://h/owa/", 302, (("x-feserver", name),))])
    assert obs.exchange_online == []


@pytest.mark.parametrize("name", ["MA1PR0101CA0031", "GV1P191MB2243", "AM0PR07CA0001", "BN6PR1101CA0012"])
def test_exchange_online_front_end_names_are_recognised(name: str) -> None:
    obs = observe([Response("/owa/", "https://h/owa/", 302, (("x-feserver", name),))])
    assert [v for _, _, v in obs.exchange_online] == [name]


def test_a_head_cut_short_keeps_its_complete_lines() -> None:
    head = b"HTTP/1.1 200 OK\r\nServer: IIS\r\nX-OWA-Version: 15.1.225.16\r\nX-Half: abc"
    assert partial_head(head) == (200, [(b"Server", b"IIS"), (b"X-OWA-Version", b"15.1.225.16")])
    assert partial_head(b"HTTP/1.1 20") is None
    assert partial_head(b"garbage\r\n") is None


def _manifest(*versions: str) -> bytes:
    ids = "".join(
        f'<assemblyIdentity name="microsoft.exchange.ediscovery.exporttool" version="{v}"/>' for v in versions
    )
    root = 'asmv1:assembly xmlns:asmv1="urn:schemas-microsoft-com:asm.v1"'
    return f'<?xml version="1.0"?><{root}>{ids}</asmv1:assembly>'.encode()


def test_every_identity_of_a_manifest_counts_and_too_many_is_a_cut() -> None:
    path = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
    obs = observe([Response(path, "https://h" + path, 200, (), _manifest(PATCHED, CU14, PATCHED))])
    assert sorted(str(s.build) for s in obs.builds) == [CU14, PATCHED] and obs.lost == []
    many = [f"15.2.2562.{i}" for i in range(100, 200)]
    obs = observe([Response(path, "https://h" + path, 200, (), _manifest(*many, LOW))])
    assert LOW not in {str(s.build) for s in obs.builds}
    assert [what for _, what in obs.lost] == ["more than 64 export-tool identities: the rest were not read"]


def test_an_html_page_at_the_manifest_path_is_neither_xml_nor_a_warning() -> None:
    path = "/ecp/Current/exporttool/microsoft.exchange.ediscovery.exporttool.application"
    page = b"\xef\xbb\xbf\n<!DOCTYPE html>\n<html><body>Sign in</body></html>"
    obs = observe([Response(path, "https://h" + path, 200, (("content-type", "text/html"),), page)])
    assert obs.xml_rejected == [] and obs.lost == [] and obs.builds == []
