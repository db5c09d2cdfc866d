"""The "Check a host…" button (watchlist card, App Home): a modal asks for the host, and its
submission runs exactly what ``/exchcheck HOST`` runs.

* The click is acknowledged empty; the modal is opened from Bolt's listener pool (``views.open``
  needs the click's trigger_id, valid for 3 s). If it cannot be opened, the user is told how to
  type the command instead.
* A submission is parsed like the command's text. A problem is shown under the input field
  (``response_action: errors``) and nothing runs; otherwise the modal closes and the check goes
  through the same gate, job runner and audit as the command. The answer goes where the button was:
  an ephemeral message in that channel, or a direct message from the App Home.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.render import blocks, check_modal
from bot.render.blocks import CHECK_HOST
from bot.slack import pipeline, reply
from bot.slack.commands_check import check_job
from bot.slack.deps import SlackDeps
from bot.slack.parse import Help, Usage, parse_check
from bot.slack.requester import Requester, audit, from_action, refusal

log = logging.getLogger(__name__)
COMMAND = "modal:check"  # in the audit trail
CHECK_HOW = (
    "To check a host, type `/exchcheck mail.example.com` (or a host:port, an https:// URL or an IP address) "
    "in any channel where exchbot is; only you see the answer until you share it."
)
_HELP_ERROR = "Type the server to check, e.g. mail.example.com"


def open_modal(deps: SlackDeps, body: dict[str, Any], client: WebClient) -> None:
    """After the click's (empty) ack: open the modal, or say why not."""
    who = from_action(body)
    home = not who.channel_id
    why = refusal(deps.settings, who, home=home)
    if why is not None:
        notice = blocks.notice(why, ":no_entry:")
        reply.respond(who, notice, client=client, replace_original=False, timeout=deps.respond_timeout)
        audit(deps, who, f"button:{CHECK_HOST}", "", "denied")
        return
    trigger = body.get("trigger_id")
    try:
        if not isinstance(trigger, str) or not trigger:
            raise ValueError("no trigger_id")
        client.views_open(trigger_id=trigger, view=check_modal.check_host_view(who.channel_id, who.response_url))
    except Exception as exc:  # an expired trigger, Slack down: the command still works
        log.warning("the check modal could not be opened for %s: %s", who.user_id, type(exc).__name__)
        reply.respond(
            who, blocks.notice(CHECK_HOW, ":mag:"), client=client, replace_original=False, timeout=deps.respond_timeout
        )
        audit(deps, who, f"button:{CHECK_HOST}", "", "help")
        return
    audit(deps, who, f"button:{CHECK_HOST}", "", "modal")


def submitter(body: dict[str, Any], channel_id: str | None, response_url: str | None) -> Requester:
    """Who submitted the modal; where to answer comes from the view (the button's message)."""
    base = from_action(body)  # user and team are where a click has them
    return Requester(base.user_id, base.user_name, channel_id, base.team_id, response_url)


def submit(deps: SlackDeps, ack: Ack, body: dict[str, Any], client: WebClient) -> None:
    """The modal's submission: in memory up to ``ack()`` (as a slash command)."""
    text, channel_id, response_url = check_modal.submitted(body.get("view"))
    who = submitter(body, channel_id, response_url)
    parsed = parse_check(text)
    if isinstance(parsed, Help | Usage):
        problem = _HELP_ERROR if isinstance(parsed, Help) else parsed.problem
        ack(response_action="errors", errors=check_modal.input_error(problem))
        audit(deps, who, COMMAND, text, "help" if isinstance(parsed, Help) else f"usage:{parsed.reason}")
        return
    ack()  # closes the modal; the answer follows where the button was
    _, work = check_job(deps, parsed, who)
    pipeline.start(
        deps,
        who,
        command=COMMAND,
        text=text,
        ack=None,
        pending=None,
        work=work,
        client=client,
        replace_original=False,  # below the card the button was on, which stays
    )


def register(app: App, deps: SlackDeps) -> None:
    pool = app.listener_runner.listener_executor

    @app.action(CHECK_HOST)
    def on_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        try:
            pool.submit(_safely, open_modal, deps, body, client)
        except RuntimeError:  # the app is stopping: no new work
            log.warning("button %s arrived while the app was stopping; ignored", CHECK_HOST)

    @app.view(check_modal.CALLBACK_ID)
    def on_submit(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        submit(deps, ack, body, client)


def _safely(run: Any, *args: Any) -> None:
    try:
        run(*args)
    except Exception:
        log.exception("the check modal failed")
