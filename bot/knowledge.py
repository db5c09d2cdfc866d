"""Load ``knowledge/*.csv`` into a :class:`~bot.core.catalog.Catalog` (the only file IO for it).

Search order: ``$EXCHBOT_KNOWLEDGE_DIR``, the copy packed into the wheel (``bot/_knowledge``), the
repository's ``knowledge/`` next to the package (editable installs and checkouts).
"""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import functools
import hashlib
import os
from pathlib import Path

from bot.core.catalog import Catalog

FILES = ("builds.csv", "lifecycle.csv", "cves.csv", "cve_fixes.csv", "regions.csv", "countries.csv")


class KnowledgeError(RuntimeError):
    """The knowledge directory is missing or unreadable."""


def knowledge_dir() -> Path:
    env = os.environ.get("EXCHBOT_KNOWLEDGE_DIR", "").strip()
    if env:  # a given directory is used or refused, never silently replaced by the packaged data
        if not (Path(env).expanduser() / "builds.csv").is_file():
            raise KnowledgeError(f"EXCHBOT_KNOWLEDGE_DIR={env!a} has no builds.csv")
        return Path(env).expanduser()
    candidates: list[Path] = []
    here = Path(__file__).resolve().parent
    candidates += [here / "_knowledge", here.parent / "knowledge"]
    for path in candidates:
        if (path / "builds.csv").is_file():
            return path
    raise KnowledgeError("knowledge/ not found (set EXCHBOT_KNOWLEDGE_DIR to the folder with builds.csv)")


def _rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def load_catalog(directory: str | None = None) -> Catalog:
    """The catalog of ``directory`` (default: :func:`knowledge_dir`, so EXCHBOT_KNOWLEDGE_DIR is
    read on every call and a changed setting is not hidden by the cache)."""
    return _load(str(Path(directory) if directory else knowledge_dir()))


@functools.lru_cache(maxsize=4)
def _load(directory: str) -> Catalog:
    base = Path(directory)
    digest = hashlib.sha256()
    tables: dict[str, list[dict[str, str]]] = {}
    for name in FILES:
        path = base / name
        try:
            digest.update(path.read_bytes())
            tables[name] = _rows(path)
        except OSError as exc:
            raise KnowledgeError(f"cannot read {path}: {exc.strerror}") from exc
    catalog = Catalog.from_rows(
        builds=tables["builds.csv"],
        lifecycle=tables["lifecycle.csv"],
        cves=tables["cves.csv"],
        fixes=tables["cve_fixes.csv"],
        regions=tables["regions.csv"],
        countries=tables["countries.csv"],
    )
    # The version names the data date and the exact files, so stored results can be recomputed.
    version = f"{catalog.data_date.isoformat()}+{digest.hexdigest()[:12]}"
    return dataclasses.replace(catalog, version=version, kev_date=kev_catalog_date(base))


def knowledge_origin() -> str:
    """``packaged`` for the data shipped with exchbot, else the EXCHBOT_KNOWLEDGE_DIR path in use."""
    env = os.environ.get("EXCHBOT_KNOWLEDGE_DIR")
    if env and (Path(env) / "builds.csv").is_file():
        return str(Path(env))
    return "packaged"


def sources(base: Path | None = None) -> list[dict[str, str]]:
    """The rows of ``sources.csv`` (empty when the file is missing or unreadable)."""
    try:
        return _rows((base or knowledge_dir()) / "sources.csv")
    except (OSError, csv.Error, UnicodeDecodeError):
        return []


def meta(base: Path | None = None) -> dict[str, str]:
    """``meta.csv`` if there is one: ``key,value`` rows, or one row with a column per key."""
    try:
        rows = _rows((base or knowledge_dir()) / "meta.csv")
    except (OSError, csv.Error, UnicodeDecodeError):
        return {}
    out: dict[str, str] = {}
    for row in rows:
        key = row.get("key") or row.get("name")
        if key is not None and "value" in row:
            out[key.strip()] = (row.get("value") or "").strip()
        else:
            out.update({k.strip(): (v or "").strip() for k, v in row.items() if k})
    return out


_KEV_META_KEYS = ("kev_catalog_date", "kev_catalogue_date", "kev_date", "kev_as_of", "cisa_kev_date", "cisa-kev")


def kev_catalog_date(base: Path | None = None) -> dt.date | None:
    """The date of the CISA KEV catalogue the ``kev`` flags come from: ``meta.csv`` if it names
    one, else the ``as_of`` of the ``cisa-kev`` row of ``sources.csv``; None if neither parses."""
    m = meta(base)
    for key in _KEV_META_KEYS:
        found = _iso_date(m.get(key, ""))
        if found is not None:
            return found
    for row in sources(base):
        if (row.get("source_id") or row.get("id") or "") == "cisa-kev":
            return _iso_date(row.get("as_of") or "")
    return None


def _iso_date(text: str) -> dt.date | None:
    try:
        return dt.date.fromisoformat(text.strip()[:10])
    except ValueError:
        return None
