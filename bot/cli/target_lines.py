"""Targets from the command line and ``-f FILE``: invalid file lines are skipped and named
(``FILE:LINE: reason``), not fatal. Byte bounds and control characters are the reader's job."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import click

from bot.cli.target_input import numbered_lines
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


def parse_lines(lines: Iterable[tuple[int, str]], source: str) -> tuple[list[Target], list[Skipped]]:
    """Targets of a file's (line number, text) lines, and the lines that are not targets."""
    targets: list[Target] = []
    skipped: list[Skipped] = []
    for number, item in lines:
        try:
            targets.append(parse_target(item))
        except TargetError as exc:
            skipped.append(Skipped(source, number, str(exc)[:300]))
        if len(targets) > MAX_TARGETS:
            break
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
        # Read line by line with byte bounds (a huge or endless input ends with a clear error).
        from_file, skipped = parse_lines(numbered_lines(file), "stdin" if file == "-" else file)
        targets += from_file
    if not targets:
        for s in skipped[:20]:
            click.echo(str(s), err=True)
        raise click.UsageError("no valid target: give at least one TARGET or -f FILE with targets")
    if len(targets) > MAX_TARGETS:
        raise click.UsageError(f"at most {MAX_TARGETS} targets per run")
    return TargetList(tuple(targets), tuple(skipped))
