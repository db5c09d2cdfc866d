"""The check service: probe targets, store every result, hand results back as they complete
(:meth:`CheckService.completed`) or in input order (:meth:`CheckService.run`).

Shared by the CLI, the Slack commands and the watchlist run, so all three behave the same.
Results are stored in batches as they complete (one transaction per batch) and only a small
reordering buffer is held in memory, so 10,000 targets need no more memory than 100.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from bot.probe.prober import Prober
from bot.probe.targets import Target

if TYPE_CHECKING:
    from bot.core.model import CheckResult
    from bot.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
# Seconds after the start of a run, at the earliest, at which the database is opened (its schema
# checked on the writer thread) and the prober loads the judge and the knowledge; later while
# connections are still being opened (Prober.when_requests_out). A failure of either shows again at
# first use.
PREPARE_AFTER = 0.02


class StoreFailed(RuntimeError):
    """Results were produced but could not be stored (the first cause is ``__cause__``)."""

    def __init__(self, message: str, failures: int = 1) -> None:
        super().__init__(message)
        self.failures = failures  # batches that could not be stored


@dataclass
class CheckService:
    """Probes targets and stores every result, in batches, on a writer thread."""

    prober: Prober
    store: Store | None
    batch_size: int = 50
    # Makes the store when ``store`` is None (``exchbot check``): at PREPARE_AFTER, after the first
    # requests have left, or at the first save if sooner, so importing the database layer does not
    # delay the first request (the prober's knowledge likewise, see Prober.prepare).
    open_store: Callable[[], Store] | None = None
    # One long-lived writer thread: SQLite blocks, so writes stay off the event loop, and the
    # store's per-thread connection is opened once, not once per short-lived executor thread.
    _writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="exchbot-store")
    )

    async def completed(
        self, targets: Sequence[Target], *, requested_by: str | None = None, progress: Progress | None = None
    ) -> AsyncIterator[tuple[int, CheckResult]]:
        """Yield ``(input index, result)`` as hosts finish; store results in batches as they arrive.

        Every result handed out is stored, also when the consumer stops early or the task is
        cancelled (Ctrl-C): the pending batch is written before the generator ends, so "N checked"
        always means "N stored" (results the guard refused are never stored, see Store).
        """
        unsaved: list[CheckResult] = []
        done = 0
        errors: list[Exception] = []
        lost = 0
        # open the database while the first probes wait for answers
        self.prober.when_requests_out(PREPARE_AFTER, self._prepare)
        try:
            async for index, result in self.prober.check_many(targets):
                done += 1
                if progress:
                    progress(done, len(targets))
                unsaved.append(result)
                yield index, result
                if len(unsaved) >= self.batch_size:  # after the yield: whatever was handed out is stored
                    batch, unsaved = unsaved, []
                    if error := await self._save_fully(batch, requested_by):
                        errors.append(error)
                        lost += len(batch)
        finally:
            if unsaved:
                batch, unsaved = unsaved, []
                if error := await self._save_fully(batch, requested_by):
                    errors.append(error)
                    lost += len(batch)
        if errors:
            # Reported once, with a count: a full disk fails every batch the same way.
            distinct = {str(e) for e in errors}
            repeats = f" ({len(errors)} times)" if len(errors) > 1 and len(distinct) == 1 else ""
            raise StoreFailed(f"{lost} results could not be stored: {errors[0]}{repeats}", len(errors)) from errors[0]

    def shutdown(self) -> None:
        """Stop the writer thread once every save has finished (the store itself is the owner's to
        close)."""
        self._writer.shutdown(wait=True)

    def _the_store(self) -> Store | None:
        if self.store is None and self.open_store is not None:
            self.store = self.open_store()
        return self.store

    def _prepare(self) -> None:
        if (store := self._the_store()) is not None:
            self._writer.submit(store.prepare)
        self.prober.prepare()  # the judge and the knowledge, if not loaded yet

    async def run(
        self, targets: Sequence[Target], *, requested_by: str | None = None, progress: Progress | None = None
    ) -> AsyncIterator[CheckResult]:
        """Yield results in input order (a small reordering buffer); store them as they arrive."""
        waiting: dict[int, CheckResult] = {}
        next_out = 0
        async for index, result in self.completed(targets, requested_by=requested_by, progress=progress):
            waiting[index] = result
            while next_out in waiting:
                yield waiting.pop(next_out)
                next_out += 1

    async def check_all(self, targets: Sequence[Target], *, requested_by: str | None = None) -> list[CheckResult]:
        return [r async for r in self.run(targets, requested_by=requested_by)]

    async def _save_fully(self, results: list[CheckResult], requested_by: str | None) -> Exception | None:
        """Save, and finish saving even if the task is cancelled meanwhile (then re-raise)."""
        task = asyncio.ensure_future(self._save(results, requested_by))
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            await task
            raise

    async def _save(self, results: list[CheckResult], requested_by: str | None) -> Exception | None:
        store = self._the_store()
        if store is None:
            return None
        version = self.prober.knowledge().version
        batch = list(results)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, lambda: store.save_checks(batch, requested_by=requested_by, knowledge_version=version)
            )
        except Exception as exc:  # reported once at the end (with a count); the results are still printed
            import sqlite3  # loaded by the store already; not at the top, before the first request

            if not isinstance(exc, sqlite3.Error | OSError):
                log.error("storing %d results failed: %s", len(results), exc)
            return exc
        return None
