"""knowledge/tools/refresh.py: regenerates the packaged knowledge from the saved source copies in
knowledge/tools/inputs/ byte for byte, refuses inconsistent results naming the row, counts the diff.

No network: every input is a file in the repository (or a modified copy in tmp_path)."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
KNOWLEDGE = ROOT / "knowledge"
INPUTS = KNOWLEDGE / "tools" / "inputs"
GENERATED = ("builds.csv", "cves.csv", "cve_fixes.csv", "cve_records.jsonl", "meta.csv")
BY_HAND = ("lifecycle.csv", "sources.csv", "cve_curated.csv", "cve_statements.csv")
CUTOFF = "2026-10-02"  # the data date before the October/November 2026 refresh


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("refresh", KNOWLEDGE / "tools" / "refresh.py")
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules["refresh"] = mod  # dataclasses look their module up
    spec.loader.exec_module(mod)
    return mod


refresh = _load()


def read(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, rows: list[dict[str, str]], columns: list[str]) -> None:
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_text(buf.getvalue(), encoding="utf-8")


def copy_knowledge(dest: Path) -> Path:
    dest.mkdir()
    for name in GENERATED + BY_HAND:
        shutil.copy(KNOWLEDGE / name, dest / name)
    return dest


def copy_inputs(dest: Path) -> Path:
    shutil.copytree(INPUTS, dest)
    return dest


def strip_after_cutoff(base: Path) -> dict[str, int]:
    """Turn a copy of the packaged knowledge back into the state before the refresh."""
    builds = read(base / "builds.csv")
    cves = read(base / "cves.csv")
    fixes = read(base / "cve_fixes.csv")
    new_ids = {r["cve_id"] for r in cves if r["published"] > CUTOFF}
    counts = {
        "builds": sum(r["release_date"] > CUTOFF for r in builds),
        "cves": len(new_ids),
        "fixes": sum(r["cve_id"] in new_ids for r in fixes),
    }
    write(base / "builds.csv", [r for r in builds if r["release_date"] <= CUTOFF], list(builds[0]))
    write(base / "cves.csv", [r for r in cves if r["cve_id"] not in new_ids], list(cves[0]))
    write(base / "cve_fixes.csv", [r for r in fixes if r["cve_id"] not in new_ids], list(fixes[0]))
    lines = (base / "cve_records.jsonl").read_text(encoding="utf-8").splitlines(keepends=True)
    kept = [ln for ln in lines if json.loads(ln)["id"] not in new_ids]
    (base / "cve_records.jsonl").write_text("".join(kept), encoding="utf-8")
    (base / "meta.csv").unlink()
    return counts


def head(counts: dict[str, int]) -> str:
    def n(count: int, noun: str) -> str:
        return f"{count} {noun}{'' if count == 1 else 's'}"

    return (
        f"{n(counts.get('builds', 0), 'build')} added, 0 builds changed, {n(counts.get('cves', 0), 'CVE')} added, "
        f"{n(counts.get('records', 0), 'CVE record')} updated, {n(counts.get('fixes', 0), 'fix row')} added, "
        f"{n(counts.get('fixes_changed', 0), 'fix row')} changed, {n(counts.get('fixes_removed', 0), 'fix row')} "
        f"removed, {n(counts.get('kev', 0), 'KEV flag')} changed"
    )


def test_the_packaged_knowledge_is_a_fixed_point(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    code, lines = refresh.run(base, INPUTS, write=True)
    assert code == 0, lines
    assert lines[0] == head({})
    for name in GENERATED:
        assert (base / name).read_bytes() == (KNOWLEDGE / name).read_bytes(), name


def test_regenerates_the_packaged_csvs_byte_for_byte_from_the_fixture_copies(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    counts = strip_after_cutoff(base)
    assert counts["builds"] >= 5 and counts["cves"] >= 8 and counts["fixes"] > counts["cves"]
    code, lines = refresh.run(base, INPUTS, write=True)
    assert code == 0, lines
    assert lines[0] == head(counts)
    for name in GENERATED:
        assert (base / name).read_bytes() == (KNOWLEDGE / name).read_bytes(), name
    assert "  + CVE-2026-70571" in lines and any("Oct26SU 15.2.2562.56 (derived)" in ln for ln in lines)


def test_check_writes_nothing(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    strip_after_cutoff(base)
    before = {name: (base / name).read_bytes() for name in GENERATED if (base / name).exists()}
    code, lines = refresh.run(base, INPUTS, write=False)
    assert code == 0 and "8 CVEs added" in lines[0]
    assert {name: (base / name).read_bytes() for name in before} == before
    assert not (base / "meta.csv").exists()


def test_a_kev_flag_change_is_counted_and_sourced(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    inputs = copy_inputs(tmp_path / "in")
    kev_path = inputs / "known_exploited_vulnerabilities.json"
    kev = json.loads(kev_path.read_text(encoding="utf-8"))
    kev["dateReleased"] = "2026-11-30T12:00:00.0000Z"
    kev["vulnerabilities"].append({"cveID": "CVE-2026-70571", "dateAdded": "2026-11-30"})
    kev_path.write_text(json.dumps(kev), encoding="utf-8")
    code, lines = refresh.run(base, inputs, write=True)
    assert code == 0, lines
    assert lines[0] == head({"kev": 1})
    row = next(r for r in read(base / "cves.csv") if r["cve_id"] == "CVE-2026-70571")
    assert (row["kev"], row["kev_date_added"]) == ("true", "2026-11-30")
    assert "cisa-kev" in row["source"].split(";")
    meta = {r["key"]: r["value"] for r in read(base / "meta.csv")}
    assert meta["kev_catalog_date"] == "2026-11-30"


def _record(inputs: Path, cve_id: str) -> dict[str, Any]:
    path = inputs / "cves" / f"{cve_id}.json"
    doc: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return doc


def _save(inputs: Path, doc: dict[str, Any]) -> None:
    (inputs / "cves" / f"{doc['cveMetadata']['cveId']}.json").write_text(json.dumps(doc), encoding="utf-8")


def test_a_record_naming_an_unknown_build_is_rejected_naming_it(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    inputs = copy_inputs(tmp_path / "in")
    doc = _record(inputs, "CVE-2026-70571")
    doc["cveMetadata"]["cveId"] = "CVE-2026-99999"
    doc["containers"]["cna"]["affected"][2]["versions"][0]["lessThan"] = "15.02.1748.040"  # 2019 CU15
    _save(inputs, doc)
    before = (base / "cves.csv").read_bytes()
    code, lines = refresh.run(base, inputs, write=True)
    assert code == 1
    assert any("CVE-2026-99999" in ln and "15.2.1748.40" in ln and "Cumulative Update 15" in ln for ln in lines)
    assert (base / "cves.csv").read_bytes() == before


def test_a_fix_row_pointing_at_an_unknown_build_is_rejected_naming_it(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    fixes = read(base / "cve_fixes.csv")
    row = next(
        r for r in fixes if (r["cve_id"], r["product"]) == ("CVE-2026-55005", "Exchange 2019") and r["cu"] == "CU15"
    )
    row["fixed_in"] = "15.2.1748.40"
    write(base / "cve_fixes.csv", fixes, list(fixes[0]))
    code, lines = refresh.run(base, INPUTS, write=False)
    assert code == 1
    assert (
        "refresh refused: cve_fixes.csv row CVE-2026-55005 Exchange 2019 CU15: "
        "fixed_in 15.2.1748.40 is not a known build"
    ) in lines


def test_a_verdict_that_gets_better_without_a_source_is_refused(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    inputs = copy_inputs(tmp_path / "in")
    # Planted: the knowledge says the SE fix of CVE-2026-70571 is the November update ...
    fixes = read(base / "cve_fixes.csv")
    row = next(r for r in fixes if (r["cve_id"], r["product"]) == ("CVE-2026-70571", "Exchange SE"))
    row["fixed_in"], row["update"] = "15.2.2562.57", "Nov26SU"
    write(base / "cve_fixes.csv", fixes, list(fixes[0]))
    # ... and an updated record says October: Oct26SU servers would turn from vulnerable to patched.
    doc = _record(inputs, "CVE-2026-70571")
    doc["cveMetadata"]["dateUpdated"] = "2026-12-01T10:00:00.000Z"
    _save(inputs, doc)
    code, lines = refresh.run(base, inputs, write=True)
    assert code == 1
    assert (
        "refresh refused: cve_fixes.csv row CVE-2026-70571 Exchange SE RTM: fixed_in moves down from "
        "15.2.2562.57 to 15.2.2562.56 (no curated row says so)"
    ) in lines
    assert read(base / "cve_fixes.csv") == fixes  # nothing written

    # A curated row naming the update is the source that says so.
    curated = read(base / "cve_curated.csv")
    extra = {k: "" for k in curated[0]}
    extra.update(cve_id="CVE-2026-70571", config_dependent="false", fix_update="Oct26SU", source="cvelist")
    write(base / "cve_curated.csv", [*curated, extra], list(curated[0]))
    code, lines = refresh.run(base, inputs, write=True)
    assert code == 0, lines
    assert lines[0] == head({"records": 1, "fixes_changed": 1})
    assert "  ~ fix CVE-2026-70571 Exchange SE RTM: 15.2.2562.57 -> 15.2.2562.56" in lines


def test_a_fix_row_that_disappears_is_refused(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    inputs = copy_inputs(tmp_path / "in")
    doc = _record(inputs, "CVE-2026-70571")
    doc["cveMetadata"]["dateUpdated"] = "2026-12-01T10:00:00.000Z"
    doc["containers"]["cna"]["affected"] = doc["containers"]["cna"]["affected"][1:]  # 2016 CU23 dropped
    _save(inputs, doc)
    code, lines = refresh.run(base, inputs, write=False)
    assert code == 1
    assert (
        "refresh refused: cve_fixes.csv row CVE-2026-70571 Exchange 2016 CU23: fix row removed (no curated row says so)"
        in lines
    )


def test_every_row_needs_a_known_source(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    sources = read(base / "sources.csv")
    write(base / "sources.csv", [r for r in sources if r["source_id"] != "cisa-kev"], list(sources[0]))
    code, lines = refresh.run(base, INPUTS, write=False)
    assert code == 1
    assert "refresh refused: cves.csv row CVE-2021-26855: source 'cisa-kev' is not in sources.csv" in lines
    assert "refresh refused: meta.csv row kev_catalog_date: source 'cisa-kev' is not in sources.csv" in lines


def test_the_command_exits_non_zero_and_names_the_row(tmp_path: Path) -> None:
    base = copy_knowledge(tmp_path / "k")
    builds = read(base / "builds.csv")
    builds[-1]["build"] = "15.2.2562.x"
    write(base / "builds.csv", builds, list(builds[0]))
    cmd = [sys.executable, str(KNOWLEDGE / "tools" / "refresh.py"), "--knowledge", str(base), "--check"]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 1
    assert "builds.csv row Exchange SE RTM Nov26SU 15.2.2562.x: build does not parse" in proc.stderr
    ok = subprocess.run(
        [*cmd[:-3], "--knowledge", str(copy_knowledge(tmp_path / "k2")), "--check"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert ok.returncode == 0 and ok.stdout.startswith("0 builds added"), ok.stderr


@pytest.mark.parametrize("name", GENERATED)
def test_packaged_files_end_with_a_newline(name: str) -> None:
    assert (KNOWLEDGE / name).read_bytes().endswith(b"\n")
