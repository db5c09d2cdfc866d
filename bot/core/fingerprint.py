"""Signals in HTTP responses from an Exchange server (pure: bytes in, observations out).

Every parser is defensive: responses come from hosts we do not control. Values are bounded,
XML is parsed without DTDs or entity expansion, and nothing raises on malformed input.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from bot.core.buildnum import Build, BuildParseError, parse_build
from bot.core.response import Response, clip

MAX_XML = 512 * 1024

# Versioned resource paths in a page, one signal each: owa-path (/owa/auth/15.2.1544/),
# owa-path-legacy (/owa/14.3.513.0/), ecp-path (/ecp/15.2.1544.4/). One pass finds all three: the
# closing "/" is looked at, not taken, so a path that starts on the "/" closing another is still
# found (as each signal's own pass would find it); see _versioned_paths.
_PATHS = re.compile(
    rb"/(?:owa/(?:auth/(\d{2}\.\d{1,2}\.\d{1,5})|(\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5}))"
    rb"|ecp/(\d{2}\.\d{1,2}\.\d{1,5}\.\d{1,5}))(?=/)",
    re.ASCII,
)
_PATH_SIGNALS = ("owa-path", "owa-path-legacy", "ecp-path")  # by group of _PATHS
_TITLE = re.compile(rb"<title>\s*([^<]{0,200}?)\s*</title>", re.I)
_OWA_PAGE = b"OwaPage = ASP.auth_logon_aspx"
# Exchange Online machine names: datacenter letters and digits, "P" or "PR" and a number, a role
# (CA, MB, ...) and a serial: MA1PR0101CA0031, GV1P191MB2243, AM0PR07CA0001. Whole-value match, so
# on-premises schemes such as EXCHPR01, MAILPR1 or NYCPR01 are not taken for it. A name is only
# ever corroboration: it never makes a host Exchange Online on its own (see bot.core.judge).
_FE_SERVER_EXO = re.compile(r"[A-Z]{2,3}[0-9]{1,2}PR?[0-9]{2,5}(?:CA|MB|CU|DS|FE)[0-9]{3,5}", re.ASCII)

PREAUTH_MARKERS: tuple[tuple[bytes, str], ...] = (
    (b"/lm_auth_proxy", "KEMP LoadMaster ESP pre-authentication"),
    (b"CookieAuth.dll", "Microsoft TMG/ISA forms authentication"),
    (b"CRYPTOCard", "CRYPTOCard/SafeNet OWA agent"),
    (b"/my.policy", "F5 BIG-IP APM"),
    (b"/vpn/index.html", "Citrix Gateway"),
)
VERSION_HEADERS = ("x-owa-version", "x-serverapplication")
_EXCHANGE_2003_PREFIX = b"/exchweb/bin/auth/owa"  # absent: no marker to look for (one scan, not two)
EXCHANGE_2003_MARKERS = (_EXCHANGE_2003_PREFIX + b"logon.asp", _EXCHANGE_2003_PREFIX + b"auth.dll")


@dataclass(frozen=True)
class BuildSignal:
    """A build number one signal disclosed (a header, a path, the export tool's manifest) and where."""

    signal: str  # x-owa-version, x-serverapplication, exporttool, owa-path, owa-path-legacy, ecp-path
    url: str
    raw: str
    build: Build


@dataclass
class Observations:
    """Everything seen across the responses of one host."""

    builds: list[BuildSignal] = field(default_factory=list)
    markers: list[tuple[str, str, str]] = field(default_factory=list)  # (signal, url, value)
    preauth: list[tuple[str, str]] = field(default_factory=list)  # (product, url)
    exchange_online: list[tuple[str, str, str]] = field(default_factory=list)
    exchange_2003: bool = False
    server_headers: set[str] = field(default_factory=set)
    not_exchange_hints: list[str] = field(default_factory=list)
    xml_rejected: list[str] = field(default_factory=list)
    unparseable: list[tuple[str, str, str]] = field(default_factory=list)  # (signal, url, value)
    lost: list[tuple[str, str]] = field(default_factory=list)  # (url, what was not read)


def _build_or_none(text: str) -> Build | None:
    """The build ``text`` is, as a whole: only spaces and tabs around it are trimmed, nothing is cut
    to fit (``15.2.1544.4`` followed by padding and junk is not a build)."""
    value = text.strip(" \t")
    if not value or value != value.strip():  # other whitespace (CR, NBSP, ...) is not ordinary
        return None
    try:
        return parse_build(value)
    except BuildParseError:
        return None


def observe(responses: list[Response], into: Observations | None = None) -> Observations:
    """Collect the signals of ``responses`` (added to ``into`` when given)."""
    obs = into if into is not None else Observations()
    for final in responses:
        for r in (*final.earlier, final):
            if r.status is None:
                continue
            _headers(r, obs)
            _body(r, obs)
            if r.lost:
                text = r.lost
                if r.truncated and r.path.endswith(".application"):
                    text = (
                        f"export-tool manifest larger than the {len(r.body)}-byte read limit: its version was not read"
                    )
                obs.lost.append((r.url, clip(text)))
    return obs


def _headers(r: Response, obs: Observations) -> None:
    by_name: dict[str, list[str]] = {}  # one pass over the headers, not one per name looked up
    for k, v in r.headers:
        by_name.setdefault(k, []).append(v)
    for name in VERSION_HEADERS:  # every occurrence, wherever it stands among the headers
        for value in by_name.get(name, ()):
            b = _build_or_none(value)
            if b is not None and b.precision >= 3:
                obs.builds.append(BuildSignal(name, r.url, clip(value.strip(" \t")), b))
            else:
                obs.markers.append((f"{name} (unparseable)", r.url, clip(value)))
                obs.unparseable.append((name, r.url, clip(value)))
    for name in ("x-feserver", "x-beserver", "x-calculatedbetarget", "x-diaginfo", "x-calculatedfetarget"):
        for value in by_name.get(name, ()):
            obs.markers.append((name, r.url, clip(value)))
            upper = value.upper()
            if name.endswith("target") and (
                upper.endswith(".PROD.OUTLOOK.COM") or upper.endswith(".INTERNAL.OUTLOOK.COM")
            ):
                obs.exchange_online.append((name, r.url, clip(value)))
            if name == "x-feserver" and _FE_SERVER_EXO.fullmatch(value.strip(" \t")):
                obs.exchange_online.append((name, r.url, clip(value)))
    server = by_name.get("server")
    if server and server[0]:  # the first Server header (Response.header)
        obs.server_headers.add(clip(server[0], 80))
    location = by_name.get("location", [""])[0]
    if "/owa/auth/logon.aspx" in location.lower() or "errorfe.aspx" in location.lower():
        obs.markers.append(("owa-redirect", r.url, clip(location)))
    if "/exchweb/" in location.lower():
        obs.exchange_2003 = True
        obs.markers.append(("exchange-2003-redirect", r.url, clip(location)))
    if r.status == 440:
        obs.markers.append(("http-440-login-timeout", r.url, "440"))


def _body(r: Response, obs: Observations) -> None:
    body = r.body
    if not body:
        return
    for signal, values in zip(_PATH_SIGNALS, _versioned_paths(body), strict=True):
        for value in values:
            text = value.decode("ascii")
            b = _build_or_none(text)
            if b is not None:
                obs.builds.append(BuildSignal(signal, r.url, text, b))
    if _OWA_PAGE in body:
        obs.markers.append(("owa-logon-page", r.url, "OwaPage = ASP.auth_logon_aspx"))
    if b'action="/owa/auth.owa"' in body:
        obs.markers.append(("owa-logon-form", r.url, 'form action="/owa/auth.owa"'))
    title = _TITLE.search(body, 0, 65536)  # the first 64 KiB, not copied out
    if title:
        text = title.group(1).decode("utf-8", "replace")
        if "outlook" in text.lower():
            obs.markers.append(("title", r.url, clip(text)))
    for marker, product in PREAUTH_MARKERS:
        if marker in body:
            obs.preauth.append((product, r.url))
    if _EXCHANGE_2003_PREFIX in body and any(m in body for m in EXCHANGE_2003_MARKERS):
        obs.exchange_2003 = True
    if r.path.endswith(".application") and r.status == 200:
        _exporttool(r, obs)


def _versioned_paths(body: bytes) -> tuple[list[bytes], list[bytes], list[bytes]]:
    """The distinct versions of each kind of _PATHS, in order of first appearance: what a separate
    pass per kind (its own pattern ending in "/", taken) would find. Matches never overlap but for
    a path starting on the "/" that closes the one before; a pass of its own kind would have taken
    that "/", so such a path counts only for another kind. Bounded by the request's read limit."""
    found: tuple[dict[bytes, None], dict[bytes, None], dict[bytes, None]] = ({}, {}, {})
    ends = [-1, -1, -1]  # per kind: where the closing "/" of its last match stands
    for m in _PATHS.finditer(body):
        kind = m.lastindex
        if kind is None:  # pragma: no cover (every alternative has a group)
            continue
        kind -= 1
        if m.start() == ends[kind]:
            continue
        ends[kind] = m.end()
        found[kind].setdefault(m.group(kind + 1))
    return list(found[0]), list(found[1]), list(found[2])


MAX_IDENTITIES = 64  # export-tool assemblyIdentity elements read from one manifest


class _AssemblyHandler:
    """Collects the version of every export-tool assemblyIdentity: one manifest may name several.

    Fed by pyexpat directly (not through xml.sax, whose per-element Python layers cost more than the
    rest of a check of 200 hosts); ``defused`` raises defusedxml's own exceptions for a DTD, an
    entity declaration or an external reference, as defusedxml's SAX reader does."""

    def __init__(self, defused: ModuleType) -> None:
        self.versions: list[str] = []
        self.overflow = False  # more identities than MAX_IDENTITIES: the rest were not read
        self.defused = defused

    def start(self, name: str, attrs: dict[str, str]) -> None:
        # namespace_separator " ": names are "uri local" or "local"; XML names hold no space. Most
        # elements fail the cheap endswith already.
        if not name.endswith("assemblyIdentity") or name.rpartition(" ")[2] != "assemblyIdentity":
            return
        values = {k.rpartition(" ")[2]: v for k, v in attrs.items()}
        if "exporttool" in values.get("name", "").lower():
            if len(self.versions) >= MAX_IDENTITIES:
                self.overflow = True
            else:
                self.versions.append(values.get("version", ""))

    def doctype(self, name: str, sysid: str | None, pubid: str | None, internal: bool) -> None:
        raise self.defused.DTDForbidden(name, sysid, pubid)

    def entity(self, name: str, *args: Any) -> None:
        raise self.defused.EntitiesForbidden(name, None, None, None, None, None)

    def external(self, context: str | None, base: str | None, sysid: str | None, pubid: str | None) -> int:
        raise self.defused.ExternalReferenceForbidden(context, base, sysid, pubid)

    def parse(self, data: bytes, expat: ModuleType) -> None:
        parser = expat.ParserCreate(None, " ")
        parser.StartElementHandler = self.start
        parser.StartDoctypeDeclHandler = self.doctype
        parser.EntityDeclHandler = self.entity
        parser.UnparsedEntityDeclHandler = self.entity
        parser.ExternalEntityRefHandler = self.external
        parser.Parse(data, True)


def _is_html(r: Response) -> bool:
    """An HTML page (a pre-authentication proxy's login page, a block page) rather than a manifest."""
    start = r.body[:1024].lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    if start.startswith((b"<!doctype html", b"<html")):
        return True
    return "html" in (r.header("content-type") or "").lower() and not start.startswith((b"<?xml", b"<asmv1:"))


def load_xml() -> tuple[ModuleType, ModuleType]:
    """pyexpat and defusedxml's exceptions, imported on first use (the CLI calls this while the
    first requests wait for their answers)."""
    import xml.parsers.expat

    import defusedxml.common

    return xml.parsers.expat, defusedxml.common


def _exporttool(r: Response, obs: Observations) -> None:
    if r.truncated:
        return  # reported as lost (observe): the version may be in the part not read
    if len(r.body) > MAX_XML:
        obs.lost.append((r.url, f"export-tool manifest larger than the {MAX_XML}-byte XML limit: not read"))
        return
    if _is_html(r):
        obs.markers.append(("exporttool-html", r.url, "an HTML page, not the export-tool manifest"))
        return
    versions, overflow, broken_off, refused = _manifest(r.body)
    if refused is not None:  # nothing in it counts
        obs.xml_rejected.append(f"{r.url}: {refused}")
        return
    if broken_off:
        if not versions:
            return  # not XML: nothing to read
        obs.lost.append((r.url, "export-tool manifest breaks off into malformed XML: the rest was not read"))
    if overflow:
        obs.lost.append((r.url, f"more than {MAX_IDENTITIES} export-tool identities: the rest were not read"))
    for version in dict.fromkeys(versions):
        b = _build_or_none(version)
        if b is not None and b.precision == 4:
            obs.builds.append(BuildSignal("exporttool", r.url, clip(version.strip(" \t")), b))
        else:
            obs.markers.append(("exporttool (unparseable)", r.url, clip(version)))
            obs.unparseable.append(("exporttool", r.url, clip(version)))


# The manifest is a static file of each Exchange build, so a batch meets the same bytes again and
# again (in a 200-host run, parsing it was the largest part of fingerprinting). Its reading depends
# on nothing but the bytes, so it is kept for the last few distinct manifests: at most
# MANIFEST_CACHE * MAX_XML bytes held.
MANIFEST_CACHE = 8


@functools.lru_cache(maxsize=MANIFEST_CACHE)
def _manifest(body: bytes) -> tuple[tuple[str, ...], bool, bool, str | None]:
    """The export-tool versions a manifest names (in document order); whether it named more than
    MAX_IDENTITIES; whether its XML breaks off (the versions before that count); and why it was
    refused, if it was (a DTD, an entity, unparseable XML: then nothing in it counts)."""
    expat, defused = load_xml()
    handler = _AssemblyHandler(defused)
    broken_off = False
    refused: str | None = None
    try:
        handler.parse(body, expat)  # no DTD: so no entity declarations and no external references
    except defused.DefusedXmlException as exc:
        refused = f"refused XML ({type(exc).__name__})"
    except expat.ExpatError:
        broken_off = True
    except (ValueError, RecursionError):
        refused = "unparseable XML"
    return tuple(handler.versions), handler.overflow, broken_off, refused
