"""Exposure: ``exchbot exposure`` (the "exposure result" of the contract), its host list and the
Shodan calibration."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.render.json_out.base import iso, timestamp

if TYPE_CHECKING:
    from bot.core.exposure import BuildExposure, ExposureChanges, ExposureResult
    from bot.core.exposure_model import Calibration, Host, HostList

HOST_FAMILIES = {
    "proxylogon": "ProxyLogon",
    "proxyshell": "ProxyShell",
    "proxytoken": "ProxyToken",
    "proxynotshell": "ProxyNotShell",
}  # host list columns -> families


def exposure_changes_dict(c: ExposureChanges | None) -> dict[str, Any] | None:
    if c is None:
        return None
    return {
        "total": c.total,
        "by_product": dict(c.by_product),
        "eol": c.eol,
        "families": {f: dict(v) for f, v in c.families.items()},
        "unattributed": c.unattributed,
        "unknown_version": c.unknown_version,
        "at_risk": c.at_risk,
    }


def _build_dict(b: BuildExposure) -> dict[str, Any]:
    return {
        "build": b.build,
        "count": b.count,
        "precision": b.precision,
        "product": b.product,
        "cu": b.cu,
        "eol": b.eol,
        "families": dict(b.families),
    }


def exposure_dict(r: ExposureResult) -> dict[str, Any]:
    """The "exposure result" of the JSON contract, contract keys first."""
    return {
        "region": r.region,
        "countries": list(r.countries),
        "snapshot_at": timestamp(r.snapshot_at),
        "query": r.query,
        "total": r.total,
        "by_product": dict(r.by_product),
        "eol": r.eol,
        "families": {f: dict(v) for f, v in r.families.items()},
        "credits_used": r.credits_used,
        "unattributed": r.unattributed,
        "previous_snapshot_at": timestamp(r.previous_snapshot_at),
        "changes": exposure_changes_dict(r.changes),
        "unknown_version": r.unknown_version,
        "at_risk": r.at_risk,
        "unattributed_included": r.unattributed_included,
        "by_country": dict(r.by_country),
        "by_build": [_build_dict(b) for b in r.by_build],
        "mode": r.mode,
        "unit": r.unit,
        "note": r.note,
        "data_source": r.data_source,
        "reused_snapshot": r.reused,
        "snapshot_id": r.snapshot_id,
        "snapshot_credits": r.snapshot_credits,
        "requests": r.requests,
        "builds_counted": r.builds_counted,
        "knowledge_version": r.knowledge_version,
        "knowledge_date": iso(r.knowledge_date),
        "warnings": list(r.warnings),
        "eol_max": r.eol_max,
        "pre2013_or_build_hidden": r.unknown_version,
        "by_org": ranked_list(r.by_org),
        "by_asn": ranked_list(r.by_asn),
        "total_checked": r.total_checked,
    }


def ranked_list(pairs: tuple[tuple[str, int], ...]) -> list[dict[str, Any]]:
    """``[{"name": ..., "count": ...}]``, largest count first."""
    return [{"name": n, "count": c} for n, c in sorted(pairs, key=lambda kv: (-kv[1], kv[0]))]


def host_dict(h: Host) -> dict[str, Any]:
    """One host of a deep snapshot (also the CSV row of ``exposure hosts --csv``)."""
    row: dict[str, Any] = {
        "ip": h.ip,
        "port": h.port,
        "hostnames": list(h.hostnames),
        "country": h.country,
        "asn": h.asn,
        "org": h.org,
        "build": h.build,
        "product": h.product,
        "eol": h.eol,
    }
    for col, fam in HOST_FAMILIES.items():
        row[col] = h.families.get(fam, "unknown")
    row["seen_at"] = h.seen_at
    return row


def hosts_dict(hl: HostList) -> dict[str, Any]:
    """``exchbot exposure hosts --json``."""
    return {
        "region": hl.region,
        "countries": list(hl.countries),
        "snapshot_at": timestamp(hl.snapshot_at),
        "snapshot_id": hl.snapshot_id,
        "snapshot_scope": hl.scope,
        "unit": "hosts",
        "count": len(hl.hosts),
        "hosts": [host_dict(h) for h in hl.hosts],
    }


def calibration_dict(c: Calibration) -> dict[str, Any]:
    """``exchbot exposure calibrate --json``."""
    return {
        "taken_at": timestamp(c.taken_at),
        "calibration_id": c.id,
        "repeated_filters": c.repeated_filters,
        "dotted_paths": c.dotted,
        "facet_cap": c.facet_cap,
        "old_marker": c.old_marker,
        "favicon": [{"name": n, "count": k} for n, k in c.favicon],
        "base_total": c.base_total,
        "fields_shape": c.fields_shape,
        "findings": list(c.findings),
    }
