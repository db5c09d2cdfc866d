"""``exchbot history`` and ``exchbot changes``: read the stored checks."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli.common import host_key, parse_since
from bot.clock import SystemClock
from bot.config import Settings
from bot.core.catalog import Catalog
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.core.exposure import RegionError, resolve_region
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.digest import region_line
from bot.render.exposure_text import exposure_changes_dict
from bot.render.text import STATUS_TEXT, yes_no
from bot.services.digest import trends
from bot.wiring import make_store


def _point_dict(p: CheckPoint) -> dict[str, object]:
    return {
        "checked_at": p.checked_at.isoformat(),
        "build": p.build,
        "product": p.product,
        "cu": p.cu,
        "update": p.update,
        "eol": p.eol,
        "families": dict(p.families),
        "reachable": p.reachable,
        "exchange": p.exchange,
        "error": p.error,
    }


def change_dict(c: HostChange) -> dict[str, object]:
    return {
        "host": c.host,
        "at": c.at.isoformat(),
        "kind": c.kind,
        "summary": c.summary,
        "before": c.before,
        "after": c.after,
        "family": c.family,
    }


@click.command()
@click.argument("target")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON array, newest first.")
@click.option("--limit", type=click.IntRange(1, 10_000), default=50, show_default=True)
def history(target: str, as_json: bool, limit: int) -> None:
    """Past checks of one target, newest first."""
    key = host_key(target)
    store = make_store(Settings.from_env())
    try:
        points = store.history(key, limit)
    finally:
        store.close()
    if as_json:
        click.echo(json_out.dumps([_point_dict(p) for p in points]))
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
@click.option(
    "--region",
    "regions",
    multiple=True,
    help="Regions to compare, repeated or comma-separated: eu,de is two (default: EXCHBOT_DIGEST_REGIONS).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {since, hosts: [...], regions: [...]}.")
def changes(since_text: str, regions: tuple[str, ...], as_json: bool) -> None:
    """What changed: per host (build, verdicts, reachability) and per region (exposure deltas between
    the newest snapshot and the newest one before SINCE)."""
    settings = Settings.from_env()
    now = SystemClock().now()
    since = parse_since(since_text, now)
    catalog = load_catalog()
    wanted = region_list_option(regions, catalog) or settings.digest_regions
    store = make_store(settings)
    try:
        host_list = collect_host_changes(store.points_since(since), since)
        region_list = trends(store, catalog, now, wanted, since)
    finally:
        store.close()
    if as_json:
        click.echo(
            json_out.dumps(
                {
                    "since": since.isoformat(),
                    "hosts": [change_dict(c) for c in host_list],
                    "regions": [
                        {
                            "region": t.latest.region,
                            "snapshot_at": t.latest.snapshot_at.isoformat(),
                            "baseline_at": t.baseline_at.isoformat() if t.baseline_at else None,
                            "total": t.latest.total,
                            "by_product": dict(t.latest.by_product),
                            "eol": t.latest.eol,
                            "families": {f: dict(v) for f, v in t.latest.families.items()},
                            "changes": exposure_changes_dict(t.changes),
                        }
                        for t in region_list
                    ],
                }
            )
        )
        return
    click.echo(f"Changes since {since:%Y-%m-%d %H:%M %Z}")
    if not host_list:
        click.echo("  hosts: nothing changed")
    for c in host_list:
        click.echo(f"  {c.at:%Y-%m-%d %H:%M} {c.host}: {c.summary}")
    if not region_list:
        click.echo("  regions: no exposure snapshot stored (exchbot exposure REGION)")
    for t in region_list:
        click.echo(f"  region {region_line(t)}")


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


def collect_host_changes(points: dict[str, list[CheckPoint]], since: dt.datetime) -> list[HostChange]:
    out: list[HostChange] = []
    for pts in points.values():
        out.extend(host_changes(pts, since))
    return sorted(out, key=lambda c: (c.at, c.host))
