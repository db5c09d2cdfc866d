"""Small helpers shared by the CLI commands."""

from __future__ import annotations

import datetime as dt
import re

import click

from bot.probe.targets import TargetError, parse_target

_DURATION = re.compile(r"^(\d{1,5})\s*([mhdw])$", re.I | re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


def check_settings() -> None:
    """Read the settings once at start-up: a bad EXCHBOT_* value is a usage error (exit 2, one line)."""
    from bot.config import SettingError, Settings

    try:
        Settings.from_env()
    except SettingError as exc:
        click.echo(f"exchbot: {exc}", err=True)
        raise SystemExit(2) from None


def parse_since(text: str, now: dt.datetime) -> dt.datetime:
    """``7d``, ``24h``, ``90m``, ``2w``, or an ISO date/time (UTC if no zone)."""
    m = _DURATION.match(text.strip())
    if m:
        return now - dt.timedelta(**{_UNITS[m.group(2).lower()]: int(m.group(1))})
    try:
        when = dt.datetime.fromisoformat(text.strip())
    except ValueError as exc:
        raise click.BadParameter(f"{text!r}: use e.g. 7d, 24h, 90m, 2w or 2026-11-01") from exc
    return when if when.tzinfo else when.replace(tzinfo=dt.UTC)


def host_key(target: str) -> str:
    try:
        return parse_target(target).key
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from exc
