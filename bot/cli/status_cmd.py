"""``exchbot status``: is this deployment healthy, and what does its database hold."""

from __future__ import annotations

import click

from bot.config import Settings
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.status import status_text
from bot.services.status import collect
from bot.wiring import make_clock


@click.command()
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object (db, counts, knowledge_date, last_backup…).")
def status(as_json: bool) -> None:
    """Database (path, writable, schema), what it holds, knowledge age, and the last watchlist run,
    digest and backup. Exit 0 when healthy (the database exists and can be written), else 1.
    Reads only: never creates or changes the database."""
    settings = Settings.from_env()
    catalog = load_catalog()  # a missing knowledge folder is one line (ExchbotGroup)
    report = collect(
        settings.db_path, catalog, make_clock().now(), settings.backup_dir, settings.knowledge_max_age_days
    )
    click.echo(json_out.dumps(json_out.status_dict(report)) if as_json else status_text(report))
    if not report.healthy:
        raise SystemExit(1)
