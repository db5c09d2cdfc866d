"""Forgiving input, in the CLI's parser and the Slack command parser alike: Slack's link forms, host/path,
e-mail addresses and bare domains, IDN pins, flags typed into Slack, country names."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.catalog import Catalog
from bot.core.region_names import country_code, suggest
from bot.probe.ssrf import parse_pins, pinned_resolver
from bot.probe.targets import TargetError, parse_target
from bot.render.hints import domain_hint
from bot.slack.parse import CheckCommand, ExposureCommand, Usage, WatchCommand, parse_check, parse_exposure, parse_watch


@pytest.mark.parametrize(
    ("text", "key"),
    [
        # Slack auto-links a URL with a port and path: the URL part is used, not the label
        ("<https://mail.contoso.test:43753/owa/|mail.contoso.test:43753/owa/>", "mail.contoso.test:43753"),
        # a bare host name Slack turned into an http link: the user typed no scheme
        ("<http://mail.contoso.test|mail.contoso.test>", "mail.contoso.test"),
        ("<http://mail.contoso.test/owa|mail.contoso.test/owa>", "mail.contoso.test"),
        # host/path without a scheme, like the https:// form
        ("mail.contoso.test/owa", "mail.contoso.test"),
        ("mail.contoso.test:8443/owa/auth/logon.aspx", "mail.contoso.test:8443"),
        ("https://mail.contoso.test/owa", "mail.contoso.test"),
    ],
)
def test_link_and_path_forms_check_the_host(text: str, key: str) -> None:
    parsed = parse_check(text)
    assert isinstance(parsed, CheckCommand), parsed
    assert parsed.target.key == key


def test_cli_accepts_host_path_like_the_url_form() -> None:
    assert parse_target("mail.contoso.test/owa").key == parse_target("https://mail.contoso.test/owa").key
    assert parse_target("mail.contoso.test:444/ecp/").port == 444


def test_a_typed_http_link_is_still_refused() -> None:
    parsed = parse_check("<http://mail.contoso.test|http://mail.contoso.test>")
    assert isinstance(parsed, Usage) and "only https://" in parsed.problem


@pytest.mark.parametrize("text", ["<mailto:admin@contoso.test|admin@contoso.test>", "admin@contoso.test"])
def test_an_email_address_is_discovered_in_slack_and_hinted_as_a_target(text: str) -> None:
    # /exchcheck: an address runs discovery of its domain's servers (the Slack form is unwrapped).
    parsed = parse_check(text)
    assert isinstance(parsed, CheckCommand)
    assert parsed.address == "admin@contoso.test" and parsed.target.host == "contoso.test"
    # Where a single host is required (a check target), the address gets a hint naming likely hosts.
    with pytest.raises(TargetError, match=r"mail\.contoso\.test"):
        parse_target("admin@contoso.test")


def test_a_bare_domain_gets_a_hint_when_it_is_not_exchange() -> None:
    hint = domain_hint("contoso.test")
    assert hint is not None and "mail.contoso.test" in hint and "autodiscover.contoso.test" in hint
    assert domain_hint("mail.contoso.test") is None
    assert domain_hint("203.0.113.7") is None


def test_idn_pins_are_normalised() -> None:
    pins = parse_pins(["bücher.test:127.0.0.1", "MAIL.Example.test.:[::1]"])
    assert pins == {"xn--bcher-kva.test": "127.0.0.1", "mail.example.test": "::1"}

    async def nowhere(host: str, port: int) -> list[str]:
        raise AssertionError(f"{host} should have been pinned")

    resolve = pinned_resolver(pins, nowhere)

    async def lookup() -> list[str]:
        return list(await resolve(parse_target("bücher.test").host, 443))

    assert asyncio.run(lookup()) == ["127.0.0.1"]
    with pytest.raises(ValueError, match="not a valid hostname"):
        parse_pins(["bad host!:127.0.0.1"])


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("eu --refresh", "exchbot exposure REGION --refresh"),
        ("eu --json", "command line"),
        ("eu --frobnicate", "/exposure help"),
    ],
)
def test_flags_typed_into_slack_are_answered(text: str, words: str, catalog: Catalog) -> None:
    parsed = parse_exposure(text, catalog)
    assert isinstance(parsed, Usage) and parsed.reason == "flag"
    assert words in parsed.problem
    assert "unknown region" not in parsed.problem


def test_chart_flag_is_recognised(catalog: Catalog) -> None:
    assert parse_exposure("eu --chart", catalog) == ExposureCommand("eu", True)


def test_allow_private_in_slack_names_the_admin_setting() -> None:
    parsed = parse_check("10.0.0.5 --allow-private")
    assert isinstance(parsed, Usage) and "EXCHBOT_ALLOW_PRIVATE" in parsed.problem
    watch = parse_watch("add mail.contoso.test --json")
    assert isinstance(watch, Usage) and watch.reason == "flag"


@pytest.mark.parametrize(
    ("text", "code"),
    [("germany", "de"), ("Germany", "de"), ("germny", "de"), ("united kingdom", "gb"), ("côte d'ivoire", "ci")],
)
def test_country_names_get_a_suggestion(text: str, code: str, catalog: Catalog) -> None:
    parsed = parse_exposure(text, catalog)
    assert isinstance(parsed, Usage)
    assert f"did you mean `{code}`" in parsed.problem and f"`/exposure {code}`" in parsed.problem
    assert isinstance(parse_exposure(code, catalog), ExposureCommand)


def test_country_code_lookup(catalog: Catalog) -> None:
    assert country_code("France", catalog) == "FR"
    assert country_code("USA", catalog) == "US"
    assert country_code("atlantis", catalog) is None
    assert suggest("atlantis", catalog) == []


def test_watch_list_takes_a_page() -> None:
    assert parse_watch("list 3") == WatchCommand("list", page=3)
    assert isinstance(parse_watch("list mail.contoso.test"), Usage)


def test_the_card_for_an_unreachable_bare_domain_hints_at_the_mail_host(catalog: Catalog) -> None:
    import json

    from bot.render import check_card
    from tests.helpers import T0, result

    card = check_card.check_card(result(catalog, "contoso.test", T0, None, error="could not check: no answer"))
    assert "mail.contoso.test or autodiscover.contoso.test" in json.dumps(card)


def test_cli_exposure_suggests_a_code_for_a_country_name(tmp_path: object) -> None:
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "SHODAN_API_KEY"} | {"EXCHBOT_DB": f"{tmp_path}/x.db"}
    proc = subprocess.run(
        [sys.executable, "-m", "bot", "exposure", "germany"], capture_output=True, text=True, env=env, timeout=60
    )
    assert proc.returncode == 2
    assert "did you mean `de` (Germany)? Try `exchbot exposure de`" in proc.stderr
