"""From observations to a verdict: which build, is it Exchange, and why (pure).

When signals disagree (a header rewritten to look newer, a load-balanced pool with mixed builds, a
honeypot) the judgement rests on the LOWEST build seen, and ``warnings`` says so: an attacker who
rewrites a header can make a server look newer, never older, so the lowest build is the safe read.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from bot.core.assess import assess_build
from bot.core.buildnum import Build
from bot.core.catalog import Catalog
from bot.core.fingerprint import BuildSignal, Observations
from bot.core.model import Assessment, Evidence

# Minimum IIS major version each product can run on (Exchange system requirements).
_MIN_IIS = {"Exchange 2016": 8.5, "Exchange 2019": 10.0, "Exchange SE": 10.0}
_IIS = re.compile(r"Microsoft-IIS/(\d+(?:\.\d+)?)")


@dataclass(frozen=True)
class Judgement:
    assessment: Assessment
    exchange: bool | None
    evidence: tuple[Evidence, ...]
    warnings: tuple[str, ...]


def judge(
    target: str, obs: Observations, catalog: Catalog, today: dt.date, extra_evidence: tuple[Evidence, ...] = ()
) -> Judgement:
    warnings: list[str] = []
    evidence = [Evidence(s.signal, s.url, s.raw) for s in obs.builds]
    evidence += [Evidence(sig, url, val) for sig, url, val in obs.markers]
    evidence += [Evidence("pre-authentication", url, product) for product, url in obs.preauth]
    evidence += list(extra_evidence)
    evidence = _dedupe(evidence)

    online = bool(obs.exchange_online) or any(s.build.major == 15 and s.build.minor >= 20 for s in obs.builds)
    build, why = _pick_build(obs.builds, warnings)
    if online:
        warnings.append(
            "Exchange Online (Microsoft 365) answers here: it is patched by Microsoft, not an on-premises server"
        )
        online_build = next((s.build for s in obs.builds if s.build.minor >= 20), Build((15, 20)))
        assessment = assess_build(online_build, catalog, today, input_text=target)
        return Judgement(assessment, True, tuple(evidence), tuple(warnings))

    exchange = _is_exchange(obs, build)
    if build is None and obs.exchange_2003:
        build = Build((6, 5))
        why = "Exchange 2003 forms-based authentication"
    if obs.preauth and build is None:
        names = ", ".join(sorted({p for p, _ in obs.preauth}))
        warnings.append(f"a pre-authentication front end ({names}) hides the server behind it: version not visible")
    if obs.xml_rejected:
        warnings.extend(f"ignored hostile or oversized XML: {x}" for x in obs.xml_rejected)
    if exchange and build is None and not obs.preauth:
        warnings.append("Exchange detected, but no version is disclosed (headers and paths stripped)")

    if build is None:
        assessment = _no_build(target, catalog)
        return Judgement(assessment, exchange, tuple(evidence), tuple(warnings))

    assessment = assess_build(build, catalog, today, input_text=target, extra_notes=(why,) if why else ())
    _honeypot_check(assessment, obs, warnings)
    return Judgement(assessment, exchange, tuple(evidence), tuple(warnings))


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    """One entry per (signal, value): the same header on several pages is one observation."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in evidence:
        if (e.signal, e.value) not in seen:
            seen.add((e.signal, e.value))
            out.append(e)
    return out


def _pick_build(signals: list[BuildSignal], warnings: list[str]) -> tuple[Build | None, str | None]:
    if not signals:
        return None, None
    on_prem = [s for s in signals if not (s.build.major == 15 and s.build.minor >= 20)]
    if not on_prem:
        return None, None
    lowest_line = min(s.build.prefix(3) for s in on_prem)
    same_line = [s for s in on_prem if s.build.prefix(3) == lowest_line]
    four = sorted({s.build for s in same_line if s.build.precision == 4})
    chosen = four[0] if four else Build(lowest_line)
    distinct = sorted({s.build for s in on_prem})
    # A 3-part signal that is the prefix of a 4-part one agrees with it.
    conflicting = [
        b
        for b in distinct
        if not (b.precision == 3 and any(f.prefix(3) == b.parts for f in distinct if f.precision == 4))
    ]
    if len(conflicting) > 1:
        seen = "; ".join(f"{s.signal} says {s.raw}" for s in _unique(on_prem))
        warnings.append(
            f"signals disagree ({seen}): judged on the lowest, {chosen}. A rewritten header, a honeypot or a "
            "load-balanced pool with mixed builds can cause this"
        )
    sources = ", ".join(
        sorted(
            {
                s.signal
                for s in on_prem
                if s.build == chosen or (chosen.precision == 3 and s.build.prefix(3) == chosen.parts)
            }
        )
    )
    return chosen, f"build {chosen} from {sources}"


def _unique(signals: list[BuildSignal]) -> list[BuildSignal]:
    seen: set[tuple[str, str]] = set()
    out = []
    for s in signals:
        if (s.signal, s.raw) not in seen:
            seen.add((s.signal, s.raw))
            out.append(s)
    return out[:6]


def _is_exchange(obs: Observations, build: Build | None) -> bool | None:
    if build is not None or obs.exchange_2003:
        return True
    strong = {
        "owa-logon-page",
        "owa-logon-form",
        "x-feserver",
        "x-beserver",
        "x-calculatedbetarget",
        "owa-redirect",
        "x-owa-version (unparseable)",
        "http-440-login-timeout",
        "exchange-2003-redirect",
    }
    if any(sig in strong for sig, _, _ in obs.markers):
        return True
    if obs.preauth:
        return None  # a front end hides what is behind it
    return False


def _no_build(target: str, catalog: Catalog) -> Assessment:
    return Assessment(
        input=target,
        build=None,
        precision=0,
        product=None,
        cu=None,
        update=None,
        release_date=None,
        eol=None,
        eol_date=None,
        esu=False,
        families={
            "ProxyLogon": "unknown",
            "ProxyShell": "unknown",
            "ProxyToken": "unknown",
            "ProxyNotShell": "unknown",
        },
        cves=(),
        advice=None,
        error=None,
        knowledge_date=catalog.data_date,
        knowledge_version=catalog.version,
        kev_date=catalog.kev_date,
    )


def _honeypot_check(a: Assessment, obs: Observations, warnings: list[str]) -> None:
    need = _MIN_IIS.get(a.product or "")
    for server in obs.server_headers:
        m = _IIS.search(server)
        if need and m and float(m.group(1)) < need:
            warnings.append(
                f"Server header '{server}' cannot run {a.product} (needs IIS {need} or later): "
                "possibly a honeypot or a rewritten response"
            )
            return
