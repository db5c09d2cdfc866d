"""``exchbot knowledge``: how old the knowledge in use is, what it holds, where it comes from."""

from __future__ import annotations

import click

from bot.cli import common
from bot.config import Settings
from bot.core.knowledge_summary import summarize
from bot.knowledge import knowledge_origin, load_catalog, sources
from bot.render import json_out
from bot.render.knowledge import knowledge_text


@click.command(epilog="\b\nExamples:\n  exchbot knowledge\n  exchbot knowledge --json")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
def knowledge(as_json: bool) -> None:
    """The knowledge in use: data date and age, counts, KEV catalogue date, newest build per
    product, sources with their retrieval dates, packaged or from EXCHBOT_KNOWLEDGE_DIR."""
    catalog = load_catalog()
    summary = summarize(
        catalog,
        common.clock().now().date(),
        Settings.from_env().knowledge_max_age_days,
        origin=knowledge_origin(),
        sources=sources(),
    )
    click.echo(json_out.dumps(json_out.knowledge_dict(summary)) if as_json else knowledge_text(summary))
