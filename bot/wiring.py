"""The composition root: the one place where real IO (clock, HTTP, DNS, database, Shodan, Slack,
the daily scheduler) is created and handed to the services, listeners and jobs. Only the CLI
(``bot/cli/``) and ``bot/__main__.py`` import this module (tests/test_architecture.py checks it);
tests build the same objects with fakes instead."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.clock import Clock, SystemClock
from bot.config import Settings

# Each factory imports what it builds, so a command loads only the libraries it uses (``exchbot
# build`` no database, ``check`` no Slack or Shodan; tests/test_import_guard.py checks it).
if TYPE_CHECKING:
    import datetime as dt
    from collections.abc import Sequence

    from slack_sdk import WebClient

    from bot.core.catalog import Catalog
    from bot.core.digest import Digest
    from bot.core.exposure_model import Snapshot
    from bot.daily.scheduler import Scheduler
    from bot.exposure.client import ShodanClient
    from bot.probe.dns import DnsClient
    from bot.probe.prober import Prober
    from bot.probe.ssrf import Resolver
    from bot.render.charts import Chart
    from bot.services.checks import CheckService
    from bot.services.digest import DrawCharts
    from bot.services.discover import DiscoverService
    from bot.slack.deps import SlackDeps
    from bot.store import Store

SLACK_API_TIMEOUT = 10  # seconds per Slack Web API call


def make_clock() -> Clock:
    return SystemClock()


def make_store(settings: Settings) -> Store:
    """The history database (a context manager: ``with make_store(settings) as store: ...``)."""
    from bot.store import Store

    return Store(settings.db_path, settings.db_lock_timeout)


def make_dns(settings: Settings) -> DnsClient:
    """Every DNS lookup: asynchronous, against EXCHBOT_DNS_SERVERS or the system's name servers."""
    from bot.probe.dns import DnsClient, default_client

    return DnsClient(servers=settings.dns_servers) if settings.dns_servers else default_client()


def lazy_dns(settings: Settings) -> Resolver:
    """The prober's resolver: :func:`make_dns` on the first lookup, so a check of IP literals or
    pinned names (``--resolve``) never loads dnspython."""
    made: list[DnsClient] = []

    async def resolve(host: str, port: int) -> Sequence[str]:
        if not made:
            made.append(make_dns(settings))
        return await made[0](host, port)

    return resolve


def make_prober(settings: Settings, clock: Clock | None = None, *, knowledge_later: bool = False) -> Prober:
    """``knowledge_later``: the knowledge is loaded when the prober is prepared (``check``: once its
    first requests are out, see Prober.prepare), not now; an unreadable one is then reported there."""
    from bot.probe.prober import Prober, ProbeSettings
    from bot.probe.ssrf import pinned_resolver

    dns = lazy_dns(settings)
    return Prober(
        catalog=None if knowledge_later else load_knowledge(),
        load_catalog=load_knowledge,
        settings=ProbeSettings(
            timeout=settings.timeout,
            concurrency=settings.concurrency,
            allow_private=settings.allow_private,
            knowledge_max_age_days=settings.knowledge_max_age_days,
        ),
        resolver=pinned_resolver(dict(settings.resolve), dns) if settings.resolve else dns,
        clock=clock or make_clock(),
    )


def load_knowledge() -> Catalog:
    """The catalog of EXCHBOT_KNOWLEDGE_DIR (bot.knowledge caches it per directory)."""
    from bot.knowledge import load_catalog

    return load_catalog()


def make_discover_service(settings: Settings, prober: Prober | None = None) -> DiscoverService:
    from bot.services.discover import DiscoverService

    return DiscoverService(dns=make_dns(settings), prober=prober or make_prober(settings))


def make_check_service(
    settings: Settings,
    store: Store | None,
    clock: Clock | None = None,
    *,
    store_later: bool = False,
    knowledge_later: bool = False,
) -> CheckService:
    """``store=None``: results are not stored (``check --no-store``), unless ``store_later``: then
    the store is made once the first requests have left (see CheckService.open_store), as is the
    knowledge with ``knowledge_later`` (see Prober.prepare)."""
    from bot.services.checks import CheckService

    opener = (lambda: make_store(settings)) if store is None and store_later else None
    prober = make_prober(settings, clock, knowledge_later=knowledge_later)
    return CheckService(prober=prober, store=store, open_store=opener)


def make_shodan_client(settings: Settings) -> ShodanClient:
    """A Shodan client: key, timeout and requests/s from the settings, on the process-wide limiter.
    Passed to the exposure service as its ``client_factory`` (a client is made only when needed)."""
    from bot.exposure.client import ShodanClient

    return ShodanClient(settings.shodan_api_key or "", timeout=settings.shodan_timeout, rps=settings.shodan_rps)


def make_slack_client(settings: Settings) -> WebClient:
    """The Web API client: base URL from SLACK_API_URL (tests point it at a fake), with a timeout."""
    from slack_sdk import WebClient

    return WebClient(token=settings.slack_bot_token, base_url=settings.slack_api_url, timeout=SLACK_API_TIMEOUT)


def make_chart_drawer() -> DrawCharts:
    """The digest's chart drawing (matplotlib is imported only when a chart is drawn)."""

    def draw(digest: Digest, snapshots: Sequence[Snapshot], catalog: Catalog | None, today: dt.date) -> list[Chart]:
        from bot.render.charts import digest_charts

        return digest_charts(digest, snapshots, catalog, today)

    return draw


def make_slack_deps(settings: Settings) -> SlackDeps:
    """Everything the Slack listeners use, built from the settings (``exchbot serve``)."""
    from bot.knowledge import load_catalog
    from bot.ratelimit import per_user_limiter
    from bot.slack.deps import SlackDeps, check_with, exposure_with
    from bot.slack.discovery import discover_with
    from bot.slack.workers import JobRunner

    clock = make_clock()
    store = make_store(settings)
    catalog = load_catalog()
    prober = make_prober(settings, clock)
    workers = max(1, settings.max_concurrent_jobs)
    discover = discover_with(make_discover_service(settings, prober), store, settings.timeout)
    return SlackDeps(
        settings=settings,
        store=store,
        catalog=catalog,
        check=check_with(prober, store),
        exposure=exposure_with(
            store=store, client_factory=make_shodan_client, clock=clock, catalog=catalog, settings=settings
        ),
        clock=clock,
        # A queue of 8 jobs per worker: a burst of a few dozen commands waits (checks take seconds);
        # beyond that, users are told at once that exchbot is busy.
        jobs=JobRunner(workers, queue=8 * workers),
        limiter=per_user_limiter(settings.user_rate_per_minute),
        discover=discover,
    )


def make_daily_scheduler(deps: SlackDeps, client: WebClient) -> Scheduler:
    """The daily watchlist run and digest of ``exchbot serve``, on the app's store, clock and client."""
    from bot.daily.jobs import make_scheduler
    from bot.services.checks import CheckService

    service = CheckService(prober=make_prober(deps.settings, deps.clock), store=deps.store)
    return make_scheduler(
        deps.settings,
        client=client,
        service=service,
        store=deps.store,
        catalog=deps.catalog,
        clock=deps.clock,
        draw=make_chart_drawer(),
    )
