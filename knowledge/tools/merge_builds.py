"""Regenerate knowledge/builds.csv from Microsoft's published build tables.

Usage (see knowledge/README.md, "Refreshing"):

    python knowledge/tools/merge_builds.py \
        --ms-csv ExchangeBuildNumbers.csv \
        --learn-md build-numbers-and-release-dates.md \
        --css-dict Get-ExchangeBuildVersionInformation.ps1 \
        > knowledge/builds.csv

Inputs are *data* read from three Microsoft sources (never their code):

* ``ms-csv``   microsoft/Get-ExchangeBuildNumber ``ExchangeBuildNumbers.csv`` (Microsoft's
  machine-readable copy of the Learn page; newest builds).
* ``learn-md`` MicrosoftDocs/OfficeDocs-Exchange ``build-numbers-and-release-dates.md`` (the Learn
  page itself, older snapshot; wins on conflicts for the builds it lists).
* ``css-dict`` microsoft/CSS-Exchange ``Shared/Get-ExchangeBuildVersionInformation.ps1`` (Health
  Checker's build dictionary: the 2018-2020 SUs and CUs the other two omit).

Where the sources disagree about the build of one named release, the Learn page wins and the
conflict is written into the row's ``notes``.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import re
import sys
from dataclasses import dataclass, field

ESU_START = dt.date(2025, 10, 14)
MONTHS = {m: i for i, m in enumerate(calendar.month_abbr) if m}
SOURCE_IDS = {"ms-csv": "ms-buildnumbers-csv", "learn-md": "ms-learn-2021", "css-dict": "css-builddict"}


@dataclass
class Row:
    product: str
    cu: str
    update: str
    build: str
    release_date: str
    kb: str = ""
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def norm_build(text: str) -> str:
    return ".".join(str(int(p)) for p in text.strip().split("."))


def parse_us_date(text: str) -> str:
    text = text.strip()
    for fmt in ("%m/%d/%Y", "%B %d, %Y", "%B %d,%Y", "%B%d, %Y", "%B, %Y", "%B %Y"):
        try:
            return dt.datetime.strptime(text, fmt).date().isoformat()
        except ValueError:
            continue
    raise ValueError(f"unparseable date {text!r}")


def second_tuesday(year: int, month: int) -> dt.date:
    first = dt.date(year, month, 1)
    offset = (1 - first.weekday()) % 7
    return first + dt.timedelta(days=offset + 7)


def split_name(name: str) -> tuple[str, str, str]:
    """'Exchange 2016 CU23 Feb26SU' -> ('Exchange 2016', 'CU23', 'Feb26SU')."""
    name = re.sub(r"\s*\(.*?\)", "", name).strip()
    m = re.match(r"Exchange (SE|\d{4})(?: (.*))?$", name)
    if not m:
        raise ValueError(name)
    product = f"Exchange {m.group(1)}"
    rest = (m.group(2) or "RTM").split()
    if rest[0] in ("Preview",):
        return product, "Preview", "none"
    if re.fullmatch(r"(RTM|CU\d+|SP\d)", rest[0]):
        cu, upd = rest[0], " ".join(rest[1:]) or "none"
    else:  # 'Exchange 2010 RU4' = RTM line update rollup
        cu, upd = "RTM", " ".join(rest)
    if upd == "RTM":
        upd = "none"
    return product, cu, upd


def read_ms_csv(path: str) -> list[Row]:
    rows = []
    with open(path, encoding="utf-8-sig") as fh:
        for rec in csv.DictReader(fh):
            product, cu, upd = split_name(rec["Product Name"])
            if cu == "Preview":
                continue
            rows.append(
                Row(
                    product,
                    cu,
                    upd,
                    norm_build(rec["Build Number"]),
                    parse_us_date(rec["Date"]),
                    rec.get("KB", "") or "",
                    [SOURCE_IDS["ms-csv"]],
                )
            )
    return rows


LEARN_NAME_PATTERNS = [
    (r"Update Rollup (\d+)(?:[ -]?(v\d))? (?:for )?(?:for)?Exchange Server (2007|2010)(?: (SP\d))?", "ru"),
    (r"Exchange Server (2007|2010)(?: (SP\d|RTM))?$", "base"),
    (r"Exchange Server (2013|2016|2019)(?: (RTM|CU\d+|SP1))?(?: (\w+SU\w*|\w+HU))?$", "modern"),
    (r"Exchange Server (2003)(?: (SP\d))?$", "e2003"),
]


def read_learn_md(path: str) -> list[Row]:
    rows = []
    for line in open(path, encoding="utf-8"):
        if not line.startswith("|") or "---" in line:
            continue
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if len(cells) < 3 or not re.match(r"^\d+\.\d+", cells[2]):
            continue
        name = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", cells[0]).replace("&nbsp;", "").strip()
        name = re.sub(r"\s*\(\s*recalled\s*\)", "", name)
        for pattern, kind in LEARN_NAME_PATTERNS:
            m = re.match(pattern, name)
            if not m:
                continue
            if kind == "ru":
                num, ver, year, sp = m.groups()
                upd = f"RU{num}" + (ver or "")
                product, cu = f"Exchange {year}", sp or "RTM"
            elif kind == "base":
                year, sp = m.groups()
                product, cu, upd = f"Exchange {year}", (sp or "RTM"), "none"
            elif kind == "modern":
                year, cu, su = m.groups()
                product, cu, upd = f"Exchange {year}", cu or "RTM", su or "none"
            else:
                year, sp = m.groups()
                product, cu, upd = "Exchange 2003", sp or "RTM", "none"
            try:
                date = parse_us_date(cells[1].replace("May25", "May 25"))
            except ValueError:
                date = ""
            build = cells[2]
            if build.count(".") == 2:  # Exchange 2003 lists three parts
                build += ".0"
            rows.append(Row(product, cu, upd, norm_build(build), date, "", [SOURCE_IDS["learn-md"]]))
            break
    return rows


CSS_PRODUCTS = {
    "Exchange2013": "Exchange 2013",
    "Exchange2016": "Exchange 2016",
    "Exchange2019": "Exchange 2019",
    "ExchangeSE": "Exchange SE",
}


def read_css_dict(path: str) -> list[Row]:
    rows: list[Row] = []
    product = cu = ""
    in_dict = False
    for line in open(path, encoding="utf-8-sig"):
        if "function GetExchangeBuildDictionary" in line:
            in_dict = True
        if not in_dict:
            continue
        if m := re.match(r'\s*"(Exchange\w+)"\s*=\s*@\{', line):
            product = CSS_PRODUCTS[m.group(1)]
        elif m := re.match(r'\s*"(RTM|CU\d+)"\s*=\s*\(NewCUAndSUObject "([\d.]+)"', line):
            cu = m.group(1)
            rows.append(Row(product, cu, "none", norm_build(m.group(2)), "", "", [SOURCE_IDS["css-dict"]]))
        elif m := re.match(r'\s*"(\w{3}\d\d(?:SU|HU)\w*)"\s*=\s*"([\d.]+)"', line):
            rows.append(Row(product, cu, m.group(1), norm_build(m.group(2)), "", "", [SOURCE_IDS["css-dict"]]))
    return rows


def consistent(row: Row) -> bool:
    """2007/2010 builds carry the service pack in the minor part (14.2.x = SP2)."""
    if row.product not in ("Exchange 2007", "Exchange 2010"):
        return True
    minor = int(row.build.split(".")[1])
    return minor == (0 if row.cu == "RTM" else int(row.cu[2:]))


def read_supplement(path: str) -> list[Row]:
    rows = []
    with open(path, encoding="utf-8") as fh:
        for rec in csv.DictReader(fh):
            rows.append(
                Row(
                    rec["product"],
                    rec["cu"],
                    rec["update"],
                    norm_build(rec["build"]),
                    rec["release_date"],
                    "",
                    [rec["source"]],
                    [rec["notes"]] if rec["notes"] else [],
                )
            )
    return rows


def canonical_cu(product: str, cu: str) -> str:
    # Microsoft names 15.0.847 "Exchange Server 2013 SP1"; Health Checker calls it CU4.
    return "SP1" if product == "Exchange 2013" and cu == "CU4" else cu


def merge(ms: list[Row], learn: list[Row], css: list[Row]) -> list[Row]:
    merged: dict[tuple[str, str, str], Row] = {}
    by_build: dict[str, Row] = {}

    def add(row: Row, authority: bool) -> None:
        row.cu = canonical_cu(row.product, row.cu)
        key = (row.product, row.cu, row.update)
        old = merged.get(key)
        if old is None:
            same = by_build.get(row.build)
            if same is not None:
                # The same build under another name (e.g. CSS 'CU1 Feb19SU' = CU1 itself).
                if row.sources[0] not in same.sources:
                    same.sources.append(row.sources[0])
                return
            merged[key] = row
            by_build[row.build] = row
            return
        if row.sources[0] not in old.sources:
            old.sources.append(row.sources[0])
        if old.build != row.build and authority and not consistent(row):
            old.notes.append(f"{row.sources[0]} gives {row.build} (typo: wrong service-pack line; not used)")
            authority = False
            row = Row(row.product, row.cu, row.update, old.build, row.release_date, row.kb, row.sources)
        if old.build != row.build and row.build in by_build:
            # The Learn page names a re-release (e.g. RU3v3) after the original: keep both rows.
            other = by_build[row.build]
            old.notes.append(f"Learn page lists {row.build} ({other.update}) under this name")
            return
        elif old.build != row.build:
            note = f"{row.sources[0]} gives {row.build}, {'/'.join(old.sources[:1])} gives {old.build}"
            if authority:
                by_build.pop(old.build, None)
                note = f"{old.sources[0]} gives {old.build}; Learn page gives {row.build} (used)"
                old.build = row.build
                by_build[row.build] = old
            old.notes.append(note)
        if row.release_date and old.release_date != row.release_date and (authority or not old.release_date):
            if old.release_date:
                old.notes.append(f"date {old.release_date} in {old.sources[0]}; Learn page {row.release_date}")
            old.release_date = row.release_date
        if row.kb and not old.kb:
            old.kb = row.kb

    for r in ms:
        add(r, authority=False)
    for r in learn:
        add(r, authority=True)
    for r in css:
        add(r, authority=False)

    # Rows only Health Checker knows have no release date: derive it from the update's name
    # (Exchange SUs ship on the second Tuesday of the month) and say so.
    for r in merged.values():
        if r.release_date:
            continue
        m = re.match(r"(\w{3})(\d\d)(SU|HU)", r.update)
        if m:
            d = second_tuesday(2000 + int(m.group(2)), MONTHS[m.group(1)])
            r.release_date = d.isoformat()
            r.notes.append("release date derived (Patch Tuesday of the update's month)")
    return sorted(merged.values(), key=lambda r: tuple(int(p) for p in r.build.split(".")))


def kind_of(row: Row) -> str:
    if row.update == "none":
        return "sp" if row.cu.startswith("SP") else ("cu" if row.cu.startswith("CU") else "rtm")
    if row.update.startswith("RU"):
        return "ru"
    if "HU" in row.update:
        return "hu"
    return "su"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--ms-csv", required=True)
    ap.add_argument("--learn-md", required=True)
    ap.add_argument("--css-dict", required=True)
    ap.add_argument(
        "--supplement", help="CSV of newer builds no table lists yet (knowledge/tools/build_supplement.csv)"
    )
    args = ap.parse_args(argv)
    extra = read_supplement(args.supplement) if args.supplement else []
    rows = merge(read_ms_csv(args.ms_csv), read_learn_md(args.learn_md), read_css_dict(args.css_dict) + extra)
    out = csv.writer(sys.stdout, lineterminator="\n")
    out.writerow(["product", "cu", "update", "build", "release_date", "kind", "esu", "kb", "source", "notes"])
    for r in rows:
        if not r.release_date:
            raise SystemExit(f"no release date for {r}")
        esu = r.product in ("Exchange 2016", "Exchange 2019") and dt.date.fromisoformat(r.release_date) > ESU_START
        out.writerow(
            [
                r.product,
                r.cu,
                r.update,
                r.build,
                r.release_date,
                kind_of(r),
                "true" if esu else "false",
                r.kb,
                ";".join(r.sources),
                "; ".join(r.notes),
            ]
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
