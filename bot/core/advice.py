"""What to install: one sentence per assessment, and the build it names."""

from __future__ import annotations

import datetime as dt

from bot.core.catalog import Catalog, Release
from bot.core.identify import ONLINE, Identity


def _name(r: Release) -> str:
    upd = "" if r.update == "none" else f" {r.update}"
    return f"{r.product} {r.cu}{upd} ({r.build}, {r.release_date.isoformat()})"


def newest_in_product(catalog: Catalog, product: str) -> Release | None:
    """The newest build of the product's newest CU line."""
    lines = [ln for ln in catalog.lines if ln.product == product]
    if not lines:
        return None
    return max(lines, key=lambda ln: ln.key).latest


def advise(
    ident: Identity | None,
    eol: bool | None,
    eol_date: dt.date | None,
    catalog: Catalog,
    today: dt.date | None = None,
) -> tuple[str | None, str | None]:
    """Return (advice sentence, build to install). ``today`` decides whether the paid ESU
    programme of 2016/2019 is still open (after it ended, advice never points to it)."""
    se = newest_in_product(catalog, "Exchange SE")
    se_text = _name(se) if se else "Exchange Server SE"
    if ident is None or ident.product is None:
        return "Could not identify the Exchange product from this build.", None
    product = ident.product
    if product == ONLINE:
        return "Exchange Online is operated and patched by Microsoft: nothing to install.", None
    if product == "Exchange SE":
        target = newest_in_product(catalog, product)
        if target is None:
            return None, None
        if ident.build.precision == 4 and ident.build >= target.build:
            newest = "the newest" if ident.build == target.build else "newer than the newest"
            d = catalog.data_date.isoformat()
            return (
                f"Up to date as of {d}: {newest} build known on {d} (the knowledge data date); "
                f"updates released after {d} are not known: check Microsoft's build page for anything newer.",
                str(ident.build),  # the build to be on is the one it runs: never an older one
            )
        return f"Install {_name(target)}.", str(target.build)
    when = f" since {eol_date.isoformat()}" if eol_date else ""
    if product in ("Exchange 2016", "Exchange 2019"):
        target = newest_in_product(catalog, product)
        life = catalog.lifecycles.get(product)
        esu_end = life.esu_end if life else None
        if today is not None and catalog.esu_ended(product, today):
            assert esu_end is not None
            esu = f" The paid ESU programme ended on {esu_end.isoformat()}: no more security updates for {product}."
        elif target:
            until = f" (until {esu_end.isoformat()})" if esu_end else ""
            esu = f" Customers in the paid ESU programme{until}: newest build is {_name(target)}."
        else:
            esu = ""
        hop = " (in-place upgrade from 2019 CU14 or CU15)" if product == "Exchange 2019" else ""
        return (f"End of support{when}: migrate to {se_text}{hop}.{esu}", str(se.build) if se else None)
    if eol:
        return (
            f"End of support{when}: no security updates any more. Migrate to {se_text}.",
            str(se.build) if se else None,
        )
    return None, None
