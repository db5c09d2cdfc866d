"""The parsed-catalog cache (bot/catalog_cache.py): used when it matches, never when it does not."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import pytest

from bot import catalog_cache
from bot.core.catalog import Catalog


@pytest.fixture()
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    return tmp_path / "exchbot"


class Parser:
    """Counts parses; returns the real catalog."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog, self.calls = catalog, 0

    def __call__(self) -> Catalog:
        self.calls += 1
        return self.catalog


def same(a: Catalog, b: Catalog) -> bool:
    return all(getattr(a, f.name) == getattr(b, f.name) for f in dataclasses.fields(Catalog))


def test_second_load_is_read_from_the_cache_and_equal(cache: Path, catalog: Catalog) -> None:
    parse = Parser(catalog)
    first = catalog_cache.cached_catalog(b"content-1", parse)
    second = catalog_cache.cached_catalog(b"content-1", parse)
    assert parse.calls == 1 and first is catalog
    assert second is not catalog and same(second, catalog)
    assert second.release(catalog.releases[0].build) == catalog.releases[0]  # its indexes work
    assert len(list(cache.glob("catalog-*.pickle"))) == 1


def test_changed_knowledge_is_parsed_again_and_the_old_file_dropped(cache: Path, catalog: Catalog) -> None:
    parse = Parser(catalog)
    catalog_cache.cached_catalog(b"content-1", parse)
    old = set(cache.glob("catalog-*.pickle"))
    catalog_cache.cached_catalog(b"content-2", parse)
    assert parse.calls == 2
    new = set(cache.glob("catalog-*.pickle"))
    assert len(new) == 1 and not new & old


@pytest.mark.parametrize("garbage", [b"", b"not a pickle", b"\x80\x05N."])  # empty, junk, a pickled None
def test_a_corrupt_or_foreign_file_is_parsed_instead(cache: Path, catalog: Catalog, garbage: bytes) -> None:
    parse = Parser(catalog)
    catalog_cache.cached_catalog(b"content-1", parse)
    (path,) = cache.glob("catalog-*.pickle")
    path.write_bytes(garbage)
    assert catalog_cache.cached_catalog(b"content-1", parse) is catalog
    assert parse.calls == 2


def test_a_file_others_can_write_is_never_unpickled(cache: Path, catalog: Catalog) -> None:
    parse = Parser(catalog)
    catalog_cache.cached_catalog(b"content-1", parse)
    (path,) = cache.glob("catalog-*.pickle")
    os.chmod(path, 0o666)
    assert catalog_cache.cached_catalog(b"content-1", parse) is catalog
    assert parse.calls == 2


def test_an_unwritable_cache_still_gives_the_catalog(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, catalog: Catalog
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache directory would go")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    parse = Parser(catalog)
    assert catalog_cache.cached_catalog(b"content-1", parse) is catalog
    assert catalog_cache.cached_catalog(b"content-1", parse) is catalog
    assert parse.calls == 2


def test_load_catalog_from_the_cache_matches_a_fresh_parse(cache: Path, catalog: Catalog) -> None:
    from bot import knowledge

    knowledge._load.cache_clear()
    try:
        cold = knowledge.load_catalog()
        knowledge._load.cache_clear()
        warm = knowledge.load_catalog()
    finally:
        knowledge._load.cache_clear()
    assert list(cache.glob("catalog-*.pickle"))
    assert warm is not cold and same(warm, cold) and same(warm, catalog)
