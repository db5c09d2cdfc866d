"""CVE and KEV counts travel with every answer: JSON, the build table, one-line checks, history, watch list."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

from bot.core.catalog import Catalog
from bot.core.counts import counts_text, glance_text, kev_first, kev_ids, undetermined_counts, vulnerable_counts
from bot.core.digest import Digest
from bot.core.watch import WatchState, watch_state
from bot.render import check_card, json_out, text
from bot.store import Store
from tests.helpers import T0, result

OLD = "15.2.1748.36"  # Exchange 2019 CU13 (as in the issue): vulnerable to later CVEs, some known exploited


def test_vulnerable_counts_and_kev_ids(catalog: Catalog) -> None:
    a = result(catalog, "h", T0, OLD).assessment
    vulnerable = [v for v in a.cves if v.status == "vulnerable"]
    kev = [v.id for v in vulnerable if v.kev]
    assert vulnerable_counts(a) == (len(vulnerable), len(kev)) and kev
    assert kev_ids(a) == kev
    ordered = kev_first(a.cves)
    assert [v.id for v in ordered[: len(kev)]] == kev
    assert sorted(v.id for v in ordered) == sorted(v.id for v in a.cves)
    assert counts_text(35, 1) == "35 CVEs (1 KEV)" and counts_text(1, 0) == "1 CVE (0 KEV)"
    assert counts_text(0, 0) == "no vulnerable CVEs" and counts_text(None, None) == ""
    assert counts_text(3, None) == "3 CVEs"  # KEV count unknown (unreadable stored verdicts): not "0 KEV"


def test_json_has_vulnerable_count_and_kev_first(catalog: Catalog) -> None:
    r = result(catalog, "h", T0, OLD)
    doc = json_out.check_dict(r)
    vulnerable = [c for c in doc["cves"] if c["status"] == "vulnerable"]
    assert doc["vulnerable_count"] == len(vulnerable)
    assert doc["kev"] == [c["id"] for c in vulnerable if c["kev"]] and doc["kev"]
    assert [c["id"] for c in doc["cves"][: len(doc["kev"])]] == doc["kev"]  # KEV first


def test_build_table_and_check_line_show_the_count(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com", T0, OLD)
    n, k = vulnerable_counts(r.assessment)
    table = text.build_table([r.assessment])
    assert "vulnerable" in table.splitlines()[0] and f"{n} CVEs ({k} KEV)" in table.splitlines()[2]
    assert f"; {n} CVEs ({k} KEV); " in text.check_line(r)
    details = text.assessment_details(r.assessment)
    assert "[KEV]" in details and f"known exploited (CISA KEV): {', '.join(kev_ids(r.assessment))}" in details


EXCHANGE_2013 = "15.0.1497.48"  # 2013 CU23 Mar23SU, its last update: later CVEs were never assessed for it


def test_one_line_views_say_how_many_cves_cannot_be_told(catalog: Catalog) -> None:
    """A bare "no vulnerable CVEs" reads as all clear; for a product whose updates ended, the CVEs
    published since are "cannot tell", and the one-line views say how many (and how many are KEV)."""
    r = result(catalog, "old.example.com", T0, EXCHANGE_2013)
    a = r.assessment
    unsure = [v for v in a.cves if v.status == "unknown" and not v.config_dependent]
    unsure_kev = [v for v in unsure if v.kev]
    assert vulnerable_counts(a)[0] == 0 and unsure and unsure_kev
    assert undetermined_counts(a.cves) == (len(unsure), len(unsure_kev))
    said = f"no vulnerable CVEs, {len(unsure)} cannot tell ({len(unsure_kev)} KEV)"
    assert glance_text(a) == said
    assert said in text.build_table([a]).splitlines()[2]
    assert f"; {said}; " in text.check_line(r)
    card = check_card.check_card(r)
    fields = [f["text"] for b in card["blocks"] for f in b.get("fields", [])]
    assert f"*Vulnerable*\n{said}" in fields
    assert card["text"].endswith(f"; {len(unsure)} cannot tell ({len(unsure_kev)} KEV)")  # the fallback line
    # config-dependent CVEs are not counted: they are told ("depends on configuration")
    assert all(not v.config_dependent for v in unsure)
    assert any(v.status == "unknown" and v.config_dependent for v in a.cves)
    # every CVE's verdict known: nothing added
    current = result(catalog, "new.example.com", T0, "15.2.2562.57").assessment
    assert undetermined_counts(current.cves) == (0, 0) and glance_text(current) == "no vulnerable CVEs"


def test_one_failure_prefix_in_text(catalog: Catalog) -> None:
    r = result(catalog, "h", T0, None, error="could not check: could not check: no answer within 10 s")
    assert text.check_line(r) == "h: could not check: no answer within 10 s"
    refused = result(catalog, "10.0.0.5", T0, None, error="refused: 10.0.0.5 is not a public address (private)")
    assert "--allow-private" in text.check_line(refused)  # the CLI hint in the CLI


def test_stored_points_carry_counts(catalog: Catalog, tmp_path: Path) -> None:
    store = Store(tmp_path / "h.db")
    try:
        r = result(catalog, "mail.example.com:8443", T0, OLD)
        store.save_checks([r], knowledge_version=catalog.version)
        (p,) = store.history("mail.example.com:8443")
        assert (p.vulnerable_count, p.kev_count) == vulnerable_counts(r.assessment)
        assert f"{p.vulnerable_count} CVEs ({p.kev_count} KEV)" in text.point_state(p)
        assert store.similar_hosts("mail.example.com") == ["mail.example.com:8443"]
        assert store.similar_hosts("mail%example.com") == []
    finally:
        store.close()


def run(args: list[str], db: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "EXCHBOT_DB": str(db)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=120, env=env, check=False
    )


def test_cli_build_json_and_history_hint(catalog: Catalog, tmp_path: Path) -> None:
    proc = run(["build", "--json", OLD], tmp_path / "a.db")
    (doc,) = json.loads(proc.stdout)
    assert doc["vulnerable_count"] > 0 and doc["kev"] and doc["cves"][0]["id"] == doc["kev"][0]
    store = Store(tmp_path / "a.db")
    try:
        store.save_checks([result(catalog, "mail.example.com:43753", T0, OLD)], knowledge_version=catalog.version)
    finally:
        store.close()
    hist = run(["history", "mail.example.com"], tmp_path / "a.db")
    assert "no checks of mail.example.com" in hist.stdout
    assert "exchbot history mail.example.com:43753" in hist.stdout
    with_port = run(["history", "mail.example.com:43753"], tmp_path / "a.db")
    assert f"{doc['vulnerable_count']} CVEs ({len(doc['kev'])} KEV)" in with_port.stdout


def quiet_digest(w: WatchState) -> Digest:
    """A digest of one watched host and no changes."""
    empty = ((), (), (), (), (), ())
    return Digest(T0.date(), T0 - dt.timedelta(days=1), T0, *empty, watch=(w,), regions=())


def test_digest_names_counts_and_says_failures_once() -> None:

    from bot.core.changes import CheckPoint
    from bot.render.digest import digest_message, digest_text

    fams = {"ProxyLogon": "patched", "ProxyShell": "patched", "ProxyToken": "patched", "ProxyNotShell": "vulnerable"}
    risky = CheckPoint("a.example", T0, "15.1.2375.17", "Exchange 2016", "CU22", "Nov21SU", True, fams, True, None)
    risky = dataclasses.replace(risky, vulnerable_count=87, kev_count=5)
    d = quiet_digest(watch_state("a.example", [risky]))
    assert "87 CVEs (5 KEV)" in digest_text(d)
    assert "87 CVEs (5 KEV)" in json.dumps(digest_message(d))


def test_watch_list_text_says_the_counts_as_every_view_does() -> None:
    """``watch list`` words its counts through the same function as the other views: one CVE is
    "1 CVE", none is "no vulnerable CVEs"."""
    from bot.core.changes import CheckPoint
    from bot.render.watch_text import verdict_text

    fams = {"ProxyLogon": "patched", "ProxyShell": "patched", "ProxyToken": "patched", "ProxyNotShell": "patched"}
    p = CheckPoint("a.example", T0, "15.2.2562.57", "Exchange SE", "RTM", "Nov26SU", False, fams, True, None)

    def said(counts: tuple[int, int]) -> str:
        q = dataclasses.replace(p, vulnerable_count=counts[0], kev_count=counts[1])
        return verdict_text(WatchState("a.example", T0, None, q, None, last_verdict=q))

    assert "; 1 CVE (0 KEV); " in said((1, 0))
    assert "; no vulnerable CVEs; " in said((0, 0))
    assert "; 12 CVEs (3 KEV); " in said((12, 3))
    assert "CVEs" not in verdict_text(WatchState("a.example", T0, None, p, None, last_verdict=p))  # not read


def test_stored_checks_say_how_many_cves_cannot_be_told(catalog: Catalog, tmp_path: Path) -> None:
    """History, the watch list, the watchlist card, the digest, the card's "last known" and a shared
    check say of a stored check what a fresh answer says: "no vulnerable CVEs" alone would read as
    all clear for Exchange 2013's last update, whose later CVEs Microsoft never assessed."""
    from bot.render.digest import digest_message, digest_text
    from bot.render.watch_cards import point_verdict
    from bot.services.watch import watch_list

    r = result(catalog, "old.example.com", T0, EXCHANGE_2013)
    n, kev = undetermined_counts(r.assessment.cves)
    assert n > 0 and kev > 0 and vulnerable_counts(r.assessment) == (0, 0)
    said = f"no vulnerable CVEs, {n} cannot tell ({kev} KEV)"
    path = tmp_path / "u.db"
    with Store(path) as store:
        store.save_checks([r], knowledge_version=catalog.version)
        store.watch_add("old.example.com", "old.example.com", T0, added_by="test")
        (p,) = store.history("old.example.com")
        assert (p.undetermined_count, p.undetermined_kev) == (n, kev)
        assert said in text.point_state(p)
        assert json_out.point_dict(p)["undetermined_count"] == n
        assert json_out.point_dict(p)["undetermined_kev_count"] == kev
        assert f"{n} cannot tell ({kev} KEV)" in point_verdict(p)  # the watchlist card
        rows, rejudged = watch_list(store, catalog, T0)
        (w,) = rows
        from bot.render.watch_text import verdict_text

        assert said in verdict_text(w)
        assert json_out.watch_dict(w, rejudged[w.host])["undetermined_count"] == n
        shared = json.dumps(check_card.shared_card("old.example.com", store.latest_result("old.example.com"), "U1"))
        assert said in shared
    d = quiet_digest(watch_state("old.example.com", [p]))
    assert f"end-of-life, {n} cannot tell ({kev} KEV)" in digest_text(d)
    assert f"{n} cannot tell ({kev} KEV)" in json.dumps(digest_message(d))
    hist = run(["history", "old.example.com"], path)
    assert said in hist.stdout, hist.stdout + hist.stderr
    (doc,) = json.loads(run(["history", "old.example.com", "--json"], path).stdout)
    assert (doc["undetermined_count"], doc["undetermined_kev_count"]) == (n, kev)


def test_fresh_json_and_csv_say_how_many_cves_cannot_be_told(catalog: Catalog, tmp_path: Path) -> None:
    """``build --json``, ``check --json`` and ``--csv`` carry the cannot-tell counts that history and
    the watch list carry for the same check: one number for one answer, wherever it is read."""
    from bot.render.csv_out import HEADER, row

    (doc,) = json.loads(run(["build", "--json", EXCHANGE_2013], tmp_path / "b.db").stdout)
    unsure = [c for c in doc["cves"] if c["status"] == "unknown" and not c["config_dependent"]]
    assert doc["vulnerable_count"] == 0 and unsure
    assert (doc["undetermined_count"], doc["undetermined_kev_count"]) == (len(unsure), sum(c["kev"] for c in unsure))
    r = result(catalog, "old.example.com", T0, EXCHANGE_2013)
    checked = json_out.check_dict(r)
    assert (checked["undetermined_count"], checked["undetermined_kev_count"]) == (
        len(unsure),
        sum(c["kev"] for c in unsure),
    )
    cells = dict(zip(HEADER, row(r), strict=True))
    assert (cells["undetermined_count"], cells["undetermined_kev_count"]) == (
        str(len(unsure)),
        str(sum(c["kev"] for c in unsure)),
    )
    with Store(tmp_path / "b.db") as store:
        store.save_checks([r], knowledge_version=catalog.version)
        (p,) = store.history("old.example.com")
    assert json_out.point_dict(p)["undetermined_count"] == checked["undetermined_count"]
    assert json_out.point_dict(p)["undetermined_kev_count"] == checked["undetermined_kev_count"]
    # nothing to count for a host that could not be checked: empty cells, as for the vulnerable count
    failed = result(catalog, "gone.example.com", T0, None, error="could not check: timed out")
    cells = dict(zip(HEADER, row(failed), strict=True))
    assert cells["undetermined_count"] == cells["vulnerable_count"] == ""


def test_stored_counts_of_zero_say_nothing_more(catalog: Catalog, tmp_path: Path) -> None:
    """A supported build (every CVE's verdict known) stores zero and says only its vulnerable count;
    Exchange 2016's last update says its cannot-tell CVEs without a KEV part when none is KEV."""
    se = result(catalog, "new.example.com", T0, "15.2.2562.53")  # Exchange SE Sep26SUv2
    esu = result(catalog, "esu.example.com", T0, "15.1.2507.77")  # Exchange 2016's last update
    with Store(tmp_path / "n.db") as store:
        store.save_checks([se, esu], knowledge_version=catalog.version)
        (p,) = store.history("new.example.com")
        (q,) = store.history("esu.example.com")
    n, _ = vulnerable_counts(se.assessment)
    assert (p.undetermined_count, p.undetermined_kev) == (0, 0) and n > 0
    assert text.point_state(p).endswith(f"; {n} CVEs (0 KEV)")
    u, kev = undetermined_counts(esu.assessment.cves)
    assert u > 0 and kev == 0 and (q.undetermined_count, q.undetermined_kev) == (u, 0)
    assert text.point_state(q).endswith(f"; no vulnerable CVEs, {u} cannot tell")


def test_migration_counts_the_verdict_sets_already_stored(catalog: Catalog, tmp_path: Path) -> None:
    """A database of schema 9 gets the counts of the verdict sets it holds, by the same rule as new
    checks; a set whose JSON cannot be read keeps them unknown (NULL: nothing is said)."""

    from bot.store.connection import open_database
    from bot.store.migrations import migrate

    a = result(catalog, "old.example.com", T0, EXCHANGE_2013).assessment
    config = next(v for v in a.cves if v.status == "unknown" and not v.config_dependent)
    cves = [*a.cves, dataclasses.replace(config, id="CVE-0000-0001", config_dependent=True)]  # not counted
    db = open_database(tmp_path / "old.db")
    assert migrate(db, upto=9) == 9
    db.execute(
        "INSERT INTO verdict_sets (build, knowledge_version, cves_json) VALUES (?, 'kv', ?), ('x', 'kv', '{broken')",
        [EXCHANGE_2013, json.dumps([json_out.cve_dict(v) for v in cves])],
    )
    db.conn.commit()
    migrate(db)
    rows = db.execute("SELECT build, undetermined_cves, undetermined_kev FROM verdict_sets ORDER BY id").fetchall()
    assert rows == [(EXCHANGE_2013, *undetermined_counts(a.cves)), ("x", None, None)]
    db.close()
