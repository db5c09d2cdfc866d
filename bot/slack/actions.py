"""The buttons under a check card and in the watchlist views.

* **Re-check**: a fresh check replaces the card.
* **Watch** / **Watched ✓ · Remove**: add to or remove from the watchlist (a confirmation below).
* **Show evidence**: every evidence line of the newest stored check, as a reply below the card.
* **Share in channel**: the newest stored answer posted visibly in the channel (in the thread when
  the card is in one), so the team sees what the person who asked saw.

Each carries the host key as its value; it is parsed again like typed text, since a click payload
can be forged as easily as a command.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.probe.targets import Target, TargetError, parse_target
from bot.render import blocks, check_card
from bot.render.blocks import (
    HOME_PAGE,
    HOST_MENU,
    MENU_RECHECK,
    MENU_REMOVE,
    RECHECK,
    SHARE,
    SHOW_EVIDENCE,
    WATCH_ADD,
    WATCH_PAGE,
    WATCH_REMOVE,
    Message,
)
from bot.slack import pipeline, reply
from bot.slack.commands_check import check_message
from bot.slack.commands_watch import watch_add, watch_list, watch_remove
from bot.slack.deps import SlackDeps
from bot.slack.home import publish_home
from bot.slack.requester import Requester, audit, from_action, refusal

log = logging.getLogger(__name__)
# Actions that send a new message below the card (the others replace it).
_BELOW = (WATCH_ADD, WATCH_REMOVE, SHOW_EVIDENCE, SHARE)


def _value(body: dict[str, Any], action_id: str) -> str:
    for action in body.get("actions") or []:
        if isinstance(action, dict) and action.get("action_id") == action_id:
            option = action.get("selected_option")  # an overflow menu
            if isinstance(option, dict):
                return str(option.get("value") or "")
            return str(action.get("value") or "")
    return ""


def _page(value: str) -> int:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 5 else 1


def _thread_ts(body: dict[str, Any]) -> str | None:
    """The thread the card was posted in, if any (Slack puts it in the container or the message)."""
    for key in ("container", "message"):
        part = body.get(key)
        if isinstance(part, dict):
            ts = part.get("thread_ts")
            if isinstance(ts, str) and ts.replace(".", "").isdigit():
                return ts
    return None


def share(deps: SlackDeps, target: Target, who: Requester, client: WebClient, thread_ts: str | None) -> Message:
    """Post the newest stored answer visibly; the returned message tells the clicker where it went."""
    card = check_card.shared_card(target.key, deps.store.latest_result(target.key), who.user_id)
    if not who.channel_id:
        return blocks.notice("There is no channel to share in here.", ":x:")
    try:
        client.chat_postMessage(
            channel=who.channel_id,
            thread_ts=thread_ts,
            text=card["text"],
            blocks=card["blocks"],
            unfurl_links=False,
            unfurl_media=False,
        )
    except SlackApiError as exc:
        error = str(exc.response.get("error") or "error")
        if error in ("not_in_channel", "channel_not_found"):
            return blocks.notice(
                "exchbot is not a member of this channel, so it cannot post here. Invite it with `/invite @exchbot`.",
                ":x:",
            )
        return blocks.notice(f"Slack refused the post ({error}).", ":x:")
    where = "in this thread" if thread_ts else "in this channel"
    return blocks.notice(f"Shared the answer for {target.key} {where}.", ":white_check_mark:")


def register(app: App, deps: SlackDeps) -> None:
    def handle(action_id: str, body: dict[str, Any], client: WebClient) -> None:
        who = from_action(body)
        value = _value(body, action_id)
        command = f"button:{action_id}"
        if action_id == HOST_MENU:  # "recheck|HOST" or "remove|HOST" from the menu beside a watched host
            verb, _, value = value.partition("|")
            action_id = {MENU_RECHECK: RECHECK, MENU_REMOVE: WATCH_REMOVE}.get(verb, "")
            if not action_id:
                audit(deps, who, command, verb, "usage:menu")
                return
            below = True
        else:
            below = action_id in _BELOW
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
        pending: Message | None = None
        work: Callable[[], Message]
        if action_id == RECHECK:
            pending = blocks.pending_card(f"Re-checking {target.key}…")
            work = lambda: check_message(deps, target, who)  # noqa: E731
        elif action_id == WATCH_ADD:
            work = lambda: watch_add(deps, target, who)  # noqa: E731
        elif action_id == WATCH_REMOVE:
            work = lambda: watch_remove(deps, target)  # noqa: E731
        elif action_id == SHOW_EVIDENCE:
            work = lambda: check_card.evidence_card(target.key, deps.store.latest_result(target.key))  # noqa: E731
        else:
            thread = _thread_ts(body)
            work = lambda: share(deps, target, who, client, thread)  # noqa: E731
        pipeline.start(
            deps,
            who,
            command=command,
            text=value,
            ack=None,
            pending=pending,
            work=work,
            client=client,
            replace_original=not below,
        )

    def simple(action_id: str, body: dict[str, Any], client: WebClient) -> None:
        """Paging: no host in the value, no probe."""
        who = from_action(body)
        value = _value(body, action_id)
        command = f"button:{action_id}"
        if action_id == HOME_PAGE:
            why = refusal(deps.settings, who, home=True)
            page = _page(value)

            def republish() -> None:
                publish_home(deps, client, who.user_id, page)

            accepted = why is None and deps.jobs.submit(republish)
            audit(deps, who, command, value, "accepted" if accepted else ("denied" if why else "busy"))
            return
        page = _page(value)  # WATCH_PAGE
        pipeline.start(
            deps,
            who,
            command=command,
            text=value,
            ack=None,
            pending=None,
            work=lambda: watch_list(deps, page),
            client=client,
            replace_original=True,
        )

    pool = app.listener_runner.listener_executor

    def listener(
        action_id: str, run: Callable[[str, dict[str, Any], WebClient], None]
    ) -> Callable[[Ack, dict[str, Any], WebClient], None]:
        def on_click(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
            ack()  # first: Slack shows an error on the button if this takes over 3 s
            # The HTTP answer leaves when this listener returns (process_before_response), and the
            # rest may answer through the response_url at once: it runs on the listener pool.
            try:
                pool.submit(follow_up, action_id, body, client)
            except RuntimeError:  # the app is stopping (stop_app): no new work
                log.warning("button %s arrived while the app was stopping; ignored", action_id)

        def follow_up(action_id: str, body: dict[str, Any], client: WebClient) -> None:
            try:
                run(action_id, body, client)
            except Exception:
                log.exception("button %s failed", action_id)

        return on_click

    for action_id in (RECHECK, WATCH_ADD, WATCH_REMOVE, SHOW_EVIDENCE, SHARE, HOST_MENU):
        app.action(action_id)(listener(action_id, handle))
    for action_id in (WATCH_PAGE, HOME_PAGE):
        app.action(action_id)(listener(action_id, simple))
