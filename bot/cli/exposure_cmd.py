"""``exchbot exposure REGION``: how many Exchange servers a region exposes, from Shodan.

``exposure`` is a group whose default command is ``show``: ``exchbot exposure eu`` runs
``exchbot exposure show eu``; ``hosts`` and ``calibrate`` are its other commands."""

from __future__ import annotations

import sqlite3

import click

from bot.cli.common import SnapshotProgress
from bot.cli.failure import UserError, database_failure
from bot.config import Settings
from bot.core.exposure import RegionError
from bot.core.region_names import suggestion_text
from bot.exposure.client import ShodanError
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.exposure_calibration import calibration_text
from bot.render.exposure_hosts import hosts_csv, hosts_text
from bot.render.exposure_text import exposure_text
from bot.services.exposure import NoDeepSnapshot, exposure_hosts, run_calibration
from bot.services.exposure import exposure as exposure_service
from bot.wiring import make_clock, make_shodan_client, make_store


class _DefaultGroup(click.Group):
    """A group that runs ``show`` when the first word is not one of its commands (a region)."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        if not args or (args[0] not in self.commands and args[0] not in ("-h", "--help")):
            args = ["show", *args]
        return super().parse_args(ctx, args)


@click.group(cls=_DefaultGroup)
def exposure() -> None:
    """Exchange servers a region exposes on Shodan (default command: show REGION).

    exchbot exposure eu · exchbot exposure hosts de --csv · exchbot exposure calibrate
    """


@exposure.command(
    "show",
    epilog=(
        "\b\nExamples:"
        "\n  exchbot exposure eu"
        "\n  exchbot exposure de --json"
        "\n  exchbot exposure world --deep --max-credits 20"
        "\n  exchbot exposure hosts de --csv"
    ),
)
@click.argument("region")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object (and nothing else) on stdout.")
@click.option("--refresh", is_flag=True, help="Take a new snapshot even if a stored one is younger than the TTL.")
@click.option("--deep", is_flag=True, help="Download banners to read 4-part builds (costs query credits).")
@click.option(
    "--max-credits",
    type=click.IntRange(0, None),
    default=None,
    help="With --deep: refuse when the estimated query credits exceed N.",
)
@click.option("--net", default=None, help="With --deep: search this network (net:CIDR) instead of the region.")
@click.option("--asn", default=None, help="With --deep: search this AS (asn:ASnnn) instead of the region.")
def show(
    region: str,
    as_json: bool,
    refresh: bool,
    deep: bool,
    max_credits: int | None,
    net: str | None,
    asn: str | None,
) -> None:
    """Exchange servers a region exposes on Shodan: versions, end-of-life, vulnerable.

    REGION: eu, europe, us, na, asia, apac, world, or ISO country codes such as de or de,fr.
    Count mode (default) spends no query credits and reuses a snapshot younger than
    EXCHBOT_EXPOSURE_TTL_HOURS (24) unless --refresh. Exits 1 on a Shodan failure (nothing is
    stored), 2 on a usage error.
    """
    if deep and max_credits is None:
        raise click.UsageError("--deep needs a budget: --max-credits N")
    if max_credits is not None and not deep:
        raise click.UsageError("--max-credits only applies with --deep")
    if (net or asn) and not deep:
        raise click.UsageError("--net and --asn only apply with --deep")
    settings = Settings.from_env()
    catalog = load_catalog()
    try:
        with make_store(settings) as store:
            result = exposure_service(
                region,
                refresh=refresh,
                store=store,
                client_factory=make_shodan_client,
                clock=make_clock(),
                catalog=catalog,
                settings=settings,
                deep=deep,
                max_credits=max_credits,
                progress=SnapshotProgress(settings.shodan_rps),
                net=net,
                asn=asn,
            )
    except RegionError as exc:
        hint = suggestion_text(region, catalog, example="exchbot exposure {}")
        raise click.BadParameter(f"{exc}; {hint}" if hint else str(exc), param_hint="REGION") from None
    except ShodanError as exc:
        raise UserError(f"{exc} (no snapshot recorded)") from None
    except KeyboardInterrupt:
        raise UserError("interrupted (no snapshot recorded)", 130) from None
    except (OSError, sqlite3.Error) as exc:
        raise database_failure(exc, settings.db_path, settings.db_lock_timeout) from None
    if as_json:
        click.echo(json_out.dumps(json_out.exposure_dict(result)))
    else:
        click.echo(exposure_text(result))


@exposure.command("hosts")
@click.argument("region")
@click.option("--csv", "as_csv", is_flag=True, help="CSV on stdout: a header, then one row per host.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
@click.option("--only", type=click.Choice(["at-risk"]), default=None, help="Only end-of-life or vulnerable hosts.")
def hosts(region: str, as_csv: bool, as_json: bool, only: str | None) -> None:
    """The hosts of the latest deep snapshot in REGION (IP, port, hostnames, ASN, org, build, verdicts).

    Spends nothing: run `exchbot exposure REGION --deep --max-credits N` first. Exits 1 when no deep
    snapshot is stored, 2 on a usage error.
    """
    if as_csv and as_json:
        raise click.UsageError("choose one of --csv and --json")
    settings = Settings.from_env()
    catalog = load_catalog()
    try:
        with make_store(settings) as store:
            found = exposure_hosts(region, store=store, catalog=catalog, at_risk_only=only == "at-risk")
    except RegionError as exc:
        raise click.BadParameter(str(exc), param_hint="REGION") from None
    except NoDeepSnapshot as exc:
        raise UserError(str(exc)) from None
    except (OSError, sqlite3.Error) as exc:
        raise database_failure(exc, settings.db_path, settings.db_lock_timeout) from None
    if as_csv:
        click.echo(hosts_csv(found), nl=False)
    elif as_json:
        click.echo(json_out.dumps(json_out.hosts_dict(found)))
    else:
        click.echo(hosts_text(found))


@exposure.command("calibrate")
@click.option("--page", is_flag=True, help="Also fetch one search page (1 query credit) to see the fields shape.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object on stdout.")
def calibrate(page: bool, as_json: bool) -> None:
    """Day-one checks of how Shodan reads exchbot's queries (free counts); the result is stored and
    used by later count-mode snapshots. Needs SHODAN_API_KEY. Exits 1 on a Shodan failure."""
    settings = Settings.from_env()
    catalog = load_catalog()
    try:
        with make_store(settings) as store:
            cal = run_calibration(
                store=store,
                client_factory=make_shodan_client,
                clock=make_clock(),
                catalog=catalog,
                settings=settings,
                page=page,
            )
    except ShodanError as exc:
        raise UserError(f"{exc} (no calibration recorded)") from None
    except (OSError, sqlite3.Error) as exc:
        raise database_failure(exc, settings.db_path, settings.db_lock_timeout) from None
    click.echo(json_out.dumps(json_out.calibration_dict(cal)) if as_json else calibration_text(cal))
