"""Parsing of slash-command text (bot.slack.parse): Slack's markup, hostile input, helpful refusals."""

from __future__ import annotations

import pytest

from bot.core.catalog import Catalog
from bot.slack.parse import (
    MAX_TEXT,
    CheckCommand,
    ExposureCommand,
    Help,
    Usage,
    WatchCommand,
    parse_check,
    parse_exposure,
    parse_watch,
    tokens,
)


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("mail.example.com", "mail.example.com"),
        ("  MAIL.Example.COM  ", "mail.example.com"),
        ("mail.example.com:8443", "mail.example.com:8443"),
        ("<http://mail.example.com|mail.example.com>", "mail.example.com"),  # Slack linked a bare host name
        ("<https://owa.example.com/owa/>", "owa.example.com"),
        ("<https://owa.example.com:8443|https://owa.example.com:8443>", "owa.example.com:8443"),
        ("203.0.113.7", "203.0.113.7"),
        ("[2001:db8::1]:444", "[2001:db8::1]:444"),
        ("bücher.example", "xn--bcher-kva.example"),
    ],
)
def test_check_targets(text: str, key: str) -> None:
    parsed = parse_check(text)
    assert isinstance(parsed, CheckCommand), parsed
    assert parsed.target.key == key


@pytest.mark.parametrize(
    ("text", "reason", "words"),
    [
        ("", "empty", "which server"),
        ("   ", "empty", "which server"),
        ("a" * (MAX_TEXT + 1), "too_long", "too long (301 characters"),
        ("x" * 5000, "too_long", "5,000 characters"),
        ("<@U0123ABC|alice>", "mention", "mentions"),
        ("<@U0123ABC>", "mention", "mentions"),
        ("<!channel>", "mention", "mentions"),
        ("<!here|here>", "mention", "mentions"),
        ("<!subteam^S0123|@oncall>", "mention", "mentions"),
        ("<#C0123ABC|general>", "mention", "mentions"),
        ("check <@U0123ABC> please", "mention", "mentions"),
        ("<mailto:@example.com|@example.com>", "email", "not a mail address"),
        ("it@203.0.113.7", "email", "domain name"),
        ("mail.example.com; rm -rf /", "too_many", "one server per command"),
        ("a.example.com b.example.com", "too_many", "one server per command"),
        ("$(reboot)", "target", "not a valid hostname"),
        ("`id`", "target", "not a valid hostname"),
        ("mail.example.com|cat", "target", "not a valid hostname"),
        ("&lt;script&gt;", "target", "not a valid hostname"),
        ("<http://mail.example.com>", "target", "only https://"),
        ("<https://user:pw@mail.example.com>", "target", "credentials"),
        ("mail.example.com:0", "target", "out of range"),
        ("mail.example.com\x00", "control", "control characters"),
    ],
)
def test_check_refusals(text: str, reason: str, words: str) -> None:
    parsed = parse_check(text)
    assert isinstance(parsed, Usage), parsed
    assert parsed.reason == reason
    assert words in parsed.problem
    assert len(parsed.problem) < 400  # never the whole input echoed back


@pytest.mark.parametrize(
    "text", ["<mailto:it@Example.com|it@Example.com>", "it@example.com", "<mailto:it@example.com>"]
)
def test_a_mail_address_asks_for_discovery_of_its_domain(text: str) -> None:
    parsed = parse_check(text)
    assert isinstance(parsed, CheckCommand), parsed
    assert parsed.target.host == "example.com" and parsed.address is not None
    assert parsed.address.lower() == "it@example.com"


@pytest.mark.parametrize("text", ["help", "HELP", "--help", "-h", "?"])
def test_check_help(text: str) -> None:
    assert parse_check(text) == Help()


def test_tokens_undo_slack_entities_and_links() -> None:
    assert tokens("a &amp; b") == ["a", "&", "b"]
    assert tokens("<https://x.example|x.example> y") == ["https://x.example", "y"]  # the URL part, not the label
    assert tokens(None) == []


@pytest.mark.parametrize(
    ("text", "region"),
    [
        ("eu", "eu"),
        ("EU", "eu"),
        ("world", "world"),
        ("de", "de"),
        ("de,fr", "de,fr"),
        ("de, fr", "de,fr"),
        ("de fr", "de,fr"),
        ("uk", "gb"),
    ],
)
def test_exposure_regions(text: str, region: str, catalog: Catalog) -> None:
    parsed = parse_exposure(text, catalog)
    assert isinstance(parsed, ExposureCommand), parsed
    assert parsed.region == region


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "empty"),
        ("atlantis", "region"),
        ("<!channel>", "mention"),
        ("x" * 5000, "too_long"),
        ("eu; ls", "region"),
    ],
)
def test_exposure_refusals(text: str, reason: str, catalog: Catalog) -> None:
    parsed = parse_exposure(text, catalog)
    assert isinstance(parsed, Usage) and parsed.reason == reason, parsed
    if reason in ("empty", "region"):
        assert "eu" in parsed.problem  # the valid names are listed


def test_watch_commands() -> None:
    add = parse_watch("add <http://mail.example.com|mail.example.com>")
    assert isinstance(add, WatchCommand) and add.action == "add" and add.target is not None
    assert add.target.key == "mail.example.com"
    rm = parse_watch("rm mail.example.com:444")
    assert isinstance(rm, WatchCommand) and rm.action == "remove" and rm.target and rm.target.key.endswith(":444")
    assert parse_watch("list") == WatchCommand("list")
    assert parse_watch("LS") == WatchCommand("list")
    assert parse_watch("") == Help() and parse_watch("help") == Help()


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("add", "empty"),
        ("add a.example b.example", "too_many"),
        ("list all", "too_many"),
        ("purge", "action"),
        ("add $(reboot)", "target"),
        ("add <!channel>", "mention"),
        ("x" * 5000, "too_long"),
    ],
)
def test_watch_refusals(text: str, reason: str) -> None:
    parsed = parse_watch(text)
    assert isinstance(parsed, Usage) and parsed.reason == reason, parsed
