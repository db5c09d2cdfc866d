"""Targets from the command line and ``-f FILE``: invalid file lines are skipped and named
(``FILE:LINE: reason``), not fatal. Byte bounds and control characters are the reader's job.
``check`` also takes mail addresses, on the command line and in files (their domains' servers are
discovered: bot/cli/discover_cmd.py)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import click

from bot.cli.target_input import numbered_lines
from bot.probe.targets import Target, TargetError, parse_target

if TYPE_CHECKING:
    from bot.core.discover import Query

MAX_TARGETS = 100_000


@dataclass(frozen=True)
class Skipped:
    """An input line that is not a target, and why (printed as ``FILE:LINE: reason``)."""

    source: str  # the file name as given ("-" is shown as "stdin")
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.reason} (line skipped)"


@dataclass(frozen=True)
class TargetList:
    """What a command line and its ``-f FILE`` asked for, and the file lines that were skipped."""

    targets: tuple[Target, ...]
    skipped: tuple[Skipped, ...]
    addresses: tuple[Query, ...] = ()  # mail addresses among the file's lines (``addresses=True``)


def is_address(item: str) -> bool:
    """A mail address (``check`` discovers its domain's servers), not a host or a URL."""
    return "@" in item and "://" not in item


def parse_lines(lines: Iterable[tuple[int, str]], source: str, *, addresses: bool = False) -> TargetList:
    """Targets of a file's (line number, text) lines, and the lines that are not targets. With
    ``addresses``, a line that is a mail address is kept as a discovery query instead."""
    targets: list[Target] = []
    skipped: list[Skipped] = []
    queries: list[Query] = []
    for number, item in lines:
        if addresses and is_address(item):
            # discovery's own parser, loaded only for a file that holds addresses
            from bot.core.discover import QueryError
            from bot.services.discover import parse_query

            try:
                queries.append(parse_query(item))
            except QueryError as exc:
                skipped.append(Skipped(source, number, str(exc)[:300]))
        else:
            try:
                targets.append(parse_target(item))
            except TargetError as exc:
                skipped.append(Skipped(source, number, str(exc)[:300]))
        if len(targets) + len(queries) > MAX_TARGETS:
            break
    return TargetList(tuple(targets), tuple(skipped), tuple(queries))


def read_targets(
    args: tuple[str, ...], file: str | None, *, addresses: bool = False, required: bool = True
) -> TargetList:
    """Command-line targets must all be valid (a usage error names the bad ones); file lines that
    are not targets are skipped (with ``addresses``, mail addresses are kept: see parse_lines). A
    usage error also when nothing valid is left, unless not ``required`` (the caller has other
    input: ``check``'s mail-address arguments)."""
    targets: list[Target] = []
    bad: list[str] = []
    for item in args:
        try:
            targets.append(parse_target(item))
        except TargetError as exc:
            bad.append(f"{item[:80]!r}: {exc}")
    if bad:
        raise click.UsageError("invalid target(s):\n  " + "\n  ".join(bad[:20]))
    from_file = TargetList((), ())
    if file:
        # Read line by line with byte bounds (a huge or endless input ends with a clear error).
        from_file = parse_lines(numbered_lines(file), "stdin" if file == "-" else file, addresses=addresses)
        targets += from_file.targets
    if required and not targets and not from_file.addresses:
        for s in from_file.skipped[:20]:
            click.echo(str(s), err=True)
        raise click.UsageError("no valid target: give at least one TARGET or -f FILE with targets")
    if len(targets) + len(from_file.addresses) > MAX_TARGETS:
        raise click.UsageError(f"at most {MAX_TARGETS} targets per run")
    return TargetList(tuple(targets), from_file.skipped, from_file.addresses)
