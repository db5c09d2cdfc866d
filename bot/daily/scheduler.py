"""A small daily scheduler for `exchbot serve`: each job runs once a day at a local time.

Restart-safe: a job marked ``catch_up`` that is started after its time runs at once for today; the
job itself must be idempotent per day (the digest claims a (channel, day) row first, the watchlist
run checks whether it already ran today), so a restart neither duplicates nor misses a day.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from bot.clock import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DailyJob:
    """A job run once a day at ``at`` (local time); with ``catch_up``, started after that time it runs at once."""

    name: str
    at: dt.time  # local time in the scheduler's zone
    run: Callable[[dt.date], object]
    catch_up: bool = True


def parse_hhmm(text: str) -> dt.time:
    try:
        hours, minutes = text.strip().split(":")
        return dt.time(int(hours), int(minutes))
    except ValueError as exc:
        raise ValueError(f"expected HH:MM, got {text!r}") from exc


@dataclass
class Scheduler:
    """Runs the daily jobs on a thread of its own, each once per day in the zone ``tz``."""

    jobs: list[DailyJob]
    tz: ZoneInfo
    clock: Clock
    max_sleep: float = 60.0  # re-check the clock at least this often (clock jumps, DST)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _done: dict[str, dt.date] = field(default_factory=dict)

    def due(self, now: dt.datetime) -> list[tuple[DailyJob, dt.date]]:
        """Jobs whose time has come today and that have not run today (in this process)."""
        local = now.astimezone(self.tz)
        out = []
        for job in self.jobs:
            if local.time() >= job.at and self._done.get(job.name) != local.date():
                if job.catch_up or local.time() < _plus(job.at, self.max_sleep * 2):
                    out.append((job, local.date()))
                else:
                    self._done[job.name] = local.date()  # started too late and no catch-up: skip today
        return out

    def run_pending(self) -> list[str]:
        ran = []
        for job, day in self.due(self.clock.now()):
            self._done[job.name] = day
            try:
                job.run(day)
                ran.append(job.name)
            except Exception:  # a failing job must not stop the others or the scheduler
                log.exception("scheduled job %s failed for %s", job.name, day)
        return ran

    def start(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._loop, name="exchbot-scheduler", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> bool:
        """Stop after the running job, if any; False if it is still running after ``timeout``."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            if self._thread.is_alive():
                return False
            self._thread = None
        return True

    def _loop(self) -> None:
        while not self._stop.is_set():
            self.run_pending()
            self._stop.wait(self._seconds_to_next(self.clock.now()))

    def _seconds_to_next(self, now: dt.datetime) -> float:
        local = now.astimezone(self.tz)
        waits = []
        for job in self.jobs:
            target = dt.datetime.combine(local.date(), job.at, self.tz)
            if target <= local:
                target += dt.timedelta(days=1)
            waits.append((target - local).total_seconds())
        return max(0.5, min([self.max_sleep, *waits]))


def _plus(t: dt.time, seconds: float) -> dt.time:
    moved = dt.datetime.combine(dt.date(2000, 1, 1), t) + dt.timedelta(seconds=seconds)
    return moved.time() if moved.date() == dt.date(2000, 1, 1) else dt.time(23, 59, 59)
