"""Slack's Socket Mode endpoint, faked on 127.0.0.1 (the WebSocket side; ``apps.connections.open``
is answered by :meth:`tests.fakes.slack_api.FakeSlack.enable_socket_mode` with :meth:`url`).

What it does, after Slack's Socket Mode documentation:

* on connect, sends ``{"type": "hello", ...}``;
* :meth:`send` delivers an envelope (``slash_commands``, ``interactive``, ``events_api``) with a fresh
  ``envelope_id``; the app must acknowledge it with ``{"envelope_id": ..., "payload": ...}`` (the
  payload is the ack body: for a slash command, the ephemeral answer);
* :meth:`disconnect` sends ``{"type": "disconnect", "reason": "refresh_requested"}`` and closes that
  connection a moment later, as Slack does before it rotates a server; the client must open a new one.

Written with the ``websockets`` library's threaded server, independent of the Slack SDK's client.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
import uuid
from typing import Any

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve


class FakeSocketServer:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._cond = threading.Condition(self._lock)
        self._conns: list[ServerConnection] = []
        self._acks: dict[str, dict[str, Any]] = {}
        self._received: list[dict[str, Any]] = []
        self._seq = itertools.count(1)
        self.connections_opened = 0
        self.paths: list[str] = []
        self._server: Server | None = None
        self._thread: threading.Thread | None = None

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSocketServer:
        self._server = serve(self._handle, "127.0.0.1", 0)
        self._thread = threading.Thread(target=self._server.serve_forever, name="FakeSocket", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._server is not None:
            self._server.shutdown()
        if self._thread is not None:
            self._thread.join(5)

    def __enter__(self) -> FakeSocketServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def port(self) -> int:
        assert self._server is not None
        return int(self._server.socket.getsockname()[1])

    def url(self) -> str:
        """A fresh endpoint per ``apps.connections.open``, like Slack's ticketed URLs."""
        return f"ws://127.0.0.1:{self.port}/link/?ticket={uuid.uuid4().hex}&app_id=A0EXCHBOT"

    # ----------------------------------------------------------------- the connection

    def _handle(self, conn: ServerConnection) -> None:
        with self._cond:
            self._conns.append(conn)
            self.connections_opened += 1
            self.paths.append(conn.request.path if conn.request else "")
            self._cond.notify_all()
        try:
            conn.send(
                json.dumps(
                    {
                        "type": "hello",
                        "num_connections": 1,
                        "debug_info": {"host": "fake-socket", "approximate_connection_time": 18060},
                        "connection_info": {"app_id": "A0EXCHBOT"},
                    }
                )
            )
            for raw in conn:
                try:
                    msg = json.loads(raw)
                except ValueError:
                    continue
                if not isinstance(msg, dict):
                    continue
                with self._cond:
                    self._received.append(msg)
                    if isinstance(msg.get("envelope_id"), str):
                        self._acks[msg["envelope_id"]] = msg
                    self._cond.notify_all()
        except ConnectionClosed:
            pass
        finally:
            with self._cond:
                if conn in self._conns:
                    self._conns.remove(conn)
                self._cond.notify_all()

    def live(self) -> int:
        with self._lock:
            return len(self._conns)

    def wait_connections(self, opened: int, timeout: float = 15.0) -> bool:
        """Until ``opened`` connections were opened in all and one is live."""
        with self._cond:
            return self._cond.wait_for(lambda: self.connections_opened >= opened and bool(self._conns), timeout)

    def wait_no_connection(self, timeout: float = 15.0) -> bool:
        with self._cond:
            return self._cond.wait_for(lambda: not self._conns, timeout)

    def _current(self) -> ServerConnection:
        with self._lock:
            if not self._conns:
                raise RuntimeError("no Socket Mode connection")
            return self._conns[-1]

    # ----------------------------------------------------------------- envelopes

    def send(self, kind: str, payload: dict[str, Any]) -> str:
        """Deliver one envelope on the newest connection; returns its envelope_id."""
        envelope_id = f"env-{next(self._seq)}-{uuid.uuid4().hex[:8]}"
        envelope = {
            "envelope_id": envelope_id,
            "type": kind,
            "payload": payload,
            "accepts_response_payload": kind != "events_api",
            "retry_attempt": 0,
            "retry_reason": "",
        }
        self._current().send(json.dumps(envelope))
        return envelope_id

    def ack(self, envelope_id: str, timeout: float = 10.0) -> dict[str, Any]:
        """The app's acknowledgement of an envelope (waits for it)."""
        with self._cond:
            if not self._cond.wait_for(lambda: envelope_id in self._acks, timeout):
                raise TimeoutError(f"no ack for {envelope_id}")
            return self._acks[envelope_id]

    def disconnect(self, reason: str = "refresh_requested", close_after: float = 0.5) -> None:
        """Ask the client to reconnect, then close the old connection as Slack does."""
        conn = self._current()
        conn.send(json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-socket"}}))

        def later() -> None:
            time.sleep(close_after)
            conn.close()

        threading.Thread(target=later, daemon=True).start()
