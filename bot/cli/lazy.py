"""A click group whose commands are imported on first use.

``exchbot --version`` or ``exchbot build`` should not pay for Slack, Shodan, matplotlib or the
database layer, so each command lives in its own module and is imported only when it runs. The
registry keeps each command's short help, so ``exchbot --help`` lists every command without
importing any of them (tests/test_import_guard.py checks the strings against the commands)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass

import click

from bot.cli.startup import ExchbotGroup


@dataclass(frozen=True)
class LazyCommand:
    """A subcommand named in ``exchbot --help`` whose module is imported only when it runs."""

    module: str  # e.g. "bot.cli.build_cmd"
    attr: str  # the click command object in that module
    short_help: str  # the first sentence of its help, shown by ``exchbot --help``

    def short_help_str(self, limit: int) -> str:
        """Cut to ``limit`` characters exactly as click cuts a loaded command's help."""
        return click.Command(None, help=self.short_help).get_short_help_str(limit)

    def load(self) -> click.Command:
        command = getattr(importlib.import_module(self.module), self.attr)
        if not isinstance(command, click.Command):
            raise TypeError(f"{self.module}.{self.attr} is not a click command")
        return command


class LazyGroup(ExchbotGroup):
    """Commands from ``lazy`` (imported when invoked) plus any added with ``add_command``."""

    def __init__(self, *args: object, lazy: Mapping[str, LazyCommand] | None = None, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.lazy: dict[str, LazyCommand] = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(set(super().list_commands(ctx)) | set(self.lazy))

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy:
            command = self.lazy[cmd_name].load()
            self.commands[cmd_name] = command  # loaded once
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list of ``--help`` from the registry's short help: nothing is imported."""
        names = self.list_commands(ctx)
        if not names:
            return
        limit = formatter.width - 6 - max(len(n) for n in names)
        rows = []
        for name in names:
            if name in self.lazy and name not in self.commands:
                rows.append((name, self.lazy[name].short_help_str(limit)))
                continue
            command = self.get_command(ctx, name)
            if command is not None and not command.hidden:
                rows.append((name, command.get_short_help_str(limit)))
        if rows:
            with formatter.section("Commands"):
                formatter.write_dl(rows)
