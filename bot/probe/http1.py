"""A small HTTP/1.1 GET client over TLS streams (bot/probe/tls.py), parsed by h11.

Why not a general client: a probe needs exactly one thing, a bounded GET pinned to an address with
a chosen TLS server name, and it needs it cheaply (200 hosts at once on two cores). h11 does the
protocol parsing (chunked bodies, framing, header limits); this module adds the bounds: connect
and read deadlines come from the caller's per-host deadline, headers are capped by h11's
``max_incomplete_event_size``, bodies by ``max_bytes``, and a connection is only reused when its
previous response was read to the end.

Nothing that arrived is thrown away: when a cap cuts a response, or the deadline passes, or the
connection breaks, the status, the complete header lines and the body bytes received so far are
returned, and ``lost`` says what was not read (the judge then never calls the host patched).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass, field

import h11

from bot.probe.tls import TlsStream, open_tls

MAX_HEADER_BYTES = 32 * 1024
READ_CHUNK = 64 * 1024


class HttpError(Exception):
    """A request could not be completed; the message is fit to show a user."""


class HttpTimeout(HttpError):
    """Nothing usable arrived before the deadline."""


@dataclass
class RawResponse:
    """One HTTP response as read, with what a cap or the deadline left unread."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    truncated: bool  # the body was cut at ``max_bytes``
    lost: str | None = None  # what of the response was not read (a cap, the deadline, a broken connection)


_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-9][0-9]{2})(?:[ \t][^\r\n]*)?\r?\n")
_HEADER_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*?)[ \t]*\r?\n")


def partial_head(data: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    """Status and the complete header lines at the start of a head that never finished (cut by the
    header cap, the deadline or a closed connection); None if not even the status line arrived."""
    m = _STATUS_LINE.match(data)
    if m is None:
        return None
    headers: list[tuple[bytes, bytes]] = []
    pos = m.end()
    while (h := _HEADER_LINE.match(data, pos)) is not None:
        headers.append((h.group(1), h.group(2)))
        pos = h.end()
    return int(m.group(1)), headers


@dataclass(eq=False)  # identity: connections are kept in sets
class Connection:
    """One TLS connection to a host and its HTTP/1.1 state (h11)."""

    stream: TlsStream
    h11: h11.Connection = field(
        default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
    )

    @property
    def peer_cert(self) -> bytes | None:
        return self.stream.peer_cert()

    def reusable(self) -> bool:
        return self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE

    def close(self) -> None:
        """Close at once: the TLS close_notify is sent, the server's is not waited for (see tls.py)."""
        self.stream.close()


async def connect(address: str, port: int, *, server_name: str | None, ssl_context: ssl.SSLContext) -> Connection:
    """TLS connection to ``address`` (already approved by the SSRF guard); SNI = ``server_name``."""
    try:
        stream = await open_tls(address, port, ssl_context=ssl_context, server_hostname=server_name or None)
    except ssl.SSLError as exc:
        raise HttpError(f"TLS failed: {exc.reason or exc}") from exc
    except ConnectionRefusedError as exc:
        raise HttpError("could not connect (refused or unreachable)") from exc
    except OSError as exc:
        raise HttpError(f"could not connect: {exc.strerror or exc}") from exc
    return Connection(stream)


async def get(
    conn: Connection, host_header: str, path: str, user_agent: str, max_bytes: int, deadline: float | None = None
) -> RawResponse:
    """Send one GET and read the response, at most ``max_bytes`` of body, until ``deadline`` (event
    loop time; None: no deadline of its own)."""
    request = h11.Request(
        method="GET",
        target=path.encode("ascii", "replace"),
        headers=[("Host", host_header), ("User-Agent", user_agent), ("Accept", "*/*"), ("Connection", "keep-alive")],
    )
    try:
        async with asyncio.timeout_at(deadline):
            await conn.stream.send(conn.h11.send(request) + conn.h11.send(h11.EndOfMessage()))
    except TimeoutError as exc:
        raise HttpTimeout("no answer in time") from exc
    except ssl.SSLError as exc:
        raise HttpError(f"TLS failed: {exc.reason or exc}") from exc
    except (ConnectionError, OSError) as exc:
        raise HttpError(f"connection lost: {getattr(exc, 'strerror', None) or exc}") from exc
    return await _Reader(conn, max_bytes, deadline).read()


class _Reader:
    """Reads one response; whatever stops it early, it returns what arrived (see the module doc)."""

    def __init__(self, conn: Connection, max_bytes: int, deadline: float | None) -> None:
        self.conn, self.max_bytes, self.deadline = conn, max_bytes, deadline
        self.head = bytearray()  # raw bytes until the head is parsed, to salvage a head cut short
        self.status: int | None = None
        self.headers: list[tuple[bytes, bytes]] = []
        self.chunks: list[bytes] = []
        self.size = 0
        self.eof = False

    async def read(self) -> RawResponse:
        h = self.conn.h11
        while True:
            try:
                event = h.next_event()
            except h11.RemoteProtocolError as exc:
                if self.status is None and len(self.head) > MAX_HEADER_BYTES:
                    return self._partial(
                        f"headers larger than the {MAX_HEADER_BYTES}-byte limit: the rest was not read"
                    )
                if self.eof:
                    return self._partial("the connection closed before the end of the response")
                raise HttpError(f"not a valid HTTP response: {str(exc)[:120]}") from exc
            if event is h11.NEED_DATA:
                try:
                    async with asyncio.timeout_at(self.deadline):
                        data = await self.conn.stream.recv(READ_CHUNK)
                except TimeoutError:
                    return self._partial("no more data arrived in time", timeout=True)
                except ssl.SSLError as exc:
                    return self._partial(f"TLS failed: {exc.reason or exc}")
                except (ConnectionError, OSError) as exc:
                    return self._partial(f"connection lost: {getattr(exc, 'strerror', None) or exc}")
                if not data:
                    self.eof = True
                if self.status is None and len(self.head) <= MAX_HEADER_BYTES:
                    self.head += data
                h.receive_data(data)  # b"" marks EOF; h11 raises if that cuts a message short
                continue
            if isinstance(event, h11.InformationalResponse):
                end = self.head.find(b"\r\n\r\n")
                del self.head[: end + 4 if end >= 0 else len(self.head)]
                continue
            if isinstance(event, h11.Response):
                self.status = event.status_code
                self.headers = list(event.headers.raw_items())  # every header: only their bytes are capped
                self.head = bytearray()
            elif isinstance(event, h11.Data):
                self.chunks.append(bytes(event.data))
                self.size += len(event.data)
                if self.size > self.max_bytes:
                    body = b"".join(self.chunks)[: self.max_bytes]
                    lost = f"body larger than the {self.max_bytes}-byte read limit: the rest was not read"
                    return RawResponse(self.status or 0, self.headers, body, True, lost)
            elif isinstance(event, h11.EndOfMessage):
                if h.our_state is h11.DONE and h.their_state is h11.DONE:
                    h.start_next_cycle()
                return RawResponse(self.status or 0, self.headers, b"".join(self.chunks), False)
            elif isinstance(event, h11.ConnectionClosed):
                raise HttpError("connection closed before a response")

    def _partial(self, why: str, *, timeout: bool = False, cap: bool = False) -> RawResponse:
        """What arrived before ``why`` stopped the read; raises if not even a status line did."""
        if self.status is not None:
            body = b"".join(self.chunks)
            return RawResponse(self.status, self.headers, body, False, f"{why} (after {len(body)} bytes of body)")
        salvaged = partial_head(bytes(self.head[:MAX_HEADER_BYTES]))
        if salvaged is None:
            if timeout:
                raise HttpTimeout("no answer in time")
            raise HttpError(why if not self.eof else "connection closed before a response")
        status, headers = salvaged
        return RawResponse(status, headers, b"", False, why if cap else f"{why} (the headers broke off)")
