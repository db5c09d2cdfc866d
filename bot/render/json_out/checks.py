"""Check results: ``exchbot check``, ``build``, ``discover`` (the "check result" of the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.counts import kev_first, kev_ids, vulnerable_counts
from bot.render.json_out.base import iso

if TYPE_CHECKING:
    from bot.core.model import Assessment, CheckResult, CveVerdict
    from bot.services.discover import Discovery


def cve_dict(v: CveVerdict) -> dict[str, Any]:
    return {
        "id": v.id,
        "family": v.family,
        "status": v.status,
        "fixed_in": v.fixed_in,
        "kev": v.kev,
        "config_dependent": v.config_dependent,
        "reason": v.reason,
    }


def assessment_dict(a: Assessment) -> dict[str, Any]:
    return {
        "input": a.input,
        "build": a.build,
        "precision": a.precision,
        "product": a.product,
        "cu": a.cu,
        "update": a.update,
        "release_date": iso(a.release_date),
        "eol": a.eol,
        "eol_date": iso(a.eol_date),
        "esu": a.esu,
        "families": dict(a.families),
        "vulnerable_count": vulnerable_counts(a)[0],
        "kev": kev_ids(a),  # the vulnerable CVEs that are known exploited (CISA KEV)
        "cves": [cve_dict(v) for v in kev_first(a.cves)],  # known exploited first
        "advice": a.advice,
        "install": a.install,
        "notes": list(a.notes),
        "knowledge_date": iso(a.knowledge_date),
        "knowledge_version": a.knowledge_version,
        "knowledge_age_days": a.knowledge_age_days,
        "kev_catalog_date": iso(a.kev_date),
        "error": a.error,
    }


def check_dict(r: CheckResult) -> dict[str, Any]:
    """The assessment plus what the live check saw (the "check result" of the JSON contract)."""
    d = assessment_dict(r.assessment)
    d.update(
        {
            "target": r.target,
            "host": r.host,
            "address": r.address,
            "reachable": r.reachable,
            "exchange": r.exchange,
            "evidence": [{"signal": e.signal, "url": e.url, "value": e.value} for e in r.evidence],
            "warnings": list(r.warnings),
            "checked_at": iso(r.checked_at),
        }
    )
    if r.error is not None:
        d["error"] = r.error
    return d


def discovery_dict(d: Discovery) -> dict[str, Any]:
    """``{"domain", "exchange_online", "endpoints": [{"host", "port", "found_by", "address"}], "results"}``."""
    return {
        "domain": d.domain,
        "exchange_online": d.exchange_online,
        "endpoints": [
            {"host": e.host, "port": e.port, "found_by": list(e.found_by), "address": e.address} for e in d.endpoints
        ],
        "results": [check_dict(r) for r in d.results],
    }
