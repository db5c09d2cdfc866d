"""Where the history database lives by default. Kept apart from ``bot.store`` so that reading the
settings does not import the database layer (sqlite-utils) in commands that never open it."""

from __future__ import annotations

import os
from pathlib import Path

BUSY_TIMEOUT_S = 30.0  # default longest wait for another process's lock (EXCHBOT_DB_LOCK_TIMEOUT)


def default_path() -> Path:
    """``$EXCHBOT_DB``, else ``$XDG_DATA_HOME/exchbot/exchbot.db`` (~/.local/share by default)."""
    env = os.environ.get("EXCHBOT_DB")
    if env:
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_DATA_HOME")
    base = Path(xdg).expanduser() if xdg else Path("~/.local/share").expanduser()
    return base / "exchbot" / "exchbot.db"
