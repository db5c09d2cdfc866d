"""Strict target parsing: hostname (IDN too), IP literal, ``host:port``, or an ``https://`` URL.

Anything else is a usage error with a message that says what is accepted. The normalised ``key``
(lower-case ASCII host, ``:port`` unless 443, IPv6 in brackets) names the host in the history.
"""

from __future__ import annotations

import ipaddress
import re
import unicodedata
from dataclasses import dataclass
from urllib.parse import urlsplit

MAX_TARGET = 300
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$", re.ASCII)
# Letter-digit-hyphen labels of 1-63 characters, 253 in all: IDNA would only lower-case such a name
# unless a label has "--" in positions 3-4 (an A-label, "xn--", or a label IDNA refuses), so only
# those and non-ASCII names go through idna (the library is ~5 ms of every start-up; see plain_name).
_LDH_NAME = re.compile(
    r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)*[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?",
    re.ASCII | re.IGNORECASE,
)
_BAD_CHARS = re.compile(r"[\s<>\"'`;|&$(){}\\^*!,=+@#%?]")
USAGE = "expected a hostname, an IP address, host:port or https://host[:port]"


class TargetError(ValueError):
    """The text is not a target exchbot can check."""


@dataclass(frozen=True)
class Target:
    """A host to check, validated: ``raw`` as typed, ``host`` normalised, and the port."""

    raw: str
    host: str  # ASCII (IDNA) hostname or IP literal without brackets
    port: int
    is_ip: bool

    @property
    def key(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == 443 else f"{host}:{self.port}"


_EMAIL = re.compile(r"^(?:mailto:)?[^@\s/:]+@([^@\s/:]+\.[^@\s/:]+)$", re.IGNORECASE)


def email_hint(text: str) -> str | None:
    """For an e-mail address: which host names to try instead; None for anything else."""
    m = _EMAIL.match(text.strip())
    if not m:
        return None
    domain = m.group(1).lower().rstrip(".")
    return (
        f"that is an e-mail address; exchbot checks a mail server. "
        f"Try its host name, often mail.{domain} or autodiscover.{domain}"
    )


def parse_target(text: str) -> Target:
    """A target from what a user typed; ``host/path`` is read like ``https://host/path`` (the path
    is dropped: exchbot probes its own paths)."""
    if not isinstance(text, str):
        raise TargetError(USAGE)
    raw = text.strip()
    if has_unsafe_chars(raw):
        # Terminal control sequences and bidi overrides could rewrite what the user sees.
        raise TargetError(f"control or bidirectional characters are not accepted: {raw[:80]!a}")
    if not raw:
        raise TargetError(f"empty target: {USAGE}")
    if len(raw) > MAX_TARGET:
        raise TargetError(f"target too long ({len(raw)} characters): {USAGE}")
    hint = email_hint(raw)
    if hint:
        raise TargetError(hint)
    if "://" in raw:
        return _from_url(raw)
    if "/" in raw and not raw.startswith("/"):
        return _from_url("https://" + raw, raw)
    host, port = _split_host_port(raw)
    return _build(raw, host, port)


def has_unsafe_chars(text: str) -> bool:
    """Control characters, format characters (bidi overrides, zero-width), line/paragraph separators."""
    return any(unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn") for c in text)


def _url_port(netloc: str) -> int:
    """The port written in a URL's authority: absent means 443; ``:``, ``:0`` or ``:00000`` are errors."""
    hostport = netloc.rsplit("@", 1)[-1]
    if hostport.startswith("["):
        rest = hostport[hostport.find("]") + 1 :]
    else:
        _, colon, port_text = hostport.partition(":")
        rest = colon + port_text
    if not rest:
        return 443
    if not rest.startswith(":"):
        raise TargetError(f"unexpected text after ']': {USAGE}")
    if rest == ":":
        raise TargetError(f"empty port after ':': {USAGE}")
    return _port(rest[1:])


def _from_url(raw: str, typed: str | None = None) -> Target:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 - raises ValueError for a malformed port
    except ValueError as exc:
        raise TargetError(f"malformed URL ({exc}): {USAGE}") from exc
    port = _url_port(parts.netloc)
    if parts.scheme.lower() != "https":
        raise TargetError(f"only https:// URLs can be checked, not {parts.scheme}://")
    if parts.username or parts.password:
        raise TargetError("URLs with credentials are not accepted")
    if not parts.hostname:
        raise TargetError(f"URL without a host: {USAGE}")
    host = parts.hostname
    return _build(typed or raw, host, port)


def _split_host_port(raw: str) -> tuple[str, int]:
    if raw.startswith("["):  # [v6]:port or [v6]
        end = raw.find("]")
        if end < 0:
            raise TargetError(f"unclosed '[' in {raw!r}: {USAGE}")
        host, rest = raw[1:end], raw[end + 1 :]
        if not rest:
            return host, 443
        if not rest.startswith(":"):
            raise TargetError(f"unexpected text after ']': {USAGE}")
        return host, _port(rest[1:])
    if raw.count(":") > 1:  # bare IPv6, no port
        return raw, 443
    if ":" in raw:
        host, port = raw.rsplit(":", 1)
        return host, _port(port)
    return raw, 443


def _port(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 5:
        raise TargetError(f"invalid port {text!r}")
    port = int(text)
    if not 1 <= port <= 65535:
        raise TargetError(f"port {port} out of range 1-65535")
    return port


def normalise_host(host: str) -> str:
    """A host name as the key uses it (lower-case IDNA ASCII) or an IP literal; raises TargetError."""
    return _build(host, host, 443).host


def plain_name(host: str) -> str | None:
    """``host`` lower-cased if it is a plain letter-digit-hyphen name, which is what IDNA encoding
    (UTS #46) makes of it; None for anything that needs the idna library to be encoded or refused."""
    if _LDH_NAME.fullmatch(host) is None or any(label[2:4] == "--" for label in host.split(".")):
        return None
    return host.lower()


def _build(raw: str, host: str, port: int) -> Target:
    host = host.strip().rstrip(".")
    if not host:
        raise TargetError(f"no host in {raw!r}: {USAGE}")
    try:
        ip = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        ip = None
    if ip is not None:
        if "%" in host:
            raise TargetError("IPv6 zone identifiers are not accepted")
        return Target(raw, str(ip), port, True)
    if _BAD_CHARS.search(host) or "/" in host:
        raise TargetError(f"{host!r} is not a valid hostname: {USAGE}")
    ascii_host = plain_name(host)
    if ascii_host is None:
        import idna

        try:
            ascii_host = idna.encode(host, uts46=True).decode("ascii").lower()
        except idna.IDNAError as exc:
            raise TargetError(f"{host!r} is not a valid hostname ({exc})") from exc
    if len(ascii_host) > 253 or not all(_LABEL.match(label) for label in ascii_host.split(".")):
        raise TargetError(f"{host!r} is not a valid hostname: {USAGE}")
    return Target(raw, ascii_host, port, False)
