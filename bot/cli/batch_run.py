"""Run a batch of checks for the CLI: results to the sink as they complete, progress and the
end-of-run summary on stderr, and a clean stop on SIGINT/SIGTERM.

On a signal the checks still in flight are abandoned (cancelled, not awaited), what completed is
written and already stored, ``interrupted: N of M checked and stored`` is printed and the process
exits 130 (SIGINT) or 143 (SIGTERM) at once, without a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import click

from bot.cli.batch_output import Progress, Sink
from bot.cli.failure import database_cause
from bot.core.batch import EXIT_SIGINT, EXIT_SIGTERM, FailOn, Summary, exit_code, summarise
from bot.loops import close_loop
from bot.probe.targets import Target
from bot.services.checks import PREPARE_AFTER, CheckService, StoreFailed

if TYPE_CHECKING:
    from bot.core.model import CheckResult

_SIGNAL_EXIT = {signal.SIGINT: EXIT_SIGINT, signal.SIGTERM: EXIT_SIGTERM}


@dataclass
class BatchOutcome:
    """What a batch of checks produced: the results, the signal that stopped it early, and why storing failed."""

    results: list[CheckResult] = field(default_factory=list)
    signum: int | None = None
    store_error: str | None = None


async def _consume(
    service: CheckService, targets: Sequence[Target], sink: Sink, progress: Progress, requested_by: str | None
) -> BatchOutcome:
    outcome = BatchOutcome()
    try:
        async for index, r in service.completed(targets, requested_by=requested_by):
            outcome.results.append(r)  # no await between receiving and counting it
            progress.clear()
            sink.result(index, r)
            progress(len(outcome.results), len(targets))
    except asyncio.CancelledError:
        pass  # a signal: the caller knows which
    except StoreFailed as exc:
        store = service.store
        if store is not None:  # name the file and the cause, as every other database fault
            cause = database_cause(exc.__cause__ or exc, store.path, store.lock_timeout)
            detail = str(exc)  # "N results could not be stored: <the error>"
            said = detail if cause in detail else f"{cause}; {detail}"  # the error once, not twice
            outcome.store_error = f"database {str(store.path)!a}: {said}"
        else:
            outcome.store_error = str(exc)
    return outcome


def run_batch(
    service: CheckService,
    targets: Sequence[Target],
    sink: Sink,
    *,
    requested_by: str | None = None,
    progress: Progress | None = None,
) -> BatchOutcome:
    """Run the checks on a fresh event loop with SIGINT/SIGTERM handlers installed."""
    progress = progress or Progress(len(targets))
    loop = asyncio.new_event_loop()
    main = loop.create_task(_consume(service, targets, sink, progress, requested_by))
    # the sink's renderer is imported with the rest of what the answers need (see CheckService)
    loop.call_soon(service.prober.when_requests_out, PREPARE_AFTER, sink.prepare)
    got: list[int] = []

    def on_signal(signum: int) -> None:
        if got:  # a second signal: stop now
            os._exit(_SIGNAL_EXIT.get(signal.Signals(signum), 1))
        got.append(signum)
        main.cancel()

    for sig in _SIGNAL_EXIT:
        loop.add_signal_handler(sig, on_signal, sig)
    try:
        outcome = loop.run_until_complete(main)
    finally:
        for sig in _SIGNAL_EXIT:
            loop.remove_signal_handler(sig)
    progress.clear()
    if got:
        outcome.signum = got[0]
        return outcome  # in-flight checks are abandoned: the loop is not run again
    close_loop(loop)
    return outcome


def finish(
    outcome: BatchOutcome,
    sink: Sink,
    *,
    total: int,
    skipped: int,
    fail_on: Sequence[FailOn],
    stored: bool,
    summary: bool,
    close: Callable[[], None] = lambda: None,
) -> int:
    """Write the rest of the output and the summary; return the exit code. After a signal this does
    not return: it exits at once (130/143) so that abandoned checks cannot hold the process."""
    sink.finish()
    s: Summary = summarise(
        outcome.results, total=total, skipped=skipped, fail_on=fail_on, interrupted=outcome.signum is not None
    )
    if outcome.store_error:
        click.echo(f"exchbot: {outcome.store_error}", err=True)
    if summary or s.interrupted:
        click.echo(s.text(), err=True)
    if outcome.signum is not None:
        refused = sum(1 for r in outcome.results if not r.attempted)
        what = "checked and stored" if stored else "checked (not stored: --no-store)"
        extra = f" ({refused} refused by the address guard, not stored)" if stored and refused else ""
        click.echo(f"interrupted: {s.checked} of {total} {what}{extra}", err=True)
        with contextlib.suppress(Exception):
            close()
        with contextlib.suppress(Exception):
            sys.stdout.flush()
            sys.stderr.flush()
        os._exit(_SIGNAL_EXIT.get(signal.Signals(outcome.signum), 1))
    close()
    code = exit_code(s)
    return max(code, 1) if outcome.store_error and code == 0 else code
