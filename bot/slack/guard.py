"""A guard in front of Bolt's WSGI adapter (HTTP mode): Bolt parses a request before it verifies it,
so junk (a timestamp ``abc``, a body that is not UTF-8, ``payload={{{not json``) used to end in HTTP
500 and a traceback per request.

The guard reads the body (bounded), checks the timestamp's shape and age and the ``v0`` HMAC
signature, then the body's shape: UTF-8, form or JSON, a ``payload`` that is a JSON object whose
well-known fields have the right types. Anything else is answered here: 400 (malformed) or 401
(unsigned, wrong signature, stale), with one short log line, rate-limited, never the body. A stale
timestamp is logged as a clock-skew hint. Only well-formed, signed requests reach Bolt.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import threading
import time
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

log = logging.getLogger(__name__)

MAX_AGE = 300  # seconds; Slack's own rule (and Bolt's)
MAX_TIMESTAMP_DIGITS = 12
WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]

# Fields of a Slack interaction payload / event envelope that Bolt reads as objects.
_OBJECT_FIELDS = ("user", "team", "channel", "container", "view", "message", "enterprise", "event", "state")
_LIST_FIELDS = ("actions", "authorizations")


class Rejected(Exception):
    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


class LogLimiter:
    """At most ``burst`` lines per ``window`` seconds; then one line saying how many were dropped."""

    def __init__(self, burst: int = 10, window: float = 60.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = burst
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._start = -window
        self._used = 0
        self._dropped = 0

    def log(self, logger: logging.Logger, message: str, *args: object) -> None:
        with self._lock:
            now = self._clock()
            dropped = 0
            if now - self._start >= self.window:
                self._start, self._used, dropped, self._dropped = now, 0, self._dropped, 0
            if self._used >= self.burst:
                self._dropped += 1
                return
            self._used += 1
        if dropped:
            logger.warning("%d more rejected requests were not logged", dropped)
        logger.warning(message, *args)


def check_timestamp(value: str | None, now: float) -> int:
    if not value:
        raise Rejected(401, "unsigned request (no X-Slack-Request-Timestamp)")
    if not (value.isascii() and value.isdigit() and len(value) <= MAX_TIMESTAMP_DIGITS):
        raise Rejected(400, "malformed X-Slack-Request-Timestamp (not whole seconds)")
    ts = int(value)
    skew = now - ts
    if abs(skew) > MAX_AGE:
        raise Rejected(
            401,
            f"stale request: timestamp {abs(skew):.0f} s {'behind' if skew > 0 else 'ahead of'} this server's clock "
            "(a replay, or a clock out of sync: check NTP)",
        )
    return ts


def check_signature(secret: str, timestamp: str, body: bytes, signature: str | None) -> None:
    if not signature:
        raise Rejected(401, "unsigned request (no X-Slack-Signature)")
    expected = "v0=" + hmac.new(secret.encode(), b"v0:" + timestamp.encode() + b":" + body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected.encode(), signature.encode("ascii", "replace")):
        raise Rejected(401, "bad signature")


def check_body(body: bytes, content_type: str) -> None:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Rejected(400, "body is not UTF-8") from None
    if content_type.startswith("application/json"):
        _check_payload(_json(text), "JSON body")
        return
    try:
        form = urllib.parse.parse_qs(text, keep_blank_values=True, strict_parsing=False, max_num_fields=200)
    except ValueError:
        raise Rejected(400, "malformed form body") from None
    if "payload" in form:
        if len(form["payload"]) != 1:
            raise Rejected(400, "more than one payload field")
        _check_payload(_json(form["payload"][0]), "payload")


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except (ValueError, RecursionError):
        raise Rejected(400, "payload is not JSON") from None


def _check_payload(doc: Any, what: str) -> None:
    if not isinstance(doc, dict):
        raise Rejected(400, f"{what} is not a JSON object")
    if not isinstance(doc.get("type"), str):
        raise Rejected(400, f"{what} has no type")
    for name in _OBJECT_FIELDS:
        if doc.get(name) is not None and not isinstance(doc[name], dict):
            raise Rejected(400, f"{doc['type'][:40]!a} {what}: {name} is not an object")
    for name in _LIST_FIELDS:
        value = doc.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(x, dict) for x in value)):
            raise Rejected(400, f"{doc['type'][:40]!a} {what}: {name} is not a list of objects")
    for action in doc.get("actions") or ():
        for key in ("action_id", "block_id", "value"):
            if action.get(key) is not None and not isinstance(action[key], str):
                raise Rejected(400, f"{doc['type'][:40]!a} {what}: an action's {key} is not text")
    event = doc.get("event")
    if isinstance(event, dict) and not isinstance(event.get("type"), str):
        raise Rejected(400, f"{what}: event has no type")


def guarded(
    inner: WSGIApp,
    signing_secret: str,
    *,
    path: str,
    max_body: int,
    clock: Callable[[], float] = time.time,
    limiter: LogLimiter | None = None,
) -> WSGIApp:
    """``inner`` (Bolt) behind the guard, for POSTs to ``path``; other requests pass through."""
    limiter = limiter or LogLimiter()

    def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO") != path or environ.get("REQUEST_METHOD") != "POST":
            return inner(environ, start_response)
        try:
            body = _read_body(environ, max_body)
            timestamp = environ.get("HTTP_X_SLACK_REQUEST_TIMESTAMP")
            check_timestamp(timestamp, clock())
            assert timestamp is not None
            check_signature(signing_secret, timestamp, body, environ.get("HTTP_X_SLACK_SIGNATURE"))
            check_body(body, str(environ.get("CONTENT_TYPE") or ""))
        except Rejected as exc:
            peer = str(environ.get("REMOTE_ADDR", "?"))[:64]
            limiter.log(log, "rejected a request from %s: HTTP %d, %s", peer, exc.status, exc.reason)
            reason = "Bad Request" if exc.status == 400 else "Unauthorized"
            start_response(f"{exc.status} {reason}", [("Content-Type", "text/plain"), ("Content-Length", "0")])
            return [b""]
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        return inner(environ, start_response)

    return application


def _read_body(environ: dict[str, Any], max_body: int) -> bytes:
    try:
        length = int(str(environ.get("CONTENT_LENGTH") or "0"))
    except ValueError:
        raise Rejected(400, "malformed Content-Length") from None
    if length < 0 or length > max_body:
        raise Rejected(400, "body too large")
    stream = environ.get("wsgi.input")
    body = stream.read(length) if stream is not None and length else b""
    return bytes(body)
