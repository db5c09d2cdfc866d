"""Closing an event loop of our own the way ``asyncio.run`` closes its loop.

Why: the CLI runs checks and discoveries on loops it creates (``run_batch``, ``run_discoveries``)
so it can install signal handlers or hand results out one by one. A task still pending when such a
loop is closed is destroyed mid-flight; its coroutine is then closed from the garbage collector,
where a library's clean-up code (dnspython's sockets) cannot run. So what is left is cancelled and
given a moment to finish first.
"""

from __future__ import annotations

import asyncio
import contextlib

GRACE = 1.0  # seconds the cancelled tasks get to finish


def close_loop(loop: asyncio.AbstractEventLoop, grace: float = GRACE) -> None:
    """Cancel every task still pending on ``loop``, wait up to ``grace`` seconds for them, finish
    the async generators, and close the loop."""
    try:
        pending = asyncio.all_tasks(loop)
        for task in pending:
            task.cancel()
        if pending:
            loop.run_until_complete(asyncio.wait(pending, timeout=grace))
        for task in pending:  # retrieved: a failure nobody waits for any more is not logged as lost
            if task.done() and not task.cancelled():
                task.exception()
        with contextlib.suppress(Exception):
            loop.run_until_complete(loop.shutdown_asyncgens())
    finally:
        loop.close()
