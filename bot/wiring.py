"""The composition root: the one place where real IO (clock, HTTP, DNS, database, Shodan, Slack)
is created and handed to the services. Tests build the same objects with fakes instead."""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.knowledge import load_catalog
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.ssrf import pinned_resolver, system_resolver
from bot.services.checks import CheckService
from bot.store import Store

if TYPE_CHECKING:  # the Slack stack is imported only by the commands that use it
    from bot.slack.deps import SlackDeps


def make_store(settings: Settings) -> Store:
    return Store(settings.db_path)


def make_prober(settings: Settings, clock: Clock | None = None) -> Prober:
    return Prober(
        catalog=load_catalog(),
        settings=ProbeSettings(
            timeout=settings.timeout,
            concurrency=settings.concurrency,
            allow_private=settings.allow_private,
            knowledge_max_age_days=settings.knowledge_max_age_days,
        ),
        resolver=pinned_resolver(dict(settings.resolve)) if settings.resolve else system_resolver,
        clock=clock or SystemClock(),
    )


def make_check_service(settings: Settings, store: Store | None = None, *, persist: bool = True) -> CheckService:
    """``persist=False``: results are not stored (``check --no-store``)."""
    if not persist:
        return CheckService(prober=make_prober(settings), store=None)
    return CheckService(prober=make_prober(settings), store=store if store is not None else make_store(settings))


def make_slack_client(settings: Settings) -> WebClient:
    """The Web API client: base URL from SLACK_API_URL (tests point it at a fake)."""
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)


def make_slack_deps(settings: Settings) -> SlackDeps:
    """Everything the Slack listeners use, built from the settings (``exchbot serve``)."""
    from bot.exposure.client import make_client
    from bot.slack.deps import SlackDeps, check_with, exposure_with
    from bot.slack.jobs import JobRunner, RateLimiter

    clock = SystemClock()
    store = make_store(settings)
    catalog = load_catalog()
    prober = make_prober(settings, clock)
    workers = max(1, settings.max_concurrent_jobs)
    return SlackDeps(
        settings=settings,
        store=store,
        catalog=catalog,
        check=check_with(prober, store),
        exposure=exposure_with(
            store=store, client_factory=make_client, clock=clock, catalog=catalog, settings=settings
        ),
        clock=clock,
        # A queue of 8 jobs per worker: a burst of a few dozen commands waits (checks take seconds);
        # beyond that, users are told at once that exchbot is busy.
        jobs=JobRunner(workers, queue=8 * workers),
        limiter=RateLimiter(settings.user_rate_per_minute),
    )
