"""The daily backup of ``exchbot serve`` (``EXCHBOT_BACKUP_DIR``), after the other daily jobs."""

from __future__ import annotations

import datetime as dt
import logging
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.clock import Clock
from bot.daily.scheduler import DailyJob
from bot.store import Store
from bot.store.backup import dated_backup

log = logging.getLogger(__name__)
JOB_NAME = "backup"


def backup_job(store: Store, directory: Path, keep: int, clock: Clock, tz: ZoneInfo, at: dt.time) -> DailyJob:
    """One dated backup a day in ``directory``, keeping the newest ``keep``. Restart-safe: a backup
    already made since today's slot is not made again. Failures raise (the scheduler logs them,
    :func:`bot.services.job_log.recorded` stores them for ``exchbot status``); they never stop serve."""

    def run(day: dt.date) -> str | None:
        last = store.last_job_run(JOB_NAME, ok_only=True)
        if last is not None and last.finished_at >= dt.datetime.combine(day, at, tz):
            log.info("database already backed up today at %s", last.finished_at)
            return None
        info, removed = dated_backup(store.path, directory, clock.now(), keep)
        summary = f"{info.path}: {info.counts.text()}"
        log.info("backup written to %s; %d old backups removed", summary, len(removed))
        return summary

    return DailyJob(JOB_NAME, at, run)
