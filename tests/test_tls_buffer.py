"""A probe's TLS connection allocates a 32 KiB receive buffer, not asyncio's 256 KiB, and is still a
whole TLS stream: SNI or none, answers larger than the buffer, an old TLS version, a failed or
cancelled handshake that leaves no socket behind.

Why it matters: a 200-host batch holds 600 connections at once; at 256 KiB each that was 150 MiB
allocated and zeroed for answers of about 40 KiB a host (bot/probe/tls.py).
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import ssl
import threading
import tracemalloc
import warnings
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from bot.probe import http1
from bot.probe.fetch import insecure_ssl_context
from bot.probe.tls import TLS_RECEIVE_BUFFER, open_tls
from tests.fakes.exchange_sim import ExchangeSimulator

CONNECTIONS = 20
Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="exchange_se_current") as s:
        yield s


def test_a_connection_allocates_far_less_than_asyncios_256_kib(sim: ExchangeSimulator) -> None:
    """Memory allocated for the prober's connections (what was allocated with http1.connect on the
    stack: the simulator's own server-side connections are not counted)."""

    async def open_many() -> int:
        ctx = insecure_ssl_context()
        tracemalloc.start(40)
        try:
            conns = await asyncio.gather(
                *(
                    http1.connect("127.0.0.1", sim.port, server_name=f"h{i}.sim.test", ssl_context=ctx)
                    for i in range(CONNECTIONS)
                )
            )
            snapshot = tracemalloc.take_snapshot()
        finally:
            tracemalloc.stop()
        for conn in conns:
            conn.close()
        ours = snapshot.filter_traces([tracemalloc.Filter(True, http1.__file__, all_frames=True)])
        return sum(stat.size for stat in ours.statistics("filename"))

    gc.collect()
    per_connection = asyncio.run(open_many()) / CONNECTIONS
    assert per_connection > TLS_RECEIVE_BUFFER  # the probe works: the buffer itself is counted
    # about 46 KiB on CPython 3.11 (the buffer and asyncio's and ssl's objects); asyncio's own
    # buffer alone would be 256 KiB
    assert per_connection < 4 * TLS_RECEIVE_BUFFER < 256 * 1024


def _open(port: int, server_hostname: str | None = "x.example.com") -> Coroutine[Any, Any, Streams]:
    """open_tls to 127.0.0.1:``port`` as the prober opens it."""
    return open_tls(
        "127.0.0.1",
        port,
        ssl_context=insecure_ssl_context(),
        server_hostname=server_hostname,
        limit=64 * 1024,
        shutdown_timeout=2.0,
    )


def _get(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, path: str, host: str) -> asyncio.Future[bytes]:
    writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    return asyncio.ensure_future(reader.read())


def test_answers_larger_than_the_buffer_arrive_whole(sim: ExchangeSimulator) -> None:
    host = "exchange-se-current.sim.test"

    async def fetch() -> tuple[bytes, str | None, bytes]:
        reader, writer = await _open(sim.port, host)
        sni = writer.get_extra_info("ssl_object").server_hostname
        data = await _get(reader, writer, "/owa/auth/logon.aspx", host)
        writer.close()
        # the same page through asyncio's own TLS streams, to compare byte for byte
        r2, w2 = await asyncio.open_connection("127.0.0.1", sim.port, ssl=insecure_ssl_context(), server_hostname=host)
        expected = await _get(r2, w2, "/owa/auth/logon.aspx", host)
        w2.close()
        return data, sni, expected

    data, sni, expected = asyncio.run(fetch())
    assert sni == host
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body) > TLS_RECEIVE_BUFFER // 2
    assert data.split(b"\r\n\r\n", 1)[1] == expected.split(b"\r\n\r\n", 1)[1]


class _TlsServer:
    """A TLS server in a thread that records the SNI it was sent and answers one line, speaking
    only ``version`` (TLS 1.0 to 1.3)."""

    def __init__(self, version: ssl.TLSVersion) -> None:
        ctx = ExchangeSimulator()._server_context()
        with warnings.catch_warnings():  # TLS 1.0 is deprecated: that is the point of the test
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.sni: list[str | None] = []
        ctx.sni_callback = lambda sock, name, c: self.sni.append(name)
        self.ctx = ctx
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.listener.accept()
        with conn:
            try:
                with self.ctx.wrap_socket(conn, server_side=True) as tls:
                    tls.recv(4096)
                    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            except (ssl.SSLError, OSError):
                pass

    def close(self) -> None:
        self.listener.close()
        self.thread.join(5)


@pytest.mark.parametrize("server_hostname", ["mail.example.com", None])
def test_sni_is_sent_for_a_name_and_not_for_an_address(server_hostname: str | None) -> None:
    server = _TlsServer(ssl.TLSVersion.TLSv1_3)

    async def run() -> bytes:
        reader, writer = await _open(server.port, server_hostname)
        data = await _get(reader, writer, "/", "x")
        writer.close()
        return data

    try:
        assert asyncio.run(run()).endswith(b"\r\n\r\nok")
    finally:
        server.close()
    assert server.sni == [server_hostname]


def test_an_old_tls_version_still_connects() -> None:
    """End-of-life servers often speak only TLS 1.0; the probe's context allows it."""
    server = _TlsServer(ssl.TLSVersion.TLSv1)

    async def run() -> str:
        reader, writer = await _open(server.port, "old.example.com")
        version = writer.get_extra_info("ssl_object").version()
        await _get(reader, writer, "/", "x")
        writer.close()
        return str(version)

    try:
        try:
            version = asyncio.run(run())
        except ssl.SSLError as exc:  # an OpenSSL built without TLS 1.0 cannot test this
            pytest.skip(f"this OpenSSL refuses TLS 1.0 itself: {exc.reason}")
    finally:
        server.close()
    assert version == "TLSv1"


def _open_fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_a_failed_handshake_raises_the_tls_error_and_leaves_no_socket() -> None:
    """A server that speaks no TLS: the error is ssl's own (http1 turns it into "TLS failed"), and
    the TCP socket under it is closed."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def not_tls() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.recv(4096)
            conn.sendall(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n" * 4)

    thread = threading.Thread(target=not_tls, daemon=True)
    thread.start()

    async def run() -> None:
        await _open(port, "x.example.com")

    before = _open_fds()
    try:
        with pytest.raises((ssl.SSLError, ConnectionError)):
            asyncio.run(run())
    finally:
        listener.close()
        thread.join(5)
    assert _open_fds() <= before


def test_a_handshake_cancelled_by_the_deadline_leaves_no_socket() -> None:
    """A server that accepts and never answers the ClientHello: the caller's deadline cancels the
    handshake and the socket is closed with it."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    held: list[socket.socket] = []
    accepted = threading.Event()

    def silent() -> None:
        conn, _ = listener.accept()
        held.append(conn)
        accepted.set()

    thread = threading.Thread(target=silent, daemon=True)
    thread.start()

    async def run() -> None:
        async with asyncio.timeout(0.5):
            await _open(port, "x.example.com")

    before = _open_fds()
    try:
        with pytest.raises(TimeoutError):
            asyncio.run(run())
        assert accepted.wait(5)
        assert _open_fds() <= before + 1  # the server's side of the connection, still held open
        held[0].settimeout(5)
        received = b""
        while chunk := held[0].recv(65536):  # the ClientHello, then the client's FIN (a timeout fails)
            received += chunk
        assert received.startswith(b"\x16\x03")  # a TLS handshake record: the ClientHello
    finally:
        for conn in held:
            conn.close()
        listener.close()
        thread.join(5)
