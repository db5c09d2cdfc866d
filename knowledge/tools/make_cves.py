"""Regenerate knowledge/cves.csv and knowledge/cve_fixes.csv.

Usage: python knowledge/tools/make_cves.py --kev known_exploited_vulnerabilities.csv

Reads (all data, all in knowledge/ except the KEV catalog):

* ``cve_records.jsonl``   Microsoft's CVE records as harvested from CVEProject/cvelistV5: title,
  dates, and the ``affected`` entries ("Microsoft Exchange Server 2016 Cumulative Update 19",
  ``lessThan`` = first fixed build) of every Exchange CVE from 2021 on.
* ``cve_curated.csv``     family, configuration dependence and, for records that only say
  ``lessThan: publication``, the security update that fixed the CVE (Health Checker's SU table).
* ``cve_statements.csv``  product-level facts no record carries (Exchange 2010 and ProxyLogon).
* ``builds.csv``          every published build, to check and to derive fix builds.
* ``--css-cvetable``      Health Checker's SU-to-CVE table (Invoke-AnalyzerSecurityCveCheck.ps1):
  where it lists a product the CVE record leaves out, that product's lines with that SU get fix
  rows too (the conservative reading of two Microsoft sources that disagree).

A record's build wins over its product label when the two disagree (several records swap CU
labels); a build that is not a published build of any line is ignored and the fix is derived
from the curated update name instead. Every decision is written into the row's ``notes``.
Anything that cannot be resolved stops the run.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

KNOWLEDGE = Path(__file__).resolve().parents[1]
PROXYLOGON = {"CVE-2021-26855", "CVE-2021-26857", "CVE-2021-26858", "CVE-2021-27065"}


def key(build: str) -> tuple[int, ...]:
    return tuple(int(p) for p in build.split("."))


def line_of(product: str, build: str) -> tuple[int, ...]:
    parts = key(build)
    return parts[:2] if product in ("Exchange 2007", "Exchange 2010") else parts[:3]


def load_builds() -> tuple[dict[str, dict[str, str]], dict[tuple[str, str], list[dict[str, str]]]]:
    by_build: dict[str, dict[str, str]] = {}
    by_line: dict[tuple[str, str], list[dict[str, str]]] = {}
    with open(KNOWLEDGE / "builds.csv", encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            by_build[row["build"]] = row
            by_line.setdefault((row["product"], row["cu"]), []).append(row)
    return by_build, by_line


def label_of(name: str) -> tuple[str, str | None] | None:
    """'Microsoft Exchange Server 2016 Cumulative Update 19' -> ('Exchange 2016', 'CU19')."""
    m = re.match(r"Microsoft Exchange Server(?: (\d{4}|Subscription Edition))?(?: (.*))?$", name.strip())
    if not m:
        return None
    year, rest = m.group(1), (m.group(2) or "").strip()
    if year is None:
        return ("", None)
    product = "Exchange SE" if year == "Subscription Edition" else f"Exchange {year}"
    if not rest:
        return (product, None)
    if cu := re.fullmatch(r"Cumulative Update (\d+)", rest):
        return (product, f"CU{cu.group(1)}")
    if sp := re.fullmatch(r"Service Pack (\d)", rest):
        return (product, f"SP{sp.group(1)}")
    if rest == "RTM":
        return (product, "RTM")
    return None


CSS_PRODUCTS = {
    "$ex131619": ("Exchange 2013", "Exchange 2016", "Exchange 2019"),
    "$ex2013": ("Exchange 2013",),
    "$ex2016": ("Exchange 2016",),
    "$ex2019": ("Exchange 2019",),
    "$exSE": ("Exchange SE",),
}


def read_css_cvetable(path: str) -> dict[str, list[tuple[str, tuple[str, ...]]]]:
    """CVE -> [(SU name, products)] from Health Checker's ``$suNameDictionary``."""
    text = open(path, encoding="utf-8-sig").read()
    block = text[text.index("$suNameDictionary = @{") : text.index("# Need to organize")]
    out: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
    for line in block.splitlines():
        m = re.match(r'\s*"(\w+)"\s*=\s*(.*)$', line)
        if not m:
            continue
        su, rest = m.groups()
        for cves, prods in re.findall(
            r'NewCveEntry\s*(\(?@?\([^)]*\)\)?|"[^"]+"|\("[^"]+"\))\s*(\$\w+|@\([^)]*\))', rest
        ):
            products = tuple(p for tok in re.findall(r"\$\w+", prods) for p in CSS_PRODUCTS[tok])
            for cve in re.findall(r"CVE-\d+-\d+", cves):
                out.setdefault(cve, []).append((su, products))
    return out


def norm(text: str | None) -> str | None:
    if not text or not re.fullmatch(r"\d+(\.\d+){3}", text.strip()):
        return None
    return ".".join(str(int(p)) for p in text.strip().split("."))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--kev", required=True, help="CISA known_exploited_vulnerabilities.csv")
    ap.add_argument("--css-cvetable", required=True, help="Health Checker Invoke-AnalyzerSecurityCveCheck.ps1")
    args = ap.parse_args(argv)

    by_build, by_line = load_builds()
    curated = {r["cve_id"]: r for r in csv.DictReader(open(KNOWLEDGE / "cve_curated.csv", encoding="utf-8"))}
    statements = list(csv.DictReader(open(KNOWLEDGE / "cve_statements.csv", encoding="utf-8")))
    kev = {r["cveID"]: r["dateAdded"] for r in csv.DictReader(open(args.kev, encoding="utf-8"))}
    records = [json.loads(line) for line in open(KNOWLEDGE / "cve_records.jsonl", encoding="utf-8")]
    css = read_css_cvetable(args.css_cvetable)
    cve_rows, fix_rows, problems = generate(records, curated, statements, by_build, by_line, kev, css)
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 1
    for name, rows in (("cves.csv", cve_rows), ("cve_fixes.csv", fix_rows)):
        with open(KNOWLEDGE / name, "w", newline="", encoding="utf-8") as fh:
            w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    print(f"{len(cve_rows)} CVEs, {len(fix_rows)} fix rows", file=sys.stderr)
    return 0


Row = dict[str, str]


def generate(
    records: list[dict],
    curated: dict[str, Row],
    statements: list[Row],
    by_build: dict[str, Row],
    by_line: dict[tuple[str, str], list[Row]],
    kev: dict[str, str],
    css: dict[str, list[tuple[str, tuple[str, ...]]]],
) -> tuple[list[Row], list[Row], list[str]]:
    """The CVE and fix rows for ``records`` (pure: every input is passed in)."""
    cve_rows: list[Row] = []
    fix_rows: list[Row] = []
    problems: list[str] = []
    for rec in sorted(records, key=lambda r: r["id"]):
        cid = rec["id"]
        cur = curated.get(cid, {})
        fixes: dict[tuple[str, str], dict[str, str]] = {}
        products: set[str] = set()

        def add_fix(product: str, cu: str, build: str, source: str, note: str = "", _f=fixes) -> None:
            row = by_build[build]
            prev = _f.get((product, cu))
            if prev is not None and key(prev["fixed_in"]) >= key(build):
                return  # keep the higher (more conservative) fix build
            _f[(product, cu)] = {
                "cve_id": cid,
                "product": product,
                "cu": cu,
                "status": "fixed",
                "fixed_in": build,
                "update": row["update"],
                "alt_fixed_in": "",
                "source": source,
                "notes": note,
            }

        stated = {(st["product"], st["cu"]) for st in statements if st["cve_id"] == cid}
        touched: set[str] = set()
        pending: list[tuple[str, str, str]] = []
        for entry in rec["affected"]:
            label = label_of(entry["product"])
            if label is None:
                problems.append(f"{cid}: unrecognised product {entry['product']!r}")
                continue
            lt = norm(entry.get("lessThan"))
            if lt and lt in by_build and label[0] and by_build[lt]["product"] != label[0]:
                lt = None  # a build of another product: a typo in the record, derive instead
            if lt and lt in by_build:
                row = by_build[lt]
                products.add(row["product"])
                note = ""
                if label != (row["product"], row["cu"]) and label[1] is not None:
                    note = f"record labels this build '{entry['product']}'; the build belongs to {row['product']} {row['cu']}"
                add_fix(row["product"], row["cu"], lt, "cvelist", note)
                continue
            product, cu = label
            if not product:
                problems.append(f"{cid}: product without version and no usable build {entry}")
                continue
            products.add(product)
            if cu is None or (product, cu) in stated:
                continue  # product-wide entry without a build, or a curated statement covers it
            why = f"record gives lessThan={entry.get('lessThan')!r}"
            upd = cur.get("fix_update", "")
            if upd == "none" and (product, cu) in by_line:
                base = next(r for r in by_line[(product, cu)] if r["update"] == "none")
                add_fix(product, cu, base["build"], "cvelist;css-cvetable", f"{why}; fixed by the CU itself")
                continue
            cand = [r for r in by_line.get((product, cu), []) if r["update"] == upd]
            if upd and cand:
                add_fix(
                    product,
                    cu,
                    cand[0]["build"],
                    "cvelist;css-cvetable;ms-buildnumbers-csv",
                    f"{why}; fix = {upd} build of this line",
                )
            else:
                pending.append((product, cu, why))

        # Unresolved lines: the record's other lines name the update that fixed the CVE.
        siblings = {f["update"] for f in fixes.values()}
        for product, cu, why in pending:
            cand = [r for r in by_line.get((product, cu), []) if r["update"] in siblings]
            if len(siblings) == 1 and cand:
                add_fix(
                    product,
                    cu,
                    cand[0]["build"],
                    "cvelist;ms-buildnumbers-csv",
                    f"{why}; fix = {cand[0]['update']}, the update the record names for its other lines",
                )
            else:
                problems.append(f"{cid}: cannot resolve {product} {cu}: {why}")

        if cid in PROXYLOGON:
            # The March 2021 SUs for older CUs (KB5000871) fix exactly these four CVEs.
            for (product, cu), rows in by_line.items():
                for r in rows:
                    if r["update"] == "Mar21SU" and (product, cu) not in fixes:
                        add_fix(
                            product,
                            cu,
                            r["build"],
                            "ms-buildnumbers-csv",
                            "older-CU March 2021 SU (KB5000871); not listed in the CVE record",
                        )
                        products.add(product)

        # Health Checker lists a product the record leaves out: its lines with that SU are fixed there.
        for su, css_products in css.get(cid, []):
            for product in css_products:
                if product in products:
                    continue
                for (line_product, cu), rows in by_line.items():
                    if line_product != product or (product, cu) in fixes:
                        continue
                    for r in rows:
                        if r["update"] == su:
                            add_fix(
                                product,
                                cu,
                                r["build"],
                                "css-cvetable",
                                f"Health Checker lists {product} for {su}; the CVE record does not",
                            )
                            touched.add(product)
        products |= touched

        for st in statements:
            if st["cve_id"] != cid:
                continue
            products.add(st["product"])
            fixes[(st["product"], st["cu"])] = {
                "cve_id": cid,
                "product": st["product"],
                "cu": st["cu"],
                "status": st["status"],
                "fixed_in": st["fixed_in"],
                "update": by_build[st["fixed_in"]]["update"] if st["fixed_in"] else "",
                "alt_fixed_in": "",
                "source": st["source"],
                "notes": st["notes"],
            }

        # Health Checker names an earlier update than the record for the same line (e.g. Aug23SU vs its
        # v2 re-release): builds between the two are "cannot tell", not vulnerable.
        css_sus = {su for su, _ in css.get(cid, [])}
        for su in css_sus:
            for fix in fixes.values():
                if fix["status"] != "fixed" or not fix["fixed_in"] or fix["update"] in css_sus:
                    continue  # Health Checker agrees with the record's fix (it may list several SUs)
                earlier = [
                    r
                    for r in by_line.get((fix["product"], fix["cu"]), [])
                    if r["update"] == su and key(r["build"]) < key(fix["fixed_in"])
                ]
                if earlier and (not fix["alt_fixed_in"] or key(earlier[0]["build"]) < key(fix["alt_fixed_in"])):
                    fix["alt_fixed_in"] = earlier[0]["build"]
                    extra = f"Health Checker: fixed by {su} ({earlier[0]['build']})"
                    fix["notes"] = f"{fix['notes']}; {extra}" if fix["notes"] else extra

        fix_rows.extend(sorted(fixes.values(), key=lambda r: (r["product"], key(r["fixed_in"] or "0.0.0.0"))))
        kev_date = kev.get(cid) or rec.get("kev_date_added") or ""
        cve_rows.append(
            {
                "cve_id": cid,
                "title": rec["title"],
                "published": rec["date_public"][:10],
                "family": cur.get("family", ""),
                "kev": "true" if kev_date else "false",
                "kev_date_added": kev_date,
                "cvss": rec.get("cvss") or "",
                "config_dependent": cur.get("config_dependent", "false") or "false",
                "config_note": cur.get("config_note", ""),
                "products": ";".join(sorted(products)),
                "source": "cvelist"
                + (";cisa-kev" if kev_date else "")
                + (";" + cur["source"] if cur.get("source") else ""),
                "record_commit": rec.get("record_commit", ""),
                "notes": cur.get("notes", ""),
            }
        )

    return cve_rows, fix_rows, problems


if __name__ == "__main__":
    sys.exit(main())
