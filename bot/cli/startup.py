"""The ``exchbot`` group's start-up: settings checked once before any command runs (a bad one is a
usage error, exit 2), secrets registered for redaction, and database faults turned into one line
(exit 1) that names the file and the cause."""

from __future__ import annotations

import sys
from typing import Any

import click

from bot import redact
from bot.cli.failure import UserError, database_failure
from bot.config import SettingError, Settings


def load_settings() -> Settings:
    try:
        settings = Settings.from_env()
    except SettingError as exc:
        raise UserError(str(exc), 2) from None
    redact.register([settings.shodan_api_key, settings.slack_bot_token, settings.slack_app_token])
    redact.register([settings.slack_signing_secret])
    if settings.digest_regions != Settings.digest_regions:
        _check_digest_regions(settings.digest_regions)
    return settings


def current_settings() -> Settings:
    """The settings the group checked before the command (parsed once per run: EXCHBOT_RESOLVE may
    hold hundreds of pins); parsed anew when a command runs on its own (tests)."""
    ctx = click.get_current_context(silent=True)
    found = ctx.find_object(Settings) if ctx is not None else None
    return found if found is not None else Settings.from_env()


def _check_digest_regions(regions: tuple[str, ...]) -> None:
    from bot.core.exposure import RegionError, resolve_region
    from bot.knowledge import KnowledgeError, load_catalog

    try:
        catalog = load_catalog()
    except KnowledgeError:
        return  # the command that needs the knowledge reports it
    for name in regions:
        try:
            resolve_region(name, catalog)
        except RegionError as exc:
            raise UserError(f"EXCHBOT_DIGEST_REGIONS={','.join(regions)!a} is not accepted: {exc}", 2) from None


class ExchbotGroup(click.Group):
    """The command group: settings checked before any command, and errors of the layers below
    turned into one line, never a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
        if any(a in ("-h", "--help") for a in [*getattr(ctx, "_protected_args", []), *ctx.args]):
            return super().invoke(ctx)  # help needs no settings (and helps fix a bad one)
        settings = load_settings()
        ctx.obj = settings  # the commands' settings (see current_settings), parsed once
        try:
            return super().invoke(ctx)
        except Exception as exc:
            # SQLite, the knowledge and the store are imported only by the commands that use them
            # (not by --version, build or a check before its first request): look their error types
            # up only if they were loaded.
            sqlite3 = sys.modules.get("sqlite3")
            if sqlite3 is not None and isinstance(exc, sqlite3.Error):
                raise database_failure(exc, settings.db_path, settings.db_lock_timeout) from None
            knowledge = sys.modules.get("bot.knowledge")
            if knowledge is not None and isinstance(exc, knowledge.KnowledgeError):
                raise UserError(str(exc)) from None
            checks = sys.modules.get("bot.services.checks")
            if checks is not None and isinstance(exc, checks.StoreFailed):
                raise database_failure(exc.__cause__ or exc, settings.db_path, settings.db_lock_timeout) from None
            raise
