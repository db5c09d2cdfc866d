"""Bounded HTTPS GETs pinned to one checked address.

Each request goes to the IP the SSRF guard approved, with the target's name in the Host header and
TLS SNI, so no second DNS lookup can redirect it. Bodies are read up to ``max_bytes``; redirects
are followed only to the same host and port, at most ``MAX_REDIRECTS`` times. The answers a
followed redirect passed through are kept (``Response.earlier``): their headers are signals too.
Whatever a cap or the deadline cut is named in ``Response.lost``. Certificates are not
verified (misconfigured servers must still be fingerprinted) but their facts are recorded as
evidence.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import functools
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol
from urllib.parse import urljoin, urlsplit

from bot.core.response import Response, clip
from bot.probe import http1
from bot.probe.outgoing import OutgoingRequests
from bot.probe.targets import Target

MAX_REDIRECTS = 3
NO_ANSWER = "no answer in time"  # the error of a request that got nothing before the deadline
USER_AGENT = "exchbot/0.1 (non-intrusive Exchange version check)"


def insecure_ssl_context() -> ssl.SSLContext:
    """One shared context for fingerprinting: no verification (certificate facts are reported
    instead) and old protocol versions allowed, because end-of-life servers often speak only
    TLS 1.0. Nothing secret is ever sent over these connections."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.minimum_version = ssl.TLSVersion.MINIMUM_SUPPORTED
    with contextlib.suppress(ssl.SSLError):
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    return ctx


@functools.lru_cache(maxsize=1)
def shared_ssl_context() -> ssl.SSLContext:
    """The process's one :func:`insecure_ssl_context` for probing, made on first use (about 1 ms
    with OpenSSL 3) and never changed after: every prober shares it, also the copies discovery
    makes with ``dataclasses.replace``."""
    return insecure_ssl_context()


@dataclass(frozen=True)
class CertFacts:
    """The facts of a server's certificate reported as evidence (it is never verified)."""

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


def load_cert_parser() -> None:
    """Import the X.509 parser (tens of ms) ahead of the first certificate (see Prober.prepare)."""
    from cryptography import x509  # noqa: F401


@functools.lru_cache(maxsize=256)  # one host's connections present the same certificate
def cert_facts(der: bytes) -> CertFacts | None:
    from cryptography import x509
    from cryptography.x509.oid import ExtensionOID, NameOID

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
        subject=clip(cn(cert.subject), 120),
        issuer=clip(cn(cert.issuer), 120),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        sans=tuple(clip(s, 80) for s in sans[:20]),
        self_signed=cert.issuer == cert.subject,
    )


class Session(Protocol):
    """GETs against one host at one checked address (a fake is any object with these methods)."""

    cert: CertFacts | None

    async def get(self, path: str, *, follow: bool, max_bytes: int, deadline: float | None = None) -> Response:
        """GET ``path``; ``deadline`` is event-loop time: what arrived by then is returned."""
        ...

    async def aclose(self) -> None: ...


SessionFactory = Callable[[Target, str], Session]


class Http1Session:
    """Real HTTPS to ``address`` with the target's name in Host and SNI; idle connections are reused."""

    def __init__(
        self, target: Target, address: str, ssl_context: ssl.SSLContext, outgoing: OutgoingRequests | None = None
    ) -> None:
        self.target = target
        self.address = address
        self.ssl_context = ssl_context
        self.outgoing = outgoing or OutgoingRequests()
        self.cert: CertFacts | None = None
        self._der: bytes | None = None  # the first connection's certificate, parsed into cert by aclose()
        self._idle: list[http1.Connection] = []
        self._open: set[http1.Connection] = set()

    async def get(self, path: str, *, follow: bool, max_bytes: int, deadline: float | None = None) -> Response:
        base = f"https://{self.target.host_header}"
        current = path
        hops: list[str] = []
        earlier: list[Response] = []
        while True:
            shown = f"{base}{current}"
            try:
                raw = await self._request(current, max_bytes, deadline)
            except http1.HttpTimeout:
                return Response(path, shown, None, error=NO_ANSWER, redirects=tuple(hops), earlier=tuple(earlier))
            except http1.HttpError as exc:
                return Response(path, shown, None, error=str(exc), redirects=tuple(hops), earlier=tuple(earlier))
            # values whole: the header byte cap bounds them; evidence clips them for display
            headers = tuple((k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in raw.headers)
            response = Response(
                path,
                shown,
                raw.status,
                headers,
                raw.body,
                raw.truncated,
                redirects=tuple(hops),
                lost=raw.lost,
                earlier=tuple(earlier),
            )
            location = next((v for k, v in headers if k == "location"), None)
            if follow and raw.lost is None and raw.status in (301, 302, 303, 307, 308) and location:
                nxt = _same_origin(location, base, self.target)
                if nxt is not None and nxt not in hops and nxt != path:
                    if len(hops) >= MAX_REDIRECTS:
                        return dataclasses.replace(
                            response,
                            lost=f"more than {MAX_REDIRECTS} redirects: the page they lead to was not read",
                        )
                    hops.append(nxt)
                    earlier.append(response)
                    current = nxt
                    continue
            return response

    async def _request(self, path: str, max_bytes: int, deadline: float | None) -> http1.RawResponse:
        conn = self._idle.pop() if self._idle else None
        if conn is None:
            try:
                with self.outgoing.opening():  # the request is written right after, in the same step
                    async with asyncio.timeout_at(deadline):
                        conn = await http1.connect(
                            self.address,
                            self.target.port,
                            server_name=None if self.target.is_ip else self.target.host,
                            ssl_context=self.ssl_context,
                        )
            except TimeoutError as exc:
                raise http1.HttpTimeout(NO_ANSWER) from exc
            self._open.add(conn)
            if self._der is None and (der := conn.peer_cert):
                self._der = der
        done = False
        try:
            raw = await http1.get(conn, self.target.host_header, path, USER_AGENT, max_bytes, deadline)
            done = True
            return raw
        finally:
            if done and conn.reusable:
                self._idle.append(conn)
            else:
                self._open.discard(conn)
                conn.close()

    async def aclose(self) -> None:
        if self.cert is None and self._der is not None:
            self.cert = cert_facts(self._der)
        conns, self._open, self._idle = list(self._open), set(), []
        for conn in conns:
            conn.close()


def http1_sessions(
    ssl_context: ssl.SSLContext | None = None, *, outgoing: OutgoingRequests | None = None
) -> SessionFactory:
    """Sessions sharing one TLS context; ``outgoing`` counts the connections they are opening."""
    ctx = ssl_context or shared_ssl_context()

    def make(target: Target, address: str) -> Session:
        return Http1Session(target, address, ctx, outgoing)

    return make


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
