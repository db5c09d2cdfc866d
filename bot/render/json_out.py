"""JSON-ready dictionaries for results (the CLI/JSON contract of DESIGN.md section 3). Pure."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

from bot.core.counts import kev_first, kev_ids, vulnerable_counts
from bot.core.model import Assessment, CheckResult, CveVerdict


def _iso(value: dt.date | dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


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
        "release_date": _iso(a.release_date),
        "eol": a.eol,
        "eol_date": _iso(a.eol_date),
        "esu": a.esu,
        "families": dict(a.families),
        "vulnerable_count": vulnerable_counts(a)[0],
        "kev": kev_ids(a),  # the vulnerable CVEs that are known exploited (CISA KEV)
        "cves": [cve_dict(v) for v in kev_first(a.cves)],  # known exploited first
        "advice": a.advice,
        "install": a.install,
        "notes": list(a.notes),
        "knowledge_date": _iso(a.knowledge_date),
        "knowledge_version": a.knowledge_version,
        "knowledge_age_days": a.knowledge_age_days,
        "kev_catalog_date": _iso(a.kev_date),
        "error": a.error,
    }


def check_dict(r: CheckResult) -> dict[str, Any]:
    """The assessment plus what the live check saw (DESIGN.md section 3, "Check result")."""
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
            "checked_at": _iso(r.checked_at),
        }
    )
    if r.error is not None:
        d["error"] = r.error
    return d


def default(obj: object) -> Any:
    """``json.dumps`` hook: dates, dataclasses, tuples and mappings."""
    if isinstance(obj, dt.date | dt.datetime):
        return obj.isoformat()
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


def dumps(value: object, *, indent: int | None = 2) -> str:
    return json.dumps(value, default=default, indent=indent, ensure_ascii=False)
