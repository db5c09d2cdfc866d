"""``exchbot watch add|remove|list|run`` and ``exchbot prune``."""

from __future__ import annotations

import asyncio

import click

from bot.cli import common
from bot.cli.check_cmd import _Progress
from bot.cli.common import parse_since
from bot.clock import SystemClock
from bot.config import Settings
from bot.core.staleness import staleness
from bot.knowledge import load_catalog
from bot.probe.targets import Target, TargetError, parse_target
from bot.render import json_out, text
from bot.services.rejudge import rejudge_stored
from bot.services.watch import run_watchlist
from bot.wiring import make_check_service, make_store


@click.group()
def watch() -> None:
    """The watchlist: hosts re-checked daily (and by `watch run`)."""


@watch.command("add")
@click.argument("target")
def watch_add(target: str) -> None:
    """Watch TARGET."""
    t = _target(target)
    store = make_store(Settings.from_env())
    try:
        added = store.watch_add(t.key, t.raw, SystemClock().now(), added_by="cli")
    finally:
        store.close()
    click.echo(f"watching {t.key}" if added else f"{t.key} was already watched")


@watch.command("remove")
@click.argument("target")
def watch_remove(target: str) -> None:
    """Stop watching TARGET."""
    t = _target(target)
    store = make_store(Settings.from_env())
    try:
        removed = store.watch_remove(t.key)
    finally:
        store.close()
    if not removed:
        click.echo(f"{t.key} was not watched", err=True)
        raise SystemExit(1)
    click.echo(f"stopped watching {t.key}")


@watch.command("list")
@click.option("--json", "as_json", is_flag=True)
def watch_list(as_json: bool) -> None:
    """List watched hosts with their latest verdict (and what newer knowledge changed for it)."""
    settings = Settings.from_env()
    catalog = load_catalog()
    now = common.clock().now()
    store = make_store(settings)
    try:
        rejudge_stored(store, catalog, now)
        entries = store.watchlist()
        latest = {w.host: store.history(w.host, 1) for w in entries}
        rejudged = {
            h: store.latest_rejudgement(p[0].check_id) if p and p[0].check_id is not None else None
            for h, p in latest.items()
        }
    finally:
        store.close()
    warning = staleness(catalog.data_date, now.date(), settings.knowledge_max_age_days).warning
    if as_json:
        click.echo(
            json_out.dumps(
                [
                    {
                        "host": w.host,
                        "target": w.target,
                        "added_at": w.added_at.isoformat(),
                        "added_by": w.added_by,
                        "latest": (
                            {
                                "checked_at": p[0].checked_at.isoformat(),
                                "build": p[0].build,
                                "eol": p[0].eol,
                                "families": dict(p[0].families),
                                "vulnerable_count": p[0].vulnerable_count,
                                "kev_count": p[0].kev_count,
                                "error": p[0].error,
                                "rejudged": (
                                    {"knowledge_date": r.knowledge_date.isoformat(), "summary": r.summary}
                                    if (r := rejudged[w.host])
                                    else None
                                ),
                            }
                            if (p := latest[w.host])
                            else None
                        ),
                    }
                    for w in entries
                ]
            )
        )
        return
    if not entries:
        click.echo("the watchlist is empty: exchbot watch add TARGET")
    for w in entries:
        pts = latest[w.host]
        state = "never checked" if not pts else text.point_state(pts[0])
        click.echo(f"{w.host}: {state}")
        r = rejudged[w.host]
        if r is not None:
            click.echo(f"  re-judged with the knowledge of {r.knowledge_date}: {r.summary}")
    for line in text.stale_lines(warning):
        click.echo(line)


@watch.command("run")
@click.option("--json", "as_json", is_flag=True)
def watch_run(as_json: bool) -> None:
    """Re-check every watched host now and store the results. Exit 1 if any could not be checked."""
    settings = Settings.from_env()
    store = make_store(settings)
    service = make_check_service(settings, store)
    try:
        results = asyncio.run(run_watchlist(service, store, progress=_Progress(2)))
    finally:
        store.close()
    if as_json:
        click.echo(json_out.dumps([json_out.check_dict(r) for r in results]))
    else:
        for r in results:
            click.echo(text.check_line(r))
        if not results:
            click.echo("the watchlist is empty: exchbot watch add TARGET")
        today = common.clock().now().date()
        for line in text.stale_lines(
            staleness(load_catalog().data_date, today, settings.knowledge_max_age_days).warning
        ):
            click.echo(line)
    if any(r.error for r in results):
        raise SystemExit(1)


@click.command()
@click.option("--older-than", default="90d", show_default=True, help="Prune checks older than this (e.g. 90d).")
def prune(older_than: str) -> None:
    """Delete old checks, keeping each host's newest check and every change point."""
    now = SystemClock().now()
    cutoff = parse_since(older_than, now)
    store = make_store(Settings.from_env())
    try:
        n = store.prune(cutoff)
    finally:
        store.close()
    click.echo(f"deleted {n} checks older than {cutoff:%Y-%m-%d}; change points and newest checks kept")


def _target(text_: str) -> Target:
    try:
        return parse_target(text_)
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from exc
