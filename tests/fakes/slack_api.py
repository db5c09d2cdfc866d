"""A fake Slack Web API, upload host and response_url endpoint on 127.0.0.1.

Point the real ``slack_sdk.WebClient`` at it with ``base_url=fake.api_url`` and put
``fake.response_url("r1")`` into slash-command payloads, so tests exercise the exact bytes
slack_sdk and Bolt put on the wire (form, JSON and raw upload bodies, Bearer tokens).

    with FakeSlack() as fake:
        client = WebClient(base_url=fake.api_url, token="xoxb-test")
        client.chat_postMessage(channel="C1", text="hi")
        assert fake.calls_to("chat.postMessage")[0].params["text"] == "hi"

Call records use these method names besides Web API ones: ``"upload"`` (bytes POSTed to an
upload_url) and ``"response_url"`` (JSON POSTed to a response_url). The same names work for
``fail_next``, ``fail_always`` and ``delay``.

Response shapes follow Slack's documented examples; IDs and names are invented.
"""

from __future__ import annotations

import json
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlsplit

T = TypeVar("T")

# Block Kit limits (docs.slack.dev "Reference: blocks"); messages allow 50 blocks, Home tabs 100.
MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MODAL_TITLE = 24  # title, submit and close texts of a modal
MAX_METADATA = 3000  # private_metadata
MAX_INPUT_LABEL = 2000
MAX_SECTION_TEXT = 3000
MAX_SECTION_FIELDS = 10
MAX_FIELD_TEXT = 2000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10
MAX_ACTIONS_ELEMENTS = 25
MAX_MESSAGE_TEXT = 40000
MAX_BODY_BYTES = 64 * 1024 * 1024

# Default bodies for response_url failures, as Slack's webhook endpoint words them.
_RESPONSE_URL_BODIES = {
    400: "invalid_payload",
    403: "action_prohibited",
    404: "expired_url",
    410: "channel_is_archived",
    429: "rate_limited",
    500: "internal_error",
    503: "service_unavailable",
}


@dataclass
class Call:
    """One HTTP request the fake received. ``headers`` keys are lower-cased."""

    method: str
    params: dict[str, Any]
    headers: dict[str, str]
    time: float
    kind: str  # "json", "form", "multipart", "raw" or "none"
    token: str | None = None
    name: str | None = None  # response_url name, or file_id for uploads
    status: int = 200
    response: Any = None
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        if isinstance(self.response, dict):
            return bool(self.response.get("ok"))
        return self.status == 200


@dataclass
class Upload:
    """A file announced by files.getUploadURLExternal; filled in by the upload and completion."""

    file_id: str
    filename: str
    length: int
    upload_key: str
    data: bytes | None = None
    content_type: str | None = None
    title: str | None = None
    alt_txt: str | None = None
    channel: str | None = None
    channels: list[str] = field(default_factory=list)
    initial_comment: str | None = None
    thread_ts: str | None = None
    completed: bool = False


@dataclass
class _Fault:
    error: str
    status: int
    retry_after: int | None


class _ApiError(Exception):
    """Raised by method handlers to return ``{"ok": false, "error": ...}``."""

    def __init__(self, error: str, messages: list[str] | None = None, errors: list[str] | None = None) -> None:
        super().__init__(error)
        self.error = error
        self.messages = messages or []
        self.errors = errors


@dataclass
class _Request:
    http_method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class _Reply:
    status: int
    body: Any  # dict -> JSON, str -> text
    headers: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------------------------------------
# request body parsing


def _flatten(qs: dict[str, list[str]]) -> dict[str, str]:
    return {k: v[-1] for k, v in qs.items()}


def _split_multipart(body: bytes, content_type: str) -> list[tuple[dict[str, str], bytes]]:
    """Parts of a multipart body as (content-disposition params + content-type, bytes).

    Hand-rolled so binary payloads come back byte-for-byte (no newline or charset rewriting).
    """
    header = Message()
    header["content-type"] = content_type
    boundary = header.get_param("boundary")
    if not isinstance(boundary, str) or not boundary:
        return []
    delimiter = b"--" + boundary.encode("latin-1")
    parts: list[tuple[dict[str, str], bytes]] = []
    for chunk in body.split(delimiter)[1:]:
        if chunk.startswith(b"--"):
            break
        head, sep, content = chunk.partition(b"\r\n\r\n")
        if not sep:
            continue
        # A part's content is followed by the CRLF that precedes the next delimiter.
        content = content.removesuffix(b"\r\n")
        info: dict[str, str] = {}
        for line in head.decode("utf-8", "replace").split("\r\n"):
            key, colon, value = line.partition(":")
            if not colon:
                continue
            msg = Message()
            msg[key.strip()] = value.strip()
            if key.strip().lower() == "content-disposition":
                for pname in ("name", "filename"):
                    pvalue = msg.get_param(pname, header="content-disposition")
                    if isinstance(pvalue, str):
                        info[pname] = pvalue
            elif key.strip().lower() == "content-type":
                info["content-type"] = value.strip()
        parts.append((info, content))
    return parts


def _parse_body(req: _Request) -> tuple[dict[str, Any], str, dict[str, tuple[str, bytes]]]:
    """(params, kind, files). Query parameters are merged under the body's."""
    ctype = req.headers.get("content-type", "")
    lowered = ctype.lower()
    params: dict[str, Any] = dict(req.query)
    files: dict[str, tuple[str, bytes]] = {}
    if not req.body:
        return params, "none", files
    if lowered.startswith("application/json"):
        try:
            data = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise _ApiError("invalid_json") from None
        if not isinstance(data, dict):
            raise _ApiError("invalid_json")
        params.update(data)
        return params, "json", files
    if lowered.startswith("multipart/form-data"):
        for info, content in _split_multipart(req.body, ctype):
            pname = info.get("name", "")
            if "filename" in info:
                files[pname] = (info["filename"], content)
            else:
                params[pname] = content.decode("utf-8", "replace")
        return params, "multipart", files
    params.update(_flatten(parse_qs(req.body.decode("utf-8", "replace"), keep_blank_values=True)))
    return params, "form", files


def _maybe_json(value: Any) -> Any:
    """Form-encoded requests carry structured arguments (blocks, view, files) as JSON strings."""
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


# ---------------------------------------------------------------------------------------------
# Block Kit validation (the subset of Slack's schema checks that exchbot can trip over)


def _text_errors(obj: Any, pointer: str, max_len: int, allowed: tuple[str, ...]) -> list[str]:
    if not isinstance(obj, dict):
        return [f"must be an object [json-pointer:{pointer}]"]
    errs: list[str] = []
    if obj.get("type") not in allowed:
        errs.append(f"must be one of {', '.join(allowed)} [json-pointer:{pointer}/type]")
    text = obj.get("text")
    if not isinstance(text, str):
        errs.append(f"missing required field: text [json-pointer:{pointer}]")
    elif len(text) == 0:
        errs.append(f"must be more than 0 characters [json-pointer:{pointer}/text]")
    elif len(text) > max_len:
        errs.append(f"must be less than {max_len + 1} characters [json-pointer:{pointer}/text]")
    return errs


def block_errors(blocks: Any, max_blocks: int = MAX_MESSAGE_BLOCKS) -> list[str]:
    """Slack-style schema error strings for a blocks array; empty when valid."""
    if not isinstance(blocks, list):
        return ["must be an array [json-pointer:/blocks]"]
    errs: list[str] = []
    if len(blocks) > max_blocks:
        errs.append(f"no more than {max_blocks} items allowed [json-pointer:/blocks]")
    any_text = ("plain_text", "mrkdwn")
    for i, block in enumerate(blocks):
        at = f"/blocks/{i}"
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            errs.append(f"missing required field: type [json-pointer:{at}]")
            continue
        if len(str(block.get("block_id", ""))) > 255:
            errs.append(f"must be less than 256 characters [json-pointer:{at}/block_id]")
        kind = block["type"]
        if kind == "section":
            if "text" not in block and "fields" not in block:
                errs.append(f"must provide either text or fields [json-pointer:{at}]")
            if "text" in block:
                errs += _text_errors(block["text"], f"{at}/text", MAX_SECTION_TEXT, any_text)
            fields = block.get("fields")
            if fields is not None:
                if not isinstance(fields, list):
                    errs.append(f"must be an array [json-pointer:{at}/fields]")
                else:
                    if len(fields) > MAX_SECTION_FIELDS:
                        errs.append(f"no more than {MAX_SECTION_FIELDS} items allowed [json-pointer:{at}/fields]")
                    for j, f in enumerate(fields):
                        errs += _text_errors(f, f"{at}/fields/{j}", MAX_FIELD_TEXT, any_text)
        elif kind == "header":
            errs += _text_errors(block.get("text"), f"{at}/text", MAX_HEADER_TEXT, ("plain_text",))
        elif kind == "input":
            errs += _text_errors(block.get("label"), f"{at}/label", MAX_INPUT_LABEL, ("plain_text",))
            element = block.get("element")
            if not isinstance(element, dict) or not isinstance(element.get("type"), str):
                errs.append(f"missing required field: element [json-pointer:{at}]")
            elif len(str(element.get("action_id", ""))) > 255:
                errs.append(f"must be less than 256 characters [json-pointer:{at}/element/action_id]")
            if "hint" in block:
                errs += _text_errors(block["hint"], f"{at}/hint", MAX_INPUT_LABEL, ("plain_text",))
        elif kind in ("context", "actions"):
            limit = MAX_CONTEXT_ELEMENTS if kind == "context" else MAX_ACTIONS_ELEMENTS
            elements = block.get("elements")
            if not isinstance(elements, list) or not elements:
                errs.append(f"must provide at least 1 item [json-pointer:{at}/elements]")
            elif len(elements) > limit:
                errs.append(f"no more than {limit} items allowed [json-pointer:{at}/elements]")
    return errs


def _invalid_blocks(errs: list[str]) -> _ApiError:
    return _ApiError("invalid_blocks", messages=[f"[ERROR] {e}" for e in errs], errors=errs)


# ---------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # the default backlog of 5 drops bursts of concurrent connects (1 s SYN retry)
    fake: FakeSlack


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.0"  # one request per connection: no idle keep-alive threads
    timeout = 10  # a stuck client must not pin a handler thread forever

    def do_POST(self) -> None:
        self._handle()

    def do_GET(self) -> None:
        self._handle()

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        return

    def _handle(self) -> None:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self._send(_Reply(411, "length_required"))  # no Slack client sends chunked bodies
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self._send(_Reply(413, "request_too_large"))
            return
        body = self.rfile.read(length) if length > 0 else b""
        split = urlsplit(self.path)
        req = _Request(
            http_method=self.command,
            path=split.path,
            query=_flatten(parse_qs(split.query, keep_blank_values=True)),
            headers={k.lower(): v for k, v in self.headers.items()},
            body=body,
        )
        self._send(self.server.fake._dispatch(req))

    def _send(self, reply: _Reply) -> None:
        if isinstance(reply.body, str):
            payload = reply.body.encode("utf-8")
            ctype = "text/plain; charset=utf-8"
        else:
            payload = json.dumps(reply.body).encode("utf-8")
            ctype = "application/json; charset=utf-8"
        self.send_response(reply.status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("X-Slack-Req-Id", secrets.token_hex(16))
        for k, v in reply.headers.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(payload)


class FakeSlack:
    """Slack Web API + upload host + response_url host on one loopback port."""

    def __init__(
        self,
        *,
        team_id: str = "T0FAKE0001",
        team: str = "Exchbot Test",
        domain: str = "exchbot-test",
        bot_user_id: str = "U0FAKEBOT1",
        bot_user: str = "exchbot",
        bot_id: str = "B0FAKEBOT1",
        app_id: str = "A0FAKEAPP1",
        max_response_uses: int | None = 5,
        max_delay: float = 30.0,
    ) -> None:
        self.team_id = team_id
        self.team = team
        self.domain = domain
        self.bot_user_id = bot_user_id
        self.bot_user = bot_user
        self.bot_id = bot_id
        self.app_id = app_id
        # Slack lets a response_url be used 5 times (in 30 minutes); None turns the check off.
        self.max_response_uses = max_response_uses
        self.max_delay = max_delay
        self.invalid_tokens: set[str] = {"xoxb-invalid"}

        self._lock = threading.RLock()
        self._stopping = threading.Event()
        self._calls: list[Call] = []
        self._uploads: dict[str, Upload] = {}  # by file_id
        self._upload_keys: dict[str, str] = {}  # upload_url key -> file_id
        self._messages: dict[str, dict[str, dict[str, Any]]] = {}  # channel -> ts -> message
        self._home_views: dict[str, dict[str, Any]] = {}
        self._modals: list[dict[str, Any]] = []  # views.open, in order
        self._channels: dict[str, dict[str, Any]] = {}
        self._users: dict[str, dict[str, Any]] = {}
        self._response_names: set[str] = set()
        self._response_uses: dict[str, int] = {}
        self._response_status: dict[str, tuple[int, str]] = {}
        self._fail_next: dict[str, deque[_Fault]] = {}
        self._fail_always: dict[str, _Fault] = {}
        self._delays: dict[str, float] = {}
        self._ts_seq = 0
        self._id_seq = 0

        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._methods: dict[str, Callable[[dict[str, Any], list[str]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._chat_post_message,
            "chat.update": self._chat_update,
            "chat.postEphemeral": self._chat_post_ephemeral,
            "chat.getPermalink": self._chat_get_permalink,
            "views.publish": self._views_publish,
            "views.open": self._views_open,
            "conversations.info": self._conversations_info,
            "users.info": self._users_info,
            "files.getUploadURLExternal": self._files_get_upload_url,
            "files.completeUploadExternal": self._files_complete_upload,
            "files.upload": self._files_upload_v1,
        }

    # ----------------------------------------------------------------- lifecycle

    def start(self) -> FakeSlack:
        if self._server is not None:
            return self
        server = _Server(("127.0.0.1", 0), _Handler)
        server.fake = self
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="FakeSlack", daemon=True
        )
        self._thread.start()
        return self

    def close(self) -> None:
        self._stopping.set()  # wakes handlers sleeping in an injected delay
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._server = None
        self._thread = None

    def __enter__(self) -> FakeSlack:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----------------------------------------------------------------- URLs

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("FakeSlack is not running")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_url(self) -> str:
        """Pass as WebClient(base_url=...) / SLACK_API_URL; ends with '/' like Slack's."""
        return f"{self.base_url}/api/"

    def response_url(self, name: str = "r1") -> str:
        """Register (idempotently) and return a response_url; only registered names accept posts."""
        if "/" in name or not name:
            raise ValueError("response_url name must be a non-empty path segment")
        with self._lock:
            self._response_names.add(name)
        return f"{self.base_url}/response/{name}"

    # ----------------------------------------------------------------- inspection

    @property
    def calls(self) -> list[Call]:
        """Snapshot of all recorded calls, oldest first."""
        with self._lock:
            return list(self._calls)

    def calls_to(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self._calls if c.method == method]

    def responses(self, name: str = "r1", *, accepted_only: bool = False) -> list[dict[str, Any]]:
        """JSON bodies posted to response_url ``name``, in order (also rejected ones by default)."""
        with self._lock:
            return [
                c.params
                for c in self._calls
                if c.method == "response_url" and c.name == name and (c.status == 200 or not accepted_only)
            ]

    @property
    def uploads(self) -> list[Upload]:
        """Files whose bytes arrived at an upload_url (channel etc. set once completed)."""
        with self._lock:
            return [u for u in self._uploads.values() if u.data is not None]

    def messages(self, channel: str) -> list[dict[str, Any]]:
        """Messages currently in a channel (after chat.update edits), oldest first."""
        with self._lock:
            return [dict(m) for m in self._messages.get(channel, {}).values()]

    @property
    def home_views(self) -> dict[str, dict[str, Any]]:
        """Last view published per user_id."""
        with self._lock:
            return dict(self._home_views)

    @property
    def modals(self) -> list[dict[str, Any]]:
        """Every modal opened with views.open, oldest first (as Slack stored it)."""
        with self._lock:
            return list(self._modals)

    @property
    def warnings(self) -> list[tuple[str, str]]:
        """(method, warning) for every call that drew a warning, e.g. missing_text_in_blocks."""
        with self._lock:
            return [(c.method, w) for c in self._calls for w in c.warnings]

    def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0, interval: float = 0.01) -> T:
        """Poll ``predicate`` until it returns something truthy; AssertionError after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            if time.monotonic() >= deadline:
                seen = ", ".join(f"{c.method}:{c.status}" for c in self.calls) or "none"
                raise AssertionError(f"condition not met within {timeout}s; calls so far: {seen}")
            time.sleep(interval)

    def wait_for_calls(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        """At least ``count`` calls to ``method`` (all of them), waiting up to ``timeout``."""

        def enough() -> list[Call]:
            found = self.calls_to(method)
            return found if len(found) >= count else []

        return self.wait_for(enough, timeout)

    def wait_for_responses(self, name: str = "r1", count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        """At least ``count`` bodies posted to response_url ``name``, waiting up to ``timeout``."""

        def enough() -> list[dict[str, Any]]:
            found = self.responses(name)
            return found if len(found) >= count else []

        return self.wait_for(enough, timeout)

    def clear(self) -> None:
        """Forget recorded calls, messages, uploads and views (faults stay)."""
        with self._lock:
            self._calls.clear()
            self._uploads.clear()
            self._upload_keys.clear()
            self._messages.clear()
            self._home_views.clear()
            self._modals.clear()
            self._response_uses.clear()

    # ----------------------------------------------------------------- configuration

    def fail_next(
        self, method: str, error: str = "ratelimited", status: int = 429, retry_after: int | None = 1
    ) -> None:
        """Make the next call to ``method`` fail once; several calls queue up."""
        with self._lock:
            self._fail_next.setdefault(method, deque()).append(_Fault(error, status, retry_after))

    def fail_always(self, method: str, error: str, status: int = 200, retry_after: int | None = None) -> None:
        with self._lock:
            self._fail_always[method] = _Fault(error, status, retry_after)

    def clear_faults(self, method: str | None = None) -> None:
        with self._lock:
            if method is None:
                self._fail_next.clear()
                self._fail_always.clear()
                self._delays.clear()
                self._response_status.clear()
            else:
                self._fail_next.pop(method, None)
                self._fail_always.pop(method, None)
                self._delays.pop(method, None)

    def response_url_status(self, name: str, status: int, body: str | None = None) -> None:
        """Make response_url ``name`` answer ``status`` (200 restores normal behaviour)."""
        with self._lock:
            if status == 200:
                self._response_status.pop(name, None)
            else:
                self._response_status[name] = (status, body or _RESPONSE_URL_BODIES.get(status, "error"))

    def delay(self, method: str, seconds: float) -> None:
        """Hold every answer for ``method`` by ``seconds`` (capped at max_delay; 0 removes)."""
        with self._lock:
            if seconds <= 0:
                self._delays.pop(method, None)
            else:
                self._delays[method] = min(seconds, self.max_delay)

    def enable_socket_mode(self, url: Callable[[], str]) -> None:
        """Answer ``apps.connections.open`` with ``url()`` (a WebSocket endpoint, e.g.
        :class:`tests.fakes.slack_socket.FakeSocketServer`); without this the method is unknown."""
        with self._lock:
            self._methods["apps.connections.open"] = lambda params, warnings: {"ok": True, "url": url()}

    def add_channel(
        self,
        channel_id: str,
        name: str = "general",
        *,
        is_private: bool = False,
        is_im: bool = False,
        is_member: bool = True,
        is_archived: bool = False,
    ) -> None:
        with self._lock:
            self._channels[channel_id] = self._channel_obj(
                channel_id, name, is_private=is_private, is_im=is_im, is_member=is_member, is_archived=is_archived
            )

    def add_user(self, user_id: str, name: str = "alice", *, real_name: str = "Alice", **extra: Any) -> None:
        with self._lock:
            user = self._user_obj(user_id, name, real_name)
            user.update(extra)
            self._users[user_id] = user

    # ----------------------------------------------------------------- dispatch

    def _dispatch(self, req: _Request) -> _Reply:
        path = req.path
        if path.startswith("/api/"):
            method = path[len("/api/") :]
            return self._timed(method, None, req, self._api)
        if path.startswith("/upload/v1/"):
            key = path[len("/upload/v1/") :]
            return self._timed("upload", key, req, self._upload)
        if path.startswith("/response/"):
            name = path[len("/response/") :]
            return self._timed("response_url", name, req, self._response)
        return _Reply(404, "not_found")

    def _timed(self, method: str, name: str | None, req: _Request, handler: Callable[..., _Reply]) -> _Reply:
        started = time.time()
        with self._lock:
            pause = self._delays.get(method, 0.0)
        if pause:
            self._stopping.wait(pause)
        call = Call(
            method=method,
            params={},
            headers=req.headers,
            time=started,
            kind="none",
            name=name,
        )
        reply: _Reply = handler(req, call)
        call.status = reply.status
        call.response = reply.body
        with self._lock:
            self._calls.append(call)
        return reply

    def _take_fault(self, method: str) -> _Fault | None:
        with self._lock:
            queue = self._fail_next.get(method)
            if queue:
                return queue.popleft()
            return self._fail_always.get(method)

    @staticmethod
    def _fault_headers(fault: _Fault) -> dict[str, str]:
        return {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}

    # ----------------------------------------------------------------- Web API

    def _api(self, req: _Request, call: Call) -> _Reply:
        try:
            params, kind, _files = _parse_body(req)
        except _ApiError as exc:
            return _Reply(200, {"ok": False, "error": exc.error})
        call.params, call.kind = params, kind
        method = call.method

        fault = self._take_fault(method)
        if fault is not None:
            return _Reply(fault.status, {"ok": False, "error": fault.error}, self._fault_headers(fault))
        handler = self._methods.get(method)
        if handler is None:
            return _Reply(200, {"ok": False, "error": "unknown_method", "req_method": method})

        api_warnings = self._charset_warnings(req, kind)
        call.warnings.extend(api_warnings)
        token = self._token(req, params, kind)
        call.token = token
        if token is None:
            return _Reply(200, {"ok": False, "error": "not_authed"})
        # apps.connections.open takes the app-level token (xapp-), every other method the bot token.
        prefix = "xapp-" if method == "apps.connections.open" else "xoxb-"
        if not token.startswith(prefix) or token in self.invalid_tokens:
            return _Reply(200, {"ok": False, "error": "invalid_auth"})

        try:
            data = handler(params, call.warnings)
        except _ApiError as exc:
            data = {"ok": False, "error": exc.error}
            if exc.errors is not None:
                data["errors"] = exc.errors
            if exc.messages:
                data["response_metadata"] = {"messages": exc.messages}
            return _Reply(200, data)
        if api_warnings:
            data["warning"] = ",".join(api_warnings)
            data.setdefault("response_metadata", {})["warnings"] = list(api_warnings)
        return _Reply(200, data)

    @staticmethod
    def _charset_warnings(req: _Request, kind: str) -> list[str]:
        # Slack flags JSON bodies without a charset and form bodies with one.
        ctype = req.headers.get("content-type", "").lower()
        if kind == "json" and "charset" not in ctype:
            return ["missing_charset"]
        if kind == "form" and "charset" in ctype:
            return ["superfluous_charset"]
        return []

    @staticmethod
    def _token(req: _Request, params: dict[str, Any], kind: str) -> str | None:
        auth = req.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[len("bearer ") :].strip() or None
        # Slack reads a token argument from form/query bodies, never from a JSON body.
        if kind != "json" and isinstance(params.get("token"), str) and params["token"]:
            return str(params["token"])
        return None

    def _next_ts(self) -> str:
        with self._lock:
            self._ts_seq += 1
            return f"{int(time.time())}.{self._ts_seq:06d}"

    def _new_id(self, prefix: str) -> str:
        with self._lock:
            self._id_seq += 1
            return f"{prefix}0FAKE{self._id_seq:05d}"

    # -- shared objects

    def _channel_obj(
        self, channel_id: str, name: str, *, is_private: bool, is_im: bool, is_member: bool, is_archived: bool
    ) -> dict[str, Any]:
        obj: dict[str, Any] = {
            "id": channel_id,
            "created": 1700000000,
            "is_archived": is_archived,
            "is_member": is_member,
            "is_im": is_im,
            "is_private": is_private or is_im,
            "context_team_id": self.team_id,
        }
        if is_im:
            obj["user"] = "U0FAKEUSR1"
        else:
            obj.update(
                {
                    "name": name,
                    "is_channel": not is_private,
                    "is_group": is_private,
                    "is_general": name == "general",
                    "creator": "U0FAKEUSR1",
                    "topic": {"value": "", "creator": "", "last_set": 0},
                    "purpose": {"value": "", "creator": "", "last_set": 0},
                }
            )
        return obj

    def _channel(self, channel_id: str) -> dict[str, Any]:
        """A registered channel, or one synthesised from the ID prefix (C public, G private, D DM)."""
        with self._lock:
            known = self._channels.get(channel_id)
        if known is not None:
            return known
        return self._channel_obj(
            channel_id,
            f"channel-{channel_id.lower()}",
            is_private=channel_id.startswith("G"),
            is_im=channel_id.startswith("D"),
            is_member=True,
            is_archived=False,
        )

    def _postable_channel(self, channel: Any) -> str:
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        info = self._channel(channel)
        if not info["is_member"]:
            # Private channels the bot is not in are invisible to it.
            raise _ApiError("channel_not_found" if info["is_private"] else "not_in_channel")
        if info["is_archived"]:
            raise _ApiError("is_archived")
        return channel

    def _user_obj(self, user_id: str, name: str, real_name: str) -> dict[str, Any]:
        return {
            "id": user_id,
            "team_id": self.team_id,
            "name": name,
            "deleted": False,
            "real_name": real_name,
            "tz": "Europe/Berlin",
            "tz_label": "Central European Time",
            "tz_offset": 3600,
            "is_admin": False,
            "is_owner": False,
            "is_bot": False,
            "is_app_user": False,
            "updated": 1700000000,
            "profile": {"real_name": real_name, "display_name": name, "team": self.team_id},
        }

    def _message_content(self, params: dict[str, Any], warnings: list[str], *, required: bool) -> dict[str, Any]:
        """Validate text/blocks/attachments like Slack does and return the stored fields."""
        text = params.get("text")
        markdown_text = params.get("markdown_text")
        blocks = _maybe_json(params.get("blocks"))
        attachments = _maybe_json(params.get("attachments"))
        has_text = isinstance(text, str) and text.strip() != ""
        has_markdown = isinstance(markdown_text, str) and markdown_text.strip() != ""
        if required and not (has_text or has_markdown or blocks or attachments):
            raise _ApiError("no_text")
        if blocks is not None and blocks != []:
            if isinstance(blocks, str):
                raise _ApiError("invalid_blocks_format")
            errs = block_errors(blocks)
            if errs:
                raise _invalid_blocks(errs)
            if not has_text and not has_markdown:
                warnings.append("missing_text_in_blocks")
        if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
            raise _ApiError("msg_too_long")
        content: dict[str, Any] = {"text": text if isinstance(text, str) else ""}
        if blocks:
            content["blocks"] = blocks
        if attachments:
            content["attachments"] = attachments
        return content

    def _bot_message(self, ts: str, content: dict[str, Any]) -> dict[str, Any]:
        msg: dict[str, Any] = {
            "user": self.bot_user_id,
            "type": "message",
            "ts": ts,
            "bot_id": self.bot_id,
            "app_id": self.app_id,
            "team": self.team_id,
            "bot_profile": {"id": self.bot_id, "app_id": self.app_id, "name": self.bot_user, "deleted": False},
        }
        msg.update(content)
        return msg

    # -- methods

    def _auth_test(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": f"https://{self.domain}.slack.com/",
            "team": self.team,
            "user": self.bot_user,
            "team_id": self.team_id,
            "user_id": self.bot_user_id,
            "bot_id": self.bot_id,
            "is_enterprise_install": False,
        }

    def _chat_post_message(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._postable_channel(params.get("channel"))
        content = self._message_content(params, warnings, required=True)
        ts = self._next_ts()
        message = self._bot_message(ts, content)
        if params.get("thread_ts"):
            message["thread_ts"] = str(params["thread_ts"])
        with self._lock:
            self._messages.setdefault(channel, {})[ts] = message
        return {"ok": True, "channel": channel, "ts": ts, "message": dict(message)}

    def _chat_update(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = self._postable_channel(params.get("channel"))
        ts = str(params.get("ts") or "")
        with self._lock:
            existing = self._messages.get(channel, {}).get(ts)
        if existing is None:
            raise _ApiError("message_not_found")
        content = self._message_content(params, warnings, required=True)
        with self._lock:
            existing.update(content)
            existing["edited"] = {"user": self.bot_user_id, "ts": self._next_ts()}
            snapshot = dict(existing)
        return {"ok": True, "channel": channel, "ts": ts, "text": snapshot["text"], "message": snapshot}

    def _chat_post_ephemeral(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        self._postable_channel(params.get("channel"))
        if not params.get("user"):
            raise _ApiError("user_not_in_channel")
        self._message_content(params, warnings, required=True)
        return {"ok": True, "message_ts": self._next_ts()}

    def _chat_get_permalink(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = params.get("channel")
        ts = str(params.get("message_ts") or "")
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        with self._lock:
            found = ts in self._messages.get(channel, {})
        if not found:
            raise _ApiError("message_not_found")
        link = f"https://{self.domain}.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _views_open(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        trigger = params.get("trigger_id")
        view = _maybe_json(params.get("view"))
        if not isinstance(trigger, str) or not trigger:
            raise _ApiError("invalid_arguments", messages=["[ERROR] missing required field: trigger_id"])
        problems: list[str] = []
        if not isinstance(view, dict):
            problems.append("missing required field: view")
        else:
            if view.get("type") != "modal":
                problems.append("must be modal [json-pointer:/view/type]")
            for key in ("title", "submit", "close"):
                if key in view or key == "title":
                    problems += _text_errors(view.get(key), f"/view/{key}", MAX_MODAL_TITLE, ("plain_text",))
            blocks = view.get("blocks")
            problems += block_errors(blocks, MAX_VIEW_BLOCKS)
            has_input = isinstance(blocks, list) and any(
                isinstance(b, dict) and b.get("type") == "input" for b in blocks
            )
            if has_input and "submit" not in view:
                problems.append("submit is required when an input block is present [json-pointer:/view/submit]")
            if len(str(view.get("private_metadata", ""))) > MAX_METADATA:
                problems.append(
                    f"must be less than {MAX_METADATA + 1} characters [json-pointer:/view/private_metadata]"
                )
            if len(str(view.get("callback_id", ""))) > 255:
                problems.append("must be less than 256 characters [json-pointer:/view/callback_id]")
        if problems:
            raise _ApiError("invalid_arguments", messages=[f"[ERROR] {p}" for p in problems])
        assert isinstance(view, dict)
        opened = {
            **view,
            "id": self._new_id("V"),
            "team_id": self.team_id,
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "app_id": self.app_id,
            "bot_id": self.bot_id,
            "trigger_id": trigger,
        }
        with self._lock:
            self._modals.append(opened)
        return {"ok": True, "view": opened}

    def _views_publish(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        user_id = params.get("user_id")
        view = _maybe_json(params.get("view"))
        problems: list[str] = []
        if not isinstance(user_id, str) or not user_id:
            problems.append("missing required field: user_id")
        if not isinstance(view, dict):
            problems.append("missing required field: view")
        else:
            if view.get("type") != "home":
                problems.append("must be home [json-pointer:/view/type]")
            problems += block_errors(view.get("blocks"), MAX_VIEW_BLOCKS)
        if problems:
            # views.* report schema problems as invalid_arguments, not invalid_blocks.
            raise _ApiError("invalid_arguments", messages=[f"[ERROR] {p}" for p in problems])
        assert isinstance(view, dict) and isinstance(user_id, str)
        published = {
            "id": self._new_id("V"),
            "team_id": self.team_id,
            "type": "home",
            "blocks": view["blocks"],
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
            "state": {"values": {}},
            "hash": secrets.token_hex(8),
            "title": {"type": "plain_text", "text": "View Title", "emoji": True},
            "clear_on_close": False,
            "notify_on_close": False,
            "close": None,
            "submit": None,
            "previous_view_id": None,
            "root_view_id": None,
            "app_id": self.app_id,
            "external_id": view.get("external_id", ""),
            "app_installed_team_id": self.team_id,
            "bot_id": self.bot_id,
        }
        published["root_view_id"] = published["id"]
        with self._lock:
            self._home_views[user_id] = published
        return {"ok": True, "view": published}

    def _conversations_info(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        channel = params.get("channel")
        if not isinstance(channel, str) or not channel:
            raise _ApiError("channel_not_found")
        info = self._channel(channel)
        if info["is_private"] and not info["is_member"]:
            raise _ApiError("channel_not_found")
        return {"ok": True, "channel": dict(info)}

    def _users_info(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        user = params.get("user")
        if not isinstance(user, str) or not user:
            raise _ApiError("user_not_found")
        with self._lock:
            obj = self._users.get(user)
        if obj is None:
            obj = self._user_obj(user, f"user-{user.lower()}", f"User {user}")
        return {"ok": True, "user": dict(obj)}

    def _files_get_upload_url(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        filename = params.get("filename")
        length = params.get("length")
        problems: list[str] = []
        if not isinstance(filename, str) or not filename:
            problems.append("missing required field: filename")
        try:
            size = int(length) if length is not None else -1
        except (TypeError, ValueError):
            size = -1
        if size < 1:
            problems.append("missing required field: length")
        if problems:
            raise _ApiError("invalid_arguments", messages=[f"[ERROR] {p}" for p in problems])
        file_id = self._new_id("F")
        key = secrets.token_urlsafe(18)
        with self._lock:
            self._uploads[file_id] = Upload(
                file_id=file_id,
                filename=str(filename),
                length=size,
                upload_key=key,
                alt_txt=params.get("alt_txt"),
            )
            self._upload_keys[key] = file_id
        return {"ok": True, "upload_url": f"{self.base_url}/upload/v1/{key}", "file_id": file_id}

    def _files_complete_upload(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        files = _maybe_json(params.get("files"))
        if not isinstance(files, list) or not files or not all(isinstance(f, dict) and f.get("id") for f in files):
            raise _ApiError("invalid_arguments", messages=["[ERROR] missing required field: files"])
        channel_id = params.get("channel_id") or None
        channels_param = params.get("channels") or ""
        channels = [c for c in str(channels_param).split(",") if c]
        for target in ([channel_id] if channel_id else []) + channels:
            self._postable_channel(target)
        out: list[dict[str, Any]] = []
        with self._lock:
            records = [self._uploads.get(str(f["id"])) for f in files]
        for rec in records:
            if rec is None or rec.data is None:
                raise _ApiError("file_not_found")
        now = int(time.time())
        with self._lock:
            for spec, rec in zip(files, records, strict=True):
                assert rec is not None and rec.data is not None
                rec.title = str(spec.get("title") or rec.filename)
                rec.channel = channel_id
                rec.channels = channels
                rec.initial_comment = params.get("initial_comment") or None
                rec.thread_ts = params.get("thread_ts") or None
                rec.completed = True
                # Real Slack shares asynchronously, so the reply lists no channels/shares yet.
                out.append(
                    {
                        "id": rec.file_id,
                        "created": now,
                        "timestamp": now,
                        "name": rec.filename,
                        "title": rec.title,
                        "mimetype": "",
                        "filetype": "",
                        "user": self.bot_user_id,
                        "user_team": self.team_id,
                        "size": len(rec.data),
                        "mode": "hosted",
                        "is_external": False,
                        "is_public": False,
                        "url_private": f"https://files.slack.com/files-pri/{self.team_id}-{rec.file_id}/{rec.filename}",
                        "permalink": f"https://{self.domain}.slack.com/files/{self.bot_user_id}/{rec.file_id}/{rec.filename}",
                        "comments_count": 0,
                        "channels": [],
                        "groups": [],
                        "ims": [],
                        "shares": {},
                        "has_rich_preview": False,
                    }
                )
        return {"ok": True, "files": out}

    def _files_upload_v1(self, params: dict[str, Any], warnings: list[str]) -> dict[str, Any]:
        # files.upload was retired for new apps; exchbot must use files_upload_v2.
        raise _ApiError("method_deprecated")

    # ----------------------------------------------------------------- upload host

    def _upload(self, req: _Request, call: Call) -> _Reply:
        key = call.name or ""
        with self._lock:
            file_id = self._upload_keys.get(key)
        call.name = file_id
        ctype = req.headers.get("content-type", "")
        data = req.body
        part_name: str | None = None
        if ctype.lower().startswith("multipart/form-data"):
            call.kind = "multipart"
            file_parts = [(i, c) for i, c in _split_multipart(req.body, ctype) if "filename" in i]
            if file_parts:
                info, data = file_parts[0]
                part_name = info.get("filename")
                ctype = info.get("content-type", "application/octet-stream")
        else:
            # slack_sdk posts the raw bytes; urllib labels them form-urlencoded.
            call.kind = "raw"
        call.params = {"size": len(data), "filename": part_name}
        fault = self._take_fault("upload")
        if fault is not None:
            return _Reply(fault.status, fault.error, self._fault_headers(fault))
        if file_id is None:
            return _Reply(404, "not_found")
        with self._lock:
            rec = self._uploads[file_id]
            rec.data = data
            rec.content_type = ctype
        return _Reply(200, f"OK - {len(data)}")

    # ----------------------------------------------------------------- response_url host

    def _response(self, req: _Request, call: Call) -> _Reply:
        name = call.name or ""
        call.kind = "json"
        try:
            body = json.loads(req.body.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            body = None
        call.params = body if isinstance(body, dict) else {"_raw": req.body.decode("utf-8", "replace")}

        fault = self._take_fault("response_url")
        if fault is not None:
            return _Reply(fault.status, fault.error, self._fault_headers(fault))
        with self._lock:
            known = name in self._response_names
            forced = self._response_status.get(name)
            uses = self._response_uses.get(name, 0)
        if not known:
            return _Reply(404, "no_service")
        if forced is not None:
            return _Reply(forced[0], forced[1])
        if not isinstance(body, dict):
            return _Reply(400, "invalid_payload")
        if self.max_response_uses is not None and uses >= self.max_response_uses:
            return _Reply(404, "used_url")
        if not body.get("delete_original"):
            try:
                self._message_content(body, call.warnings, required=True)
            except _ApiError as exc:
                return _Reply(400, exc.error)
        with self._lock:
            self._response_uses[name] = self._response_uses.get(name, 0) + 1
        return _Reply(200, "ok")

    def __repr__(self) -> str:
        where = self.api_url if self._server is not None else "stopped"
        return f"<FakeSlack {where} calls={len(self.calls)}>"
