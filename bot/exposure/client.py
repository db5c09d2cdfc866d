"""A careful wrapper around the ``shodan`` library's client (shodan-python 1.31).

What the library does not do, and this module does:

* **Timeouts.** The library calls ``requests`` with no timeout, so a stalled API hangs for ever.
  Every request of the wrapped session gets ``timeout`` seconds.
* **One limiter per process.** The library's 1 request/s limiter is per instance; two clients (two
  Slack commands) would each send 1/s. Its limiter is switched off (``api_rate_limit = 0``) and every
  request waits on one process-wide :class:`RateLimiter` instead (``EXCHBOT_SHODAN_RPS``, default 1;
  ``0`` = no client-side limit, for a local fake).
* **Typed errors.** The library raises one ``APIError`` with a message; a bad key and "no credits"
  are both HTTP 401 (the key error is an nginx HTML page, the credits error JSON), a free plan gets
  403, a timeout and a refused connection both become "Unable to connect to Shodan". They are mapped
  to :class:`InvalidKey`, :class:`NoCredits`, :class:`AccessDenied`, :class:`ShodanTimeout`,
  :class:`ShodanUnavailable`, :class:`ShodanServerError`, :class:`QueryError`, :class:`RateLimited`.
* **Retries.** Rate limiting (429 "Request rate limit reached") is retried with exponential backoff
  (honouring ``Retry-After``); 5xx and query timeouts are retried twice; nothing else is.
* **Facets as a list.** The library builds the facet string by iterating: a plain string
  ``"country"`` becomes ``c,o,u,n,t,r,y``. :meth:`ShodanClient.count` only takes (name, size) pairs.

``search_cursor`` is never used: it swallows every error and finally raises "Retry limit reached".
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import requests
import shodan

from bot import redact
from bot.ratelimit import RateLimiter

Facet = tuple[str, int]

RATE_LIMIT_RETRIES = 8
OTHER_RETRIES = 2
MAX_BACKOFF = 30.0
MAX_RETRY_WAIT = 20.0  # seconds one call may spend waiting between retries (a 429-only server gives up)


class ShodanError(Exception):
    """A Shodan call failed; ``str()`` is one line naming the cause, for users."""

    kind = "error"


class MissingKey(ShodanError):
    kind = "missing_key"


class InvalidKey(ShodanError):
    kind = "invalid_key"


class NoCredits(ShodanError):
    kind = "no_credits"


class AccessDenied(ShodanError):
    kind = "access_denied"


class ShodanTimeout(ShodanError):
    kind = "timeout"


class ShodanUnavailable(ShodanError):
    kind = "unavailable"


class ShodanServerError(ShodanError):
    kind = "server_error"


class QueryError(ShodanError):
    kind = "query_error"


class RateLimited(ShodanError):
    kind = "rate_limited"


class BudgetExceeded(ShodanError):
    """Deep mode would spend more query credits than allowed (raised before spending any)."""

    kind = "budget"


# --------------------------------------------------------------------------------------------------
# Rate limiting
# --------------------------------------------------------------------------------------------------


_SHARED = RateLimiter(1.0)


def shared_limiter(rps: float) -> RateLimiter:
    """The process-wide limiter, set to ``rps`` (the latest setting wins)."""
    _SHARED.set_rate(rps)
    return _SHARED


# --------------------------------------------------------------------------------------------------
# Error mapping
# --------------------------------------------------------------------------------------------------


def _is_timeout(exc: BaseException | None) -> bool:
    seen = 0
    while exc is not None and seen < 5:  # requests wraps urllib3, which wraps socket errors
        if isinstance(exc, requests.exceptions.Timeout | TimeoutError):
            return True
        exc = exc.__cause__ or exc.__context__
        seen += 1
    return False


# "403" as a status in a message ("Access denied (403 Forbidden)", "HTTP 403"), not inside a port,
# a key or a query string that the server echoed back ("http://host:40312/...?key=...").
_SAYS_403 = re.compile(r"(?<![\w:/.=&?%-])403(?!\w)")


def classify(message: str, *, status: int | None, cause: BaseException | None, timeout: float) -> ShodanError:
    """Map a shodan ``APIError`` message (plus the HTTP status and the transport error we saw) to a
    typed error whose text names the cause."""
    msg = message.strip()
    low = msg.lower()
    if low == "invalid api key":  # the library's reading of nginx's HTML 401 page
        return InvalidKey("Shodan rejected the API key (invalid key): check SHODAN_API_KEY")
    if "credit" in low:  # 401 JSON "Insufficient query credits, ..."
        return NoCredits(
            "Shodan: no query credits left on this API key (they reset monthly); count mode needs none, deep mode does"
        )
    if (
        status == 403
        or (status is None and _SAYS_403.search(low) is not None)  # a seen status outranks the text
        or "access denied" in low
        or "upgrade your api plan" in low
        or "only available on paid" in low
    ):
        return AccessDenied(
            "Shodan denied access (403 Forbidden): this API plan lacks access to the "
            "API call (free keys cannot search; a membership or paid plan is needed)"
        )
    if status is not None and 300 <= status < 400:
        return ShodanError(f"Shodan answered with a redirect (HTTP {status}), which is not followed")
    if status == 401:
        return ShodanError(f"Shodan refused the request (HTTP 401): {msg}")
    if "rate limit" in low or status == 429:
        return RateLimited(f"Shodan kept rate-limiting the requests: {msg}")
    if low.startswith("unable to connect"):
        if _is_timeout(cause):
            return ShodanTimeout(
                f"Shodan did not answer within {timeout:g} s (timeout; EXCHBOT_SHODAN_TIMEOUT sets the limit)"
            )
        detail = f": {type(cause).__name__}" if cause is not None else ""
        return ShodanUnavailable(f"could not connect to the Shodan API{detail}")
    if "timed out" in low:
        return ShodanTimeout(f"Shodan timed out running the query (or found it invalid): {msg}")
    if (status is not None and status >= 500) or "bad gateway" in low or "unable to parse json" in low:
        code = f"HTTP {status}" if status else "an unreadable answer"
        return ShodanServerError(f"Shodan server error ({code}); try again later")
    if "invalid" in low and ("query" in low or "facet" in low):
        return QueryError(f"Shodan refused the query: {msg}")
    return ShodanError(f"Shodan error: {msg}")


def _retries_for(err: ShodanError) -> int:
    if isinstance(err, RateLimited):
        return RATE_LIMIT_RETRIES
    if isinstance(err, ShodanServerError | ShodanUnavailable) or (
        isinstance(err, ShodanTimeout) and "running the query" in str(err)
    ):
        return OTHER_RETRIES  # a transport timeout already waited `timeout`: fail fast instead
    return 0


# --------------------------------------------------------------------------------------------------
# The client
# --------------------------------------------------------------------------------------------------


class ShodanClient:
    """The calls exchbot makes, each with a timeout, the shared limiter, retries and typed errors.

    ``requests`` counts HTTP requests sent (retries included). Not thread-safe: one per job.
    """

    def __init__(
        self,
        key: str,
        *,
        timeout: float = 30.0,
        rps: float = 1.0,
        limiter: RateLimiter | None = None,
        sleep: Callable[[float], None] = time.sleep,
        api_url: str | None = None,
    ) -> None:
        if not key:
            raise MissingKey("SHODAN_API_KEY is not set: a new Shodan snapshot needs an API key")
        self.timeout = timeout
        self.rps = rps
        self.limiter = limiter if limiter is not None else shared_limiter(rps)
        self._sleep = sleep
        self.requests = 0
        self._last_status: int | None = None
        self._last_retry_after: float | None = None
        self._last_exc: BaseException | None = None
        self._key = key  # masked in every error, even when a server echoes it (see _call)
        redact.register([key])
        self._api = shodan.Shodan(key)  # honours SHODAN_API_URL
        if api_url:
            self._api.base_url = api_url.rstrip("/")
        self._api.api_rate_limit = 0  # its per-instance limiter; ours is shared
        session: requests.Session = self._api._session
        original = session.request

        def request(method: str, url: str, *args: Any, **kwargs: Any) -> requests.Response:
            kwargs.setdefault("timeout", self.timeout)
            if kwargs["timeout"] is None:
                kwargs["timeout"] = self.timeout
            kwargs["allow_redirects"] = False  # a redirect would carry ?key= to another URL
            self.limiter.wait()
            self.requests += 1
            self._last_status = None
            self._last_retry_after = None
            self._last_exc = None
            try:
                resp = original(method, url, *args, **kwargs)
            except BaseException as exc:
                self._last_exc = exc
                raise
            self._last_status = resp.status_code
            self._last_retry_after = _retry_after(resp.headers)
            return resp

        session.request = request  # type: ignore[assignment]

    # -- the calls -------------------------------------------------------------------------------
    def count(self, query: str, facets: Sequence[Facet] = ()) -> dict[str, Any]:
        """Free (no query credits): ``{"total": n, "facets": {name: [{"value", "count"}]}}``."""
        pairs = _facet_pairs(facets)
        return self._call(lambda: self._api.count(query, facets=pairs or None))

    def search_page(self, query: str, page: int, *, fields: Sequence[str] | None = None) -> dict[str, Any]:
        """One page of 100 banners; costs 1 query credit when the query has a filter or page > 1."""
        if page < 1:
            raise ValueError("pages start at 1")
        field_list = list(fields) if fields else None
        return self._call(lambda: self._api.search(query, page=page, minify=True, fields=field_list))

    def info(self) -> dict[str, Any]:
        """``/api-info``: plan and remaining ``query_credits`` (free)."""
        return self._call(self._api.info)

    # -- plumbing --------------------------------------------------------------------------------
    def _call(self, fn: Callable[[], Any]) -> dict[str, Any]:
        attempt = 0
        waited = 0.0
        while True:
            try:
                result = fn()
            except shodan.APIError as exc:
                err = classify(
                    str(exc.value if hasattr(exc, "value") else exc),
                    status=self._last_status,
                    cause=self._last_exc or exc.__context__,
                    timeout=self.timeout,
                )
                delay = self._backoff(attempt)
                if attempt >= _retries_for(err) or waited + delay > MAX_RETRY_WAIT:
                    raise type(err)(redact.redact(str(err).replace(self._key, redact.MASK))) from None
                waited += delay
                self._sleep(delay)
                attempt += 1
                continue
            if not isinstance(result, dict):
                raise ShodanServerError("Shodan server error (the answer was not a JSON object)")
            return result

    def _backoff(self, attempt: int) -> float:
        base = 1.0 / self.rps if self.rps > 0 else 0.0  # against a local fake (rps 0): no sleeping
        delay = min(MAX_BACKOFF, base * (2.0**attempt))
        return max(delay, min(MAX_BACKOFF, self._last_retry_after or 0.0))


def _facet_pairs(facets: Sequence[Facet]) -> list[Facet]:
    if isinstance(facets, str):
        raise TypeError("facets must be (name, size) pairs, not a string (the library would split it)")
    pairs: list[Facet] = []
    for item in facets:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], int)):
            raise TypeError(f"facet {item!r} is not a (name, size) pair")
        pairs.append(item)
    return pairs


def _retry_after(headers: Mapping[str, str]) -> float | None:
    value = headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff
