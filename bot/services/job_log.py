"""Record the outcome of each daily job in the store, for ``exchbot status``.

A job's ``run`` returns a short summary (recorded as a success), returns None when it had nothing to
do (e.g. already ran today; nothing recorded) or raises (recorded as a failure, then re-raised so
the scheduler logs it). Recording never makes a job fail: a database that cannot be written is
logged and left at that.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import logging
from collections.abc import Callable
from typing import Protocol

from bot.clock import Clock
from bot.daily.scheduler import DailyJob

log = logging.getLogger(__name__)


class RunRecorder(Protocol):
    def record_job_run(
        self, job: str, started_at: dt.datetime, finished_at: dt.datetime, ok: bool, detail: str
    ) -> None: ...


def recorded(job: DailyJob, recorder: RunRecorder, clock: Clock) -> DailyJob:
    """``job`` with its outcome recorded under its name."""
    inner: Callable[[dt.date], object] = job.run

    def run(day: dt.date) -> object:
        started = clock.now()
        try:
            result = inner(day)
        except Exception as exc:
            _save(recorder, job.name, started, clock.now(), False, f"{type(exc).__name__}: {exc}")
            raise
        if result is not None:
            _save(recorder, job.name, started, clock.now(), True, str(result))
        return result

    return dataclasses.replace(job, run=run)


def _save(recorder: RunRecorder, name: str, started: dt.datetime, finished: dt.datetime, ok: bool, detail: str) -> None:
    try:
        recorder.record_job_run(name, started, finished, ok, detail)
    except Exception:
        log.exception("could not record the outcome of %s", name)
