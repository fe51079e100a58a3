"""The unified index against real SQLite files, including processes killed mid-scan."""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy import exc as sa_exc
from sqlalchemy.dialects import postgresql

import trashscan.index as index_module
from trashscan import index_read
from trashscan.errors import IndexStoreError, UsageError
from trashscan.index import (
    SCHEMA_VERSION,
    AccountTotals,
    Index,
    ItemFilter,
    ListedItem,
    ScanStatus,
    metadata,
)
from trashscan.index_read import SQLiteReader
from trashscan.models import (
    Account,
    DeletedAtSource,
    ItemState,
    Kind,
    Page,
    RestoreOutcome,
    RestoreResult,
    ScanOutcome,
    TrashItem,
    UnlistedPart,
    item_ref,
)
from trashscan.output import (
    as_record,
    listed_csv,
    listed_json,
    listed_json_lines,
    listed_record,
)
from trashscan.provider import Retention
from trashscan.safe_text import json_text
from trashscan.scanner import complete_item_fields

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
P, A = "fake", "acct"
NINE_DAYS = timedelta(days=9)
EVERYTHING = ItemFilter(kinds=frozenset(Kind), states=frozenset(ItemState))


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "index.db"


@pytest.fixture(params=["sqlite", "postgresql"])
def index_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """SQLite always; PostgreSQL wherever one can be started (or TRASHSCAN_TEST_PG_URL is set)."""
    if request.param == "postgresql":
        return request.getfixturevalue("pg_url")
    return f"sqlite:///{db_path}"


@pytest.fixture
def index(index_url: str):
    ix = Index.open(index_url)
    yield ix
    ix.close()


def item(item_id: str, name: str | None = None, **kw) -> TrashItem:
    return TrashItem(item_id=item_id, name=name or f"{item_id}.jpg", **kw)


def scan(ix: Index, *pages: Page, complete: bool = True, now: datetime = T0, state=None) -> int:
    """A whole scan as the scanner drives it; returns how many items were swept."""
    scan_id = ix.begin_scan(P, A, now)
    for page in pages:
        ix.write_page(scan_id, P, A, page, now)
    return ix.finish_scan(scan_id, ScanOutcome(state=state, complete_listing=complete), now)


def states(ix: Index) -> dict[str, ItemState]:
    return {it.item_id: it.state for it in ix.items(EVERYTHING, T0)}


# --- opening, schema, migrations -----------------------------------------------------------------


def test_open_creates_parent_dir_schema_and_wal(db_path: Path) -> None:
    with Index.open(f"sqlite:///{db_path}") as ix:
        assert ix.schema_version == SCHEMA_VERSION
    assert db_path.exists()
    raw = sqlite3.connect(db_path)
    assert raw.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    version = raw.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    assert int(version) == SCHEMA_VERSION
    raw.close()


def test_empty_file_and_version_zero_are_migrated(tmp_path: Path) -> None:
    empty = tmp_path / "empty.db"
    empty.touch()
    with Index.open(f"sqlite:///{empty}") as ix:
        assert ix.schema_version == SCHEMA_VERSION
    v0 = tmp_path / "v0.db"
    raw = sqlite3.connect(v0)
    raw.execute("CREATE TABLE meta (key VARCHAR(64) PRIMARY KEY, value TEXT NOT NULL)")
    raw.execute("INSERT INTO meta VALUES ('schema_version', '0')")
    raw.commit()
    raw.close()
    with Index.open(f"sqlite:///{v0}") as ix:
        assert ix.schema_version == SCHEMA_VERSION
        scan(ix, Page(items=[item("a")]))
        assert ix.get(P, A, "a") is not None


def test_newer_schema_is_refused(db_path: Path) -> None:
    Index.open(f"sqlite:///{db_path}").close()
    raw = sqlite3.connect(db_path)
    raw.execute("UPDATE meta SET value = ? WHERE key = 'schema_version'", (SCHEMA_VERSION + 1,))
    raw.commit()
    raw.close()
    with pytest.raises(IndexStoreError, match="newer") as caught:
        Index.open(f"sqlite:///{db_path}")
    assert str(db_path) in str(caught.value)
    assert "\n" not in caught.value.one_line()


def test_two_first_opens_of_a_postgresql_index_at_once_both_succeed(
    pg_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A cron check and a command opening a new (or older) index together: one migrates.

    SQLite's BEGIN IMMEDIATE makes the second wait and re-read the version; PostgreSQL's write
    transactions lock nothing by themselves, so without a lock both would create the tables and
    the second would fail on the first's. The first is held inside its migration until the
    second is seen waiting on a lock.
    """
    migrating, release = threading.Event(), threading.Event()
    real_step, steps_run = index_module.MIGRATIONS[0], []

    def held_step(conn: sa.Connection) -> None:
        real_step(conn)
        steps_run.append(conn)
        if len(steps_run) == 1:
            migrating.set()
            assert release.wait(60)

    monkeypatch.setattr(index_module, "MIGRATIONS", [held_step, *index_module.MIGRATIONS[1:]])
    opened: dict[str, object] = {}

    def open_index(who: str) -> None:
        try:
            with Index.open(pg_url) as ix:
                opened[who] = ix.schema_version
        except Exception as error:
            opened[who] = error

    first = threading.Thread(target=open_index, args=("first",))
    first.start()
    assert migrating.wait(60)
    second = threading.Thread(target=open_index, args=("second",))
    second.start()
    waiting = sa.text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'")
    engine = sa.create_engine(pg_url)
    with engine.connect() as conn:
        # Each look in a transaction of its own: PostgreSQL keeps the activity a transaction saw
        # first until it ends, so a look before the second waits would never see it wait.
        while second.is_alive() and not conn.scalar(waiting):
            conn.rollback()
            time.sleep(0.01)
    engine.dispose()
    release.set()
    first.join(60)
    second.join(60)
    assert opened == {"first": SCHEMA_VERSION, "second": SCHEMA_VERSION}
    assert len(steps_run) == 1  # the second found the schema migrated


def test_corrupt_file_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "index.db"
    bad.write_bytes(b"not a database" * 100)
    with pytest.raises(IndexStoreError) as caught:
        Index.open(f"sqlite:///{bad}")
    line = caught.value.one_line()
    assert "\n" not in line
    assert str(bad) in line
    assert "move it aside" in line


def test_naive_datetimes_are_refused(index: Index) -> None:
    with pytest.raises(sa_exc.StatementError, match="naive"):
        index.begin_scan(P, A, datetime(2024, 1, 1))


def test_upsert_compiles_for_postgresql() -> None:
    pg = SimpleNamespace(dialect=postgresql.dialect())
    sql = str(Index._upsert_items(pg).compile(dialect=postgresql.dialect()))
    assert "ON CONFLICT (provider, account, item_id) DO UPDATE" in sql
    assert "first_seen = " not in sql.split("DO UPDATE", 1)[1]


V1_SCHEMA = """
CREATE TABLE meta ("key" VARCHAR(64), value TEXT NOT NULL, PRIMARY KEY ("key"));
INSERT INTO meta VALUES ('schema_version', '1');
CREATE TABLE scans (id INTEGER, provider VARCHAR NOT NULL, account VARCHAR NOT NULL,
    started DATETIME NOT NULL, finished DATETIME, status VARCHAR(16) NOT NULL, error TEXT,
    complete_listing BOOLEAN, listing_from INTEGER, PRIMARY KEY (id));
CREATE TABLE items (provider VARCHAR, account VARCHAR, item_id VARCHAR,
    ref VARCHAR(40) NOT NULL, name VARCHAR NOT NULL, path VARCHAR, kind VARCHAR(16) NOT NULL,
    mime_type VARCHAR, size BIGINT, deleted_at DATETIME, deleted_at_source VARCHAR(16) NOT NULL,
    purge_at DATETIME, purge_is_estimate BOOLEAN NOT NULL, restorable BOOLEAN NOT NULL,
    not_restorable_reason TEXT, restore_handle TEXT NOT NULL, thumbnail_url TEXT,
    first_seen DATETIME NOT NULL, last_seen DATETIME NOT NULL, last_scan_id INTEGER,
    state VARCHAR(16) NOT NULL, PRIMARY KEY (provider, account, item_id));
CREATE UNIQUE INDEX ix_items_ref ON items (ref);
CREATE TABLE restore_log (id INTEGER, ref VARCHAR(40) NOT NULL, provider VARCHAR NOT NULL,
    account VARCHAR NOT NULL, item_id VARCHAR NOT NULL, name VARCHAR NOT NULL,
    attempted_at DATETIME NOT NULL, actor VARCHAR NOT NULL, outcome VARCHAR(32) NOT NULL,
    detail TEXT, restored_path TEXT, dry_run BOOLEAN NOT NULL, PRIMARY KEY (id));
"""


# --- upserts and removals ------------------------------------------------------------------------


def test_rescan_updates_fields_but_keeps_first_seen(index: Index) -> None:
    scan(index, Page(items=[item("a", "old.jpg", size=10, restore_handle={"parent": "x"})]))
    later = T0 + timedelta(hours=5)
    scan(index, Page(items=[item("a", "new.jpg", size=20)]), now=later)
    got = index.get(P, A, "a")
    assert got is not None
    assert (got.name, got.size, got.restore_handle) == ("new.jpg", 20, {})
    assert got.first_seen == T0 and got.last_seen == later
    assert got.ref == item_ref(P, A, "a") and got.kind is Kind.PHOTO
    assert got.first_seen.tzinfo is UTC


def test_observed_deleted_at_kept_on_resighting_but_api_overrides(index: Index) -> None:
    first = item("a", deleted_at=T0, purge_at=T0 + timedelta(days=30))
    scan(index, Page(items=[first]))
    later = T0 + timedelta(days=2)
    resight = item("a", deleted_at=later, purge_at=later + timedelta(days=30))
    scan(index, Page(items=[resight]), now=later)
    got = index.get(P, A, "a")
    assert got and got.deleted_at == T0 and got.purge_at == T0 + timedelta(days=30)

    exact = T0 - timedelta(days=1)
    api = item(
        "a", deleted_at=exact, deleted_at_source=DeletedAtSource.API,
        purge_at=exact + timedelta(days=30), purge_is_estimate=False,
    )  # fmt: skip
    scan(index, Page(items=[api]), now=later)
    got = index.get(P, A, "a")
    assert got and got.deleted_at == exact and got.deleted_at_source is DeletedAtSource.API
    assert got.purge_is_estimate is False

    scan(index, Page(items=[resight]), now=later)  # an observed sighting never downgrades it
    got = index.get(P, A, "a")
    assert got and got.deleted_at == exact and got.deleted_at_source is DeletedAtSource.API


def test_estimates_keep_the_earliest_time_so_alerts_use_the_earliest_purge(index: Index) -> None:
    changed = T0 + timedelta(days=1)
    first = item("a", deleted_at=changed, deleted_at_source=DeletedAtSource.CHANGES)
    scan(index, Page(items=[first]))
    touched_again = item("a", deleted_at=changed + timedelta(days=3),
                         deleted_at_source=DeletedAtSource.CHANGES)  # fmt: skip
    scan(index, Page(items=[touched_again]))
    got = index.get(P, A, "a")
    assert got and got.deleted_at == changed  # a later touch does not push the purge later
    activity = item("a", deleted_at=T0, deleted_at_source=DeletedAtSource.ACTIVITY)
    scan(index, Page(items=[activity]))
    got = index.get(P, A, "a")
    assert got and got.deleted_at == T0 and got.deleted_at_source is DeletedAtSource.ACTIVITY


def completed(it: TrashItem, now: datetime = T0, days: int = 30) -> TrashItem:
    """What the scanner makes of a provider's item (purge window from a 30-day retention)."""
    provider = SimpleNamespace(retention=Retention(default_days=days))
    complete_item_fields(provider, Account(A, P), Page(items=[it]), now)  # type: ignore[arg-type]
    return it


def test_an_item_of_unknown_age_may_be_purged_any_day_and_at_the_latest_in_30_days(
    index: Index,
) -> None:
    scan(index, Page(items=[completed(item("a"))]))  # first seen in the trash, nothing else
    got = index.get(P, A, "a")
    assert got and got.deleted_at == T0 and got.deleted_after is None and got.age_unknown
    assert (got.purge_at, got.purge_latest) == (T0, T0 + timedelta(days=30))


def test_bounds_tighten_but_a_later_estimate_never_moves_the_purge_later(index: Index) -> None:
    thirty = timedelta(days=30)
    scan(index, Page(items=[completed(item("a"))]))
    # a change seen a day later: "after the scan before" is void for an item seen trashed
    later = T0 + timedelta(days=1)
    changed = item("a", deleted_at=T0 - timedelta(hours=2),
                   deleted_after=later - timedelta(hours=6),
                   deleted_at_source=DeletedAtSource.CHANGES)  # fmt: skip
    scan(index, Page(items=[completed(changed, later)]), now=later)
    got = index.get(P, A, "a")
    assert got and got.purge_at == T0 and got.deleted_after is None and got.age_unknown
    assert got.deleted_at == T0 - timedelta(hours=2)  # the latest it can have been: tighter
    assert got.purge_latest == T0 - timedelta(hours=2) + thirty
    # seen again with nothing new: nothing moves
    scan(index, Page(items=[completed(item("a"), later)]), now=later)
    again = index.get(P, A, "a")
    assert again and (again.purge_at, again.purge_latest) == (got.purge_at, got.purge_latest)
    # an activity log dates the deletion itself: it replaces the bounds
    trashed = T0 - timedelta(days=20)
    event = item("a", deleted_at=trashed, deleted_at_source=DeletedAtSource.ACTIVITY)
    scan(index, Page(items=[completed(event, later)]), now=later)
    got = index.get(P, A, "a")
    assert got and (got.deleted_after, got.purge_at, got.purge_latest) == (
        trashed, trashed + thirty, trashed + thirty,
    )  # fmt: skip
    assert not got.age_unknown
    scan(index, Page(items=[completed(item("a"), later)]), now=later)  # and stays
    kept = index.get(P, A, "a")
    assert kept and kept.purge_at == trashed + thirty and kept.deleted_at == trashed


def test_an_earlier_purge_estimate_is_taken_a_later_one_never(index: Index) -> None:
    """A provider that learns the retention got shorter re-reports its items with an earlier
    purge (OneDrive personal: a recycle bin over 10% of the storage may be purged after 3 days
    instead of 30): between two estimates the earlier purge wins, the later never does."""
    since = T0 - timedelta(hours=6)
    thirty, three = timedelta(days=30), timedelta(days=3)

    def seen(purge_days: timedelta, now: datetime) -> TrashItem:
        return item(
            "a", deleted_at=since, deleted_after=since, purge_at=since + purge_days,
            purge_latest=now + thirty, deleted_at_source=DeletedAtSource.CHANGES,
        )  # fmt: skip

    scan(index, Page(items=[completed(seen(thirty, T0))]))
    later = T0 + timedelta(days=1)
    scan(index, Page(items=[completed(seen(three, later), later)]), now=later)
    got = index.get(P, A, "a")
    assert got and got.state is ItemState.TRASHED
    assert got.purge_at == since + three  # the earlier estimate is taken
    assert (got.deleted_at, got.deleted_after) == (since, since)
    assert got.purge_latest == T0 + thirty  # the latest stays the tighter one already known
    # the bin back under 10%: a later estimate does not move the purge later again
    scan(index, Page(items=[completed(seen(thirty, later), later)]), now=later)
    kept = index.get(P, A, "a")
    assert kept and (kept.purge_at, kept.purge_latest) == (since + three, T0 + thirty)


def test_an_item_of_unknown_age_that_leaves_before_its_latest_purge_is_gone(
    index: Index,
) -> None:
    """Its earliest plausible purge (first seen) has passed, but it may as well have been
    restored elsewhere or emptied: only its latest purge date makes it purged."""
    scan(index, Page(items=[completed(item("early")), completed(item("late"))]))
    scan(index, Page(removed=["early"]), complete=False, now=T0 + timedelta(days=2))
    scan(index, Page(removed=["late"]), complete=False, now=T0 + timedelta(days=31))
    assert states(index) == {"early": ItemState.GONE, "late": ItemState.PURGED}


def test_an_item_first_seen_in_a_changes_feed_has_a_narrow_window(index: Index) -> None:
    previous_scan = T0 - timedelta(hours=6)
    changed = item("a", deleted_at=T0 - timedelta(hours=1), deleted_after=previous_scan,
                   deleted_at_source=DeletedAtSource.CHANGES)  # fmt: skip
    scan(index, Page(items=[completed(changed)]))
    got = index.get(P, A, "a")
    assert got and not got.age_unknown and got.purge_is_estimate
    assert got.purge_at == previous_scan + timedelta(days=30)
    assert got.purge_latest == T0 - timedelta(hours=1) + timedelta(days=30)


def test_a_stated_purge_date_is_its_own_latest_unless_it_is_a_guess() -> None:
    exact = completed(item("a", deleted_at=T0, deleted_at_source=DeletedAtSource.API,
                           purge_at=T0 + NINE_DAYS, purge_is_estimate=False))  # fmt: skip
    assert (exact.deleted_after, exact.purge_latest) == (T0, T0 + NINE_DAYS)
    guessed = completed(item("b", deleted_at=T0, deleted_at_source=DeletedAtSource.API,
                             purge_at=T0 + NINE_DAYS, purge_is_estimate=True))  # fmt: skip
    assert (guessed.deleted_after, guessed.purge_latest) == (T0, None)


def test_v1_estimates_become_earliest_plausible_on_migration(index_url: str, db_path: Path) -> None:
    """A v1 index: a Drive item first seen in the trash, one dated by a change, an exact one.

    On PostgreSQL, v1's tables are today's taken back to v1's columns.
    """
    thirty = timedelta(days=30)
    previous, seen = T0 - timedelta(hours=6), T0 + timedelta(minutes=1)
    rows = [  # item_id, deleted_at, source, purge_at, estimate
        ("first", T0, "observed", T0 + thirty, True),
        ("changed", T0 - timedelta(hours=2), "changes", T0 - timedelta(hours=2) + thirty, True),
        ("exact", T0 - NINE_DAYS, "api", T0 - NINE_DAYS + thirty, False),
    ]
    db_path.parent.mkdir()
    engine = sa.create_engine(index_url)
    on_sqlite = engine.dialect.name == "sqlite"

    def naive(when: datetime) -> str | datetime:  # how SQLAlchemy stores a DATETIME
        return when.strftime("%Y-%m-%d %H:%M:%S.%f") if on_sqlite else when.replace(tzinfo=None)

    with engine.begin() as conn:
        if on_sqlite:
            for statement in filter(str.strip, V1_SCHEMA.split(";")):
                conn.exec_driver_sql(statement)
        else:
            metadata.create_all(conn)  # today's tables, taken back to v1's columns
            for later in ("deleted_after", "purge_latest", "content_hash", "version"):
                conn.exec_driver_sql(f"ALTER TABLE items DROP COLUMN {later}")
            conn.exec_driver_sql("ALTER TABLE items ADD COLUMN thumbnail_url TEXT")
            conn.exec_driver_sql("INSERT INTO meta VALUES ('schema_version', '1')")
        add_item = sa.text(  # v1's columns by name: the column order differs between databases
            "INSERT INTO items (provider, account, item_id, ref, name, path, kind, mime_type,"
            " size, deleted_at, deleted_at_source, purge_at, purge_is_estimate, restorable,"
            " not_restorable_reason, restore_handle, thumbnail_url, first_seen, last_seen,"
            " last_scan_id, state) VALUES (:p, :a, :id, :ref, :name, NULL, 'photo', NULL, NULL,"
            " :deleted, :source, :purge, :estimate, TRUE, NULL, '{}', NULL, :seen, :seen, 2,"
            " 'trashed')"
        )
        for item_id, deleted, source, purge, estimate in rows:
            conn.execute(add_item, {
                "p": P, "a": A, "id": item_id, "ref": item_ref(P, A, item_id),
                "name": f"{item_id}.jpg", "deleted": naive(deleted), "source": source,
                "purge": naive(purge), "estimate": estimate, "seen": naive(seen),
            })  # fmt: skip
        add_scan = sa.text(
            "INSERT INTO scans VALUES (:id, :p, :a, :started, :finished, 'ok', NULL, FALSE, :id)"
        )
        for scan_id, started in ((1, previous), (2, T0)):  # scan 2 first saw them
            finished = started + timedelta(minutes=2)
            conn.execute(add_scan, {"id": scan_id, "p": P, "a": A, "started": naive(started),
                                    "finished": naive(finished)})  # fmt: skip
    engine.dispose()
    with Index.open(index_url) as ix:
        assert ix.schema_version == SCHEMA_VERSION
        got = {i.item_id: i for i in ix.items(EVERYTHING, T0)}
    first, changed, exact = got["first"], got["changed"], got["exact"]
    assert (first.purge_at, first.purge_latest, first.age_unknown) == (T0, T0 + thirty, True)
    assert changed.deleted_after == previous  # the scan before the one that first saw it
    assert (changed.purge_at, changed.purge_latest) == (
        previous + thirty, T0 - timedelta(hours=2) + thirty,
    )  # fmt: skip
    assert (exact.deleted_after, exact.purge_at) == (exact.deleted_at, T0 - NINE_DAYS + thirty)
    assert exact.purge_latest == exact.purge_at


def test_v3_keeps_content_hashes_and_drops_the_thumbnail_url_column(db_path: Path) -> None:
    """No provider URL may be stored: a v1/v2 index loses ``thumbnail_url`` on migration."""
    db_path.parent.mkdir()
    raw = sqlite3.connect(db_path)
    raw.executescript(V1_SCHEMA)
    raw.close()
    with Index.open(f"sqlite:///{db_path}") as ix:
        assert ix.schema_version == SCHEMA_VERSION
        photo = item("a", content_hash="md5:0cc175b9c0f1b6a831c399e269772661", version="r7")
        ix.write_page(ix.begin_scan(P, A, T0), P, A, Page(items=[photo]), T0)
        got = ix.get(P, A, "a")
    assert got is not None and got.content_hash == "md5:0cc175b9c0f1b6a831c399e269772661"
    assert (got.version, got.thumbnail_key) == ("r7", got.content_hash)
    columns = {row[1] for row in sqlite3.connect(db_path).execute("PRAGMA table_info(items)")}
    assert {"content_hash", "version"} <= columns and "thumbnail_url" not in columns


def test_removed_ids_become_purged_or_gone_by_purge_date(index: Index) -> None:
    due, early = (
        item("due", purge_at=T0 - timedelta(days=1)),
        item("early", purge_at=T0 + NINE_DAYS),
    )
    scan(index, Page(items=[due, early, item("forever"), item("kept")]))
    scan(index, Page(removed=["due", "early", "forever", "unknown"]), complete=False)
    assert states(index) == {
        "due": ItemState.PURGED, "early": ItemState.GONE,
        "forever": ItemState.GONE, "kept": ItemState.TRASHED,
    }  # fmt: skip


def test_complete_listing_sweeps_and_incremental_does_not(index: Index) -> None:
    scan(index, Page(items=[item("a"), item("b", purge_at=T0), item("c")]))
    assert scan(index, Page(items=[item("a")]), complete=False) == 0
    assert set(states(index).values()) == {ItemState.TRASHED}
    assert scan(index, Page(items=[item("a")]), Page(items=[])) == 2
    assert states(index) == {"a": ItemState.TRASHED, "b": ItemState.PURGED, "c": ItemState.GONE}


def test_an_unlisted_part_keeps_its_items_and_the_rest_is_swept(index: Index) -> None:
    """Only ids starting with the part's prefix are spared, taken literally (no LIKE wildcards)."""
    scan(index, Page(items=[item("photo:1"), item("photo:2"), item("d_x:1"), item("dax:2")]))
    scan_id = index.begin_scan(P, A, T0)
    index.write_page(scan_id, P, A, Page(items=[item("photo:1")]), T0)
    drive = UnlistedPart("Drive", "d_x:", "HTTP 503")
    outcome = ScanOutcome(state=None, complete_listing=True, unlisted=(drive,))
    assert index.finish_scan(scan_id, outcome, T0) == 2
    assert states(index) == {
        "photo:1": ItemState.TRASHED, "photo:2": ItemState.GONE,
        "d_x:1": ItemState.TRASHED, "dax:2": ItemState.GONE,
    }  # fmt: skip
    last = index.last_scan(P, A)
    assert last is not None and last.status is ScanStatus.OK
    assert last.error == "Drive not listed: HTTP 503"


def test_item_back_in_trash_after_restore_is_trashed_with_new_times(index: Index) -> None:
    scan(index, Page(items=[item("a", deleted_at=T0)]))
    got = index.get(P, A, "a")
    assert got
    index.record_restore(got, RestoreResult("a", RestoreOutcome.RESTORED), "me", False, T0)
    later = T0 + timedelta(days=3)
    scan(index, Page(items=[item("a", deleted_at=later)]), now=later)
    got = index.get(P, A, "a")
    assert got and got.state is ItemState.TRASHED and got.deleted_at == later


def test_a_scan_begun_before_a_restore_does_not_put_the_item_back_in_the_trash(
    index: Index,
) -> None:
    """A scan lists the trash, then commits what it read: a restore of one of those items that
    happened meanwhile (another trashscan, on the same machine or not) is the newer truth."""
    scan(index, Page(items=[item("a", deleted_at=T0), item("b", deleted_at=T0)]))
    hour = timedelta(hours=1)
    scan_id = index.begin_scan(P, A, T0 + hour)  # lists "a" and "b", still in the trash
    for item_id, outcome in (("a", RestoreOutcome.RESTORED), ("b", RestoreOutcome.FAILED)):
        got = index.get(P, A, item_id)
        assert got
        index.record_restore(got, RestoreResult(item_id, outcome), "me", False, T0 + 2 * hour)
    page = Page(items=[item("a", deleted_at=T0), item("b", deleted_at=T0)])
    index.write_page(scan_id, P, A, page, T0 + 3 * hour)  # what it read before the restore
    index.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), T0 + 3 * hour)
    assert states(index) == {"a": ItemState.RESTORED, "b": ItemState.TRASHED}
    # a scan begun after the restore that still lists it: trashed again since
    scan(index, Page(items=[item("a", deleted_at=T0 + 4 * hour)]), now=T0 + 4 * hour)
    assert states(index)["a"] is ItemState.TRASHED


def test_page_with_duplicates_and_removed_listed_item(index: Index) -> None:
    page = Page(items=[item("a", "one.jpg"), item("a", "two.jpg"), item("b")], removed=["b"])
    scan(index, page)
    assert states(index) == {"a": ItemState.TRASHED, "b": ItemState.TRASHED}
    got = index.get(P, A, "a")
    assert got and got.name == "two.jpg"


def test_scan_bookkeeping(index: Index) -> None:
    assert index.last_scan(P, A) is None and index.scan_state(P, A) is None
    scan_id = index.begin_scan(P, A, T0)
    index.write_page(scan_id, P, A, Page(items=[item("a")], checkpoint={"page": 1}), T0)
    assert index.checkpoint(P, A) == {"page": 1}
    index.fail_scan(scan_id, "boom", T0 + timedelta(minutes=1))
    record = index.last_scan(P, A)
    assert record and record.status is ScanStatus.FAILED and record.error == "boom"
    assert index.checkpoint(P, A) == {"page": 1} and index.scan_state(P, A) is None
    scan(index, Page(items=[item("a")]), state={"cursor": "x"})
    assert index.scan_state(P, A) == {"cursor": "x"} and index.checkpoint(P, A) is None
    record = index.last_scan(P, A)
    assert record and record.status is ScanStatus.OK and record.complete_listing is True


def test_a_scan_left_running_is_closed_as_interrupted_when_its_account_scans_again(
    index: Index,
) -> None:
    """A killed process never finishes its row; the next scan of that account (which holds the
    account's lock, so no live scan can own the row) closes it. Other accounts' rows stay."""
    dead = index.begin_scan(P, A, T0)
    other = index.begin_scan(P, "other", T0)
    later = T0 + timedelta(hours=1)
    current = index.begin_scan(P, A, later)
    with index._tx() as conn:
        rows = {r.id: r for r in conn.execute(sa.text("SELECT * FROM scans"))}
    assert rows[dead].status == ScanStatus.INTERRUPTED.value == "interrupted"
    assert rows[dead].error == "interrupted: the process ended before this scan finished"
    assert rows[dead].finished is None  # when it died is unknown
    assert rows[other].status == rows[current].status == ScanStatus.RUNNING.value
    index.finish_scan(current, ScanOutcome(None, False), later)
    record = index.last_scan(P, A)
    assert record and record.scan_id == current and record.status is ScanStatus.OK


def test_resumed_scan_spares_items_of_the_interrupted_one(index: Index) -> None:
    first = index.begin_scan(P, A, T0)
    index.write_page(first, P, A, Page(items=[item("a")], checkpoint={"page": 1}), T0)
    resumed = index.begin_scan(P, A, T0, resume=True)
    index.write_page(resumed, P, A, Page(items=[item("b")]), T0)
    assert index.finish_scan(resumed, ScanOutcome(None, True), T0) == 0
    assert scan(index, Page(items=[item("b")])) == 1  # a fresh full scan does sweep it


# --- crash consistency ---------------------------------------------------------------------------

CRASHING_SCAN = textwrap.dedent(
    """
    import os, signal, sys
    from datetime import datetime, UTC
    from sqlalchemy import event
    from trashscan.index import Index
    from trashscan.models import Page, TrashItem

    url, kill_at = sys.argv[1], sys.argv[2]
    now = datetime(2024, 5, 2, tzinfo=UTC)
    ix = Index.open(url)
    scan_id = ix.begin_scan("fake", "acct", now)
    done = 0

    @event.listens_for(ix._engine, "after_cursor_execute")
    def die_inside_page_3(conn, cursor, statement, *args):
        if kill_at == "mid_page" and done == 2 and statement.startswith("INSERT INTO items"):
            os.kill(os.getpid(), signal.SIGKILL)

    for n in (1, 2, 3):
        if kill_at == "between" and n == 3:
            os.kill(os.getpid(), signal.SIGKILL)
        page = Page(
            items=[TrashItem(f"p{n}-{i}", f"img{n}-{i}.jpg") for i in range(50)],
            removed=["old"] if n == 3 else [],
            checkpoint={"page": n},
        )
        ix.write_page(scan_id, "fake", "acct", page, now)
        done = n
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


@pytest.mark.parametrize("kill_at", ["between", "mid_page", "before_finish"])
def test_killed_scan_leaves_whole_pages_and_previous_state(index_url: str, kill_at: str) -> None:
    url = index_url
    with Index.open(url) as ix:
        scan(ix, Page(items=[item("old"), item("p1-0", "stale.jpg")]), state={"cursor": "prev"})

    proc = subprocess.run([sys.executable, "-c", CRASHING_SCAN, url, kill_at], check=False)
    assert proc.returncode == -9

    with Index.open(url) as ix:
        ids = set(states(ix))
        pages_committed = 3 if kill_at == "before_finish" else 2
        for n in (1, 2, 3):
            page_ids = {f"p{n}-{i}" for i in range(50)}
            assert page_ids <= ids if n <= pages_committed else not page_ids & ids
        assert ix.scan_state(P, A) == {"cursor": "prev"}
        assert ix.checkpoint(P, A) == {"page": pages_committed}
        last = ix.last_scan(P, A)
        assert last and last.status is ScanStatus.RUNNING
        old = ix.get(P, A, "old")
        assert old and old.state is (ItemState.GONE if pages_committed == 3 else ItemState.TRASHED)
        stale = ix.get(P, A, "p1-0")
        assert stale and stale.name == "img1-0.jpg" and stale.first_seen == T0

        later = T0 + timedelta(days=2)
        survivors = Page(items=[item(f"p1-{i}", f"img1-{i}.jpg") for i in range(50)])
        swept = scan(ix, survivors, state={"cursor": "next"}, now=later)
        assert swept == 50 * (pages_committed - 1) + (0 if pages_committed == 3 else 1)
        assert ix.counts_by_account() == {(P, A): 50}
        assert ix.scan_state(P, A) == {"cursor": "next"} and ix.checkpoint(P, A) is None


# --- refs ----------------------------------------------------------------------------------------


def test_resolve_ref_by_prefix(index: Index) -> None:
    scan(index, Page(items=[item("a"), item("b")]))
    ref = item_ref(P, A, "a")
    assert index.resolve_ref(ref[:8]).item_id == "a"
    assert ref[:4] != item_ref(P, A, "b")[:4]
    assert index.resolve_ref(ref[:4].upper()).item_id == "a"
    assert index.resolve_ref(ref).item_id == "a"
    with pytest.raises(UsageError, match="unknown ref") as caught:
        index.resolve_ref("0000000000")
    assert caught.value.hint == "run `trashscan list` to see refs"
    for bad in ("xyz1", "ab", "12345g", ""):
        with pytest.raises(UsageError, match="hexadecimal"):
            index.resolve_ref(bad)


def test_ambiguous_ref_prefix(index: Index) -> None:
    seen: dict[str, str] = {}
    for n in range(100_000):
        prefix = item_ref(P, A, f"id{n}")[:4]
        if prefix in seen:
            pair = (seen[prefix], f"id{n}")
            break
        seen[prefix] = f"id{n}"
    scan(index, Page(items=[item(pair[0]), item(pair[1])]))
    with pytest.raises(UsageError, match="2 items match"):
        index.resolve_ref(prefix)
    full = item_ref(P, A, pair[1])
    assert index.resolve_ref(full[:12]).item_id == pair[1]


# --- filters and sorting -------------------------------------------------------------------------


@pytest.fixture
def catalogue(index: Index) -> Index:
    day = timedelta(days=1)
    scan(
        index,
        Page(items=[
            item("p1", "IMG_0001.JPG", size=300, deleted_at=T0 - 5 * day, purge_at=T0 + 2 * day),
            item("p2", "100%_done.png", size=100, deleted_at=T0 - 1 * day, purge_at=T0 + 20 * day),
            item("v1", "clip.mov", size=900, deleted_at=T0 - 3 * day),
            item("v2", "a_b.bin", mime_type="video/mp4", size=None, deleted_at=None),
            item("d1", "notes.txt", size=5, deleted_at=T0 - 2 * day, purge_at=T0 + day),
            item("p3", "axb.jpg", size=50, deleted_at=T0 - 4 * day, purge_at=T0 + 2 * day),
        ]),
    )  # fmt: skip
    index.write_page(
        index.begin_scan("other", "x", T0), "other", "x", Page(items=[item("o1", "o.jpg")]), T0
    )
    return index


def ids(ix: Index, **kw) -> list[str]:
    return [it.item_id for it in ix.items(ItemFilter(**kw), T0)]


def test_filters(catalogue: Index) -> None:
    assert set(ids(catalogue)) == {"p1", "p2", "v1", "v2", "p3", "o1"}
    assert set(ids(catalogue, kinds=frozenset({Kind.VIDEO}))) == {"v1", "v2"}
    assert ids(catalogue, kinds=frozenset({Kind.OTHER})) == ["d1"]
    assert set(ids(catalogue, expiring_within=timedelta(days=3))) == {"p1", "p3"}
    assert set(ids(catalogue, deleted_since=T0 - timedelta(days=4))) == {"p2", "v1", "p3"}
    until = T0 - timedelta(days=3)
    assert set(ids(catalogue, deleted_until=until)) == {"p1", "p3"}
    assert ids(catalogue, provider="other") == ["o1"]
    assert ids(catalogue, accounts=(("other", "x"),)) == ["o1"]
    assert ids(catalogue, accounts=()) == []
    assert ids(catalogue, refs=(item_ref(P, A, "v1"),)) == ["v1"]
    assert ids(catalogue, states=frozenset({ItemState.GONE})) == []


def test_name_glob_escapes_like_wildcards(catalogue: Index) -> None:
    assert ids(catalogue, name_glob="100%*") == ["p2"]
    assert ids(catalogue, name_glob="1_0*") == []
    assert ids(catalogue, name_glob="a_b.*") == ["v2"]
    assert ids(catalogue, name_glob="a?b.*", sort="name") == ["v2", "p3"]
    assert ids(catalogue, name_glob="img_*.jpg") == ["p1"]


def test_sort_orders(catalogue: Index) -> None:
    assert ids(catalogue, provider=P) == ["p1", "p3", "p2", "v2", "v1"]
    assert ids(catalogue, provider=P, sort="deleted") == ["p2", "v1", "p3", "p1", "v2"]
    assert ids(catalogue, provider=P, sort="name") == ["p2", "v2", "p3", "v1", "p1"]
    assert ids(catalogue, provider=P, sort="size") == ["v1", "p1", "p2", "p3", "v2"]
    with pytest.raises(UsageError, match="unknown sort"):
        ids(catalogue, sort="random")


def test_totals_add_up_everything_matched_per_account_in_one_query(catalogue: Index) -> None:
    week = timedelta(days=7)

    def soonest(f: ItemFilter) -> datetime | None:
        return min((i.purge_at for i in catalogue.items(f, T0) if i.purge_at), default=None)

    mine, other = ItemFilter(provider=P), ItemFilter(provider="other")
    assert soonest(mine) is not None
    assert catalogue.totals(ItemFilter(), T0, week) == [
        # p1, p2, v1, v2 (size unknown), p3; p1 and p3 purged within a week
        AccountTotals(P, A, items=5, size=1350, unsized=1, due=2, soonest=soonest(mine)),
        AccountTotals("other", "x", items=1, size=0, unsized=1, due=0, soonest=soonest(other)),
    ]
    photos = ItemFilter(kinds=frozenset({Kind.PHOTO}), name_glob="*.jpg", provider=P)
    assert catalogue.totals(photos, T0, week) == [
        AccountTotals(P, A, 2, 350, 0, 2, soonest=soonest(photos))
    ]
    later = catalogue.totals(ItemFilter(provider=P), T0 - 14 * timedelta(days=1), week)
    assert later[0].due == 0  # "due" is counted from the now given
    assert catalogue.totals(ItemFilter(accounts=()), T0, week) == []


# --- restores, alerts, accounts ------------------------------------------------------------------


def test_restore_log_and_state(catalogue: Index) -> None:
    p1 = catalogue.resolve_ref(item_ref(P, A, "p1"))
    p2 = catalogue.resolve_ref(item_ref(P, A, "p2"))
    catalogue.record_restore(p1, RestoreResult("p1", RestoreOutcome.RESTORED), "cli", True, T0)
    assert catalogue.resolve_ref(p1.ref).state is ItemState.TRASHED
    failed = RestoreResult("p2", RestoreOutcome.FAILED, detail="quota")
    catalogue.record_restore(p2, failed, "cli", False, T0)
    assert catalogue.resolve_ref(p2.ref).state is ItemState.TRASHED
    done = RestoreResult("p1", RestoreOutcome.CONFLICT_RESOLVED, restored_path="/a (1).jpg")
    catalogue.record_restore(p1, done, "cli", False, T0 + timedelta(minutes=1))
    assert catalogue.resolve_ref(p1.ref).state is ItemState.RESTORED
    assert "p1" not in ids(catalogue)

    log = catalogue.restore_log()
    assert [(e["item_id"], e["outcome"], e["dry_run"]) for e in log] == [
        ("p1", "conflict_resolved", False), ("p2", "failed", False), ("p1", "restored", True),
    ]  # fmt: skip
    assert log[0]["restored_path"] == "/a (1).jpg" and log[0]["attempted_at"].tzinfo is UTC
    assert log[1]["detail"] == "quota" and log[1]["ref"] == p2.ref
    assert len(catalogue.restore_log(limit=1)) == 1


def test_alerts_are_recorded_once(index: Index) -> None:
    ref = item_ref(P, A, "a")
    assert index.alerts_sent([ref]) == {}
    index.record_alert(ref, "7d", "email", T0)
    index.record_alert(ref, "7d", "email", T0 + timedelta(hours=1))
    index.record_alert(ref, "3d", "desktop", T0)
    assert index.alerts_sent([ref, "0" * 40]) == {ref: {"email": {"7d"}, "desktop": {"3d"}}}


def test_counts_and_forget_account(catalogue: Index) -> None:
    assert catalogue.counts_by_account() == {(P, A): 6, ("other", "x"): 1}
    assert catalogue.counts_by_account(frozenset({Kind.VIDEO})) == {(P, A): 2}
    ref = item_ref(P, A, "p1")
    catalogue.record_alert(ref, "7d", "email", T0)
    catalogue.forget_account(P, A)
    assert catalogue.counts_by_account() == {("other", "x"): 1}
    assert catalogue.alerts_sent([ref]) == {}
    assert catalogue.last_scan(P, A) is None and catalogue.scan_state(P, A) is None


def test_many_refs_resolve_in_a_few_queries_in_order(index: Index) -> None:
    """`list -q | restore -` of thousands of refs: a query per 100 refs (an OR of index
    ranges), not two table scans per ref; the first bad/unknown/ambiguous ref is the error."""
    ids = [f"r{n}" for n in range(250)]
    scan(index, Page(items=[item(i) for i in ids]))
    refs = [item_ref(P, A, i)[:8] for i in reversed(ids)]
    selects: list[str] = []

    def count(conn, cursor, statement, *args) -> None:
        if statement.lstrip().upper().startswith("SELECT"):
            selects.append(statement)

    sa.event.listen(index._engine, "before_cursor_execute", count)
    try:
        resolved = index.resolve_refs(refs)
    finally:
        sa.event.remove(index._engine, "before_cursor_execute", count)
    assert [found.item_id for found in resolved] == list(reversed(ids))
    assert len(selects) == 3  # ceil(250 / 100)
    with pytest.raises(UsageError, match="unknown ref '00000000'"):
        index.resolve_refs([refs[0], "00000000", "xyz1"])
    with pytest.raises(UsageError, match="hexadecimal"):
        index.resolve_refs([refs[0], "xyz1", "00000000"])


def test_restore_results_recorded_together_in_one_transaction(index: Index) -> None:
    scan(index, Page(items=[item("a"), item("b"), item("c")]))
    got = {i: index.resolve_ref(item_ref(P, A, i)) for i in "abc"}
    index.record_restores(
        [
            (got["a"], RestoreResult("a", RestoreOutcome.RESTORED)),
            (got["b"], RestoreResult("b", RestoreOutcome.FAILED, "refused")),
            (got["c"], RestoreResult("c", RestoreOutcome.CONFLICT_RESOLVED, None, "/c (1)")),
        ],
        "me",
        False,
        T0,
    )
    assert states(index) == {
        "a": ItemState.RESTORED,
        "b": ItemState.TRASHED,
        "c": ItemState.RESTORED,
    }
    log = {row["item_id"]: row for row in index.restore_log()}
    assert {i: log[i]["outcome"] for i in "abc"} == {
        "a": "restored",
        "b": "failed",
        "c": "conflict_resolved",
    }
    assert log["b"]["detail"] == "refused" and log["c"]["restored_path"] == "/c (1)"


# --- listings at scale: the lean read path, its order, its indexes ---------------------------


def listed(ix: Index, f: ItemFilter, limit: int | None = None) -> list[ListedItem]:
    return [row for chunk in ix.listing(f, T0, limit) for row in chunk]


@pytest.mark.parametrize("sort", ["purge", "deleted", "name", "size"])
def test_a_listing_is_the_items_own_values_in_the_same_order(catalogue: Index, sort: str) -> None:
    """The lean rows print exactly what the full items print, in the same order, whatever the
    limit (the soonest-purge order is read in two parts: dated, then undated)."""
    for f in (
        ItemFilter(sort=sort),
        ItemFilter(kinds=frozenset(Kind), states=frozenset(ItemState), sort=sort),
        ItemFilter(expiring_within=timedelta(days=3), sort=sort),
        ItemFilter(name_glob="*.jpg", sort=sort),
    ):
        full = catalogue.items(f, T0)
        rows = listed(catalogue, f)
        records = [as_record(it, T0) for it in full]
        assert [listed_record(row, T0) for row in rows] == records  # what list prints
        assert [as_record(row, T0) for row in rows] == records  # its times, as datetimes
        assert [listed_json(row, T0) for row in rows] == [json_text(r) for r in records]
        assert [row.age_unknown for row in rows] == [it.age_unknown for it in full]
        for limit in range(len(full) + 2):
            assert [row.ref for row in listed(catalogue, f, limit)] == [
                it.ref for it in full[:limit]
            ]


def test_a_listing_line_is_the_json_of_its_record_whatever_the_names(index: Index) -> None:
    """``list --format jsonl`` writes its lines by hand: exactly json_text's, escapes included."""
    hostile = ['quote"back\\slash', "tab\tnew\nline\r", "esc\x1b[31m", "del\x7f", "bidi\u202e",
               "sep\u2028\u2029", "Été 日本.jpg", "\x85next", "emoji 🎉.jpg", "comma, here",
               "cr\ronly", "plain.jpg"]  # fmt: skip
    day = timedelta(days=1)
    scan(index, Page(items=[
        item(f"h{n}", name, path=None if n % 2 else f"/{name}/{name}", size=None if n % 3 else n,
             mime_type=None if n % 2 else "image/jpeg",
             purge_at=T0 + n * day / 7 if n % 4 else None,
             deleted_at=T0 - n * day if n % 5 else None, restorable=bool(n % 2),
             not_restorable_reason=None if n % 2 else name, deleted_after=T0 - 9 * day)
        for n, name in enumerate(hostile)
    ]))  # fmt: skip
    rows = listed(index, EVERYTHING)
    assert len(rows) == len(hostile)
    line = listed_json_lines(T0)  # what list writes: the same text, faster
    csv_line, csv_fields = listed_csv(T0)
    written = 0
    for row in rows:
        assert listed_json(row, T0) == json_text(as_record(row, T0)) == line(row)
        record = listed_record(row, T0)
        fields = [("true" if v else "false") if isinstance(v, bool) else v for v in record.values()]
        assert csv_fields(row) == fields
        by_csv = io.StringIO()
        csv.writer(by_csv, lineterminator="\n").writerow(fields)
        direct = csv_line(row)
        assert direct is None or direct == by_csv.getvalue()
        written += direct is not None
    assert written >= 4 if index._sqlite else written == 0  # PostgreSQL's rows: the csv module


def test_a_name_glob_matches_the_same_names_with_its_range(index: Index) -> None:
    """SQLite narrows a glob by its literal start (ix_items_name): never what matches."""
    names = ["IMG_1.jpg", "img_2.jpg", "IMGX.jpg", "Img.jpg", "Été.jpg", "été.jpg", "a%b.jpg",
             "a\\b.jpg", "a\U0010ffffz.jpg", "a\ud7ffz.jpg", "a\ue000z.jpg", "b.jpg"]  # fmt: skip
    scan(index, Page(items=[item(f"i{n}", name) for n, name in enumerate(names)]))

    def named(glob: str) -> set[str]:
        return {row.name for row in listed(index, ItemFilter(name_glob=glob))}

    assert named("img_*") == {"IMG_1.jpg", "img_2.jpg"}
    assert named("IMG*") == {"IMG_1.jpg", "img_2.jpg", "IMGX.jpg", "Img.jpg"}
    assert named("img?.jpg") == {"IMGX.jpg"}
    assert named("a%*") == {"a%b.jpg"} and named("a\\*") == {"a\\b.jpg"}
    assert named("a\U0010ffff*") == {"a\U0010ffffz.jpg"}
    assert named("a\ud7ff*") == {"a\ud7ffz.jpg"}
    assert "été.jpg" in named("été*") and "b.jpg" not in named("*z.jpg")
    assert named("*") == set(names)


def _statements(ix: Index) -> list[tuple[str, Any]]:
    """What ``ix`` sends: SQLAlchemy's statements with their parameters, and the driver's own
    (a SQLite listing's, read through the driver: expanded, parameters inlined, params None)."""
    seen: list[tuple[str, Any]] = []

    @sa.event.listens_for(ix._engine, "before_cursor_execute")
    def _record(conn, cursor, statement, parameters, context, executemany) -> None:
        seen.append((statement, parameters))

    @sa.event.listens_for(ix._engine, "checkout")
    def _trace(dbapi_conn, record, proxy) -> None:
        if ix._sqlite:
            dbapi_conn.set_trace_callback(lambda sql: seen.append((sql, None)))

    return seen


def _selects(seen: list[tuple[str, Any]], driver: bool = True) -> list[tuple[str, Any]]:
    """The SELECTs among ``seen``: as the driver ran them (each SQLAlchemy sent is traced by the
    driver too), or as SQLAlchemy sent them, with their parameters."""
    return [
        (s, params)
        for s, params in seen
        if (params is None) is driver and s.lstrip().upper().startswith("SELECT")
    ]


def test_a_page_is_one_statement_and_a_listing_one_query_a_part(db_path: Path) -> None:
    """Counts, not times: a page of 2,000 items is written by one executemany, and a table's
    first screen of a big trash is one query, which stops at its limit."""
    with Index.open(f"sqlite:///{db_path}") as ix:
        seen = _statements(ix)
        day = timedelta(days=1)
        batch = [item(f"p{n}", purge_at=T0 + (n % 50) * day) for n in range(2000)]
        scan(ix, Page(items=batch), Page(items=[item("undated")]))
        upserts = [
            s
            for s, params in seen
            if params is not None and s.lstrip().upper().startswith("INSERT INTO ITEMS")
        ]
        assert len(upserts) == 2  # one per page, all its rows at once
        seen.clear()
        assert len(listed(ix, ItemFilter(), limit=1000)) == 1000
        assert len(_selects(seen)) == 1
        seen.clear()
        assert len(listed(ix, ItemFilter())) == 2001  # the dated part, then the undated one
        assert len(_selects(seen)) == 2
        seen.clear()
        assert sum(t.items for t in ix.totals(ItemFilter(), T0, day)) == 2001
        assert len(_selects(seen)) == 1
    with SQLiteReader.open(f"sqlite:///{db_path}") as reader:  # list --cached: the same
        traced: list[str] = []
        reader._db.set_trace_callback(traced.append)
        assert sum(len(chunk) for chunk in reader.listing(ItemFilter(), T0, 1000)) == 1000
        assert [s.split()[0] for s in traced] == ["BEGIN", "SELECT", "COMMIT"]


def _big_and_small(db_path: Path) -> Index:
    """Two accounts, 3,000 and 30 items, scanned (the scan's ANALYZE included)."""
    day = timedelta(days=1)
    ix = Index.open(f"sqlite:///{db_path}")
    for account, count in (("big", 3000), ("small", 30)):
        scan_id = ix.begin_scan(P, account, T0)
        batch = [item(f"{account}{n}", f"IMG_{n:05d}.jpg", purge_at=T0 + (n % 900) * day,
                      size=n) for n in range(count)]  # fmt: skip
        batch += [item(f"{account}-undated{n}", f"IMG_{n:05d}.jpg") for n in range(count // 10)]
        ix.write_page(scan_id, P, account, Page(items=batch), T0)
        ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), T0)
    return ix


def _plan(raw: sqlite3.Connection, statement: str, params: Any = ()) -> str:
    rows = raw.execute("EXPLAIN QUERY PLAN " + statement, params or ()).fetchall()
    return " / ".join(row[-1] for row in rows)


_BOTH = ((P, "big"), (P, "small"))
_PLANNED = {
    "ix_items_listing": ItemFilter(accounts=_BOTH),
    "ix_items_account": ItemFilter(accounts=((P, "small"),)),
    "ix_items_name": ItemFilter(accounts=_BOTH, name_glob="img_0004*"),
    "ix_items_listing ": ItemFilter(accounts=_BOTH, expiring_within=timedelta(days=3)),
}


@pytest.mark.parametrize("index_name", list(_PLANNED))
def test_listings_filters_and_totals_read_through_indexes(db_path: Path, index_name: str) -> None:
    """What SQLite's planner does with the queries (after the scan's ANALYZE): the first screen
    in ix_items_listing's order, one account through ix_items_account, a name's start through
    ix_items_name, the totals covered by ix_items_account; no full scan and no sort of all.
    The SQL of index_read (what list reads a SQLite index with), and SQLAlchemy's (PostgreSQL's,
    which the parity test holds to the same rows) on the same file."""
    f = _PLANNED[index_name]
    index_name = index_name.strip()
    week = timedelta(days=7)
    with _big_and_small(db_path) as ix:
        raw = sqlite3.connect(db_path)
        queries = index_read.listing_queries(f, T0, index_read.LISTED_COLUMNS)
        lean = [_plan(raw, query.sql, (*query.params, 100)) for query in queries]
        seen = _statements(ix)
        assert [len(chunk) for chunk in ix._listing_sa(f, T0, 100)]  # rows, through SQLAlchemy
        orm = [_plan(raw, s, params) for s, params in _selects(seen, driver=False)]
        for plans in (lean, orm):
            first, *rest = plans
            assert index_name in first and "SCAN items" not in first, first
            if index_name == "ix_items_listing":  # no sort of everything before the first row
                assert "TEMP B-TREE FOR ORDER BY" not in first, first
            assert all("SCAN items" not in plan for plan in rest), rest
        seen.clear()
        totals = ix._totals_sa(f, T0, week)
        orm_totals = [_plan(raw, s, params) for s, params in _selects(seen, driver=False)]
        lean_totals = [_plan(raw, *index_read.totals_query(f, T0, week)[:2])]
        assert sum(t.items for t in totals) == len(listed(ix, f))
        for (plan,) in (orm_totals, lean_totals):
            assert "ix_items_name" in plan or "COVERING INDEX ix_items_account" in plan, plan
            assert "SCAN items" not in plan
        raw.close()


def _index_names(url: str, table: str = "items") -> set[str]:
    engine = sa.create_engine(url)
    with engine.connect() as conn:
        if conn.dialect.name == "sqlite":
            query = "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?"
        else:
            query = "SELECT indexname FROM pg_indexes WHERE tablename = %s"
        names = {row[0] for row in conn.exec_driver_sql(query, (table,))}
    engine.dispose()
    return names


def test_v5_indexes_the_restore_log_by_ref_and_keeps_it(index_url: str) -> None:
    with Index.open(index_url) as ix:
        scan(ix, Page(items=[item("a")]))
        got = ix.get(P, A, "a")
        assert got
        ix.record_restore(got, RestoreResult("a", RestoreOutcome.RESTORED), "me", False, T0)
    engine = sa.create_engine(index_url)
    with engine.begin() as conn:  # back to version 4, as its release left it
        conn.exec_driver_sql("DROP INDEX ix_restore_log_ref")
        conn.exec_driver_sql("UPDATE meta SET value = '4' WHERE key = 'schema_version'")
    engine.dispose()
    assert "ix_restore_log_ref" not in _index_names(index_url, "restore_log")
    with Index.open(index_url) as ix:
        assert ix.schema_version == SCHEMA_VERSION == 5
        assert [entry["outcome"] for entry in ix.restore_log()] == ["restored"]
    assert "ix_restore_log_ref" in _index_names(index_url, "restore_log")


def test_v4_trades_the_purge_index_for_the_listing_ones_and_keeps_the_items(
    index_url: str,
) -> None:
    with Index.open(index_url) as ix:
        scan(ix, Page(items=[item("a", purge_at=T0 + timedelta(days=2)), item("b")]))
    new = {"ix_items_listing", "ix_items_account", "ix_items_name"}
    engine = sa.create_engine(index_url)
    with engine.begin() as conn:  # back to version 3, as its release left it
        for name in new:
            conn.exec_driver_sql(f"DROP INDEX {name}")
        conn.exec_driver_sql("CREATE INDEX ix_items_state_purge ON items (state, purge_at)")
        conn.exec_driver_sql("UPDATE meta SET value = '3' WHERE key = 'schema_version'")
    engine.dispose()
    assert new.isdisjoint(_index_names(index_url))
    with Index.open(index_url) as ix:
        assert ix.schema_version == SCHEMA_VERSION
        assert [row.item_id for row in listed(ix, EVERYTHING)] == ["a", "b"]
        assert [row.item_id for row in listed(ix, EVERYTHING, 1)] == ["a"]
    names = _index_names(index_url)
    assert new <= names and "ix_items_state_purge" not in names
