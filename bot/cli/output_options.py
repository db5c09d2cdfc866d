"""The output options shared by ``check`` and ``watch run``: format, ``-o FILE``, ``--fail-on``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any, TextIO, TypeVar

import click

from bot.cli.batch_output import Format, pick_format
from bot.core.batch import FAIL_ON

F = TypeVar("F", bound=Callable[..., Any])


def output_options(fn: F) -> F:
    """--json/--jsonl/--csv/-o/--fail-on: shared by ``check`` and ``watch run``."""
    for decorator in reversed(
        [
            click.option(
                "--json", "as_json", is_flag=True, help="A JSON array in input order (an object for one target)."
            ),
            click.option("--jsonl", is_flag=True, help="One JSON object a line, as each result completes."),
            click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row, as each result completes."),
            click.option(
                "-o",
                "--output",
                "output",
                type=click.Path(dir_okay=False, writable=True, allow_dash=True),
                help="Write the results to FILE instead of stdout.",
            ),
            click.option(
                "--fail-on",
                "fail_on",
                multiple=True,
                type=click.Choice(FAIL_ON),
                help="Exit 3 if any result is vulnerable (a family or a CVE), eol, at-risk (either) or an error. "
                "Repeatable.",
            ),
        ]
    ):
        fn = decorator(fn)
    return fn


def open_output(output: str | None, fmt: Format) -> TextIO:
    if output is None or output == "-":
        return sys.stdout
    try:
        return open(output, "w", encoding="utf-8", newline="" if fmt == "csv" else None)
    except OSError as exc:
        raise click.BadParameter(f"{output}: {exc.strerror or exc}", param_hint="-o") from None


def chosen_format(as_json: bool, jsonl: bool, as_csv: bool) -> Format:
    try:
        return pick_format(as_json, jsonl, as_csv)
    except ValueError as exc:
        raise click.UsageError(str(exc)) from None
