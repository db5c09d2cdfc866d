"""``exchbot exposure REGION``: how many Exchange servers a region exposes, from Shodan."""

from __future__ import annotations

import sqlite3

import click

from bot.cli.common import SnapshotProgress, UserError
from bot.config import Settings
from bot.core.exposure import RegionError
from bot.exposure.client import ShodanError
from bot.knowledge import load_catalog
from bot.render import json_out
from bot.render.exposure_text import exposure_text
from bot.services.exposure import exposure as exposure_service
from bot.wiring import make_clock, make_shodan_client, make_store


@click.command()
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
def exposure(region: str, as_json: bool, refresh: bool, deep: bool, max_credits: int | None) -> None:
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
            )
    except RegionError as exc:
        raise click.BadParameter(str(exc), param_hint="REGION") from None
    except ShodanError as exc:
        raise UserError(f"{exc} (no snapshot recorded)") from None
    except KeyboardInterrupt:
        raise UserError("interrupted (no snapshot recorded)", 130) from None
    except (OSError, sqlite3.Error) as exc:
        raise UserError(f"could not use the database {settings.db_path}: {exc}") from None
    if as_json:
        click.echo(json_out.dumps(json_out.exposure_dict(result)))
    else:
        click.echo(exposure_text(result))
