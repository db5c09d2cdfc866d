"""How exchbot runs CPython's cyclic garbage collector where it costs the user time.

Objects that live for the whole process (the knowledge catalog, Bolt, slack_sdk, the probe's TLS and
parsing modules) were walked again by every collection of the older generations. Two remedies:

- ``serve``: :func:`freeze_startup_heap`. By its first request the process holds some 120,000
  start-up objects, and each full collection walked them all: measured at ~45 ms with the
  interpreter held, in the middle of a burst of 40 acknowledgements. Frozen, they are never walked
  again; the objects of requests and jobs are collected as before.
- a batch of checks: :func:`fewer_collections`. A 200-host batch allocates ~110,000 short-lived
  containers a second (answers, h11 events, each result's JSON tree) and at the default threshold
  of 700 ran about 170 collections, ~55 ms of CPU, finding almost nothing: results are freed by
  reference counting, not as cycles. Collecting the youngest generation every 10,000 allocations
  instead cut the run's CPU time by about a tenth (``python -m bench process``). What the collector
  does find (a cycle through an exception's traceback) waits a little longer, never more than
  10,000 allocations.
"""

from __future__ import annotations

import contextlib
import gc
from collections.abc import Iterator

BATCH_THRESHOLD = 10_000  # allocations between collections of the youngest generation in a batch


def freeze_startup_heap() -> int:
    """Collect the start-up garbage once, then freeze what survives; returns how many objects were
    frozen. Call once, after the app is built and before it serves."""
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()


@contextlib.contextmanager
def fewer_collections(threshold: int = BATCH_THRESHOLD) -> Iterator[None]:
    """Collect the youngest generation every ``threshold`` allocations (never more often than the
    process already did) while the block runs; the thresholds in force before are restored after."""
    before = gc.get_threshold()
    gc.set_threshold(max(threshold, before[0]), *before[1:])
    try:
        yield
    finally:
        gc.set_threshold(*before)
