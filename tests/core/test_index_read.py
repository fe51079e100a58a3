"""The lean read path of a SQLite index (trashscan.index_read): the same rows and totals as
SQLAlchemy's queries for every filter, order and limit, over crafted names; opened as
Index.open opens the file; anything out of the ordinary handed back to Index.open."""

from __future__ import annotations

import itertools
import os
import random
import sqlite3
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from trashscan import index as index_module
from trashscan import index_read
from trashscan.config import default_index_url
from trashscan.errors import IndexStoreError
from trashscan.index import Index
from trashscan.index_read import ItemFilter, SQLiteReader
from trashscan.models import (
    DeletedAtSource,
    ItemState,
    Kind,
    Page,
    RestoreOutcome,
    RestoreResult,
    ScanOutcome,
    TrashItem,
    item_ref,
)

NOW = datetime(2026, 12, 6, 12, 0, 0, 500_000, tzinfo=UTC)
DAY = timedelta(days=1)
NAMES = [
    "IMG_0001.JPG", "img_0002.jpg", "IMG_00004.jpg", "Img.jpg", "it's.jpg", "''.jpg", "100%.jpg",
    "100%_done.png", "a_b.jpg", "axb.jpg", "a*b?.jpg", "a?b.jpg", "[x].jpg", "[!x].jpg",
    "back\\slash.jpg", 'quote".jpg', "Été.jpg", "été.jpg", "ÉTÉ.jpg", "日本.jpg", "emoji 🎉.jpg",
    "tab\tnew\nline.jpg", "esc\x1b[31m.jpg", "nul\x00.jpg", "del\x7f.jpg", "bidi\u202e.jpg",
    "sep\u2028.jpg", "\U0010ffff.jpg", "\ud7ff.jpg", "\ue000.jpg", "clip.mov", "film.MP4",
    "notes.txt", "", " ", "same.jpg", "same.jpg", "SAME.jpg",
]  # fmt: skip
ACCOUNTS = [("fake", "acct"), ("fake", "o'brien"), ("other", "acct"), ("other", "x%_y")]
GLOBS = [
    "*", "img_*", "IMG*", "img?.jpg", "img_000?.jpg", "*.jpg", "*.JPG", "a%*", "100%*", "100%_*",
    "a_b*", "a?b*", "a*b?*", "[x]*", "[*", "*'*", "it's*", "''*", "back\\*", "*\\*", 'quote"*',
    "été*", "ÉTÉ*", "É*", "日*", "*🎉*", "tab\t*", "*\n*", "esc\x1b*", "nul\x00*", "del\x7f*",
    "*\u202e*", "\U0010ffff*", "\ud7ff*", "\ue000*", "", " ", "?", "??*", "same.jpg", "no such*",
    "*%*",
]  # fmt: skip


def _items(prefix: str, offset: int) -> list[TrashItem]:
    sources = list(DeletedAtSource)
    made = []
    for n, name in enumerate(NAMES):
        at = n + offset
        deleted = None if at % 7 == 3 else NOW - at * DAY / 3
        made.append(
            TrashItem(
                item_id=f"{prefix}{n}",
                name=name,
                path=None if at % 4 == 1 else f"/p/{name}",
                mime_type=None if at % 3 else "image/jpeg",
                size=None if at % 6 == 2 else at * 1000 % 7,  # ties, zeros, unknowns
                deleted_at=deleted,
                deleted_at_source=sources[at % len(sources)],
                # ties on the purge date (whole days), none for some, some already past
                purge_at=None if at % 5 == 4 else NOW + (at % 9 - 2) * DAY,
                purge_is_estimate=bool(at % 2),
                restorable=at % 5 != 1,
                not_restorable_reason=None if at % 5 != 1 else "why",
                deleted_after=None if deleted is None or at % 3 == 0 else deleted - DAY,
            )
        )
    return made


@pytest.fixture(scope="module")
def crafted(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index of the crafted names in four accounts of two providers, some items no longer
    trashed."""
    db = tmp_path_factory.mktemp("crafted") / "index.db"
    with Index.open(f"sqlite:///{db}") as ix:
        for number, (provider, account) in enumerate(ACCOUNTS):
            scan_id = ix.begin_scan(provider, account, NOW)
            page = Page(items=_items(f"{number}-", 3 * number))
            ix.write_page(scan_id, provider, account, page, NOW)
            ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)
            if number == 1:  # some restored, some gone
                done = ix.resolve_refs(
                    [item_ref(provider, account, f"{number}-{n}") for n in (0, 5)]
                )
                results = [(it, RestoreResult(it.item_id, RestoreOutcome.RESTORED)) for it in done]
                ix.record_restores(results, "test", False, NOW)
                ix.write_page(scan_id, provider, account, Page(removed=[f"{number}-7"]), NOW)
    return db


def _filters() -> list[ItemFilter]:
    """Every field alone, in its interesting values, then a few hundred combinations."""
    refs = (item_ref("fake", "acct", "0-1"), item_ref("other", "x%_y", "3-9"), "0" * 40)
    values = {
        "accounts": [None, (), ACCOUNTS[:1], ACCOUNTS[1:3], ACCOUNTS, [("nobody", "acct")]],
        "provider": [None, "fake", "other", "o'ther"],
        "kinds": [frozenset({Kind.PHOTO, Kind.VIDEO}), frozenset(Kind), frozenset({Kind.OTHER}),
                  frozenset()],
        "states": [frozenset({ItemState.TRASHED}), frozenset(ItemState),
                   frozenset({ItemState.RESTORED, ItemState.GONE})],
        "expiring_within": [None, timedelta(0), DAY, 3 * DAY + timedelta(hours=1), 400 * DAY],
        "deleted_since": [None, NOW - 2 * DAY, NOW - 10 * DAY - timedelta(microseconds=1)],
        "deleted_until": [None, NOW - 2 * DAY, NOW],
        "name_glob": [None, *GLOBS],
        "refs": [None, (), refs],
        "purge_after": [None, NOW, NOW + 3 * DAY],
        "no_purge": [False, True],
    }  # fmt: skip
    made = []
    for field, options in values.items():
        for value in options:
            if isinstance(value, list):
                value = tuple(value)
            made.append(ItemFilter(**{field: value}))
    chance = random.Random(16)
    for _ in range(150):
        chosen = {}
        for field, options in values.items():
            if chance.random() < 0.3:
                value = chance.choice(options)
                chosen[field] = tuple(value) if isinstance(value, list) else value
        made.append(ItemFilter(**chosen))
    return made


FILTERS = _filters()


@pytest.mark.parametrize("sort", index_read.SORTS)
def test_every_filter_order_and_limit_lists_the_same_rows_both_ways(crafted: Path, sort: str):
    """SQLAlchemy's queries (PostgreSQL's) and index_read's SQL (SQLite's, without SQLAlchemy)
    on the same file: the same rows in the same order, the same totals."""
    url = f"sqlite:///{crafted}"
    with Index.open(url) as ix, SQLiteReader.open(url) as reader:  # type: ignore[union-attr]
        nonempty = 0
        for base in FILTERS:
            f = replace(base, sort=sort)
            orm = [row for chunk in ix._listing_sa(f, NOW) for row in chunk]
            lean = [row for chunk in reader.listing(f, NOW) for row in chunk]
            assert lean == orm, f
            assert [row for chunk in ix.listing(f, NOW) for row in chunk] == orm
            nonempty += bool(orm)
            for limit in (0, 1, 3):
                cut = [row for chunk in reader.listing(f, NOW, limit) for row in chunk]
                assert cut == orm[:limit], (f, limit)
            for within in (DAY, 30 * DAY):
                totals = ix._totals_sa(f, NOW, within)
                assert reader.totals(f, NOW, within) == totals == ix.totals(f, NOW, within), f
        assert nonempty > len(FILTERS) / 3  # the filters were not all empty


def test_the_glob_cases_are_not_all_empty(crafted: Path) -> None:
    with SQLiteReader.open(f"sqlite:///{crafted}") as reader:  # type: ignore[union-attr]
        any_state = ItemFilter(kinds=frozenset(Kind), states=frozenset(ItemState))
        matched = {}
        for glob in GLOBS:
            chunks = reader.listing(replace(any_state, name_glob=glob), NOW)
            matched[glob] = sum(len(chunk) for chunk in chunks)
    assert matched["*"] == len(NAMES) * len(ACCOUNTS)
    assert matched["img_*"] == 3 * len(ACCOUNTS)  # IMG_0001.JPG, img_0002.jpg, IMG_00004.jpg
    assert matched["img?.jpg"] == 0 and matched["img_000?.jpg"] == 2 * len(ACCOUNTS)
    assert matched["100%_*"] == len(ACCOUNTS) and matched["*%*"] == 2 * len(ACCOUNTS)
    assert matched["[x]*"] == matched["''*"] == matched["nul\x00*"] == len(ACCOUNTS)
    assert matched["été*"] == len(ACCOUNTS)  # lower() folds ASCII only: not Été, not ÉTÉ
    assert matched["same.jpg"] == 3 * len(ACCOUNTS) and matched["no such*"] == 0


def test_the_readers_schema_is_the_index_schema() -> None:
    assert index_read.SCHEMA_VERSION == index_module.SCHEMA_VERSION
    assert tuple(c.name for c in index_module._LISTED_COLUMNS) == index_read.LISTED_COLUMNS


@pytest.mark.parametrize(
    "path",
    ["/tmp/index.db", "relative/index.db", "/a b/trash scan?#%20 home/index.db", "/x+y/é/日.db",
     "/percent%25/semi;colon/index.db", "file:data/index.db", "/q'uote/i.db"],
)  # fmt: skip
def test_the_url_of_a_file_and_its_file_read_as_sqlalchemy_does(path: str) -> None:
    url = default_index_url(Path(path).parent)
    made = sa.engine.URL.create("sqlite", database=str(Path(path).parent / "index.db"))
    assert url == made.render_as_string(hide_password=False)
    database = sa.make_url(url).database or ""
    on_disk = None if database.startswith("file:") else database  # Index.open's test too
    assert index_read.sqlite_file(url) == on_disk


@pytest.mark.parametrize(
    "url",
    ["sqlite://", "sqlite:///:memory:", "sqlite:///", "sqlite:///file:x.db?mode=ro&uri=true",
     "sqlite:///x.db?timeout=3", "sqlite+aiosqlite:///x.db", "postgresql://u@h/db",
     "postgresql+psycopg://u@h/db", "sqlite:////x#y.db"],
)  # fmt: skip
def test_urls_of_anything_else_are_index_opens(url: str) -> None:
    assert index_read.sqlite_file(url) is None
    assert SQLiteReader.open(url) is None


@pytest.mark.parametrize("read_only", [False, True])
@pytest.mark.parametrize("sidecars", [False, True])
def test_the_file_is_opened_as_sqlalchemy_opens_the_url_index_open_makes(
    tmp_path: Path, read_only: bool, sidecars: bool
) -> None:
    db = tmp_path / "a b?#%" / "index.db"
    Index.open(default_index_url(db.parent)).close()
    if sidecars:
        for suffix in ("-wal", "-shm"):
            Path(f"{db}{suffix}").touch()
    url = sa.make_url(default_index_url(db.parent))
    if read_only:
        url = index_module._read_only_url(url, Path(url.database or ""))
    dialect = sa.create_engine(url).dialect
    (filename,), options = dialect.create_connect_args(url)
    assert index_read.connect_to(db, read_only) == (filename, bool(options.get("uri")))


def _version(db: Path, value: str | None) -> None:
    raw = sqlite3.connect(db)
    if value is None:
        raw.execute("DROP TABLE meta")
    else:
        raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (value,))
    raw.commit()
    raw.close()


@pytest.mark.parametrize("value", [None, "4", "6", "x", "05"])
def test_any_other_schema_is_left_to_index_open(tmp_path: Path, value: str | None) -> None:
    db = tmp_path / "index.db"
    Index.open(f"sqlite:///{db}").close()
    _version(db, value)
    assert SQLiteReader.open(f"sqlite:///{db}") is None


def test_no_file_or_a_corrupt_one_is_left_to_index_open(tmp_path: Path) -> None:
    missing = tmp_path / "new" / "index.db"
    assert SQLiteReader.open(f"sqlite:///{missing}") is None  # Index.open creates and migrates
    assert missing.exists() and oct(missing.stat().st_mode & 0o777) == "0o600"
    corrupt = tmp_path / "corrupt.db"
    corrupt.write_bytes(b"not a database at all" * 100)
    assert SQLiteReader.open(f"sqlite:///{corrupt}") is None
    with pytest.raises(IndexStoreError, match="not a database"):
        Index.open(f"sqlite:///{corrupt}")


def test_a_failing_read_is_one_line(tmp_path: Path) -> None:
    db = tmp_path / "index.db"
    Index.open(f"sqlite:///{db}").close()
    reader = SQLiteReader.open(f"sqlite:///{db}")
    assert reader is not None
    raw = sqlite3.connect(db)
    raw.execute("DROP TABLE items")
    raw.commit()
    raw.close()
    with pytest.raises(IndexStoreError, match=r"^index .*index\.db: no such table: items$"):
        list(reader.listing(ItemFilter(), NOW))
    with pytest.raises(IndexStoreError, match="no such table"):
        reader.totals(ItemFilter(), NOW, DAY)
    reader.close()


def test_a_reader_writes_nothing_to_a_read_only_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As Index.open: mode=ro (immutable without a -wal or -shm), nothing left beside it.
    (The tests run as root, whom no mode stops: the file is made to look read-only, and
    tests/e2e/test_odd_environments.py runs the CLI where it really is.)"""
    db = tmp_path / "index.db"
    with Index.open(f"sqlite:///{db}") as ix:
        scan_id = ix.begin_scan("fake", "acct", NOW)
        ix.write_page(scan_id, "fake", "acct", Page(items=_items("r", 0)), NOW)
        ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)
    db.chmod(0o400)
    monkeypatch.setattr(index_read.os, "access", lambda path, mode: mode != os.W_OK)
    before = sorted(os.listdir(tmp_path))
    reader = SQLiteReader.open(f"sqlite:///{db}")
    assert reader is not None and reader.read_only
    assert sum(len(chunk) for chunk in reader.listing(ItemFilter(), NOW)) > 0
    reader.close()
    assert sorted(os.listdir(tmp_path)) == before


def test_combinations_cover_every_pair_of_fields() -> None:
    """The random combinations of FILTERS set every pair of fields together at least once."""
    fields = [f for f in ItemFilter.__dataclass_fields__ if f not in ("sort",)]
    default = ItemFilter()
    together = {
        pair
        for f in FILTERS
        for pair in itertools.combinations(
            [x for x in fields if getattr(f, x) != getattr(default, x)], 2
        )
    }
    assert len(together) == len(list(itertools.combinations(fields, 2)))


@pytest.mark.parametrize("chunk", [1, 2, 3, 500])
def test_ties_in_purge_order_are_put_in_account_and_ref_order_across_chunks(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int
) -> None:
    """SQLite gives the rows by purge date and name; runs of rows equal in both (longer than a
    chunk, across chunks, dated and undated) come in account and ref order, as SQLAlchemy's
    full ORDER BY has them, whatever the limit."""
    monkeypatch.setattr(index_read, "CHUNK", chunk)
    db = tmp_path / "index.db"
    tie = NOW + DAY
    with Index.open(f"sqlite:///{db}") as ix:
        for number, (provider, account) in enumerate(ACCOUNTS):
            exact = {"purge_is_estimate": False}
            made = [TrashItem(f"t{n}", "same.jpg", purge_at=tie, **exact) for n in range(7)]
            made += [TrashItem(item_id=f"u{n}", name=f"u{n % 2}.jpg") for n in range(5)]
            made += [TrashItem(f"d{n}", f"d{n}.jpg", purge_at=tie + n * DAY / 9 * (n % 3), **exact)
                     for n in range(5 + number)]  # fmt: skip
            scan_id = ix.begin_scan(provider, account, NOW)
            ix.write_page(scan_id, provider, account, Page(items=made), NOW)
            ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)
        with SQLiteReader.open(f"sqlite:///{db}") as reader:  # type: ignore[union-attr]
            for f in (ItemFilter(), ItemFilter(accounts=tuple(ACCOUNTS[1:])),
                      ItemFilter(expiring_within=30 * DAY)):  # fmt: skip
                orm = [row for part in ix._listing_sa(f, NOW) for row in part]
                assert len({(r.stored_purge_at, r.name) for r in orm}) < len(orm) - 20
                for limit in [None, *range(len(orm) + 2)]:
                    chunks = list(reader.listing(f, NOW, limit))
                    assert all(0 < len(c) <= chunk for c in chunks)
                    lean = [row for part in chunks for row in part]
                    assert lean == orm[:limit], (f, limit)
