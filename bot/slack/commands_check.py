"""``/exchcheck TARGET`` (and ``/exchcheck help``): a live check, answered with a card."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.changes import host_changes
from bot.core.model import CheckResult
from bot.probe.targets import Target
from bot.render import blocks, check_card
from bot.render.blocks import Message
from bot.render.check_card import SinceLast
from bot.slack import discovery, pipeline
from bot.slack.deps import SlackDeps
from bot.slack.parse import CheckCommand, parse_check
from bot.slack.requester import Requester, from_command

log = logging.getLogger(__name__)
COMMAND = "/exchcheck"
HISTORY = 20  # stored checks read to find what changed (unreachable checks in between included)


def since_last(deps: SlackDeps, result: CheckResult) -> SinceLast:
    """What changed for the host between its previous stored check and this one."""
    points = deps.store.history(result.host, HISTORY)  # newest first; this check is already stored
    earlier = [p for p in points if p.checked_at < result.checked_at]
    if not earlier:
        return SinceLast(previous_at=None)
    changes = host_changes(points, since=result.checked_at)
    answered = next((p for p in earlier if p.answered), None)
    return SinceLast(previous_at=earlier[0].checked_at, changes=tuple(changes), last_answered=answered)


def check_message(deps: SlackDeps, target: Target, who: Requester) -> Message:
    """The job: probe (same SSRF guard as the CLI), store, compare with history, render."""
    result = deps.check(target, who.tag)
    if deps.discover is not None and discovery.wants_discovery(target, result):
        found = discovery.name_message(deps.discover, target, result, who.tag)
        if found is not None:
            return found
    try:
        since: SinceLast | None = since_last(deps, result)
    except Exception as exc:  # history is a bonus: the verdict still goes out
        log.error("history of %s could not be read: %s", result.host, exc)
        since = None
    try:
        watched = any(w.host == result.host for w in deps.store.watchlist())
    except Exception as exc:
        log.error("watchlist could not be read: %s", exc)
        watched = False
    return check_card.check_card(
        result, since, knowledge_date=deps.catalog.data_date, state=check_card.CardState(watched=watched)
    )


def check_job(deps: SlackDeps, cmd: CheckCommand, who: Requester) -> tuple[Message, pipeline.Work]:
    """What ``/exchcheck`` (or the "Check a host…" modal) does for ``cmd``: its pending card and its work."""
    target, address = cmd.target, cmd.address
    if address is not None:
        return (
            blocks.pending_card(f"Looking for the Exchange servers of {target.host}…"),
            lambda: discovery.address_message(deps.discover, target, address, who.tag),
        )
    return blocks.pending_card(f"Checking {target.key}…"), lambda: check_message(deps, target, who)


def register(app: App, deps: SlackDeps) -> None:
    @app.command(COMMAND)
    def exchcheck(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        who = from_command(body)
        text = str(body.get("text") or "")
        parsed = parse_check(text)
        cmd = pipeline.command_or_answer(deps, who, ack, parsed, command=COMMAND, text=text)
        if cmd is None:
            return
        pending, work = check_job(deps, cmd, who)
        pipeline.start(deps, who, command=COMMAND, text=text, ack=ack, pending=pending, work=work, client=client)
