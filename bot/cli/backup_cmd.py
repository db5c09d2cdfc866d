"""``exchbot backup PATH`` and ``exchbot restore PATH``: copy the database out and back, safely."""

from __future__ import annotations

import datetime as dt
import sys
from pathlib import Path

import click

from bot.cli.failure import UserError
from bot.config import Settings
from bot.render import json_out
from bot.services.status import MANUAL_BACKUP
from bot.store.backup import BackupError, backup, dated_name, inspect_restore, restore
from bot.wiring import make_clock, make_store


def _fail(message: str) -> None:
    raise UserError(" ".join(message.split()))


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=True, path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON object: path, bytes, schema_version, counts.")
def backup_cmd(path: Path, as_json: bool) -> None:
    """Copy the live database to PATH (a file, or a directory for a dated file in it).

    Safe while `exchbot serve` or a check batch keeps writing: SQLite's online backup API takes a
    consistent snapshot; the copy passes an integrity check before it is renamed into place."""
    settings = Settings.from_env()
    clock = make_clock()
    started = clock.now()
    dest = (path / dated_name(started) if path.is_dir() else path).absolute()
    try:
        info = backup(settings.db_path, dest)
    except BackupError as exc:
        _record(settings, started, False, str(exc))
        _fail(str(exc))
        return
    _record(settings, started, True, f"{info.path}: {info.counts.text()}")
    if as_json:
        click.echo(json_out.dumps(json_out.backup_dict(info, str(settings.db_path))))
    else:
        click.echo(f"backup written to {info.path}: {info.counts.text()} (schema {info.schema_version}, integrity ok)")


def _record(settings: Settings, started: dt.datetime, ok: bool, detail: str) -> None:
    """Note the backup for `exchbot status`; a database that cannot take the note is no failure."""
    if not settings.db_path.is_file():
        return
    try:
        with make_store(settings) as store:
            store.record_job_run(MANUAL_BACKUP, started, make_clock().now(), ok, detail)
    except Exception:  # noqa: S110 - read-only or damaged database: the backup result stands
        pass


@click.command("restore")
@click.argument("path", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--yes", is_flag=True, help="Do not ask before replacing the database (needed without a terminal).")
def restore_cmd(path: Path, yes: bool) -> None:
    """Replace the database with the backup at PATH.

    The file is verified first (SQLite, integrity, an exchbot schema no newer than this one; an
    older one is migrated). The current database is kept as <name>.before-restore. Stop
    `exchbot serve` first: a database in use is not replaced."""
    settings = Settings.from_env()
    db = settings.db_path
    try:
        incoming = inspect_restore(path)
    except BackupError as exc:
        _fail(f"not restoring: {exc}")
        return
    if not yes:
        if not (sys.stdin.isatty() and sys.stdout.isatty()):
            _fail(f"restore replaces the database at {db}; run it again with --yes to confirm (no terminal to ask on)")
        replace = f"replace {db}" if db.exists() else f"create {db}"
        click.confirm(
            f"{replace} with {path} ({incoming.counts.text()})?"
            + (" The current database is kept as " + db.name + ".before-restore." if db.exists() else ""),
            abort=True,
            err=True,
        )
    try:
        result = restore(path, db)
    except BackupError as exc:
        _fail(f"not restored: {exc}")
        return
    migrated = (
        f" (migrated from schema {result.source_version} to {result.info.schema_version})"
        if result.source_version != result.info.schema_version
        else ""
    )
    click.echo(f"restored {path} into {db}: {result.info.counts.text()}{migrated}")
    if result.previous is not None:
        click.echo(f"the previous database is kept as {result.previous}")
