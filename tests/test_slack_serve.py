"""``exchbot serve`` as a new user meets it: clear errors without secrets, a real process in HTTP mode
answering signed requests, and a clean stop on SIGTERM."""

from __future__ import annotations

import os
import queue
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import main
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import PROXY_VARS, SECRET, signature

ROOT = Path(__file__).resolve().parents[1]
SLACK_VARS = (
    "SLACK_BOT_TOKEN",
    "SLACK_APP_TOKEN",
    "SLACK_SIGNING_SECRET",
    "SLACK_API_URL",
    "SLACK_CLIENT_ID",
    "SLACK_CLIENT_SECRET",
)


@pytest.fixture()
def fake(monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeSlack]:
    for var in (*PROXY_VARS, *SLACK_VARS):
        monkeypatch.delenv(var, raising=False)
    with FakeSlack() as f:
        yield f


def run(args: list[str], env: dict[str, str], tmp_path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, args, env={"EXCHBOT_DB": str(tmp_path / "x.db"), **env})
    return result.exit_code, result.output


def test_missing_tokens_are_named_without_a_traceback(fake: FakeSlack, tmp_path: Path) -> None:
    code, out = run(["serve"], {}, tmp_path)
    assert code == 2
    assert "SLACK_BOT_TOKEN is not set" in out and "SLACK_APP_TOKEN is not set" in out
    assert "Traceback" not in out
    code, out = run(["serve", "--http"], {"SLACK_BOT_TOKEN": "xoxb-kept-secret-1"}, tmp_path)
    assert code == 2 and "SLACK_SIGNING_SECRET is not set" in out and "SLACK_APP_TOKEN" not in out
    assert "kept-secret" not in out


def test_malformed_tokens_are_explained_not_printed(fake: FakeSlack, tmp_path: Path) -> None:
    code, out = run(["serve"], {"SLACK_BOT_TOKEN": "xoxp-user-SECRET", "SLACK_APP_TOKEN": "xoxb-SECRET"}, tmp_path)
    assert code == 2
    assert "should start with xoxb-" in out and "should start with xapp-" in out
    assert "SECRET" not in out


def test_a_rejected_bot_token_fails_at_start(fake: FakeSlack, tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-invalid", "SLACK_SIGNING_SECRET": "s3cr3t-value", "SLACK_API_URL": fake.api_url}
    code, out = run(["serve", "--http", "--port", "0"], env, tmp_path)
    assert code == 1 and "Slack did not accept" in out and "invalid_auth" in out
    assert "xoxb-invalid" not in out and "s3cr3t-value" not in out and "Traceback" not in out
    assert fake.calls_to("auth.test")


def test_unreachable_slack_api_is_reported(fake: FakeSlack, tmp_path: Path) -> None:
    env = {"SLACK_BOT_TOKEN": "xoxb-test", "SLACK_SIGNING_SECRET": "x", "SLACK_API_URL": "http://127.0.0.1:9/api/"}
    code, out = run(["serve", "--http"], env, tmp_path)
    assert code == 1 and "cannot reach the Slack Web API at http://127.0.0.1:9/api/" in out


def test_socket_mode_refused_by_slack(fake: FakeSlack, tmp_path: Path) -> None:
    # The fake has no apps.connections.open: Slack's answer is reported, the app token is not printed.
    env = {
        **_clean_env(),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": "xapp-1-A1-topsecret",
        "SLACK_API_URL": fake.api_url,
        "EXCHBOT_DB": str(tmp_path / "s.db"),
    }
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "serve"], env=env, capture_output=True, text=True, timeout=30, cwd=ROOT
    )
    assert proc.returncode == 1
    assert "Slack refused the Socket Mode connection (unknown_method)" in proc.stderr
    assert "topsecret" not in proc.stderr + proc.stdout
    (call,) = fake.calls_to("apps.connections.open")
    assert call.headers["authorization"] == "Bearer xapp-1-A1-topsecret"  # the app-level token, not the bot one


def _clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if k not in (*PROXY_VARS, *SLACK_VARS)}


def test_http_mode_process_serves_signed_requests_and_stops_on_sigterm(fake: FakeSlack, tmp_path: Path) -> None:
    import http.client
    from urllib.parse import urlencode

    env = {
        **_clean_env(),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": SECRET,
        "SLACK_API_URL": fake.api_url,
        "EXCHBOT_DB": str(tmp_path / "p.db"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve", "--http", "--port", "0"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    reader = threading.Thread(
        target=lambda: [lines.put(x) for x in iter(proc.stderr.readline, "")],  # type: ignore[union-attr, func-returns-value]
        daemon=True,
    )
    reader.start()
    try:
        port = 0
        deadline = time.monotonic() + 20
        while not port and time.monotonic() < deadline:
            try:
                line = lines.get(timeout=1)
            except queue.Empty:
                continue
            if "listening on http://127.0.0.1:" in line:
                port = int(line.split("127.0.0.1:")[1].split("/")[0])
        assert port, "the server never said where it listens"

        def post(path: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            conn.request("POST" if body else "GET", path, body=body or None, headers=headers)
            resp = conn.getresponse()
            out = resp.status, resp.read().decode()
            conn.close()
            return out

        assert post("/healthz", b"", {}) == (200, "ok")
        body = urlencode(
            {
                "command": "/exchcheck",
                "text": "help",
                "user_id": "U1",
                "channel_id": "C1",
                "team_id": fake.team_id,
                "response_url": fake.response_url("p1"),
            }
        ).encode()
        ts = str(int(time.time()))
        status, text = post(
            "/slack/events",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature(SECRET, ts, body),
            },
        )
        assert status == 200 and "exchbot help" in text
        bad = post(
            "/slack/events",
            body,
            {
                "Content-Type": "application/x-www-form-urlencoded",
                "X-Slack-Request-Timestamp": ts,
                "X-Slack-Signature": signature("wrong", ts, body),
            },
        )
        assert bad[0] == 401
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(15) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    reader.join(5)
    log = "".join(lines.queue)
    assert "stopped" in log and SECRET not in log and "xoxb-test" not in log
