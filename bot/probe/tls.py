"""TLS streams for probing: asyncio's own TLS layer, with a 32 KiB receive buffer instead of 256 KiB.

Why: asyncio gives every TLS connection a 256 KiB receive buffer, allocated and zeroed when the
connection opens. A batch of 200 hosts holds 600 connections at once, so 150 MiB were allocated and
touched to read answers of about 40 KiB a host: more than half of a 200-host batch's peak memory
and, in a side-by-side run, about a tenth of its CPU (1.16 to 1.02 s; README, Benchmarks). A TLS
record carries at most 16 KiB, so 32 KiB still takes any record in one read (16 KiB was slower: a
full record and its overhead no longer fit).

``asyncio.open_connection(ssl=...)`` has no setting for it: it always builds its own TLS protocol.
So the connection is opened the way ``loop.start_tls`` builds one: asyncio's TLS protocol (a
subclass that only sets the buffer size) over a plain TCP connection, and asyncio's streams over
that. The handshake, reads, flow control and closing are asyncio's own.
"""

from __future__ import annotations

import asyncio
import ssl
from asyncio import sslproto  # asyncio's TLS protocol: not in asyncio.__all__, its interface unchanged since 3.11

TLS_RECEIVE_BUFFER = 32 * 1024


class _SmallBufferTLS(sslproto.SSLProtocol):
    max_size = TLS_RECEIVE_BUFFER  # what SSLProtocol allocates per connection, and reads at most at once


class _StreamProtocol(asyncio.StreamReaderProtocol):
    """The streams' protocol, keeping the TLS transport it is handed once the handshake is done."""

    transport: asyncio.WriteTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if isinstance(transport, asyncio.WriteTransport):  # asyncio's TLS transport always is
            self.transport = transport
        super().connection_made(transport)


async def open_tls(
    address: str,
    port: int,
    *,
    ssl_context: ssl.SSLContext,
    server_hostname: str | None,
    limit: int,
    shutdown_timeout: float,
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """``asyncio.open_connection(address, port, ssl=ssl_context, ...)`` with the smaller receive
    buffer: the same streams, the same errors (``ssl.SSLError``, ``OSError``). ``server_hostname``
    None sends no SNI (an IP address target)."""
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=limit, loop=loop)
    app = _StreamProtocol(reader, loop=loop)
    handshake: asyncio.Future[None] = loop.create_future()
    tls = _SmallBufferTLS(
        loop,
        app,
        ssl_context,
        handshake,
        server_side=False,
        server_hostname=server_hostname,
        ssl_shutdown_timeout=shutdown_timeout,
    )
    tcp, _ = await loop.create_connection(lambda: tls, address, port)
    try:
        await handshake
    except BaseException:
        tcp.close()  # a failed or cancelled handshake (the caller's deadline) leaves no socket open
        raise
    if app.transport is None:  # pragma: no cover (the handshake's end hands it over before the waiter)
        tcp.close()
        raise ConnectionResetError("the TLS connection closed during its handshake")
    return reader, asyncio.StreamWriter(app.transport, app, reader, loop)
