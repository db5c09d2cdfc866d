"""``/exchcheck`` with a mail address, or a name that is not Exchange, through the real Bolt app:
discovery over the fake DNS server on loopback, checks against the HTTPS simulator."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.core.discover import Query
from bot.probe.dns import DnsClient
from bot.probe.prober import Prober, ProbeSettings
from bot.services.discover import DiscoverService, Discovery
from bot.slack.discovery import discover_with
from tests.fakes.dns_server import FakeDns, zones
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import PROXY_VARS, SlackHarness, catalog

BUILD = "15.2.1544.11"


@pytest.fixture(scope="module", autouse=True)
def no_proxy() -> Iterator[None]:
    saved = {k: os.environ.pop(k) for k in PROXY_VARS if k in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="exchange2019_cu14_f5") as s:
        yield s


@pytest.fixture(scope="module")
def dns_server(sim: ExchangeSimulator) -> Iterator[FakeDns]:
    with FakeDns(zones(sim.port)) as d:
        yield d


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture()
def app(slack: FakeSlack, sim: ExchangeSimulator, dns_server: FakeDns, tmp_path: Path) -> Iterator[SlackHarness]:
    slack.clear()
    service = DiscoverService(
        dns=DnsClient(servers=(("127.0.0.1", dns_server.port),)),
        prober=Prober(catalog=catalog(), settings=ProbeSettings(allow_private=True)),
        https_port=sim.port,
    )
    bound: list[Callable[[Query, str], Discovery]] = []

    def discover(query: Query, requested_by: str) -> Discovery:
        return bound[0](query, requested_by)

    harness = SlackHarness(slack, tmp_path / "exchbot.db", sim_port=sim.port, discover=discover)
    bound.append(discover_with(service, harness.store, 10.0))
    yield harness
    harness.close()


def dump(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def test_a_mail_address_answers_with_the_discovered_servers_verdict(app: SlackHarness, sim: ExchangeSimulator) -> None:
    ack, name = app.command("/exchcheck", "admin@contoso.test")
    assert ack.status == 200
    assert ack.json()["text"] == "Looking for the Exchange servers of contoso.test…"
    card = app.final(name)
    text = dump(card)
    assert card["blocks"][0]["text"]["text"] == "Exchange servers of contoso.test"
    assert f"mail.contoso.test:{sim.port}" in text and BUILD in text and BUILD in card["text"]
    assert "found by MX, autodiscover, SRV, common name" in text
    assert ":rotating_light: *At risk:*" in text  # the verdict of the discovered server
    (stored,) = app.store.history(f"mail.contoso.test:{sim.port}")
    assert stored.build == BUILD


def test_an_online_domain_is_said_plainly(app: SlackHarness) -> None:
    card = app.final(app.command("/exchcheck", "<mailto:it@fabrikam.test|it@fabrikam.test>")[1])
    assert "mail is hosted in Exchange Online: nothing to patch on premises" in dump(card)
    assert "Exchange Online" in card["text"]


def test_a_name_that_is_not_exchange_runs_discovery(app: SlackHarness, sim: ExchangeSimulator) -> None:
    # contoso.test itself answers nothing on 443 (the harness resolves every name to 127.0.0.1)
    card = app.final(app.command("/exchcheck", "contoso.test")[1])
    text = dump(card)
    assert "*contoso.test itself:*" in text
    assert f"mail.contoso.test:{sim.port}" in text and BUILD in text
