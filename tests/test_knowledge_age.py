"""Knowledge age in every answer form: warned 40 days after the data date, silent 10 days after;
warned from the first Patch Tuesday after the data date, however young the data is."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import common, main
from bot.clock import FixedClock
from bot.core.catalog import Catalog
from bot.core.digest import Digest
from bot.core.staleness import next_patch_tuesday, patch_tuesday, staleness, stamp_check
from bot.render import json_out, text
from bot.render.check_card import check_card
from bot.render.digest import digest_message, digest_text
from bot.render.json_out import digest_dict
from bot.render.watch_cards import home_view, watchlist_card
from bot.services import digest as digest_service
from bot.services.watch import states
from bot.store import Store
from tests.helpers import result

SE_BUILD = "15.2.2562.17"


def _run(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, **(env or {})},
    )


def _at(catalog: Catalog, days: int) -> dt.datetime:
    d = catalog.data_date + dt.timedelta(days=days)
    return dt.datetime(d.year, d.month, d.day, 9, 0, tzinfo=dt.UTC)


def _warned(text_: str, catalog: Catalog) -> bool:
    d = catalog.data_date.isoformat()
    return f"released since {d} are not known" in text_ and f"patched up to {d}" in text_


def _all_checks_db(tmp_path: Path, catalog: Catalog, at: dt.datetime) -> Store:
    store = Store(tmp_path / "h.db")
    store.save_checks([result(catalog, "mail.example.org", at - dt.timedelta(hours=2), SE_BUILD)])
    store.watch_add("mail.example.org", "mail.example.org", at - dt.timedelta(days=3))
    return store


@pytest.mark.parametrize(("days", "warned"), [(40, True), (10, False)])
def test_every_answer_form_carries_the_warning_only_when_stale(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch, days: int, warned: bool
) -> None:
    at = _at(catalog, days)
    assert staleness(catalog.data_date, at.date()).stale is warned

    # exchbot build: JSON (age, date, notes) and text
    proc = _run("build", "--json", "--today", f"{at.date()}", SE_BUILD)
    a = json.loads(proc.stdout)[0]
    assert a["knowledge_date"] == catalog.data_date.isoformat() and a["knowledge_age_days"] == days
    assert _warned(" ".join(a["notes"]), catalog) is warned
    assert _warned(_run("build", "--today", f"{at.date()}", SE_BUILD).stdout, catalog) is warned
    assert _warned(_run("build", "--today", f"{at.date()}", SE_BUILD, "15.1.2507.6").stdout, catalog) is warned

    # a check result (stamped as the prober stamps it): JSON warnings, CLI text, Slack card
    r = stamp_check(result(catalog, "mail.example.org", at, SE_BUILD), at.date(), 35)
    d = json_out.check_dict(r)
    assert d["knowledge_age_days"] == days and d["knowledge_date"] == catalog.data_date.isoformat()
    assert _warned(" ".join(d["warnings"]), catalog) is warned
    assert _warned(text.check_details(r), catalog) is warned
    assert _warned(json.dumps(check_card(r)), catalog) is warned

    # history / changes / watch list through the CLI, the clock moved
    store = _all_checks_db(tmp_path, catalog, at)
    store.close()
    monkeypatch.setenv("EXCHBOT_DB", str(tmp_path / "h.db"))
    monkeypatch.setattr(common, "clock", lambda: FixedClock(at))
    runner = CliRunner()
    for args in (["history", "mail.example.org"], ["changes"], ["watch", "list"], ["digest"]):
        out = runner.invoke(main, args)
        assert out.exit_code == 0, out.output
        assert _warned(out.output, catalog) is warned, args
    changes_json = json.loads(runner.invoke(main, ["changes", "--json"]).output)
    assert _warned(" ".join(changes_json["warnings"]), catalog) is warned

    # the digest (text, JSON, Block Kit) and the watch views
    store = Store(tmp_path / "h.db")
    dg: Digest = digest_service.compose(store, catalog, FixedClock(at), ())
    assert _warned(digest_text(dg), catalog) is warned
    assert _warned(json.dumps(digest_dict(dg)), catalog) is warned
    assert _warned(json.dumps(digest_message(dg)), catalog) is warned
    warning = staleness(catalog.data_date, at.date()).warning
    rows = states(store, catalog=catalog, now=at)
    store.close()
    assert _warned(json.dumps(watchlist_card(rows, warning=warning)), catalog) is warned
    assert _warned(json.dumps(home_view(rows, knowledge_date=catalog.data_date, warning=warning)), catalog) is warned


@pytest.mark.parametrize(
    ("year", "month", "day"),
    # release days as Microsoft's CVE records date them (datePublic), the 2016/2019 end of support,
    # and the two to come (second Tuesdays by the calendar)
    [
        (2026, 6, 9),
        (2026, 7, 14),
        (2026, 8, 11),
        (2026, 9, 8),
        (2026, 10, 13),
        (2025, 10, 14),
        (2026, 12, 8),
        (2027, 1, 12),
    ],
)
def test_patch_tuesday_is_the_second_tuesday(year: int, month: int, day: int) -> None:
    assert patch_tuesday(year, month) == dt.date(year, month, day)


def test_the_next_patch_tuesday_is_strictly_after_the_date() -> None:
    assert next_patch_tuesday(dt.date(2026, 11, 10)) == dt.date(2026, 12, 8)  # its own day's releases are known
    assert next_patch_tuesday(dt.date(2026, 11, 9)) == dt.date(2026, 11, 10)
    assert next_patch_tuesday(dt.date(2026, 12, 8)) == dt.date(2027, 1, 12)  # over the year's end
    assert next_patch_tuesday(dt.date(2026, 12, 31)) == dt.date(2027, 1, 12)
    # a knowledge file dated at the calendar's end (damaged) makes no answer fail
    late = staleness(dt.date(9999, 12, 20), dt.date(9999, 12, 30), max_age_days=999_999)
    assert late.warn_from == dt.date.max and not late.stale and late.warning is None


def test_answers_warn_from_the_next_patch_tuesday_however_young_the_data(catalog: Catalog) -> None:
    release = next_patch_tuesday(catalog.data_date)
    before, on = release - dt.timedelta(days=1), release
    assert (on - catalog.data_date).days <= 35  # sooner than the age rule, or the test shows nothing
    for day, warned in ((before, False), (on, True)):
        a = json.loads(_run("build", "--json", "--today", day.isoformat(), SE_BUILD).stdout)[0]
        notes = " ".join(a["notes"])
        assert _warned(notes, catalog) is warned, day
        assert (f"Patch Tuesday of {release.isoformat()}" in notes) is warned
    k = json.loads(_run("knowledge", "--json").stdout)
    assert k["patch_tuesday"] == release.isoformat() and k["warn_from"] <= release.isoformat()
    # a stricter age still warns sooner, without naming a release that has not come yet
    early = staleness(catalog.data_date, catalog.data_date + dt.timedelta(days=6), max_age_days=5)
    assert early.stale and early.warning and "Patch Tuesday" not in early.warning and "more than 5" in early.warning


def test_knowledge_json_date_is_the_answers_knowledge_date(catalog: Catalog) -> None:
    k = json.loads(_run("knowledge", "--json").stdout)
    b = json.loads(_run("build", "--json", SE_BUILD).stdout)[0]
    assert k["date"] == b["knowledge_date"] == catalog.data_date.isoformat()
    assert k["age_days"] == b["knowledge_age_days"]
    assert k["counts"]["builds"] == len(catalog.releases) and k["counts"]["cves"] == len(catalog.cves)
    assert k["counts"]["kev_entries"] == sum(1 for c in catalog.cves if c.kev)
    assert k["source"] == "packaged" and k["kev_catalog_date"] == b["kev_catalog_date"]
    newest = {n["product"]: n["build"] for n in k["newest_builds"]}
    assert newest["Exchange SE"] == str(max(r.build for r in catalog.releases if r.product == "Exchange SE"))
    assert any(s["id"] == "cisa-kev" and s["as_of"] for s in k["sources"])
    text_out = _run("knowledge").stdout
    assert catalog.data_date.isoformat() in text_out and "CISA KEV catalogue of" in text_out


def test_knowledge_dir_is_named_and_meta_csv_kev_date_wins(tmp_path: Path, catalog: Catalog) -> None:
    import shutil

    from bot.knowledge import knowledge_dir

    copy = tmp_path / "k"
    shutil.copytree(knowledge_dir(), copy, ignore=shutil.ignore_patterns("tools"))
    (copy / "meta.csv").write_text("key,value\nkev_catalog_date,2031-01-02\n", encoding="utf-8")
    k = json.loads(_run("knowledge", "--json", env={"EXCHBOT_KNOWLEDGE_DIR": str(copy)}).stdout)
    assert k["source"] == str(copy) and k["kev_catalog_date"] == "2031-01-02"


@pytest.mark.parametrize("value", ["-1", "abc", "3.5", "1e9"])
def test_invalid_max_age_is_a_usage_error_naming_it(value: str) -> None:
    proc = _run("knowledge", env={"EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS": value})
    assert proc.returncode == 2
    assert "EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS" in proc.stderr and value in proc.stderr and "0 to" in proc.stderr


def test_max_age_setting_moves_the_threshold(catalog: Catalog) -> None:
    day = (catalog.data_date + dt.timedelta(days=10)).isoformat()
    a = json.loads(
        _run("build", "--json", "--today", day, SE_BUILD, env={"EXCHBOT_KNOWLEDGE_MAX_AGE_DAYS": "5"}).stdout
    )
    assert _warned(" ".join(a[0]["notes"]), catalog)


def test_only_the_newest_build_is_up_to_date_and_names_the_date(catalog: Catalog) -> None:
    from bot.core.assess import assess

    se = [r for r in catalog.releases if r.product == "Exchange SE"]
    newest = max(se, key=lambda r: r.build)
    top = assess(str(newest.build), catalog, catalog.data_date)
    assert top.advice and top.advice.startswith("Up to date") and catalog.data_date.isoformat() in top.advice
    for r in se:
        if r.build != newest.build and r.build.precision == 4:
            below = assess(str(r.build), catalog, catalog.data_date)
            assert below.advice and below.advice.startswith("Install") and below.install == str(newest.build)


def test_a_build_above_the_newest_is_never_told_to_install_an_older_one(catalog: Catalog) -> None:
    """A build newer than every known one (a file version, or an update after the data date) is up
    to date as far as the knowledge goes: ``install`` is the build it runs, as for the newest build,
    not the newest known one below it (a downgrade, which re-judgements would also repeat)."""
    from bot.core.assess import assess
    from bot.core.rejudge import _install_name

    se = [r for r in catalog.releases if r.product == "Exchange SE"]
    newest = max(se, key=lambda r: r.build)
    for step in (1, 3, 20):  # nearest-named, and well above everything published
        above = ".".join(map(str, (*newest.build.prefix(3), newest.build.parts[3] + step)))
        a = assess(above, catalog, catalog.data_date)
        assert a.advice and a.advice.startswith("Up to date") and "newer than the newest" in a.advice
        assert a.install == above and _install_name(a, catalog) is None


def test_esu_end_turns_unlisted_not_affected_into_unknown_and_drops_esu_advice(catalog: Catalog) -> None:
    from bot.core.assess import assess
    from bot.core.catalog import Cve

    life = catalog.lifecycles["Exchange 2019"]
    assert life.esu_end is not None
    late = Cve(
        "CVE-2099-0001",
        "test",
        life.esu_end + dt.timedelta(days=1),
        None,
        False,
        None,
        None,
        False,
        "",
        ("Exchange SE",),
        "test",
        "",
    )
    late_catalog = dataclasses.replace(catalog, cves=(*catalog.cves, late))
    build = str(max(r.build for r in catalog.releases if r.product == "Exchange 2019"))
    after = life.esu_end + dt.timedelta(days=1)
    a = assess(build, late_catalog, after)
    v = next(x for x in a.cves if x.id == late.id)
    assert v.status == "unknown"
    assert a.advice and "ESU programme ended" in a.advice and "newest build is" not in a.advice
    during = assess(build, catalog, life.esu_end)
    assert during.advice and "paid ESU programme" in during.advice and "newest build is" in during.advice


def test_a_kev_flag_newer_than_the_catalogue_is_not_dated_by_the_catalogue(catalog: Catalog) -> None:
    # Some flags come from CISA's entries in the CVE records, added after the catalogue copy was
    # read: an answer must not say they are from that catalogue alone.
    assert catalog.kev_date is not None
    later = [c for c in catalog.cves if c.kev and c.kev_date_added and c.kev_date_added > catalog.kev_date]
    assert later, "the knowledge has a KEV flag newer than its catalogue copy (CVE-2026-42897)"
    proc = _run("build", "15.2.1748.36")  # 2019 CU15 Aug25SU: before the June 2026 fix of CVE-2026-42897
    assert f"{later[0].id} [KEV]" in proc.stdout, proc.stdout
    assert f"CISA KEV catalogue of {catalog.kev_date.isoformat()} + CVE records" in proc.stdout, proc.stdout
    assert "later additions from CISA's entries in the CVE records" in _run("knowledge").stdout
