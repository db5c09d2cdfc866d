"""The ``exchbot`` console script: run the command group, then end the process without the
interpreter's teardown.

Why: once a command has returned, its output is written and its database committed and closed.
What CPython still does before the process ends (clearing every imported module and collecting its
objects) took about 35 ms on a 2-core machine, a tenth of a whole ``exchbot check``, only to free
memory the operating system takes back anyway. So when no other thread is still running, the exit
handlers are run (``atexit``: logging's flush among them), the standard streams flushed, and the
process ends with ``os._exit``. With a thread still running, the process exits the normal way,
which waits for it.

Before anything else, the garbage collector is told to collect less often (bot/collector.py): the
commands import a lot and allocate much, and almost nothing they make is a cycle.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import sys
import threading
from typing import NoReturn

from bot.collector import collect_less_often

_FLUSH_FAILED = 120  # what CPython exits with when it cannot flush stdout at exit


def run() -> NoReturn:
    collect_less_often()
    from bot.cli import main  # after the collector's setting: it covers the imports too

    try:
        main()  # click's standalone mode: always ends in SystemExit
    except SystemExit as exc:
        end(exc.code)
    end(0)


def end(code: object) -> NoReturn:
    """Exit with ``code`` as ``sys.exit(code)`` would, without the interpreter's teardown when
    nothing else is running."""
    status = _status(code)
    if _other_threads_running():
        sys.exit(status)  # the normal way: it joins them
    atexit._run_exitfuncs()
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):  # a closed pipe (`exchbot ... | head`) or a closed stream
            status = status or _FLUSH_FAILED
    os._exit(status)


def _status(code: object) -> int:
    """The exit status of ``SystemExit(code)``: None is 0, an int itself, anything else is printed
    to stderr and is 1."""
    if code is None:
        return 0
    if isinstance(code, int):
        return code
    with contextlib.suppress(OSError, ValueError):
        print(code, file=sys.stderr)
    return 1


def _other_threads_running() -> bool:
    main_thread = threading.main_thread()
    return any(t is not main_thread and not t.daemon and t.is_alive() for t in threading.enumerate())
