"""What the CLI commands share: progress lines on stderr, the CLI clock, and argument parsers.
(The one user-error type is in :mod:`bot.cli.failure`; the command group in :mod:`bot.cli.startup`.)"""

from __future__ import annotations

import datetime as dt
import re
import sys
from typing import TYPE_CHECKING

import click

from bot.clock import Clock
from bot.wiring import make_clock

if TYPE_CHECKING:
    from bot.probe.targets import Target

_DURATION = re.compile(r"^(\d{1,5})\s*([mhdw])$", re.I | re.ASCII)
_UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


class CheckProgress:
    """A one-line progress indicator on stderr, only on a terminal and only for batches."""

    def __init__(self, total: int) -> None:
        self.enabled = total > 1 and sys.stderr.isatty()

    def __call__(self, done: int, total: int) -> None:
        if self.enabled:
            click.echo(f"\rchecked {done}/{total}", nl=(done == total), err=True)


class SnapshotProgress:
    """One rewritten line on stderr, only when stderr is a terminal (a snapshot takes minutes)."""

    def __init__(self, rps: float) -> None:
        self.enabled = sys.stderr.isatty()
        self.rps = rps
        self.announced = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        if not self.announced:
            self.announced = True
            minutes = max(1, round(total / self.rps / 60)) if self.rps > 0 else 0
            eta = f", about {minutes} min at {self.rps:g} request/s" if self.rps > 0 else ""
            click.echo(f"Taking a Shodan snapshot ({total} requests{eta})", err=True)
        click.echo(f"\r\x1b[K{done}/{total} {label}"[:200], nl=(done >= total), err=True)


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


def target_arg(text: str) -> Target:
    """A TARGET argument, or a usage error naming it."""
    from bot.probe.targets import TargetError, parse_target

    try:
        return parse_target(text)
    except TargetError as exc:
        raise click.BadParameter(str(exc), param_hint="TARGET") from exc


def clock() -> Clock:
    """The clock of the CLI commands (tests replace this function to move "now")."""
    return make_clock()
