"""HTTP mode: Bolt's WSGI adapter under waitress, a production WSGI server.

``POST /slack/events`` carries slash commands, button clicks and events (Bolt verifies the
``X-Slack-Signature`` HMAC and rejects requests older than 5 minutes with 401; ``bot.slack.guard``
checks the same, and the body's shape, before Bolt parses anything); ``GET /healthz`` answers
``ok`` for load balancers, or 503 with the reason when the health function names a problem;
everything else is 404. Bodies over 1 MB are refused by waitress
(Slack's payloads are a few kilobytes).

:class:`HttpServer` runs the waitress loop in a thread and stops cleanly on :meth:`HttpServer.stop`
(waitress's own ``serve()`` only stops on a signal in the main thread).
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterable
from typing import Any

import waitress
from slack_bolt import App
from slack_bolt.adapter.wsgi import SlackRequestHandler
from waitress import wasyncore

from bot.slack.ack_gate import AckGate
from bot.slack.guard import guarded

log = logging.getLogger(__name__)

EVENTS_PATH = "/slack/events"
HEALTH_PATH = "/healthz"
MAX_BODY = 1024 * 1024
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


# None when healthy, else the reason (one line; answered with 503).
HealthFn = Callable[[], str | None]


def _plain(start_response: Callable[..., Any], status: str, text: str) -> list[bytes]:
    body = text.encode("utf-8", "replace")[:1000]
    start_response(status, [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body)))])
    return [body]


def wsgi_app(
    app: App | None,
    path: str = EVENTS_PATH,
    health: HealthFn | None = None,
    signing_secret: str | None = None,
    gate: AckGate | None = None,
) -> WSGIApp:
    """Bolt at ``path`` (none when ``app`` is None: a health-only server) and ``GET /healthz``.
    Unsigned, stale or malformed requests are answered by the guard and never reach Bolt. Requests
    to ``path`` are marked on ``gate`` while they are answered (the job runner's: jobs wait)."""
    bolt: WSGIApp | None = None
    if app is not None:
        secret = signing_secret if signing_secret is not None else str(getattr(app, "_signing_secret", "") or "")
        bolt = guarded(SlackRequestHandler(app, path=path), secret, path=path, max_body=MAX_BODY)

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") == HEALTH_PATH and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            problem = health() if health is not None else None
            if problem:
                return _plain(start_response, "503 Service Unavailable", f"unhealthy: {problem}")
            return _plain(start_response, "200 OK", "ok")
        if bolt is None:
            return _plain(start_response, "404 Not Found", "not found")
        if gate is None:
            return bolt(environ, start_response)
        with gate.answering():
            return bolt(environ, start_response)

    return application


class HttpServer:
    """waitress serving the Bolt app on ``host:port`` (port 0 picks a free one: see :attr:`port`)."""

    def __init__(
        self,
        app: App | None,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        threads: int = 16,
        health: HealthFn | None = None,
        gate: AckGate | None = None,
    ) -> None:
        self._map: dict[int, Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.server = waitress.create_server(
            wsgi_app(app, health=health, gate=gate),
            map=self._map,
            host=host,
            port=port,
            threads=threads,
            ident="exchbot",
            max_request_body_size=MAX_BODY,
            channel_timeout=30,
            connection_limit=200,
        )

    @property
    def port(self) -> int:
        return int(self.server.effective_port)

    @property
    def url(self) -> str:
        host = str(self.server.effective_host)
        return f"http://{'[' + host + ']' if ':' in host else host}:{self.port}{EVENTS_PATH}"

    def serve(self) -> None:
        """Run until :meth:`stop` is called (from another thread)."""
        try:
            while not self._stop.is_set() and self._map:
                wasyncore.loop(timeout=0.2, map=self._map, count=1)
        finally:
            self._close()

    def start(self) -> HttpServer:
        self._thread = threading.Thread(target=self.serve, name="exchbot-http", daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def _close(self) -> None:
        for channel in list(self._map.values()):
            with contextlib.suppress(OSError):
                channel.close()
        self._map.clear()
        self.server.task_dispatcher.shutdown(timeout=5)
