"""Audit rows written by one background thread, so that answering a request never waits on SQLite.

A Slack command is acknowledged, then audited; with a synchronous write, a burst of commands queues
up behind the database's write lock on the app's listener threads, and later acknowledgements wait
for a free thread. Here ``put`` only appends to a bounded queue (it blocks only when
``MAX_PENDING`` rows are waiting: memory stays bounded under a flood); one thread writes the rows in
order, each in its own transaction. ``close`` writes what is queued and stops the thread.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable
from typing import Any, cast

log = logging.getLogger(__name__)
MAX_PENDING = 10_000
_STOP = object()

Row = dict[str, Any]


class AuditQueue:
    def __init__(self, write: Callable[[Row], object], max_pending: int = MAX_PENDING) -> None:
        self._write = write
        self._queue: queue.Queue[object] = queue.Queue(max_pending)
        self._thread = threading.Thread(target=self._run, name="exchbot-audit", daemon=True)
        self._thread.start()

    def put(self, row: Row) -> None:
        self._queue.put(row)

    def flush(self) -> None:
        """Wait until every row queued so far is written (or failed and logged)."""
        self._queue.join()

    def close(self, timeout: float = 10.0) -> bool:
        """Write what is queued, stop the thread; False if it did not finish within ``timeout``."""
        self._queue.put(_STOP)
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _run(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                self._queue.task_done()
                return
            row = cast(Row, item)
            try:
                self._write(row)
            except Exception as exc:  # logged, never raised: an audit failure must not stop the app
                log.error("audit row for %s could not be written: %s", row.get("command"), exc)
            finally:
                self._queue.task_done()
