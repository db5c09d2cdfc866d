"""Host-controlled text stays inert in mrkdwn, inside and outside code spans: a backtick cannot
close a code span, ``*bold*``/``_italic_``/``~strike~`` do not format, ``<!channel>`` pings nobody.

Formatting is detected by a small model of Slack's rules (a mark opens at a word boundary before a
non-space and closes after a non-space at a word boundary; a code span is any backtick pair), under
both readings of a zero-width space (as a space and as a letter)."""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest

from bot.core.catalog import Catalog
from bot.core.model import Evidence
from bot.render import blocks, check_card
from tests.helpers import T0, result

HOSTILE = "`x` *bold* _it_ ~gone~ ``` fence ``` <!channel> a`b *x*y"
BENIGN = "plain value"


def _spans(text: str) -> int:
    n = len(re.findall(r"`[^`\n]+`", text))
    text = re.sub(r"`[^`\n]+`", " ", text)  # nothing formats inside a code span
    for m in "*_~":
        e = re.escape(m)
        n += len(re.findall(rf"(?<![A-Za-z0-9]){e}(?=[^\s{e}])[^\n]*?(?<=[^\s{e}]){e}(?![A-Za-z0-9])", text))
    return n


def formatting(text: str) -> int:
    """Formatted spans in ``text`` under the stricter of the two readings of U+200B."""
    return max(_spans(text.replace("\u200b", " ")), _spans(text.replace("\u200b", "a")))


def strings(payload: Any) -> list[str]:
    if isinstance(payload, str):
        return [payload]
    if isinstance(payload, dict):
        return [s for v in payload.values() for s in strings(v)]
    if isinstance(payload, list):
        return [s for v in payload for s in strings(v)]
    return []


def test_the_model_sees_the_raw_markup() -> None:
    assert formatting(HOSTILE) >= 4 and formatting("*a*") == 1 and formatting("SHODAN_API_KEY a*b") == 0


@pytest.mark.parametrize("text", [HOSTILE, "*", "_a_", "~~~", "`", "x_y_ z", "*bold*:", "(*b*)", "_*~`"])
def test_escape_is_inert_and_looks_the_same(text: str) -> None:
    out = blocks.escape(text)
    assert formatting(out) == 0
    assert "<" not in out and ">" not in out
    shown = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
    assert out.replace("\u200b", "") == shown


def test_identifiers_are_left_alone() -> None:
    assert blocks.escape("SHODAN_API_KEY x-owa-version a*b") == "SHODAN_API_KEY x-owa-version a*b"


@pytest.mark.parametrize("text", [HOSTILE, "`", "``", "a` *b* `c", "`" * 50])
def test_code_span_cannot_be_closed_early(text: str) -> None:
    out = blocks.code_span(text)
    assert out.startswith("`") and out.endswith("`") and out.count("`") == 2
    assert formatting(out) == 1  # exactly the span itself
    assert "<" not in out[1:-1]


def _card_with(catalog: Catalog, value: str) -> list[str]:
    r = result(catalog, "mail.example.com", T0, "15.2.1544.33")
    r = dataclasses.replace(
        r,
        evidence=(*r.evidence, Evidence("server", "https://mail.example.com/owa/", value)),
        warnings=(f"signals disagree: {value}",),
    )
    return strings(check_card.check_card(r))


def test_a_hostile_server_header_adds_no_formatting_to_a_card(catalog: Catalog) -> None:
    hostile = _card_with(catalog, HOSTILE)
    benign = _card_with(catalog, BENIGN)
    assert len(hostile) == len(benign)
    for h, b in zip(hostile, benign, strict=True):
        assert formatting(h) == formatting(b), (h, b)
    assert not any("<!channel>" in s for s in hostile)
