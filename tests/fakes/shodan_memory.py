"""A small in-memory Shodan for exposure logic tests: the :class:`~bot.exposure.api.ShodanApi`
calls over a list of banners (from :func:`tests.fakes.shodan_api.make_population`), read with the
same :class:`~tests.fakes.shodan_api.Semantics` as the HTTP fake but without HTTP, credits or keys.
The HTTP fake guards the client edge; this one keeps logic tests small and fast."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from tests.fakes.shodan_api import (
    PAGE_SIZE,
    REALISTIC,
    Banner,
    Semantics,
    _select_fields,
    compute_facets,
    parse_query,
)


class MemoryShodan:
    def __init__(self, banners: Iterable[Banner] = (), semantics: Semantics = REALISTIC, credits: int = 1000) -> None:
        self.banners = list(banners)
        self.semantics = semantics
        self.credits = credits
        self.requests = 0
        self.calls: list[tuple[str, str, Any]] = []  # (call, query, facets or page)

    def _hits(self, query: str) -> list[Banner]:
        q = parse_query(query, self.semantics)
        return [b for b in self.banners if q.match(b)]

    def count(self, query: str, facets: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
        self.requests += 1
        self.calls.append(("count", query, list(facets)))
        hits = self._hits(query)
        return {"total": len(hits), "facets": compute_facets(hits, list(facets), self.semantics.facet_cap)}

    def search_page(self, query: str, page: int, *, fields: Sequence[str] | None = None) -> dict[str, Any]:
        self.requests += 1
        self.calls.append(("search", query, page))
        self.credits -= 1
        hits = self._hits(query)
        start = (page - 1) * PAGE_SIZE
        chosen = hits[start : start + min(PAGE_SIZE, self.semantics.short_pages.get(page, PAGE_SIZE))]
        flat = self.semantics.flat_fields
        matches = [_select_fields(b, list(fields), flat) for b in chosen] if fields else list(chosen)
        return {"total": len(hits), "matches": matches}

    def info(self) -> dict[str, Any]:
        self.requests += 1
        return {"query_credits": self.credits, "plan": "dev", "unlocked": True}


class CountFn:
    """The smallest ShodanApi: ``count`` answered by a function of the query (no facets, no search)."""

    def __init__(self, fn: Callable[[str], int]) -> None:
        self.fn = fn
        self.requests = 0

    def count(self, query: str, facets: Sequence[tuple[str, int]] = ()) -> dict[str, Any]:
        self.requests += 1
        return {"total": self.fn(query), "facets": {name: [] for name, _ in facets}}

    def search_page(self, query: str, page: int, *, fields: Sequence[str] | None = None) -> dict[str, Any]:
        raise AssertionError("count mode never searches")

    def info(self) -> dict[str, Any]:
        return {"query_credits": 0}
