"""What ``exchbot exposure calibrate`` found, as text and as a JSON-ready dictionary (pure)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from bot.core.exposure_model import Calibration


def _iso(t: dt.datetime) -> str:
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def calibration_dict(c: Calibration) -> dict[str, Any]:
    return {
        "taken_at": _iso(c.taken_at),
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


def calibration_text(c: Calibration) -> str:
    uses = [
        "count mode refuses to run (repeated filters ORed)"
        if c.repeated_filters == "or"
        else "count mode runs its self-checks on every snapshot",
        "2007/2010 folders: one count per 3-part prefix"
        if c.dotted == "split"
        else "2007/2010 folders: every revision of each published build",
        f"country facet: expected cut at {c.facet_cap} buckets" if c.facet_cap else "country facet: no cut seen",
    ]
    lines = [f"Shodan calibration {_iso(c.taken_at)} (stored; later snapshots use it)", ""]
    lines += [f"- {f}" for f in c.findings]
    lines += ["", "What count mode does with it:"] + [f"- {u}" for u in uses]
    return "\n".join(lines)
