"""Reference fingerprinting: one regex pass per kind of versioned path, one header lookup per name,
every element name split (as bot.core.fingerprint did before it found the paths in one pass)."""

from __future__ import annotations

import re

from bot.core.fingerprint import (
    EXCHANGE_2003_MARKERS,
    MAX_IDENTITIES,
    MAX_XML,
    PREAUTH_MARKERS,
    VERSION_HEADERS,
    BuildSignal,
    Observations,
    _AssemblyHandler,
    _build_or_none,
    _is_html,
    load_xml,
)
from bot.core.response import Response, clip

_PATH_2013 = re.compile(rb"/owa/auth/(\d{2}\.\d{1,2}\.\d{1,5})/", re.ASCII)
_PATH_2010 = re.compile(rb"/owa/(\d{1,2}\.\d{1,2}\.\d{1,5}\.\d{1,5})/", re.ASCII)
_PATH_ECP = re.compile(rb"/ecp/(\d{2}\.\d{1,2}\.\d{1,5}\.\d{1,5})/", re.ASCII)
_TITLE = re.compile(rb"<title>\s*([^<]{0,200}?)\s*</title>", re.I)
_OWA_PAGE = b"OwaPage = ASP.auth_logon_aspx"
_FE_SERVER_EXO = re.compile(r"[A-Z]{2,3}[0-9]{1,2}PR?[0-9]{2,5}(?:CA|MB|CU|DS|FE)[0-9]{3,5}", re.ASCII)


class _SplittingHandler(_AssemblyHandler):
    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name.rpartition(" ")[2] != "assemblyIdentity":
            return
        values = {k.rpartition(" ")[2]: v for k, v in attrs.items()}
        if "exporttool" in values.get("name", "").lower():
            if len(self.versions) >= MAX_IDENTITIES:
                self.overflow = True
            else:
                self.versions.append(values.get("version", ""))


def observe(responses: list[Response], into: Observations | None = None) -> Observations:
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
    for name in VERSION_HEADERS:
        for value in r.header_all(name):
            b = _build_or_none(value)
            if b is not None and b.precision >= 3:
                obs.builds.append(BuildSignal(name, r.url, clip(value.strip(" \t")), b))
            else:
                obs.markers.append((f"{name} (unparseable)", r.url, clip(value)))
                obs.unparseable.append((name, r.url, clip(value)))
    for name in ("x-feserver", "x-beserver", "x-calculatedbetarget", "x-diaginfo", "x-calculatedfetarget"):
        for value in r.header_all(name):
            obs.markers.append((name, r.url, clip(value)))
            upper = value.upper()
            if name.endswith("target") and (
                upper.endswith(".PROD.OUTLOOK.COM") or upper.endswith(".INTERNAL.OUTLOOK.COM")
            ):
                obs.exchange_online.append((name, r.url, clip(value)))
            if name == "x-feserver" and _FE_SERVER_EXO.fullmatch(value.strip(" \t")):
                obs.exchange_online.append((name, r.url, clip(value)))
    server = r.header("server")
    if server:
        obs.server_headers.add(clip(server, 80))
    location = r.header("location") or ""
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
    for rx, signal in ((_PATH_2013, "owa-path"), (_PATH_2010, "owa-path-legacy"), (_PATH_ECP, "ecp-path")):
        seen: set[bytes] = set()
        for m in rx.finditer(body):
            if m.group(1) in seen:
                continue
            seen.add(m.group(1))
            text = m.group(1).decode("ascii")
            b = _build_or_none(text)
            if b is not None:
                obs.builds.append(BuildSignal(signal, r.url, text, b))
    if _OWA_PAGE in body:
        obs.markers.append(("owa-logon-page", r.url, "OwaPage = ASP.auth_logon_aspx"))
    if b'action="/owa/auth.owa"' in body:
        obs.markers.append(("owa-logon-form", r.url, 'form action="/owa/auth.owa"'))
    title = _TITLE.search(body[:65536])
    if title:
        text = title.group(1).decode("utf-8", "replace")
        if "outlook" in text.lower():
            obs.markers.append(("title", r.url, clip(text)))
    for marker, product in PREAUTH_MARKERS:
        if marker in body:
            obs.preauth.append((product, r.url))
    if any(m in body for m in EXCHANGE_2003_MARKERS):
        obs.exchange_2003 = True
    if r.path.endswith(".application") and r.status == 200:
        _exporttool(r, obs)


def _exporttool(r: Response, obs: Observations) -> None:
    if r.truncated:
        return
    if len(r.body) > MAX_XML:
        obs.lost.append((r.url, f"export-tool manifest larger than the {MAX_XML}-byte XML limit: not read"))
        return
    if _is_html(r):
        obs.markers.append(("exporttool-html", r.url, "an HTML page, not the export-tool manifest"))
        return
    expat, defused = load_xml()
    handler = _SplittingHandler(defused)
    try:
        handler.parse(r.body, expat)
    except defused.DefusedXmlException as exc:
        obs.xml_rejected.append(f"{r.url}: refused XML ({type(exc).__name__})")
        return
    except expat.ExpatError:
        if not handler.versions:
            return
        obs.lost.append((r.url, "export-tool manifest breaks off into malformed XML: the rest was not read"))
    except (ValueError, RecursionError):
        obs.xml_rejected.append(f"{r.url}: unparseable XML")
        return
    if handler.overflow:
        obs.lost.append((r.url, f"more than {MAX_IDENTITIES} export-tool identities: the rest were not read"))
    for version in dict.fromkeys(handler.versions):
        b = _build_or_none(version)
        if b is not None and b.precision == 4:
            obs.builds.append(BuildSignal("exporttool", r.url, clip(version.strip(" \t")), b))
        else:
            obs.markers.append(("exporttool (unparseable)", r.url, clip(version)))
            obs.unparseable.append(("exporttool", r.url, clip(version)))
