"""``exchbot watch add|remove|list|run`` and ``exchbot prune``."""

from __future__ import annotations

import sys
from typing import TextIO

import click

from bot.cli import common
from bot.cli.batch_output import make_sink
from bot.cli.batch_run import finish, run_batch
from bot.cli.common import parse_since
from bot.cli.output_options import chosen_format, open_output, output_options
from bot.cli.target_lines import TargetList, read_targets
from bot.config import Settings
from bot.core.batch import FailOn
from bot.core.staleness import staleness
from bot.knowledge import load_catalog
from bot.render import json_out, text
from bot.render.watch_text import change_lines, watch_list_lines
from bot.services import history as history_service
from bot.services import watch as watch_service
from bot.store import Store
from bot.wiring import make_check_service, make_store

WATCH_EPILOG = """\b
Examples:
  exchbot watch add mail.example.com owa.example.org:8443
  exchbot watch add -f hosts.txt
  exchbot watch list
  exchbot watch run --csv -o today.csv --fail-on at-risk
  exchbot watch remove mail.example.com
"""


@click.group(epilog=WATCH_EPILOG)
def watch() -> None:
    """The watchlist: hosts re-checked daily (and by `watch run`)."""


_FILE = click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read targets from FILE, one per line ('-' for stdin); bad lines are skipped.",
)


def _skipped(wanted: TargetList) -> None:
    for s in wanted.skipped:
        click.echo(str(s), err=True)


@watch.command(
    "add", epilog="\b\nExamples:\n  exchbot watch add a.example.com b.example.com\n  exchbot watch add -f hosts.txt"
)
@click.argument("targets", nargs=-1)
@_FILE
def watch_add(targets: tuple[str, ...], file: str | None) -> None:
    """Watch each TARGET (and each target in FILE)."""
    wanted = read_targets(targets, file)
    _skipped(wanted)
    with make_store(Settings.from_env()) as store:
        edits = watch_service.add_targets(store, wanted.targets, common.clock().now(), added_by="cli")
    for e in edits:
        click.echo(f"watching {e.key}" if e.done else f"{e.key} was already watched")
    if len(edits) > 1:
        added = sum(e.done for e in edits)
        click.echo(f"{added} added, {len(edits) - added} already watched", err=True)


@watch.command(
    "remove",
    epilog="\b\nExamples:\n  exchbot watch remove a.example.com b.example.com\n  exchbot watch remove -f old.txt",
)
@click.argument("targets", nargs=-1)
@_FILE
def watch_remove(targets: tuple[str, ...], file: str | None) -> None:
    """Stop watching each TARGET (and each target in FILE). Exit 1 if one was not watched."""
    wanted = read_targets(targets, file)
    _skipped(wanted)
    with make_store(Settings.from_env()) as store:
        edits = watch_service.remove_targets(store, wanted.targets)
    for e in edits:
        if e.done:
            click.echo(f"stopped watching {e.key}")
        else:
            click.echo(f"{e.key} was not watched", err=True)
    if not all(e.done for e in edits):
        raise SystemExit(1)


@watch.command(
    "list", epilog="\b\nExamples:\n  exchbot watch list\n  exchbot watch list --json | jq '.[] | select(.at_risk)'"
)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, one object per watched target.")
def watch_list(as_json: bool) -> None:
    """Each watched host's latest verdict: EOL, vulnerable families, CVE and KEV counts, last
    checked, unreachable since. At-risk hosts first."""
    settings = Settings.from_env()
    catalog = load_catalog()
    now = common.clock().now()
    with make_store(settings) as store:
        rows, rejudged = watch_service.watch_list(store, catalog, now)
    if as_json:
        click.echo(json_out.dumps([json_out.watch_dict(w, rejudged.get(w.host)) for w in rows]))
        return
    for line in watch_list_lines(rows, rejudged):
        click.echo(line)
    warning = staleness(catalog.data_date, now.date(), settings.knowledge_max_age_days).warning
    for line in text.stale_lines(warning):
        click.echo(line)


@watch.command(
    "run",
    epilog="""\b
Examples:
  exchbot watch run
  exchbot watch run --jsonl | jq -c 'select(.eol)'
  exchbot watch run --csv -o watch.csv --fail-on vulnerable

\b
Exit codes as for `exchbot check`: 0, 1 a host could not be checked, 3 --fail-on matched,
130/143 interrupted.""",
)
@output_options
def watch_run(as_json: bool, jsonl: bool, as_csv: bool, output: str | None, fail_on: tuple[FailOn, ...]) -> None:
    """Re-check every watched host now, store the results and say what changed since the previous run
    (on stderr when a machine-readable format is chosen)."""
    fmt = chosen_format(as_json, jsonl, as_csv)
    settings = Settings.from_env()
    store = make_store(settings)
    targets = watch_service.watched_targets(store)
    if not targets:
        store.close()
        click.echo("the watchlist is empty: exchbot watch add TARGET...", err=fmt != "text")
        if fmt == "json":
            click.echo("[]")
        return
    out = open_output(output, fmt)
    sink = make_sink(fmt, out, single=False)
    service = make_check_service(settings, store)
    started = common.clock().now()
    outcome = run_batch(service, targets, sink, requested_by="watchlist")
    if outcome.signum is None:
        changed = watch_service.changes_since(store, started, [t.key for t in targets])
        for line in change_lines(changed, len(outcome.results)):
            click.echo(line, err=fmt != "text" or output not in (None, "-"))
        warning = staleness(load_catalog().data_date, started.date(), settings.knowledge_max_age_days).warning
        for line in text.stale_lines(warning):
            click.echo(line, err=True)
    code = finish(
        outcome,
        sink,
        total=len(targets),
        skipped=0,
        fail_on=fail_on,
        stored=True,
        summary=True,
        close=lambda: _close(store, out),
    )
    raise SystemExit(code)


def _close(store: Store, out: TextIO) -> None:
    store.close()
    if out is not sys.stdout:
        out.close()


@click.command(
    epilog="""\b
Examples:
  exchbot prune --dry-run
  exchbot prune --older-than 180d"""
)
@click.option("--older-than", default="90d", show_default=True, help="Prune checks older than this (e.g. 90d).")
@click.option("--dry-run", is_flag=True, help="Only say how many checks would be deleted.")
def prune(older_than: str, dry_run: bool) -> None:
    """Delete old checks, keeping each host's newest check and every change point."""
    now = common.clock().now()
    cutoff = parse_since(older_than, now)
    with make_store(Settings.from_env()) as store:
        n = history_service.prune(store, cutoff, dry_run=dry_run)
    if dry_run:
        click.echo(f"would delete {n} checks older than {cutoff:%Y-%m-%d}; change points and newest checks kept")
    else:
        click.echo(f"deleted {n} checks older than {cutoff:%Y-%m-%d}; change points and newest checks kept")
