"""The "Check a host…" modal (pure): one text input, submitted like ``/exchcheck TEXT``.

Where the answer goes travels in the view's ``private_metadata``, which Slack hands back with the
submission: the channel and response_url of the message the button was on (an ephemeral answer
there), or nothing for the App Home (a direct message from the app).
"""

from __future__ import annotations

import json
from typing import Any

from bot.render.blocks import context

CALLBACK_ID = "exchbot_check_host_view"
HOST_BLOCK = "exchbot_check_host_input"
HOST_ACTION = "host"
MAX_INPUT = 300  # characters: the longest target /exchcheck accepts
MAX_ERROR = 150  # characters of an input error (Slack shows it under the field)
MAX_METADATA = 3000  # Slack's limit on private_metadata


def check_host_view(channel_id: str | None, response_url: str | None) -> dict[str, Any]:
    """The modal to open with ``views.open``. Where the answer goes is kept in ``private_metadata``."""
    where = {k: v for k, v in (("channel", channel_id), ("response_url", response_url)) if v}
    metadata = json.dumps(where, separators=(",", ":"))
    if len(metadata) > MAX_METADATA:  # a response_url that long is not Slack's: answer by direct message
        metadata = "{}"
    return {
        "type": "modal",
        "callback_id": CALLBACK_ID,
        "title": {"type": "plain_text", "text": "Check a host"},
        "submit": {"type": "plain_text", "text": "Check"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": metadata,
        "blocks": [
            {
                "type": "input",
                "block_id": HOST_BLOCK,
                "label": {"type": "plain_text", "text": "Exchange server"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": HOST_ACTION,
                    "max_length": MAX_INPUT,
                    "placeholder": {"type": "plain_text", "text": "mail.example.com"},
                },
                "hint": {
                    "type": "plain_text",
                    "text": "A host name, host:port, https:// URL, IP address, or a mail address (its domain's "
                    "servers are found first).",
                },
            },
            context(["Plain HTTPS requests only, as a browser sends. Only you see the answer until you share it."]),
        ],
    }


def submitted(view: Any) -> tuple[str, str | None, str | None]:
    """(text typed, channel, response_url) from a submitted view; anything malformed reads as empty
    (the payload is signed by Slack, but its shape is still checked, never trusted)."""
    if not isinstance(view, dict):
        return "", None, None
    state = view.get("state")
    values = state.get("values") if isinstance(state, dict) else None
    block = values.get(HOST_BLOCK) if isinstance(values, dict) else None
    field = block.get(HOST_ACTION) if isinstance(block, dict) else None
    value = field.get("value") if isinstance(field, dict) else None
    text = value[: MAX_INPUT + 1] if isinstance(value, str) else ""
    try:
        where = json.loads(view.get("private_metadata") or "{}")
    except (TypeError, ValueError, RecursionError):
        where = {}
    if not isinstance(where, dict):
        where = {}
    channel, url = where.get("channel"), where.get("response_url")
    return (
        text,
        channel if isinstance(channel, str) and channel.isascii() and channel.isalnum() and len(channel) < 32 else None,
        url if isinstance(url, str) and url.startswith(("https://", "http://")) and len(url) <= MAX_METADATA else None,
    )


def input_error(problem: str) -> dict[str, str]:
    """The ``errors`` of a ``response_action: errors`` answer: shown under the input field."""
    text = problem if len(problem) <= MAX_ERROR else problem[: MAX_ERROR - 1] + "…"
    return {HOST_BLOCK: text}
