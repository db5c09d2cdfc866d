"""Place a build in the catalog: product, CU/SP line, and the published build(s) it can be.

Exchange file versions differ slightly from published builds (OWA 15.2.858.2 on a 15.2.858.5
server), so a four-part build that Microsoft never published is resolved to the nearest published
build of the same line, and both stay candidates: a verdict holds only if it holds for both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from bot.core.buildnum import Build
from bot.core.catalog import Catalog, Line, Release, line_key, lineage_key

LineState = Literal["known", "newer", "unknown", "none"]

SE_FIRST_THIRD = 2562  # Exchange SE starts at 15.2.2562; lower 15.2 builds are Exchange 2019
ONLINE = "Exchange Online"


@dataclass(frozen=True)
class Identity:
    """What a build number is: product, CU line, the release it is (or is nearest to) and how sure."""

    build: Build
    product: str | None
    line: Line | None
    line_state: LineState
    release: Release | None  # exact or nearest published release (precision 4), or unique RU (2007/2010)
    exact: bool
    candidates: tuple[Build, ...]  # builds the server may run (precision 4 only)
    notes: tuple[str, ...]


def product_of(build: Build) -> str | None:
    """Product from the version parts alone (docs/ARCHITECTURE.md, "From signals to a verdict")."""
    major, minor, third = build.major, build.minor, build.third
    if major == 15:
        if minor >= 20:
            return ONLINE
        if minor == 0:
            return "Exchange 2013"
        if minor == 1:
            return "Exchange 2016"
        if minor == 2:
            if third is None:
                return None  # 2019 or SE: only the third part tells
            return "Exchange SE" if third >= SE_FIRST_THIRD else "Exchange 2019"
        return None
    if major == 14 and minor <= 3:
        return "Exchange 2010"
    if major == 8 and minor <= 3:
        return "Exchange 2007"
    if major == 6 and minor == 5:
        return "Exchange 2003"
    return None


def is_online(build: Build) -> bool:
    """A build only Exchange Online runs (15.20 and up); every other build is on-premises."""
    return build.online


def identify(build: Build, catalog: Catalog) -> Identity:
    product = product_of(build)
    notes: list[str] = []
    if product is None:
        if build.major == 15 and build.minor == 2:
            notes.append("15.2 without a third part is Exchange 2019 or Exchange SE")
        return Identity(build, None, None, "none", None, False, (), tuple(notes))
    if product == ONLINE or build.precision == 2 or (product == "Exchange 2003" and build.precision < 3):
        return Identity(build, product, None, "none", None, False, (), ())

    key = line_key(product, build)
    line = catalog.line(key)
    if line is None:
        state: LineState = "unknown"
        lineage = catalog.lines_of(lineage_key(product, build))
        if lineage and key > max(ln.key for ln in lineage):
            state = "newer"
            notes.append(
                f"{build} is newer than every {product} build in the knowledge base "
                f"(data as of {catalog.data_date.isoformat()})"
            )
        else:
            notes.append(f"{'.'.join(map(str, key))} is not a published {product} CU or service pack")
        return Identity(build, product, None, state, None, False, (), tuple(notes))

    if build.precision == 4:
        rel = catalog.release(build)
        if rel is not None:
            return Identity(build, product, line, "known", rel, True, (build,), ())
        nearest = min(line.releases, key=lambda r: (_distance(r.build, build), r.build))
        newest = line.latest
        # A file version below the CU's own build still means that CU is installed.
        floor = max(build, line.base.build)
        if build > newest.build and _distance(newest.build, build) > 3:
            # Well above everything published for this CU: more likely a later update than a file
            # version, so it is not named after the newest known one.
            notes.append(
                f"{build} is newer than the newest published {product} {line.cu} build {newest.build} "
                f"in the knowledge base (data as of {catalog.data_date.isoformat()}): a later update?"
            )
            return Identity(build, product, line, "known", None, False, (floor, newest.build), tuple(notes))
        notes.append(
            f"{build} is not a published build; nearest published build of {product} {line.cu} is "
            f"{nearest.build} ({_label(nearest)}): Exchange file versions often differ slightly"
        )
        return Identity(build, product, line, "known", nearest, False, (floor, nearest.build), tuple(notes))

    # Three parts: 2013+ names the CU only; 2007/2010 name the update rollup too.
    release = None
    if product in ("Exchange 2007", "Exchange 2010"):
        matching = [r for r in line.releases if r.build.prefix(3) == build.prefix(3)]
        if len(matching) == 1:
            release = matching[0]
    return Identity(build, product, line, "known", release, False, (), ())


def _distance(a: Build, b: Build) -> int:
    return abs(a.parts[2] - b.parts[2]) * 100_000 + abs(a.parts[3] - b.parts[3])


def _label(r: Release) -> str:
    return r.cu if r.update == "none" else f"{r.cu} {r.update}"
