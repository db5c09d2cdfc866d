"""``exchbot discover DOMAIN|ADDRESS``: find a domain's Exchange endpoints through DNS and check them.

Also the part of ``exchbot check`` that handles mail addresses (``check admin@contoso.com``).
Exit codes as for ``check``: 0 when every endpoint found was checked (or mail is in Exchange Online
and nothing on premises was found), 1 when an endpoint could not be checked, nothing was found or a
result could not be stored, 2 on a usage error.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import click

from bot.config import Settings
from bot.core.discover import Query, QueryError
from bot.probe.targets import Target
from bot.render import discover_out, json_out, text
from bot.services import discover as discover_service
from bot.services.discover import discover_and_store, parse_query
from bot.wiring import make_check_service, make_discover_service, make_prober, make_store


def split_addresses(items: Sequence[str]) -> tuple[list[Query], tuple[str, ...]]:
    """The mail addresses among ``check``'s arguments (as queries), and the other arguments."""
    queries: list[Query] = []
    rest: list[str] = []
    for item in items:
        if "@" in item and "://" not in item:
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


def check_with_addresses(settings: Settings, queries: Sequence[Query], targets: Sequence[Target], as_json: bool) -> int:
    """``exchbot check`` with mail addresses: discover each, print the endpoints' check results
    (JSON: one array, the other targets' results first). Returns the number of failures."""
    with make_store(settings) as store:
        checks = make_check_service(settings, store) if targets else None
        service = make_discover_service(settings, make_prober(settings))
        done = discover_service.check_with_addresses(service, checks, store, queries, targets, settings.timeout)
    if done.other_problem:
        click.echo(f"exchbot: {done.other_problem}", err=True)
    if as_json:
        for line in done.unanswered():
            click.echo(f"exchbot: {line}", err=True)
        click.echo(json_out.dumps([json_out.check_dict(r) for r in done.results]))
    else:
        for r in done.other:
            click.echo(text.check_line(r))
        for _, found in done.found:
            click.echo(discover_out.discovery_text(found))
    if done.store_problem:
        click.echo(f"exchbot: {done.store_problem}", err=True)
    return done.failures
