"""``exchbot history`` and ``exchbot changes``: read the stored checks."""

from __future__ import annotations

import datetime as dt

import click

from bot.cli.common import host_key, parse_since
from bot.clock import SystemClock
from bot.config import Settings
from bot.core.changes import CheckPoint, HostChange, host_changes
from bot.render import json_out
from bot.render.text import STATUS_TEXT, yes_no
from bot.wiring import make_store


def _point_dict(p: CheckPoint) -> dict[str, object]:
    return {
        "checked_at": p.checked_at.isoformat(), "build": p.build, "product": p.product, "cu": p.cu,
        "update": p.update, "eol": p.eol, "families": dict(p.families), "reachable": p.reachable,
        "exchange": p.exchange, "error": p.error,
    }


def change_dict(c: HostChange) -> dict[str, object]:
    return {"host": c.host, "at": c.at.isoformat(), "kind": c.kind, "summary": c.summary, "before": c.before,
            "after": c.after, "family": c.family}


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
@click.option("--json", "as_json", is_flag=True, help="Print JSON: {hosts: [...], regions: [...]}.")
def changes(since_text: str, as_json: bool) -> None:
    """What changed: per host (build, verdicts, reachability) and per region (exposure deltas)."""
    now = SystemClock().now()
    since = parse_since(since_text, now)
    store = make_store(Settings.from_env())
    try:
        host_list = collect_host_changes(store.points_since(since), since)
    finally:
        store.close()
    if as_json:
        click.echo(json_out.dumps({"since": since.isoformat(), "hosts": [change_dict(c) for c in host_list]}))
        return
    click.echo(f"Changes since {since:%Y-%m-%d %H:%M %Z}")
    if not host_list:
        click.echo("  hosts: nothing changed")
    for c in host_list:
        click.echo(f"  {c.at:%Y-%m-%d %H:%M} {c.host}: {c.summary}")


def collect_host_changes(points: dict[str, list[CheckPoint]], since: dt.datetime) -> list[HostChange]:
    out: list[HostChange] = []
    for pts in points.values():
        out.extend(host_changes(pts, since))
    return sorted(out, key=lambda c: (c.at, c.host))
