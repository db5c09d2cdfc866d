"""Reference JSON rendering of a check: one dict per CVE built afresh for every result, and a new
encoder for every call (as bot.render.json_out.checks and base did before the per-build cache)."""

from __future__ import annotations

import json
from typing import Any

from bot.core.counts import kev_first, kev_ids, vulnerable_counts
from bot.core.model import Assessment, CheckResult, CveVerdict
from bot.render.json_out.base import default, iso


def dumps(value: object, *, indent: int | None = 2) -> str:
    return json.dumps(value, default=default, indent=indent, ensure_ascii=False)


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
        "update_nearest": a.update_nearest,
        "release_date": iso(a.release_date),
        "eol": a.eol,
        "eol_date": iso(a.eol_date),
        "esu": a.esu,
        "families": dict(a.families),
        "vulnerable_count": vulnerable_counts(a)[0],
        "kev": kev_ids(a),
        # counted here, not through bot.core.counts: the reference must not share the rule it checks
        "undetermined_count": sum(1 for v in a.cves if v.status == "unknown" and not v.config_dependent),
        "undetermined_kev_count": sum(1 for v in a.cves if v.status == "unknown" and not v.config_dependent and v.kev),
        "cves": [cve_dict(v) for v in kev_first(a.cves)],
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
