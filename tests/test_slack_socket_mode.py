"""Socket Mode (the default of ``exchbot serve``) end to end: a real ``exchbot serve`` process, the fake
Slack Web API with ``apps.connections.open``, and a WebSocket endpoint on 127.0.0.1. A slash command and
a button click arrive as envelopes and are acknowledged; a ``disconnect`` (refresh_requested) makes the
client reconnect; SIGTERM stops the process cleanly."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.render.blocks import WATCH_REMOVE
from tests.fakes.slack_api import FakeSlack
from tests.fakes.slack_socket import FakeSocketServer
from tests.slack_harness import PROXY_VARS

ROOT = Path(__file__).resolve().parents[1]
APP_TOKEN = "xapp-1-A0EXCHBOT-1-socketsecret"
SLACK_VARS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_API_URL")


@pytest.fixture()
def fake() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture()
def sock(fake: FakeSlack) -> Iterator[FakeSocketServer]:
    with FakeSocketServer() as s:
        fake.enable_socket_mode(s.url)
        yield s


def command(fake: FakeSlack, text: str, name: str, cmd: str = "/exchwatch") -> dict[str, Any]:
    return {
        "token": "legacy",
        "team_id": fake.team_id,
        "team_domain": "exchbot-test",
        "channel_id": "C0INCIDENT",
        "channel_name": "incident",
        "user_id": "U0ALICE",
        "user_name": "alice",
        "command": cmd,
        "text": text,
        "api_app_id": fake.app_id,
        "response_url": fake.response_url(name),
        "trigger_id": f"1.2.{name}",
    }


def click(fake: FakeSlack, action_id: str, value: str, name: str) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "api_app_id": fake.app_id,
        "token": "legacy",
        "user": {"id": "U0ALICE", "username": "alice", "name": "alice", "team_id": fake.team_id},
        "team": {"id": fake.team_id, "domain": "exchbot-test"},
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0INCIDENT", "is_ephemeral": True},
        "channel": {"id": "C0INCIDENT", "name": "incident"},
        "trigger_id": f"1.3.{name}",
        "response_url": fake.response_url(name),
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button", "action_ts": "1.4"}],
    }


def test_socket_mode_end_to_end(fake: FakeSlack, sock: FakeSocketServer, tmp_path: Path) -> None:
    env = {
        **{k: v for k, v in os.environ.items() if k not in (*PROXY_VARS, *SLACK_VARS)},
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_APP_TOKEN": APP_TOKEN,
        "SLACK_API_URL": fake.api_url,
        "EXCHBOT_DB": str(tmp_path / "socket.db"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: queue.Queue[str] = queue.Queue()
    stream = proc.stderr
    assert stream is not None

    def pump() -> None:
        for x in iter(stream.readline, ""):
            lines.put(x)

    reader = threading.Thread(target=pump, daemon=True)
    reader.start()
    try:
        assert sock.wait_connections(1, timeout=30), "the app never opened a Socket Mode connection"
        (opened,) = fake.calls_to("apps.connections.open")
        assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"  # the app-level token

        # a slash command: acknowledged over the socket with the pending answer, result via response_url
        env_id = sock.send("slash_commands", command(fake, "add mail.contoso.test", "add"))
        ack = sock.ack(env_id)
        assert ack["payload"]["response_type"] == "ephemeral" and "Adding mail.contoso.test" in ack["payload"]["text"]
        added = fake.wait_for_responses("add", count=1, timeout=15)[0]
        assert "Watching" in added["text"]

        # help is answered in the acknowledgement itself
        help_ack = sock.ack(sock.send("slash_commands", command(fake, "help", "help", "/exchcheck")))
        assert "exchbot help" in json.dumps(help_ack["payload"])

        # a button click: acknowledged, then the answer below the card
        click_id = sock.send("interactive", click(fake, WATCH_REMOVE, "mail.contoso.test", "rm"))
        sock.ack(click_id)
        removed = fake.wait_for_responses("rm", count=1, timeout=15)[0]
        assert "Stopped watching" in removed["text"] and removed["replace_original"] is False

        # Slack rotates its server: the client opens a new connection and keeps serving
        sock.disconnect("refresh_requested")
        assert sock.wait_connections(2, timeout=30), "no reconnect after the disconnect envelope"
        assert len(fake.calls_to("apps.connections.open")) >= 2
        again = sock.ack(sock.send("slash_commands", command(fake, "list", "list")))
        assert "Reading the watchlist" in again["payload"]["text"]
        listed = fake.wait_for_responses("list", count=1, timeout=15)[0]
        assert listed["text"] == "The watchlist is empty."

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(20) == 0
        assert sock.wait_no_connection(10), "the WebSocket stayed open after SIGTERM"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)
    reader.join(5)
    log = "".join(lines.queue)
    assert "connected to Slack in Socket Mode" in log and "stopped" in log
    assert "socketsecret" not in log and "xoxb-test" not in log
