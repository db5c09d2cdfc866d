"""``exchbot serve``: run the Slack app, in Socket Mode (default) or HTTP mode (``--http``)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import urllib.error
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING

import click

from bot.cli.failure import UserError
from bot.config import Settings
from bot.redact import install_log_filter, redact

if TYPE_CHECKING:
    from bot.slack.http_server import HttpServer

log = logging.getLogger("exchbot.serve")
SHUTDOWN_GRACE = 10.0  # seconds running jobs get to finish on SIGTERM


def missing_settings(settings: Settings, http_mode: bool) -> list[str]:
    """What must be set before the app can start, as lines for the user (names, never values)."""
    problems = []
    if not settings.slack_bot_token:
        problems.append("SLACK_BOT_TOKEN is not set: the bot token (xoxb-…) from OAuth & Permissions")
    elif not settings.slack_bot_token.startswith("xoxb-"):
        problems.append("SLACK_BOT_TOKEN does not look like a bot token (it should start with xoxb-)")
    if http_mode:
        if not settings.slack_signing_secret:
            problems.append(
                "SLACK_SIGNING_SECRET is not set: HTTP mode verifies every request with it "
                "(Basic Information > App Credentials)"
            )
    elif not settings.slack_app_token:
        problems.append(
            "SLACK_APP_TOKEN is not set: Socket Mode needs an app-level token (xapp-…) with "
            "connections:write (Basic Information > App-Level Tokens); or use --http"
        )
    elif not settings.slack_app_token.startswith("xapp-"):
        problems.append("SLACK_APP_TOKEN does not look like an app-level token (it should start with xapp-)")
    return problems


def _redact(text: str, settings: Settings) -> str:
    for secret in (settings.slack_bot_token, settings.slack_app_token, settings.slack_signing_secret):
        if secret:
            text = text.replace(secret, "***")
    return redact(text)[:300]


@click.command(epilog="\b\nExamples:\n  exchbot serve\n  exchbot serve --http --host 0.0.0.0 --port 3000")
@click.option(
    "--http",
    "http_mode",
    is_flag=True,
    help="Serve HTTP at /slack/events (signed requests, SLACK_SIGNING_SECRET) instead of Socket Mode.",
)
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=3000,
    show_default=True,
    envvar="PORT",
    help="HTTP mode: port to listen on ($PORT if set).",
)
@click.option(
    "--host",
    default="127.0.0.1",
    show_default=True,
    help="HTTP mode: address to listen on (0.0.0.0 behind a platform router).",
)
@click.option(
    "--health-port",
    type=click.IntRange(1, 65535),
    default=None,
    help="Socket Mode: answer GET /healthz on this port (default $EXCHBOT_HEALTH_PORT; none if unset).",
)
@click.option("--health-host", default="127.0.0.1", show_default=True, help="Socket Mode: address of the health port.")
def serve(http_mode: bool, port: int, host: str, health_port: int | None, health_host: str) -> None:
    """Run the Slack app: /exchcheck, /exposure, /exchwatch, the buttons and the App Home.

    Socket Mode by default (SLACK_BOT_TOKEN, SLACK_APP_TOKEN: no public URL needed). With --http,
    waitress serves POST /slack/events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET) and GET /healthz.
    Socket Mode answers GET /healthz only with --health-port. /healthz is 200 when the database can
    be written (and in Socket Mode the Slack connection is up), else 503 with the reason.
    Stops cleanly on SIGTERM or Ctrl-C.
    """
    settings = Settings.from_env()
    problems = missing_settings(settings, http_mode)
    if problems:
        raise UserError("cannot start the Slack app:\n  " + "\n  ".join(problems), 2)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    install_log_filter()  # secrets masked in every log line (bot.redact)

    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.services.health import describe_database, health_check
    from bot.slack.app import AppConfigError, build_app, stop_app
    from bot.wiring import make_daily_scheduler, make_slack_client, make_slack_deps

    deps = make_slack_deps(settings)  # a missing knowledge folder is one line (ExchbotGroup)
    deps.store.watchlist()  # open the database now: a fault stops the start (one line, exit 1)
    try:
        app = build_app(deps, make_slack_client(settings))
    except (AppConfigError, BoltError) as exc:
        raise UserError(f"Slack did not accept the app's configuration: {_redact(str(exc), settings)}") from None
    except (urllib.error.URLError, OSError) as exc:
        raise UserError(
            f"cannot reach the Slack Web API at {settings.slack_api_url}: {_redact(str(exc), settings)}"
        ) from None

    from bot.collector import freeze_startup_heap

    freeze_startup_heap()  # the start-up objects are never walked by the collector again
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    try:
        log.info("%s", describe_database(deps.store))
    except Exception as exc:  # /healthz and `exchbot status` report it; serve still starts
        log.error("database %s cannot be opened: %s", deps.store.path, exc)
    health_port = health_port or settings.health_port
    runner: _HttpRunner | _SocketRunner
    if http_mode:
        runner = _HttpRunner(app, host, port, health_check(settings.db_path), deps.jobs.gate)
    else:
        runner = _SocketRunner(app, settings)
        if health_port:
            runner.health = _HealthServer(health_host, health_port, health_check(settings.db_path, runner.connected))
    try:
        runner.start()
    except SlackApiError as exc:
        raise UserError(
            f"Slack refused the Socket Mode connection ({exc.response.get('error')}): check SLACK_APP_TOKEN"
        ) from None
    except OSError as exc:
        raise UserError(f"cannot start: {_redact(str(exc), settings)}") from None
    # The daily watchlist run and digest (EXCHBOT_DIGEST_CHANNEL), on the app's own client.
    scheduler = make_daily_scheduler(deps, app.client)
    scheduler.start()
    log.info(
        "daily jobs scheduled: %s (%s)",
        ", ".join(f"{j.name} at {j.at:%H:%M}" for j in scheduler.jobs),
        settings.digest_tz,
    )
    try:
        while not stop.wait(1.0):
            if not runner.alive():
                log.error("the %s stopped unexpectedly", runner.name)
                break
    finally:
        runner.stop()
        stop_app(app)
        background_stopped = False
        try:
            # A job in progress gets a few seconds; if it is still running, the store stays open.
            background_stopped = scheduler.stop(timeout=SHUTDOWN_GRACE)
        finally:
            # Close the database only when no job still uses it (a connection closed under a
            # running query can crash SQLite); otherwise the process exit closes it.
            if deps.jobs.shutdown(SHUTDOWN_GRACE) and background_stopped:
                deps.store.close()
            log.info("stopped")


class _HttpRunner:
    name = "HTTP server"

    def __init__(self, app: object, host: str, port: int, health: Callable[[], str | None], gate: object) -> None:
        from slack_bolt import App

        from bot.slack.ack_gate import AckGate
        from bot.slack.http_server import HttpServer

        assert isinstance(app, App) and isinstance(gate, AckGate)
        # Slack requests are marked on the job runner's gate: jobs hold back while acks are pending.
        self.server = HttpServer(app, host=host, port=port, health=health, gate=gate)

    def start(self) -> None:
        self.server.start()
        log.info("listening on %s (GET /healthz for health checks)", self.server.url)

    def alive(self) -> bool:
        return self.server.running

    def stop(self) -> None:
        self.server.stop()


class _SocketRunner:
    name = "Socket Mode connection"

    def __init__(self, app: object, settings: Settings) -> None:
        from slack_bolt import App
        from slack_bolt.adapter.socket_mode import SocketModeHandler

        assert isinstance(app, App)
        self.handler = SocketModeHandler(app, app_token=settings.slack_app_token)
        self.health: _HealthServer | None = None

    def start(self) -> None:
        self.handler.client.connect()
        log.info("connected to Slack in Socket Mode")
        if self.health is not None:
            self.health.start()

    def alive(self) -> bool:
        return not self.handler.client.closed  # reconnects are handled by the client itself

    def connected(self) -> bool:
        return bool(self.handler.client.is_connected())

    def stop(self) -> None:
        if self.health is not None:
            self.health.stop()
        self.handler.client.close()


class _HealthServer:
    """Socket Mode has no port of its own: ``--health-port`` serves only ``GET /healthz``."""

    def __init__(self, host: str, port: int, health: Callable[[], str | None]) -> None:
        self.host, self.port, self.health = host, port, health
        self.server: HttpServer | None = None

    def start(self) -> None:
        from bot.slack.http_server import HttpServer

        self.server = HttpServer(None, host=self.host, port=self.port, threads=2, health=self.health).start()
        host = str(self.server.server.effective_host)
        log.info("health checks on http://%s:%d/healthz", host, self.server.port)

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
