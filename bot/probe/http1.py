"""A small HTTP/1.1 GET client over TLS streams (bot/probe/tls.py), parsed by httptools.

Why not a general client: a probe needs exactly one thing, a bounded GET pinned to an address with
a chosen TLS server name, and it needs it cheaply (200 hosts at once on two cores). httptools
(llhttp, Node.js's parser, in C) does the protocol parsing: status line, headers, chunked bodies,
framing; it parses one of the prober's responses in about 8 µs where h11 took about 170. This
module adds the bounds: connect and read deadlines come from the caller's per-host deadline, the
head is capped at MAX_HEADER_BYTES, bodies at ``max_bytes``, and a connection is only reused when
its previous response was read to its end and nothing came after it.

Nothing that arrived is thrown away: when a cap cuts a response, or the deadline passes, or the
connection breaks, the status, the complete header lines and the body bytes received so far are
returned, and ``lost`` says what was not read (the judge then never calls the host patched).
"""

from __future__ import annotations

import asyncio
import re
import ssl
from dataclasses import dataclass

import httptools

from bot.probe.tls import TlsStream, open_tls

MAX_HEADER_BYTES = 32 * 1024
READ_CHUNK = 64 * 1024


class HttpError(Exception):
    """A request could not be completed; the message is fit to show a user."""


class HttpTimeout(HttpError):
    """Nothing usable arrived before the deadline."""


@dataclass
class RawResponse:
    """One HTTP response as read, with what a cap or the deadline left unread."""

    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    truncated: bool  # the body was cut at ``max_bytes``
    lost: str | None = None  # what of the response was not read (a cap, the deadline, a broken connection)


_REQUEST_TARGET = re.compile(r"/[\x21-\x7e]*")  # origin-form, visible ASCII: nothing to split a request with
_FIELD_VALUE = re.compile(r"[\x20-\x7e]*")
_STATUS_LINE = re.compile(rb"HTTP/1\.[01] ([1-9][0-9]{2})(?:[ \t][^\r\n]*)?\r?\n")
_HEADER_LINE = re.compile(rb"([!#$%&'*+\-.^_`|~0-9A-Za-z]+):[ \t]*([^\r\n]*?)[ \t]*\r?\n")


def partial_head(data: bytes) -> tuple[int, list[tuple[bytes, bytes]]] | None:
    """Status and the complete header lines at the start of a head that never finished (cut by the
    header cap, the deadline or a closed connection); None if not even the status line arrived."""
    m = _STATUS_LINE.match(data)
    if m is None:
        return None
    headers: list[tuple[bytes, bytes]] = []
    pos = m.end()
    while (h := _HEADER_LINE.match(data, pos)) is not None:
        headers.append((h.group(1), h.group(2)))
        pos = h.end()
    return int(m.group(1)), headers


@dataclass(eq=False)  # identity: connections are kept in sets
class Connection:
    """One TLS connection to a host; ``reusable`` once a response was read whole with nothing after it."""

    stream: TlsStream
    reusable: bool = False

    @property
    def peer_cert(self) -> bytes | None:
        return self.stream.peer_cert()

    def close(self) -> None:
        """Close at once: the TLS close_notify is sent, the server's is not waited for (see tls.py)."""
        self.reusable = False
        self.stream.close()


async def connect(address: str, port: int, *, server_name: str | None, ssl_context: ssl.SSLContext) -> Connection:
    """TLS connection to ``address`` (already approved by the SSRF guard); SNI = ``server_name``."""
    try:
        stream = await open_tls(address, port, ssl_context=ssl_context, server_hostname=server_name or None)
    except ssl.SSLError as exc:
        raise HttpError(f"TLS failed: {exc.reason or exc}") from exc
    except ConnectionRefusedError as exc:
        raise HttpError("could not connect (refused or unreachable)") from exc
    except OSError as exc:
        raise HttpError(f"could not connect: {exc.strerror or exc}") from exc
    return Connection(stream)


def request_bytes(host_header: str, path: str, user_agent: str) -> bytes:
    """The GET as sent. A target or value that could split the request (spaces, control
    characters, non-ASCII) is refused, never sent: HttpError."""
    target = path.encode("ascii", "replace").decode("ascii")
    if not _REQUEST_TARGET.fullmatch(target):
        raise HttpError(f"refused to request an invalid path: {target[:80]!r}")
    if not (_FIELD_VALUE.fullmatch(host_header) and _FIELD_VALUE.fullmatch(user_agent)):
        raise HttpError("refused to send an invalid header value")
    return (
        f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nUser-Agent: {user_agent}\r\n"
        "Accept: */*\r\nConnection: keep-alive\r\n\r\n"
    ).encode("ascii")


async def get(
    conn: Connection, host_header: str, path: str, user_agent: str, max_bytes: int, deadline: float | None = None
) -> RawResponse:
    """Send one GET and read the response, at most ``max_bytes`` of body, until ``deadline`` (event
    loop time; None: no deadline of its own)."""
    request = request_bytes(host_header, path, user_agent)
    conn.reusable = False  # until this response has been read whole
    try:
        async with asyncio.timeout_at(deadline):
            await conn.stream.send(request)
    except TimeoutError as exc:
        raise HttpTimeout("no answer in time") from exc
    except ssl.SSLError as exc:
        raise HttpError(f"TLS failed: {exc.reason or exc}") from exc
    except (ConnectionError, OSError) as exc:
        raise HttpError(f"connection lost: {getattr(exc, 'strerror', None) or exc}") from exc
    return await _Reader(conn, max_bytes, deadline).read()


class _Reader:
    """Reads one response; whatever stops it early, it returns what arrived (see the module doc).

    The parser calls back (``on_*``) while it is fed; reading stops after the chunk in which the
    response ended or a bound was passed, so at most one chunk (READ_CHUNK) more is held."""

    def __init__(self, conn: Connection, max_bytes: int, deadline: float | None) -> None:
        self.conn, self.max_bytes, self.deadline = conn, max_bytes, deadline
        self.parser = httptools.HttpResponseParser(self)
        # Lines ended by a bare LF are read, as h11 and partial_head() read them (some embedded
        # servers send them); every other leniency stays off.
        self.parser.set_dangerous_leniencies(lenient_optional_cr_before_lf=True)
        self.head = bytearray()  # raw bytes until the head is parsed, to salvage a head cut short
        self.status: int | None = None  # set once the final (not 1xx) head is complete
        self.headers: list[tuple[bytes, bytes]] = []
        self.fields: list[tuple[bytes, bytes]] = []  # the head being parsed
        self.interim = False  # the head being parsed is a 1xx: skipped
        self.chunks: list[bytes] = []
        self.size = 0
        self.trailer_size = 0
        self.complete = False
        self.over_cap = False  # the final head was larger than MAX_HEADER_BYTES
        self.keep_alive = False  # the server will keep the connection open after this response
        self.after = False  # bytes came after the response: the connection is not reused
        self.eof = False

    # httptools callbacks
    def on_message_begin(self) -> None:
        if self.complete:
            self.after = True

    def on_header(self, name: bytes, value: bytes) -> None:
        if self.status is not None:  # a trailer field after a chunked body: counted, not kept
            self.trailer_size += len(name) + len(value) + 4
        elif not self.complete:
            self.fields.append((bytes(name), bytes(value).strip(b" \t")))

    def on_headers_complete(self) -> None:
        if self.complete:
            return
        status = self.parser.get_status_code()
        if 100 <= status < 200:  # an interim answer (100 Continue, 103 Early Hints): the final one follows
            self.interim = True
            self.fields = []
            return
        if sum(len(name) + len(value) + 4 for name, value in self.fields) > MAX_HEADER_BYTES:
            self.over_cap = True  # a head that arrived whole in one read can pass the cap unseen below
            return
        self.status, self.headers, self.fields = status, self.fields, []
        self.head = bytearray()

    def on_body(self, body: bytes) -> None:
        if not self.complete and self.status is not None and not self.over_cap:
            self.chunks.append(bytes(body))
            self.size += len(body)

    def on_message_complete(self) -> None:
        if self.interim:
            self.interim = False
            end = self.head.find(b"\r\n\r\n")
            del self.head[: end + 4 if end >= 0 else len(self.head)]
        elif not self.complete and not self.over_cap:
            self.complete = True
            self.keep_alive = self.parser.should_keep_alive()  # only known here: the parser then resets

    async def read(self) -> RawResponse:
        while True:
            try:
                async with asyncio.timeout_at(self.deadline):
                    data = await self.conn.stream.recv(READ_CHUNK)
            except TimeoutError:
                return self._partial("no more data arrived in time", timeout=True)
            except ssl.SSLError as exc:
                return self._partial(f"TLS failed: {exc.reason or exc}")
            except (ConnectionError, OSError) as exc:
                return self._partial(f"connection lost: {getattr(exc, 'strerror', None) or exc}")
            if not data:
                self.eof = True
                if self.status is not None and self._ends_at_close():
                    return self._whole()  # a body framed by the end of the connection
                return self._partial("the connection closed before the end of the response")
            if self.status is None and len(self.head) <= MAX_HEADER_BYTES:
                self.head += data
            try:
                self.parser.feed_data(data)
            except httptools.HttpParserUpgrade:  # a 101 to a GET that asked for no upgrade
                raise HttpError("not a valid HTTP response: an unrequested protocol switch") from None
            except httptools.HttpParserError as exc:
                if not self.complete:
                    if self.status is None and len(self.head) > MAX_HEADER_BYTES:
                        return self._head_over_cap()
                    raise HttpError(f"not a valid HTTP response: {str(exc)[:120]}") from exc
                self.after = True  # the response was whole; what came after it was not HTTP
            if self.over_cap:
                return self._head_over_cap()
            if self.complete:
                return self._whole()
            if self.status is None and len(self.head) > MAX_HEADER_BYTES:
                return self._head_over_cap()
            if self.trailer_size > MAX_HEADER_BYTES:
                return self._partial(f"trailer fields larger than the {MAX_HEADER_BYTES}-byte limit")
            if self.size > self.max_bytes:
                body = b"".join(self.chunks)[: self.max_bytes]
                lost = f"body larger than the {self.max_bytes}-byte read limit: the rest was not read"
                return RawResponse(self.status or 0, self.headers, body, True, lost)

    def _whole(self) -> RawResponse:
        body = b"".join(self.chunks)
        if len(body) > self.max_bytes:  # the chunk that completed it also passed the cap
            lost = f"body larger than the {self.max_bytes}-byte read limit: the rest was not read"
            return RawResponse(self.status or 0, self.headers, body[: self.max_bytes], True, lost)
        self.conn.reusable = self.complete and self.keep_alive and not self.after and not self.eof
        return RawResponse(self.status or 0, self.headers, body, False)

    def _ends_at_close(self) -> bool:
        """Whether the final head frames its body by the end of the connection (RFC 9112, 6.3):
        neither Transfer-Encoding nor Content-Length, and a status that has a body."""
        if self.status in (204, 304):
            return False  # no body: the parser completed it already, so not reached
        names = {name.lower() for name, _ in self.headers}
        return b"transfer-encoding" not in names and b"content-length" not in names

    def _head_over_cap(self) -> RawResponse:
        return self._partial(f"headers larger than the {MAX_HEADER_BYTES}-byte limit: the rest was not read", cap=True)

    def _partial(self, why: str, *, timeout: bool = False, cap: bool = False) -> RawResponse:
        """What arrived before ``why`` stopped the read; raises if not even a status line did."""
        if self.status is not None:
            body = b"".join(self.chunks)
            return RawResponse(self.status, self.headers, body, False, f"{why} (after {len(body)} bytes of body)")
        salvaged = partial_head(bytes(self.head[:MAX_HEADER_BYTES]))
        if salvaged is None:
            if timeout:
                raise HttpTimeout("no answer in time")
            raise HttpError(why if not self.eof else "connection closed before a response")
        status, headers = salvaged
        return RawResponse(status, headers, b"", False, why if cap else f"{why} (the headers broke off)")
