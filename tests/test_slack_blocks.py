"""The Block Kit renderers (bot.render.blocks): escaping of everything untrusted, and Slack's limits.

Limits are checked with the fake Slack API's validator (tests.fakes.slack_api.block_errors), which
was written from Slack's documentation independently of the renderers.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from bot.core.catalog import Catalog
from bot.core.changes import CheckPoint, HostChange
from bot.core.exposure import BuildExposure, ExposureChanges, ExposureResult
from bot.core.model import CheckResult, Evidence
from bot.core.watch import WatchState
from bot.render import blocks, check_card, exposure_card, watch_cards
from bot.render.check_card import SinceLast
from tests.fakes.slack_api import MAX_VIEW_BLOCKS, block_errors
from tests.helpers import T0, result

EVIL = "<!channel> <@U123> <!here|here> &lt;b&gt; <https://evil.example|click> `x` *y*"
FAMS = ("ProxyLogon", "ProxyShell", "ProxyToken", "ProxyNotShell")


def strings(payload: Any) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in strings(v)]
    if isinstance(payload, list):
        return [s for v in payload for s in strings(v)]
    return []


def assert_valid_message(msg: dict[str, Any]) -> None:
    assert msg["text"].strip(), "a text fallback is required"
    assert msg["unfurl_links"] is False and msg["unfurl_media"] is False
    assert "link_names" not in msg
    assert block_errors(msg["blocks"]) == []
    for block in msg["blocks"]:
        if block["type"] == "section" and "text" in block:
            assert len(block["text"]["text"]) <= blocks.MAX_SECTION
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= blocks.MAX_HEADER
        assert len(block.get("fields", [])) <= blocks.MAX_FIELDS


def assert_no_markup(payload: Any) -> None:
    """No raw < or > anywhere: no mention, link or broadcast can survive."""
    bad = [s for s in strings(payload) if "<" in s or ">" in s]
    assert bad == [], bad[:3]


def hostile(catalog: Catalog) -> CheckResult:
    r = result(catalog, "mail.example.com", T0, "15.2.1544.33")
    return dataclasses.replace(
        r,
        target=f"mail.example.com {EVIL}",
        evidence=(
            *r.evidence,
            Evidence("x-feserver", "https://mail.example.com/owa/", EVIL),
            Evidence("title", "https://mail.example.com/owa/auth/logon.aspx", f"{EVIL} Outlook"),
        ),
        warnings=(f"signals disagree: {EVIL}",),
    )


# --------------------------------------------------------------------------------------------- primitives


def test_escape_turns_the_three_control_characters_into_entities() -> None:
    assert blocks.escape("a & b < c > d") == "a &amp; b &lt; c &gt; d"
    assert blocks.escape("<!channel>") == "&lt;!channel&gt;"
    assert blocks.escape("&lt;") == "&amp;lt;"  # an entity from a host is shown as typed, not decoded
    assert blocks.escape(42) == "42"


def test_clip_respects_the_limit_and_never_cuts_an_entity() -> None:
    assert blocks.clip("abc", 3) == "abc"
    assert blocks.clip("abcdef", 4) == "abc…"
    for n in range(5, 40):
        out = blocks.clip(blocks.escape("<" * 50), n)
        assert len(out) <= n and out.endswith("…")
        assert out[:-1].replace("&lt;", "") == "", out  # whole entities only


def test_limit_blocks_keeps_the_buttons() -> None:
    many = [blocks.section(str(i)) for i in range(80)] + [blocks.check_buttons("h")]
    out = blocks.limit_blocks(many)
    assert len(out) == blocks.MAX_BLOCKS and out[-1]["type"] == "actions" and out[-2]["type"] == "context"


# --------------------------------------------------------------------------------------------- check card


def test_check_card_of_a_hostile_host_is_escaped(catalog: Catalog) -> None:
    msg = check_card.check_card(hostile(catalog), SinceLast(previous_at=None), knowledge_date=catalog.data_date)
    assert_valid_message(msg)
    assert_no_markup(msg)
    flat = " ".join(strings(msg))
    assert "&lt;!channel&gt;" in flat and "&lt;@U123&gt;" in flat and "&amp;lt;b&amp;gt;" in flat


def test_check_card_verdict_at_a_glance(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com", T0, "15.1.2375.17")  # 2016 CU22 Nov21SU
    msg = check_card.check_card(r)
    assert_valid_message(msg)
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for b in msg["blocks"] for f in b.get("fields", [])}
    assert fields["*ProxyNotShell*"] == ":red_circle: *vulnerable*"
    assert fields["*ProxyLogon*"] == ":large_green_circle: patched"
    assert fields["*End of life*"].startswith(":warning: *end of life* since 2025-10-14")
    assert fields["*Confidence*"].startswith("high")
    assert (fields["*CU*"], fields["*Update*"], fields["*Build*"]) == ("CU22", "Nov21SU", "`15.1.2375.17`")
    vulnerable = [v for v in r.assessment.cves if v.status == "vulnerable"]
    kev = [v for v in vulnerable if v.kev]
    assert vulnerable and kev  # the build is old enough for both
    headline = msg["blocks"][1]["text"]["text"]
    assert headline.startswith(
        f":rotating_light: *At risk:* end of life; vulnerable to {len(vulnerable)} CVEs ({len(kev)} KEV), "
        "including ProxyNotShell"
    )
    # one consistent count: the field, the CVE list and the fallback say the same number
    unsure = [v for v in r.assessment.cves if v.status == "unknown" and not v.config_dependent]
    assert unsure  # CVEs of Exchange SE alone, published after Exchange 2016's updates ended
    assert fields["*Vulnerable*"] == f"{len(vulnerable)} CVEs ({len(kev)} KEV), {len(unsure)} cannot tell"
    flat = " ".join(strings(msg))
    assert f"*Vulnerable to {len(vulnerable)} CVEs ({len(kev)} KEV)*" in flat
    assert f"vulnerable to {len(vulnerable)} CVEs ({len(kev)} KEV)" in msg["text"]
    # every KEV CVE is named, marked, and listed before the others
    cve_block = next(
        b["text"]["text"] for b in msg["blocks"] if ":red_circle: *Vulnerable to" in b.get("text", {}).get("text", "")
    )
    listed = cve_block.split("\n")[0].rsplit(": ", 1)[1].split(", ")
    assert listed[: len(kev[:10])] == [f"{v.id} [KEV]" for v in kev][:10]
    assert all(v.id in cve_block for v in kev)
    actions = msg["blocks"][-1]
    assert [(e["action_id"], e["value"]) for e in actions["elements"]] == [
        (blocks.RECHECK, "mail.example.com"),
        (blocks.SHARE, "mail.example.com"),
        (blocks.WATCH_ADD, "mail.example.com"),
    ]
    assert [e["text"]["text"] for e in actions["elements"]] == ["Re-check", "Share in channel", "Watch"]


def test_check_card_watch_button_reflects_state_and_is_absent_for_non_exchange(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com", T0, "15.1.2375.17")
    watched = check_card.check_card(r, state=check_card.CardState(watched=True))
    texts = [(e["action_id"], e["text"]["text"]) for e in watched["blocks"][-1]["elements"]]
    assert (blocks.WATCH_REMOVE, "Watched ✓ · Remove") in texts
    assert all(a != blocks.WATCH_ADD for a, _ in texts)
    not_exchange = dataclasses.replace(
        result(catalog, "www.example.com", T0, None), exchange=False, reachable=True, error=None
    )
    ids = [e["action_id"] for e in check_card.check_card(not_exchange)["blocks"][-1]["elements"]]
    assert blocks.WATCH_ADD not in ids and blocks.WATCH_REMOVE not in ids and blocks.RECHECK in ids


def test_evidence_is_cut_to_three_lines_with_a_show_evidence_button(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com", T0, "15.1.2375.17")
    r = dataclasses.replace(r, evidence=tuple(Evidence(f"signal-{i}", "https://h/", f"value {i}") for i in range(9)))
    msg = check_card.check_card(r)
    flat = " ".join(strings(msg))
    assert "signal-2" in flat and "signal-3" not in flat
    assert "exchbot history" not in flat  # no pointer to a CLI a Slack user does not have
    buttons = {e["action_id"]: e for e in msg["blocks"][-1]["elements"]}
    assert buttons[blocks.SHOW_EVIDENCE]["text"]["text"] == "Show evidence (+6)"
    full = check_card.evidence_card(
        "mail.example.com", {"evidence": [{"signal": e.signal, "value": e.value} for e in r.evidence]}
    )
    assert_valid_message(full)
    assert all(f"signal-{i}" in " ".join(strings(full)) for i in range(9))


def test_config_dependent_cves_are_summarised_as_what_to_verify(catalog: Catalog) -> None:
    newest = max((rel for rel in catalog.releases if rel.product == "Exchange SE"), key=lambda rel: rel.build)
    r = result(catalog, "mail.example.com", T0, str(newest.build))
    config = [v for v in r.assessment.cves if v.status == "unknown" and v.config_dependent]
    assert config  # a fully patched SE host still depends on configuration
    flat = " ".join(strings(check_card.check_card(r)))
    assert f"*Verify the configuration* ({len(config)} CVEs depend on it): Extended Protection" in flat
    assert "Health Checker" in flat
    assert not any(v.id in flat for v in config)  # what to verify, not a list of ids


def test_check_card_of_a_three_part_build_says_medium_confidence(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com", T0, "15.1.1466")
    msg = check_card.check_card(r)
    text = " ".join(strings(msg))
    assert "medium: the CU is known, the update level is not" in text and "cannot tell" in text


def test_error_results_are_cards_with_buttons(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com", T0, None, error="could not check: TLS handshake timed out <@U1>")
    msg = check_card.check_card(r)
    assert_valid_message(msg)
    assert_no_markup(msg)
    assert msg["blocks"][1]["text"]["text"].startswith(":x: *Could not check:* TLS handshake")
    assert msg["blocks"][-1]["type"] == "actions"
    flat = " ".join(strings(msg)).lower()
    assert flat.count("could not check") == 2  # once on the card, once in the fallback text
    assert "could not check: could not check" not in flat
    assert "tls handshake failed" in flat  # a hint


def test_unreachable_card_says_what_the_host_was_last_time(catalog: Catalog) -> None:
    r = result(catalog, "mail.example.com:8443", T0, None, error="could not check: no answer within 10 s")
    last = CheckPoint(
        "mail.example.com:8443",
        T0 - dt.timedelta(days=2),
        "15.1.2375.17",
        "Exchange 2016",
        "CU22",
        "Nov21SU",
        True,
        {"ProxyNotShell": "vulnerable"},
        True,
        None,
        vulnerable_count=87,
        kev_count=5,
    )
    msg = check_card.check_card(r, SinceLast(previous_at=last.checked_at, last_answered=last))
    assert_valid_message(msg)
    text = msg["blocks"][2]["text"]["text"]
    assert "*Last known* (2026-10-30 08:00 UTC): 15.1.2375.17 (Exchange 2016 CU22 Nov21SU)" in text
    assert "end of life" in text and "vulnerable to ProxyNotShell" in text and "87 CVEs (5 KEV)" in text
    assert "firewall" in text and "VPN" in text and "port 8443" in text


def test_refusals_in_slack_name_the_admin_setting_not_a_flag(catalog: Catalog) -> None:
    r = result(catalog, "10.0.0.5", T0, None, error="refused: 10.0.0.5 is private, not a public address")
    flat = " ".join(strings(check_card.check_card(r)))
    assert "EXCHBOT_ALLOW_PRIVATE" in flat and "--allow-private" not in flat
    assert "resolves to" not in flat


def test_since_last_check_lists_the_changes() -> None:
    at = T0 + dt.timedelta(days=1)
    changes = (
        HostChange("h", at, "patched", "ProxyNotShell: vulnerable -> patched <x>"),
        HostChange("h", at, "build_changed", "build 15.1.2375.17 -> 15.1.2375.37"),
    )
    text = check_card.since_last_text(SinceLast(previous_at=T0, changes=changes))
    assert text.startswith("*Since the last check* (2026-11-01 08:00 UTC):")
    assert "• ProxyNotShell: vulnerable → patched &lt;x&gt;" in text
    assert "• build 15.1.2375.17 → 15.1.2375.37" in text
    assert "no change" in check_card.since_last_text(SinceLast(previous_at=T0))
    assert "first check" in check_card.since_last_text(SinceLast(previous_at=None))


def test_an_enormous_result_stays_within_every_limit(catalog: Catalog) -> None:
    r = hostile(catalog)
    r = dataclasses.replace(
        r,
        target="x" * 300,
        evidence=tuple(Evidence(f"sig{i}", "https://h/" + "p" * 3000, EVIL * 100) for i in range(500)),
        warnings=tuple(f"warning {i} {EVIL * 50}" for i in range(200)),
        assessment=dataclasses.replace(r.assessment, notes=tuple("n" * 5000 for _ in range(30)), advice="a" * 10_000),
    )
    changes = tuple(HostChange("h", T0, "family_changed", "c" * 5000) for _ in range(100))
    msg = check_card.check_card(r, SinceLast(previous_at=T0, changes=changes))
    assert_valid_message(msg)
    assert_no_markup(msg)
    assert len(msg["text"]) <= blocks.MAX_TEXT


# --------------------------------------------------------------------------------------------- exposure


def exposure_result(**kw: Any) -> ExposureResult:
    base = dict(
        region="eu",
        countries=("DE", "FR"),
        snapshot_at=T0,
        query='http.html:"OwaPage = ASP.auth_logon_aspx"',
        total=120,
        by_product={"Exchange 2016": 80, "Exchange SE": 30},
        eol=80,
        families={f: {"vulnerable": 5, "unknown": 40} for f in FAMS},
        credits_used=0,
        unattributed=3,
        previous_snapshot_at=T0 - dt.timedelta(days=7),
        changes=ExposureChanges(
            total=-4,
            by_product={"Exchange 2016": -10, "Exchange SE": 6},
            eol=-10,
            families={f: {"vulnerable": -1, "unknown": 0} for f in FAMS},
            unattributed=0,
            unknown_version=0,
            at_risk=-9,
        ),
        unknown_version=10,
        at_risk=82,
        by_build=(BuildExposure("15.1.2507", 50, 3, "Exchange 2016", "CU23", True, {}),),
    )
    base.update(kw)
    return ExposureResult(**base)  # type: ignore[arg-type]


def test_exposure_card_totals_and_deltas() -> None:
    msg = exposure_card.exposure_card(exposure_result())
    assert_valid_message(msg)
    fields = {f["text"].split("\n")[0]: f["text"].split("\n")[1] for b in msg["blocks"] for f in b.get("fields", [])}
    assert fields["*Total*"] == "120 (-4)"
    assert fields["*End of life*"] == "80 (-10)"
    assert fields["*At risk (end of life or vulnerable)*"] == "82 (-9)"
    flat = "\n".join(strings(msg))
    assert "• Exchange 2016: 80 (-10)" in flat and "• Exchange SE: 30 (+6)" in flat
    assert "• *ProxyShell*: 5 (-1) vulnerable, 40 (±0) cannot tell from the build" in flat
    assert "certainly" not in flat  # plain labels
    assert "Data: Shodan" in flat and "snapshot 2026-11-01 08:00 UTC" in flat
    assert "_From the count snapshot of 2026-11-01 08:00 UTC" in flat  # the snapshot used, named
    assert "count snapshot of 2026-11-01 08:00 UTC" in msg["text"]
    assert "changes since 2026-10-25 08:00 UTC" in flat


def test_exposure_card_shows_top_countries_and_where_the_chart_went() -> None:
    msg = exposure_card.exposure_card(exposure_result(by_country={"DE": 70, "FR": 45, "IT": 5}))
    flat = "\n".join(strings(msg))
    assert "*Top countries* (banners)\nde 70 · fr 45 · it 5" in flat
    posted = exposure_card.with_chart_note(msg, True, "C0INCIDENT")
    assert_valid_message(posted)
    assert "posted in <#C0INCIDENT>" in "\n".join(strings(posted))
    failed = exposure_card.with_chart_note(msg, False, "C0INCIDENT")
    assert "could not be posted" in "\n".join(strings(failed))


def test_exposure_card_escapes_shodan_text_and_respects_limits() -> None:
    r = exposure_result(
        countries=tuple(f"<{i}>" for i in range(300)),
        query=f"q {EVIL}",
        warnings=tuple(EVIL * 60 for _ in range(9)),
        by_product={f"<p{i}>": i for i in range(400)},
        by_build=tuple(BuildExposure(f"<b{i}>", i, 3, EVIL, "CU1", True, {}) for i in range(200)),
        changes=None,
        previous_snapshot_at=None,
    )
    msg = exposure_card.exposure_card(r)
    assert_valid_message(msg)
    assert_no_markup(msg)
    assert "no earlier snapshot" in "\n".join(strings(msg))


# --------------------------------------------------------------------------------------------- watchlist, home


def point(host: str, build: str | None, eol: bool | None, pns: str, *, error: str | None = None) -> CheckPoint:
    fams = dict.fromkeys(FAMS, "patched") | {"ProxyNotShell": pns}
    return CheckPoint(
        host=host,
        checked_at=T0,
        build=build,
        product="Exchange 2016",
        cu="CU22",
        update="Nov21SU",
        eol=eol,
        families=fams,
        reachable=error is None,
        error=error,
        exchange=True,
    )


def rows(n: int) -> list[WatchState]:
    out = []
    for i in range(n):
        p = point(f"h{i}.example.com", "15.1.2375.17", True, "vulnerable") if i % 3 else None
        change = HostChange(f"h{i}", T0, "patched", f"ProxyShell: vulnerable -> patched {EVIL}") if i % 2 else None
        out.append(WatchState(f"h{i}.example.com", T0, "slack:U1", p, change, last_verdict=p))
    return out


def test_watchlist_card() -> None:
    msg = watch_cards.watchlist_card(rows(4))
    assert_valid_message(msg)
    assert_no_markup(msg)
    assert msg["text"] == "Watchlist: 4 hosts, 2 at risk, 0 with known-exploited CVEs"
    flat = "\n".join(strings(msg))
    assert (
        "*h1.example.com* :rotating_light: 15.1.2375.17 (Exchange 2016 CU22 Nov21SU) · *EOL* · vulnerable: "
        "ProxyNotShell (checked 2026-11-01 08:00 UTC; last change 2026-11-01" in flat
    )
    assert "*h0.example.com* :white_circle: never checked (not checked yet)" in flat
    assert watch_cards.watchlist_card([])["text"] == "The watchlist is empty."


def mixed_rows(n: int) -> list[WatchState]:
    """``n`` hosts named in alphabetical order, every fifth at risk with KEV CVEs, every seventh unreachable."""
    out = []
    for i in range(n):
        host = f"h{i:03d}.example.com"
        if i % 5 == 4:
            p = dataclasses.replace(
                point(host, "15.1.2375.17", True, "vulnerable"), vulnerable_count=80 + i, kev_count=5
            )
        elif i % 7 == 6:
            p = point(host, None, None, "unknown", error="could not check: no answer within 10 s")
        else:
            p = dataclasses.replace(point(host, "15.2.2562.17", False, "patched"), vulnerable_count=0, kev_count=0)
        out.append(WatchState(host, T0, "slack:U1", p, None, last_verdict=p if p.answered else None))
    return out


def host_sections(payload: dict[str, Any]) -> list[str]:
    return [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section" and "accessory" in b]


@pytest.mark.parametrize("n", [65, 130])
def test_watchlist_pages_at_risk_first_with_counts_and_buttons(n: int) -> None:
    data = mixed_rows(n)
    at_risk = [w.host for w in data if w.latest is not None and w.latest.kev_count]
    unreachable = [w.host for w in data if w.latest is not None and not w.latest.answered]
    msg = watch_cards.watchlist_card(data)
    assert_valid_message(msg)
    assert len(msg["blocks"]) <= blocks.MAX_BLOCKS
    assert sum(len(t) for t in strings(msg)) < 9000  # not one 9,400-character wall
    summary = msg["blocks"][1]["text"]["text"]
    assert f"*{n}* hosts" in summary and f"*{len(at_risk)}* at risk" in summary
    assert f"*{len(unreachable)}* could not be checked" in summary
    shown = host_sections(msg)
    assert len(shown) == watch_cards.PAGE_SIZE
    # at-risk hosts first (most CVEs first), each with its count
    expected = sorted(at_risk, key=lambda h: -int(h[1:4]))[: watch_cards.PAGE_SIZE]
    assert [t.split("*")[1] for t in shown[: len(expected)]] == expected
    assert all("CVEs (5 KEV)" in t for t in shown[: len(expected)])
    assert all("could not check: could not check" not in t for t in strings(msg))
    menus = [b["accessory"] for b in msg["blocks"] if "accessory" in b]
    assert {o["value"].split("|")[0] for m in menus for o in m["options"]} == {"recheck", "remove"}
    actions = next(b for b in msg["blocks"] if b.get("block_id") == "exchbot_watch_actions")
    nxt = {e["action_id"]: e for e in actions["elements"]}
    assert nxt[blocks.WATCH_PAGE]["value"] == "2"
    assert nxt[blocks.WATCH_PAGE]["text"]["text"] == f"Next page ({n - watch_cards.PAGE_SIZE} more)"
    assert blocks.CHECK_HOST in nxt
    # every host appears on exactly one page
    pages = -(-n // watch_cards.PAGE_SIZE)
    seen = [
        t.split("*")[1] for p in range(1, pages + 1) for t in host_sections(watch_cards.watchlist_card(data, page=p))
    ]
    assert sorted(seen) == sorted(w.host for w in data)
    last = watch_cards.watchlist_card(data, page=pages)
    ids = [e["action_id"] for b in last["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert ids.count(blocks.WATCH_PAGE) == 1  # only "Previous"


def test_a_huge_watchlist_fits() -> None:
    assert_valid_message(watch_cards.watchlist_card(rows(3000)))


@pytest.mark.parametrize("n", [65, 500])
def test_home_view(n: int) -> None:
    view = watch_cards.home_view(mixed_rows(n), knowledge_date=dt.date(2026, 10, 2))
    assert view["type"] == "home"
    assert block_errors(view["blocks"], MAX_VIEW_BLOCKS) == []
    assert len(view["blocks"]) <= blocks.MAX_HOME_BLOCKS
    assert_no_markup(view)
    flat = "\n".join(strings(view))
    assert f"*{n}* hosts" in view["blocks"][1]["text"]["text"]
    assert f"{n - watch_cards.HOME_PAGE_SIZE} more" in flat and "2026-10-02" in flat
    top = max(i for i in range(n) if i % 5 == 4)  # at risk with the most CVEs
    assert host_sections(view)[0].split("*")[1] == f"h{top:03d}.example.com"
    assert f"{80 + top} CVEs (5 KEV)" in host_sections(view)[0]
    ids = [e["action_id"] for b in view["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert blocks.HOME_PAGE in ids and blocks.CHECK_HOST in ids
    empty = watch_cards.home_view([])
    assert "Nothing is watched yet" in "\n".join(strings(empty))


# --------------------------------------------------------------------------------------------- help, usage


@pytest.mark.parametrize("command", [None, "/exchcheck", "/exposure", "/exchwatch"])
def test_help_card(command: str | None) -> None:
    msg = blocks.help_card(command)
    assert_valid_message(msg)
    assert "/exchcheck" in msg["text"] if command in (None, "/exchcheck") else command in msg["text"]


def test_usage_card_escapes_and_clips_the_users_text() -> None:
    msg = blocks.usage_card("/exchcheck", f"{'x' * 5000} {EVIL}")
    assert_valid_message(msg)
    assert_no_markup(msg)
    assert len(msg["blocks"][0]["text"]["text"]) < 400 and len(msg["text"]) < 300


def test_notices_and_errors() -> None:
    for msg in (
        blocks.notice(f"busy {EVIL}"),
        blocks.error_card("could not", EVIL, host="h"),
        blocks.pending_card(f"Checking {EVIL}…"),
        watch_cards.watch_changed(EVIL, "add", True),
    ):
        assert_valid_message(msg)
        assert_no_markup(msg)
