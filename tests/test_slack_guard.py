"""The HTTP endpoint's guard, in a real ``exchbot serve --http`` process: unsigned, stale and
malformed requests get 400/401 and one short, rate-limited log line each (no body, no traceback);
GET /healthz stays 200; signed, well-formed requests still work."""

from __future__ import annotations

import http.client
import json
import logging
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlencode

import pytest

from bot.slack.guard import LogLimiter, Rejected, check_body, check_timestamp
from tests.cli_proc import ROOT, clean_env
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import SECRET, signature

FORM = "application/x-www-form-urlencoded"
MARKER = "BODY-MARKER-7731"


class Serve:
    def __init__(self, fake: FakeSlack, db: Path) -> None:
        env = clean_env(
            SLACK_BOT_TOKEN="xoxb-test",
            SLACK_SIGNING_SECRET=SECRET,
            SLACK_API_URL=fake.api_url,
            EXCHBOT_DB=str(db),
            PYTHONUNBUFFERED="1",
        )
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"],
            env=env,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        assert self.proc.stderr is not None
        stderr = self.proc.stderr

        def pump() -> None:
            for x in iter(stderr.readline, ""):
                self.lines.put(x)

        self.reader = threading.Thread(target=pump)
        self.reader.daemon = True
        self.reader.start()
        self.port = 0
        deadline = time.monotonic() + 30
        while not self.port and time.monotonic() < deadline:
            try:
                line = self.lines.get(timeout=1)
            except queue.Empty:
                continue
            if "listening on http://127.0.0.1:" in line:
                self.port = int(line.split("127.0.0.1:")[1].split("/")[0])
        assert self.port, "the server never said where it listens"

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> int:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=body or None, headers=headers or {})
        resp = conn.getresponse()
        resp.read()
        conn.close()
        return resp.status

    def post(self, body: bytes, *, ts: str | None = None, sign: bool = True, ctype: str = FORM) -> int:
        ts = ts if ts is not None else str(int(time.time()))
        headers = {"Content-Type": ctype, "X-Slack-Request-Timestamp": ts}
        if sign:
            headers["X-Slack-Signature"] = signature(SECRET, ts, body)
        return self.request("POST", "/slack/events", body, headers)

    def stop(self) -> str:
        self.proc.send_signal(signal.SIGTERM)
        try:
            self.proc.wait(20)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait(5)
        self.reader.join(5)
        return "".join(self.lines.queue)


@pytest.fixture()
def serve(tmp_path: Path) -> Iterator[Serve]:
    with FakeSlack() as fake:
        s = Serve(fake, tmp_path / "s.db")
        try:
            yield s
        finally:
            if s.proc.poll() is None:
                s.stop()


def _payload(doc: object) -> bytes:
    return urlencode({"payload": json.dumps(doc)}).encode()


def test_junk_is_rejected_with_short_rate_limited_log_lines(serve: Serve) -> None:
    now = str(int(time.time()))
    junk_body = urlencode({"command": "/exchcheck", "text": MARKER}).encode()
    cases: list[tuple[int, int]] = [
        (serve.post(junk_body, ts=str(int(time.time()) - 3600)), 401),  # stale: logged first
        (serve.request("POST", "/slack/events", junk_body, {"Content-Type": FORM}), 401),  # unsigned
        (serve.post(junk_body, ts="abc", sign=False), 400),
        (serve.post(junk_body, ts="1796476005.5", sign=False), 400),
        (serve.post(junk_body, ts="9" * 400, sign=False), 400),
        (serve.post(junk_body, ts="abc"), 400),
        (serve.post(b"\xff\xfe" + MARKER.encode(), ts=now, sign=False), 401),  # not UTF-8, unsigned
        (serve.post(b"\xff\xfe" + MARKER.encode()), 400),  # not UTF-8, signed
        (serve.post(b"payload={{{not json" + MARKER.encode()), 400),
        (serve.post(b"payload=null"), 400),
        (serve.post(_payload({"type": "block_actions", "actions": "x" + MARKER, "user": {"id": "U1"}})), 400),
        (serve.post(_payload({"type": "block_actions", "actions": [{"action_id": 5}]})), 400),
        (serve.post(_payload({"type": "block_actions", "user": "U1", "actions": []})), 400),
        (serve.post(b"[1, 2]", ctype="application/json"), 400),
    ]
    for got, want in cases:
        assert got == want, cases
        assert serve.request("GET", "/healthz") == 200
    for _ in range(150):  # a flood of junk: still answered, hardly logged
        assert serve.post(junk_body, ts="abc", sign=False) == 400
    assert serve.request("GET", "/healthz") == 200
    ok = urlencode({"command": "/exchcheck", "text": "help", "user_id": "U1", "channel_id": "C1"}).encode()
    assert serve.post(ok) == 200  # a good request still works
    log = serve.stop()
    assert "Traceback" not in log and MARKER not in log and SECRET not in log
    rejected = [line for line in log.splitlines() if "rejected a request" in line]
    assert 1 <= len(rejected) <= 10  # the default burst; the rest are only counted
    assert all(len(line) < 300 for line in rejected)
    assert "stale request" in rejected[0] and "clock" in rejected[0]


def test_stale_timestamp_is_a_clock_skew_hint() -> None:
    with pytest.raises(Rejected) as info:
        check_timestamp("1000", 1000 + 3600)
    assert info.value.status == 401 and "behind" in info.value.reason and "clock" in info.value.reason
    with pytest.raises(Rejected) as info:
        check_timestamp("5000", 1000)
    assert "ahead" in info.value.reason
    assert check_timestamp("1000", 1100) == 1000


@pytest.mark.parametrize(
    "body",
    [
        b"payload=%7B%22type%22%3A%22view_submission%22%2C%22view%22%3A%22x%22%7D",  # view not an object
        b"payload=%5B%5D",  # a list
        b"payload=1&payload=2",
        b'payload={"actions":[]}',  # no type
    ],
)
def test_malformed_signed_payloads(body: bytes) -> None:
    with pytest.raises(Rejected) as info:
        check_body(body, FORM)
    assert info.value.status == 400


def test_well_formed_bodies_pass() -> None:
    check_body(b"command=%2Fexchcheck&text=mail.example.com", FORM)
    check_body(_payload({"type": "block_actions", "actions": [{"action_id": "a", "value": "v"}], "user": {}}), FORM)
    check_body(
        json.dumps({"type": "event_callback", "event": {"type": "app_home_opened"}}).encode(), "application/json"
    )


def test_log_limiter_counts_what_it_drops() -> None:
    now = [0.0]
    limiter = LogLimiter(burst=2, window=60, clock=lambda: now[0])
    records: list[str] = []

    class H(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record.getMessage())

    logger = logging.getLogger("tests.guard.limiter")
    logger.addHandler(H())
    logger.propagate = False
    for i in range(5):
        limiter.log(logger, "line %d", i)
    now[0] = 61
    limiter.log(logger, "line %d", 5)
    assert records == ["line 0", "line 1", "3 more rejected requests were not logged", "line 5"]
