"""A small HTTP/1.1 GET client over asyncio streams, parsed by h11.

Why not a general client: a probe needs exactly one thing, a bounded GET pinned to an address with
a chosen TLS server name, and it needs it cheaply (200 hosts at once on two cores). h11 does the
protocol parsing (chunked bodies, framing, header limits); this module adds the bounds: connect
and read deadlines come from the caller's per-host deadline, headers are capped by h11's
``max_incomplete_event_size``, bodies by ``max_bytes``, and a connection is only reused when its
previous response was read to the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from dataclasses import dataclass, field

import h11

MAX_HEADER_BYTES = 32 * 1024
READ_CHUNK = 64 * 1024


class HttpError(Exception):
    """A request could not be completed; the message is fit to show a user."""


@dataclass
class RawResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    truncated: bool


@dataclass(eq=False)  # identity: connections are kept in sets
class Connection:
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    h11: h11.Connection = field(
        default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEADER_BYTES)
    )

    @property
    def peer_cert(self) -> bytes | None:
        obj = self.writer.get_extra_info("ssl_object")
        return obj.getpeercert(binary_form=True) if obj is not None else None

    def reusable(self) -> bool:
        return self.h11.our_state is h11.IDLE and self.h11.their_state is h11.IDLE

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.writer.wait_closed(), 0.5)


async def connect(address: str, port: int, *, server_name: str | None, ssl_context: ssl.SSLContext) -> Connection:
    """TLS connection to ``address`` (already approved by the SSRF guard); SNI = ``server_name``."""
    try:
        reader, writer = await asyncio.open_connection(
            address, port, ssl=ssl_context, server_hostname=server_name or "", limit=READ_CHUNK
        )
    except ssl.SSLError as exc:
        raise HttpError(f"TLS failed: {exc.reason or exc}") from exc
    except ConnectionRefusedError as exc:
        raise HttpError("could not connect (refused or unreachable)") from exc
    except OSError as exc:
        raise HttpError(f"could not connect: {exc.strerror or exc}") from exc
    return Connection(reader, writer)


async def get(conn: Connection, host_header: str, path: str, user_agent: str, max_bytes: int) -> RawResponse:
    """Send one GET and read the response, at most ``max_bytes`` of body."""
    request = h11.Request(
        method="GET",
        target=path.encode("ascii", "replace"),
        headers=[("Host", host_header), ("User-Agent", user_agent), ("Accept", "*/*"), ("Connection", "keep-alive")],
    )
    try:
        conn.writer.write(conn.h11.send(request) + conn.h11.send(h11.EndOfMessage()))
        await conn.writer.drain()
        return await _read_response(conn, max_bytes)
    except h11.RemoteProtocolError as exc:
        raise HttpError(f"not a valid HTTP response: {str(exc)[:120]}") from exc
    except ssl.SSLError as exc:
        raise HttpError(f"TLS failed: {exc.reason or exc}") from exc
    except (ConnectionError, OSError) as exc:
        raise HttpError(f"connection lost: {getattr(exc, 'strerror', None) or exc}") from exc


async def _read_response(conn: Connection, max_bytes: int) -> RawResponse:
    status = 0
    headers: list[tuple[bytes, bytes]] = []
    chunks: list[bytes] = []
    size = 0
    while True:
        event = conn.h11.next_event()
        if event is h11.NEED_DATA:
            data = await conn.reader.read(READ_CHUNK)
            conn.h11.receive_data(data)  # b"" marks EOF; h11 raises if that cuts a message short
            continue
        if isinstance(event, h11.InformationalResponse):
            continue
        if isinstance(event, h11.Response):
            status = event.status_code
            headers = list(event.headers.raw_items())[:200]
        elif isinstance(event, h11.Data):
            chunks.append(bytes(event.data))
            size += len(event.data)
            if size >= max_bytes:
                return RawResponse(status, headers, b"".join(chunks)[:max_bytes], True)
        elif isinstance(event, h11.EndOfMessage):
            if conn.h11.our_state is h11.DONE and conn.h11.their_state is h11.DONE:
                conn.h11.start_next_cycle()
            return RawResponse(status, headers, b"".join(chunks), False)
        elif isinstance(event, h11.ConnectionClosed):
            raise HttpError("connection closed before a response")
