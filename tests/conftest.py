"""Shared fixtures: the real knowledge catalog and a fixed 'today'."""

from __future__ import annotations

import datetime as dt

import pytest

from bot.core.catalog import Catalog
from bot.knowledge import load_catalog

TODAY = dt.date(2026, 11, 29)


@pytest.fixture(scope="session")
def catalog() -> Catalog:
    return load_catalog()


@pytest.fixture()
def today() -> dt.date:
    return TODAY
