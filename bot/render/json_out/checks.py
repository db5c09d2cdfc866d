"""Check results: ``exchbot check``, ``build``, ``discover`` (the "check result" of the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.core.counts import cve_counts, kev_first, undetermined_counts, vulnerable_kev_ids
from bot.render.json_out.base import dumps, iso

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


class _CvePart:
    """What a tuple of CVE verdicts renders to, worked out once: every host on one build shares the
    tuple (bot.core.assess caches it per build), so 200 hosts need it once, not 200 times."""

    __slots__ = ("compact", "cves", "dicts", "kev", "undetermined", "vulnerable")

    def __init__(self, cves: tuple[CveVerdict, ...]) -> None:
        self.cves = cves  # held, so its id() cannot be reused while the entry is cached
        self.dicts = tuple(cve_dict(v) for v in kev_first(cves))  # known exploited first
        self.vulnerable = cve_counts(cves)[0]
        self.kev = tuple(vulnerable_kev_ids(cves))  # catalogue order
        self.undetermined = undetermined_counts(cves)  # (count, KEV count): what the build cannot tell
        self.compact: str | None = None  # the list as compact JSON, encoded on first need (cves_json)


_PARTS: dict[int, _CvePart] = {}
_MAX_PARTS = 64  # distinct verdict tuples kept (builds in one batch); then the cache starts over


def _cve_part(cves: tuple[CveVerdict, ...]) -> _CvePart:
    """The rendered parts of ``cves``, cached by identity (a tuple of frozen verdicts never changes).
    Safe across threads: a stale or replaced entry is recognised by its ``cves`` and rebuilt."""
    if type(cves) is not tuple:  # only an immutable tuple can be known by its identity
        return _CvePart(tuple(cves))
    part = _PARTS.get(id(cves))
    if part is None or part.cves is not cves:
        part = _CvePart(cves)
        if len(_PARTS) >= _MAX_PARTS:
            _PARTS.clear()
        _PARTS[id(cves)] = part
    return part


def assessment_dict(a: Assessment, *, cves: bool = True) -> dict[str, Any]:
    """The assessment; ``cves=False`` leaves out the ``cves`` list (the store keeps it once per build)."""
    part = _cve_part(a.cves)
    d = {
        "input": a.input,
        "build": a.build,
        "precision": a.precision,
        "product": a.product,
        "cu": a.cu,
        "update": a.update,
        "update_nearest": a.update_nearest,  # a build never published: named after the nearest published one
        "release_date": iso(a.release_date),
        "eol": a.eol,
        "eol_date": iso(a.eol_date),
        "esu": a.esu,
        "families": dict(a.families),
        "vulnerable_count": part.vulnerable,
        "kev": list(part.kev),  # the vulnerable CVEs that are known exploited (CISA KEV)
        "undetermined_count": part.undetermined[0],  # status unknown, not for a configuration reason
        "undetermined_kev_count": part.undetermined[1],
        "cves": [d.copy() for d in part.dicts] if cves else None,  # known exploited first; fresh dicts
        "advice": a.advice,
        "install": a.install,
        "notes": list(a.notes),
        "knowledge_date": iso(a.knowledge_date),
        "knowledge_version": a.knowledge_version,
        "knowledge_age_days": a.knowledge_age_days,
        "kev_catalog_date": iso(a.kev_date),
        "error": a.error,
    }
    if not cves:
        del d["cves"]  # the other keys keep their order
    return d


def check_dict(r: CheckResult, *, cves: bool = True) -> dict[str, Any]:
    """The assessment plus what the live check saw (the "check result" of the JSON contract);
    ``cves=False``: without the ``cves`` list."""
    d = assessment_dict(r.assessment, cves=cves)
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


def cves_json(cves: tuple[CveVerdict, ...]) -> str:
    """The ``cves`` list of a result as compact JSON (known exploited first), encoded once per
    verdict tuple: what a batch prints for every host on one build, and what the store keeps once
    per build (bot/store/checks.py)."""
    part = _cve_part(cves)
    if part.compact is None:
        part.compact = dumps(list(part.dicts), indent=None)
    return part.compact


def check_json(r: CheckResult) -> str:
    """``dumps(check_dict(r), indent=None)``, the same text, with the ``cves`` list from
    :func:`cves_json`: it is nine tenths of a result's JSON (127 verdicts, about 27 of 29 KB), the
    same for every host on one build, and a 200-host batch spent a twentieth of its time encoding it."""
    cves = cves_json(r.assessment.cves)
    d = check_dict(r, cves=False)
    keys = list(d)
    cut = keys.index("advice")  # the key that follows "cves" (assessment_dict's order)
    head = dumps({k: d[k] for k in keys[:cut]}, indent=None)
    tail = dumps({k: d[k] for k in keys[cut:]}, indent=None)
    # the compact layout's separators are ", " and ": " (json's defaults without indent)
    return f'{head[:-1]}, "cves": {cves}, {tail[1:]}'


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
