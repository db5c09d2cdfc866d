"""The Slack app under test, for real: the Bolt app built by ``bot.slack.app.build_app``, served by
waitress on 127.0.0.1 (HTTP mode), talking to the fake Slack Web API (``tests.fakes.slack_api``)
through the real ``slack_sdk`` client, checking hosts of the HTTPS Exchange simulator and counting
from the fake Shodan.

Requests are signed here, independently of Bolt's verifier (Slack's v0 scheme: HMAC-SHA256 of
``v0:{timestamp}:{body}`` with the signing secret, hex, in ``X-Slack-Signature``).

Shared by ``tests/test_slack_app.py``, ``tests/test_slack_serve.py`` and ``bench/bench_slack.py``.
It holds no tests itself.
"""

from __future__ import annotations

import dataclasses
import hashlib
import hmac
import http.client
import json
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.exposure.client import ShodanClient
from bot.knowledge import load_catalog
from bot.probe.prober import Prober, ProbeSettings
from bot.ratelimit import RateLimiter, per_user_limiter
from bot.slack.app import build_app, stop_app
from bot.slack.deps import CheckFn, SlackDeps, check_with, exposure_with
from bot.slack.discovery import DiscoverFn
from bot.slack.http_server import HttpServer
from bot.slack.workers import JobRunner
from bot.store import Store
from bot.wiring import make_slack_client
from tests.fakes.slack_api import FakeSlack

SECRET = "8f742231b10e8888abcd99yyyzzz85a5"  # a made-up signing secret
TOKEN = "xoxb-test-token"
TEAM = "T0FAKE0001"
PROXY_VARS = ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy")
_CATALOG: list[Catalog] = []


def catalog() -> Catalog:
    if not _CATALOG:
        _CATALOG.append(load_catalog())
    return _CATALOG[0]


async def loopback(host: str, port: int) -> Sequence[str]:
    """Every name resolves to 127.0.0.1, where the simulator listens (the SSRF guard still applies)."""
    return ["127.0.0.1"]


def signature(secret: str, timestamp: str, body: bytes) -> str:
    base = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def headers(
    body: bytes, content_type: str, timestamp: str | None = None, secret: str = SECRET, signed: bool = True
) -> dict[str, str]:
    """The headers of a POST to the app, signed like Slack's unless ``signed`` is False."""
    ts = timestamp if timestamp is not None else str(int(time.time()))
    result = {"Content-Type": content_type}
    if signed:
        result.update({"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": signature(secret, ts, body)})
    return result


@dataclass
class Reply:
    status: int
    body: str
    elapsed: float  # seconds from sending to the full HTTP response (the acknowledgement)

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackHarness:
    """One running app. ``settings`` overrides go to :class:`bot.config.Settings`."""

    def __init__(
        self,
        fake: FakeSlack,
        db_path: Path,
        *,
        sim_port: int = 0,
        shodan_url: str | None = None,
        check: CheckFn | None = None,
        discover: DiscoverFn | None = None,
        jobs: JobRunner | None = None,
        limiter: RateLimiter | None = None,
        clock: Clock | None = None,
        **settings: Any,
    ) -> None:
        self.fake = fake
        self.sim_port = sim_port
        base = Settings(
            db_path=db_path,
            allow_private=True,
            timeout=5.0,
            slack_bot_token=TOKEN,
            slack_signing_secret=SECRET,
            slack_api_url=fake.api_url,
            shodan_api_key="good-key" if shodan_url else None,
            shodan_rps=0,
            shodan_timeout=5,
            user_rate_per_minute=0,
            max_concurrent_jobs=8,
        )
        self.settings = dataclasses.replace(base, **settings)
        self.store = Store(db_path)
        self.clock = clock or SystemClock()
        cat = catalog()
        prober = Prober(
            catalog=cat,
            settings=ProbeSettings(
                timeout=self.settings.timeout, concurrency=10, allow_private=self.settings.allow_private
            ),
            resolver=loopback,
            clock=self.clock,
        )

        def shodan(s: Settings) -> ShodanClient:
            return ShodanClient(s.shodan_api_key or "", timeout=5, rps=0, api_url=shodan_url, limiter=RateLimiter(0))

        workers = self.settings.max_concurrent_jobs
        self.deps = SlackDeps(
            settings=self.settings,
            store=self.store,
            catalog=cat,
            check=check or check_with(prober, self.store),
            exposure=exposure_with(
                store=self.store, client_factory=shodan, clock=self.clock, catalog=cat, settings=self.settings
            ),
            clock=self.clock,
            jobs=jobs or JobRunner(workers, 8 * workers),
            limiter=limiter or per_user_limiter(self.settings.user_rate_per_minute),
            respond_timeout=5.0,
            discover=discover,
        )
        self.app = build_app(self.deps, make_slack_client(self.settings))
        self.server = HttpServer(  # production thread count
            self.app, host="127.0.0.1", port=0, gate=self.deps.jobs.gate
        ).start()
        self.port = self.server.port

    def close(self) -> None:
        self.server.stop()
        stop_app(self.app)  # listeners may still be writing audit rows after their ack
        if self.deps.jobs.shutdown(10):
            self.store.close()  # never under a thread that is still using its connection

    def __enter__(self) -> SlackHarness:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- addresses ---------------------------------------------------------------------------------

    def host(self, profile: str) -> str:
        """``profile`` of the simulator as a target (``exchange-se-current.sim.test:PORT``)."""
        return f"{profile.replace('_', '-')}.sim.test:{self.sim_port}"

    # -- raw HTTP ----------------------------------------------------------------------------------

    def request(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=15)
        started = time.perf_counter()
        try:
            conn.request(method, path, body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read().decode("utf-8", "replace")
            return Reply(resp.status, data, time.perf_counter() - started)
        finally:
            conn.close()

    def post(
        self, body: bytes, content_type: str, *, timestamp: str | None = None, secret: str = SECRET, signed: bool = True
    ) -> Reply:
        return self.request("POST", "/slack/events", body, headers(body, content_type, timestamp, secret, signed))

    # -- Slack payloads ----------------------------------------------------------------------------

    def command(
        self,
        command: str,
        text: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0INCIDENT",
        name: str | None = None,
        **post: Any,
    ) -> tuple[Reply, str]:
        """A slash command; returns the acknowledgement and the name of its response_url."""
        body, name = self.command_body(command, text, user=user, channel=channel, name=name)
        return self.post(body, "application/x-www-form-urlencoded", **post), name

    def command_body(
        self, command: str, text: str, *, user: str = "U0ALICE", channel: str = "C0INCIDENT", name: str | None = None
    ) -> tuple[bytes, str]:
        """The form body of a slash command (to sign with :func:`headers`) and its response_url name."""
        name = name or uuid.uuid4().hex[:12]
        form = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "team_domain": "exchbot-test",
            "channel_id": channel,
            "channel_name": "incident",
            "user_id": user,
            "user_name": user.lower(),
            "command": command,
            "text": text,
            "api_app_id": self.fake.app_id,
            "is_enterprise_install": "false",
            "response_url": self.fake.response_url(name),
            "trigger_id": f"1337.42.{name}",
        }
        return urlencode(form).encode(), name

    def click(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U0ALICE",
        channel: str = "C0INCIDENT",
        name: str | None = None,
        **post: Any,
    ) -> tuple[Reply, str]:
        """A button click (block_actions) on an ephemeral message; returns the ack and the response_url name."""
        name = name or uuid.uuid4().hex[:12]
        payload = {
            "type": "block_actions",
            "api_app_id": self.fake.app_id,
            "token": "legacy-verification-token",
            "user": {"id": user, "username": user.lower(), "name": user.lower(), "team_id": TEAM},
            "team": {"id": TEAM, "domain": "exchbot-test"},
            "container": {
                "type": "message",
                "message_ts": "1700000000.000100",
                "channel_id": channel,
                "is_ephemeral": True,
            },
            "channel": {"id": channel, "name": "incident"},
            "trigger_id": f"1337.43.{name}",
            "response_url": self.fake.response_url(name),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": "exchbot_check_actions",
                    "value": value,
                    "type": "button",
                    "action_ts": "1700000001.000200",
                    "text": {"type": "plain_text", "text": "button"},
                }
            ],
        }
        body = urlencode({"payload": json.dumps(payload)}).encode()
        return self.post(body, "application/x-www-form-urlencoded", **post), name

    def event(self, event: dict[str, Any], **post: Any) -> Reply:
        envelope = {
            "token": "legacy-verification-token",
            "team_id": TEAM,
            "api_app_id": self.fake.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10].upper()}",
            "event_time": int(time.time()),
            "authorizations": [{"team_id": TEAM, "user_id": self.fake.bot_user_id, "is_bot": True}],
        }
        return self.post(json.dumps(envelope).encode(), "application/json", **post)

    # -- what happened -----------------------------------------------------------------------------

    def final(self, name: str, timeout: float = 15.0, count: int = 1) -> dict[str, Any]:
        """The ``count``-th body posted to response_url ``name`` (waiting for it)."""
        return self.fake.wait_for_responses(name, count=count, timeout=timeout)[count - 1]

    def audit_rows(self, at_least: int = 0, timeout: float = 5.0) -> list[dict[str, Any]]:
        """The audit table, waiting for ``at_least`` rows (a row is written right after the ack)."""

        def rows() -> list[dict[str, Any]]:
            return [dict(r) for r in self.store.db.query("SELECT * FROM audit ORDER BY id")]

        until(lambda: len(rows()) >= at_least, timeout)
        return rows()


def until(predicate: Callable[[], Any], timeout: float = 10.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.01)
