"""Who asked, from where, and where to answer: read from slash-command, block_actions and event
payloads (each spells it differently), plus the allowlists and the audit row."""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.config import Settings
from bot.repeats import storage_errors
from bot.slack.deps import SlackDeps

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Requester:
    """Who asked in Slack, and where the answer goes."""

    user_id: str
    user_name: str | None
    channel_id: str | None
    team_id: str | None
    response_url: str | None  # a secret while valid: never logged

    @property
    def tag(self) -> str:
        """``requested_by`` for stored checks."""
        return f"slack:{self.user_id}"


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _map(body: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = body.get(key)
    return value if isinstance(value, Mapping) else {}


def from_command(body: Mapping[str, Any]) -> Requester:
    return Requester(
        user_id=_str(body.get("user_id")) or "unknown",
        user_name=_str(body.get("user_name")),
        channel_id=_str(body.get("channel_id")),
        team_id=_str(body.get("team_id")),
        response_url=_str(body.get("response_url")),
    )


def from_action(body: Mapping[str, Any]) -> Requester:
    user, channel, container, team = (_map(body, k) for k in ("user", "channel", "container", "team"))
    return Requester(
        user_id=_str(user.get("id")) or "unknown",
        user_name=_str(user.get("username")) or _str(user.get("name")),
        channel_id=_str(channel.get("id")) or _str(container.get("channel_id")),
        team_id=_str(team.get("id")) or _str(user.get("team_id")),
        response_url=_str(body.get("response_url")),
    )


def refusal(settings: Settings, who: Requester, *, home: bool = False) -> str | None:
    """Why this requester may not use the app, or None. Empty allowlists allow everyone.

    With a channel allowlist, commands from anywhere else (direct messages included) are refused;
    the App Home has no channel, so only the user allowlist applies there.
    """
    if settings.allowed_users and who.user_id not in settings.allowed_users:
        return "exchbot is restricted to a list of users, and you are not on it. Ask the app's admins."
    if not home and settings.allowed_channels and who.channel_id not in settings.allowed_channels:
        return "exchbot is not enabled in this channel. Ask the app's admins, or use it in an allowed channel."
    return None


def audit(deps: SlackDeps, who: Requester, command: str, text: str, outcome: str) -> None:
    """One audit row per request, queued for the store's background writer (the acknowledgement
    never waits on the database). A failed write is logged, never shown to the user or raised."""
    try:
        deps.store.audit_later(
            at=deps.clock.now(),
            source="slack",
            user_id=who.user_id,
            user_name=who.user_name,
            channel_id=who.channel_id,
            command=command,
            text=text,
            outcome=outcome,
        )
    except sqlite3.Error as exc:  # a full disk fails every row: one line, repeats counted
        storage_errors.report(log, f"audit rows could not be written to {deps.store.path}: {exc}")
    except Exception as exc:
        log.error("audit row for %s by %s could not be written: %s", command, who.user_id, exc)
