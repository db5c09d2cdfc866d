"""The daily jobs of `exchbot serve`: re-check the watchlist, then post the digest."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.daily.scheduler import DailyJob, Scheduler, parse_hhmm
from bot.services import digest as digest_service
from bot.services.backup_job import backup_job
from bot.services.checks import CheckService
from bot.services.digest import ChatPoster, DrawCharts
from bot.services.job_log import recorded
from bot.services.watch import run_watchlist
from bot.store import Store

log = logging.getLogger(__name__)
WATCH_REQUESTER = "watchlist"


def watch_job(service: CheckService, store: Store, clock: Clock, tz: ZoneInfo, at: dt.time) -> DailyJob:
    def run(day: dt.date) -> str | None:
        last = store.last_check_time(WATCH_REQUESTER)
        start_of_slot = dt.datetime.combine(day, at, tz)
        if last is not None and last >= start_of_slot:
            log.info("watchlist already re-checked today at %s", last)
            return None
        results = asyncio.run(run_watchlist(service, store, requested_by=WATCH_REQUESTER))
        summary = f"{len(results)} hosts, {sum(1 for r in results if r.error)} could not be checked"
        log.info("watchlist re-checked: %s", summary)
        return summary

    return DailyJob("watchlist", at, run)


def digest_job(
    client: ChatPoster,
    channel: str,
    store: Store,
    catalog: Catalog,
    clock: Clock,
    settings: Settings,
    draw: DrawCharts | None = None,
) -> DailyJob:
    def run(day: dt.date) -> str:
        digest = digest_service.compose(
            store,
            catalog,
            clock,
            settings.digest_regions,
            settings.digest_tz,
            max_age_days=settings.knowledge_max_age_days,
            unreachable_days=settings.unreachable_days,
        )
        outcome = digest_service.post(client, channel, digest, store, clock, catalog=catalog, draw=draw)
        log.info("digest for %s in %s: %s", day, channel, outcome.reason)
        return f"{day} in {channel}: {outcome.reason}"

    return DailyJob("digest", parse_hhmm(settings.digest_time), run)


def make_scheduler(
    settings: Settings,
    *,
    client: ChatPoster,
    service: CheckService,
    store: Store,
    catalog: Catalog,
    clock: Clock,
    draw: DrawCharts | None = None,
) -> Scheduler:
    tz = ZoneInfo(settings.digest_tz)
    jobs = [watch_job(service, store, clock, tz, parse_hhmm(settings.watch_time))]
    if settings.digest_channel:
        jobs.append(digest_job(client, settings.digest_channel, store, catalog, clock, settings, draw))
    else:
        log.info("EXCHBOT_DIGEST_CHANNEL is not set: no daily digest will be posted")
    if settings.backup_dir is not None:  # last, at the latest job's time: runs after the others
        jobs.append(backup_job(store, settings.backup_dir, settings.backup_keep, clock, tz, max(j.at for j in jobs)))
    return Scheduler(jobs=[recorded(j, store, clock) for j in jobs], tz=tz, clock=clock)
