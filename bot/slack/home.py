"""The App Home tab: on ``app_home_opened``, publish the watchlist with each host's latest verdict
and last-change date (rendered by :func:`bot.render.watch_cards.home_view`)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt import App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.render import watch_cards
from bot.services import watch as watch_service
from bot.slack.deps import SlackDeps
from bot.slack.requester import Requester, audit, refusal
from bot.slack.staleness import knowledge_warning

log = logging.getLogger(__name__)
EVENT = "app_home_opened"


def publish_home(deps: SlackDeps, client: WebClient, user_id: str, page: int = 1) -> bool:
    who = Requester(user_id=user_id, user_name=None, channel_id=None, team_id=None, response_url=None)
    why = refusal(deps.settings, who, home=True)
    if why:
        view = watch_cards.home_view([], knowledge_date=deps.catalog.data_date, note=why)
        view["blocks"] = [b for b in view["blocks"] if b.get("type") in ("header", "section")][:2]
    else:
        view = watch_cards.home_view(
            watch_service.states(deps.store, catalog=deps.catalog, now=deps.clock.now()),
            knowledge_date=deps.catalog.data_date,
            warning=knowledge_warning(deps),
            page=page,
        )
    try:
        client.views_publish(user_id=user_id, view=view)
    except SlackApiError as exc:
        log.warning("views.publish for %s failed: %s", user_id, exc.response.get("error"))
        return False
    return True


def register(app: App, deps: SlackDeps) -> None:
    @app.event(EVENT)
    def home_opened(event: dict[str, Any], client: WebClient) -> None:
        # Runs before the event is acknowledged (process_before_response): the store and Slack
        # calls go to a job, so the acknowledgement waits for nothing but this.
        if event.get("tab") not in (None, "home"):
            return  # the Messages tab
        user_id = str(event.get("user") or "")
        if not user_id:
            return
        who = Requester(user_id=user_id, user_name=None, channel_id=None, team_id=None, response_url=None)
        accepted = deps.jobs.submit(lambda: _publish(deps, client, user_id))
        audit(deps, who, "app_home_opened", "", "accepted" if accepted else "busy")


def _publish(deps: SlackDeps, client: WebClient, user_id: str) -> None:
    publish_home(deps, client, user_id)
