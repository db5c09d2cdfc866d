"""``exchbot discover DOMAIN|ADDRESS``: find a domain's Exchange endpoints through DNS and check them.

Also the part of ``exchbot check`` that handles mail addresses (``check admin@contoso.com``).
Exit codes as for ``check``: 0 when every endpoint found was checked (or mail is in Exchange Online
and nothing on premises was found), 1 when an endpoint could not be checked, nothing was found or a
result could not be stored, 2 on a usage error.
"""

from __future__ import annotations

import contextlib
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TextIO

import click

from bot.cli.batch_output import Progress, Sink
from bot.cli.target_lines import is_address
from bot.config import Settings
from bot.core.discover import Query, QueryError
from bot.core.model import CheckResult
from bot.render import discover_out, json_out
from bot.services import discover as discover_service
from bot.services.discover import discover_and_store, parse_query, store_results
from bot.wiring import make_discover_service, make_prober, make_store


def split_addresses(items: Sequence[str]) -> tuple[list[Query], tuple[str, ...]]:
    """The mail addresses among ``check``'s arguments (as queries), and the other arguments."""
    queries: list[Query] = []
    rest: list[str] = []
    for item in items:
        if is_address(item):
            try:
                queries.append(parse_query(item))
            except QueryError as exc:
                raise click.BadParameter(str(exc), param_hint="TARGET") from None
        else:
            rest.append(item)
    return queries, tuple(rest)


@click.command()
@click.argument("query", metavar="DOMAIN|ADDRESS")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.option("--allow-private", is_flag=True, help="Allow private, loopback and link-local addresses.")
@click.option("--timeout", type=click.FloatRange(0.5, 300), help="Seconds for the whole run, DNS included [10].")
def discover(query: str, as_json: bool, allow_private: bool, timeout: float | None) -> None:
    """Find a domain's Exchange servers (MX, autodiscover, SRV, common names) and check them.

    DOMAIN|ADDRESS: contoso.com or admin@contoso.com. Exchange Online is recognised from MX,
    the autodiscover CNAME and SPF, and Microsoft's hosts are never probed. Exits 0 when every
    endpoint found was checked (or mail is in Exchange Online only), 1 when an endpoint could not
    be checked or none was found, 2 on a usage error. Results are stored like checks (EXCHBOT_DB).
    """
    try:
        parsed = parse_query(query)
    except QueryError as exc:
        raise click.BadParameter(str(exc), param_hint="DOMAIN|ADDRESS") from None
    settings = Settings.from_env()
    settings = dataclasses.replace(
        settings, allow_private=allow_private or settings.allow_private, timeout=timeout or settings.timeout
    )
    with make_store(settings) as store:
        found, problem = discover_and_store(make_discover_service(settings), store, parsed, settings.timeout)
    click.echo(json_out.dumps(json_out.discovery_dict(found)) if as_json else discover_out.discovery_text(found))
    if problem:
        click.echo(f"exchbot: {problem}", err=True)
    if found.failures or problem:
        raise SystemExit(1)


@dataclass
class AddressRun:
    """What ``exchbot check`` found behind its mail addresses."""

    results: list[CheckResult] = field(default_factory=list)
    not_found: int = 0  # addresses with no endpoint on premises and no Exchange Online either
    store_problem: str | None = None


def check_addresses(
    settings: Settings,
    queries: Sequence[Query],
    sink: Sink,
    *,
    start: int,
    text_out: TextIO | None,
    store: bool,
    progress_to: TextIO | None = None,
) -> AddressRun:
    """Discover each mail address's endpoints and check them, as ``exchbot check`` does hosts.

    A few addresses are discovered at once (a quarter of ``settings.concurrency``, at least one),
    and handed on in input order; the endpoints they find are checked at most
    ``settings.concurrency`` at once, all discoveries together.
    The endpoints' results go to ``sink`` (indexes from ``start``, after the other targets), or, for
    text (``text_out``), each discovery is printed whole: how each endpoint was found, then its check.
    Each discovery is stored as soon as it is handed on (unless ``store`` is false), so an
    interrupted run keeps what it finished. On a terminal (stderr, or ``progress_to``), a
    ``discovered N/M`` line shows how far the addresses are."""
    service = make_discover_service(settings, make_prober(settings))
    done = AddressRun()
    progress = Progress(len(queries), progress_to, verb="discovered")
    with contextlib.ExitStack() as stack:
        db = stack.enter_context(make_store(settings)) if store else None
        stack.callback(progress.clear)
        discoveries = discover_service.run_discoveries(
            service,
            queries,
            settings.timeout,
            discover_service.discoveries_at_once(settings.concurrency),
            hosts_at_once=settings.concurrency,
        )
        progress(0, len(queries))
        for n, (query, found) in enumerate(stack.enter_context(contextlib.closing(discoveries)), 1):
            progress.clear()
            if text_out is not None:
                text_out.write(discover_out.discovery_text(found) + "\n")
                text_out.flush()
            else:
                for k, r in enumerate(found.results):
                    sink.result(start + len(done.results) + k, r)
                if line := discover_service.unanswered_line(query, found):
                    click.echo(f"exchbot: {line}", err=True)
            done.results += found.results
            done.not_found += not found.endpoints and not found.exchange_online
            if db is not None and (problem := store_results(db, found.results, service.prober.knowledge().version)):
                done.store_problem = done.store_problem or problem
            progress(n, len(queries))
    return done
