"""How exchbot runs CPython's cyclic garbage collector where it costs the user time.

Objects that live for the whole process (the knowledge catalog, Bolt, slack_sdk, the probe's TLS and
parsing modules) were walked again by every collection of the older generations. Two remedies:

- ``serve``: :func:`freeze_startup_heap`. By its first request the process holds some 120,000
  start-up objects, and each full collection walked them all: measured at ~45 ms with the
  interpreter held, in the middle of a burst of 40 acknowledgements. Frozen, they are never walked
  again; the objects of requests and jobs are collected as before.
- the ``exchbot`` process: :func:`collect_less_often`, set by the console script before the CLI
  is imported. A 200-host ``check`` allocates containers by the hundred thousand (module objects
  at start-up, then answers, parsed headers, each result's JSON tree), and at CPython's default
  threshold of 700 it ran about 170 collections, some 55 ms of CPU (timed with ``gc.callbacks``),
  and found a few hundred objects: results are freed by reference counting, not as cycles.
  Collecting the youngest generation every 10,000 allocations: 18 collections, about 28 ms. What
  the collector does find (a cycle through an exception's traceback) waits a little longer, never
  more than 10,000 allocations.
"""

from __future__ import annotations

import gc

YOUNG_THRESHOLD = 10_000  # allocations between collections of the youngest generation (CPython: 700)


def freeze_startup_heap() -> int:
    """Collect the start-up garbage once, then freeze what survives; returns how many objects were
    frozen. Call once, after the app is built and before it serves."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


def collect_less_often(threshold: int = YOUNG_THRESHOLD) -> None:
    """From now on, collect the youngest generation every ``threshold`` allocations (never more
    often than the process already does); the older generations' settings are kept. For a process
    that runs one command and ends: the console script calls this first."""
    first, *older = gc.get_threshold()
    gc.set_threshold(max(threshold, first), *older)
