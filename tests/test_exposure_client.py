"""The Shodan client wrapper against the fake API: typed errors, timeouts, retries, one shared limiter."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.exposure.client import (
    AccessDenied,
    InvalidKey,
    MissingKey,
    NoCredits,
    QueryError,
    RateLimited,
    ShodanClient,
    ShodanServerError,
    ShodanTimeout,
    ShodanUnavailable,
    classify,
    shared_limiter,
)
from bot.ratelimit import RateLimiter
from tests.fakes.shodan_api import SPLIT_FACETS_HINT, FakeShodan, make_population

SPEC = [
    {"country": "DE", "build": "15.1.2507.39", "signal": "path", "count": 3},
    {"country": "US", "build": "15.2.1748.10", "signal": "header", "count": 2},
]
Q = 'http.html:"OwaPage = ASP.auth_logon_aspx"'


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeShodan]:
    with FakeShodan(make_population(SPEC), hang_max=10) as server:
        yield server


class Recorder:
    """A fake monotonic clock whose sleep advances it; records every sleep."""

    def __init__(self) -> None:
        self.now = 100.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def client(
    fake: FakeShodan, key: str, *, timeout: float = 5.0, rps: float = 0.0, backoff: Recorder | None = None
) -> ShodanClient:
    """A client on its own limiter whose waits are simulated (no real sleeping at rps > 0)."""
    pace = Recorder()
    return ShodanClient(
        key,
        timeout=timeout,
        rps=rps,
        api_url=fake.url,
        limiter=RateLimiter(rps, clock=pace.clock, sleep=pace.sleep),
        sleep=(backoff or Recorder()).sleep,
    )


def test_count_with_country_facet_is_free(fake: FakeShodan) -> None:
    c = client(fake, "credits-0")
    res = c.count(Q, [("country", 300)])
    assert res["total"] == 5
    assert {b["value"]: b["count"] for b in res["facets"]["country"]} == {"DE": 3, "US": 2}
    assert fake.credits_spent.get("credits-0", 0) == 0 and c.requests == 1


def test_library_limiter_off_and_env_url_honoured(fake: FakeShodan, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHODAN_API_URL", fake.url)
    c = ShodanClient("good-key", timeout=5, rps=0, limiter=RateLimiter(0))
    assert c._api.api_rate_limit == 0
    assert c.count(Q, [("country", 5)])["total"] == 5


def test_facets_must_be_pairs_never_a_string(fake: FakeShodan) -> None:
    c = client(fake, "good-key")
    with pytest.raises(TypeError, match="not a string"):
        c.count(Q, "country")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        c.count(Q, ["country"])  # type: ignore[list-item]
    assert not any(SPLIT_FACETS_HINT in (call["error"] or "") for call in fake.calls)


@pytest.mark.parametrize(
    ("key", "error", "words"),
    [
        ("bad-key", InvalidKey, "invalid key"),
        ("", MissingKey, "SHODAN_API_KEY"),
        ("server-error", ShodanServerError, "HTTP 500"),
        ("bad-gateway", ShodanServerError, "HTTP 502"),
        ("timeout-query", ShodanTimeout, "timed out"),
    ],
)
def test_count_failures_are_typed(fake: FakeShodan, key: str, error: type[Exception], words: str) -> None:
    with pytest.raises(error, match=words):
        client(fake, key).count(Q, [("country", 300)])


def test_no_credits_and_403_are_told_apart(fake: FakeShodan) -> None:
    # Both are refusals of a search; 401 JSON "Insufficient query credits" vs 403 for a free plan.
    with pytest.raises(NoCredits, match="no query credits"):
        client(fake, "no-credits").search_page(Q, 1)
    with pytest.raises(AccessDenied, match="403"):
        client(fake, "free-key").search_page(Q, 1)
    with pytest.raises(InvalidKey):
        client(fake, "bad-key").search_page(Q, 1)


def test_invalid_query_is_a_query_error(fake: FakeShodan) -> None:
    with pytest.raises(QueryError, match="refused the query"):
        client(fake, "good-key").count("nosuchfilter:Exchange", [("country", 5)])  # real Shodan accepts product:


def test_server_errors_are_retried_twice_then_fail(fake: FakeShodan) -> None:
    rec = Recorder()
    c = client(fake, "server-error", rps=1.0, backoff=rec)
    with pytest.raises(ShodanServerError):
        c.count(Q, [("country", 5)])
    assert c.requests == 3
    assert rec.sleeps == [1.0, 2.0]  # exponential backoff from 1/rps


def test_rate_limit_is_survived_with_backoff(fake: FakeShodan) -> None:
    rec = Recorder()
    c = client(fake, "rate-limit", rps=1.0, backoff=rec)
    results = [c.count(Q, [("country", 5)])["total"] for _ in range(4)]
    assert results == [5, 5, 5, 5]
    statuses = [call["status"] for call in fake.calls if call["key"] == "rate-limit"]
    assert statuses.count(429) >= 3 and statuses.count(200) == 4
    assert rec.sleeps and all(s == 1.0 for s in rec.sleeps)  # Retry-After: 0, so our own 1/rps backoff


def test_hang_ends_as_a_timeout_not_a_hang(fake: FakeShodan) -> None:
    c = client(fake, "hang", timeout=0.3)
    with pytest.raises(ShodanTimeout, match=r"did not answer within 0\.3 s"):
        c.info()
    assert c.requests == 1  # a transport timeout is not retried: the user hears about it at once


def test_refused_connection_is_unavailable() -> None:
    with FakeShodan() as gone:
        url = gone.url
    c = ShodanClient("good-key", timeout=2, rps=0, api_url=url, limiter=RateLimiter(0))
    with pytest.raises(ShodanUnavailable, match="could not connect"):
        c.info()


def test_one_limiter_is_shared_by_every_client(fake: FakeShodan) -> None:
    rec = Recorder()
    limiter = RateLimiter(2.0, clock=rec.clock, sleep=rec.sleep)
    a = ShodanClient("good-key", timeout=5, rps=2.0, api_url=fake.url, limiter=limiter)
    b = ShodanClient("good-key", timeout=5, rps=2.0, api_url=fake.url, limiter=limiter)
    for _ in range(3):
        a.info()
        b.info()
    # six requests at 2/s from two clients: the first goes at once, each later one waits its 0.5 s slot
    assert len(rec.sleeps) == 5 and all(s == pytest.approx(0.5) for s in rec.sleeps)
    assert shared_limiter(1.0) is shared_limiter(0.5)
    shared_limiter(1.0)


def test_limiter_zero_never_waits() -> None:
    rec = Recorder()
    lim = RateLimiter(0, clock=rec.clock, sleep=rec.sleep)
    assert [lim.wait() for _ in range(5)] == [0.0] * 5 and rec.sleeps == []


@pytest.mark.parametrize(
    ("message", "status", "error"),
    [
        ("Invalid API key", 401, InvalidKey),
        (
            "Insufficient query credits, please upgrade your API plan or wait for the monthly limit to reset",
            401,
            NoCredits,
        ),
        ("Access denied (403 Forbidden)", 403, AccessDenied),
        ("Please upgrade your API plan to use filters or paging.", 401, AccessDenied),
        ("Searching is only available on paid accounts (membership or higher)", 401, AccessDenied),
        ("Request rate limit reached (1 request/ second).", 429, RateLimited),
        ("Unable to parse JSON response", 500, ShodanServerError),
        ("Bad Gateway (502)", 502, ShodanServerError),
        ("The search request timed out or your query was invalid.", 200, ShodanTimeout),
        ("Invalid search query", 400, QueryError),
        ("Invalid facet: c (facets arrived split into single characters: pass a list, not a string)", 400, QueryError),
    ],
)
def test_classify_messages(message: str, status: int, error: type[Exception]) -> None:
    err = classify(message, status=status, cause=None, timeout=5)
    assert type(err) is error and str(err)


@pytest.mark.parametrize("port", [40312, 34031, 50403])
def test_a_403_inside_an_echoed_url_is_not_a_403(port: int) -> None:
    """A server that echoes the request back ("Request http://127.0.0.1:40312/...?key=... failed")
    is not denying access because its port, the key or the query holds "403"."""
    echoed = f"Request http://127.0.0.1:{port}/shodan/host/count?key=ab403cd&query=x%20403 failed"
    refused = classify(echoed, status=401, cause=None, timeout=5)
    assert not isinstance(refused, AccessDenied) and "HTTP 401" in str(refused)
    unknown = classify(echoed, status=None, cause=None, timeout=5)
    assert not isinstance(unknown, AccessDenied)
    assert isinstance(classify("HTTP 403 Forbidden", status=None, cause=None, timeout=5), AccessDenied)
    assert isinstance(classify("Access denied (403 Forbidden)", status=None, cause=None, timeout=5), AccessDenied)
