"""Closing a host's connections sends the TLS close_notify but neither waits for the server's nor
leaves the socket open waiting for it (asyncio's TLS streams held it 30 s by default).

A real server far away answers close_notify one round trip later: waiting for it added that round
trip to every host's answer. A server that never answers it (a tarpit, a broken middlebox) kept the
socket open until asyncio gave up, so a long batch against such hosts could run out of sockets.

The server here is a plain TLS socket in a thread on 127.0.0.1 that answers one GET and then never
reads TLS again: it watches the raw TCP socket for the client's close_notify and its FIN.
"""

from __future__ import annotations

import asyncio
import os
import select
import socket
import ssl
import threading
from collections.abc import Iterator

import pytest

from bot.probe.fetch import Http1Session, insecure_ssl_context
from bot.probe.targets import parse_target
from tests.fakes.exchange_sim import ExchangeSimulator

BODY = b"<html>ok</html>"
RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nContent-Type: text/html\r\n\r\n%s" % (len(BODY), BODY)


class SilentCloser:
    """Answers one GET per connection over TLS, then never speaks TLS again; ``raw`` holds what
    the client sent after that, read from the TCP socket underneath (bytes, then b"" at its FIN)."""

    def __init__(self) -> None:
        sim = ExchangeSimulator()  # only for its certificate and server context
        self.ctx: ssl.SSLContext = sim._server_context()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port = self.listener.getsockname()[1]
        self.raw: list[bytes] = []
        self.fin = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        sock, _ = self.listener.accept()
        tls = self.ctx.wrap_socket(sock, server_side=True)
        request = b""
        while b"\r\n\r\n" not in request:
            request += tls.recv(4096)
        tls.sendall(RESPONSE)
        raw = socket.socket(fileno=os.dup(tls.fileno()))  # the TCP socket, read below TLS
        while select.select([raw], [], [], 20)[0]:
            data = raw.recv(4096)
            self.raw.append(data)
            if not data:
                self.fin.set()
                break
        raw.close()
        tls.close()

    def close(self) -> None:
        self.listener.close()


@pytest.fixture()
def server() -> Iterator[SilentCloser]:
    s = SilentCloser()
    yield s
    s.close()


def test_closing_does_not_wait_for_the_servers_close_notify(server: SilentCloser) -> None:
    async def run() -> tuple[bool, bool]:
        session = Http1Session(parse_target(f"127.0.0.1:{server.port}"), "127.0.0.1", insecure_ssl_context())
        response = await session.get("/owa/", follow=False, max_bytes=1024)
        assert response.status == 200 and response.body == BODY
        closing = asyncio.create_task(session.aclose())
        await asyncio.sleep(0)  # one turn of the loop: no round trip to the server fits in it
        done_at_once = closing.done()
        await closing
        # the socket is dropped at once although close_notify never comes back (asyncio's TLS
        # streams would have held it 30 s by default)
        for _ in range(int(10 / 0.05)):
            if server.fin.is_set():
                break
            await asyncio.sleep(0.05)
        return done_at_once, server.fin.is_set()

    done_at_once, dropped = asyncio.run(run())
    assert done_at_once
    assert server.raw and server.raw[0] != b""  # the client did send its close_notify first
    assert dropped, "the client kept the socket waiting for a close_notify that never comes"
