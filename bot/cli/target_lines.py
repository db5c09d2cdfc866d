"""Targets from the command line and ``-f FILE``: invalid file lines are skipped and named
(``FILE:LINE: reason``), not fatal. Byte bounds and control characters are the reader's job."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path

import click

from bot.probe.targets import Target, TargetError, parse_target

MAX_TARGETS = 100_000


@dataclass(frozen=True)
class Skipped:
    source: str  # the file name as given ("-" is shown as "stdin")
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason} (line skipped)"


@dataclass(frozen=True)
class TargetList:
    targets: tuple[Target, ...]
    skipped: tuple[Skipped, ...]


def _file_text(file: str) -> str:
    if file == "-":
        return sys.stdin.read()
    try:
        return Path(file).read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise click.BadParameter(f"{file}: {exc.strerror or exc}", param_hint="-f") from None


def parse_lines(content: str, source: str) -> tuple[list[Target], list[Skipped]]:
    """Targets of a file's text, and the lines that are not targets. ``#`` starts a comment."""
    targets: list[Target] = []
    skipped: list[Skipped] = []
    for number, line in enumerate(content.splitlines(), start=1):
        item = line.split("#", 1)[0].strip()
        if not item:
            continue
        try:
            targets.append(parse_target(item))
        except TargetError as exc:
            skipped.append(Skipped(source, number, str(exc)[:300]))
    return targets, skipped


def read_targets(args: tuple[str, ...], file: str | None) -> TargetList:
    """Command-line targets must all be valid (a usage error names the bad ones); file lines that
    are not targets are skipped. A usage error also when nothing valid is left."""
    targets: list[Target] = []
    bad: list[str] = []
    for item in args:
        try:
            targets.append(parse_target(item))
        except TargetError as exc:
            bad.append(f"{item[:80]!r}: {exc}")
    if bad:
        raise click.UsageError("invalid target(s):\n  " + "\n  ".join(bad[:20]))
    skipped: list[Skipped] = []
    if file:
        from_file, skipped = parse_lines(_file_text(file), "stdin" if file == "-" else file)
        targets += from_file
    if not targets:
        for s in skipped[:20]:
            click.echo(str(s), err=True)
        raise click.UsageError("no valid target: give at least one TARGET or -f FILE with targets")
    if len(targets) > MAX_TARGETS:
        raise click.UsageError(f"at most {MAX_TARGETS} targets per run")
    return TargetList(tuple(targets), tuple(skipped))
