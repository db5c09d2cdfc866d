"""Target parsing and the SSRF guard: nothing private is ever connected to without permission."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import Sequence

import pytest

from bot.clock import FixedClock
from bot.core.catalog import Catalog
from bot.probe.fetch import Session
from bot.probe.prober import Prober, ProbeSettings
from bot.probe.ssrf import Refused, pick_address
from bot.probe.targets import Target, TargetError, parse_target

NOW = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "host", "port", "key"),
    [
        ("mail.example.com", "mail.example.com", 443, "mail.example.com"),
        ("MAIL.Example.COM.", "mail.example.com", 443, "mail.example.com"),
        ("mail.example.com:8443", "mail.example.com", 8443, "mail.example.com:8443"),
        ("https://mail.example.com", "mail.example.com", 443, "mail.example.com"),
        ("https://mail.example.com:444/owa/", "mail.example.com", 444, "mail.example.com:444"),
        ("bücher.example", "xn--bcher-kva.example", 443, "xn--bcher-kva.example"),
        ("203.0.113.7", "203.0.113.7", 443, "203.0.113.7"),
        ("203.0.113.7:8443", "203.0.113.7", 8443, "203.0.113.7:8443"),
        ("2001:db8::1", "2001:db8::1", 443, "[2001:db8::1]"),
        ("[2001:db8::1]:8443", "2001:db8::1", 8443, "[2001:db8::1]:8443"),
        ("https://[2001:db8::1]/", "2001:db8::1", 443, "[2001:db8::1]"),
    ],
)
def test_valid_targets(text: str, host: str, port: int, key: str) -> None:
    t = parse_target(text)
    assert (t.host, t.port, t.key) == (host, port, key)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "http://mail.example.com",
        "ftp://x",
        "https://user:pw@mail.example.com",
        "mail.example.com:0",
        "mail.example.com:70000",
        "mail.example.com:abc",
        "mail example.com",
        "mail.example.com;rm -rf /",
        "$(reboot)",
        "`id`",
        "<!channel>",
        "<@U123>",
        "a" * 300,
        "-bad-.example.com",
        "exa_mple.com",
        "[2001:db8::1",
        "fe80::1%eth0",
        "https://",
        "mail..example.com",
        "x" * 64 + ".com",
    ],
)
def test_invalid_targets_are_usage_errors(text: str) -> None:
    with pytest.raises(TargetError):
        parse_target(text)


FORBIDDEN = [
    "127.0.0.1",
    "127.1",
    "2130706433",
    "0x7f000001",
    "0177.0.0.1",
    "0x7f.0.0.1",
    "::1",
    "[::1]",
    "::ffff:127.0.0.1",
    "::ffff:7f00:1",
    "0.0.0.0",
    "10.0.0.1",
    "172.16.5.4",
    "192.168.1.1",
    "169.254.169.254",
    "[fd00:ec2::254]",
    "100.64.0.1",
    "fe80::1",
    "fc00::1",
    "224.0.0.1",
    "240.0.0.1",
    "255.255.255.255",
    "2002:7f00:1::1",
    "64:ff9b::a9fe:a9fe",
    "192.0.2.1",
    "198.18.0.1",
    "::",
    "::127.0.0.1",
    "2001::7f00:1",
    "localhost",
    "internal.example.com",
    "rebind.example.com",
    "https://127.0.0.1:8443/owa/",
    "https://[::1]:443/",
]
DNS = {
    "localhost": ["127.0.0.1"],
    "internal.example.com": ["10.1.2.3"],
    "rebind.example.com": ["203.0.113.5", "169.254.169.254"],  # any bad answer refuses the name
    "public.example.com": ["93.184.216.34"],
}


async def fake_resolver(host: str, port: int) -> Sequence[str]:
    if host in DNS:
        return DNS[host]
    raise OSError(-2, "Name or service not known")


class NoConnection:
    """A session factory that records any attempt to open a session (there must be none)."""

    def __init__(self) -> None:
        self.attempts: list[str] = []

    def __call__(self, target: Target, address: str) -> Session:
        self.attempts.append(f"{target.key} at {address}")
        raise AssertionError("no connection may be made")


@pytest.mark.parametrize("text", FORBIDDEN)
def test_forbidden_addresses_are_never_connected_to(text: str, catalog: Catalog) -> None:
    transport = NoConnection()
    prober = Prober(
        catalog=catalog,
        settings=ProbeSettings(timeout=2.0),
        resolver=fake_resolver,
        sessions=transport,
        clock=FixedClock(NOW),
    )
    result = asyncio.run(prober.check(parse_target(text)))
    assert result.error and result.error.startswith("refused")
    assert not result.reachable
    assert transport.attempts == []


def test_allow_private_lifts_the_guard() -> None:
    assert asyncio.run(pick_address("10.0.0.1", 443, resolver=fake_resolver, allow_private=True)) == "10.0.0.1"
    assert asyncio.run(pick_address("localhost", 443, resolver=fake_resolver, allow_private=True)) == "127.0.0.1"


def test_public_addresses_pass_and_unresolvable_names_fail() -> None:
    assert (
        asyncio.run(pick_address("public.example.com", 443, resolver=fake_resolver, allow_private=False))
        == "93.184.216.34"
    )
    assert asyncio.run(pick_address("8.8.8.8", 443, resolver=fake_resolver, allow_private=False)) == "8.8.8.8"
    with pytest.raises(Refused, match="could not resolve"):
        asyncio.run(pick_address("nope.example.com", 443, resolver=fake_resolver, allow_private=False))
