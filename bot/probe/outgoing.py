"""Work that can wait until the requests are out.

A check sends its requests before it loads what only their answers need: the knowledge, the judge,
the X.509 parser, the renderer, the database. Loading them holds the interpreter for tens of
milliseconds. Done while connections are still being opened, that holds back every TLS handshake
and request not yet sent, and so every answer; done once the requests are out, it fills time the
check waits for its answers anyway. In a 200-host batch this took the whole run from about 1.06 to
0.97 x the bare client's time (docs/PERFORMANCE.md).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterator


class OutgoingRequests:
    """Counts the connections being opened for a request; runs deferred work once none is."""

    def __init__(self) -> None:
        self._opening = 0
        self._waiting: list[Callable[[], object]] = []

    @property
    def opening_now(self) -> int:
        return self._opening

    @contextlib.contextmanager
    def opening(self) -> Iterator[None]:
        """Around opening one connection (TCP and TLS), in a coroutine of the running loop.

        The work waiting for the last one is scheduled with ``call_soon``, not run here: the code
        after this block writes its request in the same step, before that work takes the
        interpreter. A connection that fails or is cancelled counts as out all the same."""
        self._opening += 1
        try:
            yield
        finally:
            self._opening -= 1
            if not self._opening and self._waiting:
                waiting, self._waiting = self._waiting, []
                loop = asyncio.get_running_loop()
                for fn in waiting:
                    loop.call_soon(fn)

    def when_sent(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` now if no connection is being opened, else once the last one is open."""
        if self._opening:
            self._waiting.append(fn)
        else:
            fn()
