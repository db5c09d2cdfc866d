"""Background work beside the Slack app: the daily watchlist run and the daily digest (issue 7).
``exchbot serve`` calls :func:`on_start` once the app is up and :func:`on_stop` on SIGTERM/SIGINT,
before the job runner and the store are closed."""

from __future__ import annotations

import logging

from slack_bolt import App

from bot.jobs import make_scheduler
from bot.scheduler import Scheduler
from bot.services.checks import CheckService
from bot.slack.deps import SlackDeps
from bot.wiring import make_prober

log = logging.getLogger(__name__)
_running: list[Scheduler] = []


def on_start(app: App, deps: SlackDeps) -> None:
    """Start the daily scheduler (watchlist re-check, then the digest in EXCHBOT_DIGEST_CHANNEL)."""
    service = CheckService(prober=make_prober(deps.settings, deps.clock), store=deps.store)
    scheduler = make_scheduler(
        deps.settings, client=app.client, service=service, store=deps.store, catalog=deps.catalog, clock=deps.clock
    )
    scheduler.start()
    _running.append(scheduler)
    log.info(
        "daily jobs scheduled: %s (%s)",
        ", ".join(f"{j.name} at {j.at:%H:%M}" for j in scheduler.jobs),
        deps.settings.digest_tz,
    )


def on_stop() -> bool:
    """Stop the scheduler; a job in progress gets a few seconds to finish. False if one is still
    running (then the caller must not close the store under it)."""
    stopped = True
    while _running:
        stopped = _running.pop().stop(timeout=10.0) and stopped
    return stopped
