"""Audit trail: who asked what, from where, and what happened."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from bot.store.checks import iso
from bot.store.connection import inserted_id, write_transaction

if TYPE_CHECKING:
    import sqlite_utils  # imported when a database is opened (bot/store/connection.py)

MAX_TEXT = 2000  # user text is stored, but bounded


def record(
    db: sqlite_utils.Database,
    *,
    at: dt.datetime,
    source: str,
    command: str,
    text: str,
    outcome: str,
    user_id: str | None = None,
    user_name: str | None = None,
    channel_id: str | None = None,
) -> int:
    with write_transaction(db):
        return inserted_id(
            db.table("audit").insert(
                {
                    "at": iso(at),
                    "source": source,
                    "user_id": user_id,
                    "user_name": user_name,
                    "channel_id": channel_id,
                    "command": command,
                    "text": text[:MAX_TEXT],
                    "outcome": outcome[:MAX_TEXT],
                }
            )
        )
