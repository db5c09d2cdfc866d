"""The background audit writer: ``put`` returns before the row is written, rows are written in
order, a failed write is logged and does not stop the writer, ``close`` writes what is queued."""

from __future__ import annotations

import datetime as dt
import logging
import threading
from pathlib import Path
from typing import Any

import pytest

from bot.store import Store
from bot.store.audit_queue import AuditQueue

AT = dt.datetime(2026, 11, 2, 8, 15, tzinfo=dt.UTC)


def test_put_does_not_wait_for_the_write() -> None:
    release = threading.Event()
    written: list[dict[str, Any]] = []

    def slow_write(row: dict[str, Any]) -> None:
        assert release.wait(10)
        written.append(row)

    q = AuditQueue(slow_write)
    for i in range(3):
        q.put({"command": f"/c{i}"})  # returns while the writer is blocked on the first row
    assert written == []
    release.set()
    q.flush()
    assert [r["command"] for r in written] == ["/c0", "/c1", "/c2"]
    assert q.close()


def test_a_failed_write_is_logged_and_the_next_rows_still_written(caplog: pytest.LogCaptureFixture) -> None:
    written: list[str] = []

    def write(row: dict[str, Any]) -> None:
        if row["command"] == "/bad":
            raise OSError("disk full")
        written.append(row["command"])

    q = AuditQueue(write)
    with caplog.at_level(logging.ERROR, logger="bot.store.audit_queue"):
        for command in ("/a", "/bad", "/b"):
            q.put({"command": command})
        q.flush()
    assert written == ["/a", "/b"]
    assert "audit row for /bad could not be written: disk full" in caplog.text
    assert q.close()


def test_a_full_queue_holds_the_caller_back_instead_of_growing() -> None:
    release = threading.Event()
    q = AuditQueue(lambda row: release.wait(10), max_pending=2)
    for i in range(3):  # one being written, two waiting: the queue is full
        q.put({"command": f"/c{i}"})
    blocked = threading.Thread(target=q.put, args=({"command": "/late"},), daemon=True)
    blocked.start()
    blocked.join(0.2)
    assert blocked.is_alive()
    release.set()
    blocked.join(10)
    assert not blocked.is_alive()
    assert q.close()


def test_store_audit_later_rows_are_written_by_close(tmp_path: Path) -> None:
    db = tmp_path / "a.db"
    store = Store(db)
    for i in range(25):
        store.audit_later(
            at=AT, source="slack", command="/exchcheck", text=f"host{i}", outcome="accepted", user_id="U1"
        )
    store.close()  # writes what is queued, then closes the connections
    with Store(db) as again:
        rows = list(again.db.query("SELECT text, outcome, user_id FROM audit ORDER BY id"))
    assert [r["text"] for r in rows] == [f"host{i}" for i in range(25)]
    assert {(r["outcome"], r["user_id"]) for r in rows} == {("accepted", "U1")}


def test_store_flush_audit_makes_rows_visible(tmp_path: Path) -> None:
    with Store(tmp_path / "b.db") as store:
        store.flush_audit()  # nothing queued yet: returns at once
        store.audit_later(at=AT, source="cli", command="watch add", text="mail.example.com", outcome="ok")
        store.flush_audit()
        assert [r["command"] for r in store.db.query("SELECT command FROM audit")] == ["watch add"]
