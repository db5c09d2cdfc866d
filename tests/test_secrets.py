"""Secrets never leave the process: the Shodan key echoed by a hostile API, Slack tokens, the signing
secret; Shodan redirects are not followed; a Shodan that only answers 429 is given up on in time."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from bot import redact
from bot.exposure.client import ShodanClient, ShodanError
from bot.ratelimit import RateLimiter
from tests.cli_proc import clean_env, exchbot, one_line_error

KEY = "Zq7SecretShodanKey0123456789abcd"


class Hostile:
    """A Shodan-shaped server on loopback that misbehaves in one chosen way (``mode``)."""

    def __init__(self, mode: str, retry_after: str = "100") -> None:
        self.mode = mode
        self.retry_after = retry_after
        self.paths: list[str] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_GET(self) -> None:
                outer.paths.append(self.path)
                outer.answer(self)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, req: BaseHTTPRequestHandler) -> None:
        echoed = f"{self.url}{req.path}"
        status, headers, body = 200, {"Content-Type": "application/json"}, b""
        if req.path.startswith("/followed"):
            status, body = 200, json.dumps({"total": 1, "facets": {}, "error": echoed}).encode()
        elif self.mode in ("401", "400", "429echo"):
            status = {"401": 401, "400": 400, "429echo": 429}[self.mode]
            body = json.dumps({"error": f"Request {echoed} failed"}).encode()
        elif self.mode == "200error":
            body = json.dumps({"error": f"bad request {echoed}"}).encode()
        elif self.mode == "redirect":
            status, headers["Location"] = 302, f"{self.url}/followed{req.path}"
        elif self.mode == "429":
            status, headers["Retry-After"] = 429, self.retry_after
            body = json.dumps({"error": "Request rate limit reached"}).encode()
        req.send_response(status)
        for k, v in headers.items():
            req.send_header(k, v)
        req.send_header("Content-Length", str(len(body)))
        req.end_headers()
        req.wfile.write(body)

    def __enter__(self) -> Hostile:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def sleeps() -> Iterator[list[float]]:
    yield []


@pytest.mark.parametrize("mode", ["401", "400", "429echo", "200error", "redirect"])
def test_an_echoed_key_never_appears_in_the_error(mode: str, sleeps: list[float]) -> None:
    with Hostile(mode) as api:
        client = ShodanClient(KEY, timeout=5, rps=0, limiter=RateLimiter(0), sleep=sleeps.append, api_url=api.url)
        with pytest.raises(ShodanError) as info:
            client.count("x", [("country", 10)])
        assert KEY not in str(info.value)
        assert api.paths and KEY in api.paths[0]  # the server did see (and echo) it
        if mode == "redirect":
            assert not any(p.startswith("/followed") for p in api.paths)  # never followed
            assert "redirect" in str(info.value)


def test_exposure_cli_does_not_print_an_echoed_key(tmp_path: Path) -> None:
    with Hostile("401") as api:
        env = clean_env(
            EXCHBOT_DB=str(tmp_path / "x.db"), SHODAN_API_KEY=KEY, SHODAN_API_URL=api.url, EXCHBOT_SHODAN_RPS="0"
        )
        proc = exchbot("exposure", "eu", "--refresh", env=env)
    assert proc.returncode == 1
    line = one_line_error(proc)
    assert KEY not in proc.stderr + proc.stdout and "***" in line


@pytest.mark.parametrize("retry_after", ["100", "0"])
def test_a_shodan_that_only_answers_429_is_given_up_on(tmp_path: Path, retry_after: str) -> None:
    with Hostile("429", retry_after) as api:
        env = clean_env(
            EXCHBOT_DB=str(tmp_path / "x.db"), SHODAN_API_KEY=KEY, SHODAN_API_URL=api.url, EXCHBOT_SHODAN_RPS="0"
        )
        proc = exchbot("exposure", "eu", "--refresh", env=env, timeout=30)  # raises TimeoutExpired if not
        calls = len(api.paths)
    assert proc.returncode == 1
    assert "rate-limiting" in one_line_error(proc) and KEY not in proc.stderr
    assert 1 <= calls <= 9


def test_redact_masks_registered_secrets_and_token_shapes() -> None:
    redact.register(["s3cr3t/signing+value", None, "short"])
    text = (
        "bot xoxb-1234-5678-abcdefgh app xapp-1-A1-999-ffff url https://x/api?key=K3y123&y=1 "
        "quoted s3cr3t%2Fsigning%2Bvalue raw s3cr3t/signing+value short"
    )
    out = redact.redact(text)
    for secret in ("xoxb-1234", "xapp-1-A1", "K3y123", "s3cr3t/signing", "s3cr3t%2Fsigning"):
        assert secret not in out
    assert "raw *** short" in out and "y=1" in out  # short values and other text are left alone


def test_log_records_are_redacted(caplog: pytest.LogCaptureFixture) -> None:
    redact.register(["log-secret-4242"])
    logger = logging.getLogger("tests.secrets")
    handler = logging.StreamHandler()
    handler.addFilter(redact.RedactingFilter())
    records: list[str] = []
    handler.emit = lambda record: records.append(handler.format(record))  # type: ignore[method-assign]
    logger.addHandler(handler)
    try:
        try:
            raise RuntimeError("boom with log-secret-4242")
        except RuntimeError:
            logger.exception("failed for %s", "log-secret-4242")
    finally:
        logger.removeHandler(handler)
    assert records and all("log-secret-4242" not in r for r in records)
    assert "RuntimeError: boom with ***" in records[0]


def test_slack_replies_are_redacted() -> None:
    redact.register(["reply-secret-777"])
    msg = {"text": "x reply-secret-777", "blocks": [{"type": "section", "text": {"text": "reply-secret-777"}}]}
    assert "reply-secret-777" not in json.dumps(redact.redact_json(msg))


def test_the_settings_repr_shows_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    """A Settings object in a log line or a traceback's locals must not carry the keys and tokens."""
    from bot.config import Settings

    secrets = {
        "SHODAN_API_KEY": "shodan-secret-0123456789",
        "SLACK_BOT_TOKEN": "xoxb-secret-0123456789",
        "SLACK_APP_TOKEN": "xapp-secret-0123456789",
        "SLACK_SIGNING_SECRET": "signing-secret-0123456789",
    }
    for k, v in secrets.items():
        monkeypatch.setenv(k, v)
    settings = Settings.from_env()
    assert settings.shodan_api_key == secrets["SHODAN_API_KEY"]  # read all the same
    shown = repr(settings)
    assert "concurrency=" in shown  # the repr itself is there
    assert not [v for v in secrets.values() if v in shown]
