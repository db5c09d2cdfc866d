"""Deliver a result: through the request's ``response_url``, checking the status it returns (a
webhook POST does not raise on 404 ``expired_url`` or 500), else with ``chat.postEphemeral``.

Results are ephemeral: a verdict names a host and its weaknesses, so only the person who asked sees
it and decides what to share. Nothing here logs a ``response_url`` (it is a bearer secret while
valid) or a token.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook import WebhookClient

from bot.redact import redact_json
from bot.render.blocks import Message
from bot.slack.requester import Requester

log = logging.getLogger(__name__)


def respond(
    who: Requester, msg: Message, *, client: WebClient | None, replace_original: bool = True, timeout: float = 10.0
) -> bool:
    """Send ``msg`` to the requester; True when Slack accepted it one way or the other."""
    msg = redact_json(msg)  # no secret leaves in a reply, whatever a server echoed into it
    if who.response_url:
        payload: dict[str, Any] = {**msg, "response_type": "ephemeral", "replace_original": replace_original}
        try:
            resp = WebhookClient(url=who.response_url, timeout=int(max(1, timeout))).send_dict(payload)
        except Exception as exc:  # connection refused, timeout, TLS: all the same to the user
            log.warning("response_url POST failed for %s: %s", who.user_id, type(exc).__name__)
        else:
            if resp.status_code == 200:
                return True
            log.warning("response_url answered %s (%s) for %s", resp.status_code, str(resp.body)[:80], who.user_id)
    return post_ephemeral(who, msg, client=client)


def post_ephemeral(who: Requester, msg: Message, *, client: WebClient | None) -> bool:
    """The fallback: an ephemeral message in the channel (needs chat:write and the bot in the channel);
    without a channel (a button in the App Home) a direct message from the app."""
    if client is not None and not who.channel_id and who.user_id.startswith(("U", "W")):
        try:
            client.chat_postMessage(channel=who.user_id, text=msg["text"], blocks=msg.get("blocks"))
        except Exception as exc:
            log.warning("direct message to %s failed: %s", who.user_id, type(exc).__name__)
            return False
        return True
    if client is None or not who.channel_id or who.user_id == "unknown":
        return False
    try:
        client.chat_postEphemeral(channel=who.channel_id, user=who.user_id, text=msg["text"], blocks=msg.get("blocks"))
    except SlackApiError as exc:
        log.warning("chat.postEphemeral failed for %s: %s", who.user_id, exc.response.get("error"))
        return False
    except Exception as exc:
        log.warning("chat.postEphemeral failed for %s: %s", who.user_id, type(exc).__name__)
        return False
    return True
