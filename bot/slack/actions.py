"""The buttons under a check card: **Re-check** (a fresh check replaces the card) and **Add to
watchlist** (a short confirmation below it). Both carry the host key as their value; it is parsed
again like typed text, since a click payload can be forged as easily as a command."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.probe.targets import TargetError, parse_target
from bot.render import blocks
from bot.render.blocks import RECHECK, WATCH_ADD
from bot.slack import pipeline, reply
from bot.slack.commands_check import check_message
from bot.slack.commands_watch import watch_add
from bot.slack.deps import SlackDeps
from bot.slack.requester import audit, from_action


def _value(body: dict[str, Any], action_id: str) -> str:
    for action in body.get("actions") or []:
        if isinstance(action, dict) and action.get("action_id") == action_id:
            return str(action.get("value") or "")
    return ""


def register(app: App, deps: SlackDeps) -> None:
    def handle(action_id: str, body: dict[str, Any], client: WebClient) -> None:
        who = from_action(body)
        value = _value(body, action_id)
        command = f"button:{action_id}"
        try:
            target = parse_target(value)
        except TargetError as exc:
            reply.respond(
                who,
                blocks.notice(f"That button carries no valid host ({exc}).", ":x:"),
                client=client,
                replace_original=False,
                timeout=deps.respond_timeout,
            )
            audit(deps, who, command, value, "usage:target")
            return
        if action_id == RECHECK:
            pipeline.start(
                deps,
                who,
                command=command,
                text=value,
                ack=None,
                pending=blocks.pending_card(f"Re-checking {target.key}…"),
                work=lambda: check_message(deps, target, who),
                client=client,
                replace_original=True,
            )
        else:
            pipeline.start(
                deps,
                who,
                command=command,
                text=value,
                ack=None,
                pending=None,
                work=lambda: watch_add(deps, target, who),
                client=client,
                replace_original=False,
            )

    @app.action(RECHECK)
    def recheck(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()  # first: Slack shows an error on the button if this takes over 3 s
        handle(RECHECK, body, client)

    @app.action(WATCH_ADD)
    def add_to_watchlist(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        ack()
        handle(WATCH_ADD, body, client)
