"""``exchbot history`` and ``exchbot changes``: read the stored checks."""

from __future__ import annotations

import click

from bot.cli import common
from bot.cli.common import parse_since, target_arg
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.counts import point_counts_text
from bot.core.exposure import RegionError, resolve_region
from bot.core.staleness import staleness
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.digest import region_line
from bot.render.hints import failure_text
from bot.render.text import STATUS_TEXT, stale_lines, yes_no
from bot.services.history import changes_since, host_history, similar_targets
from bot.wiring import make_store


def _stale_warning(settings: Settings) -> str | None:
    return staleness(load_catalog().data_date, common.clock().now().date(), settings.knowledge_max_age_days).warning


@click.command(
    epilog=(
        "\b\nExamples:\n  exchbot history mail.example.com\n  exchbot history mail.example.com:8443 --json --limit 10"
    )
)
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, newest first.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def history(target: str, as_json: bool, limit: int) -> None:
    """Past checks of one target, newest first."""
    key = target_arg(target).key
    settings = Settings.from_env()
    with make_store(settings) as store:
        points = host_history(store, key, limit)
        similar = [] if points else similar_targets(store, key)
    warning = _stale_warning(settings)
    if as_json:
        click.echo(json_out.dumps([json_out.point_dict(p) for p in points]))
        return
    if not points:
        click.echo(f"no checks of {key} stored yet")
        if similar:
            click.echo("stored checks exist for: " + ", ".join(similar) + f" (exchbot history {similar[0]})")
    for p in points:
        if p.error:
            click.echo(f"{p.checked_at:%Y-%m-%d %H:%M} {failure_text(p.error, slack=False)}")
            continue
        fams = " ".join(f"{f}={STATUS_TEXT.get(s, s)}" for f, s in p.families.items())
        cves = point_counts_text(p)
        click.echo(f"{p.checked_at:%Y-%m-%d %H:%M} {p.label()} EOL={yes_no(p.eol)} {cves + '; ' if cves else ''}{fams}")
    for line in stale_lines(warning):
        click.echo(line)


@click.command(
    epilog=(
        "\b\nExamples:"
        "\n  exchbot changes"
        "\n  exchbot changes --since 24h --json"
        "\n  exchbot changes --since 2026-11-01 --region eu"
    )
)
@click.option("--since", "since_text", default="7d", show_default=True, help="7d, 24h, 2w or an ISO date.")
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="Regions to compare, repeated or comma-separated: eu,de is two (default: EXCHBOT_DIGEST_REGIONS).",
)
@click.option(
    "--json", "as_json", is_flag=True, help="Print JSON: {since, warnings, hosts: [...], rejudged: [...], regions}."
)
def changes(since_text: str, regions: tuple[str, ...], as_json: bool) -> None:
    """What changed: per host (build, verdicts, reachability), what new knowledge changed for stored
    builds (re-judged, no new check), and per region (exposure deltas between the newest snapshot and
    the newest one before SINCE)."""
    settings = Settings.from_env()
    now = common.clock().now()
    since = parse_since(since_text, now)
    catalog = load_catalog()
    wanted = region_list_option(regions, catalog) or settings.digest_regions
    with make_store(settings) as store:
        found = changes_since(store, catalog, now, since, wanted)
    warning = staleness(catalog.data_date, now.date(), settings.knowledge_max_age_days).warning
    if as_json:
        doc = json_out.changes_dict(
            found.since,
            found.hosts,
            found.regions,
            found.rejudged,
            knowledge_date=catalog.data_date,
            knowledge_age_days=(now.date() - catalog.data_date).days,
            warnings=[warning] if warning else [],
        )
        click.echo(json_out.dumps(doc))
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
    if found.rejudged:
        click.echo(f"Re-judged under the knowledge of {catalog.data_date} (stored builds, no new check):")
    for r in found.rejudged:
        click.echo(f"  {r.host}: {r.summary}")
    for line in stale_lines(warning):
        click.echo(line)


def region_list_option(values: tuple[str, ...], catalog: Catalog) -> tuple[str, ...]:
    """``--region eu,de --region us`` -> three regions, each validated like ``exposure REGION``."""
    out: list[str] = []
    for value in values:
        for item in (x.strip().lower() for x in value.split(",")):
            if not item:
                continue
            try:
                resolve_region(item, catalog)
            except RegionError as exc:
                raise click.BadParameter(str(exc), param_hint="--region") from None
            if item not in out:
                out.append(item)
    if values and not out:
        raise click.BadParameter("no region given", param_hint="--region")
    return tuple(out)
