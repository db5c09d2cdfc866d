"""``/exposure REGION``: how exposed a region is, from a stored or new Shodan snapshot."""

from __future__ import annotations

import logging
import sqlite3
from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient

from bot.core.exposure import RegionError
from bot.exposure.client import ShodanError
from bot.render import blocks, charts, exposure_card
from bot.render.blocks import Message
from bot.slack import pipeline
from bot.slack.deps import SlackDeps
from bot.slack.parse import parse_exposure
from bot.slack.requester import from_command
from bot.slack.staleness import knowledge_warning

log = logging.getLogger(__name__)
COMMAND = "/exposure"


def exposure_message(deps: SlackDeps, region: str, chart_to: tuple[WebClient, str] | None = None) -> Message:
    """The job: Shodan failures are data ("could not get exposure: invalid API key"), not exceptions.
    With ``chart_to`` (client, channel) the region's trend chart is uploaded there too."""
    try:
        result = deps.exposure(region)
    except RegionError as exc:
        return blocks.usage_card(COMMAND, str(exc))
    except ShodanError as exc:
        return blocks.error_card(f"Could not get the exposure of {region}", f"{exc} (nothing was recorded)")
    except (OSError, sqlite3.Error) as exc:
        log.error("exposure %s: %s", region, exc, exc_info=True)
        return blocks.error_card(f"Could not get the exposure of {region}", "the history database is unavailable")
    card = exposure_card.exposure_card(result, warning=knowledge_warning(deps))
    if chart_to is not None:
        posted = upload_trend_chart(deps, result.region, frozenset(result.countries), result.unit, *chart_to)
        card = exposure_card.with_chart_note(card, posted, chart_to[1])
    return card


def upload_trend_chart(
    deps: SlackDeps, region: str, codes: frozenset[str], unit: str, client: WebClient, channel: str
) -> bool:
    """Upload the trend of ``region`` over the stored snapshots (files_upload_v2, files:write)."""
    points = charts.trend_points(deps.store.snapshots(limit=400), region, codes, deps.catalog, deps.clock.now().date())
    chart = charts.exposure_trend(points, region, unit)
    try:
        client.files_upload_v2(
            channel=channel,
            title=chart.title,
            filename=f"exchbot-exposure-{region}.png",
            content=chart.png,
            initial_comment=f"Exchange exposure trend for {blocks.escape(region)} "
            f"({len(points)} snapshots, data: Shodan)",
        )
    except Exception as exc:  # SlackApiError, or urllib's HTTPError from the upload step
        log.warning("chart upload for %s failed: %s", region, type(exc).__name__)
        return False
    return True


def register(app: App, deps: SlackDeps) -> None:
    @app.command(COMMAND)
    def exposure(ack: Ack, body: dict[str, Any], client: WebClient) -> None:
        who = from_command(body)
        text = str(body.get("text") or "")
        parsed = parse_exposure(text, deps.catalog)
        cmd = pipeline.command_or_answer(deps, who, ack, parsed, command=COMMAND, text=text)
        if cmd is None:
            return
        region = cmd.region
        chart_to = (client, who.channel_id) if cmd.chart and who.channel_id else None
        pending = f"Counting Exchange servers in {region} (Shodan)" + (", with the trend chart" if chart_to else "")
        pipeline.start(
            deps,
            who,
            command=COMMAND,
            text=text,
            ack=ack,
            pending=blocks.pending_card(pending + "…"),
            work=lambda: exposure_message(deps, region, chart_to),
            client=client,
        )
