"""The index queries the UI pages with (Index.page, by_ref, copies, the urgency bounds of
ItemFilter, one item's audit log), on SQLite and PostgreSQL alike."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.index import Index, ItemFilter
from trashscan.models import Page, RestoreOutcome, RestoreResult, ScanOutcome, TrashItem

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["sqlite", "postgresql"])
def index(request: pytest.FixtureRequest, tmp_path: Path):
    url = (
        request.getfixturevalue("pg_url")
        if request.param == "postgresql"
        else f"sqlite:///{tmp_path / 'index.db'}"
    )
    ix = Index.open(url)
    yield ix
    ix.close()


def fill(ix: Index, account: str, items: list[TrashItem]) -> None:
    scan_id = ix.begin_scan("fake", account, NOW)
    ix.write_page(scan_id, "fake", account, Page(items=items), NOW)
    ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)


def photo(item_id: str, hours: int | None, name: str | None = None, **kw: object) -> TrashItem:
    return TrashItem(
        item_id=item_id,
        name=name or f"{item_id}.jpg",
        purge_at=None if hours is None else NOW + timedelta(hours=hours),
        purge_is_estimate=False,
        **kw,  # type: ignore[arg-type]
    )


def test_pages_follow_lists_order_through_ties_and_items_never_purged(index: Index) -> None:
    # ties on the purge date and on the name, across accounts, and several without a purge
    fill(index, "a", [photo(f"a{n}", n % 3, name=f"same{n % 2}.jpg") for n in range(9)])
    fill(index, "b", [photo(f"b{n}", n % 3 if n < 6 else None, name="same0.jpg") for n in range(9)])
    everything = [i.ref for i in index.items(ItemFilter(), NOW)]
    seen: list[str] = []
    after = None
    for _ in range(20):
        page = index.page(ItemFilter(), NOW, 4, after)
        if not page:
            break
        seen += [i.ref for i in page]
        after = page[-1].ref
    assert seen == everything and len(seen) == 18


def test_a_page_after_an_unknown_ref_starts_at_the_beginning(index: Index) -> None:
    fill(index, "a", [photo("x", 1), photo("y", 2)])
    assert [i.item_id for i in index.page(ItemFilter(), NOW, 5, "0" * 40)] == ["x", "y"]


def test_urgency_bounds(index: Index) -> None:
    four = [photo("past", -5), photo("soon", 5), photo("late", 500), photo("never", None)]
    fill(index, "a", four)

    def ids(**kw: object) -> list[str]:
        return [i.item_id for i in index.items(ItemFilter(**kw), NOW)]  # type: ignore[arg-type]

    assert ids(purge_after=NOW) == ["soon", "late"]
    assert ids(purge_after=NOW, expiring_within=timedelta(days=1)) == ["soon"]
    assert ids(no_purge=True) == ["never"]


def test_by_ref_copies_and_one_items_audit_log(index: Index) -> None:
    fill(index, "a", [photo("a1", 3, content_hash="md5:1"), photo("a2", 4)])
    fill(index, "b", [photo("b1", 5, content_hash="md5:1"), photo("b2", 6, content_hash="sha1:1")])
    items = {i.item_id: i for i in index.items(ItemFilter(), NOW)}
    assert index.by_ref(items["a1"].ref) == items["a1"]
    assert index.by_ref(items["a1"].ref[:8]) is None  # whole refs only
    copies = index.copies(["md5:1", "sha1:1", "md5:none"])
    assert sorted(i.item_id for i in copies["md5:1"]) == ["a1", "b1"]
    assert [i.item_id for i in copies["sha1:1"]] == ["b2"]
    assert "md5:none" not in copies
    for item_id in ("a1", "a2"):
        result = RestoreResult(item_id, RestoreOutcome.RESTORED)
        index.record_restore(items[item_id], result, "me", False, NOW)
    log = index.restore_log(None, ref=items["a1"].ref)
    assert [entry["item_id"] for entry in log] == ["a1"]


def _page_plans(ix: Index, db: Path, pages: list[tuple[ItemFilter, str | None]]) -> list[str]:
    """SQLite's plan of every SELECT of items the pages ran (the ref lookup aside)."""
    import sqlite3

    import sqlalchemy as sa

    seen: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    sa.event.listen(ix._engine, "before_cursor_execute", record)
    try:
        for item_filter, after in pages:
            assert ix.page(item_filter, NOW, 7, after)
    finally:
        sa.event.remove(ix._engine, "before_cursor_execute", record)
    raw = sqlite3.connect(db)
    plans = []
    for statement, params in seen:
        if statement.lstrip().startswith("SELECT") and "LIMIT" in statement:
            rows = raw.execute("EXPLAIN QUERY PLAN " + statement, params).fetchall()
            plans.append(" / ".join(row[-1] for row in rows))
    raw.close()
    return plans


def test_a_page_reads_in_index_order_wherever_it_starts(tmp_path: Path) -> None:
    """The gallery's pages (keyset, soonest purge first) read through ix_items_listing (one
    account: ix_items_account) in its order, as `list` does: a page of 120 tiles of a million
    items reads 120 rows, not every trashed one sorted (counts, not times)."""
    db = tmp_path / "index.db"
    with Index.open(f"sqlite:///{db}") as ix:
        fill(ix, "a", [photo(f"a{n}", n % 40, name=f"p{n % 7}.jpg") for n in range(300)]
             + [photo(f"u{n}", None) for n in range(30)])  # fmt: skip
        fill(ix, "b", [photo(f"b{n}", n) for n in range(50)])
        everything = ix.items(ItemFilter(), NOW)
        dated = next(i.ref for i in everything[100:] if i.purge_at is not None)
        undated = next(i.ref for i in everything[340:] if i.purge_at is None)
        one = ItemFilter(accounts=(("fake", "a"),))
        starts = [(ItemFilter(), None), (ItemFilter(), dated), (ItemFilter(), undated),
                  (one, None), (one, dated)]  # fmt: skip
        plans = _page_plans(ix, db, starts)
        assert len(plans) >= 5
        for plan in plans:
            assert "ix_items_listing" in plan or "ix_items_account" in plan, plan
            assert "SCAN items" not in plan and "TEMP B-TREE FOR ORDER BY" not in plan, plan


@pytest.mark.parametrize(
    "item_filter",
    [
        ItemFilter(accounts=(("fake", "a"),)),
        ItemFilter(expiring_within=timedelta(hours=20)),
        ItemFilter(name_glob="same1*"),
        ItemFilter(no_purge=True),
    ],
)
def test_pages_of_a_filter_walk_its_listing(index: Index, item_filter: ItemFilter) -> None:
    fill(index, "a", [photo(f"a{n}", n % 30, name=f"same{n % 2}.jpg") for n in range(40)])
    fill(index, "b", [photo(f"b{n}", n % 3 if n < 6 else None, name="same1.jpg") for n in range(9)])
    everything = [i.ref for i in index.items(item_filter, NOW)]
    seen: list[str] = []
    after = None
    while page := index.page(item_filter, NOW, 3, after):
        seen += [i.ref for i in page]
        after = page[-1].ref
        assert len(seen) <= len(everything)
    assert seen == everything and everything
