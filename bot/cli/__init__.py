"""The ``exchbot`` command line: a thin click layer over the services."""

from __future__ import annotations

import click

from bot import __version__
from bot.cli.lazy import LazyCommand, LazyGroup

# Every command, imported only when it runs (bot/cli/lazy.py). A new command: a module in bot/cli
# and one line here; the short help is its docstring's first sentence (tests/test_import_guard.py).
COMMANDS = {
    "build": LazyCommand("bot.cli.build_cmd", "build", "Assess Exchange build numbers as scanners report them."),
    "changes": LazyCommand(
        "bot.cli.history_cmd",
        "changes",
        "What changed: per host (build, verdicts, reachability), what new knowledge changed for stored "
        "builds (re-judged, no new check), and per region (exposure deltas between the newest snapshot "
        "and the newest one before SINCE).",
    ),
    "check": LazyCommand(
        "bot.cli.check_cmd", "check", "Find a live Exchange server's build and exposure, with plain GETs only."
    ),
    "digest": LazyCommand(
        "bot.cli.digest_cmd",
        "digest",
        "What changed for watched hosts in the last 24 hours, who is still at risk, regional trends.",
    ),
    "exposure": LazyCommand(
        "bot.cli.exposure_cmd",
        "exposure",
        "Exchange servers a region exposes on Shodan (default command: show REGION).",
    ),
    "history": LazyCommand("bot.cli.history_cmd", "history", "Past checks of one target, newest first."),
    "knowledge": LazyCommand(
        "bot.cli.knowledge_cmd",
        "knowledge",
        "The knowledge in use: data date and age, counts, KEV catalogue date, newest build per product, "
        "sources with their retrieval dates, packaged or from EXCHBOT_KNOWLEDGE_DIR.",
    ),
    "prune": LazyCommand(
        "bot.cli.watch_cmd",
        "prune",
        "Delete old checks, keeping each host's newest check and every change point.",
    ),
    "serve": LazyCommand(
        "bot.cli.serve_cmd",
        "serve",
        "Run the Slack app: /exchcheck, /exposure, /exchwatch, the buttons and the App Home.",
    ),
    "watch": LazyCommand("bot.cli.watch_cmd", "watch", "The watchlist: hosts re-checked daily (and by `watch run`)."),
}


@click.group(cls=LazyGroup, lazy=COMMANDS, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="exchbot")
def main() -> None:
    """Is this Exchange server end-of-life or open to a known exploit?"""
    from bot.config import SettingError, Settings

    try:  # a bad setting is a usage error (exit 2) naming it, before any command runs
        Settings.from_env()
    except SettingError as exc:
        raise click.UsageError(str(exc)) from None
