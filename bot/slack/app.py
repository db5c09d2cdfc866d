"""``build_app(deps)``: the Bolt app, single-workspace, with every listener registered.

* The Web API client is handed in (:func:`bot.wiring.make_slack_client`: ``SLACK_API_URL``, a
  timeout); tests hand in one pointed at a fake on 127.0.0.1.
* Never OAuth: ``SLACK_CLIENT_ID`` / ``SLACK_CLIENT_SECRET`` in the environment would make Bolt
  switch to the OAuth flow on its own (and store installations in a file under ``~``); they are
  hidden from it while the app is built (the settings are passed explicitly), and the result is
  checked.
* ``process_before_response=True``: a listener runs on the HTTP request's own thread and the answer
  (the acknowledgement) goes out when it returns. Listeners only parse, check limits, hand their work
  to the app's bounded job runner, call ``ack()`` and queue an audit row, all in memory. (With
  ``False`` Bolt runs the listener on another thread and polls for the ``ack()`` every 10 ms: one
  command alone waited ~11 ms for ~1 ms of work, and a burst of 40 kept waitress's threads busy
  sleeping.) Button clicks are acknowledged empty and then continue on the listener pool below,
  because some of them answer through the response_url (a network call) right away.
* Bolt calls ``auth.test`` here, so a wrong ``SLACK_BOT_TOKEN`` fails at start, not at first use.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import logging
import os
import threading
from collections.abc import Iterator

from slack_bolt import App
from slack_sdk import WebClient

from bot.slack import actions, check_modal, commands_check, commands_exposure, commands_watch, home
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)

# The slash commands this app handles; app_manifest.yaml must declare exactly these.
COMMANDS = (commands_check.COMMAND, commands_exposure.COMMAND, commands_watch.COMMAND)
LISTENER_THREADS = 16  # Bolt's own pool (default 5): what a button click does after its (empty) ack
# Bolt reads these from the environment when built: the OAuth pair switches it to OAuth mode, and
# SLACK_BOT_TOKEN beside an explicit client only draws a warning. Settings are passed explicitly.
_HIDDEN_VARS = ("SLACK_CLIENT_ID", "SLACK_CLIENT_SECRET", "SLACK_BOT_TOKEN")
_env_lock = threading.Lock()


class AppConfigError(RuntimeError):
    """The app cannot be built from these settings (message names the cause, never a secret)."""


@contextlib.contextmanager
def _hidden_env() -> Iterator[None]:
    with _env_lock:
        saved = {k: os.environ.pop(k) for k in _HIDDEN_VARS if k in os.environ}
        try:
            yield
        finally:
            os.environ.update(saved)


def build_app(deps: SlackDeps, client: WebClient) -> App:
    settings = deps.settings
    if not settings.slack_bot_token:
        raise AppConfigError("SLACK_BOT_TOKEN is not set (the bot token, xoxb-…)")
    with _hidden_env():
        app = App(
            name="exchbot",
            client=client,
            signing_secret=settings.slack_signing_secret or "",
            process_before_response=True,
            installation_store=None,
            oauth_settings=None,
            oauth_flow=None,
            authorize=None,
            token_verification_enabled=True,
            request_verification_enabled=True,
            listener_executor=concurrent.futures.ThreadPoolExecutor(
                max_workers=LISTENER_THREADS, thread_name_prefix="exchbot-listener"
            ),
        )
    if app.oauth_flow is not None or app.installation_store is not None:  # defence in depth
        raise AppConfigError("the Slack app came up in OAuth mode; exchbot is a single-workspace app")
    for module in (commands_check, commands_exposure, commands_watch, actions, check_modal, home):
        module.register(app, deps)
    return app


def stop_app(app: App) -> None:
    """Wait for listeners that are still running (a button's part after ``ack()``: audit rows, refusals)
    and accept no new ones; call after the server stopped and before the store is closed."""
    app.listener_runner.listener_executor.shutdown(wait=True, cancel_futures=False)
