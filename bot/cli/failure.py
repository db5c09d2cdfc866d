"""One-line failures for the command line: ``exchbot: MESSAGE`` on stderr, no usage block, no traceback.

Bad settings are usage errors (exit 2); database faults are operational errors (exit 1) that name
the file and the cause (:func:`database_failure`).
"""

from __future__ import annotations

from pathlib import Path
from typing import IO, Any

import click

from bot.redact import redact


class UserError(click.ClickException):
    """The one error type the CLI shows a user: one line ``exchbot: MESSAGE`` on stderr (secrets
    masked), exit ``code`` (1 for an operational failure, 2 for a usage error such as a bad setting)."""

    def __init__(self, message: str, code: int = 1) -> None:
        super().__init__(message)
        vars(self)["exit_code"] = code  # click declares exit_code per class; this one is per error

    def show(self, file: IO[Any] | None = None) -> None:
        line = " ".join(redact(self.format_message()).split())  # one line, secrets masked
        click.echo(f"exchbot: {line}", err=True)


def database_cause(exc: BaseException, path: Path, lock_timeout: float) -> str:
    """A short reason for a database fault, in the operator's words."""
    import sqlite3  # here, not at the top: a check's first request leaves before the database layer loads

    text = str(exc)
    low = text.lower()
    if path.is_dir():
        return "is a directory, not a database file"
    if isinstance(exc, sqlite3.DatabaseError) and ("not a database" in low or "malformed" in low):
        return "not a SQLite database, or corrupt"
    if "readonly" in low or "read-only" in low:
        return "read-only (check the file's and its folder's permissions)"
    if "disk is full" in low or "no space" in low:
        return "the disk is full"
    if "locked" in low or "busy" in low:
        return f"locked by another process for more than {lock_timeout:g} s (EXCHBOT_DB_LOCK_TIMEOUT sets the limit)"
    if "unable to open" in low:
        return "cannot be opened (missing folder or no permission)"
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror.lower()
    return text[:200] or type(exc).__name__


def database_failure(exc: BaseException, path: Path, lock_timeout: float) -> UserError:
    return UserError(f"database {str(path)!a}: {database_cause(exc, path, lock_timeout)}")
