"""Every JSON shape exchbot prints, in one place (the CLI/JSON contract in docs/ARCHITECTURE.md).

Pure functions of results, one module per area, all re-exported here (``json_out.check_dict``).
One timestamp format everywhere: UTC, ISO 8601, ending in ``Z`` (``2026-11-02T08:15:00Z``, through
:func:`timestamp`); calendar dates are plain ``YYYY-MM-DD``.
"""

from __future__ import annotations

from bot.render.json_out.base import default, dumps, iso, timestamp
from bot.render.json_out.checks import (
    assessment_dict,
    check_dict,
    check_json,
    cve_dict,
    cves_json,
    discovery_dict,
)
from bot.render.json_out.exposure import (
    calibration_dict,
    exposure_changes_dict,
    exposure_dict,
    host_dict,
    hosts_dict,
    ranked_list,
)
from bot.render.json_out.history import (
    change_dict,
    changes_dict,
    digest_dict,
    point_dict,
    rejudged_dict,
    watch_dict,
)
from bot.render.json_out.ops import backup_dict, knowledge_dict, status_dict

__all__ = [
    "assessment_dict",
    "backup_dict",
    "calibration_dict",
    "change_dict",
    "changes_dict",
    "check_dict",
    "check_json",
    "cve_dict",
    "cves_json",
    "default",
    "digest_dict",
    "discovery_dict",
    "dumps",
    "exposure_changes_dict",
    "exposure_dict",
    "host_dict",
    "hosts_dict",
    "iso",
    "knowledge_dict",
    "point_dict",
    "ranked_list",
    "rejudged_dict",
    "status_dict",
    "timestamp",
    "watch_dict",
]
