"""From a domain or a mail address to its Exchange endpoints: the pure part of discovery.

What counts as a candidate, how Exchange Online is recognised, and how candidates found several
ways are merged into endpoints. The lookups themselves are done by :mod:`bot.services.discover`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

# The common names of an on-premises Outlook on the web host, tried under the domain (README,
# "Discovery"). Kept short on purpose: each is one DNS lookup and, if it answers, one check.
COMMON_NAMES: tuple[str, ...] = ("mail", "owa", "webmail", "outlook", "exchange", "remote")
FOUND_BY: tuple[str, ...] = ("mx", "autodiscover", "srv", "name")  # the labels, in report order
HTTPS_PORT = 443  # MX, autodiscover and name candidates; an SRV record gives its own port
SRV_NAME = "_autodiscover._tcp"

ONLINE_MX_SUFFIX = ".mail.protection.outlook.com"
ONLINE_AUTODISCOVER = "autodiscover.outlook.com"
ONLINE_SPF = "include:spf.protection.outlook.com"
ONLINE_STATEMENT = "mail is hosted in Exchange Online: nothing to patch on premises"
# Microsoft's own hosts are never probed: checking them says nothing about the customer's servers.
MICROSOFT_DOMAINS: tuple[str, ...] = (
    "outlook.com",
    "office365.com",
    "office.com",
    "microsoft.com",
    "microsoftonline.com",
    "outlook.cn",
    "partner.outlook.cn",
    "office365.us",
)
MAX_LOCAL_PART = 64


class QueryError(ValueError):
    """The text is neither a domain nor a mail address."""


@dataclass(frozen=True)
class Query:
    """What to discover: a domain, and the mail address it came from if one was given."""

    domain: str  # as typed (validated as a host name by the caller)
    address: str | None = None  # the mail address, if one was given


def split_query(text: str) -> Query:
    """``admin@contoso.com`` -> domain ``contoso.com`` and the address; ``contoso.com`` -> itself."""
    raw = text.strip()
    if raw.lower().startswith("mailto:"):
        raw = raw[len("mailto:") :]
    if "@" not in raw:
        return Query(raw)
    local, _, domain = raw.rpartition("@")
    if not local or len(local) > MAX_LOCAL_PART or any(c.isspace() or ord(c) < 32 or c == "@" for c in local):
        raise QueryError(f"{raw[:80]!r} is not a mail address (expected NAME@DOMAIN)")
    if not domain:
        raise QueryError(f"{raw[:80]!r} has no domain after '@'")
    return Query(domain, raw)


def is_microsoft(host: str) -> bool:
    h = host.lower().rstrip(".")
    return any(h == d or h.endswith("." + d) for d in MICROSOFT_DOMAINS)


def online_signs(mx_hosts: Iterable[str], autodiscover_chain: Iterable[str], txt: Iterable[str]) -> tuple[str, ...]:
    """Why the domain's mail is in Exchange Online (empty: no sign)."""
    signs: list[str] = []
    online_mx = [h for h in mx_hosts if h.lower().rstrip(".").endswith(ONLINE_MX_SUFFIX)]
    if online_mx:
        signs.append(f"MX points to Exchange Online ({online_mx[0]})")
    if any(n.lower().rstrip(".") == ONLINE_AUTODISCOVER for n in autodiscover_chain):
        signs.append(f"autodiscover is a CNAME for {ONLINE_AUTODISCOVER}")
    for record in txt:
        words = record.lower().split()
        if words[:1] == ["v=spf1"] and ONLINE_SPF in words:
            signs.append(f"SPF includes {ONLINE_SPF.removeprefix('include:')}")
            break
    return tuple(signs)


@dataclass(frozen=True)
class Candidate:
    """A host one way of discovery (MX, autodiscover, SRV, a common name) found, with its addresses."""

    host: str
    port: int
    found_by: str  # one of FOUND_BY
    addresses: tuple[str, ...]


@dataclass(frozen=True)
class Endpoint:
    """A distinct host and port to check, merged from every candidate that found it."""

    host: str  # the first name it was found under (MX before autodiscover before SRV before names)
    port: int
    found_by: tuple[str, ...]  # every way it was found, in FOUND_BY order
    address: str  # the first address; the check is pinned to the addresses found here
    addresses: tuple[str, ...]

    @property
    def target(self) -> str:
        return self.host if self.port == HTTPS_PORT else f"{self.host}:{self.port}"


def merge(candidates: Sequence[Candidate]) -> tuple[Endpoint, ...]:
    """One endpoint per (address, port): candidates that reach the same server are one endpoint."""
    order: list[tuple[str, int]] = []
    first: dict[tuple[str, int], Candidate] = {}
    ways: dict[tuple[str, int], set[str]] = {}
    for c in candidates:
        if not c.addresses:
            continue
        key = (c.addresses[0], c.port)
        if key not in first:
            order.append(key)
            first[key] = c
        ways.setdefault(key, set()).add(c.found_by)
    return tuple(
        Endpoint(
            host=first[k].host,
            port=k[1],
            found_by=tuple(w for w in FOUND_BY if w in ways[k]),
            address=k[0],
            addresses=first[k].addresses,
        )
        for k in order
    )


def common_names(domain: str) -> tuple[str, ...]:
    return tuple(f"{n}.{domain}" for n in COMMON_NAMES)
