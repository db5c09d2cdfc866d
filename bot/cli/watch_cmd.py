"""``exchbot watch add|remove|list|run`` and ``exchbot prune``."""

from __future__ import annotations

import asyncio

import click

from bot.cli import common
from bot.cli.common import CheckProgress, parse_since, target_arg
from bot.config import Settings
from bot.core.staleness import staleness
from bot.knowledge import load_catalog
from bot.render import json_out, text
from bot.services import history as history_service
from bot.services import watch as watch_service
from bot.wiring import make_check_service, make_clock, make_store


@click.group()
def watch() -> None:
    """The watchlist: hosts re-checked daily (and by `watch run`)."""


@watch.command("add")
@click.argument("target")
def watch_add(target: str) -> None:
    """Watch TARGET."""
    t = target_arg(target)
    with make_store(Settings.from_env()) as store:
        added = watch_service.add(store, t, make_clock().now(), added_by="cli")
    click.echo(f"watching {t.key}" if added else f"{t.key} was already watched")


@watch.command("remove")
@click.argument("target")
def watch_remove(target: str) -> None:
    """Stop watching TARGET."""
    t = target_arg(target)
    with make_store(Settings.from_env()) as store:
        removed = watch_service.remove(store, t)
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
    with make_store(settings) as store:
        entries = watch_service.watched_with_latest(store, catalog, now)
    warning = staleness(catalog.data_date, now.date(), settings.knowledge_max_age_days).warning
    if as_json:
        click.echo(json_out.dumps([json_out.watched_dict(w, p, r) for w, p, r in entries]))
        return
    if not entries:
        click.echo("the watchlist is empty: exchbot watch add TARGET")
    for w, p, r in entries:
        state = "never checked" if p is None else text.point_state(p)
        click.echo(f"{w.host}: {state}")
        if r is not None:
            click.echo(f"  re-judged with the knowledge of {r.knowledge_date}: {r.summary}")
    for line in text.stale_lines(warning):
        click.echo(line)


@watch.command("run")
@click.option("--json", "as_json", is_flag=True)
def watch_run(as_json: bool) -> None:
    """Re-check every watched host now and store the results. Exit 1 if any could not be checked."""
    settings = Settings.from_env()
    with make_store(settings) as store:
        service = make_check_service(settings, store)
        results = asyncio.run(watch_service.run_watchlist(service, store, progress=CheckProgress(2)))
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
    cutoff = parse_since(older_than, make_clock().now())
    with make_store(Settings.from_env()) as store:
        n = history_service.prune(store, cutoff)
    click.echo(f"deleted {n} checks older than {cutoff:%Y-%m-%d}; change points and newest checks kept")
