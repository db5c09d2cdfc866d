"""Acknowledgements first: background jobs hold back while Slack requests are being answered.

Python runs one thread at a time (the GIL). A burst of slash commands starts a job per command, and
a job that probes a host (TLS handshakes, parsing, the database, rendering a card) takes several
times the CPU of an acknowledgement; started at once, the first jobs would share the interpreter
with the acknowledgements still waiting to be sent, and every acknowledgement after them would
leave later. Slack gives an acknowledgement 3 s; a job's answer takes seconds anyway.

So the HTTP front (:mod:`bot.slack.http_server`) marks each Slack request while it is being
answered (:meth:`AckGate.answering`), and each job waits in :meth:`AckGate.wait_quiet` until no
request has been in flight for ``settle`` seconds, at most ``max_wait`` seconds: a steady stream of
requests delays jobs by a bounded amount and never starves them.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterator

SETTLE = 0.02  # quiet this long (s) before a job starts: the next request of a burst is usually closer
MAX_WAIT = 0.5  # a job never waits longer than this (s) for the requests to stop


class AckGate:
    """Counts requests being answered; thread-safe."""

    def __init__(
        self,
        *,
        settle: float = SETTLE,
        max_wait: float = MAX_WAIT,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.settle = max(0.0, settle)
        self.max_wait = max(0.0, max_wait)
        self._clock = clock
        self._cond = threading.Condition()
        self._in_flight = 0
        self._last_left = float("-inf")

    @property
    def in_flight(self) -> int:
        with self._cond:
            return self._in_flight

    @contextlib.contextmanager
    def answering(self) -> Iterator[None]:
        """Mark one request as being answered for the duration of the block."""
        with self._cond:
            self._in_flight += 1
        try:
            yield
        finally:
            with self._cond:
                self._in_flight -= 1
                self._last_left = self._clock()
                if self._in_flight == 0:
                    self._cond.notify_all()

    def wait_quiet(self, max_wait: float | None = None) -> bool:
        """Block until no request has been answered for ``settle`` s, or ``max_wait`` s have passed
        (default: the gate's own). True when it became quiet, False when the wait was cut short."""
        limit = self.max_wait if max_wait is None else max(0.0, max_wait)
        deadline = self._clock() + limit
        with self._cond:
            while True:
                now = self._clock()
                if self._in_flight == 0:
                    quiet_at = self._last_left + self.settle
                    if now >= quiet_at:
                        return True
                    wake = min(quiet_at, deadline)
                else:
                    wake = deadline
                if now >= deadline:
                    return False
                self._cond.wait(wake - now)
