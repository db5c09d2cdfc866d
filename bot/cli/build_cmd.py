"""``exchbot build``: assess build strings offline."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli import common
from bot.cli.startup import current_settings
from bot.core.assess import assess
from bot.core.staleness import staleness, stamp_assessment
from bot.knowledge import load_catalog
from bot.render import json_out, text


@click.command(epilog="\b\nExamples:\n  exchbot build 15.2.1544.11\n  exchbot build 15.1.2507.72 15.2.2562.53 --json")
@click.argument("builds", nargs=-1, required=True)
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, one assessment per input.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    hidden=True,
    help="Judge end-of-life as of this date (default: today).",
)
def build(builds: tuple[str, ...], as_json: bool, today: dt.datetime | None) -> None:
    """Assess Exchange build numbers as scanners report them.

    BUILDS: e.g. 15.1.2375.37, 15.01.2375.037, 15.1.2375 or Exchange/15.01.2176.009.
    Exits 1 when any input is not a build number.
    """
    catalog = load_catalog()
    day = today.date() if today else common.clock().now().date()
    max_age = current_settings().knowledge_max_age_days
    results = [stamp_assessment(assess(b, catalog, day), day, max_age) for b in builds]
    if as_json:
        click.echo(json_out.dumps([json_out.assessment_dict(a) for a in results]))
    elif len(results) == 1:
        click.echo(text.assessment_details(results[0]))
    else:
        click.echo(text.build_table(results) + "\n")
        if any(a.update_nearest for a in results):
            click.echo(text.NEAREST_LEGEND)
        click.echo(f"Data: knowledge base as of {catalog.data_date}. Details: exchbot build BUILD")
        warning = staleness(catalog.data_date, day, max_age).warning
        if warning:
            click.echo(f"warning: {warning}")
    if any(a.error for a in results):
        raise SystemExit(1)
