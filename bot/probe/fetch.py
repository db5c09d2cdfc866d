"""Bounded HTTPS GETs pinned to one checked address.

Each request goes to the IP the SSRF guard approved, with the target's name in the Host header and
TLS SNI (httpcore's ``sni_hostname`` extension), so no second DNS lookup can redirect it. Bodies are
read up to ``max_bytes``; redirects are followed only to the same host and port, at most
``MAX_REDIRECTS`` times. Certificates are not verified (misconfigured servers must still be
fingerprinted) but their facts are recorded as evidence.
"""

from __future__ import annotations

import datetime as dt
import ssl
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx
from cryptography import x509
from cryptography.x509.oid import ExtensionOID, NameOID

from bot.core.fingerprint import Response, clip
from bot.probe.targets import Target

MAX_REDIRECTS = 3
USER_AGENT = "exchbot/0.1 (non-intrusive Exchange version check)"


def insecure_ssl_context() -> ssl.SSLContext:
    """One shared context: no verification (we report certificate facts instead), modern TLS only."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


@dataclass(frozen=True)
class CertFacts:
    subject: str
    issuer: str
    not_before: dt.datetime
    not_after: dt.datetime
    sans: tuple[str, ...]
    self_signed: bool

    def describe(self, now: dt.datetime) -> str:
        state = "EXPIRED" if now > self.not_after else "valid dates"
        signer = "self-signed" if self.self_signed else f"issued by {self.issuer}"
        names = ", ".join(self.sans[:5]) + (" …" if len(self.sans) > 5 else "")
        return clip(f"{self.subject}; {signer}; {state} until {self.not_after:%Y-%m-%d}; names: {names}", 300)


def cert_facts(der: bytes) -> CertFacts | None:
    try:
        cert = x509.load_der_x509_certificate(der)
    except ValueError:
        return None

    def cn(name: x509.Name) -> str:
        attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
        return str(attrs[0].value) if attrs else name.rfc4514_string()

    try:
        ext = cert.extensions.get_extension_for_oid(ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
        sans = tuple(str(v) for v in ext.value.get_values_for_type(x509.DNSName))  # type: ignore[attr-defined]
    except (x509.ExtensionNotFound, ValueError):
        sans = ()
    return CertFacts(
        subject=clip(cn(cert.subject), 120), issuer=clip(cn(cert.issuer), 120),
        not_before=cert.not_valid_before_utc, not_after=cert.not_valid_after_utc,
        sans=tuple(clip(s, 80) for s in sans[:20]), self_signed=cert.issuer == cert.subject,
    )


async def fetch(client: httpx.AsyncClient, target: Target, address: str, path: str, *,
                follow: bool, max_bytes: int) -> tuple[Response, CertFacts | None]:
    """GET ``path`` on ``target`` at ``address``; never raises for network or protocol trouble."""
    url_host = f"[{address}]" if ":" in address else address
    base = f"https://{target.host_header}"
    current = path
    hops: list[str] = []
    cert: CertFacts | None = None
    for _ in range(MAX_REDIRECTS + 1):
        request_url = f"https://{url_host}:{target.port}{current}"
        shown_url = f"{base}{current}"
        try:
            request = client.build_request(
                "GET", request_url,
                headers={"Host": target.host_header, "User-Agent": USER_AGENT, "Accept": "*/*"},
                extensions={"sni_hostname": target.host} if not target.is_ip else {},
            )
            response = await client.send(request, stream=True)
        except httpx.TimeoutException:
            return Response(path, shown_url, None, error="timed out", redirects=tuple(hops)), cert
        except httpx.HTTPError as exc:
            return Response(path, shown_url, None, error=_describe(exc), redirects=tuple(hops)), cert
        try:
            cert = cert or _peer_cert(response)
            headers = tuple((k.decode("latin-1").lower(), clip(v.decode("latin-1"), 2000))
                            for k, v in response.headers.raw[:200])
            location = response.headers.get("location")
            if follow and response.status_code in (301, 302, 303, 307, 308) and location:
                nxt = _same_origin(location, base, target)
                if nxt is not None and len(hops) < MAX_REDIRECTS and nxt not in hops:
                    hops.append(nxt)
                    current = nxt
                    continue
            body, truncated = await _read_bounded(response, max_bytes)
            return Response(path, shown_url, response.status_code, headers, body, truncated,
                            redirects=tuple(hops)), cert
        except httpx.TimeoutException:
            return Response(path, shown_url, response.status_code, error="timed out reading the body"), cert
        except httpx.HTTPError as exc:
            return Response(path, shown_url, response.status_code, error=_describe(exc)), cert
        finally:
            await response.aclose()
    return Response(path, f"{base}{current}", None, error="too many redirects", redirects=tuple(hops)), cert


async def _read_bounded(response: httpx.Response, max_bytes: int) -> tuple[bytes, bool]:
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_raw():
        chunks.append(chunk)
        size += len(chunk)
        if size >= max_bytes:
            return b"".join(chunks)[:max_bytes], True
    return b"".join(chunks), False


def _same_origin(location: str, base: str, target: Target) -> str | None:
    """The path to follow if ``location`` stays on the target's host and port, else None."""
    absolute = urljoin(base + "/", location)
    try:
        parts = urlsplit(absolute)
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        return None
    if parts.scheme != "https" or (parts.hostname or "").lower() != target.host.lower() or port != target.port:
        return None
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")


def _peer_cert(response: httpx.Response) -> CertFacts | None:
    stream = response.extensions.get("network_stream")
    if stream is None:
        return None
    ssl_object = stream.get_extra_info("ssl_object")
    if ssl_object is None:
        return None
    der = ssl_object.getpeercert(binary_form=True)
    return cert_facts(der) if der else None


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    lowered = text.lower()
    if "refused" in lowered or (isinstance(exc, httpx.ConnectError) and "all connection attempts" in lowered):
        return "could not connect (refused or unreachable)"
    if "certificate" in lowered or "ssl" in lowered or "tls" in lowered or "handshake" in lowered:
        return f"TLS failed: {clip(text, 120)}"
    if isinstance(exc, httpx.RemoteProtocolError | httpx.LocalProtocolError):
        return f"not a valid HTTP response: {clip(text, 120)}"
    return clip(text, 160)
