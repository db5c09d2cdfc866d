"""A cache of the parsed knowledge catalog, so a run does not parse the CSV files again.

Parsing ``knowledge/*.csv`` costs every ``exchbot check`` about 10 ms before its first request
leaves; unpickling the result costs half that. The cache file lives in ``$XDG_CACHE_HOME/exchbot``
(``~/.cache/exchbot``) and is named by a hash of everything the catalog is made of: the knowledge
files' bytes, the source of the modules whose classes are pickled, and the Python version. A
change to any of them makes a new name, so a stale file is never read (older ones are removed when
a new one is written). Any failure (no cache directory, a corrupt or foreign file, a read-only
disk) falls back to parsing: the cache only ever saves time.

Unpickling runs code named in the file, so a file is only read when it and its directory belong to
this user and nobody else can write them (the directory is made private); anything else is parsed.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import pickle
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from bot.core import buildnum, catalog
from bot.core.catalog import Catalog

FORMAT = b"exchbot-catalog-cache-1"  # bump when what is cached changes shape in another way


def cache_dir() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "").strip()
    return (Path(xdg).expanduser() if xdg else Path("~/.cache").expanduser()) / "exchbot"


def _key(content_digest: bytes) -> str:
    h = hashlib.sha256(FORMAT)
    h.update(sys.version.encode())
    for module in (catalog, buildnum):  # the classes a pickled catalog is made of
        h.update(Path(module.__file__ or "").read_bytes())
    h.update(content_digest)
    return h.hexdigest()[:32]


def cached_catalog(content_digest: bytes, parse: Callable[[], Catalog]) -> Catalog:
    """The catalog ``parse`` returns for knowledge files whose bytes hash to ``content_digest``,
    from the cache when it holds it, else parsed (and written to the cache)."""
    try:
        path = cache_dir() / f"catalog-{_key(content_digest)}.pickle"
    except OSError:  # a module's source is unreadable: no cache
        return parse()
    with contextlib.suppress(Exception):  # missing, truncated, or not ours: parse instead
        if _private(path.parent) and _private(path):
            found = pickle.loads(path.read_bytes())  # noqa: S301  (our own file: see _private)
            if isinstance(found, Catalog):
                return found
    parsed = parse()
    with contextlib.suppress(Exception):
        _write(path, pickle.dumps(parsed, protocol=pickle.HIGHEST_PROTOCOL))
    return parsed


def _private(path: Path) -> bool:
    """Owned by this user and writable by nobody else."""
    st = path.stat()
    return st.st_uid == os.getuid() and not st.st_mode & 0o022


def _write(path: Path, data: bytes) -> None:
    """Atomically (a concurrent reader sees the old file or the new one), then drop older files."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".catalog-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    for old in path.parent.glob("catalog-*.pickle"):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()
