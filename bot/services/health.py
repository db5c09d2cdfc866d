"""The health answer of ``exchbot serve`` (``GET /healthz``) and its start-up line about the database."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.store import Store
from bot.store.dbfile import counts, schema_version, writable_problem

# None when healthy, else the reason.
HealthFn = Callable[[], str | None]


def health_check(db_path: Path, connected: Callable[[], bool] | None = None, link: str = "Slack") -> HealthFn:
    """Healthy when the database can be written now and, if ``connected`` is given (Socket Mode),
    the connection to Slack is up."""

    def check() -> str | None:
        if connected is not None and not connected():
            return f"the connection to {link} is down"
        return writable_problem(db_path)

    return check


def describe_database(store: Store) -> str:
    """One line for the start-up log: where the database is and what it holds (opens and migrates it)."""
    conn = store.db.conn
    held = counts(conn)
    return f"database {store.path} holds {held.text()} (schema {schema_version(conn)})"
