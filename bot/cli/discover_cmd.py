"""``exchbot discover DOMAIN|ADDRESS``: find a domain's Exchange endpoints through DNS and check them.

Also the part of ``exchbot check`` that handles mail addresses (``check admin@contoso.com``).
Exit codes as for ``check``: 0 when every endpoint found was checked (or mail is in Exchange Online
and nothing on premises was found), 1 when an endpoint could not be checked, nothing was found or a
result could not be stored, 2 on a usage error.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence

import click

from bot.config import Settings
from bot.core.discover import ONLINE_STATEMENT, Query, QueryError
from bot.core.model import CheckResult
from bot.probe.targets import Target
from bot.render import discover_out, json_out, text
from bot.services.checks import StoreFailed
from bot.services.discover import DiscoverService, Discovery, parse_query
from bot.store import Store
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


def _store(store: Store, results: Sequence[CheckResult], knowledge_version: str) -> str | None:
    if not results:
        return None
    try:
        store.save_checks(list(results), requested_by=None, knowledge_version=knowledge_version)
    except Exception as exc:  # the results are still printed; the exit code says it
        return f"results could not be stored: {exc}"
    return None


def run_discovery(service: DiscoverService, query: Query, timeout: float) -> Discovery:
    return asyncio.run(service.discover(query.domain, address=query.address, timeout=timeout))


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
    service = make_discover_service(settings)
    found = run_discovery(service, parsed, settings.timeout)
    with make_store(settings) as store:
        problem = _store(store, found.results, service.prober.catalog.version)
    click.echo(json_out.dumps(discover_out.discovery_dict(found)) if as_json else discover_out.discovery_text(found))
    if problem:
        click.echo(f"exchbot: {problem}", err=True)
    if found.failures or problem:
        raise SystemExit(1)


def _check_targets(settings: Settings, targets: Sequence[Target]) -> tuple[list[CheckResult], str | None]:
    if not targets:
        return [], None
    with make_store(settings) as store:
        try:
            return asyncio.run(make_check_service(settings, store).check_all(targets)), None
        except StoreFailed as exc:
            return [], str(exc)


def check_with_addresses(settings: Settings, queries: Sequence[Query], targets: Sequence[Target], as_json: bool) -> int:
    """``exchbot check`` with mail addresses: discover each, print the endpoints' check results
    (JSON: one array, the other targets' results first). Returns the number of failures."""
    other, stored = _check_targets(settings, targets)
    if stored:
        click.echo(f"exchbot: {stored}", err=True)
    prober = make_prober(settings)
    service = make_discover_service(settings, prober)
    results: list[CheckResult] = list(other)
    failures = sum(1 for r in results if r.error is not None) + bool(stored)
    reports: list[str] = []
    for query in queries:
        found = run_discovery(service, query, settings.timeout)
        failures += found.failures
        results += found.results
        reports.append(discover_out.discovery_text(found))
        if as_json and not found.endpoints:
            what = ONLINE_STATEMENT if found.exchange_online else "no Exchange endpoint found"
            click.echo(f"exchbot: {query.address or query.domain}: {what}", err=True)
    with make_store(settings) as store:
        problem = _store(store, results[len(other) :], prober.catalog.version)
    if as_json:
        click.echo(json_out.dumps([json_out.check_dict(r) for r in results]))
    else:
        for r in other:
            click.echo(text.check_line(r))
        for report in reports:
            click.echo(report)
    if problem:
        click.echo(f"exchbot: {problem}", err=True)
        failures += 1
    return failures
