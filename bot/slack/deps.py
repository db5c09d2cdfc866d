"""What the Slack listeners need, injected: built by :func:`bot.wiring.make_slack_deps` in production
and from fakes in tests. Listeners never create IO themselves."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable
from dataclasses import dataclass

from bot.clock import Clock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.exposure import ExposureResult
from bot.core.model import CheckResult
from bot.probe.prober import Prober
from bot.probe.targets import Target
from bot.ratelimit import RateLimiter
from bot.services.checks import CheckService
from bot.services.exposure import ClientFactory, exposure
from bot.slack.discovery import DiscoverFn
from bot.slack.workers import JobRunner
from bot.store import Store

# Check one target, store the result, return it (errors are data inside the result).
CheckFn = Callable[[Target, str], CheckResult]
# Exposure of a region (count mode, stored snapshot reused within the TTL); raises RegionError, ShodanError.
ExposureFn = Callable[[str], ExposureResult]


@dataclass(frozen=True)
class SlackDeps:
    """What the Slack listeners need, injected: settings, store, knowledge, the check and exposure
    functions, clock and job runner."""

    settings: Settings
    store: Store
    catalog: Catalog
    check: CheckFn
    exposure: ExposureFn
    clock: Clock
    jobs: JobRunner
    limiter: RateLimiter
    respond_timeout: float = 10.0  # seconds for one POST to a response_url
    discover: DiscoverFn | None = None  # /exchcheck with a mail address or a name that is not Exchange


def check_with(prober: Prober, store: Store) -> CheckFn:
    """A :data:`CheckFn` over the CLI's check service.

    Each call runs on a job thread with its own event loop; the result is stored from that same
    (long-lived) thread, so the store's per-thread SQLite connection is reused rather than opened
    anew on a short-lived executor thread per check.
    """
    service = CheckService(prober=prober, store=None)

    def check(target: Target, requested_by: str) -> CheckResult:
        (result,) = asyncio.run(service.check_all([target], requested_by=requested_by))
        store.save_checks([result], requested_by=requested_by, knowledge_version=prober.knowledge().version)
        return result

    return check


def exposure_with(
    *, store: Store, client_factory: ClientFactory, clock: Clock, catalog: Catalog, settings: Settings
) -> ExposureFn:
    """A :data:`ExposureFn` over the exposure service. One snapshot at a time: a second ``/exposure``
    while a snapshot is being taken waits for it and then answers from it (within the TTL), instead
    of spending another few hundred Shodan requests on the same numbers."""
    lock = threading.Lock()

    def run(region: str) -> ExposureResult:
        with lock:
            return exposure(
                region,
                refresh=False,
                store=store,
                client_factory=client_factory,
                clock=clock,
                catalog=catalog,
                settings=settings,
            )

    return run
