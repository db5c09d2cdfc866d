"""Watchlist commands for many hosts, watch list verdicts, watch run changes and formats, the
digest's flapped / long-unreachable / never-reachable parts, prune --dry-run, and the pure pieces
of batch output (CSV cells, progress line, --fail-on and the summary)."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import io
import json
from pathlib import Path

from bot.cli.batch_output import CsvSink, JsonArraySink, Progress
from bot.clock import FixedClock
from bot.core.batch import exit_code, matches, summarise
from bot.core.catalog import Catalog
from bot.core.counts import vulnerable_counts
from bot.render.csv_out import HEADER, row, split_key
from bot.render.digest import digest_message, digest_text
from bot.render.json_out import digest_dict
from bot.services import digest as digest_service
from bot.store import Store
from bot.store import checks as stored
from bot.store.connection import open_database
from bot.store.migrations import migrate
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.helpers import result
from tests.test_cli_batch import pins, run, target
from tests.test_cli_batch import sim as sim  # the simulator fixture

DAY = dt.datetime(2026, 11, 29, 9, 0, tzinfo=dt.UTC)
HOUR = dt.timedelta(hours=1)


# -- watch add / remove / list / run through the console script ----------------------------------


def test_watch_add_several_targets_and_from_a_file(tmp_path: Path) -> None:
    db = tmp_path / "w.db"
    proc = run(["watch", "add", "a.example.com", "b.example.com:8443", "https://c.example.com/owa"], db)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines() == [
        "watching a.example.com",
        "watching b.example.com:8443",
        "watching c.example.com",
    ]
    listing = tmp_path / "more.txt"
    listing.write_text("d.example.com\nnot valid!\na.example.com  # already there\n")
    more = run(["watch", "add", "-f", str(listing)], db)
    assert more.returncode == 0
    assert "watching d.example.com" in more.stdout and "a.example.com was already watched" in more.stdout
    assert f"{listing}:2: " in more.stderr
    rows = json.loads(run(["watch", "list", "--json"], db).stdout)
    assert isinstance(rows, list) and len(rows) == 4
    assert {r["host"] for r in rows} == {"a.example.com", "b.example.com:8443", "c.example.com", "d.example.com"}
    assert all(r["latest"] is None and r["last_checked"] is None for r in rows)
    removed = run(["watch", "remove", "a.example.com", "d.example.com"], db)
    assert removed.returncode == 0 and removed.stdout.count("stopped watching") == 2
    missing = run(["watch", "remove", "b.example.com:8443", "zzz.example.com"], db)
    assert missing.returncode == 1 and "zzz.example.com was not watched" in missing.stderr
    assert [r["host"] for r in json.loads(run(["watch", "list", "--json"], db).stdout)] == ["c.example.com"]


def test_watch_list_verdicts_at_risk_first_and_watch_run_changes(sim: ExchangeSimulator, tmp_path: Path) -> None:
    db = tmp_path / "v.db"
    names = ("exchange-se-current", "exchange2019-cu14-f5")
    env = {
        "EXCHBOT_ALLOW_PRIVATE": "1",
        "EXCHBOT_RESOLVE": ",".join(p for p in pins(*names, "slow3") if p != "--resolve"),
    }
    assert run(["watch", "add", *(target(sim, n) for n in names), target(sim, "slow3")], db).returncode == 0
    first = run(["watch", "run", "--csv"], db, EXCHBOT_TIMEOUT="1.5", **env)
    assert first.returncode == 1  # slow3 could not be checked
    rows = list(csv.DictReader(io.StringIO(first.stdout)))
    assert len(rows) == 3 and {r["target"] for r in rows} == {target(sim, n) for n in (*names, "slow3")}
    assert "3 checked: " in first.stderr
    second = run(["watch", "run"], db, EXCHBOT_TIMEOUT="1.5", **env)
    assert "nothing changed since the previous run" in second.stdout
    listed = json.loads(run(["watch", "list", "--json"], db).stdout)
    assert listed[0]["host"] == f"exchange2019-cu14-f5.sim.test:{sim.port}"  # end-of-life: at risk, first
    f5 = listed[0]
    assert f5["at_risk"] is True and f5["eol"] is True and f5["vulnerable_count"] >= f5["kev_count"] >= 0
    doc = json.loads(run(["check", target(sim, names[1]), "--json", "--no-store"], db, **env).stdout)
    assert f5["vulnerable_count"] == sum(1 for c in doc["cves"] if c["status"] == "vulnerable")
    slow = next(r for r in listed if r["host"].startswith("slow3"))
    assert slow["never_reachable"] is True and slow["unreachable_since"].endswith("Z")
    text = run(["watch", "list"], db).stdout.splitlines()
    assert text[0] == f"3 watched, {sum(r['at_risk'] for r in listed)} at risk"
    assert "exchange2019-cu14-f5" in text[1] and "CVEs (" in text[1] and "last checked" in text[1]
    fail = run(["watch", "run", "--jsonl", "--fail-on", "eol"], db, EXCHBOT_TIMEOUT="1.5", **env)
    assert fail.returncode == 3 and len(fail.stdout.splitlines()) == 3


def test_watch_run_on_an_empty_watchlist(tmp_path: Path) -> None:
    proc = run(["watch", "run", "--json"], tmp_path / "e.db")
    assert proc.returncode == 0 and json.loads(proc.stdout) == []


def test_prune_dry_run_deletes_nothing(tmp_path: Path, catalog: Catalog) -> None:
    db = tmp_path / "p.db"
    store = Store(db)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=200)
    for i in range(4):
        store.save_checks([result(catalog, "same.example.com", old + i * HOUR, "15.2.2562.53")])
    store.save_checks([result(catalog, "same.example.com", dt.datetime.now(dt.UTC), "15.2.2562.53")])
    store.close()
    dry = run(["prune", "--dry-run"], db)
    assert dry.returncode == 0 and dry.stdout.startswith("would delete 3 checks")
    assert len(json.loads(run(["history", "same.example.com", "--json"], db).stdout)) == 5
    real = run(["prune"], db)
    assert real.stdout.startswith("deleted 3 checks")
    assert len(json.loads(run(["history", "same.example.com", "--json"], db).stdout)) == 2


def test_unreachable_days_setting_is_validated_at_start_up(tmp_path: Path) -> None:
    proc = run(["watch", "list"], tmp_path / "s.db", EXCHBOT_UNREACHABLE_DAYS="three")
    assert proc.returncode == 2 and "EXCHBOT_UNREACHABLE_DAYS" in proc.stderr


def test_every_command_has_examples_in_its_help(tmp_path: Path) -> None:
    for cmd in (
        ["check"],
        ["watch"],
        ["watch", "add"],
        ["watch", "remove"],
        ["watch", "list"],
        ["watch", "run"],
        ["prune"],
    ):
        proc = run([*cmd, "--help"], tmp_path / "h.db")
        assert proc.returncode == 0 and "Examples:" in proc.stdout, cmd


# -- the digest -----------------------------------------------------------------------------------


def _digest_store(tmp_path: Path, catalog: Catalog) -> Store:
    store = Store(tmp_path / "d.db")
    for host in ("flap.example.com", "gone.example.com", "never.example.com", "fine.example.com", "brief.example.com"):
        store.watch_add(host, host, DAY - 20 * 24 * HOUR)
    checks = [
        ("flap.example.com", DAY - 30 * HOUR, "15.2.2562.53"),
        ("flap.example.com", DAY - 10 * HOUR, None),
        ("flap.example.com", DAY - 2 * HOUR, "15.2.2562.53"),
        ("gone.example.com", DAY - 6 * 24 * HOUR, "15.2.2562.53"),
        ("gone.example.com", DAY - 5 * 24 * HOUR, None),
        ("gone.example.com", DAY - 1 * HOUR, None),
        ("never.example.com", DAY - 4 * 24 * HOUR, None),
        ("never.example.com", DAY - 1 * HOUR, None),
        ("fine.example.com", DAY - 1 * HOUR, "15.1.2507.72"),
        ("brief.example.com", DAY - 30 * HOUR, "15.2.2562.53"),
        ("brief.example.com", DAY - 3 * HOUR, None),
    ]
    for host, at, build in checks:
        store.save_checks([result(catalog, host, at, build)])
    return store


def test_digest_flapped_once_long_unreachable_and_never_reachable(tmp_path: Path, catalog: Catalog) -> None:
    store = _digest_store(tmp_path, catalog)
    d = digest_service.compose(store, catalog, FixedClock(DAY), (), unreachable_days=3)
    assert [c.host for c in d.flapped] == ["flap.example.com"]
    assert all(c.host != "flap.example.com" for c in d.unreachable + d.reachable_again)
    assert [c.host for c in d.unreachable] == ["brief.example.com"]  # down 3 hours: not yet "long"
    assert {u.host for u in d.long_unreachable} == {"gone.example.com", "never.example.com"}
    gone = next(u for u in d.long_unreachable if u.host == "gone.example.com")
    assert gone.since == DAY - 5 * 24 * HOUR and not gone.never_reachable
    assert d.never_reachable == 1
    text = digest_text(d)
    changes, at_risk = text.split("Still at risk")  # its Exchange SE build lacks later updates: at risk too
    assert changes.count("flap.example.com") == 1 and "flap.example.com" in at_risk
    assert "Unreachable for 3 days or more (2):" in text and "1 never reachable" in text
    doc = digest_dict(d)
    assert [c["host"] for c in doc["flapped"]] == ["flap.example.com"] and doc["never_reachable"] == 1
    assert "flap.example.com" in json.dumps(digest_message(d)["blocks"])
    longer = digest_service.compose(store, catalog, FixedClock(DAY), (), unreachable_days=5)
    assert {u.host for u in longer.long_unreachable} == {"gone.example.com"}
    store.close()


# -- pure pieces ----------------------------------------------------------------------------------


def test_csv_cells_cannot_become_spreadsheet_formulas(catalog: Catalog) -> None:
    r = result(catalog, "h.example.com", DAY, None, error='=HYPERLINK("http://x")')
    r = dataclasses.replace(r, warnings=("+1 warning", "@SUM(A1)"))
    cells = dict(zip(HEADER, row(r), strict=True))
    assert cells["error"].startswith("'=") and cells["warnings"].startswith("'+")
    out = io.StringIO()
    sink = CsvSink(out)
    sink.result(0, r)
    parsed = list(csv.reader(io.StringIO(out.getvalue())))
    assert parsed[0] == list(HEADER) and parsed[1][HEADER.index("error")] == cells["error"]


def test_split_key() -> None:
    assert split_key("mail.example.com") == ("mail.example.com", 443)
    assert split_key("mail.example.com:8443") == ("mail.example.com", 8443)
    assert split_key("[2001:db8::1]:444") == ("2001:db8::1", 444)
    assert split_key("[2001:db8::1]") == ("2001:db8::1", 443)


class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_only_on_a_terminal_and_cleared_before_results() -> None:
    tty = _Tty()
    p = Progress(10, tty)
    p(3, 10)
    assert tty.getvalue().endswith("checked 3/10")
    p.clear()
    assert tty.getvalue().endswith("\r\x1b[K") and not p.shown
    pipe = io.StringIO()
    q = Progress(10, pipe)
    q(3, 10)
    q.clear()
    assert pipe.getvalue() == ""
    assert not Progress(1, _Tty()).enabled


def test_json_array_in_input_order_and_completed_rest_on_interruption(catalog: Catalog) -> None:
    rs = [result(catalog, f"h{i}.example.com", DAY, "15.2.2562.53") for i in range(3)]
    out = io.StringIO()
    sink = JsonArraySink(out, single=False)
    sink.result(2, rs[2])
    assert out.getvalue() == "["  # waiting for 0 and 1
    sink.result(0, rs[0])
    sink.finish()  # interrupted before 1 completed: 0 and 2 are written, in order
    assert [d["target"] for d in json.loads(out.getvalue())] == ["h0.example.com", "h2.example.com"]


def test_fail_on_summary_and_exit_code(catalog: Catalog) -> None:
    eol = result(catalog, "old.example.com", DAY, "15.1.2507.72")
    down = result(catalog, "down.example.com", DAY, None)
    assert eol.assessment.eol is True
    assert matches(eol, ["eol"]) and matches(eol, ["at-risk"]) and not matches(eol, ["error"])
    assert matches(down, ["error"]) and not matches(down, ["at-risk"])
    assert matches(eol, ["vulnerable"]) == (
        vulnerable_counts(eol.assessment)[0] > 0 or any(s == "vulnerable" for s in eol.assessment.families.values())
    )
    s = summarise([eol, down], total=2, skipped=1, fail_on=["eol"])
    assert (s.checked, s.eol, s.not_checked, s.findings) == (2, 1, 1, 1)
    assert exit_code(s) == 3
    assert exit_code(summarise([eol, down], total=2)) == 1
    assert s.text().startswith("2 checked: ") and "1 end-of-life" in s.text() and "1 line skipped" in s.text()


def test_migration_forgets_refusals_stored_by_older_versions(tmp_path: Path, catalog: Catalog) -> None:
    path = tmp_path / "old.db"
    db = open_database(path)
    migrate(db, upto=6)
    host = "mail.example.com"
    ok = result(catalog, host, DAY - 2 * HOUR, "15.2.2562.53")
    refused = result(
        catalog, host, DAY - HOUR, None, error=f"refused: {host} resolves to 10.0.0.5 (private); use --allow-private"
    )
    down = result(catalog, host, DAY - 3 * HOUR, None, error="could not check: no answer within 10 s")
    # the rows as a version of schema 6 stored them (today's save_checks writes today's schema)
    db.execute(
        "INSERT INTO targets (host, target, first_seen) VALUES (?, ?, ?)", [host, host, stored.iso(down.checked_at)]
    )
    for r in (down, ok, refused):  # the refusal row itself too, as older versions stored it
        db.execute(
            "INSERT INTO checks (host, target, checked_at, reachable, build, error, result_json) "
            "VALUES (?, ?, ?, ?, ?, ?, '{}')",
            [host, host, stored.iso(r.checked_at), int(r.reachable), r.assessment.build, r.assessment.error or r.error],
        )
    db.conn.commit()
    migrate(db)
    rows = db.execute("SELECT error FROM checks ORDER BY checked_at").fetchall()
    assert [r[0] for r in rows] == ["could not check: no answer within 10 s", None]
    last = db.execute("SELECT last_check_id FROM targets WHERE host = ?", [host]).fetchone()[0]
    assert last == db.execute("SELECT id FROM checks WHERE error IS NULL").fetchone()[0]
    db.close()
