"""The SSRF guard: which addresses a check may connect to.

By default every address that is not globally routable is refused: loopback, private (RFC 1918,
ULA), link-local (cloud metadata 169.254.169.254 / fd00:ec2::254 included), CGNAT 100.64/10,
multicast, reserved, unspecified, documentation and benchmark ranges, and IPv6 forms that embed
such an IPv4 address (IPv4-mapped, IPv4-compatible, 6to4, NAT64, Teredo). Names are resolved once;
every resolved address must pass, and the connection is pinned to the address that was checked
(no second DNS lookup). ``--allow-private`` lifts the guard for internal use and tests.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Awaitable, Callable, Sequence

from bot.probe.targets import TargetError, normalise_host

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[Sequence[str]]]

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")
_LEGACY_V4 = re.compile(r"^[0-9a-fA-FxX.]+$")


class Refused(Exception):
    """The target resolves to an address the guard refuses (or does not resolve at all)."""


class Forbidden(Refused):
    """The guard refused the address: nothing was attempted (not an observation of the host)."""


def why_forbidden(ip: IPAddress) -> str | None:
    """A short reason if connecting to ``ip`` is refused by default, else None."""
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = _embedded_v4(ip)
        if embedded is not None:
            reason = why_forbidden(embedded)
            if reason:
                return f"embeds {embedded}: {reason}"
    checks = (
        (ip.is_loopback, "loopback"),
        (ip.is_link_local, "link-local (cloud metadata lives here)"),
        (ip.is_multicast, "multicast"),
        (ip.is_unspecified, "unspecified"),
        (isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT, "carrier-grade NAT"),
        (ip.is_private, "private"),
        (ip.is_reserved, "reserved"),
        (not ip.is_global, "not globally routable"),
    )
    for hit, reason in checks:
        if hit:
            return reason
    return None


def _embedded_v4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in _NAT64 or ip in _NAT64_LOCAL:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if int(ip) >> 32 == 0 and int(ip) > 1:  # deprecated IPv4-compatible ::a.b.c.d
        return ipaddress.IPv4Address(int(ip))
    return None


def literal_address(host: str) -> IPAddress | None:
    """An IP address if ``host`` spells one, including legacy IPv4 forms the C resolver accepts
    (``127.1``, ``2130706433``, ``0x7f.0.0.1``, ``0177.0.0.1``)."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _LEGACY_V4.match(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


async def system_resolver(host: str, port: int) -> Sequence[str]:
    """The system's name servers, asked asynchronously (no thread pool): see :mod:`bot.probe.dns`.
    dnspython is imported at the first name lookup: IP literals and pinned names never need it."""
    from bot.probe.dns import default_client

    return await default_client()(host, port)


async def pick_address(host: str, port: int, *, resolver: Resolver, allow_private: bool) -> str:
    """Resolve once and return the address to connect to; raise :class:`Refused` otherwise."""
    literal = literal_address(host)
    if literal is not None:
        addresses: Sequence[str] = [str(literal)]
    else:
        try:
            addresses = await resolver(host, port)
        except (OSError, UnicodeError) as exc:
            raise Refused(f"could not resolve {host}: {getattr(exc, 'strerror', None) or exc}") from exc
        if not addresses:
            raise Refused(f"could not resolve {host}: no addresses")
    if allow_private:
        return addresses[0]
    for addr in addresses:
        try:
            ip = ipaddress.ip_address(addr)
        except ValueError as exc:
            raise Forbidden(f"resolver returned a non-address {addr!r}") from exc
        reason = why_forbidden(ip)
        if reason:
            # Any forbidden answer refuses the name: DNS rebinding can rotate between answers.
            # The hint to lift the guard depends on where the answer is shown (CLI flag or the
            # admin's setting): renderers add it (bot.render.hints).
            what = f"{ip} is" if literal is not None else f"{host} resolves to {ip},"
            raise Forbidden(f"refused: {what} not a public address ({reason})")
    return addresses[0]


def pinned_resolver(pins: dict[str, str], fallback: Resolver = system_resolver) -> Resolver:
    """Like ``curl --resolve``: answer ``pins[host]`` for pinned names, ask ``fallback`` otherwise.
    The guard still checks the pinned address."""
    lowered = {k.lower().rstrip("."): v for k, v in pins.items()}

    async def resolve(host: str, port: int) -> Sequence[str]:
        pinned = lowered.get(host.lower())
        return [pinned] if pinned is not None else await fallback(host, port)

    return resolve


def parse_pins(items: Sequence[str]) -> dict[str, str]:
    """``HOST:ADDRESS`` items (IPv6 addresses may be bracketed) -> {host: address}."""
    pins: dict[str, str] = {}
    for item in items:
        host, sep, addr = item.partition(":")
        addr = addr.strip().strip("[]")
        try:
            ipaddress.ip_address(addr)
        except ValueError as exc:
            raise ValueError(f"--resolve {item!r}: expected HOST:ADDRESS") from exc
        if not sep or not host.strip():
            raise ValueError(f"--resolve {item!r}: expected HOST:ADDRESS")
        try:  # bücher.test is looked up as xn--bcher-kva.test: pin it under that name
            name = normalise_host(host.strip())
        except TargetError as exc:
            raise ValueError(f"--resolve {item!r}: {exc}") from exc
        pins[name] = addr
    return pins
