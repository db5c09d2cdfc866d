"""``exchbot history`` and ``exchbot changes``: read the stored checks."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli import common
from bot.cli.common import host_key, parse_since
from bot.config import Settings
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.core.rejudge import Rejudgement
from bot.core.staleness import staleness
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.digest import region_line
from bot.render.exposure_text import exposure_changes_dict
from bot.render.text import STATUS_TEXT, stale_lines, yes_no
from bot.services.digest import trends
from bot.services.rejudge import rejudge_stored
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


def rejudged_dict(r: Rejudgement) -> dict[str, object]:
    return {
        "host": r.host,
        "build": r.build,
        "checked_at": r.checked_at.isoformat(),
        "judged_at": r.judged_at.isoformat() if r.judged_at else None,
        "knowledge_date": r.knowledge_date.isoformat(),
        "knowledge_version": r.new_version,
        "previous_knowledge_version": r.old_version,
        "summary": r.summary,
        "install": r.install,
        "cves": [
            {
                "id": s.cve_id,
                "kind": s.kind,
                "before": s.before,
                "after": s.after,
                "published": s.published.isoformat() if s.published else None,
                "kev": s.kev,
            }
            for s in r.shifts
        ],
    }


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
    key = host_key(target)
    settings = Settings.from_env()
    store = make_store(settings)
    try:
        points = store.history(key, limit)
    finally:
        store.close()
    warning = _stale_warning(settings)
    if as_json:
        click.echo(json_out.dumps([_point_dict(p) for p in points]))
        return
    if not points:
        click.echo(f"no checks of {key} stored yet")
    for p in points:
        if p.error:
            click.echo(f"{p.checked_at:%Y-%m-%d %H:%M} {p.error}")
            continue
        fams = " ".join(f"{f}={STATUS_TEXT.get(s, s)}" for f, s in p.families.items())
        click.echo(f"{p.checked_at:%Y-%m-%d %H:%M} {p.label()} EOL={yes_no(p.eol)} {fams}")
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
@click.option("--region", "regions", multiple=True, help="Regions to compare (default: EXCHBOT_DIGEST_REGIONS).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {since, hosts: [...], regions: [...]}.")
def changes(since_text: str, regions: tuple[str, ...], as_json: bool) -> None:
    """What changed: per host (build, verdicts, reachability) and per region (exposure deltas between
    the newest snapshot and the newest one before SINCE)."""
    settings = Settings.from_env()
    now = common.clock().now()
    since = parse_since(since_text, now)
    catalog = load_catalog()
    store = make_store(settings)
    try:
        rejudge_stored(store, catalog, now)
        rejudged = store.rejudgements_since(since)
        host_list = collect_host_changes(store.points_since(since), since)
        region_list = trends(store, catalog, now, regions or settings.digest_regions, since)
    finally:
        store.close()
    warning = staleness(catalog.data_date, now.date(), settings.knowledge_max_age_days).warning
    if as_json:
        click.echo(
            json_out.dumps(
                {
                    "since": since.isoformat(),
                    "knowledge_date": catalog.data_date.isoformat(),
                    "knowledge_age_days": (now.date() - catalog.data_date).days,
                    "warnings": [warning] if warning else [],
                    "hosts": [change_dict(c) for c in host_list],
                    "rejudged": [rejudged_dict(r) for r in rejudged],
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
    if rejudged:
        click.echo(f"Re-judged under the knowledge of {catalog.data_date} (stored builds, no new check):")
    for r in rejudged:
        click.echo(f"  {r.host}: {r.summary}")
    for line in stale_lines(warning):
        click.echo(line)


def collect_host_changes(points: dict[str, list[CheckPoint]], since: dt.datetime) -> list[HostChange]:
    out: list[HostChange] = []
    for pts in points.values():
        out.extend(host_changes(pts, since))
    return sorted(out, key=lambda c: (c.at, c.host))
