"""``exchbot digest``: today's digest, printed or posted once per channel and day."""

from __future__ import annotations

import click

from bot.cli import common
from bot.cli.failure import UserError
from bot.config import Settings
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.digest import digest_text
from bot.services import digest as digest_service
from bot.wiring import make_chart_drawer, make_slack_client, make_store


@click.command(epilog="\b\nExamples:\n  exchbot digest\n  exchbot digest --json\n  exchbot digest --post C0123456789")
@click.option("--json", "as_json", is_flag=True, help="Print the digest as JSON.")
@click.option("--post", "channel", metavar="CHANNEL", help="Post it to this Slack channel (once per day).")
def digest(as_json: bool, channel: str | None) -> None:
    """What changed for watched hosts in the last 24 hours, who is still at risk, regional trends."""
    settings = Settings.from_env()
    clock = common.clock()
    catalog = load_catalog()
    with make_store(settings) as store:
        d = digest_service.compose(
            store,
            catalog,
            clock,
            settings.digest_regions,
            settings.digest_tz,
            max_age_days=settings.knowledge_max_age_days,
            unreachable_days=settings.unreachable_days,
        )
        if as_json:
            click.echo(json_out.dumps(json_out.digest_dict(d)))
        elif not channel:
            click.echo(digest_text(d))
        if channel:
            if not settings.slack_bot_token:
                raise click.UsageError("--post needs SLACK_BOT_TOKEN")
            try:
                outcome = digest_service.post(
                    make_slack_client(settings), channel, d, store, clock, catalog=catalog, draw=make_chart_drawer()
                )
            except digest_service.DigestPostFailed as exc:
                raise UserError(f"{exc} (it can be retried)") from None
            click.echo(f"{channel}: {outcome.reason}", err=as_json)
