"""A TLS server in a thread on 127.0.0.1 for transport and HTTP framing tests: each connection is
handed, as a TLS socket, to ``serve``; the certificate is the simulator's throwaway one."""

from __future__ import annotations

import socket
import ssl
import threading
import warnings
from collections.abc import Callable, Sequence

from tests.fakes.exchange_sim import ExchangeSimulator


class TlsServer:
    """Speaks only ``version`` (TLS 1.0 to 1.3), records the SNI it was sent and runs ``serve`` on
    the TLS socket of each of ``connections`` connections, one after another."""

    def __init__(
        self,
        serve: Callable[[ssl.SSLSocket], None],
        *,
        version: ssl.TLSVersion = ssl.TLSVersion.TLSv1_3,
        connections: int = 1,
    ) -> None:
        ctx = ExchangeSimulator()._server_context()
        with warnings.catch_warnings():  # TLS 1.0 is deprecated: a test may want it all the same
            warnings.simplefilter("ignore", DeprecationWarning)
            ctx.minimum_version = ctx.maximum_version = version
        if version < ssl.TLSVersion.TLSv1_2:
            ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
        self.sni: list[str | None] = []
        ctx.sni_callback = lambda sock, name, c: self.sni.append(name)
        self.ctx = ctx
        self.serve = serve
        self.connections = connections
        self.errors: list[BaseException] = []
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self) -> None:
        for _ in range(self.connections):
            try:
                conn, _ = self.listener.accept()
            except OSError:
                return
            with conn:
                try:
                    with self.ctx.wrap_socket(conn, server_side=True) as tls:
                        self.serve(tls)
                except (ssl.SSLError, OSError) as exc:
                    self.errors.append(exc)

    def close(self) -> None:
        self.listener.close()
        self.thread.join(10)


def read_request(tls: ssl.SSLSocket) -> bytes:
    """One request head (through the blank line), or what came before the client closed."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = tls.recv(4096)
        if not chunk:
            break
        data += chunk
    return data


def scripted(
    answers: Sequence[bytes], *, close: bool, requests: list[bytes] | None = None
) -> Callable[[ssl.SSLSocket], None]:
    """A ``serve`` that answers each request with the next of ``answers`` (bytes as sent, whatever
    they are), then closes the connection (``close``) or waits until the client does."""

    def serve(tls: ssl.SSLSocket) -> None:
        for answer in answers:
            request = read_request(tls)
            if requests is not None:
                requests.append(request)
            if not request:
                return
            tls.sendall(answer)
        if not close:
            tls.settimeout(20)
            while tls.recv(4096):  # until the client closes
                pass

    return serve
