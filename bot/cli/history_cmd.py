"""``exchbot history`` and ``exchbot changes``: read the stored checks."""

from __future__ import annotations

import click

from bot.cli.common import parse_since, target_arg
from bot.config import Settings
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.digest import region_line
from bot.render.text import STATUS_TEXT, yes_no
from bot.services.history import changes_since, host_history
from bot.wiring import make_clock, make_store


@click.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, newest first.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def history(target: str, as_json: bool, limit: int) -> None:
    """Past checks of one target, newest first."""
    key = target_arg(target).key
    with make_store(Settings.from_env()) as store:
        points = host_history(store, key, limit)
    if as_json:
        click.echo(json_out.dumps([json_out.point_dict(p) for p in points]))
        return
    if not points:
        click.echo(f"no checks of {key} stored yet")
        return
    for p in points:
        if p.error:
            click.echo(f"{p.checked_at:%Y-%m-%d %H:%M} {p.error}")
            continue
        fams = " ".join(f"{f}={STATUS_TEXT.get(s, s)}" for f, s in p.families.items())
        click.echo(f"{p.checked_at:%Y-%m-%d %H:%M} {p.label()} EOL={yes_no(p.eol)} {fams}")


@click.command()
@click.option("--since", "since_text", default="7d", show_default=True, help="7d, 24h, 2w or an ISO date.")
@click.option("--region", "regions", multiple=True, help="Regions to compare (default: EXCHBOT_DIGEST_REGIONS).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {since, hosts: [...], regions: [...]}.")
def changes(since_text: str, regions: tuple[str, ...], as_json: bool) -> None:
    """What changed: per host (build, verdicts, reachability) and per region (exposure deltas between
    the newest snapshot and the newest one before SINCE)."""
    settings = Settings.from_env()
    now = make_clock().now()
    since = parse_since(since_text, now)
    with make_store(settings) as store:
        found = changes_since(store, load_catalog(), now, since, regions or settings.digest_regions)
    if as_json:
        click.echo(json_out.dumps(json_out.changes_dict(found.since, found.hosts, found.regions)))
        return
    click.echo(f"Changes since {since:%Y-%m-%d %H:%M %Z}")
    if not found.hosts:
        click.echo("  hosts: nothing changed")
    for c in found.hosts:
        click.echo(f"  {c.at:%Y-%m-%d %H:%M} {c.host}: {c.summary}")
    if not found.regions:
        click.echo("  regions: no exposure snapshot stored (exchbot exposure REGION)")
    for t in found.regions:
        click.echo(f"  region {region_line(t)}")
