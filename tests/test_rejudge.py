"""A database written under older knowledge, opened under newer: the re-judged hosts are reported
in `exchbot changes` and the digest, once per check and knowledge version."""

from __future__ import annotations

import csv
import datetime as dt
import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from bot.cli import common, main
from bot.clock import FixedClock
from bot.core.catalog import Catalog
from bot.knowledge import knowledge_dir, load_catalog
from bot.render.digest import digest_text
from bot.render.json_out import digest_dict
from bot.services import digest as digest_service
from bot.services.rejudge import rejudge_stored
from bot.store import Store
from tests.helpers import result

HOST = "mail.contoso.com"


def _victim(catalog: Catalog) -> tuple[str, str]:
    """The newest CVE fixed on some Exchange SE line, and a build of that line below the fix."""
    for cve in sorted(catalog.cves, key=lambda c: c.published, reverse=True):
        for f in catalog.fixes_for(cve.id):
            if f.product == "Exchange SE" and f.status == "fixed" and f.fixed_in is not None:
                line = catalog.line_by_name(f.product, f.cu)
                if line is not None and line.base.build < f.fixed_in and not cve.config_dependent:
                    return cve.id, str(line.base.build)
    raise AssertionError("no CVE fixed on an Exchange SE line")


def _newest_se(catalog: Catalog) -> str:
    return str(max(r.build for r in catalog.releases if r.product == "Exchange SE"))


def _older_knowledge(tmp_path: Path, cve_id: str) -> Path:
    old = tmp_path / "old-knowledge"
    shutil.copytree(knowledge_dir(), old, ignore=shutil.ignore_patterns("tools"))
    for name in ("cves.csv", "cve_fixes.csv"):
        with open(old / name, encoding="utf-8", newline="") as fh:
            rows = list(csv.reader(fh))
        with open(old / name, "w", encoding="utf-8", newline="") as fh:
            csv.writer(fh, lineterminator="\n").writerows(r for r in rows if r[0] != cve_id)
    return old


def test_older_database_reports_rejudged_hosts_in_changes_and_digest(
    tmp_path: Path, catalog: Catalog, monkeypatch: pytest.MonkeyPatch
) -> None:
    cve_id, build = _victim(catalog)
    old_dir = _older_knowledge(tmp_path, cve_id)
    monkeypatch.setenv("EXCHBOT_KNOWLEDGE_DIR", str(old_dir))
    old = load_catalog()
    assert old.version != catalog.version and all(c.id != cve_id for c in old.cves)
    now = dt.datetime.combine(catalog.data_date + dt.timedelta(days=3), dt.time(9), tzinfo=dt.UTC)
    db = tmp_path / "h.db"
    store = Store(db)
    store.save_checks([result(old, HOST, now - dt.timedelta(hours=5), build)], knowledge_version=old.version)
    store.save_checks([result(old, "quiet.example.org", now - dt.timedelta(hours=5), _newest_se(catalog))])
    store.watch_add(HOST, HOST, now - dt.timedelta(days=2))
    store.close()

    # Opened under the newer (packaged) knowledge.
    monkeypatch.delenv("EXCHBOT_KNOWLEDGE_DIR")
    monkeypatch.setenv("EXCHBOT_DB", str(db))
    monkeypatch.setattr(common, "clock", lambda: FixedClock(now))
    runner = CliRunner()
    out = json.loads(runner.invoke(main, ["changes", "--json", "--since", "1d"]).output)
    [rj] = [r for r in out["rejudged"] if r["host"] == HOST]
    assert rj["build"] == build and rj["knowledge_date"] == catalog.data_date.isoformat()
    assert {"id": cve_id, "kind": "newly_vulnerable"}.items() <= next(
        c for c in rj["cves"] if c["id"] == cve_id
    ).items()
    assert f"newly vulnerable to {cve_id} (published" in rj["summary"] and "install" in rj["summary"]
    assert all(c["kind"] != "newly_vulnerable" for c in out["hosts"])  # kept apart from wire changes
    assert not any(r["host"] == "quiet.example.org" for r in out["rejudged"])  # patched: not reported
    text_out = runner.invoke(main, ["changes", "--since", "1d"]).output
    assert f"{HOST}: newly vulnerable to {cve_id}" in text_out and "Re-judged" in text_out

    store = Store(db)
    d = digest_service.compose(store, catalog, FixedClock(now), ())
    assert [r.host for r in d.rejudged] == [HOST] and not d.all_quiet
    assert cve_id in digest_text(d) and digest_dict(d)["rejudged"][0]["newly_vulnerable"] == [cve_id]
    # Judged once per check and knowledge version: nothing is pending any more.
    assert rejudge_stored(store, catalog, now) == []
    # A new check under the current knowledge supersedes the re-judgement.
    store.save_checks([result(catalog, HOST, now, build)], knowledge_version=catalog.version)
    assert store.pending_rejudgements(catalog.version) == []
    store.close()
