"""The fake Shodan API, driven by the real shodan client: counts, facets, pages, credits, failures."""

from __future__ import annotations

import functools
import ipaddress
import threading
import time
import types
from collections.abc import Iterator
from typing import Any, Protocol

import pytest
import requests
import shodan

from tests.fakes.shodan_api import (
    ERR_INVALID_QUERY,
    ERR_NO_CREDITS,
    ERR_RATE_LIMIT,
    ERR_TIMEOUT_QUERY,
    LEGACY,
    SPLIT_FACETS_HINT,
    FakeShodan,
    make_population,
)

SPEC: list[dict[str, Any]] = [
    {"country": "DE", "build": "15.1.2507.39", "signal": "both", "count": 150},
    {"country": "FR", "build": "15.1.2507.39", "signal": "path", "count": 30},
    {"country": "AT", "build": "15.1.2507.39", "signal": "path", "count": 4},
    {"country": "CH", "build": "15.1.2507.39", "signal": "path", "count": 3},
    {"country": "IT", "build": "15.1.2507.39", "signal": "path", "count": 2},
    {"country": "ES", "build": "15.1.2507.39", "signal": "path", "count": 1},
    {"country": "US", "build": "15.2.1748.10", "signal": "redirect", "count": 20},
    {"country": "US", "build": "15.2.1748.10", "signal": "header", "header_name": "x-owa-version", "count": 5},
    {"country": None, "build": "15.2.1748", "signal": "path", "count": 3},
    {"country": "NL", "build": "15.0.1497.26", "signal": "both", "ports": [443, 8443]},
    {"country": "US", "non_exchange": True, "count": 50},
]
EXCHANGE = 150 + 30 + 4 + 3 + 2 + 1 + 20 + 5 + 3 + 2
Q_2016 = 'http.html:"/owa/auth/15.1.2507/"'
Q_DE = f"{Q_2016} country:DE"


class ClientFactory(Protocol):
    def __call__(self, key: str, timeout: float = 5.0) -> Any: ...


@pytest.fixture()
def fake() -> Iterator[FakeShodan]:
    # The first fake's reading of what Shodan leaves open; test_shodan_semantics.py covers the realistic one.
    with FakeShodan(make_population(SPEC), hang_max=10, semantics=LEGACY) as server:
        yield server


@pytest.fixture()
def client(fake: FakeShodan, monkeypatch: pytest.MonkeyPatch) -> ClientFactory:
    """A real shodan.Shodan for KEY, pointed at the fake through SHODAN_API_URL."""
    monkeypatch.setenv("SHODAN_API_URL", fake.url)

    def make(key: str, timeout: float = 5.0) -> Any:
        api = shodan.Shodan(key)
        api.api_rate_limit = 0  # no 1 request/s sleeps against a local fake
        # The library sets no timeout; give every request one so a broken test cannot hang.
        api._session.request = functools.partial(api._session.request, timeout=timeout)
        return api

    return make


def raw_get(fake: FakeShodan, path: str, **params: str) -> requests.Response:
    return requests.get(fake.url + path, params=params, timeout=5)


# ---- population


def test_population_uses_documentation_addresses_and_unique_ips() -> None:
    banners = make_population(SPEC)
    assert len(banners) == EXCHANGE + 50
    docs = [ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")]
    assert all(any(ipaddress.ip_address(b["ip_str"]) in net for net in docs) for b in banners)
    services = {(b["ip_str"], b["port"]) for b in banners}
    assert len(services) == len(banners)
    ips = [b["ip_str"] for b in banners]
    assert len(set(ips)) == len(ips) - 1  # only the NL host has two ports
    assert make_population(SPEC) == banners  # deterministic


def test_population_banner_shape_and_signals() -> None:
    both, path_only, redirect, lower = (
        make_population([{"country": "DE", "build": "15.1.2507.39", "signal": s, **extra}])[0]
        for s, extra in (("both", {}), ("path", {}), ("redirect", {}), ("header", {"header_name": "x-owa-version"}))
    )
    assert both["location"]["country_code"] == "DE" and both["_shodan"]["module"] == "https"
    assert both["data"].startswith("HTTP/1.1 200 OK\r\n") and "X-OWA-Version: 15.1.2507.39\r\n" in both["data"]
    assert "/owa/auth/15.1.2507/themes/" in both["http"]["html"] and both["http"]["title"] == "Outlook"
    assert both["ssl"]["cert"]["subject"]["CN"] == both["hostnames"][0]
    assert "X-OWA-Version" not in path_only["data"] and "/owa/auth/15.1.2507/" in path_only["http"]["html"]
    assert "/owa/auth/15.1.2507/" not in redirect["http"]["html"]
    owa_hop = redirect["http"]["redirects"][1]
    assert owa_hop["location"] == "/owa/" and "X-OWA-Version: 15.1.2507.39" in owa_hop["data"]
    assert "x-owa-version: 15.1.2507.39" in lower["data"]
    old = make_population([{"country": "DE", "build": "14.3.513.0"}])[0]
    assert "/owa/14.3.513.0/themes/" in old["http"]["html"] and old["http"]["title"] == "Outlook Web App"
    unattributed = make_population([{"country": None, "build": "15.2.1748"}])[0]
    assert unattributed["location"]["country_code"] is None


def test_population_rejects_typos() -> None:
    with pytest.raises(ValueError, match="unknown spec keys"):
        make_population([{"country": "DE", "build": "15.1.2507.39", "cuont": 3}])
    with pytest.raises(ValueError, match="unknown signal"):
        make_population([{"country": "DE", "build": "15.1.2507.39", "signal": "title"}])


# ---- count and facets


def test_count_and_country_facets_match_population(client: ClientFactory) -> None:
    api = client("good-key")
    result = api.count(Q_2016, facets=[("country", 300)])
    assert result["total"] == 190 and result["matches"] == []
    assert result["facets"]["country"] == [
        {"count": 150, "value": "DE"},
        {"count": 30, "value": "FR"},
        {"count": 4, "value": "AT"},
        {"count": 3, "value": "CH"},
        {"count": 2, "value": "IT"},
        {"count": 1, "value": "ES"},
    ]


def test_facet_default_size_is_five(client: ClientFactory) -> None:
    buckets = client("good-key").count(Q_2016, facets=["country"])["facets"]["country"]
    assert [b["value"] for b in buckets] == ["DE", "FR", "AT", "CH", "IT"]


def test_unattributed_counted_in_total_not_in_buckets(client: ClientFactory) -> None:
    api = client("good-key")
    only_unattributed = api.count('http.html:"/owa/auth/15.2.1748/"', facets=[("country", 300)])
    assert only_unattributed["total"] == 3 and only_unattributed["facets"]["country"] == []
    everything = api.count('http.title:"Outlook"', facets=[("country", 300)])
    assert everything["total"] == EXCHANGE
    assert sum(b["count"] for b in everything["facets"]["country"]) == EXCHANGE - 3


@pytest.mark.parametrize(
    ("query", "total"),
    [
        ('"X-OWA-Version: 15.2.1748"', 25),  # redirect hop + lower-case header name
        ("X-OWA-Version: 15.2.1748", 25),  # two bare terms, AND
        ('"X-OWA-Version"', 150 + 25 + 2),
        ("X-OWA-Version", 150 + 25 + 2),
        ('http.title:"Outlook" country:DE,FR', 180),
        ('http.title:"Outlook" country:de', 150),
        ('http.title:"Outlook" -country:DE', EXCHANGE - 150),
        ('http.title:"Outlook Web App"', 2),
        ("port:8443", 1),
        ('port:443 http.title:"Welcome to nginx"', 50),
        ('org:"Example Hosting FR" http.html:"OwaPage = ASP.auth_logon_aspx"', 30),
        ("net:192.0.2.0/24 country:DE", 150),
        ("hostname:example.com http.status:200", EXCHANGE),
        ("asn:AS64500", EXCHANGE + 50),
    ],
)
def test_query_language(client: ClientFactory, query: str, total: int) -> None:
    assert client("good-key").count(query)["total"] == total


def test_other_facets(client: ClientFactory) -> None:
    facets = client("good-key").count("X-OWA-Version: 15.0", facets=[("port", 10), "http.title"])["facets"]
    assert facets["port"] == [{"count": 1, "value": 443}, {"count": 1, "value": 8443}]
    assert facets["http.title"] == [{"count": 2, "value": "Outlook Web App"}]


def test_count_costs_no_credits(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("good-key")
    before = api.info()["query_credits"]
    for _ in range(3):
        api.count(Q_DE, facets=[("country", 300)])
    assert api.info()["query_credits"] == before
    assert fake.credits_spent.get("good-key", 0) == 0


def test_api_info_shape(client: ClientFactory) -> None:
    info = client("good-key").info()
    assert set(info) == {
        "query_credits",
        "scan_credits",
        "plan",
        "usage_limits",
        "unlocked",
        "unlocked_left",
        "https",
        "telnet",
    }
    assert info["query_credits"] == 100_000 and set(info["usage_limits"]) == {
        "query_credits",
        "scan_credits",
        "monitored_ips",
    }


# ---- search, pages and credits


def test_search_pages_and_credit_accounting(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("good-key")
    pages = [api.search(Q_DE, page=p, facets=[("country", 10)]) for p in (1, 2, 3)]
    assert [len(p["matches"]) for p in pages] == [100, 50, 0]
    assert {p["total"] for p in pages} == {150}
    assert pages[0]["facets"]["country"] == [{"count": 150, "value": "DE"}]
    ips = [m["ip_str"] for p in pages for m in p["matches"]]
    assert len(set(ips)) == 150
    banner = pages[0]["matches"][0]
    assert banner["location"]["country_code"] == "DE" and "X-OWA-Version" in banner["data"]
    assert "opts" not in banner  # minify=True is the client's default
    assert fake.credits_spent["good-key"] == 3
    assert api.info()["query_credits"] == 100_000 - 3
    searches = [c for c in fake.calls if c["path"] == "/shodan/host/search"]
    assert [c["params"]["page"] for c in searches] == ["1", "2", "3"]
    assert all(c["params"]["key"] == "good-key" and c["cost"] == 1 for c in searches)


def test_unfiltered_first_page_is_free(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("good-key")
    assert len(api.search('"X-OWA-Version"', page=1)["matches"]) == 100
    assert fake.credits_spent.get("good-key", 0) == 0
    assert len(api.search('"X-OWA-Version"', page=2)["matches"]) == 77
    assert fake.credits_spent["good-key"] == 1


def test_search_cursor_walks_every_page(client: ClientFactory) -> None:
    banners = list(client("good-key").search_cursor(Q_DE))
    assert len({b["ip_str"] for b in banners}) == 150


def test_same_ip_two_ports_are_two_results(client: ClientFactory) -> None:
    matches = client("good-key").search('"X-OWA-Version: 15.0.1497.26"')["matches"]
    assert sorted(m["port"] for m in matches) == [443, 8443]
    assert len({m["ip_str"] for m in matches}) == 1


def test_search_fields_and_minify_false(client: ClientFactory) -> None:
    api = client("good-key")
    slim = api.search(Q_DE, fields=["ip_str", "location.country_code"])["matches"][0]
    assert set(slim) == {"ip_str", "location"} and slim["location"] == {"country_code": "DE"}
    assert "opts" in api.search(Q_DE, minify=False)["matches"][0]


def test_running_out_of_credits_midway(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("credits-2")
    assert api.info()["query_credits"] == 2
    api.search(Q_2016, page=1)
    api.search(Q_2016, page=2)
    with pytest.raises(shodan.APIError, match="Insufficient query credits"):
        api.search(Q_2016, page=3)
    assert fake.credits_spent["credits-2"] == 2 and api.info()["query_credits"] == 0


def test_set_population_swaps_between_snapshots(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("good-key")
    assert api.count(Q_2016)["total"] == 190
    fake.set_population(make_population([{"country": "DE", "build": "15.1.2507.39", "count": 7}]))
    assert api.count(Q_2016)["total"] == 7
    fake.set_credits("good-key", 5)
    assert api.info()["query_credits"] == 5


def test_calls_are_recorded_with_key(client: ClientFactory, fake: FakeShodan) -> None:
    client("good-key").count(Q_DE, facets=["country"])
    (call,) = fake.calls
    assert call["path"] == "/shodan/host/count" and call["status"] == 200
    assert call["params"] == {"query": Q_DE, "facets": "country", "key": "good-key"}
    assert isinstance(call["time"], float)
    fake.clear_calls()
    assert fake.calls == []


# ---- query and facet errors


@pytest.mark.parametrize(
    "query",
    ['product:"Microsoft Exchange"', "vuln:CVE-2021-26855", 'http.html:"/owa/auth/', "country:", "   "],
)
def test_unsupported_query_is_an_api_error(client: ClientFactory, fake: FakeShodan, query: str) -> None:
    with pytest.raises(shodan.APIError) as info:
        client("good-key").count(query)
    assert str(info.value) == ERR_INVALID_QUERY
    assert fake.calls[-1]["error"]  # why, for whoever debugs the test


def test_facets_passed_as_string_are_caught(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("good-key")
    with pytest.raises(shodan.APIError) as info:
        api.count(Q_2016, facets="country")  # the client splits a string into characters
    assert SPLIT_FACETS_HINT in str(info.value)
    assert fake.calls[-1]["params"]["facets"] == "c,o,u,n,t,r,y"
    with pytest.raises(shodan.APIError, match=r"Invalid facet: vulns$"):
        api.count(Q_2016, facets=["vulns"])
    assert api.count(Q_2016, facets=["country"])["total"] == 190


# ---- failure modes by key


def test_bad_key_is_html_401(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("bad-key")
    for call in (api.info, lambda: api.count(Q_2016), lambda: api.search(Q_2016)):
        with pytest.raises(shodan.APIError) as info:
            call()
        assert str(info.value) == "Invalid API key"
    response = raw_get(fake, "/api-info", key="bad-key")
    assert response.status_code == 401 and response.text.startswith("<html>")


def test_no_credits(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("no-credits")
    assert api.count(Q_2016, facets=["country"])["total"] == 190
    assert api.info()["query_credits"] == 0
    with pytest.raises(shodan.APIError) as info:
        api.search(Q_2016)
    assert str(info.value) == ERR_NO_CREDITS
    response = raw_get(fake, "/shodan/host/search", key="no-credits", query=Q_2016)
    assert response.status_code == 401 and response.json() == {"error": ERR_NO_CREDITS}


def test_free_key_counts_but_cannot_search(client: ClientFactory) -> None:
    api = client("free-key")
    assert api.count(Q_2016)["total"] == 190
    assert api.info()["plan"] == "oss"
    with pytest.raises(shodan.APIError) as info:
        api.search(Q_2016)
    assert str(info.value) == "Access denied (403 Forbidden)"


def test_rate_limit_every_second_request(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("rate-limit")
    outcomes = []
    for _ in range(4):
        try:
            api.count(Q_2016)
            outcomes.append("ok")
        except shodan.APIError as exc:
            outcomes.append(str(exc))
    assert outcomes == ["ok", ERR_RATE_LIMIT, "ok", ERR_RATE_LIMIT]
    raw_get(fake, "/api-info", key="rate-limit")  # 5th: ok
    response = raw_get(fake, "/api-info", key="rate-limit")  # 6th: limited
    assert response.status_code == 429 and response.headers["Retry-After"] == "0"


@pytest.mark.parametrize(
    ("key", "status", "message"),
    [("server-error", 500, "Unable to parse JSON response"), ("bad-gateway", 502, "Bad Gateway (502)")],
)
def test_server_errors(client: ClientFactory, fake: FakeShodan, key: str, status: int, message: str) -> None:
    with pytest.raises(shodan.APIError) as info:
        client(key).count(Q_2016)
    assert str(info.value) == message
    assert fake.calls[-1]["status"] == status


def test_fail_after_n_interrupts_a_snapshot(client: ClientFactory, fake: FakeShodan) -> None:
    api = client("fail-after-3")
    assert api.search(Q_2016, page=1)["total"] == 190
    assert len(api.search(Q_2016, page=2)["matches"]) == 90
    assert api.count(Q_2016)["total"] == 190
    for _ in range(2):
        with pytest.raises(shodan.APIError, match="Unable to parse JSON response"):
            api.search(Q_2016, page=3)
    assert [c["status"] for c in fake.calls] == [200, 200, 200, 500, 500]


def test_search_cursor_hides_the_cause(client: ClientFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    # Skip the cursor's retry back-off (time.sleep) without touching the global time module.
    monkeypatch.setattr(shodan.client, "time", types.SimpleNamespace(time=time.time, sleep=lambda _s: None))
    with pytest.raises(shodan.APIError, match=r"Retry limit reached \(1\)"):
        list(client("fail-after-1").search_cursor(Q_2016, retries=1))


def test_timeout_query(client: ClientFactory) -> None:
    api = client("timeout-query")
    with pytest.raises(shodan.APIError) as info:
        api.count(Q_2016)
    assert str(info.value) == ERR_TIMEOUT_QUERY
    assert api.info()["query_credits"] == 100_000


def test_hang_is_seen_as_a_client_timeout(client: ClientFactory) -> None:
    with pytest.raises(shodan.APIError, match="Unable to connect to Shodan") as info:
        client("hang", timeout=0.5).count(Q_2016)
    assert isinstance(info.value.__context__, requests.exceptions.Timeout)


def test_stop_does_not_wait_for_hung_requests() -> None:
    outcome: list[BaseException] = []
    with FakeShodan(make_population(SPEC[:1]), hang_max=30) as fake:

        def hung() -> None:
            try:
                requests.get(fake.url + "/api-info", params={"key": "hang"}, timeout=20)
            except requests.RequestException as exc:
                outcome.append(exc)

        worker = threading.Thread(target=hung, daemon=True)
        worker.start()
        for _ in range(500):  # until the hung request has reached the server (bounded)
            if any(c["key"] == "hang" for c in fake.calls):
                break
            time.sleep(0.01)
        assert any(c["key"] == "hang" for c in fake.calls)
        # The server keeps answering others while one request hangs.
        assert raw_get(fake, "/api-info", key="good-key").status_code == 200
    worker.join(timeout=10)
    assert not worker.is_alive()
    assert outcome and isinstance(outcome[0], requests.ConnectionError)
