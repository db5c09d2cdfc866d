"""What a probe's responses mean: what they show (``observe``), whether the fallback endpoints are
worth asking (:func:`needs_fallback`), and the :class:`CheckResult` of a host that answered (judged
against the knowledge) or of one that could not be checked.

Apart from the prober, which imports this module once its first requests are out: the
fingerprinting, the judge and the knowledge are not needed to send them, so ``exchbot check``
sends them first (see ``Prober.prepare``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from bot.core.assess import unknown_assessment
from bot.core.catalog import Catalog
from bot.core.fingerprint import Observations, load_xml, observe
from bot.core.judge import judge
from bot.core.model import CheckResult, Evidence
from bot.core.response import Response
from bot.probe.fetch import CertFacts
from bot.probe.targets import Target

__all__ = ["common_error", "failed_result", "load_xml", "needs_fallback", "observe", "probe_result"]


def probe_result(
    target: Target,
    address: str,
    started: dt.datetime,
    responses: list[Response],
    obs: Observations,
    cert: CertFacts | None,
    catalog: Catalog,
) -> CheckResult:
    answered = [r for r in responses if r.answered]
    if not answered:
        reason = common_error(r.error for r in responses)
        return failed_result(target.raw, target.key, started, f"could not check: {reason}", catalog, address=address)
    extra: tuple[Evidence, ...] = ()
    if cert is not None:
        extra = (Evidence("tls-certificate", f"https://{target.host_header}/", cert.describe(started)),)
    verdict = judge(target.raw, obs, catalog, started.date(), extra)
    warnings = list(verdict.warnings)
    failed = [r for r in responses if not r.answered]
    if failed:
        warnings.append(
            f"{len(failed)} of {len(responses)} requests got no answer ({common_error(r.error for r in failed)})"
        )
    if cert is not None and started > cert.not_after:
        warnings.append(f"TLS certificate expired on {cert.not_after:%Y-%m-%d}")
    return CheckResult(
        target=target.raw,
        host=target.key,
        assessment=verdict.assessment,
        reachable=True,
        exchange=verdict.exchange,
        evidence=verdict.evidence,
        warnings=tuple(warnings),
        checked_at=started,
        error=None,
        address=address,
    )


def failed_result(
    raw: str,
    host: str,
    at: dt.datetime,
    error: str,
    catalog: Catalog,
    address: str | None = None,
    *,
    attempted: bool = True,
) -> CheckResult:
    assessment = unknown_assessment(raw, catalog)
    return CheckResult(
        target=raw,
        host=host,
        assessment=assessment,
        reachable=False,
        exchange=None,
        evidence=(),
        warnings=(),
        checked_at=at,
        error=error,
        address=address,
        attempted=attempted,
    )


def common_error(errors: Iterable[str | None]) -> str:
    """The most frequent error (``no answer`` if none was given)."""
    counts: dict[str, int] = {}
    for e in errors:
        if e:
            counts[e] = counts.get(e, 0) + 1
    if not counts:
        return "no answer"
    return max(counts.items(), key=lambda kv: kv[1])[0]


def needs_fallback(obs: Observations) -> bool:
    """Ask the 401 endpoints when no four-part build was seen for the lowest CU line seen (which
    includes seeing no build at all, and disagreeing signals that need a tie-breaker). Exchange
    Online names alone do not spare them: only an Exchange Online build does."""
    on_prem = [s.build for s in obs.builds if not s.build.online]
    if not on_prem:
        return not any(s.build.online for s in obs.builds)
    lowest = min(b.prefix(3) for b in on_prem)
    return not any(b.precision == 4 and b.prefix(3) == lowest for b in on_prem)
