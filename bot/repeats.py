"""Reporting a repeated error once, with a count, instead of once per occurrence (a full disk fails
every write the same way)."""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable

MAX_KINDS = 100  # distinct messages remembered


class RepeatedErrors:
    """Log each distinct message the first time; identical ones after it are counted, and the count
    is logged at most once per ``every`` seconds (with the message)."""

    def __init__(self, every: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.every = every
        self._clock = clock
        self._lock = threading.Lock()
        self._seen: OrderedDict[str, tuple[int, float]] = OrderedDict()  # message -> (unlogged repeats, since)

    def report(self, logger: logging.Logger, message: str) -> None:
        line: str | None = None
        with self._lock:
            now = self._clock()
            if message not in self._seen:
                self._seen[message] = (0, now)
                if len(self._seen) > MAX_KINDS:
                    self._seen.popitem(last=False)
                line = message
            else:
                count, since = self._seen[message]
                count += 1
                if now - since >= self.every:
                    line = f"{message} (repeated {count} more times)"
                    count, since = 0, now
                self._seen[message] = (count, since)
        if line is not None:
            logger.error("%s", line)


# The process's storage faults (Slack jobs, audit rows): one line per distinct fault.
storage_errors = RepeatedErrors()
