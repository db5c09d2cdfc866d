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
        "bot.cli.check_cmd", "check", "Find live Exchange servers' builds and exposure, with plain GETs only."
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
    "discover": LazyCommand(
        "bot.cli.discover_cmd",
        "discover",
        "Find a domain's Exchange servers (MX, autodiscover, SRV, common names) and check them.",
    ),
    "status": LazyCommand(
        "bot.cli.status_cmd",
        "status",
        "Database (path, writable, schema), what it holds, knowledge age, and the last watchlist run, digest "
        "and backup.",
    ),
    "backup": LazyCommand(
        "bot.cli.backup_cmd",
        "backup_cmd",
        "Copy the live database to PATH (a file, or a directory for a dated file in it).",
    ),
    "restore": LazyCommand("bot.cli.backup_cmd", "restore_cmd", "Replace the database with the backup at PATH."),
    "watch": LazyCommand("bot.cli.watch_cmd", "watch", "The watchlist: hosts re-checked daily (and by `watch run`)."),
}


@click.group(
    cls=LazyGroup,
    lazy=COMMANDS,
    context_settings={"help_option_names": ["-h", "--help"]},
    epilog=(
        "\b\nExamples:"
        "\n  exchbot check mail.example.com"
        "\n  exchbot check -f hosts.txt --csv -o out.csv --fail-on at-risk"
        "\n  exchbot watch add -f hosts.txt && exchbot watch run"
        "\n\nRun 'exchbot COMMAND --help' for a command's options and examples."
    ),
)
@click.version_option(__version__, prog_name="exchbot")
def main() -> None:
    """Is this Exchange server end-of-life or open to a known exploit?"""
