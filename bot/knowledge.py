"""Load ``knowledge/*.csv`` into a :class:`~bot.core.catalog.Catalog` (the only file IO for it).

Search order: ``$EXCHBOT_KNOWLEDGE_DIR``, the copy packed into the wheel (``bot/_knowledge``), the
repository's ``knowledge/`` next to the package (editable installs and checkouts).
"""

from __future__ import annotations

import csv
import dataclasses
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


@functools.lru_cache(maxsize=4)
def load_catalog(directory: str | None = None) -> Catalog:
    base = Path(directory) if directory else knowledge_dir()
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
    return dataclasses.replace(catalog, version=version)
