"""How the prober's HTTP/1.1 client (bot/probe/http1.py, httptools) frames what a server sends:
each answer below is sent byte for byte by a TLS server on 127.0.0.1 and read by the real client.

What must hold: a body is whole only when its framing says so (Content-Length, chunked, or the end
of the connection when there is neither); anything cut short says what was lost; interim 1xx
answers are skipped; a head or body over its cap is cut and said so; a connection is reused only
after a response read whole with nothing after it; nothing that could split a request is sent.
"""

from __future__ import annotations

import asyncio
import socket
import ssl
import struct
import time
from collections.abc import Sequence

import pytest

from bot.probe import http1
from bot.probe.fetch import insecure_ssl_context
from tests.fakes.tls_server import TlsServer, read_request, scripted

HOST = "mail.example.com"


def _exchange(
    answers: Sequence[bytes],
    *,
    close: bool = True,
    max_bytes: int = 64 * 1024,
    paths: Sequence[str] = ("/owa/",),
    timeout: float = 10.0,
) -> tuple[list[http1.RawResponse | http1.HttpError], bool, list[bytes]]:
    """GET each of ``paths`` in turn over one connection to a server answering ``answers``; the
    results (a response or the error), whether the connection was left reusable, and the requests
    the server received."""
    requests: list[bytes] = []
    server = TlsServer(scripted(answers, close=close, requests=requests))

    async def run() -> tuple[list[http1.RawResponse | http1.HttpError], bool]:
        conn = await http1.connect("127.0.0.1", server.port, server_name=HOST, ssl_context=insecure_ssl_context())
        results: list[http1.RawResponse | http1.HttpError] = []
        deadline = asyncio.get_running_loop().time() + timeout
        try:
            for path in paths:
                try:
                    results.append(await http1.get(conn, HOST, path, "exchbot-test", max_bytes, deadline))
                except http1.HttpError as exc:
                    results.append(exc)
                    break
            return results, conn.reusable
        finally:
            conn.close()

    try:
        results, reusable = asyncio.run(run())
    finally:
        server.close()
    return results, reusable, requests


def _one(answer: bytes, **kw: object) -> tuple[http1.RawResponse, bool]:
    results, reusable, _ = _exchange([answer], **kw)  # type: ignore[arg-type]
    assert isinstance(results[0], http1.RawResponse), results[0]
    return results[0], reusable


def test_a_content_length_body_is_whole_and_the_connection_reusable() -> None:
    r, reusable = _one(
        b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\nX-OWA-Version:  15.2.2562.37 \t\r\n\r\nhello", close=False
    )
    assert (r.status, r.body, r.truncated, r.lost) == (200, b"hello", False, None)
    assert (b"X-OWA-Version", b"15.2.2562.37") in r.headers  # the value without its surrounding whitespace
    assert reusable


def test_lines_ended_by_a_bare_lf_are_read() -> None:
    r, _ = _one(b"HTTP/1.1 200 OK\nX-OWA-Version: 15.1.2507.6\nContent-Length: 2\n\nok", close=False)
    assert (r.status, r.headers, r.body, r.lost) == (
        200,
        [(b"X-OWA-Version", b"15.1.2507.6"), (b"Content-Length", b"2")],
        b"ok",
        None,
    )


def test_a_chunked_body_is_joined_and_its_trailer_ignored() -> None:
    answer = (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
        b"5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-Trailer: t\r\n\r\n"
    )
    r, reusable = _one(answer, close=False)
    assert (r.status, r.body, r.lost) == (200, b"hello world", None)
    assert all(name != b"X-Trailer" for name, _ in r.headers)
    assert reusable


def test_a_body_framed_by_the_close_is_whole_and_the_connection_not_reused() -> None:
    r, reusable = _one(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n\r\n<html>all of it</html>", close=True)
    assert (r.status, r.body, r.lost) == (200, b"<html>all of it</html>", None)
    assert not reusable


def test_endless_trailer_fields_are_cut_at_the_head_cap() -> None:
    """A chunked body followed by trailer fields that never end: the read stops at the cap, long
    before the deadline, with the body kept and the answer marked incomplete."""
    trailer = b"".join(b"X-T-%d: %s\r\n" % (i, b"t" * 200) for i in range(400))  # ~85 KiB, never ended
    answer = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n" + trailer
    r, reusable = _one(answer, close=False, timeout=30.0)
    assert (r.status, r.body) == (200, b"ok")
    assert r.lost == f"trailer fields larger than the {http1.MAX_HEADER_BYTES}-byte limit (after 2 bytes of body)"
    assert not reusable


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nonly this",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nonly this\r\n",
    ],
    ids=["content-length", "chunked"],
)
def test_a_body_cut_by_the_close_says_so(answer: bytes) -> None:
    r, reusable = _one(answer, close=True)
    assert r.status == 200 and r.body == b"only this"
    assert r.lost == "the connection closed before the end of the response (after 9 bytes of body)"
    assert not reusable


def test_a_reset_connection_keeps_what_arrived_and_says_so() -> None:
    """The server sends the head and part of the body, then resets the connection (TCP RST, no
    TLS close): what arrived is kept, and the answer says it was cut short. (OpenSSL 3 reports a
    reset under TLS as an end of stream, so it reads as the connection closing.)"""

    def answer_then_reset(tls: ssl.SSLSocket) -> None:
        read_request(tls)
        tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npart of it")
        time.sleep(0.5)  # the client reads that first: data still queued when the RST lands may be dropped
        tls.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        tls.close()  # with a zero linger: a reset, not a FIN

    server = TlsServer(answer_then_reset)

    async def run() -> http1.RawResponse:
        conn = await http1.connect("127.0.0.1", server.port, server_name=HOST, ssl_context=insecure_ssl_context())
        try:
            return await http1.get(conn, HOST, "/owa/", "exchbot-test", 1024, asyncio.get_running_loop().time() + 10)
        finally:
            conn.close()

    try:
        r = asyncio.run(run())
    finally:
        server.close()
    assert (r.status, r.body) == (200, b"part of it")
    assert r.lost == "the connection closed before the end of the response (after 10 bytes of body)"


def test_a_head_cut_by_the_close_keeps_its_complete_lines() -> None:
    r, _ = _one(b"HTTP/1.1 200 OK\r\nX-OWA-Version: 15.1.2507.6\r\nX-Feserver: EX0", close=True)
    assert r.status == 200
    assert r.headers == [(b"X-OWA-Version", b"15.1.2507.6")]
    assert r.lost is not None and "headers broke off" in r.lost


def test_interim_answers_are_skipped_for_the_final_one() -> None:
    answer = (
        b"HTTP/1.1 100 Continue\r\n\r\n"
        b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n"
        b"HTTP/1.1 302 Found\r\nLocation: /owa/auth/logon.aspx\r\nContent-Length: 0\r\n\r\n"
    )
    r, reusable = _one(answer, close=False)
    assert r.status == 302
    assert r.headers == [(b"Location", b"/owa/auth/logon.aspx"), (b"Content-Length", b"0")]
    assert reusable


@pytest.mark.parametrize("status", [204, 304])
def test_answers_without_a_body_end_at_their_head(status: int) -> None:
    r, reusable = _one(b"HTTP/1.1 %d X\r\nX-A: 1\r\n\r\n" % status, close=False)
    assert (r.status, r.body, r.lost) == (status, b"", None)
    assert reusable


def test_two_answers_over_one_kept_alive_connection() -> None:
    results, reusable, requests = _exchange(
        [b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", b"HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\ntwo"],
        close=False,
        paths=("/owa/", "/ecp/"),
    )
    assert [(r.status, r.body) for r in results if isinstance(r, http1.RawResponse)] == [(200, b"one"), (404, b"two")]
    assert [req.split(b" ", 2)[1] for req in requests] == [b"/owa/", b"/ecp/"]
    assert reusable


@pytest.mark.parametrize(
    "after",
    [b"HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged", b"garbage that is not HTTP"],
    ids=["a second response", "not http"],
)
def test_bytes_after_the_response_stop_the_connection_being_reused(after: bytes) -> None:
    """A server whose Content-Length is short, or that sends more than it was asked: what follows
    must never be read as the answer to this connection's next request."""
    r, reusable = _one(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok" + after, close=False)
    assert (r.status, r.body, r.lost) == (200, b"ok", None)
    assert not reusable


@pytest.mark.parametrize(
    "answer",
    [
        b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok",
        b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["connection-close", "http-1.0"],
)
def test_a_server_that_will_close_is_not_reused(answer: bytes) -> None:
    r, reusable = _one(answer, close=False)
    assert (r.status, r.body) == (200, b"ok")
    assert not reusable


@pytest.mark.parametrize("pads", [200, 480], ids=["ends-in-the-read-that-passes-the-cap", "longer"])
def test_a_head_over_the_cap_is_cut_and_says_so(pads: int) -> None:
    """More than MAX_HEADER_BYTES of head is not accepted as a whole answer, whether the head ends
    in the very read that passes the cap (about 43 KiB: TLS records carry 16 KiB) or goes on (about
    100 KiB): the status and the lines that fit are kept."""
    filler = b"".join(b"X-Pad-%d: %s\r\n" % (i, b"a" * 200) for i in range(pads))
    answer = b"HTTP/1.1 200 OK\r\nX-OWA-Version: 15.1.2507.6\r\n" + filler + b"Content-Length: 2\r\n\r\nok"
    r, reusable = _one(answer, close=False)
    assert r.status == 200
    assert r.lost is not None and f"headers larger than the {http1.MAX_HEADER_BYTES}-byte limit" in r.lost
    assert r.headers[0] == (b"X-OWA-Version", b"15.1.2507.6")
    assert sum(len(n) + len(v) + 4 for n, v in r.headers) <= http1.MAX_HEADER_BYTES
    assert r.body == b"" and not reusable


def test_a_body_over_the_read_limit_is_cut_and_says_so() -> None:
    body = b"x" * 50_000
    r, reusable = _one(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body), max_bytes=1000)
    assert r.truncated and r.body == body[:1000]
    assert r.lost == "body larger than the 1000-byte read limit: the rest was not read"
    assert not reusable


@pytest.mark.parametrize(
    "answer",
    [
        b"SSH-2.0-OpenSSH_9.6\r\n",
        b"HTTP/1.1 200 OK\r\nBad Header Name: x\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n",
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nX-OWA-Version: 15.1.\r\n 2507.6\r\nContent-Length: 0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nok",
    ],
    ids=["not-http", "bad-header-name", "both-framings", "protocol-switch", "folded-line", "two-lengths"],
)
def test_an_invalid_answer_is_an_error_not_a_response(answer: bytes) -> None:
    results, reusable, _ = _exchange([answer], close=False)
    assert isinstance(results[0], http1.HttpError)
    assert str(results[0]).startswith("not a valid HTTP response")
    assert not reusable


@pytest.mark.parametrize("path", ["/owa/ HTTP/1.1\r\nX-Injected: 1", "/a b", "/a\tb", "owa/", "/\x00"], ids=repr)
def test_a_path_that_could_split_the_request_is_refused_and_never_sent(path: str) -> None:
    results, _, requests = _exchange([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], paths=(path,))
    assert isinstance(results[0], http1.HttpError) and "refused" in str(results[0])
    assert requests == [b""]  # the server saw the client close, and no request


def test_the_request_is_one_plain_get() -> None:
    _, _, requests = _exchange([b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"], paths=("/owa/auth/logon.aspx?x=1",))
    assert requests == [
        b"GET /owa/auth/logon.aspx?x=1 HTTP/1.1\r\nHost: mail.example.com\r\nUser-Agent: exchbot-test\r\n"
        b"Accept: */*\r\nConnection: keep-alive\r\n\r\n"
    ]
