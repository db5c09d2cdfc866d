"""Refresh knowledge/ from Microsoft's and CISA's published sources: one command, validated, with a diff.

Usage (the monthly procedure is in knowledge/README.md, "Refreshing"):

    python knowledge/tools/refresh.py                       # saved copies in knowledge/tools/inputs/
    python knowledge/tools/refresh.py --inputs DIR --check  # validate and show the diff, write nothing
    python knowledge/tools/refresh.py --online --cve CVE-2026-70571 ...   # download, only when asked

An inputs directory holds saved copies of the published sources (any of them may be missing):

* ``cves/*.json``                        Microsoft's CVE JSON 5 records (CVEProject/cvelistV5) for
  Exchange Server; the ``affected`` entries give the first fixed build per CU line (``lessThan``).
* ``ExchangeBuildNumbers.csv``           Microsoft's build table (microsoft/Get-ExchangeBuildNumber,
  the machine-readable copy of the Learn page "Exchange Server build numbers and release dates").
* ``known_exploited_vulnerabilities.json``  CISA's KEV catalogue (JSON feed).

The current knowledge is the starting point. A record that is new or differs from the stored one
replaces it in ``cve_records.jsonl`` and its CVE and fix rows are regenerated with
``make_cves.generate``; rows of unchanged CVEs are kept as they are (they may rest on Health
Checker's table, which is not an input here). A fix build no table lists yet becomes a build row
named after the records' month (``Oct26SU``) and marked as known only from the CVE records. KEV
flags come from the catalogue, the records' CISA ADP entries and the rows already known.

Before anything is written the result is validated; any failure names the row and exits 1:
every build parses and is unique, every fix row points at a known build of its own line, every row
names sources that exist in ``sources.csv``, and no verdict for a published build gets better (a fix
row whose ``fixed_in`` moves down, a fix row that disappears or turns ``not_affected``, a CVE that
disappears) unless a curated row says so: a ``cve_statements.csv`` row for that CVE and line, or a
``cve_curated.csv`` row whose ``fix_update`` names the new fix's update (for a removed CVE: whose
``notes`` start with ``rejected:``).
"""

from __future__ import annotations

import argparse
import calendar
import csv
import datetime as dt
import io
import json
import re
import sys
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

TOOLS = Path(__file__).resolve().parent
sys.path.insert(0, str(TOOLS))

import make_cves  # noqa: E402  (sibling generator, not a package)
import merge_builds  # noqa: E402

KNOWLEDGE = TOOLS.parent
INPUTS = TOOLS / "inputs"
KEV_FILE = "known_exploited_vulnerabilities.json"
BUILDS_FILE = "ExchangeBuildNumbers.csv"
URLS = {
    "kev": "https://www.cisa.gov/sites/default/files/feeds/known_exploited_vulnerabilities.json",
    "builds": "https://raw.githubusercontent.com/microsoft/Get-ExchangeBuildNumber/main/ExchangeBuildNumbers.csv",
    "cve": "https://raw.githubusercontent.com/CVEProject/cvelistV5/main/cves/{year}/{bucket}xxx/{id}.json",
}
BUILD_COLUMNS = ["product", "cu", "update", "build", "release_date", "kind", "esu", "kb", "source", "notes"]
META_COLUMNS = ["key", "value", "source", "notes"]
KINDS = {"rtm", "sp", "cu", "ru", "su", "hu"}
BUILD_RE = re.compile(r"\d+\.\d+\.\d+\.\d+")

Row = dict[str, str]


# -- reading -------------------------------------------------------------------------------------


def read_csv(path: Path) -> list[Row]:
    if not path.is_file():
        return []
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write_csv(rows: list[Row], columns: list[str]) -> str:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    return buf.getvalue()


def key(build: str) -> tuple[int, ...]:
    return tuple(int(p) for p in build.split("."))


def harvest(doc: dict) -> dict | None:
    """A CVE JSON 5 record -> one ``cve_records.jsonl`` entry (None: not an Exchange Server record)."""
    meta = doc.get("cveMetadata", {})
    cna = doc.get("containers", {}).get("cna", {})
    affected = []
    for entry in cna.get("affected", []):
        product = str(entry.get("product", ""))
        for ver in entry.get("versions", []):
            affected.append(
                {
                    "product": product,
                    "version": ver.get("version"),
                    "lessThan": ver.get("lessThan"),
                    "status": ver.get("status"),
                }
            )
    if not any(a["product"].startswith("Microsoft Exchange Server") for a in affected):
        return None
    cvss = None
    for metric in cna.get("metrics", []):
        for name in ("cvssV3_1", "cvssV3_0", "cvssV4_0"):
            if name in metric and cvss is None:
                cvss = metric[name].get("baseScore")
    cwe = None
    for pt in cna.get("problemTypes", []):
        for d in pt.get("descriptions", []):
            cwe = cwe or d.get("cweId")
    kev = None
    for adp in doc.get("containers", {}).get("adp", []):
        for metric in adp.get("metrics", []):
            other = metric.get("other", {})
            if other.get("type") == "kev":
                kev = str(other.get("content", {}).get("dateAdded", ""))[:10] or None
    return {
        "affected": affected,
        "cvss": cvss,
        "cwe": cwe,
        "date_public": cna.get("datePublic") or meta.get("datePublished"),
        "date_updated": meta.get("dateUpdated"),
        "id": meta.get("cveId"),
        "kev_date_added": kev,
        "record_commit": doc.get("x_recordCommit", ""),
        "title": cna.get("title", ""),
    }


@dataclass
class Inputs:
    records: list[dict] = field(default_factory=list)
    table: list[merge_builds.Row] = field(default_factory=list)
    kev: dict[str, str] = field(default_factory=dict)
    kev_date: str = ""
    kev_version: str = ""


def read_inputs(path: Path) -> Inputs:
    out = Inputs()
    for f in sorted((path / "cves").glob("*.json")):
        rec = harvest(json.loads(f.read_text(encoding="utf-8")))
        if rec is not None:
            out.records.append(rec)
    if (path / BUILDS_FILE).is_file():
        out.table = merge_builds.read_ms_csv(str(path / BUILDS_FILE))
    if (path / KEV_FILE).is_file():
        cat = json.loads((path / KEV_FILE).read_text(encoding="utf-8"))
        out.kev = {v["cveID"]: v["dateAdded"] for v in cat.get("vulnerabilities", [])}
        out.kev_date = str(cat.get("dateReleased", ""))[:10]
        out.kev_version = str(cat.get("catalogVersion", ""))
    return out


@dataclass
class State:
    builds: list[Row]
    cves: list[Row]
    fixes: list[Row]
    records: dict[str, dict]
    meta: list[Row]


def read_state(base: Path) -> State:
    records = {}
    jsonl = base / "cve_records.jsonl"
    if jsonl.is_file():
        for line in jsonl.read_text(encoding="utf-8").splitlines():
            if line.strip():
                rec = json.loads(line)
                records[rec["id"]] = rec
    return State(
        read_csv(base / "builds.csv"),
        read_csv(base / "cves.csv"),
        read_csv(base / "cve_fixes.csv"),
        records,
        read_csv(base / "meta.csv"),
    )


# -- regenerating --------------------------------------------------------------------------------


@dataclass
class Change:
    builds_added: list[str] = field(default_factory=list)
    builds_changed: list[str] = field(default_factory=list)
    records_updated: list[str] = field(default_factory=list)
    kev_changed: list[str] = field(default_factory=list)
    derived: list[Row] = field(default_factory=list)


def _esu(product: str, date: str) -> str:
    late = product in ("Exchange 2016", "Exchange 2019") and dt.date.fromisoformat(date) > merge_builds.ESU_START
    return "true" if late else "false"


def _derived_name(line_rows: list[Row], date_public: str) -> str:
    day = dt.date.fromisoformat(date_public[:10])
    base = f"{calendar.month_abbr[day.month]}{day.year % 100:02d}SU"
    taken = {r["update"] for r in line_rows}
    name, n = base, 1
    while name in taken:
        n += 1
        name = f"{base}v{n}"
    return name


def merge_table(builds: list[Row], table: Iterable[merge_builds.Row], change: Change) -> None:
    """Builds Microsoft's table lists: new ones are added, a missing KB is filled in."""
    by_build = {r["build"]: r for r in builds}
    for t in table:
        t.cu = merge_builds.canonical_cu(t.product, t.cu)
        row = by_build.get(t.build)
        if row is None:
            row = {
                "product": t.product,
                "cu": t.cu,
                "update": t.update,
                "build": t.build,
                "release_date": t.release_date,
                "kind": merge_builds.kind_of(t),
                "esu": _esu(t.product, t.release_date),
                "kb": t.kb,
                "source": merge_builds.SOURCE_IDS["ms-csv"],
                "notes": "",
            }
            builds.append(row)
            by_build[t.build] = row
            change.builds_added.append(f"{t.product} {t.cu} {t.update} {t.build}")
        elif t.kb and not row["kb"]:
            row["kb"] = t.kb
            if merge_builds.SOURCE_IDS["ms-csv"] not in row["source"].split(";"):
                row["source"] = f"{row['source']};{merge_builds.SOURCE_IDS['ms-csv']}"
            change.builds_changed.append(f"{row['product']} {row['cu']} {row['update']} {row['build']}: KB {t.kb}")


def derive_builds(builds: list[Row], records: list[dict], change: Change, problems: list[str]) -> None:
    """Fix builds the CVE records name that no table lists yet: the newest build of their line."""
    by_build = {r["build"]: r for r in builds}
    for rec in sorted(records, key=lambda r: (r["date_public"], r["id"])):
        for entry in rec["affected"]:
            label = make_cves.label_of(entry["product"])
            lt = make_cves.norm(entry.get("lessThan"))
            if label is None or lt is None or lt in by_build or not label[0] or label[1] is None:
                continue
            product, cu = label
            line = [r for r in builds if (r["product"], r["cu"]) == (product, cu)]
            if not line:
                problems.append(f"{rec['id']}: '{entry['product']}' < {lt}: no such line in builds.csv")
                continue
            newest = max(line, key=lambda r: key(r["build"]))
            if key(lt) <= key(newest["build"]) or key(lt)[:3] != key(newest["build"])[:3]:
                problems.append(
                    f"{rec['id']}: '{entry['product']}' < {lt}: not a published build of {product} {cu} "
                    f"(newest known {newest['build']}); add it to the build table first"
                )
                continue
            date = rec["date_public"][:10]
            row = {
                "product": product,
                "cu": cu,
                "update": _derived_name(line, date),
                "build": lt,
                "release_date": date,
                "kind": "su",
                "esu": _esu(product, date),
                "kb": "",
                "source": "cvelist",
                "notes": (
                    f"known only from the CVE records ({rec['id']} and others of {date}): name derived from "
                    "the records' month, KB and release date not confirmed (date = datePublic)"
                ),
            }
            builds.append(row)
            by_build[lt] = row
            change.builds_added.append(f"{product} {cu} {row['update']} {lt} (derived)")
            change.derived.append(row)


def kev_source(source: str, kev: bool) -> str:
    parts = [p for p in source.split(";") if p]
    if kev and "cisa-kev" not in parts:
        parts.insert(1, "cisa-kev")
    if not kev and "cisa-kev" in parts:
        parts.remove("cisa-kev")
    return ";".join(parts)


def regenerate(old: State, inp: Inputs, base: Path) -> tuple[State, Change, list[str]]:
    change = Change()
    problems: list[str] = []
    builds = [dict(r) for r in old.builds]
    records = dict(old.records)
    changed: set[str] = set()
    for rec in inp.records:
        prev = records.get(rec["id"])
        if prev is not None:
            same = {k: v for k, v in prev.items() if k != "record_commit"} == {
                k: v for k, v in rec.items() if k != "record_commit"
            }
            if same or str(rec["date_updated"]) < str(prev["date_updated"]):
                continue  # the stored record is the same or newer
            if not rec["record_commit"] and prev["date_updated"] == rec["date_updated"]:
                rec = {**rec, "record_commit": prev["record_commit"]}
        records[rec["id"]] = rec
        changed.add(rec["id"])
        if prev is not None:
            change.records_updated.append(rec["id"])

    merge_table(builds, inp.table, change)
    derive_builds(builds, [records[c] for c in sorted(changed)], change, problems)
    builds.sort(key=lambda r: key(r["build"]) if BUILD_RE.fullmatch(r["build"]) else (0,))

    by_build = {r["build"]: r for r in builds}
    by_line: dict[tuple[str, str], list[Row]] = {}
    for r in builds:
        by_line.setdefault((r["product"], r["cu"]), []).append(r)
    curated = {r["cve_id"]: r for r in read_csv(base / "cve_curated.csv")}
    statements = read_csv(base / "cve_statements.csv")
    old_kev = {r["cve_id"]: r["kev_date_added"] for r in old.cves if r["kev_date_added"]}
    kev = {**old_kev, **{k: v for k, v in inp.kev.items() if k.startswith("CVE-")}}
    new_cves, new_fixes, gen_problems = make_cves.generate(
        [records[c] for c in sorted(changed)], curated, statements, by_build, by_line, kev, {}
    )
    problems += gen_problems

    cves = {r["cve_id"]: dict(r) for r in old.cves if r["cve_id"] not in changed}
    cves.update({r["cve_id"]: r for r in new_cves})
    fixes: dict[str, list[Row]] = {}
    for r in old.fixes:
        if r["cve_id"] not in changed:
            fixes.setdefault(r["cve_id"], []).append(dict(r))
    for r in new_fixes:
        fixes.setdefault(r["cve_id"], []).append(r)

    for cid, row in cves.items():
        date = inp.kev.get(cid) or (records.get(cid) or {}).get("kev_date_added") or old_kev.get(cid) or ""
        if date != row["kev_date_added"] or (date != "") != (row["kev"] == "true"):
            change.kev_changed.append(f"{cid}: KEV {row['kev_date_added'] or 'no'} -> {date or 'no'}")
        row["kev"] = "true" if date else "false"
        row["kev_date_added"] = date
        row["source"] = kev_source(row["source"], bool(date))

    ids = sorted(cves)
    state = State(
        builds,
        [cves[c] for c in ids],
        [f for c in ids for f in fixes.get(c, [])],
        {c: records[c] for c in sorted(records)},
        meta_rows(builds, [cves[c] for c in ids], inp, old.meta),
    )
    return state, change, problems


def meta_rows(builds: list[Row], cves: list[Row], inp: Inputs, old: list[Row]) -> list[Row]:
    dates = [r["release_date"] for r in builds] + [r["published"] for r in cves]
    rows = {r["key"]: r for r in old}
    rows["data_date"] = {
        "key": "data_date",
        "value": max(dates) if dates else "",
        "source": "cvelist",
        "notes": "newest build release date or CVE datePublic in builds.csv and cves.csv",
    }
    if inp.kev_date:
        rows["kev_catalog_date"] = {
            "key": "kev_catalog_date",
            "value": inp.kev_date,
            "source": "cisa-kev",
            "notes": f"dateReleased of the CISA KEV catalogue read (catalogVersion {inp.kev_version})",
        }
    return [rows[k] for k in ("data_date", "kev_catalog_date") if k in rows] + [
        r for k, r in rows.items() if k not in ("data_date", "kev_catalog_date")
    ]


# -- validating ----------------------------------------------------------------------------------


def _sources_ok(name: str, what: str, source: str, known: set[str], problems: list[str]) -> None:
    ids = [s for s in source.split(";") if s]
    if not ids:
        problems.append(f"{name} row {what}: no source")
    for s in ids:
        if s not in known:
            problems.append(f"{name} row {what}: source '{s}' is not in sources.csv")


def validate(old: State, new: State, base: Path) -> list[str]:
    problems: list[str] = []
    known = {r["source_id"] for r in read_csv(base / "sources.csv")}
    seen: dict[str, Row] = {}
    for r in new.builds:
        what = f"{r['product']} {r['cu']} {r['update']} {r['build']}"
        if not BUILD_RE.fullmatch(r["build"]):
            problems.append(f"builds.csv row {what}: build does not parse")
            continue
        if r["build"] in seen:
            problems.append(f"builds.csv row {what}: build listed twice")
        seen[r["build"]] = r
        try:
            dt.date.fromisoformat(r["release_date"])
        except ValueError:
            problems.append(f"builds.csv row {what}: release_date {r['release_date']!r} is not a date")
        if r["kind"] not in KINDS:
            problems.append(f"builds.csv row {what}: kind {r['kind']!r}")
        _sources_ok("builds.csv", what, r["source"], known, problems)
    cve_ids = {r["cve_id"] for r in new.cves}
    for r in new.cves:
        _sources_ok("cves.csv", r["cve_id"], r["source"], known, problems)
    for r in new.fixes:
        what = f"{r['cve_id']} {r['product']} {r['cu']}"
        if r["cve_id"] not in cve_ids:
            problems.append(f"cve_fixes.csv row {what}: CVE not in cves.csv")
        for col in ("fixed_in", "alt_fixed_in"):
            b = r[col]
            if not b:
                if col == "fixed_in" and r["status"] == "fixed":
                    problems.append(f"cve_fixes.csv row {what}: status fixed without fixed_in")
                continue
            rel = seen.get(b)
            if rel is None:
                problems.append(f"cve_fixes.csv row {what}: {col} {b} is not a known build")
            elif (rel["product"], rel["cu"]) != (r["product"], r["cu"]):
                problems.append(
                    f"cve_fixes.csv row {what}: {col} {b} is a build of {rel['product']} {rel['cu']}, not of its line"
                )
        _sources_ok("cve_fixes.csv", what, r["source"], known, problems)
    for r in read_csv(base / "lifecycle.csv"):
        _sources_ok("lifecycle.csv", r["product"], r["source"], known, problems)
    for r in new.meta:
        _sources_ok("meta.csv", r["key"], r["source"], known, problems)
    problems += never_better(old, new, base)
    return problems


def never_better(old: State, new: State, base: Path) -> list[str]:
    """Refuse any verdict that improves without a curated row saying so."""
    curated = {r["cve_id"]: r for r in read_csv(base / "cve_curated.csv")}
    stated = {(r["cve_id"], r["product"], r["cu"]) for r in read_csv(base / "cve_statements.csv")}

    def justified(cid: str, product: str, cu: str, row: Row | None) -> bool:
        if (cid, product, cu) in stated:
            return True
        cur = curated.get(cid)
        return bool(cur and row and cur.get("fix_update") and cur["fix_update"] == row.get("update"))

    problems = []
    new_cves = {r["cve_id"] for r in new.cves}
    for r in old.cves:
        if r["cve_id"] not in new_cves:
            cur = curated.get(r["cve_id"], {})
            if not cur.get("notes", "").startswith("rejected:"):
                problems.append(f"cves.csv row {r['cve_id']}: CVE removed (no curated row says it was rejected)")
    new_fix = {(r["cve_id"], r["product"], r["cu"]): r for r in new.fixes}
    for r in old.fixes:
        k = (r["cve_id"], r["product"], r["cu"])
        what = " ".join(k)
        if r["cve_id"] not in new_cves:
            continue  # reported above
        n = new_fix.get(k)
        if n is None:
            if not justified(*k, None):
                problems.append(f"cve_fixes.csv row {what}: fix row removed (no curated row says so)")
            continue
        if justified(*k, n):
            continue
        if r["status"] != "not_affected" and n["status"] == "not_affected":
            problems.append(f"cve_fixes.csv row {what}: {r['status']} becomes not_affected (no curated row says so)")
        elif r["status"] == "fixed" and n["status"] == "fixed" and key(n["fixed_in"]) < key(r["fixed_in"]):
            problems.append(
                f"cve_fixes.csv row {what}: fixed_in moves down from {r['fixed_in']} to {n['fixed_in']} "
                "(no curated row says so)"
            )
    return problems


# -- summary, writing, CLI -----------------------------------------------------------------------


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def summary(old: State, new: State, change: Change) -> list[str]:
    old_ids = {r["cve_id"] for r in old.cves}
    added = [r["cve_id"] for r in new.cves if r["cve_id"] not in old_ids]
    old_fix = {(r["cve_id"], r["product"], r["cu"]): r for r in old.fixes}
    new_fix = {(r["cve_id"], r["product"], r["cu"]): r for r in new.fixes}
    fix_added = [k for k in new_fix if k not in old_fix]
    fix_changed = [k for k in new_fix if k in old_fix and new_fix[k] != old_fix[k]]
    fix_removed = [k for k in old_fix if k not in new_fix]
    head = ", ".join(
        [
            f"{_n(len(change.builds_added), 'build')} added",
            f"{_n(len(change.builds_changed), 'build')} changed",
            f"{_n(len(added), 'CVE')} added",
            f"{_n(len(change.records_updated), 'CVE record')} updated",
            f"{_n(len(fix_added), 'fix row')} added",
            f"{_n(len(fix_changed), 'fix row')} changed",
            f"{_n(len(fix_removed), 'fix row')} removed",
            f"{_n(len(change.kev_changed), 'KEV flag')} changed",
        ]
    )
    lines = [head]
    lines += [f"  + build {b}" for b in change.builds_added]
    lines += [f"  ~ build {b}" for b in change.builds_changed]
    lines += [f"  + {c}" for c in added]
    lines += [f"  ~ record {c}" for c in change.records_updated]
    lines += [f"  ~ fix {' '.join(k)}: {old_fix[k]['fixed_in']} -> {new_fix[k]['fixed_in']}" for k in fix_changed]
    lines += [f"  - fix {' '.join(k)}" for k in fix_removed]
    lines += [f"  ~ {k}" for k in change.kev_changed]
    return lines


def render(state: State) -> dict[str, str]:
    cve_cols = list(state.cves[0]) if state.cves else []
    fix_cols = list(state.fixes[0]) if state.fixes else []
    return {
        "builds.csv": write_csv(state.builds, BUILD_COLUMNS),
        "cves.csv": write_csv(state.cves, cve_cols),
        "cve_fixes.csv": write_csv(state.fixes, fix_cols),
        "cve_records.jsonl": "".join(json.dumps(r, sort_keys=True) + "\n" for r in state.records.values()),
        "meta.csv": write_csv(state.meta, META_COLUMNS),
    }


def download(dest: Path, cve_ids: list[str]) -> None:
    """Fetch the published sources (only with --online: a maintainer's explicit request)."""

    def get(url: str) -> bytes:
        with urllib.request.urlopen(url, timeout=60) as resp:  # fixed https URLs only
            data: bytes = resp.read()
            return data

    (dest / "cves").mkdir(parents=True, exist_ok=True)
    (dest / KEV_FILE).write_bytes(get(URLS["kev"]))
    (dest / BUILDS_FILE).write_bytes(get(URLS["builds"]))
    for cid in cve_ids:
        m = re.fullmatch(r"CVE-(\d{4})-(\d+)", cid)
        if not m:
            raise SystemExit(f"not a CVE id: {cid}")
        url = URLS["cve"].format(year=m.group(1), bucket=m.group(2)[:-3] or "0", id=cid)
        (dest / "cves" / f"{cid}.json").write_bytes(get(url))


def run(knowledge: Path, inputs: Path, write: bool, out: Iterable[str] | None = None) -> tuple[int, list[str]]:
    old = read_state(knowledge)
    new, change, problems = regenerate(old, read_inputs(inputs), knowledge)
    if not problems:
        problems = validate(old, new, knowledge)
    if problems:
        return 1, [f"refresh refused: {p}" for p in problems]
    lines = summary(old, new, change)
    if write:
        for name, text in render(new).items():
            path = knowledge / name
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                path.write_text(text, encoding="utf-8", newline="")
        supplement = knowledge / "tools" / "build_supplement.csv"
        if change.derived and supplement.is_file():
            with open(supplement, "a", encoding="utf-8", newline="") as fh:
                w = csv.writer(fh, lineterminator="\n")
                for r in change.derived:
                    w.writerow([r[c] for c in ("product", "cu", "update", "build", "release_date", "source", "notes")])
    return 0, lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--knowledge", type=Path, default=KNOWLEDGE, help="knowledge directory to refresh")
    ap.add_argument("--inputs", type=Path, default=INPUTS, help="saved copies of the sources")
    ap.add_argument("--check", action="store_true", help="validate and print the diff; write nothing")
    ap.add_argument("--online", action="store_true", help="download the sources instead of reading saved copies")
    ap.add_argument("--cve", action="append", default=[], help="with --online: a CVE record to download")
    args = ap.parse_args(argv)
    if args.online:
        with tempfile.TemporaryDirectory() as tmp:
            download(Path(tmp), args.cve)
            code, lines = run(args.knowledge, Path(tmp), not args.check)
    else:
        code, lines = run(args.knowledge, args.inputs, not args.check)
    print("\n".join(lines), file=sys.stderr if code else sys.stdout)
    return code


if __name__ == "__main__":
    sys.exit(main())
