"""Parsing build strings as scanners report them."""

from __future__ import annotations

import pytest

from bot.core.buildnum import Build, BuildParseError, parse_build


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("15.1.2375.37", (15, 1, 2375, 37)),
        ("15.01.2375.037", (15, 1, 2375, 37)),
        ("  15.2.1748.36\n", (15, 2, 1748, 36)),
        ("15.1.2375", (15, 1, 2375)),
        ("15.1", (15, 1)),
        ("Exchange/15.01.2176.009", (15, 1, 2176, 9)),
        ("exchange/15.20.0485.000", (15, 20, 485, 0)),
        ("Version 15.1 (Build 2507.6)", (15, 1, 2507, 6)),
        ("version 14.3 (build 513.0)", (14, 3, 513, 0)),
        ("v8.3.485.1", (8, 3, 485, 1)),
        ("14.03.0513.000", (14, 3, 513, 0)),
        ("6.5.7638.1", (6, 5, 7638, 1)),
    ],
)
def test_accepted_spellings(text: str, parts: tuple[int, ...]) -> None:
    build = parse_build(text)
    assert build.parts == parts
    assert build.precision == len(parts)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        "garbage",
        "15",
        "15.",
        "15.1.",
        ".15.1",
        "15.1.2375.37.1",
        "15..2375",
        "15.1.-1.2",
        "15.1.2375.37; rm -rf /",
        "<!channel>",
        "15.1.2375.37 extra",
        "1.2.3.4",  # below any Exchange major version
        "150.1.2.3",
        "15.100.1.1",
        "15.1.123456.1",  # six-digit part
        "x" * 1000,
        "15.1.2375.37" + " " * 100 + "1",
        "１５.１.２３７５.３７",  # full-width digits are not ASCII digits
    ],
)
def test_garbage_is_rejected_with_a_reason(text: str) -> None:
    with pytest.raises(BuildParseError) as err:
        parse_build(text)
    assert str(err.value)


def test_non_string_input_is_rejected() -> None:
    with pytest.raises(BuildParseError):
        parse_build(None)
    with pytest.raises(BuildParseError):
        parse_build(15.1)


def test_normalised_form_and_ordering() -> None:
    assert str(parse_build("15.01.2375.037")) == "15.1.2375.37"
    assert parse_build("15.1.2375.37") < parse_build("15.1.2375.100")
    assert parse_build("15.1.2507.6") > parse_build("15.1.2375.37")
    assert Build.of("15.1.2375").prefix(2) == (15, 1)


def test_build_rejects_wrong_part_counts() -> None:
    with pytest.raises(ValueError):
        Build((15,))
    with pytest.raises(ValueError):
        Build((15, 1, 2, 3, 4))
