"""``/exchcheck`` with a mail address, or with a name that is not Exchange: discovery in Slack."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from bot.core.discover import Query
from bot.core.model import CheckResult
from bot.probe.targets import Target
from bot.render import blocks, discover_card
from bot.render.blocks import Message
from bot.services.discover import DiscoverService, Discovery
from bot.store import Store

# Discover a domain's endpoints, check and store them, return the discovery (errors are data).
DiscoverFn = Callable[[Query, str], Discovery]


def discover_with(service: DiscoverService, store: Store, timeout: float) -> DiscoverFn:
    """A :data:`DiscoverFn` on a job thread: its own event loop, results stored from that thread."""

    def run(query: Query, requested_by: str) -> Discovery:
        found = asyncio.run(service.discover(query.domain, address=query.address, timeout=timeout))
        if found.results:
            store.save_checks(
                list(found.results), requested_by=requested_by, knowledge_version=service.prober.knowledge().version
            )
        return found

    return run


def wants_discovery(target: Target, result: CheckResult) -> bool:
    """A plain name (no port, not an address) that is not Exchange, or could not be reached at all."""
    if target.is_ip or target.port != 443:
        return False
    if result.error is not None:
        return not result.error.startswith("refused")  # discovery would be refused the same way
    return result.exchange is False


def address_message(discover: DiscoverFn | None, target: Target, address: str, requested_by: str) -> Message:
    if discover is None:
        return blocks.notice("Looking up a domain's mail servers is not available here.")
    return discover_card.discovery_card(discover(Query(target.host, address), requested_by))


def name_message(discover: DiscoverFn, target: Target, result: CheckResult, requested_by: str) -> Message | None:
    """The discovery card if discovery found anything to say, else None (the plain check card stands)."""
    found = discover(Query(target.host), requested_by)
    if not found.endpoints and not found.exchange_online:
        return None
    return discover_card.discovery_card(found, name_result=result)
