"""The "Check a host…" modal's view and the reading of its submission (pure; the Slack round trip is
in tests/test_slack_app.py)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.render.check_modal import (
    CALLBACK_ID,
    HOST_ACTION,
    HOST_BLOCK,
    MAX_METADATA,
    check_host_view,
    input_error,
    submitted,
)
from tests.fakes.slack_api import block_errors


def view_with(value: Any, metadata: Any) -> dict[str, Any]:
    return {
        "callback_id": CALLBACK_ID,
        "private_metadata": metadata,
        "state": {"values": {HOST_BLOCK: {HOST_ACTION: {"type": "plain_text_input", "value": value}}}},
    }


def test_the_view_keeps_where_to_answer_and_is_valid_block_kit() -> None:
    view = check_host_view("C0INCIDENT", "https://hooks.slack.com/actions/T0/1/abc")
    assert view["type"] == "modal" and view["callback_id"] == CALLBACK_ID
    assert all(len(view[k]["text"]) <= 24 for k in ("title", "submit", "close"))
    assert block_errors(view["blocks"], 100) == []
    assert submitted(view_with("mail.example.com", view["private_metadata"])) == (
        "mail.example.com",
        "C0INCIDENT",
        "https://hooks.slack.com/actions/T0/1/abc",
    )
    home = check_host_view(None, None)
    assert home["private_metadata"] == "{}"
    too_long = check_host_view("C0", "https://x/" + "a" * MAX_METADATA)  # not Slack's: no answer there
    assert too_long["private_metadata"] == "{}"


@pytest.mark.parametrize(
    ("view", "expected"),
    [
        (None, ("", None, None)),
        ("a string", ("", None, None)),
        ({"state": []}, ("", None, None)),
        ({"state": {"values": {HOST_BLOCK: {HOST_ACTION: {"value": 42}}}}}, ("", None, None)),
        (view_with("h.example.com", "not json {"), ("h.example.com", None, None)),
        (view_with("h.example.com", "[1, 2]"), ("h.example.com", None, None)),
        (view_with("h.example.com", "[" * 100_000), ("h.example.com", None, None)),
        (view_with("h.example.com", json.dumps({"channel": "Ｃ１"})), ("h.example.com", None, None)),
        (view_with("h.example.com", json.dumps({"channel": "C1 x"})), ("h.example.com", None, None)),
        (
            view_with("h.example.com", json.dumps({"response_url": "javascript:alert(1)"})),
            ("h.example.com", None, None),
        ),
        (view_with("h.example.com", json.dumps({"response_url": ["https://x"]})), ("h.example.com", None, None)),
        (view_with("x" * 5000, "{}"), ("x" * 301, None, None)),  # clipped past the limit: still refused as too long
    ],
)
def test_a_malformed_submission_reads_as_empty_never_as_a_crash(view: Any, expected: tuple[Any, ...]) -> None:
    assert submitted(view) == expected


def test_an_input_error_fits_under_the_field() -> None:
    assert input_error("short") == {HOST_BLOCK: "short"}
    long = input_error("x" * 500)[HOST_BLOCK]
    assert len(long) == 150 and long.endswith("…")
