"""``exchbot build`` on the builds just before and at each fix published after 2026-10-02 (the
October 2026 SU for 2016/2019/SE and the November 2026 SU for SE): vulnerable before, patched at.
Cases come from the packaged data; the CVE ids Microsoft published are pinned so losing one fails."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

KNOWLEDGE = Path(__file__).resolve().parents[1] / "knowledge"
CUTOFF = "2026-10-02"
OCTOBER = {"CVE-2026-70279", "CVE-2026-70571", "CVE-2026-87696"}
NOVEMBER = {"CVE-2026-118151", "CVE-2026-118152", "CVE-2026-118153", "CVE-2026-118157", "CVE-2026-118208"}


def read(name: str) -> list[dict[str, str]]:
    with open(KNOWLEDGE / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def key(build: str) -> tuple[int, ...]:
    return tuple(int(p) for p in build.split("."))


def build_json(*builds: str) -> dict[str, dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "build", "--json", *builds],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return {a["input"]: a for a in json.loads(proc.stdout)}


def test_new_cves_are_vulnerable_before_and_patched_at_their_fix() -> None:
    new = {r["cve_id"] for r in read("cves.csv") if r["published"] > CUTOFF}
    assert new == OCTOBER | NOVEMBER
    builds = read("builds.csv")
    cases: list[tuple[str, str, str]] = []
    for fix in read("cve_fixes.csv"):
        if fix["cve_id"] not in new:
            continue
        assert fix["status"] == "fixed", fix
        line = sorted((b["build"] for b in builds if (b["product"], b["cu"]) == (fix["product"], fix["cu"])), key=key)
        before = [b for b in line if key(b) < key(fix["fixed_in"])]
        cases += [(fix["cve_id"], fix["fixed_in"], "patched"), (fix["cve_id"], before[-1], "vulnerable")]
    assert len(cases) == 2 * (3 * 4 + 5 * 1)  # October: 2016 CU23, 2019 CU14/CU15, SE; November: SE only
    result = build_json(*sorted({b for _, b, _ in cases}, key=key))
    for cve_id, build, expected in cases:
        status = {c["id"]: c["status"] for c in result[build]["cves"]}[cve_id]
        assert status == expected, f"{cve_id} on {build}: {status}"


def test_newest_builds_and_what_microsoft_no_longer_assesses() -> None:
    result = build_json("15.2.2562.57", "15.2.2562.56", "15.1.2507.77", "15.2.1748.55")
    se = result["15.2.2562.57"]
    assert (se["product"], se["update"]) == ("Exchange SE", "Nov26SU")
    assert all(c["status"] != "vulnerable" for c in se["cves"])
    assert "Up to date" in se["advice"]
    assert "Up to date" not in result["15.2.2562.56"]["advice"]  # Oct26SU: the November update is missing
    for build in ("15.1.2507.77", "15.2.1748.55"):  # the last ESU builds of 2016 and 2019
        status = {c["id"]: c["status"] for c in result[build]["cves"]}
        assert all(status[c] == "patched" for c in OCTOBER)
        # The November 2026 records list Exchange SE only: 2016/2019 were no longer assessed, so
        # never "not affected" and never "patched" (2019 shares SE's code base: no fix, vulnerable).
        assert all(status[c] in ("unknown", "vulnerable") for c in NOVEMBER), status
    assert {c["status"] for c in result["15.1.2507.77"]["cves"] if c["id"] in NOVEMBER} == {"unknown"}
