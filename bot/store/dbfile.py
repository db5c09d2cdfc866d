"""Looking at a database file from outside, without changing it: is it SQLite, intact, an exchbot
schema this version understands, what it holds; and can the live database still be written.

Used by ``backup`` (to verify the copy), ``restore`` (to vet the file before it replaces anything),
``status`` and the health endpoint. Every problem is a :class:`DbFileError` with one line for the user.
"""

from __future__ import annotations

import os
import sqlite3
import struct
from dataclasses import dataclass
from pathlib import Path

from bot.store.migrations import LATEST

SQLITE_MAGIC = b"SQLite format 3\x00"
HEADER_SIZE = 100
EXCHBOT_TABLES = frozenset({"_migrations", "targets", "checks", "watchlist"})
PROBE_TIMEOUT_S = 2.0


class DbFileError(Exception):
    """The file cannot be used; ``str()`` is one line naming the file and the reason."""


@dataclass(frozen=True)
class Counts:
    """How many rows the main tables of a database hold."""

    checks: int
    hosts: int
    snapshots: int
    watchlist: int

    def as_dict(self) -> dict[str, int]:
        return {"checks": self.checks, "hosts": self.hosts, "snapshots": self.snapshots, "watchlist": self.watchlist}

    def text(self) -> str:
        return (
            f"{self.checks} checks, {self.hosts} hosts, {self.snapshots} snapshots, {self.watchlist} watchlist entries"
        )


@dataclass(frozen=True)
class DbInfo:
    """A database file: its schema version, counts, size and integrity check."""

    path: Path
    schema_version: int
    counts: Counts
    size: int
    integrity: str = "ok"


def connect_readonly(path: Path, timeout: float = 30.0) -> sqlite3.Connection:
    """Open ``path`` read-only; never creates the file."""
    uri = Path(path).resolve().as_uri() + "?mode=ro"
    conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
    conn.execute("PRAGMA trusted_schema = OFF")  # the file may come from anywhere: no side effects
    return conn


def _check_header(path: Path) -> None:
    try:
        with open(path, "rb") as fh:
            header = fh.read(HEADER_SIZE)
        size = path.stat().st_size
    except FileNotFoundError:
        raise DbFileError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise DbFileError(f"{path} is a directory, not a database file") from None
    except OSError as exc:
        raise DbFileError(f"cannot read {path}: {exc.strerror}") from None
    if not header.startswith(SQLITE_MAGIC[: len(header)]) or len(header) < len(SQLITE_MAGIC):
        raise DbFileError(f"{path} is not an SQLite database")
    if len(header) < HEADER_SIZE:
        raise DbFileError(f"{path} is truncated ({size} bytes, less than an SQLite header)")
    (page_size,) = struct.unpack(">H", header[16:18])
    page_size = 65536 if page_size == 1 else page_size
    change_counter, page_count = struct.unpack(">II", header[24:32])
    (valid_for,) = struct.unpack(">I", header[92:96])
    # The in-header page count is trustworthy when it was written by the same change (SQLite 3.7+).
    if page_count and valid_for == change_counter and size < page_count * page_size:
        raise DbFileError(f"{path} is truncated ({size} of {page_count * page_size} bytes)")


def schema_version(conn: sqlite3.Connection) -> int:
    row = conn.execute("PRAGMA user_version").fetchone()
    return int(row[0]) if row else 0


def counts(conn: sqlite3.Connection) -> Counts:
    def count(table: str) -> int:
        try:
            return int(conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])  # noqa: S608 (fixed names)
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise

    return Counts(
        checks=count("checks"), hosts=count("targets"), snapshots=count("snapshots"), watchlist=count("watchlist")
    )


def untrusted_objects(path: Path) -> list[str]:
    """Triggers and virtual tables in a file: exchbot never creates them, and a restored file must
    not bring SQL that runs later against the live data."""
    conn = connect_readonly(path)
    try:
        rows = conn.execute(
            "SELECT type, name FROM sqlite_master WHERE type = 'trigger' OR sql LIKE 'CREATE VIRTUAL TABLE%'"
        ).fetchall()
    finally:
        conn.close()
    return [f"{kind} {name}" for kind, name in rows]


def verify(path: Path, *, integrity: bool = True, newest: int = LATEST) -> DbInfo:
    """Check that ``path`` is an intact exchbot database no newer than ``newest``; raise
    :class:`DbFileError` otherwise. Read-only: the file is not changed."""
    path = Path(path)
    _check_header(path)
    try:
        conn = connect_readonly(path)
    except sqlite3.Error as exc:
        raise DbFileError(f"cannot open {path}: {exc}") from None
    try:
        if integrity:
            rows = [r[0] for r in conn.execute("PRAGMA integrity_check(5)").fetchall()]
            if rows != ["ok"]:
                raise DbFileError(f"{path} failed the SQLite integrity check: {'; '.join(rows)[:200]}")
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        version = schema_version(conn)
        if not tables >= EXCHBOT_TABLES or version < 1:
            raise DbFileError(f"{path} is an SQLite database but not an exchbot one")
        if version > newest:
            raise DbFileError(
                f"{path} was written by a newer exchbot (schema version {version}; this one knows up to "
                f"{newest}): upgrade exchbot first"
            )
        info = DbInfo(path=path, schema_version=version, counts=counts(conn), size=path.stat().st_size)
    except sqlite3.DatabaseError as exc:
        raise DbFileError(f"{path} is damaged: {exc}") from None
    finally:
        conn.close()
    return info


def writable_problem(path: Path) -> str | None:
    """None if a write transaction can be started on the database now, else why not (one line).

    Opens a fresh connection each time (a connection opened earlier keeps its file handle even after
    the file or the filesystem turned read-only), writes the schema version back unchanged inside a
    transaction and rolls it back: nothing is committed."""
    path = Path(path)
    if not path.exists():
        return f"no database at {path}"
    # SQLite silently opens a file it may not write read-only; ask the OS first (mode bits, the
    # immutable flag, a read-only filesystem), for the database and its WAL files.
    for part in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        try:
            os.close(os.open(part, os.O_RDWR))
        except FileNotFoundError:
            continue
        except OSError as exc:
            return f"the database is not writable: {part.name}: {exc.strerror}"
    try:
        conn = sqlite3.connect(
            Path(path).resolve().as_uri() + "?mode=rw", uri=True, timeout=PROBE_TIMEOUT_S, isolation_level=None
        )
    except sqlite3.Error as exc:
        return f"cannot open the database: {exc}"
    try:
        conn.execute("BEGIN IMMEDIATE")
        try:
            conn.execute(f"PRAGMA user_version = {schema_version(conn)}")
        finally:
            conn.execute("ROLLBACK")
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            return None  # another process is writing right now: busy, not read-only
        return f"the database is not writable: {exc}"
    except sqlite3.DatabaseError as exc:
        return f"the database is damaged: {exc}"
    finally:
        conn.close()
    return None
