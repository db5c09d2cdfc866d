"""Masking secrets in text that leaves the process (stderr, Slack replies, logs, stored errors).

Secrets are registered once at start-up (:func:`register`, from the settings); :func:`redact`
replaces each of them, their URL-encoded forms, anything shaped like a Slack token and the value
of a ``key=`` query parameter (how Shodan URLs carry the API key, which servers may echo back).
"""

from __future__ import annotations

import logging
import re
import threading
import urllib.parse
from collections.abc import Iterable
from typing import Any

MASK = "***"
_SHAPES = re.compile(
    r"xox[a-z]-[A-Za-z0-9-]{6,}"  # Slack bot/user/... tokens
    r"|xapp-[A-Za-z0-9-]{6,}"  # Slack app-level tokens
    r"|(?<=[?&;]key=)[^&\s\"'<>]+"  # ?key=... in a URL
    r"|(?<=[?&;]key%3[Dd])[^&\s\"'<>]+",
)
_lock = threading.Lock()
_secrets: tuple[str, ...] = ()


MIN_LENGTH = 12  # real keys, tokens and secrets are 32+ characters; shorter values are words


def register(values: Iterable[str | None]) -> None:
    """Add secrets to mask (values shorter than :data:`MIN_LENGTH` are ignored: masking them would
    garble ordinary text without protecting anything)."""
    global _secrets
    new = set(_secrets)
    for value in values:
        if value and len(value) >= MIN_LENGTH:
            new.add(value)
            new.add(urllib.parse.quote(value, safe=""))
            new.add(urllib.parse.quote_plus(value))
    with _lock:
        # Longest first, so a secret that contains another is masked whole.
        _secrets = tuple(sorted(new, key=len, reverse=True))


def redact(text: str) -> str:
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    return _SHAPES.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message (arguments included)."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record is logged as it is
            return True
        record.msg, record.args = redact(message), None
        if record.exc_info:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install_log_filter() -> None:
    """Mask secrets in every record that reaches a root handler."""
    for handler in logging.getLogger().handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())


def redact_json(value: Any) -> Any:
    """``value`` (a Slack message: dicts, lists, strings) with every string redacted."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact_json(v) for v in value]
    return value
