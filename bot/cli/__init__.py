"""The ``exchbot`` command line: a thin click layer over the services."""

from __future__ import annotations

import click

from bot import __version__
from bot.cli.backup_cmd import backup_cmd, restore_cmd
from bot.cli.build_cmd import build
from bot.cli.check_cmd import check
from bot.cli.digest_cmd import digest
from bot.cli.discover_cmd import discover
from bot.cli.exposure_cmd import exposure
from bot.cli.history_cmd import changes, history
from bot.cli.knowledge_cmd import knowledge
from bot.cli.serve_cmd import serve
from bot.cli.startup import ExchbotGroup
from bot.cli.status_cmd import status
from bot.cli.watch_cmd import prune, watch


@click.group(
    cls=ExchbotGroup,
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


main.add_command(build)
main.add_command(check)
main.add_command(discover)
main.add_command(digest)
main.add_command(history)
main.add_command(changes)
main.add_command(watch)
main.add_command(prune)
main.add_command(exposure)
main.add_command(serve)
main.add_command(knowledge)
main.add_command(status)
main.add_command(backup_cmd)
main.add_command(restore_cmd)
