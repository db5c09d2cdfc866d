"""A probe's TLS stream (bot/probe/tls.py): a non-blocking ssl socket driven by the event loop's
readiness callbacks, against real TLS servers on 127.0.0.1. It must be a whole TLS stream: SNI or
none, answers of many TLS records, writes larger than the socket takes at once, an old TLS
version, the end of the stream, and no socket or callback left behind by a failed, cancelled or
closed connection.
"""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import ssl
import threading
import tracemalloc
from collections.abc import Coroutine, Iterator
from typing import Any

import pytest

from bot.probe import http1
from bot.probe.fetch import insecure_ssl_context
from bot.probe.tls import TlsStream, open_tls
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.fakes.tls_server import TlsServer

CONNECTIONS = 20


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="exchange_se_current") as s:
        yield s


def _open(port: int, server_hostname: str | None = "x.example.com") -> Coroutine[Any, Any, TlsStream]:
    """open_tls to 127.0.0.1:``port`` as the prober opens it."""
    return open_tls("127.0.0.1", port, ssl_context=insecure_ssl_context(), server_hostname=server_hostname)


async def _get(stream: TlsStream, path: str, host: str) -> bytes:
    """One GET with Connection: close, read to the end of the stream."""
    await stream.send(f"GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
    data = b""
    while chunk := await stream.recv():
        data += chunk
    return data


def _answer_once(tls: ssl.SSLSocket) -> None:
    tls.recv(4096)
    tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")


def test_a_connection_allocates_far_less_than_asyncios_256_kib(sim: ExchangeSimulator) -> None:
    """Memory allocated for the prober's connections (what was allocated with http1.connect on the
    stack: the simulator's own server-side connections are not counted)."""

    async def open_many() -> tuple[int, int]:
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
        versions = {conn.stream.version() for conn in conns}
        for conn in conns:
            conn.close()
        ours = snapshot.filter_traces([tracemalloc.Filter(True, http1.__file__, all_frames=True)])
        return sum(stat.size for stat in ours.statistics("filename")), len(versions - {None})

    gc.collect()
    allocated, handshaken = asyncio.run(open_many())
    assert handshaken == 1  # every connection finished its handshake (one TLS version among them)
    per_connection = allocated / CONNECTIONS
    # about 9 KiB on CPython 3.11 (the socket objects and h11's state); asyncio's TLS streams took
    # about 46 KiB with their buffer cut to 32 KiB, 270 KiB with asyncio's own 256 KiB
    assert 0 < per_connection < 32 * 1024


def test_answers_of_many_tls_records_arrive_whole(sim: ExchangeSimulator) -> None:
    host = "exchange-se-current.sim.test"

    async def fetch() -> tuple[bytes, str | None, bytes]:
        stream = await _open(sim.port, host)
        sni = stream.server_hostname
        data = await _get(stream, "/owa/auth/logon.aspx", host)
        stream.close()
        # the same page through asyncio's own TLS streams, to compare byte for byte
        r2, w2 = await asyncio.open_connection("127.0.0.1", sim.port, ssl=insecure_ssl_context(), server_hostname=host)
        w2.write(f"GET /owa/auth/logon.aspx HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n".encode())
        expected = await r2.read()
        w2.close()
        return data, sni, expected

    data, sni, expected = asyncio.run(fetch())
    assert sni == host
    head, _, body = data.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200") and len(body) > 16 * 1024  # more than one TLS record
    assert body == expected.split(b"\r\n\r\n", 1)[1]


@pytest.mark.parametrize("server_hostname", ["mail.example.com", None])
def test_sni_is_sent_for_a_name_and_not_for_an_address(server_hostname: str | None) -> None:
    server = TlsServer(_answer_once)

    async def run() -> bytes:
        stream = await _open(server.port, server_hostname)
        data = await _get(stream, "/", "x")
        stream.close()
        return data

    try:
        assert asyncio.run(run()).endswith(b"\r\n\r\nok")
    finally:
        server.close()
    assert server.sni == [server_hostname]


def test_an_old_tls_version_still_connects() -> None:
    """End-of-life servers often speak only TLS 1.0; the probe's context allows it."""
    server = TlsServer(_answer_once, version=ssl.TLSVersion.TLSv1)

    async def run() -> str:
        stream = await _open(server.port, "old.example.com")
        version = stream.version()
        await _get(stream, "/", "x")
        stream.close()
        return str(version)

    try:
        try:
            version = asyncio.run(run())
        except ssl.SSLError as exc:  # an OpenSSL built without TLS 1.0 cannot test this
            pytest.skip(f"this OpenSSL refuses TLS 1.0 itself: {exc.reason}")
    finally:
        server.close()
    assert version == "TLSv1"


def test_a_write_larger_than_the_socket_takes_waits_and_arrives_whole() -> None:
    """The server reads nothing until the client has had to wait for the socket to take more: the
    send must wait for writability (OpenSSL's want-write) and then deliver every byte in order."""
    payload = os.urandom(32 * 1024 * 1024)  # far more than loopback's socket buffers, even autotuned
    release = threading.Event()
    received: list[bytes] = []

    def read_late(tls: ssl.SSLSocket) -> None:
        release.wait(20)
        data = bytearray()
        while len(data) < len(payload) and (chunk := tls.recv(1 << 20)):
            data += chunk
        received.append(bytes(data))
        tls.sendall(b"done")

    server = TlsServer(read_late)

    async def run() -> tuple[bool, bytes]:
        stream = await _open(server.port)
        sending = asyncio.create_task(stream.send(payload))
        for _ in range(200):  # until the socket is full and send waits (a few turns of the loop)
            await asyncio.sleep(0.01)
        waited = not sending.done()
        release.set()
        await asyncio.wait_for(sending, 20)
        answer = await asyncio.wait_for(stream.recv(), 20)
        stream.close()
        return waited, answer

    try:
        waited, answer = asyncio.run(run())
    finally:
        release.set()
        server.close()
    assert waited, "the whole payload fit in the socket buffers: the test did not make send wait"
    assert received == [payload]
    assert answer == b"done"


@pytest.mark.parametrize("close_notify", [True, False])
def test_the_end_of_the_stream_is_an_empty_read(close_notify: bool) -> None:
    """After the server's TLS close_notify, or a bare TCP close without it (common on the
    internet), recv returns what arrived and then b""; deciding whether the answer was cut short is
    the HTTP framing's job."""

    def answer_and_close(tls: ssl.SSLSocket) -> None:
        tls.recv(4096)
        tls.sendall(b"partial")
        if close_notify:
            tls.unwrap().close()
        else:
            tls.shutdown(socket.SHUT_RDWR)  # FIN under TLS, no close_notify

    server = TlsServer(answer_and_close)

    async def run() -> list[bytes]:
        stream = await _open(server.port)
        await stream.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        chunks = []
        while chunk := await asyncio.wait_for(stream.recv(), 20):
            chunks.append(chunk)
        chunks.append(await asyncio.wait_for(stream.recv(), 20))  # still b"": the end stays the end
        stream.close()
        return chunks

    try:
        chunks = asyncio.run(run())
    finally:
        server.close()
    assert b"".join(chunks) == b"partial" and chunks[-1] == b""


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


def test_a_refused_connection_raises_and_leaves_no_socket() -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    listener.close()  # nothing listens on the port any more

    before = _open_fds()
    with pytest.raises(ConnectionRefusedError):
        asyncio.run(_open(port))
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


def test_closing_a_connection_a_task_waits_on_ends_the_wait_and_frees_the_descriptor() -> None:
    """A host's check is cancelled while one of its reads waits (the server says nothing): closing
    the connection ends that read at once with ConnectionAbortedError, instead of at its deadline,
    and leaves no callback behind on the descriptor's number, which the next connection may reuse
    (a callback left there would take that connection's readiness)."""
    quiet = threading.Event()

    def say_nothing_then_answer(tls: ssl.SSLSocket) -> None:
        if not quiet.is_set():  # the first connection: read the request, answer nothing
            quiet.set()
            tls.recv(4096)
            tls.recv(4096)  # until the client closes
        else:
            _answer_once(tls)

    server = TlsServer(say_nothing_then_answer, connections=2)

    async def run() -> tuple[BaseException | None, bool, bytes]:
        first = await _open(server.port)
        await first.send(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        waiting = asyncio.create_task(first.recv())
        await asyncio.sleep(0.05)  # the read is now waiting on the socket
        first.close()
        done, _ = await asyncio.wait([waiting], timeout=5)
        error = waiting.exception() if waiting in done else None
        second = await _open(server.port)  # likely the same descriptor number
        answer = await asyncio.wait_for(_get(second, "/", "x"), 10)
        second.close()
        return error, waiting in done, answer

    try:
        error, ended, answer = asyncio.run(run())
    finally:
        server.close()
    assert ended, "the read kept waiting after its connection was closed"
    assert isinstance(error, ConnectionAbortedError)
    assert answer.endswith(b"\r\n\r\nok")


def test_a_closed_stream_refuses_further_use() -> None:
    server = TlsServer(_answer_once)

    async def run() -> None:
        stream = await _open(server.port)
        stream.close()
        stream.close()  # closing twice is harmless
        with pytest.raises(ConnectionAbortedError):
            await stream.recv()
        with pytest.raises(ConnectionAbortedError):
            await stream.send(b"x")

    try:
        asyncio.run(run())
    finally:
        server.close()
