"""TLS streams for probing: OpenSSL works on the socket itself, the event loop only says when the
socket is ready.

Why not asyncio's TLS streams (``asyncio.open_connection(ssl=...)``): they run TLS through memory
buffers, a Python state machine (``asyncio.sslproto``) and stream objects, with a 256 KiB receive
buffer allocated and zeroed per connection. A batch of 200 hosts holds 600 connections at once, each
reading about 14 KiB. Here a non-blocking ``ssl.SSLSocket`` reads and writes the socket in C, and a
wait is one readiness callback (``loop.add_reader`` / ``add_writer``). Side by side with asyncio's
streams (their buffer already cut to 32 KiB), whole 200-host batches took 0.95 x the time and 0.96 x
the CPU (medians of five paired runs) with two thirds of the page faults (docs/PERFORMANCE.md). Only
public asyncio and ssl interfaces are used; event loops without readiness callbacks (Windows'
proactor loop) are not supported.

A stream is used by one task at a time (one request after another on a connection): a second
waiter on the same socket would replace the first one's callback.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl

READ_MAX = 64 * 1024  # at most this much is returned by one recv (a TLS record carries at most 16 KiB)


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


class TlsStream:
    """One client TLS connection over a non-blocking socket (see the module doc)."""

    def __init__(self, sock: ssl.SSLSocket, loop: asyncio.AbstractEventLoop) -> None:
        self._sock = sock
        self._loop = loop
        self._fd = sock.fileno()
        self._waiter: asyncio.Future[None] | None = None  # the wait in progress, if any
        self._writing = False  # whether that wait is for writing
        self._closed = False

    async def _ready(self, want: type[ssl.SSLError]) -> None:
        """Wait until the socket can do what OpenSSL asked for (a TLS read may need to write, and
        a write to read). Cancelled by the caller's deadline, the callback is removed all the same."""
        self._check_open()
        waiter: asyncio.Future[None] = self._loop.create_future()
        self._writing = want is ssl.SSLWantWriteError
        if self._writing:
            self._loop.add_writer(self._fd, _wake, waiter)
        else:
            self._loop.add_reader(self._fd, _wake, waiter)
        self._waiter = waiter
        try:
            await waiter
        finally:
            # Closed meanwhile: close() removed the callback, and the descriptor's number may
            # already belong to another connection, whose callback must stay.
            if self._waiter is waiter:
                self._unwatch()

    def _unwatch(self) -> None:
        self._waiter = None
        if self._writing:
            self._loop.remove_writer(self._fd)
        else:
            self._loop.remove_reader(self._fd)

    def _check_open(self) -> None:
        if self._closed:
            raise ConnectionAbortedError("the connection was closed")

    async def handshake(self) -> None:
        while True:
            try:
                self._sock.do_handshake()
                return
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError) as want:
                await self._ready(type(want))

    async def send(self, data: bytes) -> None:
        """Send all of ``data``."""
        self._check_open()
        view = memoryview(data)
        while view:
            try:
                view = view[self._sock.send(view) :]
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError) as want:
                await self._ready(type(want))

    async def recv(self, size: int = READ_MAX) -> bytes:
        """At most ``size`` bytes, as soon as any arrived; b"" at the end of the stream (a TLS
        close_notify or a plain TCP close: what was cut short is for the HTTP framing to say)."""
        self._check_open()
        while True:
            try:
                return self._sock.recv(min(size, READ_MAX))
            except (ssl.SSLWantReadError, ssl.SSLWantWriteError) as want:
                await self._ready(type(want))

    @property
    def server_hostname(self) -> str | None:
        return self._sock.server_hostname

    def version(self) -> str | None:
        return self._sock.version()

    def peer_cert(self) -> bytes | None:
        """The server's certificate (DER) as it was sent; it is never verified."""
        return self._sock.getpeercert(binary_form=True)

    def close(self) -> None:
        """Send the TLS close_notify if the socket takes it at once, then close the socket. Not
        waiting for the server's close_notify: a far server answers it a round trip later, and one
        that never answers would hold the socket. A task still waiting on it (its host's check was
        cancelled) gets ConnectionAbortedError instead of waiting for its deadline."""
        if self._closed:
            return
        self._closed = True
        if (waiter := self._waiter) is not None:
            self._unwatch()
            if not waiter.done():
                waiter.set_exception(ConnectionAbortedError("the connection was closed"))
        with contextlib.suppress(ssl.SSLError, OSError, ValueError):
            self._sock.unwrap()  # sends close_notify; then wants the server's, which it does not get
        self._sock.close()


async def open_tls(address: str, port: int, *, ssl_context: ssl.SSLContext, server_hostname: str | None) -> TlsStream:
    """A TLS connection to ``address`` (an IP address: the SSRF guard chose it) with ``server_hostname``
    as SNI (None: no SNI, an IP address target). Raises ``ssl.SSLError`` or ``OSError``; whatever
    ends it early (an error, the caller's deadline) leaves no socket open."""
    loop = asyncio.get_running_loop()
    raw = socket.socket(socket.AF_INET6 if ":" in address else socket.AF_INET, socket.SOCK_STREAM)
    try:
        raw.setblocking(False)
        raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as asyncio does: no Nagle wait on small writes
        await loop.sock_connect(raw, (address, port))
        sock = ssl_context.wrap_socket(raw, server_hostname=server_hostname, do_handshake_on_connect=False)
    except BaseException:
        raw.close()
        raise
    stream = TlsStream(sock, loop)
    try:
        await stream.handshake()
    except BaseException:
        sock.close()
        raise
    return stream
