"""``exchbot check``: probe live hosts non-intrusively."""

from __future__ import annotations

import asyncio
import dataclasses
import sys
from pathlib import Path

import click

from bot.cli.common import CheckProgress
from bot.config import Settings
from bot.core.model import CheckResult
from bot.probe.ssrf import parse_pins
from bot.probe.targets import Target, TargetError, parse_target
from bot.services.checks import CheckService, StoreFailed
from bot.wiring import make_check_service, make_store

MAX_TARGETS = 100_000


def read_targets(args: tuple[str, ...], file: str | None) -> list[Target]:
    raw = list(args)
    if file:
        content = sys.stdin.read() if file == "-" else Path(file).read_text(encoding="utf-8", errors="replace")
        for line in content.splitlines():
            line = line.split("#", 1)[0].strip()
            if line:
                raw.append(line)
    if not raw:
        raise click.UsageError("give at least one TARGET or -f FILE")
    if len(raw) > MAX_TARGETS:
        raise click.UsageError(f"at most {MAX_TARGETS} targets per run")
    targets, bad = [], []
    for item in raw:
        try:
            targets.append(parse_target(item))
        except TargetError as exc:
            bad.append(f"{item[:80]!r}: {exc}")
    if bad:
        raise click.UsageError("invalid target(s):\n  " + "\n  ".join(bad[:20]))
    return targets


def _parse_pins(pins: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    try:
        return tuple(parse_pins(list(pins)).items())
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--resolve") from exc


@click.command()
@click.argument("targets", nargs=-1)
@click.option(
    "-f",
    "--file",
    "file",
    type=click.Path(dir_okay=False, allow_dash=True),
    help="Read targets from FILE, one per line ('-' for stdin, '#' starts a comment).",
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON: one object, or an array for several targets.")
@click.option("--allow-private", is_flag=True, help="Allow private, loopback and link-local addresses.")
@click.option("--timeout", type=click.FloatRange(0.5, 300), help="Seconds per host, everything included [10].")
@click.option("--concurrency", type=click.IntRange(1, 1000), help="Hosts checked at once [20].")
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
    allow_private: bool,
    timeout: float | None,
    concurrency: int | None,
    pins: tuple[str, ...],
) -> None:
    """Find a live Exchange server's build and exposure, with plain GETs only.

    TARGET: hostname, IP, host:port or https://host[:port]. Exits 0 when every target was
    checked, 1 when any could not be, 2 on a usage error. Every result is stored (EXCHBOT_DB).
    """
    parsed = read_targets(targets, file)
    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings,
        allow_private=allow_private or settings.allow_private,
        timeout=timeout or settings.timeout,
        concurrency=concurrency or settings.concurrency,
        resolve=settings.resolve + _parse_pins(pins),
    )
    with make_store(settings) as store:
        failures = asyncio.run(_run(make_check_service(settings, store), parsed, as_json))
    if failures:
        raise SystemExit(1)


async def _run(service: CheckService, targets: list[Target], as_json: bool) -> int:
    failures = 0
    single = len(targets) == 1
    first = True
    if as_json and not single:
        click.echo("[")
    try:
        async for result in service.run(targets, progress=CheckProgress(len(targets))):
            failures += result.error is not None
            _emit(result, as_json, single, first)
            first = False
    except StoreFailed as exc:
        click.echo(f"exchbot: {exc}", err=True)
        failures += 1
    finally:
        if as_json and not single:
            click.echo("\n]")
    return failures


def _emit(result: CheckResult, as_json: bool, single: bool, first: bool) -> None:
    from bot.render import json_out, text  # loaded by Store.prepare while the probe waits

    if as_json:
        doc = json_out.dumps(json_out.check_dict(result), indent=2 if single else None)
        click.echo(doc if single else ("  " if first else ",\n  ") + doc, nl=single)
    else:
        click.echo(text.check_details(result) if single else text.check_line(result))
