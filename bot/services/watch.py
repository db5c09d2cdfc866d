"""Re-check the watchlist (CLI `watch run`, the daily job in `serve`)."""

from __future__ import annotations

from bot.core.model import CheckResult
from bot.probe.targets import Target, TargetError, parse_target
from bot.services.checks import CheckService, Progress
from bot.store import Store


async def run_watchlist(
    service: CheckService, store: Store, *, progress: Progress | None = None, requested_by: str = "watchlist"
) -> list[CheckResult]:
    targets: list[Target] = []
    for w in store.watchlist():
        try:
            targets.append(parse_target(w.target))
        except TargetError:
            targets.append(parse_target(w.host))
    if not targets:
        return []
    return [r async for r in service.run(targets, requested_by=requested_by, progress=progress)]
