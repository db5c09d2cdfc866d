"""``exchbot exposure REGION``: how many Exchange servers a region exposes, from Shodan."""

from __future__ import annotations

import sqlite3
import sys

import click

from bot.clock import SystemClock
from bot.config import Settings
from bot.core.exposure import RegionError
from bot.exposure.client import ShodanError, make_client
from bot.knowledge import KnowledgeError, load_catalog
from bot.render import json_out
from bot.render.exposure_text import exposure_dict, exposure_text
from bot.services.exposure import exposure as exposure_service
from bot.store import Store


class _Progress:
    """One rewritten line on stderr, only when stderr is a terminal (a snapshot takes minutes)."""

    def __init__(self, rps: float) -> None:
        self.enabled = sys.stderr.isatty()
        self.rps = rps
        self.announced = False

    def __call__(self, done: int, total: int, label: str) -> None:
        if not self.enabled:
            return
        if not self.announced:
            self.announced = True
            minutes = max(1, round(total / self.rps / 60)) if self.rps > 0 else 0
            eta = f", about {minutes} min at {self.rps:g} request/s" if self.rps > 0 else ""
            click.echo(f"Taking a Shodan snapshot ({total} requests{eta})", err=True)
        click.echo(f"\r\x1b[K{done}/{total} {label}"[:200], nl=(done >= total), err=True)


def _fail(message: str, code: int = 1) -> None:
    click.echo(f"exchbot: {message}", err=True)
    raise SystemExit(code)


@click.command(
    epilog=(
        "\b\nExamples:"
        "\n  exchbot exposure eu"
        "\n  exchbot exposure de --json"
        "\n  exchbot exposure world --deep --max-credits 20"
    )
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
    try:
        catalog = load_catalog()
    except KnowledgeError as exc:
        _fail(str(exc))
        return
    store = Store(settings.db_path)
    try:
        result = exposure_service(
            region,
            refresh=refresh,
            store=store,
            client_factory=make_client,
            clock=SystemClock(),
            catalog=catalog,
            settings=settings,
            deep=deep,
            max_credits=max_credits,
            progress=_Progress(settings.shodan_rps),
        )
    except RegionError as exc:
        raise click.BadParameter(str(exc), param_hint="REGION") from None
    except ShodanError as exc:
        _fail(f"{exc} (no snapshot recorded)")
        return
    except KeyboardInterrupt:
        _fail("interrupted (no snapshot recorded)", 130)
        return
    except (OSError, sqlite3.Error) as exc:
        _fail(f"could not use the database {settings.db_path}: {exc}")
        return
    finally:
        store.close()
    if as_json:
        click.echo(json_out.dumps(exposure_dict(result)))
    else:
        click.echo(exposure_text(result))
