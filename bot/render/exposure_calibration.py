"""What ``exchbot exposure calibrate`` found, as text (pure; its JSON: :mod:`bot.render.json_out`)."""

from __future__ import annotations

from bot.core.exposure_model import Calibration
from bot.render.json_out import timestamp


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
    lines = [f"Shodan calibration {timestamp(c.taken_at)} (stored; later snapshots use it)", ""]
    lines += [f"- {f}" for f in c.findings]
    lines += ["", "What count mode does with it:"] + [f"- {u}" for u in uses]
    return "\n".join(lines)
