"""Storing a batch with fixed statements and one target lookup per batch leaves exactly the rows the
straightforward way (tests/reference/store_checks.py: sqlite-utils inserts, a lookup per row) left:
every column of checks, targets and verdict_sets, row for row, and the same ids returned."""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from bot.core.catalog import Catalog
from bot.core.model import CheckResult
from bot.probe.verdict import failed_result
from bot.store import Store
from bot.store import checks as fast
from tests.helpers import result
from tests.reference import store_checks as ref

T0 = dt.datetime(2026, 11, 1, 8, 0, tzinfo=dt.UTC)
BUILDS = ["15.2.1748.36", "15.2.1748.39", "15.1.2507.61", "15.0.1497.48", "14.3.513.0", None]


def batch(catalog: Catalog, round_no: int, n: int = 40) -> list[CheckResult]:
    out = []
    for i in range(n):
        at = T0 + dt.timedelta(days=round_no, seconds=i)
        out.append(result(catalog, f"h{i % 30}.example.com", at, BUILDS[(i + round_no) % len(BUILDS)]))
    # the same host twice in one batch, the later check first; a refused (never stored) target;
    # a host that was stored before under another spelling of its target
    out.append(result(catalog, "h1.example.com", T0 + dt.timedelta(days=round_no, seconds=-5), "15.2.1748.36"))
    out.append(failed_result("10.0.0.1", "10.0.0.1", T0, "refused: private address", catalog, attempted=False))
    out.append(dataclasses.replace(out[2], target="H2.Example.COM", checked_at=out[2].checked_at))
    return out


def tables(store: Store) -> dict[str, list[dict[str, Any]]]:
    db = store.db
    out: dict[str, list[dict[str, Any]]] = {}
    for table in ("targets", "checks", "verdict_sets"):
        cur = db.execute(f"SELECT * FROM {table} ORDER BY id")
        names = [c[0] for c in cur.description]
        out[table] = [dict(zip(names, row, strict=True)) for row in cur.fetchall()]
    return out


@pytest.mark.parametrize("requested_by", [None, "daily"])
def test_fast_and_reference_store_the_same_rows(tmp_path: Path, catalog: Catalog, requested_by: str | None) -> None:
    with Store(tmp_path / "ref.db") as a, Store(tmp_path / "fast.db") as b:
        for round_no in range(3):  # new hosts, then hosts known from earlier batches
            rows = batch(catalog, round_no)
            ids_a = ref.save_checks(a.db, rows, requested_by=requested_by, knowledge_version="kv")
            ids_b = fast.save_checks(b.db, rows, requested_by=requested_by, knowledge_version="kv")
            assert ids_a == ids_b and len(ids_b) == len(rows) - 1
        got_a, got_b = tables(a), tables(b)
    assert len(got_b["checks"]) == 3 * (len(rows) - 1)
    assert len(got_b["verdict_sets"]) == len([x for x in BUILDS if x])
    for rows_a, rows_b in ((got_a["targets"], got_b["targets"]), (got_a["verdict_sets"], got_b["verdict_sets"])):
        assert rows_a == rows_b
    batches_a: dict[str, str] = {}
    for ra, rb in zip(got_a["checks"], got_b["checks"], strict=True):
        assert batches_a.setdefault(ra.pop("batch_id"), rb.pop("batch_id")) is not None  # random, per batch
        assert ra == rb
        assert json.loads(rb["result_json"]).get("cves_ref") == rb["verdict_set_id"]
    assert len(batches_a) == 3 and len(set(batches_a.values())) == 3  # one batch id per batch, both ways


def test_a_failing_row_leaves_nothing_of_its_batch(tmp_path: Path, catalog: Catalog) -> None:
    rows = batch(catalog, 0)
    bad = dataclasses.replace(rows[5], host=None)  # type: ignore[arg-type]  # NOT NULL: the insert fails
    with Store(tmp_path / "x.db") as store:
        fast.save_checks(store.db, rows[:3])
        before = tables(store)
        with pytest.raises(Exception, match="NOT NULL"):
            fast.save_checks(store.db, [*rows[3:8], bad, *rows[8:]])
        assert tables(store) == before
        assert len(before["checks"]) == 3
