"""The knowledge catalog: published builds, CU lines, lifecycle and CVE fixes, as frozen data.

Built from plain row dictionaries (:meth:`Catalog.from_rows`), so this module reads no files; the
loader in :mod:`bot.knowledge` feeds it the CSV rows of ``knowledge/``.

Vocabulary used throughout:

* a **release** is one published build (a CU, an SU/HU, an SP, an RU);
* a **line** is the set of releases that share the parts of the build that only a new CU (2013+)
  or service pack (2007/2010) changes: ``15.1.2507`` is Exchange 2016 CU23, ``14.3`` is
  Exchange 2010 SP3. Security updates move only the rest of the build within a line;
* a **lineage** is the ordered sequence of lines of one code base: Exchange SE continues the
  Exchange 2019 lineage (``15.2``), so a 2019 fix is contained in SE.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Literal

from bot.core.buildnum import Build

FixStatus = Literal["fixed", "no_fix", "not_affected"]
FAMILIES = ("ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell")
ALL_LINES = "*"

_SP_PRODUCTS = ("Exchange 2007", "Exchange 2010")


@dataclass(frozen=True)
class Release:
    """One published build: a CU/SP/RTM itself or an update to it, with its date and KB."""

    product: str
    cu: str
    update: str  # "none" for the CU/SP/RTM build itself
    build: Build
    release_date: dt.date
    kind: str
    esu: bool
    kb: str
    source: str
    notes: str


@dataclass(frozen=True)
class Line:
    """One CU (or SP/RTM) of a product and every release of it, oldest first."""

    product: str
    cu: str
    key: tuple[int, ...]
    releases: tuple[Release, ...]  # sorted by build

    @property
    def base(self) -> Release:
        for r in self.releases:
            if r.update == "none":
                return r
        return self.releases[0]

    @property
    def latest(self) -> Release:
        return self.releases[-1]

    @property
    def release_date(self) -> dt.date:
        return self.base.release_date

    @property
    def lineage(self) -> tuple[int, ...]:
        return lineage_key(self.product, self.base.build)


@dataclass(frozen=True)
class Lifecycle:
    """A product's support dates (mainstream, extended, extended security updates) and their source."""

    product: str
    release_date: dt.date | None
    mainstream_end: dt.date | None
    extended_end: dt.date | None
    esu_end: dt.date | None
    policy: str
    source: str
    notes: str


@dataclass(frozen=True)
class Cve:
    """One CVE affecting Exchange: its family, KEV listing and score, and whether it depends on configuration."""

    id: str
    title: str
    published: dt.date
    family: str | None
    kev: bool
    kev_date_added: dt.date | None
    cvss: float | None
    config_dependent: bool
    config_note: str
    products: tuple[str, ...]
    source: str
    notes: str


@dataclass(frozen=True)
class CveFix:
    """Where one CVE stands on one CU line: fixed in which build, not affected, or no fix."""

    cve_id: str
    product: str
    cu: str  # or ALL_LINES
    status: FixStatus
    fixed_in: Build | None
    update: str
    source: str
    notes: str
    # Another Microsoft source names an earlier fix on this line: builds from here up to fixed_in
    # are "cannot tell", not vulnerable.
    alt_fixed_in: Build | None = None


@dataclass(frozen=True, eq=False)  # identity equality: hashable, so results can be cached per catalog
class Catalog:
    """Everything exchbot knows (builds, lines, lifecycles, CVEs, fixes, regions), as of ``data_date``."""

    releases: tuple[Release, ...]
    lines: tuple[Line, ...]
    lifecycles: Mapping[str, Lifecycle]
    cves: tuple[Cve, ...]
    fixes: tuple[CveFix, ...]
    regions: Mapping[str, frozenset[str]]
    countries: Mapping[str, str]
    data_date: dt.date
    version: str
    kev_date: dt.date | None = None  # the CISA KEV catalogue the ``kev`` flags were taken from
    _by_build: Mapping[Build, Release] = field(repr=False, default_factory=dict)
    _by_key: Mapping[tuple[int, ...], Line] = field(repr=False, default_factory=dict)
    _fixes_by_cve: Mapping[str, tuple[CveFix, ...]] = field(repr=False, default_factory=dict)

    # -- lookups -------------------------------------------------------------------------------

    def release(self, build: Build) -> Release | None:
        return self._by_build.get(build)

    def line(self, key: tuple[int, ...]) -> Line | None:
        return self._by_key.get(key)

    def lines_of(self, lineage: tuple[int, ...]) -> tuple[Line, ...]:
        return tuple(ln for ln in self.lines if ln.lineage == lineage)

    def fixes_for(self, cve_id: str) -> tuple[CveFix, ...]:
        return self._fixes_by_cve.get(cve_id, ())

    def line_by_name(self, product: str, cu: str) -> Line | None:
        for ln in self.lines:
            if ln.product == product and ln.cu == cu:
                return ln
        return None

    def newest_release(self, product: str | None = None) -> Release:
        pool = [r for r in self.releases if product is None or r.product == product]
        return max(pool, key=lambda r: (r.release_date, r.build))

    def serviced(self, product: str, on: dt.date) -> bool:
        """Did Microsoft still ship builds for ``product`` on or after ``on``, and still assess it
        for new CVEs on ``on`` (not after the end of its paid ESU period, or of extended support
        when there was none)?"""
        end = self.assessed_until(product)
        if end is not None and on > end:
            return False
        return any(r.product == product and r.release_date >= on for r in self.releases)

    def assessed_until(self, product: str) -> dt.date | None:
        """The last day Microsoft assessed ``product`` for new CVEs: the end of its paid ESU period,
        else the end of extended support; None while it is supported without an end date."""
        life = self.lifecycles.get(product)
        if life is None:
            return None
        return life.esu_end or life.extended_end

    def esu_ended(self, product: str, today: dt.date) -> bool:
        """The product's paid ESU programme existed and has ended by ``today``."""
        life = self.lifecycles.get(product)
        return life is not None and life.esu_end is not None and today > life.esu_end

    # -- construction --------------------------------------------------------------------------

    @classmethod
    def from_rows(
        cls,
        *,
        builds: Iterable[Mapping[str, str]],
        lifecycle: Iterable[Mapping[str, str]],
        cves: Iterable[Mapping[str, str]],
        fixes: Iterable[Mapping[str, str]],
        regions: Iterable[Mapping[str, str]] = (),
        countries: Iterable[Mapping[str, str]] = (),
        version: str = "",
    ) -> Catalog:
        releases = tuple(sorted((_release(r) for r in builds), key=lambda r: r.build))
        grouped: dict[tuple[int, ...], list[Release]] = {}
        for rel in releases:
            grouped.setdefault(line_key(rel.product, rel.build), []).append(rel)
        lines = tuple(Line(rs[0].product, rs[0].cu, k, tuple(rs)) for k, rs in sorted(grouped.items()))
        cve_objs = tuple(_cve(r) for r in cves)
        fix_objs = tuple(_fix(r) for r in fixes)
        by_cve: dict[str, list[CveFix]] = {}
        for f in fix_objs:
            by_cve.setdefault(f.cve_id, []).append(f)
        region_map: dict[str, set[str]] = {}
        for r in regions:
            region_map.setdefault(r["region"], set()).add(r["country_code"].upper())
        data_date = max([r.release_date for r in releases] + [c.published for c in cve_objs] or [dt.date(1970, 1, 1)])
        return cls(
            releases=releases,
            lines=lines,
            lifecycles={r["product"]: _lifecycle(r) for r in lifecycle},
            cves=cve_objs,
            fixes=fix_objs,
            regions={k: frozenset(v) for k, v in region_map.items()},
            countries={r["code"].upper(): r["name"] for r in countries},
            data_date=data_date,
            version=version or data_date.isoformat(),
            _by_build={r.build: r for r in releases},
            _by_key={ln.key: ln for ln in lines},
            _fixes_by_cve={k: tuple(v) for k, v in by_cve.items()},
        )


def line_key(product: str, build: Build) -> tuple[int, ...]:
    """The parts of a build that identify its CU (2013+) or service pack (2007/2010) line."""
    if product in _SP_PRODUCTS:
        return build.prefix(2)
    return build.prefix(3)


def lineage_key(product: str, build: Build) -> tuple[int, ...]:
    """Lines of one code base: all 2007 / 2010 service packs; 15.0, 15.1, 15.2 (2019 + SE)."""
    return build.prefix(1) if product in _SP_PRODUCTS else build.prefix(2)


def _date(text: str) -> dt.date | None:
    return dt.date.fromisoformat(text) if text else None


def _release(r: Mapping[str, str]) -> Release:
    d = _date(r["release_date"])
    if d is None:
        raise ValueError(f"release without a date: {r}")
    return Release(
        product=r["product"],
        cu=r["cu"],
        update=r["update"],
        build=Build.of(r["build"]),
        release_date=d,
        kind=r.get("kind", ""),
        esu=r.get("esu", "false") == "true",
        kb=r.get("kb", ""),
        source=r["source"],
        notes=r.get("notes", ""),
    )


def _lifecycle(r: Mapping[str, str]) -> Lifecycle:
    return Lifecycle(
        product=r["product"],
        release_date=_date(r["release_date"]),
        mainstream_end=_date(r["mainstream_end"]),
        extended_end=_date(r["extended_end"]),
        esu_end=_date(r.get("esu_end", "")),
        policy=r["policy"],
        source=r["source"],
        notes=r.get("notes", ""),
    )


def _cve(r: Mapping[str, str]) -> Cve:
    published = _date(r["published"])
    if published is None:
        raise ValueError(f"CVE without a date: {r}")
    return Cve(
        id=r["cve_id"],
        title=r["title"],
        published=published,
        family=r["family"] or None,
        kev=r["kev"] == "true",
        kev_date_added=_date(r["kev_date_added"]),
        cvss=float(r["cvss"]) if r.get("cvss") else None,
        config_dependent=r["config_dependent"] == "true",
        config_note=r["config_note"],
        products=tuple(p for p in r["products"].split(";") if p),
        source=r["source"],
        notes=r.get("notes", ""),
    )


def _fix(r: Mapping[str, str]) -> CveFix:
    status = r["status"]
    if status not in ("fixed", "no_fix", "not_affected"):
        raise ValueError(f"unknown fix status {status!r}")
    return CveFix(
        cve_id=r["cve_id"],
        product=r["product"],
        cu=r["cu"],
        status=status,  # type: ignore[arg-type]
        fixed_in=Build.of(r["fixed_in"]) if r["fixed_in"] else None,
        update=r.get("update", ""),
        source=r["source"],
        notes=r.get("notes", ""),
        alt_fixed_in=Build.of(r["alt_fixed_in"]) if r.get("alt_fixed_in") else None,
    )
