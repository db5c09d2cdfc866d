"""The three Shodan calls exchbot's exposure logic needs, as a protocol.

:class:`~bot.exposure.client.ShodanClient` is the production implementation (HTTP, timeouts,
retries, typed errors); tests of the counting logic pass a small in-memory object instead.
``requests`` counts the requests sent so far (a snapshot reports how many it took).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

Facet = tuple[str, int]


class ShodanApi(Protocol):
    requests: int

    def count(self, query: str, facets: Sequence[Facet] = ()) -> dict[str, Any]:
        """Free: ``{"total": n, "facets": {name: [{"value", "count"}]}}``."""
        ...

    def search_page(self, query: str, page: int, *, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """One page of up to 100 banners (1 query credit for a filtered query or page > 1)."""
        ...

    def info(self) -> dict[str, Any]:
        """``/api-info``: plan and remaining ``query_credits`` (free)."""
        ...
