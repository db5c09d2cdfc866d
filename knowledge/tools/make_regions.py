"""Regenerate knowledge/countries.csv and knowledge/regions.csv.

Usage: python knowledge/tools/make_regions.py UN_M49_ALL_CSV knowledge/

UN_M49_ALL_CSV is the ISO 3166-1 / UN M49 table ``all/all.csv`` of
lukes/ISO-3166-Countries-with-Regional-Codes (CC BY-SA 4.0), whose region columns are the UN
Statistics Division's M49 standard. Region definitions are documented in knowledge/README.md.
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

M49_SOURCE = "un-m49"
EU_SOURCE = "eu-members"

# The 27 member states since 2020-02-01 (europa.eu, "EU countries").
EU27 = [
    "AT",
    "BE",
    "BG",
    "HR",
    "CY",
    "CZ",
    "DK",
    "EE",
    "FI",
    "FR",
    "DE",
    "GR",
    "HU",
    "IE",
    "IT",
    "LV",
    "LT",
    "LU",
    "MT",
    "NL",
    "PL",
    "PT",
    "RO",
    "SK",
    "SI",
    "ES",
    "SE",
]


def main(src: str, out_dir: str) -> int:
    rows = list(csv.DictReader(open(src, encoding="utf-8")))
    # M49 leaves Taiwan without a region, and Kosovo has no ISO code but Shodan reports "XK":
    # place both geographically so regional sums do not silently drop them.
    for row in rows:
        if row["alpha-2"] == "TW":
            row.update({"region": "Asia", "sub-region": "Eastern Asia"})
    rows.append(
        {
            "alpha-2": "XK",
            "name": "Kosovo",
            "region": "Europe",
            "sub-region": "Southern Europe",
            "intermediate-region": "",
        }
    )
    out = Path(out_dir)
    with open(out / "countries.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["code", "name", "un_region", "un_subregion", "un_intermediate_region", "source"])
        for r in sorted(rows, key=lambda r: r["alpha-2"]):
            source = M49_SOURCE if r["alpha-2"] not in ("TW", "XK") else f"{M49_SOURCE};exchbot-placement"
            w.writerow([r["alpha-2"], r["name"], r["region"], r["sub-region"], r["intermediate-region"], source])

    def where(pred) -> list[str]:  # type: ignore[no-untyped-def]
        return sorted(r["alpha-2"] for r in rows if pred(r))

    regions: dict[str, tuple[list[str], str]] = {
        "eu": (sorted(EU27), EU_SOURCE),
        # Europe by UN M49, plus EU members M49 files under Asia (Cyprus).
        "europe": (sorted(set(where(lambda r: r["region"] == "Europe")) | set(EU27)), f"{M49_SOURCE};{EU_SOURCE}"),
        "us": (["US"], M49_SOURCE),
        # The North American continent: Northern America, Central America and the Caribbean.
        "na": (
            where(
                lambda r: (
                    r["sub-region"] == "Northern America"
                    or r["intermediate-region"] in ("Central America", "Caribbean")
                )
            ),
            M49_SOURCE,
        ),
        "asia": (where(lambda r: r["region"] == "Asia"), M49_SOURCE),
        # Asia-Pacific: East, South-East and South Asia plus Oceania.
        "apac": (
            where(
                lambda r: (
                    r["sub-region"] in ("Eastern Asia", "South-eastern Asia", "Southern Asia")
                    or r["region"] == "Oceania"
                )
            ),
            M49_SOURCE,
        ),
        "world": (where(lambda r: True), M49_SOURCE),
    }
    with open(out / "regions.csv", "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(["region", "country_code", "source"])
        for name, (codes, source) in regions.items():
            for code in codes:
                w.writerow([name, code, source])
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
