"""Batch checks end to end: the real console script against the HTTPS simulator (issue 17).

Completion order, JSON Lines/CSV/-o, --fail-on exit codes, skipped lines, the summary, SIGINT and
SIGTERM mid-batch, --no-store and guard refusals kept out of the history.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import sqlite3
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.render.csv_out import HEADER
from tests.fakes.exchange_sim import ExchangeSimulator

HANGING = ("slow1", "slow2", "slow3", "slow4", "slow5")
FAST = ("exchange-se-current", "exchange2019-cu14-f5", "not-exchange", "exchange2016-cu22-nov21su")


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    hosts = {f"{h}.sim.test": "hang" for h in HANGING}
    with ExchangeSimulator(hosts=hosts, default="exchange_se_current") as s:
        yield s


def exchbot() -> list[str]:
    script = Path(sys.executable).parent / "exchbot"
    return [str(script)] if script.exists() else [sys.executable, "-m", "bot"]


def env_for(db: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "EXCHBOT_DB": str(db)}
    env.pop("EXCHBOT_ALLOW_PRIVATE", None)
    return {**env, **extra}


def run(args: list[str], db: Path, stdin: str | None = None, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*exchbot(), *args],
        capture_output=True,
        text=True,
        timeout=120,
        env=env_for(db, **extra),
        input=stdin,
        check=False,
    )


def target(sim: ExchangeSimulator, name: str) -> str:
    return f"{name}.sim.test:{sim.port}"


def pins(*names: str) -> list[str]:
    out: list[str] = []
    for n in names:
        out += ["--resolve", f"{n}.sim.test:127.0.0.1"]
    return out


def stored_checks(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return int(conn.execute("SELECT count(*) FROM checks").fetchone()[0])


def is_vulnerable(doc: dict[str, object]) -> bool:
    families = doc["families"]
    cves = doc["cves"]
    assert isinstance(families, dict) and isinstance(cves, list)
    return any(s == "vulnerable" for s in families.values()) or any(c["status"] == "vulnerable" for c in cves)


def test_results_come_as_they_complete_and_json_keeps_input_order(sim: ExchangeSimulator, tmp_path: Path) -> None:
    targets = [target(sim, "slow1"), target(sim, "exchange-se-current"), target(sim, "not-exchange")]
    base = [
        "check",
        *targets,
        "--allow-private",
        "--timeout",
        "2",
        *pins("slow1", "exchange-se-current", "not-exchange"),
    ]
    text = run(base, tmp_path / "a.db")
    lines = text.stdout.strip().splitlines()
    assert len(lines) == 3
    assert lines[-1].startswith(targets[0]) and "could not check" in lines[-1]  # the slow host comes last
    assert text.returncode == 1

    jsonl = run([*base, "--jsonl"], tmp_path / "a.db")
    docs = [json.loads(line) for line in jsonl.stdout.splitlines()]
    assert [d["target"] for d in docs][-1] == targets[0]
    assert sorted(d["target"] for d in docs) == sorted(targets)

    array = run([*base, "--json"], tmp_path / "a.db")
    assert [d["target"] for d in json.loads(array.stdout)] == targets


def test_csv_with_header_parsed_by_the_csv_module_and_output_file(sim: ExchangeSimulator, tmp_path: Path) -> None:
    names = ("exchange-se-current", "exchange2019-cu14-f5", "not-exchange")
    out = tmp_path / "out.csv"
    proc = run(
        ["check", *(target(sim, n) for n in names), "--allow-private", "--csv", "-o", str(out), *pins(*names)],
        tmp_path / "b.db",
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    with out.open(encoding="utf-8") as fh:
        assert next(csv.reader(fh)) == list(HEADER)
    by_target = {r["target"]: r for r in rows}
    assert set(by_target) == {target(sim, n) for n in names}
    f5 = by_target[target(sim, "exchange2019-cu14-f5")]
    assert f5["build"] == "15.2.1544.11" and f5["eol"] == "true" and f5["port"] == str(sim.port)
    assert f5["host"] == "exchange2019-cu14-f5.sim.test" and f5["reachable"] == "true"
    # the counts agree with the JSON of the same host
    doc = json.loads(
        run(
            ["check", target(sim, "exchange2019-cu14-f5"), "--json", "--allow-private", "--no-store", *pins(*names)],
            tmp_path / "b.db",
        ).stdout
    )
    vulnerable = [c for c in doc["cves"] if c["status"] == "vulnerable"]
    assert int(f5["vulnerable_count"]) == len(vulnerable)
    assert int(f5["kev_count"]) == sum(1 for c in vulnerable if c["kev"])
    assert by_target[target(sim, "not-exchange")]["exchange"] == "false"
    assert all(r["checked_at"].endswith("Z") for r in rows)


@pytest.mark.parametrize("condition", ["vulnerable", "eol", "at-risk", "error"])
def test_fail_on_exit_codes(sim: ExchangeSimulator, tmp_path: Path, condition: str) -> None:
    """Each host alone, with --fail-on CONDITION: exit 3 exactly when its result matches."""
    outcomes: dict[str, int] = {}
    for name in ("exchange-se-current", "exchange2019-cu14-f5", "not-exchange", "slow2"):
        proc = run(
            [
                "check",
                target(sim, name),
                "--jsonl",
                "--allow-private",
                "--timeout",
                "1.5",
                "--fail-on",
                condition,
                *pins(name),
            ],
            tmp_path / "c.db",
        )
        (doc,) = [json.loads(line) for line in proc.stdout.splitlines()]
        error = doc["error"] is not None
        vulnerable = not error and is_vulnerable(doc)
        eol = not error and doc["eol"] is True
        expected = {"vulnerable": vulnerable, "eol": eol, "at-risk": vulnerable or eol, "error": error}[condition]
        assert proc.returncode == (3 if expected else (1 if error else 0)), (name, proc.stderr)
        outcomes[name] = proc.returncode
    assert 3 in outcomes.values()  # each condition matched at least one of the four hosts
    assert outcomes["not-exchange"] == 0


def test_without_fail_on_findings_exit_0_and_usage_errors_exit_2(sim: ExchangeSimulator, tmp_path: Path) -> None:
    proc = run(
        ["check", target(sim, "exchange2019-cu14-f5"), "--allow-private", *pins("exchange2019-cu14-f5")],
        tmp_path / "d.db",
    )
    assert proc.returncode == 0
    assert run(["check", "a.example.com", "--fail-on", "bogus"], tmp_path / "d.db").returncode == 2
    both = run(["check", "a.example.com", "--json", "--csv"], tmp_path / "d.db")
    assert both.returncode == 2 and "choose one" in both.stderr


def test_bad_lines_are_skipped_named_and_counted(sim: ExchangeSimulator, tmp_path: Path) -> None:
    listing = tmp_path / "hosts.txt"
    listing.write_text(f"{target(sim, 'exchange-se-current')}\n# comment\nnot a host!\n{target(sim, 'not-exchange')}\n")
    proc = run(
        ["check", "-f", str(listing), "--allow-private", *pins("exchange-se-current", "not-exchange")],
        tmp_path / "e.db",
    )
    assert proc.returncode == 0, proc.stderr
    assert f"{listing}:3: " in proc.stderr and "not a host!" in proc.stderr
    assert "1 line skipped" in proc.stderr and "2 checked" in proc.stderr
    assert len(proc.stdout.strip().splitlines()) == 2
    only_bad = tmp_path / "bad.txt"
    only_bad.write_text("not a host!\nalso bad!!\n")
    bad = run(["check", "-f", str(only_bad)], tmp_path / "e.db")
    assert bad.returncode == 2 and f"{only_bad}:1: " in bad.stderr and f"{only_bad}:2: " in bad.stderr


def test_progress_is_not_written_when_stderr_is_not_a_terminal(sim: ExchangeSimulator, tmp_path: Path) -> None:
    names = ("exchange-se-current", "not-exchange")
    proc = run(["check", *(target(sim, n) for n in names), "--allow-private", *pins(*names)], tmp_path / "p.db")
    assert "checked 1/2" not in proc.stderr and "\r" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("2 checked: ")


@pytest.mark.parametrize(("signum", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_signal_mid_batch_writes_what_completed_and_says_how_many(
    sim: ExchangeSimulator, tmp_path: Path, signum: int, code: int
) -> None:
    db = tmp_path / "s.db"
    names = [*HANGING, *FAST]
    proc = subprocess.Popen(
        [
            *exchbot(),
            "check",
            *(target(sim, n) for n in names),
            "--jsonl",
            "--allow-private",
            "--timeout",
            "90",
            "--concurrency",
            "9",
            *pins(*names),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env_for(db),
    )
    assert proc.stdout is not None
    got = [proc.stdout.readline() for _ in FAST]  # the fast hosts' lines arrive through a pipe at once
    assert all(json.loads(line)["target"] for line in got)
    proc.send_signal(signum)
    # the hanging hosts would take 90 s: finishing well before that means they were abandoned
    rest, err = proc.communicate(timeout=30)
    assert proc.returncode == code, err
    assert "Traceback" not in err and "Aborted" not in err
    printed = len(got) + len(rest.splitlines())
    assert f"interrupted: {printed} of {len(names)} checked and stored" in err
    assert stored_checks(db) == printed == len(FAST)


def test_no_store_and_guard_refusals_are_not_stored(sim: ExchangeSimulator, tmp_path: Path) -> None:
    db = tmp_path / "n.db"
    proc = run(
        ["check", target(sim, "exchange-se-current"), "--allow-private", "--no-store", *pins("exchange-se-current")], db
    )
    assert proc.returncode == 0 and "15.2.2562.53" in proc.stdout
    refused = run(["check", f"127.0.0.1:{sim.port}", "--json"], db)
    assert refused.returncode == 1 and json.loads(refused.stdout)["error"].startswith("refused")
    assert stored_checks(db) == 0


def test_refusals_are_absent_from_changes_digest_and_watch_views(sim: ExchangeSimulator, tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    host = f"127.0.0.1:{sim.port}"
    assert run(["watch", "add", host], db).returncode == 0
    assert run(["check", host, "--allow-private"], db).returncode == 0
    refused = run(["check", host], db)  # the guard refuses loopback without --allow-private
    assert refused.returncode == 1 and "refused" in refused.stdout
    changes = json.loads(run(["changes", "--json", "--since", "1d"], db).stdout)
    assert [c["kind"] for c in changes["hosts"]] == ["first_seen"]
    assert not any("refused" in (c["summary"] or "") for c in changes["hosts"])
    digest = json.loads(run(["digest", "--json"], db).stdout)
    assert digest["unreachable"] == [] and digest["reachable_again"] == [] and digest["flapped"] == []
    (row,) = json.loads(run(["watch", "list", "--json"], db).stdout)
    assert row["reachable"] is True and row["build"] == "15.2.2562.53" and row["latest"]["error"] is None
    assert len(json.loads(run(["history", host, "--json"], db).stdout)) == 1
