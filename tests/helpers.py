"""Builders for test data (results as the prober would produce them)."""

from __future__ import annotations

import datetime as dt

from bot.core.assess import assess_build
from bot.core.buildnum import Build
from bot.core.catalog import Catalog
from bot.core.model import CheckResult, Evidence
from bot.probe.verdict import failed_result

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)


def result(
    catalog: Catalog,
    host: str,
    at: dt.datetime,
    build: str | None,
    *,
    error: str | None = None,
    exchange: bool | None = True,
) -> CheckResult:
    """A check result for ``host`` at ``at``: a build, or an error (unreachable)."""
    if error is not None or build is None:
        return failed_result(host, host, at, error or "could not check: timed out", catalog)
    assessment = assess_build(Build.of(build), catalog, at.date(), input_text=host)
    return CheckResult(
        target=host,
        host=host,
        assessment=assessment,
        reachable=True,
        exchange=exchange,
        evidence=(Evidence("x-owa-version", f"https://{host}/owa/", build),),
        warnings=(),
        checked_at=at,
        error=None,
        address="192.0.2.10",
    )
