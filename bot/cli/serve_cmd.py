"""``exchbot serve``: run the Slack app, in Socket Mode (default) or HTTP mode (``--http``)."""

from __future__ import annotations

import logging
import signal
import sys
import threading
import urllib.error
from types import FrameType

import click

from bot.config import Settings

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
    return text[:300]


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"exchbot: {message}", err=True)
    raise SystemExit(code)


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
def serve(http_mode: bool, port: int, host: str) -> None:
    """Run the Slack app: /exchcheck, /exposure, /exchwatch, the buttons and the App Home.

    Socket Mode by default (SLACK_BOT_TOKEN, SLACK_APP_TOKEN: no public URL needed). With --http,
    waitress serves POST /slack/events (SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET) and GET /healthz.
    Stops cleanly on SIGTERM or Ctrl-C.
    """
    settings = Settings.from_env()
    problems = missing_settings(settings, http_mode)
    if problems:
        _fail("cannot start the Slack app:\n  " + "\n  ".join(problems), 2)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    from slack_bolt.error import BoltError
    from slack_sdk.errors import SlackApiError

    from bot.knowledge import KnowledgeError
    from bot.slack import hooks
    from bot.slack.app import AppConfigError, build_app, stop_app
    from bot.wiring import make_slack_deps

    try:
        deps = make_slack_deps(settings)
    except KnowledgeError as exc:
        _fail(str(exc))
        return
    try:
        app = build_app(deps)
    except (AppConfigError, BoltError) as exc:
        _fail(f"Slack did not accept the app's configuration: {_redact(str(exc), settings)}")
        return
    except (urllib.error.URLError, OSError) as exc:
        _fail(f"cannot reach the Slack Web API at {settings.slack_api_url}: {_redact(str(exc), settings)}")
        return

    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        log.info("signal %d: shutting down", signum)
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    runner = _HttpRunner(app, host, port) if http_mode else _SocketRunner(app, settings)
    try:
        runner.start()
    except SlackApiError as exc:
        _fail(f"Slack refused the Socket Mode connection ({exc.response.get('error')}): check SLACK_APP_TOKEN")
        return
    except OSError as exc:
        _fail(f"cannot start: {_redact(str(exc), settings)}")
        return
    hooks.on_start(app, deps)
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
            background_stopped = hooks.on_stop()
        finally:
            # Close the database only when no job still uses it (a connection closed under a
            # running query can crash SQLite); otherwise the process exit closes it.
            if deps.jobs.shutdown(SHUTDOWN_GRACE) and background_stopped:
                deps.store.close()
            log.info("stopped")


class _HttpRunner:
    name = "HTTP server"

    def __init__(self, app: object, host: str, port: int) -> None:
        from slack_bolt import App

        from bot.slack.http_server import HttpServer

        assert isinstance(app, App)
        self.server = HttpServer(app, host=host, port=port)

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

    def start(self) -> None:
        self.handler.client.connect()
        log.info("connected to Slack in Socket Mode")

    def alive(self) -> bool:
        return not self.handler.client.closed  # reconnects are handled by the client itself

    def stop(self) -> None:
        self.handler.client.close()
