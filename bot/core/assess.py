"""From a build string to an :class:`~bot.core.model.Assessment` (pure: ``today`` is passed in)."""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools

from bot.core.advice import advise
from bot.core.buildnum import Build, BuildParseError, parse_build
from bot.core.catalog import FAMILIES, Catalog
from bot.core.identify import ONLINE, Identity, identify
from bot.core.model import Assessment, CveVerdict, Status
from bot.core.verdicts import cve_verdict, families

_SP_PRODUCTS = ("Exchange 2007", "Exchange 2010", "Exchange 2003")


def assess(text: str, catalog: Catalog, today: dt.date) -> Assessment:
    """Assess one build string as a scanner saw it. Never raises for bad input."""
    try:
        build = parse_build(text)
    except BuildParseError as exc:
        return error_assessment(text if isinstance(text, str) else repr(text), str(exc), catalog)
    return assess_build(build, catalog, today, input_text=text)


@functools.lru_cache(maxsize=2048)
def _evaluate(build: Build, catalog: Catalog, today: dt.date) -> Assessment:
    """Everything about a build but the input text; cached, so thousands of hosts on the same
    build share one tuple of verdicts instead of a copy each."""
    ident = identify(build, catalog)
    verdicts = tuple(cve_verdict(c, ident, catalog) for c in sorted(catalog.cves, key=lambda c: c.id))
    eol, eol_date = end_of_life(ident, build, catalog, today)
    advice, install = advise(ident, eol, eol_date, catalog, today)
    cu, update, release_date, esu = _naming(ident)
    return Assessment(
        input=str(build),
        build=str(build),
        precision=build.precision,
        product=ident.product,
        cu=cu,
        update=update,
        release_date=release_date,
        eol=eol,
        eol_date=eol_date,
        esu=esu,
        families=families(verdicts),
        cves=verdicts,
        advice=advice,
        error=None,
        notes=ident.notes,
        install=install,
        knowledge_date=catalog.data_date,
        knowledge_version=catalog.version,
        knowledge_age_days=(today - catalog.data_date).days,
        kev_date=catalog.kev_date,
        update_nearest=ident.release is not None and build.precision == 4 and not ident.exact,
    )


def assess_build(
    build: Build, catalog: Catalog, today: dt.date, *, input_text: str | None = None, extra_notes: tuple[str, ...] = ()
) -> Assessment:
    base = _evaluate(build, catalog, today)
    return dataclasses.replace(
        base, input=input_text if input_text is not None else str(build), notes=extra_notes + base.notes
    )


_UNKNOWN: Status = "unknown"


def unknown_assessment(text: str, catalog: Catalog | None = None, *, error: str | None = None) -> Assessment:
    """The one "cannot tell" assessment: no build, every family unknown (``error`` says why, if it is
    an input error). Every layer that has no build to judge builds it here."""
    return Assessment(
        input=text,
        build=None,
        precision=0,
        product=None,
        cu=None,
        update=None,
        release_date=None,
        eol=None,
        eol_date=None,
        esu=False,
        families={f: _UNKNOWN for f in FAMILIES},
        cves=(),
        advice=None,
        error=error,
        knowledge_date=catalog.data_date if catalog else None,
        knowledge_version=catalog.version if catalog else None,
        kev_date=catalog.kev_date if catalog else None,
    )


def error_assessment(text: str, error: str, catalog: Catalog | None = None) -> Assessment:
    return unknown_assessment(text, catalog, error=error)


def end_of_life(ident: Identity, build: Build, catalog: Catalog, today: dt.date) -> tuple[bool | None, dt.date | None]:
    product = ident.product
    if product is None:
        # Exchange 2000 and older (6.0 and below) are long out of support; anything else is unknown.
        return (True, None) if build.major <= 6 else (None, None)
    if product == ONLINE:
        return False, None
    life = catalog.lifecycles.get(product)
    if life is None:
        return None, None
    if life.extended_end is None:
        return False, None  # Modern Lifecycle (SE): no fixed end date
    return today > life.extended_end, life.extended_end


def _naming(ident: Identity) -> tuple[str | None, str | None, dt.date | None, bool]:
    """CU / SP, update name, release date and ESU flag, as far as the precision allows."""
    line, rel = ident.line, ident.release
    if line is None:
        return None, None, None, False
    if rel is not None:
        return rel.cu, rel.update, rel.release_date, rel.esu
    if line.product in _SP_PRODUCTS or ident.build.precision == 4:
        return line.cu, None, None, False  # the update (and so its date) is not known
    return line.cu, None, line.release_date, False


def summary_counts(verdicts: tuple[CveVerdict, ...]) -> dict[str, int]:
    counts = {"vulnerable": 0, "patched": 0, "unknown": 0, "not_affected": 0}
    for v in verdicts:
        counts[v.status] += 1
    return counts
