"""Slack text safety: escaping and Block Kit limits. Every string from users, scanned hosts or
Shodan goes through :func:`escape` before it reaches a message."""

from __future__ import annotations

SECTION_TEXT_MAX = 3000
HEADER_TEXT_MAX = 150
MAX_BLOCKS = 50
MAX_FIELDS = 10


def escape(text: object) -> str:
    """Slack's three control characters; ``<!channel>`` becomes inert ``&lt;!channel&gt;``."""
    return str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int = SECTION_TEXT_MAX) -> str:
    """Shorten already-escaped text to ``limit`` characters without cutting an entity in half."""
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    amp = cut.rfind("&")
    if amp >= 0 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
