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


def _upserts(ix: Index) -> list[tuple[Any, ...]]:
    """The parameters of each execution of an items upsert (an executemany counts each)."""
    seen: list[tuple[Any, ...]] = []

    @sa.event.listens_for(ix._engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany) -> None:
        if statement.lstrip().upper().startswith("INSERT INTO ITEMS"):
            seen.extend(parameters if executemany else [parameters])

    return seen


def _item_ids(executions: list[tuple[Any, ...]]) -> list[str]:
    """The item ids a run of grouped upserts carried, in order (24 values a row)."""
    ids = []
    for values in executions:
        assert len(values) % 24 == 0
        ids += [values[24 * n + 2] for n in range(len(values) // 24)]
    return ids


def test_a_page_is_upserted_in_key_order_with_each_handle_as_stored(tmp_path: Path) -> None:
    """A page's rows in item id order (each lands beside the previous one in the primary key), a
    hundred rows a statement, the restore handle's text and the times as the columns' types store
    them."""
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
        assert len(seen) == 10
        assert _item_ids(seen) == sorted(ids)
    raw = sqlite3.connect(db)
    stored = dict(raw.execute("SELECT item_id, restore_handle FROM items"))
    assert len(stored) == 1000
    assert {stored[i] for i in ids[:2]} == {json.dumps(h, sort_keys=True) for h in HANDLES[:2]}
    times = raw.execute("SELECT DISTINCT deleted_at, deleted_after FROM items").fetchall()
    assert times == [("2024-04-28 12:00:00.000000", "2024-04-28 12:00:00.000000")]
    raw.close()


def test_a_page_is_upserted_a_hundred_rows_a_statement_with_the_same_outcome(
    tmp_path: Path,
) -> None:
    """SQLite hands the GIL over at each step of a statement: a page of 250 rows is three
    statements (100, 100 and 50 rows), not 250; and upserting it again merges each row with its
    own earlier version as a statement of its own would (a later estimate never moves an earlier
    deletion or purge later; the fields it does not merge are the new ones)."""
    db = tmp_path / "index.db"
    first, later = T0 - timedelta(days=3), T0 - timedelta(days=1)

    def page(deleted: datetime, tag: str) -> Page:
        return Page(items=[
            TrashItem(item_id=f"id{n:03d}", name=f"{tag}{n}.jpg", size=n, deleted_at=deleted,
                      purge_at=deleted + timedelta(days=30), restore_handle={"n": n, "t": tag})
            for n in range(250)
        ])  # fmt: skip

    with Index.open(f"sqlite:///{db}") as ix:
        seen = _upserts(ix)
        scan_id = ix.begin_scan(P, A, T0)
        ix.write_page(scan_id, P, A, page(first, "a"), T0)
        assert [len(values) // 24 for values in seen] == [100, 100, 50]
        ix.write_page(scan_id, P, A, page(later, "b"), T0 + timedelta(hours=1))
        assert len(seen) == 6
    raw = sqlite3.connect(db)
    rows = raw.execute(
        "SELECT item_id, name, size, deleted_at, purge_at, restore_handle, first_seen, last_seen"
        " FROM items ORDER BY item_id"
    ).fetchall()
    raw.close()
    assert len(rows) == 250
    for n, row in enumerate(rows):
        assert row == (
            f"id{n:03d}", f"b{n}.jpg", n, "2024-04-28 12:00:00.000000",
            "2024-05-28 12:00:00.000000", json.dumps({"n": n, "t": "b"}, sort_keys=True),
            "2024-05-01 12:00:00.000000", "2024-05-01 13:00:00.000000",
        )  # fmt: skip


def test_a_page_looks_up_an_items_restores_by_its_ref_not_the_whole_log(tmp_path: Path) -> None:
    """A row already restored that a page lists again asks the restore log whether it was
    restored since the scan began: by the log's index on ref, not a read of the whole log (a
    library restored, then trashed again, is thousands of such rows against a long log)."""
    db = tmp_path / "index.db"
    with Index.open(f"sqlite:///{db}") as ix, ix._tx() as conn:
        sql = ix._prepared_upsert(conn)[0]
    plan = sqlite3.connect(db).execute(f"EXPLAIN QUERY PLAN {sql}", (None,) * 24).fetchall()
    steps = [detail for *_, detail in plan]
    log = [step for step in steps if "restore_log" in step]
    assert log and all("USING" in step and "ix_restore_log_ref" in step for step in log), steps
