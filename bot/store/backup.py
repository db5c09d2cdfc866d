"""Backups and restores of the SQLite database, safe while other exchbot processes keep writing.

* :func:`backup` copies the live database with SQLite's online backup API in one step (one read
  transaction: a consistent snapshot; in WAL mode writers are not blocked), into a temporary file
  next to the destination, verifies it (integrity check, exchbot schema) and only then renames it
  into place. The copy is a single self-contained file (rollback journal mode, no ``-wal``).
* :func:`restore` vets the file first, prepares the replacement beside the live database (migrating
  an older schema), keeps the current database as ``<name>.before-restore`` and swaps atomically.
  Nothing touches the live database until every check has passed.
* :func:`dated_backup` and :func:`rotate` serve the daily backup of ``exchbot serve``.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import re
import shutil
import sqlite3
import uuid
from dataclasses import dataclass
from pathlib import Path

from bot.store._sqlite import sqlite_utils  # without numpy/pandas (see bot/store/_sqlite.py)
from bot.store.dbfile import DbFileError, DbInfo, connect_readonly, schema_version, untrusted_objects, verify
from bot.store.migrations import LATEST, migrate

BEFORE_RESTORE = ".before-restore"
DATED = re.compile(r"^exchbot-\d{8}T\d{6}Z\.db$")
SWAP_TIMEOUT_S = 3.0  # how long restore waits for other connections to go away


class BackupError(Exception):
    """Backup or restore failed; ``str()`` is one line for the user. The live database is unchanged."""


@dataclass(frozen=True)
class RestoreResult:
    """What a restore did: the database it put in place and where the old one was kept."""

    info: DbInfo  # what the database now holds
    source_version: int  # the schema version of the restored file (older ones were migrated)
    previous: Path | None  # where the replaced database was kept (None: there was none)


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.tmp-{os.getpid()}-{uuid.uuid4().hex[:8]}")


def _remove(path: Path) -> None:
    for p in (path, Path(f"{path}-journal"), Path(f"{path}-wal"), Path(f"{path}-shm")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    except OSError:
        pass  # some filesystems (and directories on some platforms) cannot be fsynced
    finally:
        os.close(fd)


def _copy_into(src: sqlite3.Connection, temp: Path) -> None:
    """One-step online backup of ``src`` into a new file ``temp``, left in rollback-journal mode."""
    dst = sqlite3.connect(str(temp), isolation_level=None)
    try:
        src.backup(dst)  # pages=-1: everything in one step, under one read transaction of the source
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
    _fsync(temp)


def backup(db_path: Path, dest: Path) -> DbInfo:
    """Copy the database at ``db_path`` to ``dest`` (a file path) and return what the copy holds."""
    db_path, dest = Path(db_path), Path(dest)
    if not db_path.is_file():
        raise BackupError(f"no database at {db_path}: nothing to back up")
    if dest.resolve() == db_path.resolve():
        raise BackupError(f"{dest} is the live database itself: choose another path")
    if not dest.parent.is_dir():
        raise BackupError(f"{dest.parent} is not a directory")
    temp = _temp_beside(dest)
    try:
        try:
            src = sqlite3.connect(db_path.resolve().as_uri() + "?mode=rw", uri=True, timeout=30, isolation_level=None)
        except sqlite3.Error as exc:
            raise BackupError(f"cannot open {db_path}: {exc}") from None
        try:
            expected = schema_version(src)
            if expected > LATEST:  # said of the database, not of the temporary copy verify() would name
                raise BackupError(
                    f"{db_path} was written by a newer exchbot (schema version {expected}; this one knows up to "
                    f"{LATEST}): upgrade exchbot first"
                )
            _copy_into(src, temp)
        except sqlite3.Error as exc:
            raise BackupError(f"backup of {db_path} failed: {exc}") from None
        except OSError as exc:
            raise BackupError(f"cannot write {temp.parent}: {exc.strerror}") from None
        finally:
            src.close()
        try:
            info = verify(temp)
        except DbFileError as exc:
            raise BackupError(f"the copy failed verification, nothing written: {exc}") from None
        if info.schema_version != expected:
            raise BackupError(f"the copy has schema version {info.schema_version}, expected {expected}")
        try:
            os.replace(temp, dest)
        except OSError as exc:
            raise BackupError(f"cannot write {dest}: {exc.strerror}") from None
        _fsync(dest.parent)
    finally:
        _remove(temp)
    return DbInfo(path=dest, schema_version=info.schema_version, counts=info.counts, size=info.size)


def inspect_restore(src: Path) -> DbInfo:
    """Vet a file before it may replace the database (raises :class:`BackupError`)."""
    try:
        info = verify(Path(src))
        extra = untrusted_objects(Path(src))
    except DbFileError as exc:
        raise BackupError(str(exc)) from None
    except sqlite3.Error as exc:
        raise BackupError(f"{src} is damaged: {exc}") from None
    if extra:
        raise BackupError(f"{src} contains objects exchbot never creates ({', '.join(extra)[:120]})")
    return info


def restore(src: Path, db_path: Path) -> RestoreResult:
    """Replace the database at ``db_path`` with the backup ``src`` (see the module docstring)."""
    src, db_path = Path(src), Path(db_path)
    if db_path.exists() and src.resolve() == db_path.resolve():
        raise BackupError(f"{src} is the live database itself")
    source = inspect_restore(src)
    db_path.parent.mkdir(parents=True, exist_ok=True)
    temp = _temp_beside(db_path)
    try:
        _prepare(src, temp)
        try:
            info = verify(temp)
        except DbFileError as exc:
            raise BackupError(f"the prepared copy failed verification: {exc}") from None
        previous = _swap(temp, db_path)
    finally:
        _remove(temp)
    return RestoreResult(
        info=DbInfo(path=db_path, schema_version=info.schema_version, counts=info.counts, size=info.size),
        source_version=source.schema_version,
        previous=previous,
    )


def _prepare(src: Path, temp: Path) -> None:
    """Copy the backup to ``temp`` (reading through its WAL, if it has one) and migrate it."""
    try:
        conn = connect_readonly(src)
        try:
            _copy_into(conn, temp)
        finally:
            conn.close()
        db = sqlite_utils.Database(sqlite3.connect(str(temp), isolation_level=None))
        try:
            if schema_version(db.conn) < LATEST:
                migrate(db)
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BackupError(f"cannot prepare {src} for restore: {exc}") from None
    except OSError as exc:
        raise BackupError(f"cannot write beside the database: {exc.strerror}") from None


def _swap(temp: Path, db_path: Path) -> Path | None:
    """Keep the current database as ``<name>.before-restore`` and move ``temp`` into its place."""
    if not db_path.exists():
        for stale in (Path(f"{db_path}-wal"), Path(f"{db_path}-shm"), Path(f"{db_path}-journal")):
            with contextlib.suppress(FileNotFoundError):
                stale.unlink()  # left by a database that is gone: would be applied to the new file
        os.replace(temp, db_path)
        _fsync(db_path.parent)
        return None
    lock = _exclusive(db_path)
    try:
        previous = db_path.with_name(db_path.name + BEFORE_RESTORE)
        _keep(db_path, previous)
        wal = Path(f"{db_path}-wal")
        if wal.exists():  # only when the current file is damaged (a healthy one was checkpointed)
            os.replace(wal, Path(f"{previous}-wal"))
        with contextlib.suppress(FileNotFoundError):
            Path(f"{db_path}-shm").unlink()
        os.replace(temp, db_path)
        _fsync(db_path.parent)
    except OSError as exc:
        raise BackupError(f"cannot replace {db_path}: {exc.strerror}") from None
    finally:
        if lock is not None:
            with contextlib.suppress(sqlite3.Error):
                lock.execute("ROLLBACK")
            lock.close()
    return previous


def _exclusive(db_path: Path) -> sqlite3.Connection | None:
    """Fold the WAL into the database file and hold an exclusive lock, so the file is complete on
    its own and no exchbot process writes to it during the swap. None if the current file is
    damaged (it is then kept as it is, with its WAL)."""
    conn = sqlite3.connect(str(db_path), timeout=SWAP_TIMEOUT_S, isolation_level=None)
    try:
        mode = conn.execute("PRAGMA journal_mode=DELETE").fetchone()
        if not mode or str(mode[0]).lower() != "delete":
            raise BackupError(f"{db_path} is in use by another exchbot process: stop `exchbot serve` first")
        conn.execute("BEGIN EXCLUSIVE")
    except sqlite3.OperationalError as exc:
        conn.close()
        if "locked" in str(exc) or "busy" in str(exc):
            raise BackupError(
                f"{db_path} is in use by another exchbot process: stop `exchbot serve` (and running checks) first"
            ) from None
        raise BackupError(f"cannot lock {db_path}: {exc}") from None
    except sqlite3.DatabaseError:
        conn.close()
        return None
    except BaseException:
        conn.close()
        raise
    return conn


def _keep(db_path: Path, previous: Path) -> None:
    """``previous`` becomes the current file (a hard link, or a copy where links are not supported);
    an older ``previous`` is moved aside with a time stamp rather than overwritten."""
    if previous.exists():
        stamp = dt.datetime.fromtimestamp(previous.stat().st_mtime, dt.UTC).strftime("%Y%m%dT%H%M%SZ")
        os.replace(previous, previous.with_name(f"{previous.name}.{stamp}"))
    temp = _temp_beside(previous)
    try:
        try:
            os.link(db_path, temp)
        except OSError:
            shutil.copy2(db_path, temp)
            _fsync(temp)
        os.replace(temp, previous)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()


def dated_name(now: dt.datetime) -> str:
    return f"exchbot-{now.astimezone(dt.UTC):%Y%m%dT%H%M%SZ}.db"


def dated_backup(db_path: Path, directory: Path, now: dt.datetime, keep: int) -> tuple[DbInfo, list[Path]]:
    """A backup named after ``now`` in ``directory`` (created if missing); then only the newest
    ``keep`` dated backups are kept. Returns the backup and the files removed."""
    directory = Path(directory)
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BackupError(f"cannot create {directory}: {exc.strerror}") from None
    info = backup(db_path, directory / dated_name(now))
    return info, rotate(directory, keep)


def dated_backups(directory: Path) -> list[Path]:
    """The dated backups in ``directory``, oldest first (names sort by time)."""
    try:
        return sorted(p for p in Path(directory).iterdir() if DATED.match(p.name) and p.is_file())
    except OSError:
        return []


def rotate(directory: Path, keep: int) -> list[Path]:
    """Delete all but the newest ``keep`` dated backups; other files are never touched."""
    files = dated_backups(directory)
    doomed = files[: max(0, len(files) - max(1, keep))]
    for p in doomed:
        with contextlib.suppress(FileNotFoundError):
            p.unlink()
    return doomed
