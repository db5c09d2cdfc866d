"""``exchbot build`` as a user runs it: a real subprocess, JSON on stdout only."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ASSESSMENT_KEYS = {
    "input",
    "build",
    "precision",
    "product",
    "cu",
    "update",
    "release_date",
    "eol",
    "families",
    "cves",
    "advice",
    "error",
}


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "bot", *args], capture_output=True, text=True, timeout=60, check=False)


def test_json_array_in_input_order() -> None:
    proc = run("build", "--json", "15.01.2375.037", "garbage", "15.2.2562.17", "15.1.2375")
    assert proc.returncode == 1  # one input was not a build
    out = json.loads(proc.stdout)
    assert [a["input"] for a in out] == ["15.01.2375.037", "garbage", "15.2.2562.17", "15.1.2375"]
    for a in out:
        assert set(a) >= ASSESSMENT_KEYS
    assert out[0]["build"] == "15.1.2375.37" and out[0]["families"]["ProxyNotShell"] == "patched"
    assert out[1]["error"] and out[1]["build"] is None
    assert out[2]["product"] == "Exchange SE" and out[2]["eol"] is False
    assert out[3]["precision"] == 3 and out[3]["update"] is None
    cve = out[0]["cves"][0]
    assert set(cve) >= {"id", "family", "status", "fixed_in", "kev"}


def test_all_valid_exits_zero_and_text_output() -> None:
    proc = run("build", "15.2.986.30", "14.3.513.0")
    assert proc.returncode == 0, proc.stderr
    assert "VULNERABLE" in proc.stdout and "Exchange 2010" in proc.stdout
    single = run("build", "15.2.986.30")
    assert "ProxyNotShell: VULNERABLE" in single.stdout
    assert "advice:" in single.stdout


def test_usage_error_without_arguments() -> None:
    proc = run("build")
    assert proc.returncode == 2
    assert "Usage" in proc.stderr


def test_hostile_input_is_data_not_a_crash() -> None:
    proc = run("build", "--json", "<!channel>", "x" * 5000, "15.1.2375.37\n; rm -rf /")
    out = json.loads(proc.stdout)
    assert len(out) == 3 and all(a["error"] for a in out)
    assert "Traceback" not in proc.stderr


def test_cves_that_cannot_be_told_are_named_in_the_text() -> None:
    """Silence must never read as "patched": every CVE judged neither vulnerable nor patched (and
    not merely configuration-dependent) is named in the detailed text answer."""
    for build in ("15.1.2375", "15.1.2507.6"):  # a CU without its update level; an older SU
        doc = json.loads(run("build", "--json", build).stdout)[0]
        unknown = [c["id"] for c in doc["cves"] if c["status"] == "unknown" and not c.get("config_dependent")]
        text = run("build", build).stdout
        if unknown:
            line = next(x for x in text.splitlines() if x.strip().startswith("cannot tell:"))
            assert f"{len(unknown)} CVE" in line and unknown[0] in line
        else:
            assert not any(x.strip().startswith("cannot tell:") for x in text.splitlines())


UNPUBLISHED = "15.2.2562.60"  # 3 above Exchange SE RTM Nov26SU (15.2.2562.57): a file version Microsoft never published


def test_an_unpublished_build_is_named_after_its_nearest_as_the_nearest() -> None:
    """A build within a few of a published one is named after it, and every view that names its
    update marks the name as the nearest published build's (``~Nov26SU``); an exact build is not
    marked; the JSON keeps the name and says so in ``update_nearest`` (its notes say why)."""
    table = run("build", UNPUBLISHED, "15.2.2562.57")
    rows = table.stdout.splitlines()
    assert rows[2].split()[:5] == [UNPUBLISHED, "Exchange", "SE", "RTM", "~Nov26SU"]
    assert rows[3].split()[:5] == ["15.2.2562.57", "Exchange", "SE", "RTM", "Nov26SU"]
    assert "~ marks the nearest published build's update" in table.stdout
    exact = run("build", "15.2.2562.57", "15.2.2562.53")
    assert "~" not in exact.stdout
    details = run("build", UNPUBLISHED).stdout
    assert "product:   Exchange SE RTM ~Nov26SU, released 2026-11-10 (~: the nearest published build)" in details
    assert f"note: {UNPUBLISHED} is not a published build" in details
    nearest, published = json.loads(run("build", "--json", UNPUBLISHED, "15.2.2562.57").stdout)
    assert nearest["update"] == "Nov26SU" and any("not a published build" in n for n in nearest["notes"])
    assert nearest["update_nearest"] is True and published["update_nearest"] is False


def test_the_slack_card_and_check_line_mark_the_nearest_update() -> None:
    import dataclasses

    from bot.core.assess import assess_build
    from bot.core.buildnum import Build
    from bot.knowledge import load_catalog
    from bot.render import check_card, text
    from tests.helpers import T0, result

    catalog = load_catalog()
    r = result(catalog, "mail.example.com", T0, UNPUBLISHED)
    assert r.assessment.update_nearest and r.assessment.update == "Nov26SU"
    assert "Exchange SE RTM ~Nov26SU" in text.check_line(r)
    card = json.dumps(check_card.check_card(r))
    assert "Nov26SU (nearest published build)" in card and "Exchange SE RTM Nov26SU (nearest)" in card
    assert "~" not in card  # mrkdwn would strike it through
    published = dataclasses.replace(r, assessment=assess_build(Build.of("15.2.2562.57"), catalog, T0.date()))
    assert not published.assessment.update_nearest
    assert "nearest" not in json.dumps(check_card.check_card(published)) and "~" not in text.check_line(published)
    far = assess_build(Build.of("15.2.2562.70"), catalog, T0.date())  # well above: a later update?
    assert far.update is None and not far.update_nearest


def test_stored_checks_of_an_unpublished_build_name_its_update_as_the_nearest(tmp_path: Path) -> None:
    """History, the watch list, the digest and the Slack views name a stored check by its label:
    it says "nearest Nov26SU" in words (``~`` would strike text through in Slack), and a check
    stored before the result said so (no ``update_nearest`` in its JSON) keeps its plain name."""
    import sqlite3

    from bot.knowledge import load_catalog
    from bot.render import json_out
    from bot.render.watch_cards import point_verdict
    from bot.store import Store
    from tests.helpers import T0, result

    catalog = load_catalog()
    db = tmp_path / "n.db"
    with Store(db) as store:
        store.save_checks(
            [
                result(catalog, "near.example.com", T0, UNPUBLISHED),
                result(catalog, "exact.example.com", T0, "15.2.2562.57"),
            ],
            knowledge_version=catalog.version,
        )
        (near,) = store.history("near.example.com")
        (exact,) = store.history("exact.example.com")
    assert near.update_nearest and near.update == "Nov26SU"
    assert near.label() == f"{UNPUBLISHED} (Exchange SE RTM, nearest Nov26SU)"
    assert exact.label() == "15.2.2562.57 (Exchange SE RTM Nov26SU)" and not exact.update_nearest
    assert "nearest Nov26SU" in point_verdict(near) and "~" not in point_verdict(near)
    assert json_out.point_dict(near)["update_nearest"] is True
    env = {**os.environ, "EXCHBOT_DB": str(db)}
    hist = subprocess.run(
        [sys.executable, "-m", "bot", "history", "near.example.com"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )
    assert f"{UNPUBLISHED} (Exchange SE RTM, nearest Nov26SU)" in hist.stdout, hist.stdout + hist.stderr
    # a row written before results carried update_nearest: named as it always was
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE checks SET result_json = json_remove(result_json, '$.update_nearest')")
    with Store(db) as store:
        (old,) = store.history("near.example.com")
    assert not old.update_nearest and old.label() == f"{UNPUBLISHED} (Exchange SE RTM Nov26SU)"
