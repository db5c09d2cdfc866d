"""From observations to a verdict: which build, is it Exchange, and why (pure).

The rule, enforced here and nowhere else: **a host's verdict is never better than the verdict of
the lowest on-premises build it showed.** An attacker who rewrites a header can make a server look
newer, never older, so the lowest build is the safe read. In detail:

1. The build judged is the lowest on-premises build seen (a three-part build that is the prefix of a
   four-part one seen agrees with it); ``build`` in the result is that build. Signals that disagree
   are named in a warning.
2. Exchange Online is the answer only when every version signal is Exchange Online (15.20 and up)
   and no on-premises build and no unreadable version value is seen. Exchange Online names and
   targets alone never make a host Exchange Online; beside an on-premises build they are a
   disagreement, and the on-premises build is judged.
3. When part of what the server sent was not read (a header, body, redirect or manifest cap cut it,
   or it stopped before the deadline or broke off), what was lost could show a lower build: no
   family or CVE is then reported patched or not affected ("cannot tell" instead), and a supported
   build is not called supported.
4. A version value that is not a build as a whole is ignored, with a warning.

Warnings that a reader must see first (disagreeing signals, a possible honeypot) come first in
``warnings`` and start with one of :data:`ALERT_PREFIXES`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
from collections.abc import Iterable
from dataclasses import dataclass

from bot.core.assess import assess_build, unknown_assessment
from bot.core.buildnum import Build
from bot.core.catalog import Catalog
from bot.core.fingerprint import BuildSignal, Observations
from bot.core.identify import is_online
from bot.core.model import Assessment, Evidence, Status

# Minimum IIS major version each product can run on (Exchange system requirements).
_MIN_IIS = {"Exchange 2016": 8.5, "Exchange 2019": 10.0, "Exchange SE": 10.0}
_IIS = re.compile(r"Microsoft-IIS/(\d+(?:\.\d+)?)")

DISAGREE = "signals disagree"
HONEYPOT = "possible honeypot"
ALERT_PREFIXES = (DISAGREE, HONEYPOT)
_ALL_CLEAR: frozenset[Status] = frozenset({"patched", "not_affected"})


def alerts(warnings: Iterable[str]) -> tuple[str, ...]:
    """The warnings a headline must lead with: signals disagree, or the host may be a honeypot."""
    return tuple(w for w in warnings if w.startswith(ALERT_PREFIXES))


def alert_labels(warnings: Iterable[str]) -> tuple[str, ...]:
    """Which kinds of alert ``warnings`` hold, in a fixed order ("signals disagree", "possible honeypot")."""
    found = alerts(warnings)
    return tuple(p for p in ALERT_PREFIXES if any(w.startswith(p) for w in found))


@dataclass(frozen=True)
class Judgement:
    """The verdict on a probed host, with the evidence that led there and its warnings."""

    assessment: Assessment
    exchange: bool | None
    evidence: tuple[Evidence, ...]
    warnings: tuple[str, ...]


def judge(
    target: str, obs: Observations, catalog: Catalog, today: dt.date, extra_evidence: tuple[Evidence, ...] = ()
) -> Judgement:
    first: list[str] = []  # alerts: shown first
    warnings: list[str] = []
    evidence = [Evidence(s.signal, s.url, s.raw) for s in obs.builds]
    evidence += [Evidence(sig, url, val) for sig, url, val in obs.markers]
    evidence += [Evidence("pre-authentication", url, product) for product, url in obs.preauth]
    evidence += list(extra_evidence)
    evidence = _dedupe(evidence)

    on_prem = [s for s in obs.builds if not is_online(s.build)]
    online = [s for s in obs.builds if is_online(s.build)]
    warnings.extend(
        f"{signal} value {value!r} is not a build number: ignored [{url}]" for signal, url, value in obs.unparseable
    )
    build, why = _pick_build(on_prem, first)
    if build is None and obs.exchange_2003:
        build = Build((6, 5))
        why = "Exchange 2003 forms-based authentication"
    online_signs = [f"{s.signal} {s.raw}" for s in _unique(online)] + [f"{n} {v}" for n, _, v in obs.exchange_online]

    exchange: bool | None
    if build is None and online:
        if obs.unparseable:
            warnings.append(
                "Exchange Online signals beside a version value that is not a build: cannot tell what answers here"
            )
            assessment = unknown_assessment(target, catalog)
        else:
            warnings.append(
                "Exchange Online (Microsoft 365) answers here: it is patched by Microsoft, not an on-premises server"
            )
            assessment = assess_build(min(s.build for s in online), catalog, today, input_text=target)
        exchange = True
    else:
        if build is not None and online_signs:
            first.append(
                f"{DISAGREE}: Exchange Online signals ({'; '.join(online_signs[:6])}) beside the on-premises "
                f"build {build}: judged as on-premises build {build}, never as Exchange Online"
            )
        exchange = _is_exchange(obs, build)
        if obs.preauth and build is None:
            names = ", ".join(sorted({p for p, _ in obs.preauth}))
            warnings.append(f"a pre-authentication front end ({names}) hides the server behind it: version not visible")
        if exchange and build is None and not obs.preauth:
            warnings.append("Exchange detected, but no version is disclosed (headers and paths stripped)")
        if build is None:
            assessment = unknown_assessment(target, catalog)
        else:
            assessment = assess_build(build, catalog, today, input_text=target, extra_notes=(why,) if why else ())
            _honeypot_check(assessment, obs, first)
    if obs.xml_rejected:
        warnings.extend(f"ignored hostile or oversized XML: {x}" for x in obs.xml_rejected)
    if obs.lost:
        for url, what in _unique_pairs(obs.lost):
            warnings.append(f"incomplete response: {what} [{url}]")
        warnings.append(
            "part of what the server sent was not read, and it could show a lower build: "
            "nothing is reported patched or not affected"
        )
        assessment = cannot_clear(assessment)
        if exchange is False:
            exchange = None  # the part not read may be the part that shows Exchange
    return Judgement(assessment, exchange, tuple(evidence), tuple(first + warnings))


def cannot_clear(a: Assessment) -> Assessment:
    """``a`` with every all-clear ("patched", "not affected") turned into "cannot tell": what was not
    read could hold a lower build. "Vulnerable" and "end of life" stand (a lower build is no better)."""
    reason = "part of the server's answer was not read: it could show a lower build"
    families = {f: ("unknown" if s in _ALL_CLEAR else s) for f, s in a.families.items()}
    cves = tuple(
        dataclasses.replace(v, status="unknown", reason=reason) if v.status in _ALL_CLEAR else v for v in a.cves
    )
    changed = families != dict(a.families) or cves != a.cves
    advice, install = a.advice, a.install
    if changed and not a.at_risk:
        advice, install = None, None  # "up to date" / "nothing to install" would be a verdict on the kept part
    return dataclasses.replace(
        a,
        families=families,
        cves=cves,
        eol=None if a.eol is False else a.eol,
        eol_date=a.eol_date if a.eol else None,
        advice=advice,
        install=install,
    )


def _dedupe(evidence: list[Evidence]) -> list[Evidence]:
    """One entry per (signal, value): the same header on several pages is one observation."""
    seen: set[tuple[str, str]] = set()
    out = []
    for e in evidence:
        if (e.signal, e.value) not in seen:
            seen.add((e.signal, e.value))
            out.append(e)
    return out


def _pick_build(on_prem: list[BuildSignal], warnings: list[str]) -> tuple[Build | None, str | None]:
    """The lowest on-premises build: the lowest CU line seen, and in it the lowest four-part build."""
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
            f"{DISAGREE} ({seen}): judged on the lowest, {chosen}. A rewritten header, a honeypot or a "
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


def _unique_pairs(pairs: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys(pairs))[:6]


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


def _honeypot_check(a: Assessment, obs: Observations, warnings: list[str]) -> None:
    need = _MIN_IIS.get(a.product or "")
    for server in obs.server_headers:
        m = _IIS.search(server)
        if need and m and float(m.group(1)) < need:
            warnings.append(
                f"{HONEYPOT}: Server header '{server}' cannot run {a.product} (needs IIS {need} or later), "
                "or the response was rewritten"
            )
            return
