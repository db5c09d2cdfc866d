"""``exchbot check``: probe live hosts non-intrusively."""

from __future__ import annotations

import dataclasses
import sys
from typing import TYPE_CHECKING, TextIO

import click

from bot.cli.batch_output import make_sink
from bot.cli.batch_run import BatchOutcome, finish, run_batch
from bot.cli.output_options import chosen_format, open_output, output_options
from bot.cli.startup import current_settings
from bot.cli.target_lines import is_address, read_targets
from bot.core.batch import FailOn
from bot.probe.ssrf import parse_pins
from bot.wiring import make_check_service

if TYPE_CHECKING:
    from bot.core.discover import Query
    from bot.services.checks import CheckService

CHECK_EPILOG = """\b
Examples:
  exchbot check mail.example.com
  exchbot check -f hosts.txt --jsonl > results.jsonl
  exchbot check -f hosts.txt --csv -o results.csv --fail-on at-risk
  exchbot check -f - --no-store --json < third-party.txt

\b
Exit codes: 0 all checked, nothing matched --fail-on; 1 some host could not be checked;
2 usage error (or no valid line in -f FILE); 3 a result matched --fail-on;
130 / 143 interrupted by SIGINT (Ctrl-C) / SIGTERM (what completed is written and stored).
"""


def _parse_pins(pins: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(parse_pins(list(pins)).items())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--resolve") from exc


@click.command(epilog=CHECK_EPILOG)
@click.argument("targets", nargs=-1)
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help=(
        "Read targets (mail addresses too) from FILE, one per line ('-' for stdin, '#' starts a comment); "
        "bad lines are skipped."
    ),
)
@output_options
@click.option("--no-store", is_flag=True, help="Do not store the results (ad hoc checks of third-party hosts).")
@click.option("--allow-private", is_flag=True, help="Allow private, loopback and link-local addresses.")
@click.option("--timeout", type=click.FloatRange(0.5, 300), help="Seconds per host, everything included [10].")
@click.option(
    "--concurrency",
    type=click.IntRange(1, 1000),
    help="Hosts checked at once [20]; a quarter as many mail addresses are discovered at once.",
)
@click.option(
    "--resolve",
    "pins",
    multiple=True,
    metavar="HOST:ADDRESS",
    help="Connect to ADDRESS for HOST, like curl --resolve (the SSRF guard still applies).",
)
def check(
    targets: tuple[str, ...],
    file: str | None,
    as_json: bool,
    jsonl: bool,
    as_csv: bool,
    output: str | None,
    fail_on: tuple[FailOn, ...],
    no_store: bool,
    allow_private: bool,
    timeout: float | None,
    concurrency: int | None,
    pins: tuple[str, ...],
) -> None:
    """Find live Exchange servers' builds and exposure, with plain GETs only.

    TARGET: hostname, IP, host:port, https://host[:port], or a mail address (its domain's
    Exchange servers are discovered and checked, as by `exchbot discover`). Results print as they
    complete (the --json array alone keeps input order); progress and a summary go to stderr.
    Every result is stored (EXCHBOT_DB) unless --no-store; refusals of the address guard never are.
    """
    fmt = chosen_format(as_json, jsonl, as_csv)
    queries: list[Query] = []
    if any(is_address(t) for t in targets):  # discovery (bot/cli/discover_cmd.py), loaded only then
        from bot.cli.discover_cmd import split_addresses

        queries, targets = split_addresses(targets)
    wanted = (
        read_targets(targets, file, addresses=True, required=not queries) if targets or file or not queries else None
    )
    for s in wanted.skipped if wanted else ():
        click.echo(str(s), err=True)
    queries += wanted.addresses if wanted else ()  # a file's addresses follow the command line's
    settings = current_settings()
    settings = dataclasses.replace(
        settings,
        allow_private=allow_private or settings.allow_private,
        timeout=timeout or settings.timeout,
        concurrency=concurrency or settings.concurrency,
        resolve=settings.resolve + _parse_pins(pins),
    )
    plain = wanted.targets if wanted else ()
    out = open_output(output, fmt)
    single = len(plain) == 1 and not (wanted and wanted.skipped) and not queries
    sink = make_sink(fmt, out, single=single)
    # the knowledge and the store: once the first requests are out
    service = make_check_service(settings, None, store_later=not no_store, knowledge_later=True)
    outcome = run_batch(service, plain, sink) if plain else BatchOutcome()
    behind_addresses = not_found = 0
    if queries and outcome.signum is None:
        from bot.cli.discover_cmd import check_addresses

        found = check_addresses(
            settings, queries, sink, start=len(plain), text_out=out if fmt == "text" else None, store=not no_store
        )
        outcome.results += found.results
        behind_addresses, not_found = len(found.results), found.not_found
        if found.store_problem:
            outcome.store_error = "; ".join(filter(None, (outcome.store_error, found.store_problem)))
    code = finish(
        outcome,
        sink,
        total=len(plain) + behind_addresses,
        skipped=len(wanted.skipped) if wanted else 0,
        fail_on=fail_on,
        stored=not no_store,
        summary=not single,
        close=lambda: _close(service, out),
    )
    # an address behind which nothing was found (nor Exchange Online) is a host not checked
    raise SystemExit(1 if code == 0 and not_found else code)


def _close(service: CheckService, out: TextIO) -> None:
    service.shutdown()
    if service.store is not None:
        service.store.close()
    if out is not sys.stdout:
        out.close()
