"""Start and stop hooks for background work that runs beside the Slack app (the digest scheduler
and the daily watchlist run, issue 7). ``exchbot serve`` calls :func:`on_start` once the app is
built and listening, and :func:`on_stop` on SIGTERM/SIGINT before the job runner and the store are
closed. They do nothing yet."""

from __future__ import annotations

from slack_bolt import App

from bot.slack.deps import SlackDeps


def on_start(app: App, deps: SlackDeps) -> None:
    """Called once, after the app is built and the server/socket is up."""


def on_stop() -> None:
    """Called once on shutdown; must return within a few seconds."""
