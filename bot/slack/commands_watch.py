"""``/exchwatch add|remove|list [TARGET]``: the watchlist (re-checked daily by the scheduler)."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.probe.targets import Target
from bot.render import blocks, watch_cards
from bot.render.blocks import Message
from bot.services import watch as watch_service
from bot.slack import pipeline
from bot.slack.deps import SlackDeps
from bot.slack.parse import parse_watch
from bot.slack.requester import Requester, from_command
from bot.slack.staleness import knowledge_warning

COMMAND = "/exchwatch"


def watch_add(deps: SlackDeps, target: Target, who: Requester) -> Message:
    added = watch_service.add(deps.store, target, deps.clock.now(), added_by=who.tag, channel=who.channel_id)
    return watch_cards.watch_changed(target.key, "add", added)


def watch_remove(deps: SlackDeps, target: Target) -> Message:
    return watch_cards.watch_changed(target.key, "remove", watch_service.remove(deps.store, target))


def watch_list(deps: SlackDeps, page: int = 1) -> Message:
    return watch_cards.watchlist_card(
        watch_service.states(deps.store, catalog=deps.catalog, now=deps.clock.now()),
        warning=knowledge_warning(deps),
        page=page,
    )


def register(app: App, deps: SlackDeps) -> None:
    @app.command(COMMAND)
    def exchwatch(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        who = from_command(body)
        text = str(body.get("text") or "")
        parsed = parse_watch(text)
        cmd = pipeline.command_or_answer(deps, who, ack, parsed, command=COMMAND, text=text)
        if cmd is None:
            return
        if cmd.action == "list":
            page = cmd.page
            pending, work = "Reading the watchlist…", lambda: watch_list(deps, page)
        elif cmd.action == "add":
            assert cmd.target is not None
            target = cmd.target
            pending, work = f"Adding {target.key} to the watchlist…", lambda: watch_add(deps, target, who)
        else:
            assert cmd.target is not None
            target = cmd.target
            pending, work = f"Removing {target.key} from the watchlist…", lambda: watch_remove(deps, target)
        pipeline.start(
            deps,
            who,
            command=COMMAND,
            text=text,
            ack=ack,
            pending=blocks.pending_card(pending),
            work=work,
            client=client,
        )
