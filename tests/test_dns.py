"""The DNS edge (bot.probe.dns) against the fake DNS server on loopback: answers, failures as data,
the SSRF guard on every answer, deadlines, and no thread pool."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.config import SettingError, Settings
from bot.core.catalog import Catalog
from bot.probe.dns import DnsClient, DnsError, parse_servers, read_hosts
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.ssrf import Refused, pick_address, pinned_resolver
from bot.probe.targets import parse_target
from tests.fakes.dns_server import FakeDns

RECORDS = [
    ("two.test", "A", "127.0.0.1"),
    ("two.test", "AAAA", "::1"),
    ("alias.test", "CNAME", "two.test."),
    ("public.test", "A", "93.184.216.34"),  # global; never connected to (the name is refused)
    ("public.test", "A", "127.0.0.1"),  # one forbidden answer among others (rebinding)
    ("mx.test", "MX", "20 b.mx.test."),
    ("mx.test", "MX", "10 a.mx.test."),
    ("null-mx.test", "MX", "0 ."),
]


@pytest.fixture(scope="module")
def server() -> Iterator[FakeDns]:
    with FakeDns(RECORDS) as s:
        yield s


def client(server: FakeDns, **kw: Any) -> DnsClient:
    return DnsClient(servers=(("127.0.0.1", server.port),), **kw)


@pytest.mark.parametrize(
    ("text", "servers"),
    [
        ("", ()),
        ("127.0.0.1", (("127.0.0.1", 53),)),
        (" 127.0.0.1:5353 , ::1 ", (("127.0.0.1", 5353), ("::1", 53))),
        ("[::1]:5300", (("::1", 5300),)),
    ],
)
def test_parse_servers(text: str, servers: tuple[tuple[str, int], ...]) -> None:
    assert parse_servers(text) == servers


@pytest.mark.parametrize(
    "text", ["dns.example", "127.0.0.1:0", "127.0.0.1:65536", "127.0.0.1:x", "[::1", "[::1]x", ","]
)
def test_bad_servers_are_refused_naming_the_setting(text: str) -> None:
    with pytest.raises(ValueError):
        parse_servers(text)
    with pytest.raises(SettingError, match="EXCHBOT_DNS_SERVERS"):
        Settings.from_env({"EXCHBOT_DNS_SERVERS": text})


def test_addresses_cname_and_records(server: FakeDns) -> None:
    async def run() -> None:
        c = client(server)
        assert list(await c("two.test", 443)) == ["127.0.0.1", "::1"]  # A first, then AAAA
        alias = await c.host("alias.test")
        assert alias.addresses == ("127.0.0.1", "::1") and alias.canonical == "two.test"
        assert (await c.mx("mx.test")).items == ("a.mx.test", "b.mx.test")  # by preference
        assert (await c.mx("null-mx.test")).items == ()
        with pytest.raises(DnsError, match="no such name"):
            await c("missing.test", 443)

    asyncio.run(run())


def test_the_ssrf_guard_judges_every_dns_answer(server: FakeDns) -> None:
    async def run() -> None:
        c = client(server)
        with pytest.raises(Refused, match=r"127\.0\.0\.1"):
            await pick_address("public.test", 443, resolver=c, allow_private=False)
        with pytest.raises(Refused, match=r"could not resolve missing\.test: no such name"):
            await pick_address("missing.test", 443, resolver=c, allow_private=True)
        pinned = pinned_resolver({"missing.test": "127.0.0.1"}, c)  # pins bypass DNS
        assert await pick_address("missing.test", 443, resolver=pinned, allow_private=True) == "127.0.0.1"

    asyncio.run(run())


def test_a_family_that_never_answers_is_cancelled_and_gone_when_the_lookup_returns() -> None:
    """A and AAAA are asked at once; when only A answers, AAAA is given up after a short grace, and
    its query has finished by the time ``host`` returns: nothing is left running on the loop (a
    query left behind would be destroyed mid-flight when its loop closes)."""
    with FakeDns(RECORDS, silent_for={"AAAA"}) as s:

        async def lookup() -> tuple[Any, set[asyncio.Task[Any]]]:
            deadline = asyncio.get_running_loop().time() + 5
            answer = await client(s).host("two.test", deadline)
            return answer, asyncio.all_tasks() - {asyncio.current_task()}

        answer, left = asyncio.run(lookup())
        assert ("udp", "two.test", "AAAA") in s.queries
    assert answer.addresses == ("127.0.0.1",) and answer.problem is None
    assert left == set()


def test_a_dead_name_server_ends_at_the_prober_deadline_without_threads(catalog: Catalog) -> None:
    async def run(port: int) -> tuple[str | None, object]:
        prober = Prober(
            catalog=catalog,
            settings=ProbeSettings(timeout=1.0),
            resolver=DnsClient(servers=(("127.0.0.1", port),)),
        )
        results = [r async for _, r in prober.check_many([parse_target(f"dead{i}.test") for i in range(10)])]
        assert len(results) == 10
        return results[0].error, asyncio.get_running_loop()._default_executor  # type: ignore[attr-defined]

    with FakeDns(mode="silent") as dead:
        error, executor = asyncio.run(run(dead.port))
    assert error is not None and "DNS lookup timed out" in error
    assert executor is None  # no lookup ever used the default thread pool


def test_hosts_file(tmp_path: Path) -> None:
    hosts = tmp_path / "hosts"
    hosts.write_text("127.0.0.1 localhost owa.corp.test # comment\n::1 localhost\nnot-an-ip name\n")
    table = read_hosts(hosts)
    assert table["localhost"] == ("127.0.0.1", "::1") and table["owa.corp.test"] == ("127.0.0.1",)
    assert "name" not in table
    assert read_hosts(tmp_path / "absent") == {}

    async def run() -> None:
        c = DnsClient(servers=(("127.0.0.1", 9),), hosts=table)  # answered from the table, no query
        assert await c("OWA.corp.test", 443) == ("127.0.0.1",)

    asyncio.run(run())
