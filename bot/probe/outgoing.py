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
import threading
import weakref
from collections.abc import Callable, Iterator


class _LoopState:
    def __init__(self) -> None:
        self.opening = 0
        self.waiting: list[Callable[[], object]] = []


class OutgoingRequests:
    """Counts the connections being opened for a request; runs deferred work once none is.

    Counted per event loop: ``serve`` shares one prober among job threads, each running its own
    loop, and one job's connections must not hold back (or run) another's work. A loop's count and
    waiting work go with the loop."""

    def __init__(self) -> None:
        self._loops: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _state(self, loop: asyncio.AbstractEventLoop) -> _LoopState:
        state = self._loops.get(loop)
        if state is None:
            with self._lock:
                state = self._loops.setdefault(loop, _LoopState())
        return state

    @property
    def opening_now(self) -> int:
        """Connections being opened on the running loop."""
        return self._state(asyncio.get_running_loop()).opening

    @contextlib.contextmanager
    def opening(self) -> Iterator[None]:
        """Around opening one connection (TCP and TLS), in a coroutine of the running loop.

        The work waiting for the last one is scheduled with ``call_soon``, not run here: the code
        after this block writes its request in the same step, before that work takes the
        interpreter. A connection that fails or is cancelled counts as out all the same."""
        loop = asyncio.get_running_loop()
        state = self._state(loop)
        state.opening += 1
        try:
            yield
        finally:
            state.opening -= 1
            if not state.opening and state.waiting:
                waiting, state.waiting = state.waiting, []
                if not loop.is_closed():  # a coroutine closed after its loop: the work is moot
                    for fn in waiting:
                        loop.call_soon(fn)

    def when_sent(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` now if no connection is being opened on the running loop, else once the last
        one is open."""
        state = self._state(asyncio.get_running_loop())
        if state.opening:
            state.waiting.append(fn)
        else:
            fn()
