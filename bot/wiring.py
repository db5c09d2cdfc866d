"""The composition root: the one place where real IO (clock, HTTP, DNS, database, Shodan, Slack)
is created and handed to the services. Tests build the same objects with fakes instead."""

from __future__ import annotations

from slack_sdk import WebClient

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.knowledge import load_catalog
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.ssrf import pinned_resolver, system_resolver
from bot.services.checks import CheckService
from bot.store import Store


def make_store(settings: Settings) -> Store:
    return Store(settings.db_path)


def make_prober(settings: Settings, clock: Clock | None = None) -> Prober:
    return Prober(
        catalog=load_catalog(),
        settings=ProbeSettings(timeout=settings.timeout, concurrency=settings.concurrency,
                               allow_private=settings.allow_private),
        resolver=pinned_resolver(dict(settings.resolve)) if settings.resolve else system_resolver,
        clock=clock or SystemClock(),
    )


def make_check_service(settings: Settings, store: Store | None = None) -> CheckService:
    return CheckService(prober=make_prober(settings), store=store if store is not None else make_store(settings))


def make_slack_client(settings: Settings) -> WebClient:
    """The Web API client: base URL from SLACK_API_URL (tests point it at a fake)."""
    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url)
