"""The check service: probe targets, store every result, hand results back in input order.

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

from bot.core.model import CheckResult
from bot.probe.prober import Prober
from bot.probe.targets import Target

if TYPE_CHECKING:
    from bot.store import Store

log = logging.getLogger(__name__)
Progress = Callable[[int, int], None]
# Seconds after the start of a run at which the writer thread opens the database (a failure shows
# again on the first save): late enough not to slow the first TLS handshakes, which need the same
# interpreter lock, early enough to be done before the first answers arrive.
PREPARE_AFTER = 0.05


class StoreFailed(RuntimeError):
    """Results were produced but could not be stored."""


@dataclass
class CheckService:
    prober: Prober
    store: Store | None
    batch_size: int = 50
    # One long-lived writer thread: SQLite blocks, so writes stay off the event loop, and the
    # store's per-thread connection is opened once, not once per short-lived executor thread.
    _writer: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(max_workers=1, thread_name_prefix="exchbot-store")
    )

    async def run(
        self, targets: Sequence[Target], *, requested_by: str | None = None, progress: Progress | None = None
    ) -> AsyncIterator[CheckResult]:
        """Yield results in input order; store them as they arrive."""
        waiting: dict[int, CheckResult] = {}
        unsaved: list[CheckResult] = []
        next_out = 0
        done = 0
        store_error: Exception | None = None
        if self.store is not None:  # open the database while the first probes wait for answers
            asyncio.get_running_loop().call_later(PREPARE_AFTER, self._writer.submit, self.store.prepare)
        async for index, result in self.prober.check_many(targets):
            done += 1
            if progress:
                progress(done, len(targets))
            waiting[index] = result
            unsaved.append(result)
            if len(unsaved) >= self.batch_size:
                store_error = await self._save(unsaved, requested_by) or store_error
                unsaved = []
            while next_out in waiting:
                yield waiting.pop(next_out)
                next_out += 1
        if unsaved:
            store_error = await self._save(unsaved, requested_by) or store_error
        if store_error is not None:
            raise StoreFailed(f"results could not be stored: {store_error}") from store_error

    async def check_all(self, targets: Sequence[Target], *, requested_by: str | None = None) -> list[CheckResult]:
        return [r async for r in self.run(targets, requested_by=requested_by)]

    async def _save(self, results: list[CheckResult], requested_by: str | None) -> Exception | None:
        if self.store is None:
            return None
        store = self.store
        version = self.prober.catalog.version
        batch = list(results)
        try:
            await asyncio.get_running_loop().run_in_executor(
                self._writer, lambda: store.save_checks(batch, requested_by=requested_by, knowledge_version=version)
            )
        except Exception as exc:  # reported once at the end; the results are still printed
            log.error("storing %d results failed: %s", len(results), exc)
            return exc
        return None
