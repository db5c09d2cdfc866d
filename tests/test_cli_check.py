"""``exchbot check`` end to end: a real subprocess against the HTTPS simulator."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.exchange_sim import ExchangeSimulator

CHECK_KEYS = {
    "target",
    "reachable",
    "exchange",
    "evidence",
    "warnings",
    "checked_at",
    "error",
    "build",
    "product",
    "families",
    "cves",
    "eol",
}


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="exchange_se_current") as s:
        yield s


def run(args: list[str], db: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXCHBOT_DB": str(db)}
    env.pop("EXCHBOT_ALLOW_PRIVATE", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        input=stdin,
        check=False,
    )


def pins(sim: ExchangeSimulator, *names: str) -> list[str]:
    out = []
    for n in names:
        out += ["--resolve", f"{n}.sim.test:127.0.0.1"]
    return out


def test_single_target_json_object(sim: ExchangeSimulator, tmp_path: Path) -> None:
    target = f"exchange2019-cu14-f5.sim.test:{sim.port}"
    proc = run(["check", target, "--json", "--allow-private", *pins(sim, "exchange2019-cu14-f5")], tmp_path / "a.db")
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert set(doc) >= CHECK_KEYS
    assert doc["target"] == target and doc["build"] == "15.2.1544.11" and doc["update"] == "Apr24HU"
    assert doc["reachable"] is True and doc["exchange"] is True and doc["eol"] is True
    assert any(e["signal"] == "x-owa-version" for e in doc["evidence"])
    hist = run(["history", target, "--json"], tmp_path / "a.db")
    assert json.loads(hist.stdout)[0]["build"] == "15.2.1544.11"


def test_batch_array_in_input_order_and_exit_1_on_failure(sim: ExchangeSimulator, tmp_path: Path) -> None:
    targets = [f"exchange-se-current.sim.test:{sim.port}", "127.0.0.1:1", f"not-exchange.sim.test:{sim.port}"]
    proc = run(
        [
            "check",
            *targets,
            "--json",
            "--allow-private",
            "--timeout",
            "3",
            *pins(sim, "exchange-se-current", "not-exchange"),
        ],
        tmp_path / "b.db",
    )
    assert proc.returncode == 1
    docs = json.loads(proc.stdout)
    assert [d["target"] for d in docs] == targets
    assert docs[0]["product"] == "Exchange SE" and docs[0]["error"] is None
    assert docs[1]["reachable"] is False and docs[1]["error"].startswith("could not check")
    assert docs[2]["exchange"] is False and docs[2]["error"] is None


def test_refused_target_without_allow_private(sim: ExchangeSimulator, tmp_path: Path) -> None:
    proc = run(["check", f"127.0.0.1:{sim.port}", "--json"], tmp_path / "c.db")
    assert proc.returncode == 1
    assert json.loads(proc.stdout)["error"].startswith("refused")
    assert not any(r.path == "/owa/" for r in sim.requests if r.host.startswith("127.0.0.1"))


def test_malformed_target_is_a_usage_error(tmp_path: Path) -> None:
    proc = run(["check", "mail.example.com", "not a host!", "--json"], tmp_path / "d.db")
    assert proc.returncode == 2
    assert "invalid target" in proc.stderr and proc.stdout == ""


def test_targets_from_a_file_and_text_output(sim: ExchangeSimulator, tmp_path: Path) -> None:
    listing = f"# watch these\nexchange2016-cu9-pathonly.sim.test:{sim.port}\n\n127.0.0.1:{sim.port}  # the default\n"
    (tmp_path / "targets.txt").write_text(listing)
    proc = run(
        ["check", "-f", str(tmp_path / "targets.txt"), "--allow-private", *pins(sim, "exchange2016-cu9-pathonly")],
        tmp_path / "e.db",
    )
    assert proc.returncode == 0, proc.stderr
    lines = sorted(proc.stdout.strip().splitlines())  # text lines come in completion order
    assert len(lines) == 2
    assert "15.2.2562.53" in lines[0] and "Exchange 2016 CU9" in lines[1]
    stdin = run(["check", "-f", "-", "--allow-private", "--json"], tmp_path / "e.db", stdin=f"127.0.0.1:{sim.port}\n")
    assert json.loads(stdin.stdout)["build"] == "15.2.2562.53"


def test_env_allow_private(sim: ExchangeSimulator, tmp_path: Path) -> None:
    env = {**os.environ, "EXCHBOT_DB": str(tmp_path / "f.db"), "EXCHBOT_ALLOW_PRIVATE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "check", f"127.0.0.1:{sim.port}", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert proc.returncode == 0 and json.loads(proc.stdout)["build"] == "15.2.2562.53"
