"""A first scan into an empty index loads its rows without the secondary indexes and builds them
once at its end; whatever stops it, nothing is lost and a listing still reads every row."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

import trashscan.scanner
from trashscan.deadline import Deadline
from trashscan.first_load import build_lock_path
from trashscan.index import SECONDARY_INDEXES, Index, ItemFilter
from trashscan.lock import FileLock
from trashscan.models import Account, DeletedAtSource, Page, ScanOutcome, TrashItem
from trashscan.provider import Capabilities, Provider
from trashscan.scanner import Scanner
from trashscan.testing import file_context

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PAGES, PER_PAGE = 3, 150


def indexes(db: Path) -> set[str]:
    """The secondary indexes the file holds now, as another process sees them."""
    raw = sqlite3.connect(db)
    try:
        names = {n for (n,) in raw.execute("SELECT name FROM sqlite_master WHERE type='index'")}
    finally:
        raw.close()
    return names & set(SECONDARY_INDEXES)


class PagedProvider(Provider):
    """PAGES pages of PER_PAGE photos; after each committed page it notes which indexes exist
    and whether a listing sees every row committed so far."""

    name = "paged"
    display_name = "Paged"
    capabilities = Capabilities(list=True, restore=False)
    db: ClassVar[Path]
    seen: ClassVar[list[tuple[int, set[str], int]]] = []

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        for page in range(PAGES):
            yield Page(items=[
                TrashItem(f"{account.name}-{page}-{n}", f"IMG_{page}{n:03d}.jpg", size=n,
                          deleted_at=NOW - timedelta(days=n % 30),
                          deleted_at_source=DeletedAtSource.API, purge_is_estimate=False,
                          purge_at=NOW + timedelta(days=30 - n % 30))
                for n in range(PER_PAGE)
            ])  # fmt: skip
            with Index.open(f"sqlite:///{self.db}") as reader:
                listed = len(reader.items(ItemFilter(), NOW))
            self.seen.append((page, indexes(self.db), listed))
        return ScanOutcome({}, complete_listing=True)


@pytest.fixture
def setup(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    db = tmp_path / "index.db"
    index = Index.open(f"sqlite:///{db}")
    PagedProvider.db = db
    PagedProvider.seen = []
    monkeypatch.setattr(trashscan.scanner, "load_provider_class", lambda name: PagedProvider)
    context = file_context(tmp_path, NOW)

    def scan(*names: str, deadline: Deadline | None = None) -> list[Any]:
        accounts = [Account(name, PagedProvider.name) for name in names]
        PagedProvider.seen = []
        scanner = Scanner(index, context, concurrency=2, lock_wait=0, deadline=deadline)
        return scanner.scan(accounts)

    yield index, db, context, scan
    index.close()


def test_a_first_scan_loads_without_them_and_builds_them_at_its_end(setup) -> None:
    index, db, _context, scan = setup
    assert indexes(db) == set(SECONDARY_INDEXES)
    results = scan("one", "two")
    assert [r.ok for r in results] == [True, True]
    # every page was committed and listed in full, with no secondary index to keep up to date
    assert [names for _page, names, _listed in PagedProvider.seen] == [set()] * (2 * PAGES)
    assert sorted(listed for *_, listed in PagedProvider.seen)[-1] == 2 * PAGES * PER_PAGE
    assert indexes(db) == set(SECONDARY_INDEXES)
    assert not index.secondary_indexes_deferred()
    assert len(index.items(ItemFilter(), NOW)) == 2 * PAGES * PER_PAGE
    # the next scan finds items in the index: it keeps the indexes up to date as it goes
    assert [r.ok for r in scan("one", "three")] == [True, True]
    assert {frozenset(names) for _page, names, _ in PagedProvider.seen} == {
        frozenset(SECONDARY_INDEXES)
    }


def test_a_load_stopped_before_its_build_loses_nothing_and_the_next_scan_builds_them(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    index, db, _context, scan = setup
    write_page, pages = index.write_page, []

    def interrupted_at_the_third(*args: Any) -> int:  # Ctrl-C on the committing thread
        pages.append(args)
        if len(pages) == 3:
            raise KeyboardInterrupt
        return write_page(*args)

    monkeypatch.setattr(index, "write_page", interrupted_at_the_third)
    with pytest.raises(KeyboardInterrupt):
        scan("one")
    monkeypatch.setattr(index, "write_page", write_page)
    # two pages committed, listed without the indexes; the deferral is recorded
    assert indexes(db) == set()
    assert index.secondary_indexes_deferred()
    assert len(index.items(ItemFilter(), NOW)) == 2 * PER_PAGE
    # what `list --cached` reads (trashscan.index_read's SQL), in purge order, with its totals
    listed = [row for chunk in index.listing(ItemFilter(), NOW) for row in chunk]
    assert len(listed) == 2 * PER_PAGE
    assert [row.purge_at for row in listed] == sorted(row.purge_at for row in listed)
    (totals,) = index.totals(ItemFilter(), NOW, timedelta(days=7))
    assert totals.items == 2 * PER_PAGE
    assert [r.ok for r in scan("two")] == [True]
    # built before that run's first page, not deferred again (the index held items)
    assert [names for _page, names, _listed in PagedProvider.seen] == [set(SECONDARY_INDEXES)] * 3
    assert not index.secondary_indexes_deferred()
    assert len(index.items(ItemFilter(), NOW)) == 3 * PER_PAGE + 2 * PER_PAGE


def test_while_another_run_loads_a_scan_neither_defers_nor_builds(setup) -> None:
    index, db, context, scan = setup
    loader = FileLock(build_lock_path(context.data_dir))
    assert loader.try_acquire()
    try:
        assert [r.ok for r in scan("one")] == [True]
        assert {frozenset(n) for _p, n, _l in PagedProvider.seen} == {frozenset(SECONDARY_INDEXES)}
        # that other run is loading without them: this one leaves their build to it
        assert index.defer_secondary_indexes() is False  # the index holds items now
        with index._tx(write=True) as conn:
            for name in SECONDARY_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX {name}")
            conn.exec_driver_sql("INSERT INTO meta VALUES ('secondary_indexes', 'deferred')")
        assert [r.ok for r in scan("two")] == [True]
        assert indexes(db) == set()
        assert index.secondary_indexes_deferred()
    finally:
        loader.release()
    assert [r.ok for r in scan("three")] == [True]  # the loader died: this run builds them
    assert indexes(db) == set(SECONDARY_INDEXES)
    assert not index.secondary_indexes_deferred()


def test_a_build_still_running_at_the_deadline_is_left_to_the_next_scan(
    setup, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build runs on a worker the run stops waiting for at its deadline (as it stops at
    Ctrl-C): at a million items it is seconds of SQLite work no signal can break into."""
    index, db, _context, scan = setup
    entered, release = threading.Event(), threading.Event()
    build = index.build_secondary_indexes

    def slow_build() -> None:
        entered.set()
        release.wait(60)

    monkeypatch.setattr(index, "build_secondary_indexes", slow_build)
    start = time.monotonic()
    try:
        results = scan("one", deadline=Deadline(5.0, "5s"))
        assert entered.is_set()
        assert time.monotonic() - start < 30  # returned at the deadline, not after the build
    finally:
        release.set()
    assert [r.ok for r in results] == [True]  # the accounts were done in time
    assert indexes(db) == set() and index.secondary_indexes_deferred()
    assert len(index.items(ItemFilter(), NOW)) == PAGES * PER_PAGE
    monkeypatch.setattr(index, "build_secondary_indexes", build)
    assert [r.ok for r in scan("two")] == [True]
    assert indexes(db) == set(SECONDARY_INDEXES)
