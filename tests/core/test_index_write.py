"""The index's write path: what a page's upsert sends (counts and order, never times)."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from trashscan.index import _HANDLE_JSON, Index
from trashscan.models import DeletedAtSource, Page, ScanOutcome, TrashItem

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
P, A = "fake", "acct"

HANDLES: list[Any] = [
    {},
    {"trash_dir": "/t", "info": "a.jpg.trashinfo", "original_path": "/p/a.jpg",
     "file_id": {"size": 3, "inode": 7, "mtime_ns": 1796538899142040252}},
    {"z": [1, 2.5, None, True, False, "é\u2028\x00\"\\"], "a": {"b": {"c": []}}, "m": -0.0},
    {"nan": float("nan"), "inf": float("-inf"), "big": 10**30, "1": "one", "": ""},
    {"inner": "d/\udcff.jpg"},  # a surrogate escape, as a file name may carry
]  # fmt: skip


def test_a_restore_handle_is_stored_as_json_dumps_with_sorted_keys_writes_it() -> None:
    for handle in HANDLES:
        assert _HANDLE_JSON(handle) == json.dumps(handle, sort_keys=True)


def _upserts(ix: Index) -> list[Any]:
    seen: list[Any] = []

    @sa.event.listens_for(ix._engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ITEMS"):
            seen.append(parameters)

    return seen


def test_a_page_is_upserted_in_key_order_with_each_handle_as_stored(tmp_path: Path) -> None:
    """One executemany a page, its rows in item id order (each lands beside the previous one in
    the primary key), the restore handle's text and the times as the columns' types store them."""
    db = tmp_path / "index.db"
    ids = [f"id{(n * 7919) % 1000:04d}" for n in range(1000)]  # a hash-like order
    deleted = T0 - timedelta(days=3)
    with Index.open(f"sqlite:///{db}") as ix:
        seen = _upserts(ix)
        scan_id = ix.begin_scan(P, A, T0)
        batch = [
            TrashItem(item_id=i, name=f"{i}.jpg", restore_handle=HANDLES[n % 2],
                      deleted_at=deleted, deleted_after=deleted,
                      deleted_at_source=DeletedAtSource.API)
            for n, i in enumerate(ids)
        ]  # fmt: skip
        ix.write_page(scan_id, P, A, Page(items=batch), T0)
        ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), T0)
        (rows,) = seen
        assert [row[2] for row in rows] == sorted(ids)
    raw = sqlite3.connect(db)
    stored = dict(raw.execute("SELECT item_id, restore_handle FROM items"))
    assert len(stored) == 1000
    assert {stored[i] for i in ids[:2]} == {json.dumps(h, sort_keys=True) for h in HANDLES[:2]}
    times = raw.execute("SELECT DISTINCT deleted_at, deleted_after FROM items").fetchall()
    assert times == [("2024-04-28 12:00:00.000000", "2024-04-28 12:00:00.000000")]
    raw.close()
