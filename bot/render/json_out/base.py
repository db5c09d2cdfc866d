"""The encoding every JSON shape shares: one timestamp format (UTC, ISO 8601, ending in ``Z``),
plain ``YYYY-MM-DD`` dates, and ``dumps``."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Mapping
from typing import Any


def timestamp(t: dt.datetime | None) -> str | None:
    """A point in time as UTC ending in ``Z`` (a naive time is taken to be UTC already)."""
    if t is None:
        return None
    if t.tzinfo is None:
        t = t.replace(tzinfo=dt.UTC)
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def iso(value: dt.date | dt.datetime | None) -> str | None:
    if isinstance(value, dt.datetime):
        return timestamp(value)
    return value.isoformat() if value is not None else None


def default(obj: object) -> Any:
    """``json.dumps`` hook: dates, dataclasses, tuples and mappings."""
    if isinstance(obj, dt.date | dt.datetime):
        return iso(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return dataclasses.asdict(obj)
    if isinstance(obj, Mapping):
        return dict(obj)
    if isinstance(obj, frozenset | set):
        return sorted(obj)
    raise TypeError(f"not JSON serialisable: {type(obj).__name__}")


# One encoder per layout, made once: json.dumps would build a new one for every call. Without the
# circular-reference bookkeeping (a set entry per dict and list): what is rendered is a fresh tree,
# and a cycle would still fail (RecursionError instead of ValueError).
_COMPACT = json.JSONEncoder(default=default, ensure_ascii=False, check_circular=False)
_INDENTED = json.JSONEncoder(default=default, ensure_ascii=False, indent=2, check_circular=False)


def dumps(value: object, *, indent: int | None = 2) -> str:
    if indent is None:
        return _COMPACT.encode(value)
    if indent == 2:
        return _INDENTED.encode(value)
    return json.dumps(value, default=default, indent=indent, ensure_ascii=False)
