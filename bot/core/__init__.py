"""The pure core: facts and rules, no IO (no network, database, clock, environment or files).

Where a verdict is decided, from what a server sent to what the user reads:

1. :mod:`bot.core.fingerprint` — signals in HTTP responses (headers, OWA paths, XML) become
   :class:`~bot.core.fingerprint.Observations`: candidate builds, each with its evidence.
2. :mod:`bot.core.buildnum` and :mod:`bot.core.identify` — a build string is parsed and placed in
   the catalog (:mod:`bot.core.catalog`, loaded from ``knowledge/*.csv``): product, CU line, the
   published build(s) it can be.
3. :mod:`bot.core.judge` — a live check's judgement: which build counts (the LOWEST one seen, with a
   warning when signals disagree) and whether the host is Exchange at all.
4. :mod:`bot.core.assess` — one build to an :class:`~bot.core.model.Assessment`: end-of-life (as of
   the ``today`` passed in) and, through :mod:`bot.core.verdicts`, the per-CVE and per-family
   verdicts (vulnerable / patched / unknown / not affected: **the verdict is decided there**).
5. :mod:`bot.core.advice` — what to install, one sentence and the build it names.

``exchbot build`` enters at step 2; ``exchbot check`` (via :mod:`bot.probe.prober`) at step 1. The
rest of the core compares results over time (:mod:`bot.core.changes`), summarises Shodan snapshots
(:mod:`bot.core.exposure`) and composes the digest (:mod:`bot.core.digest`). Everything returned is
a frozen dataclass; docs/ARCHITECTURE.md describes the layers around it.
"""
