"""The app's own bounded executor: the worker threads that run the Slack commands' work.

A listener runs on the thread of the HTTP request and the app must answer Slack within 3 seconds,
so listeners only parse, check limits, hand the work to :class:`JobRunner` and acknowledge. The runner has a
fixed number of workers (``EXCHBOT_MAX_JOBS``) and a bounded queue: when both are full,
:meth:`JobRunner.submit` returns False at once and the user is told to try again, instead of the
request waiting in an unbounded queue while its ``response_url`` expires.

Each job first waits (bounded) at the runner's :class:`bot.slack.ack_gate.AckGate` until the Slack
requests being answered are done, so that a burst's jobs do not slow its acknowledgements down.
The worker threads are all started when the runner is built, not by the first submits.
"""

from __future__ import annotations

import concurrent.futures
import logging
import threading
from collections.abc import Callable

from bot.slack.ack_gate import AckGate

log = logging.getLogger(__name__)
Job = Callable[[], object]  # what a job returns is ignored


class JobRunner:
    """``workers`` threads run jobs; at most ``queue`` more wait. Thread-safe."""

    def __init__(self, workers: int, queue: int, *, name: str = "exchbot-job", gate: AckGate | None = None) -> None:
        self.workers = max(1, workers)
        self.gate = gate if gate is not None else AckGate()  # the HTTP front marks requests on it
        self.queue = max(0, queue)
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix=name)
        self._slots = threading.BoundedSemaphore(self.workers + self.queue)
        self._lock = threading.Lock()
        self._futures: set[concurrent.futures.Future[None]] = set()
        self._closed = False
        self._start_threads()

    def _start_threads(self) -> None:
        """Start every worker thread now. The pool would start one per submit() until it has them
        all: on the thread of the request being acknowledged, with the runner's lock held, waiting
        for the new thread to run (measured: ~20 ms per acknowledgement in the first burst)."""
        ready = threading.Barrier(self.workers)
        for _ in range(self.workers):  # each waits for the others, so no thread is idle to be reused
            self._pool.submit(ready.wait, 5.0)

    def submit(self, job: Job) -> bool:
        """Start ``job`` (or queue it); False, without blocking, when the runner is full or closed."""
        if not self._slots.acquire(blocking=False):
            return False
        with self._lock:
            if self._closed:
                self._slots.release()
                return False
            try:
                future = self._pool.submit(self._run, job)
            except RuntimeError:  # the pool is shutting down
                self._slots.release()
                return False
            self._futures.add(future)
        future.add_done_callback(self._done)
        return True

    @property
    def pending(self) -> int:
        """Jobs running or waiting."""
        with self._lock:
            return len(self._futures)

    def _run(self, job: Job) -> None:
        try:
            self.gate.wait_quiet()
            job()
        except Exception:  # a job reports its own errors to the user; this is the last resort
            log.exception("background job failed")

    def _done(self, future: concurrent.futures.Future[None]) -> None:
        with self._lock:
            self._futures.discard(future)
        self._slots.release()

    def wait_idle(self, timeout: float) -> bool:
        """Wait until every accepted job has finished; False if some are still running."""
        with self._lock:
            futures = set(self._futures)
        _, not_done = concurrent.futures.wait(futures, timeout=timeout)
        return not not_done

    def shutdown(self, timeout: float = 10.0) -> bool:
        """Accept nothing new, drop queued jobs, wait up to ``timeout`` s for running ones."""
        with self._lock:
            self._closed = True
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:  # after: a dropped job's future is cancelled, never finished, and has left
            futures = set(self._futures)
        _, not_done = concurrent.futures.wait(futures, timeout=timeout)
        if not_done:
            log.warning("%d background jobs still running at shutdown", len(not_done))
        return not not_done
