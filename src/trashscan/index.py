"""The unified local index of trashed items across every account.

SQLAlchemy Core keeps the SQL portable: SQLite is the default and PostgreSQL must work for shared
installs, so the only dialect-specific piece is the upsert, picked in :func:`_insert`. Every scan
page is one transaction, so a scan killed at any point leaves whole pages and the previous completed
scan state behind, never half a page.
"""

from __future__ import annotations

import bisect
import enum
import functools
import itertools
import json
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, fields, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import sqlalchemy as sa
from sqlalchemy.dialects import sqlite
from sqlalchemy.engine import Connection, Engine, RowMapping

from trashscan.errors import IndexStoreError, UsageError
from trashscan.index_read import (
    READ_ONLY_HINT,
    REBUILD_HINT,
    AccountTotals,
    ItemFilter,
    ListedItem,
    account_totals,
    check_sort,
    configure,
    glob_to_like,
    listing_chunks,
    name_range,
    one_line,
    prepare_sqlite_file,
    read_only_uri,
    store_error,
)
from trashscan.kinds import classify
from trashscan.models import (
    BACK_OUTCOMES,
    EXACT_SOURCES,
    DeletedAtSource,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    RestoreResult,
    ScanOutcome,
    TrashItem,
    item_ref,
)

__all__ = ["AccountTotals", "Index", "ItemFilter", "ListedItem"]  # the readers' types re-exported

REFS_HINT = "run `trashscan list` to see refs"
_TRASHED = ItemState.TRASHED.value
_MIGRATION_LOCK = int.from_bytes(b"trashscn")  # PostgreSQL advisory lock key of migrations
_CHUNK = 500  # ids per IN (...) list: far below SQLite's and PostgreSQL's parameter limits
_REF_CHUNK = 100  # ref prefixes per query (an OR of ranges: two parameters each)
# SQLite's page cache of a connection that writes, in KiB when negative (the default is 2 MB;
# a million-item ingest with it spends half its time re-reading index pages). Readers keep
# the default, so that a listing's memory stays flat.
_WRITE_CACHE = -65536


class UTCDateTime(sa.TypeDecorator[datetime]):
    """Naive UTC in the database, aware UTC in Python.

    Naive storage sorts and compares identically on every backend; naive input is refused because
    guessing its zone would silently shift purge dates by hours.
    """

    impl = sa.DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} given to the index; pass an aware one")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


class JSONText(sa.TypeDecorator[Any]):
    """JSON as plain text, so SQLite and PostgreSQL store byte-identical values."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        return None if value is None else json.dumps(value, sort_keys=True)

    def process_result_value(self, value: str | None, dialect: Any) -> Any:
        return None if value is None else json.loads(value)


def _col(name: str, type_: Any, *args: Any, null: bool = True, **kw: Any) -> sa.Column[Any]:
    return sa.Column(name, type_, *args, nullable=null, **kw)


Str, Txt, Int, Bool = sa.String, sa.Text, sa.Integer, sa.Boolean
metadata = sa.MetaData()
meta = sa.Table(
    "meta", metadata, _col("key", Str(64), primary_key=True), _col("value", Txt, null=False)
)
scans = sa.Table(
    "scans", metadata,
    _col("id", Int, primary_key=True, autoincrement=True),
    _col("provider", Str, null=False), _col("account", Str, null=False),
    _col("started", UTCDateTime, null=False), _col("finished", UTCDateTime),
    _col("status", Str(16), null=False), _col("error", Txt), _col("complete_listing", Bool),
    # First scan of a listing that resumed interrupted scans; the sweep spares what they saw.
    _col("listing_from", Int),
    sa.Index("ix_scans_account", "provider", "account", "id"),
)  # fmt: skip
items = sa.Table(
    "items", metadata,
    _col("provider", Str, primary_key=True), _col("account", Str, primary_key=True),
    _col("item_id", Str, primary_key=True), _col("ref", Str(40), null=False),
    _col("name", Str, null=False), _col("path", Str), _col("kind", Str(16), null=False),
    _col("mime_type", Str), _col("size", sa.BigInteger),
    _col("deleted_at", UTCDateTime), _col("deleted_at_source", Str(16), null=False),
    _col("purge_at", UTCDateTime), _col("purge_is_estimate", Bool, null=False),
    _col("restorable", Bool, null=False), _col("not_restorable_reason", Txt),
    _col("restore_handle", JSONText, null=False),
    _col("first_seen", UTCDateTime, null=False), _col("last_seen", UTCDateTime, null=False),
    _col("last_scan_id", Int), _col("state", Str(16), null=False),
    # v2: the deletion's lower bound (NULL: unknown) and the latest plausible purge.
    _col("deleted_after", UTCDateTime), _col("purge_latest", UTCDateTime),
    # v3: the provider's content hash ("md5:…") and the item's version (thumbnail cache keys).
    _col("content_hash", Txt), _col("version", Txt),
    sa.Index("ix_items_ref", "ref", unique=True),
    # v4: what listings read in order, and what their filters and totals narrow by (see
    # _v4_listing_indexes, which also makes ix_items_name).
    sa.Index("ix_items_listing", "state", "purge_at", "name"),
    sa.Index(
        "ix_items_account", "state", "provider", "account", "purge_at", "name", "kind", "size"
    ),
)  # fmt: skip
account_state = sa.Table(
    "account_state", metadata,
    _col("provider", Str, primary_key=True), _col("account", Str, primary_key=True),
    _col("state", JSONText), _col("checkpoint", JSONText), _col("checkpoint_scan_id", Int),
    _col("updated_at", UTCDateTime, null=False),
)  # fmt: skip
restore_log_table = sa.Table(
    "restore_log", metadata,
    _col("id", Int, primary_key=True, autoincrement=True), _col("ref", Str(40), null=False),
    _col("provider", Str, null=False), _col("account", Str, null=False),
    _col("item_id", Str, null=False), _col("name", Str, null=False),
    _col("attempted_at", UTCDateTime, null=False), _col("actor", Str, null=False),
    _col("outcome", Str(32), null=False), _col("detail", Txt), _col("restored_path", Txt),
    _col("dry_run", Bool, null=False),
    sa.Index("ix_restore_log_ref", "ref", "attempted_at"),  # see _v5_restore_log_ref
)  # fmt: skip
alerts = sa.Table(
    "alerts", metadata,
    _col("ref", Str(40), primary_key=True), _col("threshold", Str(16), primary_key=True),
    _col("channel", Str(64), primary_key=True), _col("sent_at", UTCDateTime, null=False),
)  # fmt: skip


def _v1_initial(conn: Connection) -> None:
    # An empty database gets today's tables at once; each later step adds only what it lacks.
    metadata.create_all(conn, checkfirst=True)


def _v2_purge_bounds(conn: Connection) -> None:
    """Add ``deleted_after`` and ``purge_latest``, and make v1's estimates earliest-plausible.

    v1 kept one date per item. For an estimate it was the latest the deletion could have been
    (a first sighting, a change's time), so its purge date was the latest plausible one. Now
    ``purge_at`` is the earliest: a first sighting gets no lower bound (any day now), a change
    seen by an incremental scan the start of the scan before (whose feed position it came after).
    """
    have = {column["name"] for column in sa.inspect(conn).get_columns("items")}
    if {"deleted_after", "purge_latest"} <= have:
        return  # created by _v1_initial from today's tables
    kind = sa.DateTime().compile(dialect=conn.dialect)
    for name in ("deleted_after", "purge_latest"):
        conn.exec_driver_sql(f"ALTER TABLE items ADD COLUMN {name} {kind}")
    ok = sa.select(scans.c.provider, scans.c.account, scans.c.started, scans.c.finished).where(
        scans.c.status == ScanStatus.OK.value, scans.c.finished.is_not(None)
    )
    done: dict[tuple[str, str], list[tuple[datetime, datetime]]] = {}
    for provider, account, started, finished in conn.execute(ok):
        done.setdefault((provider, account), []).append((finished, started))
    c = items.c
    columns = (c.provider, c.account, c.item_id, c.deleted_at, c.deleted_at_source, c.purge_at,
               c.purge_is_estimate, c.first_seen)  # fmt: skip
    exact = {source.value for source in EXACT_SOURCES}
    for row in conn.execute(sa.select(*columns)).mappings().all():
        deleted, purge = row["deleted_at"], row["purge_at"]
        after = deleted if row["deleted_at_source"] in exact else None
        if row["deleted_at_source"] == DeletedAtSource.CHANGES.value:
            seen = row["first_seen"]
            scans_before = done.get((row["provider"], row["account"]), ())
            after = max((s for f, s in scans_before if f < seen), default=None)
        values: dict[str, Any] = {"deleted_after": after, "purge_latest": purge}
        if row["purge_is_estimate"] and purge is not None and deleted is not None:
            keep = purge - deleted  # the retention v1 added
            lower = deleted - keep if after is None else min(after, deleted)
            values["purge_at"] = lower + keep
        key = (c.provider == row["provider"], c.account == row["account"])
        conn.execute(sa.update(items).where(*key, c.item_id == row["item_id"]).values(values))


def _v3_content_hash(conn: Connection) -> None:
    """Add ``content_hash`` and ``version``; drop ``thumbnail_url``.

    A provider's thumbnail link expires within hours and some carry credentials, so none may be
    stored: the column (never written by any release) goes, and pictures live in the local
    thumbnail cache instead (:mod:`trashscan.thumbnails`).
    """
    have = {column["name"] for column in sa.inspect(conn).get_columns("items")}
    for name in ("content_hash", "version"):
        if name not in have:
            conn.exec_driver_sql(f"ALTER TABLE items ADD COLUMN {name} TEXT")
    if "thumbnail_url" in have:  # SQLite 3.35+ and PostgreSQL both drop a plain column
        conn.exec_driver_sql("ALTER TABLE items DROP COLUMN thumbnail_url")


def _v4_listing_indexes(conn: Connection) -> None:
    """Indexes that let a listing of a million items start at once and a filter read only
    what it matches.

    ``ix_items_listing`` (state, purge_at, name) yields the trashed items soonest purge first,
    so the first screen of ``list`` needs no sort of the whole table; ``ix_items_account``
    serves one account's items in the same order, and covers the per-account totals under the
    table; ``ix_items_name`` (lowercased) serves a name glob's literal start (on PostgreSQL with
    ``text_pattern_ops``, which ``LIKE`` needs whatever the database's collation). v1's
    (state, purge_at) index is a prefix of ``ix_items_listing``, so it goes.
    """
    conn.exec_driver_sql("DROP INDEX IF EXISTS ix_items_state_purge")
    for index in items.indexes:
        if index.name in ("ix_items_listing", "ix_items_account"):
            conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
    _create_name_index(conn)


def _v5_restore_log_ref(conn: Connection) -> None:
    """The restore log by ref: a scan's page asks it, for each row already restored that the
    page lists again, whether that item was restored since the scan began (a library restored
    then trashed again is thousands of such rows); an item's history reads it too."""
    for index in restore_log_table.indexes:
        conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))


def _create_name_index(conn: Connection) -> None:
    # Not in the table's metadata: its PostgreSQL option would load that dialect at every start.
    pattern = " text_pattern_ops" if conn.dialect.name == "postgresql" else ""
    conn.exec_driver_sql(
        f"CREATE INDEX IF NOT EXISTS ix_items_name ON items (state, lower(name){pattern})"
    )


#: The items' indexes besides the primary key: what a first scan builds once at its end.
SECONDARY_INDEXES = ("ix_items_ref", "ix_items_listing", "ix_items_account", "ix_items_name")
_DEFERRED_KEY = "secondary_indexes"  # meta: "deferred" while a first scan loads without them


MIGRATIONS: list[Callable[[Connection], None]] = [
    _v1_initial,
    _v2_purge_bounds,
    _v3_content_hash,
    _v4_listing_indexes,
    _v5_restore_log_ref,
]
"""``MIGRATIONS[n]`` upgrades schema version n to n + 1; version 0 is an empty database."""
SCHEMA_VERSION = len(MIGRATIONS)


class ScanStatus(enum.StrEnum):
    RUNNING = "running"
    OK = "ok"
    FAILED = "failed"
    INTERRUPTED = "interrupted"  # found still running by the next scan of its account


INTERRUPTED_ERROR = "interrupted: the process ended before this scan finished"


@dataclass(frozen=True, slots=True)
class ScanRecord:
    started: datetime
    finished: datetime | None
    status: ScanStatus
    error: str | None
    scan_id: int
    complete_listing: bool | None


if TYPE_CHECKING:
    from sqlalchemy.dialects import postgresql


def _insert(conn: Connection, table: sa.Table) -> sqlite.Insert | postgresql.Insert:
    """The dialect's INSERT, the only one that knows ON CONFLICT; the rest of the SQL is generic."""
    if conn.dialect.name == "sqlite":
        return sqlite.insert(table)
    if conn.dialect.name == "postgresql":
        from sqlalchemy.dialects import postgresql  # only there: 40 ms of every start-up

        return postgresql.insert(table)
    raise IndexStoreError(f"unsupported index database {conn.dialect.name!r}", hint="use SQLite")


def _of(table: sa.Table, provider: str, account: str) -> tuple[sa.ColumnElement[bool], ...]:
    return (table.c.provider == provider, table.c.account == account)


def _of_accounts(accounts: Sequence[tuple[str, str]]) -> sa.ColumnElement[bool]:
    """Rows of these (provider, account) pairs, in an expression that does not deepen with them.

    One ``OR`` per account nested a thousand deep for a thousand accounts, past SQLite's limit
    ("Expression tree is too large"). Grouped by provider there is one ``IN`` per provider, and
    its names are rendered inline (quoted by the dialect) rather than as one bound parameter
    each, so no parameter limit applies either.
    """
    names: dict[str, list[str]] = {}
    for provider, account in accounts:
        names.setdefault(provider, []).append(account)
    if not names:
        return sa.false()
    return sa.or_(
        *(
            sa.and_(
                items.c.provider == provider,
                items.c.account.in_(
                    sa.bindparam(
                        f"accounts_{n}", sorted(set(group)), expanding=True, literal_execute=True
                    )
                ),
            )
            for n, (provider, group) in enumerate(sorted(names.items()))
        )
    )


def _matching(f: ItemFilter, now: datetime, dialect: str = "") -> list[sa.ColumnElement[bool]]:
    """The WHERE of ``f``, shared by the rows (:meth:`Index.items`) and their totals."""
    c = items.c
    where: list[Any] = [
        c.kind.in_([k.value for k in f.kinds]),
        c.state.in_([s.value for s in f.states]),
    ]
    if f.accounts is not None:
        where.append(_of_accounts(f.accounts))
    if f.provider is not None:
        where.append(c.provider == f.provider)
    if f.expiring_within is not None:
        where.append(sa.and_(c.purge_at.is_not(None), c.purge_at <= now + f.expiring_within))
    if f.deleted_since is not None:
        where.append(c.deleted_at >= f.deleted_since)
    if f.deleted_until is not None:
        where.append(c.deleted_at < f.deleted_until)
    if f.name_glob is not None:
        pattern = sa.func.lower(sa.literal(glob_to_like(f.name_glob)))
        where.append(sa.func.lower(c.name).like(pattern, escape="\\"))
        bounds = name_range(f.name_glob) if dialect == "sqlite" else None
        if bounds is not None:  # see name_range: ix_items_name's range of a glob's start
            lowered = sa.func.lower(c.name)
            where += [lowered >= bounds[0], lowered < bounds[1]]
    if f.refs is not None:
        where.append(c.ref.in_(list(f.refs)))
    if f.purge_after is not None:
        where.append(sa.and_(c.purge_at.is_not(None), c.purge_at > f.purge_after))
    if f.no_purge:
        where.append(c.purge_at.is_(None))
    return where


def _after(keys: Sequence[Any], start: Sequence[Any]) -> sa.ColumnElement[bool]:
    """``(keys) > (start)`` spelt out, (a > x) or (a = x and b > y) or ..., which every
    dialect reads, where row values are not everywhere."""
    terms = []
    for n, key in enumerate(keys):
        equal = [keys[i] == start[i] for i in range(n)]
        terms.append(sa.and_(*equal, key > start[n]))
    return sa.or_(*terms)


def _read_only_url(url: sa.URL, path: Path) -> sa.URL:
    """The database opened as :func:`~trashscan.index_read.read_only_uri` says (``mode=ro``,
    ``immutable`` where no -wal or -shm is left)."""
    database, query = read_only_uri(path)
    return url.set(database=database).update_query_dict({"uri": "true", **query})


def _sqlite_hooks(engine: Engine, read_only: bool) -> None:
    """Explicit BEGIN (IMMEDIATE for writers) instead of pysqlite's implicit transactions.

    pysqlite would start transactions lazily and run DDL outside them; taking the write lock up
    front also lets busy_timeout work instead of failing on a read-to-write upgrade. Setting WAL
    mode writes to the file, so it is done only when the database is not in WAL mode yet (a new
    one), and never on a read-only one.
    """

    @sa.event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        configure(dbapi_conn, read_only)  # what SQLiteReader does to its connection too

    @sa.event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        write = conn.get_execution_options().get("trashscan_write", False)
        if write:  # a page of a big trash touches pages of every index: keep them (64 MB)
            conn.exec_driver_sql(f"PRAGMA cache_size={_WRITE_CACHE}")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if write else "BEGIN")


_TIMES = frozenset({"deleted_at", "purge_at", "deleted_after", "purge_latest"})
_FLAGS = frozenset({"purge_is_estimate", "restorable"})


def _raw(name: str) -> Any:
    """A column as the driver returns it, without SQLAlchemy's per-value conversions."""
    name = name.removeprefix("stored_")
    column = items.c[name]
    if name in _TIMES:
        return sa.type_coerce(column, sa.String()).label(name)
    if name in _FLAGS:
        return sa.type_coerce(column, sa.Integer()).label(name)
    return column


_LISTED_COLUMNS = [_raw(name) for name in ListedItem._fields]


def _orders(f: ItemFilter) -> list[tuple[list[Any], list[Any]]]:
    """The parts of a listing in ``f.sort`` order, each a (WHERE, ORDER BY) read one after
    the other, ties broken by account and ref so that every listing has one order.

    Soonest purge first is two parts, those with a purge date and then those without, each in
    the order of an index (``ix_items_listing``, or ``ix_items_account`` for one account), so
    that the first rows come without sorting the whole table. (One ``ORDER BY`` putting NULLs
    last, which no dialect spells alike, would sort everything first.)
    """
    c = items.c
    tie = [c.provider, c.account, c.ref]

    def nulls_last(col: Any) -> Any:  # portable: NULLS LAST is not in every dialect
        return sa.case((col.is_(None), 1), else_=0)

    if f.sort == "purge":
        dated = ([c.purge_at.is_not(None)], [c.purge_at, c.name, *tie])
        if f.expiring_within is not None:  # only dated items can match
            return [dated]
        return [dated, ([c.purge_at.is_(None)], [c.name, *tie])]
    orders = {
        "deleted": [nulls_last(c.deleted_at), c.deleted_at.desc(), c.name],
        "name": [sa.func.lower(c.name), c.name],
        "size": [nulls_last(c.size), c.size.desc(), c.name],
    }
    check_sort(f.sort)
    return [([], [*orders[f.sort], *tie])]


def _refresh_statistics(conn: Connection) -> None:
    """SQLite's planner picks among the listing indexes by their statistics: without them it
    reads a name glob's totals through one account's index (every row) instead of the name's.
    A bounded ANALYZE (a thousand rows an index, milliseconds whatever the size) after each scan
    keeps them current; PostgreSQL's autovacuum keeps its own."""
    conn.exec_driver_sql("PRAGMA analysis_limit=1000")
    conn.exec_driver_sql("ANALYZE items")


_ITEM_FIELDS = tuple(f.name for f in fields(IndexedItem))


def _to_item(row: RowMapping) -> IndexedItem:
    values = {name: row[name] for name in _ITEM_FIELDS}
    values.update(
        kind=Kind(row["kind"]), deleted_at_source=DeletedAtSource(row["deleted_at_source"]),
        state=ItemState(row["state"]), purge_is_estimate=bool(row["purge_is_estimate"]),
        restorable=bool(row["restorable"]), restore_handle=row["restore_handle"] or {},
    )  # fmt: skip
    return IndexedItem(**values)


def _handle_encoder() -> Callable[[Any], str]:
    """``json.dumps(value, sort_keys=True)``, what :class:`JSONText` stores, for every row of a
    page: ``json.dumps`` builds an encoder per call (and ``JSONEncoder.encode`` its C encoder),
    so the C encoder is built once here, with the same settings (``tests/core/test_index.py``
    checks that the text is the same). Without the C module, the encoder object serves."""
    from json import encoder

    make = getattr(encoder, "c_make_encoder", None)
    if make is None:
        return json.JSONEncoder(sort_keys=True).encode

    def default(value: Any) -> Any:
        raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")

    # (markers, default, encoder, indent, key separator, item separator, sort_keys, skipkeys,
    # allow_nan): json.dumps's defaults but sort_keys, and no circular check (a handle is a tree;
    # a cycle would end in RecursionError rather than ValueError).
    encode = make(
        None, default, encoder.encode_basestring_ascii, None, ": ", ", ", True, False, True
    )
    join = "".join
    return lambda value: join(encode(value, 0))


_HANDLE_JSON = _handle_encoder()


def _row_values(
    item: TrashItem, scan_id: int, provider: str, account: str, now: Any, when: Callable[[Any], Any]
) -> tuple[Any, ...]:
    """A scanned item as the values of an ``items`` row, in the table's column order
    (:data:`_ROW_COLUMNS`); ``when`` turns a time into the driver's value, ``now`` is one."""
    kind = item.kind or classify(item.name, item.mime_type)
    handle = _HANDLE_JSON(item.restore_handle or {})  # as JSONText stores it
    deleted_at = item.deleted_at
    deleted = when(deleted_at)
    after = item.deleted_after  # an exact source's: the deletion time itself, converted once
    return (
        provider, account, item.item_id, item_ref(provider, account, item.item_id), item.name,
        item.path, kind.value, item.mime_type, item.size, deleted,
        _source_value(item.deleted_at_source), when(item.purge_at),
        item.purge_is_estimate, item.restorable, item.not_restorable_reason, handle, now, now,
        scan_id, _TRASHED, deleted if after is deleted_at else when(after),
        when(item.purge_latest), item.content_hash, item.version,
    )  # fmt: skip


def _source_value(source: Any) -> str:
    """``DeletedAtSource(source).value``, without the enum call for a member (the usual case)."""
    return source.value if type(source) is DeletedAtSource else DeletedAtSource(source).value


_ROW_COLUMNS = (
    "provider", "account", "item_id", "ref", "name", "path", "kind", "mime_type", "size",
    "deleted_at", "deleted_at_source", "purge_at", "purge_is_estimate", "restorable",
    "not_restorable_reason", "restore_handle", "first_seen", "last_seen", "last_scan_id", "state",
    "deleted_after", "purge_latest", "content_hash", "version",
)  # fmt: skip


_Upsert = tuple[str, Callable[[tuple[Any, ...]], Any], Callable[[datetime | None], Any]]


def _naive_utc(value: datetime | None) -> datetime | None:
    """What :class:`UTCDateTime` stores: naive UTC; a naive input is refused as it refuses it."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise ValueError(f"naive datetime {value!r} given to the index; pass an aware one")
    return value.astimezone(UTC).replace(tzinfo=None)


def _sqlite_time(value: datetime | None) -> str | None:
    """:func:`_naive_utc` as SQLAlchemy's SQLite DATETIME stores it (text, microseconds)."""
    if value is None:
        return None
    if value.tzinfo is UTC:  # the usual case: one call, no conversion
        return value.isoformat(" ", "microseconds")[:26]
    naive = _naive_utc(value)
    return None if naive is None else naive.isoformat(" ", "microseconds")


# Rows a SQLite upsert statement carries (24 parameters each, far below SQLite's limit of
# 32,766). Python's sqlite3 releases the GIL around each step of a statement: an ``executemany``
# of one row a step hands the GIL back and forth with every other busy thread once a row (the
# local trash reads its next page on a thread of its own), and waits for it each time: 100,000
# rows took 2.9 s alone and 14.7 s beside a busy thread; 100 rows a step, 2.6 s and 3.6 s.
_ROWS_PER_UPSERT = 100
_ROW_PLACES = "(" + ", ".join("?" * len(_ROW_COLUMNS)) + ")"


@functools.lru_cache(maxsize=8)
def _grouped_upsert(sql: str, rows: int) -> str:
    """The one-row upsert ``sql`` (``INSERT ... VALUES (?, ...) ON CONFLICT ...``) made to insert
    ``rows`` rows: ``INSERT ... SELECT * FROM (VALUES (...), ...) WHERE true ON CONFLICT ...``
    (the ``WHERE true`` is how SQLite's grammar tells the upsert from a join's ON)."""
    head, found, upsert = sql.partition(f" VALUES {_ROW_PLACES} ON CONFLICT ")
    if not found:
        raise AssertionError(f"unexpected upsert statement: {sql[:200]}")
    values = ", ".join([_ROW_PLACES] * rows)
    return f"{head} SELECT * FROM (VALUES {values}) WHERE true ON CONFLICT {upsert}"


def _upsert_in_groups(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    """SQLite: ``rows`` (each its columns' values; the statement has no parameter of its own)
    upserted :data:`_ROWS_PER_UPSERT` to a statement. The rows are distinct keys, so a group
    inserts or updates each row exactly as a statement of its own would."""
    whole = len(rows) - len(rows) % _ROWS_PER_UPSERT
    flat = itertools.chain.from_iterable
    if whole:
        statement = _grouped_upsert(sql, _ROWS_PER_UPSERT)
        groups = range(0, whole, _ROWS_PER_UPSERT)
        conn.exec_driver_sql(
            statement, [tuple(flat(rows[i : i + _ROWS_PER_UPSERT])) for i in groups]
        )
    if whole < len(rows):  # the rest: one statement, kept by sqlite3's cache of the last few
        conn.exec_driver_sql(_grouped_upsert(sql, len(rows) - whole), tuple(flat(rows[whole:])))


class Index:
    """One index per install; the scanner is its single writer, readers may run alongside."""

    def __init__(self, engine: Engine, where: str, read_only: bool = False) -> None:
        self._engine = engine
        self._where = where
        self.read_only = read_only  # a read-only file, directory or mount: queries only
        self.schema_version = 0
        self._upserts: dict[str, _Upsert] = {}

    @classmethod
    def open(cls, url: str) -> Index:
        """Open (creating and migrating as needed); any failure is one IndexStoreError line.

        A SQLite index is created 0600 (its directory 0700) and an existing one tightened; one
        that cannot be written is opened read-only, so that listing from it still works.
        """
        try:
            parsed = sa.make_url(url)
        except sa.exc.ArgumentError as error:
            raise IndexStoreError(f"bad index URL: {one_line(error)}") from None
        is_sqlite = parsed.get_backend_name() == "sqlite"
        db = parsed.database or ""
        on_disk = is_sqlite and db not in ("", ":memory:") and not db.startswith("file:")
        where = db if on_disk else parsed.render_as_string(hide_password=True)
        read_only = False
        try:
            if on_disk:
                read_only = prepare_sqlite_file(Path(db))
                parsed = _read_only_url(parsed, Path(db)) if read_only else parsed
            engine = sa.create_engine(parsed)
        except (OSError, ImportError, sa.exc.SQLAlchemyError) as error:
            reason = getattr(error, "strerror", None) or one_line(error)
            raise IndexStoreError(f"cannot open index {where}: {reason}") from error
        if is_sqlite:
            _sqlite_hooks(engine, read_only)
        index = cls(engine, where, read_only)
        try:
            index.schema_version = index._migrate()
        except BaseException:
            engine.dispose()
            raise
        return index

    def require_writable(self) -> None:
        """Refuse now, before a command changes anything elsewhere (a restore moves files, calls
        a cloud) that it then could not record here."""
        if self.read_only:
            raise IndexStoreError(f"index {self._where} is read-only", hint=READ_ONLY_HINT)

    def close(self) -> None:
        self._engine.dispose()

    def __enter__(self) -> Index:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextmanager
    def _tx(self, write: bool = False) -> Iterator[Connection]:
        """One transaction; database failures surface as IndexStoreError, never a traceback."""
        if write:
            self.require_writable()
        try:
            with self._engine.connect() as conn:
                conn.execution_options(trashscan_write=write)
                with conn.begin():
                    yield conn
        # Bugs in our own SQL or arguments stay tracebacks; the SQLite driver's own errors come
        # from the listings read through it (index_read).
        except (sa.exc.DBAPIError, sqlite3.Error) as error:
            raise store_error(self._where, one_line(error)) from error

    def _read_version(self, conn: Connection) -> int:
        if not sa.inspect(conn).has_table("meta"):
            return 0
        value = conn.scalar(sa.select(meta.c.value).where(meta.c.key == "schema_version"))
        if not re.fullmatch(r"\d+", value or "0"):
            message = f"index {self._where} has a bad schema version {value!r}"
            raise IndexStoreError(message, hint=REBUILD_HINT)
        version = int(value or 0)
        if version > SCHEMA_VERSION:
            raise IndexStoreError(
                f"index {self._where} has schema version {version}, newer than this trashscan"
                f" understands ({SCHEMA_VERSION})",
                hint="upgrade trashscan, or " + REBUILD_HINT,
            )
        return version

    def _migrate(self) -> int:
        with self._tx() as conn:
            if self._read_version(conn) == SCHEMA_VERSION:
                return SCHEMA_VERSION
        with self._tx(write=True) as conn:  # re-read: another process may have migrated meanwhile
            if conn.dialect.name == "postgresql":  # serialised as SQLite's BEGIN IMMEDIATE does
                conn.execute(sa.select(sa.func.pg_advisory_xact_lock(_MIGRATION_LOCK)))
            for step in MIGRATIONS[self._read_version(conn) :]:
                step(conn)
            stmt = _insert(conn, meta).values(key="schema_version", value=str(SCHEMA_VERSION))
            conn.execute(
                stmt.on_conflict_do_update(
                    index_elements=["key"], set_={"value": stmt.excluded.value}
                )
            )
        return SCHEMA_VERSION

    # --- scans -----------------------------------------------------------------------------------

    def begin_scan(
        self, provider: str, account: str, now: datetime, *, resume: bool = False
    ) -> int:
        """Start a scan; ``resume`` means it continues from :meth:`checkpoint`.

        A resumed scan does not re-list the pages its interrupted predecessors committed, so its
        sweep must spare what they saw: it inherits their ``listing_from``. The caller holds the
        account's lock, so a scan of this account still ``running`` belongs to a dead process:
        it is closed as ``interrupted``.
        """
        with self._tx(write=True) as conn:
            dead = sa.update(scans).where(
                *_of(scans, provider, account), scans.c.status == ScanStatus.RUNNING.value
            )
            conn.execute(dead.values(status=ScanStatus.INTERRUPTED.value, error=INTERRUPTED_ERROR))
            listing_from = None
            if resume:
                listing_from = conn.scalar(
                    sa.select(scans.c.listing_from)
                    .join(account_state, account_state.c.checkpoint_scan_id == scans.c.id)
                    .where(*_of(account_state, provider, account))
                )
            values = {"provider": provider, "account": account, "started": now}
            values["status"] = ScanStatus.RUNNING.value
            scan_id = conn.execute(sa.insert(scans).values(values)).inserted_primary_key[0]
            mark = sa.update(scans).where(scans.c.id == scan_id)
            conn.execute(mark.values(listing_from=listing_from or scan_id))
            return int(scan_id)

    def write_page(
        self, scan_id: int, provider: str, account: str, page: Page, now: datetime
    ) -> int:
        """Commit one page atomically: removals first, so an id both removed and listed stays.

        Returns how many items the page's removals took out of the trash (ids the index did
        not hold as trashed do not count)."""
        left = 0
        with self._tx(write=True) as conn:
            for start in range(0, len(page.removed), _CHUNK):
                chunk = page.removed[start : start + _CHUNK]
                left += self._leave_trash(conn, provider, account, items.c.item_id.in_(chunk), now)
            # Deduplicated: PostgreSQL refuses to upsert the same row twice in one statement.
            # In key order: each insert then lands next to the previous one in the primary key
            # (a provider's listing order is a hash order, a directory's too), so a page dirties
            # and re-reads far fewer of its pages.
            unique = {it.item_id: it for it in page.items}
            if unique:
                sql, bind, when = self._prepared_upsert(conn)
                seen = when(now)
                rows = [
                    bind(_row_values(unique[key], scan_id, provider, account, seen, when))
                    for key in sorted(unique)
                ]
                if conn.dialect.name == "sqlite":
                    _upsert_in_groups(conn, sql, rows)
                else:
                    conn.exec_driver_sql(sql, rows)
            if page.checkpoint is not None:
                checkpoint = {"checkpoint": page.checkpoint, "checkpoint_scan_id": scan_id}
                self._put_account_state(conn, provider, account, now, checkpoint)
        return left

    def _prepared_upsert(self, conn: Connection) -> _Upsert:
        """The page upsert, compiled once per index and dialect; what turns a row's values
        (:func:`_row_values`) into its driver parameters; and how a time is given to the driver.
        A page is then one ``executemany`` of a statement the driver keeps prepared (sqlite3's
        statement cache; psycopg's pipeline), without SQLAlchemy's per-value processing, which
        cost more than the database's own work."""
        dialect = conn.dialect.name
        if dialect not in self._upserts:
            stmt = self._upsert_items(conn)
            compiled = stmt.compile(dialect=conn.dialect, column_keys=list(_ROW_COLUMNS))
            # The statement's own values (the CASEs' 'trashed'); the rows give the columns'.
            own = {name: bind.effective_value for name, bind in compiled.binds.items()}
            constants = {name: value for name, value in own.items() if name not in _ROW_COLUMNS}
            order = compiled.positiontup
            if order is not None and order[: len(_ROW_COLUMNS)] == list(_ROW_COLUMNS):
                tail = tuple(constants[name] for name in order[len(_ROW_COLUMNS) :])
                if dialect == "sqlite" and tail:  # _upsert_in_groups sends the rows alone
                    raise AssertionError(f"the upsert has parameters of its own: {tail}")

                def bind(values: tuple[Any, ...]) -> Any:  # qmark (SQLite): the row, then ours
                    return values + tail
            elif order is not None:  # positional in another order
                where = {name: n for n, name in enumerate(_ROW_COLUMNS)}

                def bind(values: tuple[Any, ...]) -> Any:
                    return tuple(
                        values[where[name]] if name in where else constants[name] for name in order
                    )
            else:  # named (psycopg's %(name)s)

                def bind(values: tuple[Any, ...]) -> Any:
                    return {**constants, **dict(zip(_ROW_COLUMNS, values, strict=True))}

            when = _sqlite_time if dialect == "sqlite" else _naive_utc
            self._upserts[dialect] = (compiled.string, bind, when)
        return self._upserts[dialect]

    @staticmethod
    def _upsert_items(conn: Connection) -> Any:
        """Deletion bounds only ever tighten, and an estimate never replaces an exact time.

        While a row is trashed, every sighting is evidence about the same deletion. An exact
        time (the API's, an activity log's) replaces whatever was known. Otherwise an exact time
        is kept, and two estimates intersect: the latest plausible deletion and purge can only
        come earlier. The earliest plausible purge (``purge_at``, what alerts use) can only come
        earlier too: a new lower bound says "deleted after the previous scan", which is void for
        an item that scan already saw in the trash (a later change of it, not its deletion), so a
        later estimate never makes the purge later; an earlier one is taken (the provider learnt
        that the item may be purged sooner: a OneDrive recycle bin over 10% of the storage). An
        item trashed again after it left the trash starts a new deletion: its old times no
        longer apply.
        """
        stmt = _insert(conn, items)
        new, old = stmt.excluded, items.c

        def exact(source: Any) -> Any:  # no IN (...): executemany cannot expand a list
            return sa.or_(*(source == sa.literal_column(f"'{s.value}'") for s in EXACT_SOURCES))

        known = sa.and_(
            old.state == sa.literal_column(f"'{_TRASHED}'"),  # no parameter: see _upsert_in_groups
            old.deleted_at.is_not(None),
            sa.not_(exact(new.deleted_at_source)),
        )
        keep_exact = sa.and_(known, exact(old.deleted_at_source))
        merge = sa.and_(known, sa.not_(exact(old.deleted_at_source)))

        def earlier(a: Any, b: Any) -> Any:  # the earlier of two times, ignoring NULL
            return sa.case((b.is_(None), a), (a.is_(None), b), (a <= b, a), else_=b)

        old_time = sa.or_(new.deleted_at.is_(None), old.deleted_at <= new.deleted_at)
        latest = earlier(old.purge_latest, new.purge_latest)
        soonest = earlier(old.purge_at, new.purge_at)
        lowest = sa.case((sa.and_(latest.is_not(None), latest < soonest), latest), else_=soonest)
        merged = {
            "deleted_at": earlier(old.deleted_at, new.deleted_at),
            "deleted_after": old.deleted_after,
            "purge_latest": latest,
            "purge_at": lowest,
        }
        fixed = {"provider", "account", "item_id", "ref", "first_seen"}
        set_: dict[str, Any] = {c.name: new[c.name] for c in items.c if c.name not in fixed}
        # A scan commits what it listed earlier: an item restored since this scan began (by
        # another run) stays restored. Restored before it began and listed: trashed again.
        # Written out: SQLAlchemy does not correlate a subquery of ON CONFLICT's SET with the
        # row (``items``) and ``excluded`` (it would add both to the subquery's FROM).
        back = ", ".join(f"'{outcome.value}'" for outcome in BACK_OUTCOMES)
        restored_since = sa.literal_column(
            "EXISTS (SELECT 1 FROM restore_log WHERE restore_log.ref = items.ref"
            f" AND NOT restore_log.dry_run AND restore_log.outcome IN ({back})"
            " AND restore_log.attempted_at >= (SELECT scans.started FROM scans"
            " WHERE scans.id = excluded.last_scan_id))"
        )
        set_["state"] = sa.case(
            (old.state == sa.literal_column(f"'{ItemState.RESTORED.value}'"),
             sa.case((restored_since, old.state), else_=new.state)),
            else_=new.state,
        )  # fmt: skip
        times = ("deleted_at", "deleted_at_source", "deleted_after", "purge_at", "purge_latest")
        for name in (*times, "purge_is_estimate"):
            by_time = sa.case((old_time, old[name]), else_=new[name])
            set_[name] = sa.case(
                (keep_exact, old[name]), (merge, merged.get(name, by_time)), else_=new[name]
            )
        return stmt.on_conflict_do_update(
            index_elements=["provider", "account", "item_id"], set_=set_
        )

    @staticmethod
    def _leave_trash(
        conn: Connection, provider: str, account: str, condition: Any, now: datetime
    ) -> int:
        """One UPDATE: past its (latest plausible) purge date it was purged, else restored
        elsewhere or emptied."""
        due = sa.func.coalesce(items.c.purge_latest, items.c.purge_at) <= now
        left = sa.case((due, ItemState.PURGED.value), else_=ItemState.GONE.value)
        where = (*_of(items, provider, account), items.c.state == _TRASHED, condition)
        return conn.execute(sa.update(items).where(*where).values(state=left)).rowcount

    @staticmethod
    def _put_account_state(
        conn: Connection, provider: str, account: str, now: datetime, values: dict[str, Any]
    ) -> None:
        values = {**values, "updated_at": now}
        stmt = _insert(conn, account_state).values(provider=provider, account=account, **values)
        conn.execute(
            stmt.on_conflict_do_update(index_elements=["provider", "account"], set_=values)
        )

    def finish_scan(self, scan_id: int, outcome: ScanOutcome, now: datetime) -> int:
        """Commit the new state and, for a complete listing, sweep what the scan did not see."""
        with self._tx(write=True) as conn:
            scan = conn.execute(sa.select(scans).where(scans.c.id == scan_id)).mappings().first()
            if scan is None:
                raise ValueError(f"no scan {scan_id} in index {self._where}")
            provider, account = scan["provider"], scan["account"]
            new_state = {"state": outcome.state, "checkpoint": None, "checkpoint_scan_id": None}
            self._put_account_state(conn, provider, account, now, new_state)
            swept = 0
            if outcome.complete_listing:
                seen_from = scan["listing_from"] or scan_id
                unseen = sa.or_(items.c.last_scan_id.is_(None), items.c.last_scan_id < seen_from)
                # A part the scan could not list keeps its items as they were.
                kept = [
                    sa.not_(items.c.item_id.startswith(part.item_prefix, autoescape=True))
                    for part in outcome.unlisted
                ]
                swept = self._leave_trash(conn, provider, account, sa.and_(unseen, *kept), now)
            done = {"finished": now, "status": ScanStatus.OK.value, "error": outcome.partial()}
            done["complete_listing"] = outcome.complete_listing
            conn.execute(sa.update(scans).where(scans.c.id == scan_id).values(done))
            if conn.dialect.name == "sqlite":
                _refresh_statistics(conn)
            return swept

    def fail_scan(self, scan_id: int, error: str, now: datetime) -> None:
        """Leave state and checkpoint alone: the next scan must not trust a partial listing."""
        failed = {"finished": now, "status": ScanStatus.FAILED.value, "error": error}
        with self._tx(write=True) as conn:
            conn.execute(sa.update(scans).where(scans.c.id == scan_id).values(failed))

    # --- a first scan's bulk load --------------------------------------------------------------

    def defer_secondary_indexes(self) -> bool:
        """Before a first scan into an empty SQLite index: drop the secondary indexes, so that
        its pages only append rows and extend the primary key; True if they were dropped.

        A page of 20,000 rows lands in 20,000 places of each of them (a ref is a hash; purge
        dates, and names in most listings, come in any order): at a million rows each commit
        rewrote most of every index's pages, more than half the ingest's time. Building them
        once at the end (:meth:`build_secondary_indexes`) sorts each in one pass. Meanwhile a
        listing reads the table without them: the same rows, more slowly. ``meta`` records
        that they are deferred, in the same transaction, so that a load killed before it built
        them leaves that for the next scan to see (:meth:`secondary_indexes_deferred`).
        """
        if self._engine.dialect.name != "sqlite":
            return False  # PostgreSQL's index maintenance is another matter; not measured
        with self._tx(write=True) as conn:
            if conn.scalar(sa.select(meta.c.value).where(meta.c.key == _DEFERRED_KEY)):
                return False  # a killed load's: built first, by the caller
            if conn.scalar(sa.select(items.c.item_id).limit(1)) is not None:
                return False
            for name in SECONDARY_INDEXES:
                conn.exec_driver_sql(f"DROP INDEX IF EXISTS {name}")
            conn.execute(sa.insert(meta).values(key=_DEFERRED_KEY, value="deferred"))
        return True

    def secondary_indexes_deferred(self) -> bool:
        """Whether a bulk load dropped the secondary indexes and has not built them yet (it is
        still running, or it was killed)."""
        with self._tx() as conn:
            return bool(conn.scalar(sa.select(meta.c.value).where(meta.c.key == _DEFERRED_KEY)))

    def build_secondary_indexes(self) -> None:
        """Create whichever secondary index is missing and clear the deferral, in one
        transaction (a kill meanwhile leaves both as they were), then refresh the planner's
        statistics."""
        with self._tx(write=True) as conn:
            for index in items.indexes:
                conn.execute(sa.schema.CreateIndex(index, if_not_exists=True))
            _create_name_index(conn)
            conn.execute(sa.delete(meta).where(meta.c.key == _DEFERRED_KEY))
            if conn.dialect.name == "sqlite":
                _refresh_statistics(conn)

    def _account_value(self, provider: str, account: str, column: str) -> dict | None:
        stmt = sa.select(account_state.c[column]).where(*_of(account_state, provider, account))
        with self._tx() as conn:
            return conn.scalar(stmt)

    def scan_state(self, provider: str, account: str) -> dict | None:
        return self._account_value(provider, account, "state")

    def checkpoint(self, provider: str, account: str) -> dict | None:
        return self._account_value(provider, account, "checkpoint")

    def last_scan(self, provider: str, account: str) -> ScanRecord | None:
        stmt = sa.select(scans).where(*_of(scans, provider, account)).order_by(scans.c.id.desc())
        with self._tx() as conn:
            row = conn.execute(stmt.limit(1)).mappings().first()
        if row is None:
            return None
        return ScanRecord(
            started=row["started"], finished=row["finished"], status=ScanStatus(row["status"]),
            error=row["error"], scan_id=row["id"], complete_listing=row["complete_listing"],
        )  # fmt: skip

    # --- queries ---------------------------------------------------------------------------------

    def items(self, f: ItemFilter, now: datetime) -> list[IndexedItem]:
        return list(self.iter_items(f, now))

    def iter_items(self, f: ItemFilter, now: datetime) -> Iterator[IndexedItem]:
        """The items, each as the database cursor delivers it (a server-side cursor on
        PostgreSQL), so that a caller can act on the first before the last is read.

        A read transaction stays open while the caller iterates: a snapshot, so the rows are
        one consistent listing even while a scan commits pages meanwhile."""
        for chunk in self._chunks([items], f, now, None):
            for row in chunk:
                yield _to_item(row._mapping)

    @property
    def _sqlite(self) -> bool:
        return self._engine.dialect.name == "sqlite"

    def listing(
        self, f: ItemFilter, now: datetime, limit: int | None = None
    ) -> Iterator[list[ListedItem]]:
        """``list``'s rows, a chunk of at most a few hundred at a time as the cursor fetches
        them: the columns a listing prints, as plain values (:class:`ListedItem`), at most
        ``limit`` of them. Nothing holds more than a chunk, so memory does not grow with the
        index; a writer flushes each chunk before the next is read (``jsonl`` gets each row
        out within a chunk's time, not at the end). A snapshot, as :meth:`iter_items`.

        On SQLite, through the driver with :mod:`trashscan.index_read`'s SQL (what
        ``list --cached`` reads without SQLAlchemy); elsewhere with SQLAlchemy's."""
        if self._sqlite:
            with self._tx() as conn:
                yield from listing_chunks(conn.connection.driver_connection, f, now, limit)
            return
        yield from self._listing_sa(f, now, limit)

    def _listing_sa(
        self, f: ItemFilter, now: datetime, limit: int | None = None
    ) -> Iterator[list[ListedItem]]:
        """:meth:`listing` through SQLAlchemy's queries, whatever the database."""
        new = tuple.__new__
        for chunk in self._chunks(_LISTED_COLUMNS, f, now, limit):
            yield [new(ListedItem, row) for row in chunk]

    def _chunks(
        self, columns: Sequence[Any], f: ItemFilter, now: datetime, limit: int | None
    ) -> Iterator[Sequence[Any]]:
        """The rows of ``columns`` that ``f`` matches, in its order (:func:`_orders`), in
        chunks of at most :data:`_CHUNK` as the cursor delivers them."""
        parts = _orders(f)
        left = limit
        with self._tx() as conn:
            where = _matching(f, now, conn.dialect.name)
            streaming = conn.execution_options(stream_results=True, yield_per=_CHUNK)
            for part_where, order in parts:
                if left is not None and left <= 0:
                    return
                stmt = sa.select(*columns).where(*where, *part_where).order_by(*order)
                if left is not None:
                    stmt = stmt.limit(left)
                for chunk in streaming.execute(stmt).partitions(_CHUNK):
                    if left is not None:
                        left -= len(chunk)
                    yield chunk

    def totals(self, f: ItemFilter, now: datetime, due_within: timedelta) -> list[AccountTotals]:
        """Per account, the items ``f`` matches, their bytes and how many may be purged within
        ``due_within`` (``purge_at``, the earliest plausible purge), in one aggregate query
        over everything matched, whatever a table shows of it (on SQLite, as
        :meth:`listing`, with :mod:`trashscan.index_read`'s SQL)."""
        if self._sqlite:
            with self._tx() as conn:
                return account_totals(conn.connection.driver_connection, f, now, due_within)
        return self._totals_sa(f, now, due_within)

    def _totals_sa(
        self, f: ItemFilter, now: datetime, due_within: timedelta
    ) -> list[AccountTotals]:
        """:meth:`totals` through SQLAlchemy's query, whatever the database."""
        c = items.c
        due = sa.case((c.purge_at <= now + due_within, 1), else_=0)
        stmt = (
            sa.select(
                c.provider, c.account, sa.func.count(), sa.func.sum(c.size),
                sa.func.count(c.size), sa.func.sum(due), sa.func.min(c.purge_at),
            )
            .group_by(c.provider, c.account)
            .order_by(c.provider, c.account)
        )  # fmt: skip
        with self._tx() as conn:
            stmt = stmt.where(*_matching(f, now, conn.dialect.name))
            return [
                AccountTotals(
                    provider, account, n, int(size or 0), n - sized, int(soon or 0), soonest
                )
                for provider, account, n, size, sized, soon, soonest in conn.execute(stmt)
            ]

    def page(
        self, f: ItemFilter, now: datetime, limit: int, after: str | None = None
    ) -> list[IndexedItem]:
        """At most ``limit`` items ``f`` matches, soonest purge first (``list``'s order), from
        the one after the item whose full ref is ``after``: keyset paging, so that items
        restored meanwhile shift nothing, and a page costs the same wherever it starts.

        Read as :meth:`listing` reads, in the parts of :func:`_orders` (those with a purge
        date, then those without), each in an index's order from where the page starts: the
        rows after the start's keys, from its purge date (or name) on, which the index's range
        answers. An ``after`` the index no longer holds starts from the beginning."""
        c = items.c
        parts = _orders(replace(f, sort="purge"))
        where = _matching(f, now)
        found: list[IndexedItem] = []
        with self._tx() as conn:
            start = None
            if after is not None:
                keys = sa.select(c.purge_at, c.name, c.provider, c.account, c.ref)
                start = conn.execute(keys.where(c.ref == after)).first()
            if start is not None and start[0] is None:  # undated: on in the undated part
                parts = parts[1:]
            for part, order in parts:
                if len(found) >= limit:
                    break
                since: list[Any] = []
                if start is not None:  # the part the start is in; the next from its beginning
                    values = list(start) if start[0] is not None else list(start)[1:]
                    since = [order[0] >= values[0], _after(order, values)]
                    start = None
                stmt = sa.select(items).where(*where, *part, *since).order_by(*order)
                rows = conn.execute(stmt.limit(limit - len(found))).mappings()
                found += [_to_item(row) for row in rows]
        return found

    def by_ref(self, ref: str) -> IndexedItem | None:
        """The item of this full ref (the UI's links), whatever its state; None if unknown."""
        with self._tx() as conn:
            row = conn.execute(sa.select(items).where(items.c.ref == ref)).mappings().first()
        return None if row is None else _to_item(row)

    def copies(self, hashes: Sequence[str]) -> dict[str, list[IndexedItem]]:
        """Every item, of any account and state, whose content hash is one of ``hashes``:
        the same bytes by the provider's own hash ("md5:…" only ever equals "md5:…")."""
        found: dict[str, list[IndexedItem]] = {}
        wanted = sorted({h for h in hashes if h})
        with self._tx() as conn:
            for start in range(0, len(wanted), _CHUNK):
                chunk = wanted[start : start + _CHUNK]
                stmt = sa.select(items).where(items.c.content_hash.in_(chunk))
                for row in conn.execute(stmt.order_by(items.c.ref)).mappings():
                    found.setdefault(row["content_hash"], []).append(_to_item(row))
        return found

    def resolve_ref(self, ref: str) -> IndexedItem:
        """Git-style: any unambiguous prefix of at least 4 hex characters names an item."""
        return self.resolve_refs([ref])[0]

    def resolve_refs(self, refs: Sequence[str]) -> list[IndexedItem]:
        """:meth:`resolve_ref` of each ref, in order, in one transaction and a query per
        :data:`_REF_CHUNK` refs (``list -q | restore -`` of 10,000 refs: a few queries, not two
        table scans each). The first bad, unknown or ambiguous ref, in order, is the error.

        A prefix is looked up as the range [prefix, prefix + "g"), which the unique index on
        ``ref`` serves (refs are lowercase hex, and "g" sorts after every hex digit), where
        ``LIKE 'prefix%'`` would read the whole table. The ranges are one text clause with a
        parameter per bound (:func:`_ref_ranges`): building 10,000 SQLAlchemy comparisons took
        seconds, longer than the queries."""
        prefixes = [ref.strip().lower() for ref in refs]
        valid = sorted({p for p in prefixes if re.fullmatch(r"[0-9a-f]{4,40}", p)})
        rows: list[RowMapping] = []
        with self._tx() as conn:
            for start in range(0, len(valid), _REF_CHUNK):
                chunk = valid[start : start + _REF_CHUNK]
                params = {}
                for n, prefix in enumerate(chunk):
                    params[f"lo{n}"], params[f"hi{n}"] = prefix, prefix + "g"
                rows.extend(conn.execute(_ref_ranges(len(chunk)), params).mappings())
        rows.sort(key=lambda row: row["ref"])
        keys = [row["ref"] for row in rows]
        resolved: list[IndexedItem] = []
        for ref, prefix in zip(refs, prefixes, strict=True):
            if not re.fullmatch(r"[0-9a-f]{4,40}", prefix):
                message = f"bad ref {ref!r}: a ref is at least 4 hexadecimal characters"
                raise UsageError(message, hint=REFS_HINT)
            first = bisect.bisect_left(keys, prefix)
            count = bisect.bisect_left(keys, prefix + "g", first) - first
            if count == 0:
                raise UsageError(f"unknown ref {ref!r}", hint=REFS_HINT)
            if count > 1:
                raise UsageError(
                    f"ambiguous ref {ref!r}: {count} items match", hint="type more of it"
                )
            resolved.append(_to_item(rows[first]))
        return resolved

    def get(self, provider: str, account: str, item_id: str) -> IndexedItem | None:
        stmt = sa.select(items).where(*_of(items, provider, account), items.c.item_id == item_id)
        with self._tx() as conn:
            row = conn.execute(stmt).mappings().first()
        return None if row is None else _to_item(row)

    def counts_by_account(self, kinds: frozenset[Kind] | None = None) -> dict[tuple[str, str], int]:
        """Trashed items per (provider, account), of every kind unless ``kinds`` narrows it."""
        stmt = sa.select(items.c.provider, items.c.account, sa.func.count())
        stmt = stmt.where(items.c.state == _TRASHED).group_by(items.c.provider, items.c.account)
        if kinds is not None:
            stmt = stmt.where(items.c.kind.in_([k.value for k in kinds]))
        with self._tx() as conn:
            return {(p, a): n for p, a, n in conn.execute(stmt)}

    # --- restores and alerts ---------------------------------------------------------------------

    def record_restore(
        self, item: IndexedItem, result: RestoreResult, actor: str, dry_run: bool, now: datetime
    ) -> None:
        """Audit every attempt; only a real, successful one changes the item's state."""
        self.record_restores([(item, result)], actor, dry_run, now)

    def record_restores(
        self,
        entries: Sequence[tuple[IndexedItem, RestoreResult]],
        actor: str,
        dry_run: bool,
        now: datetime,
    ) -> None:
        """:meth:`record_restore` of several results in one transaction: a restore records the
        results that came in while it was writing the previous ones together (one commit per
        batch, not one per item), and prints them only once committed."""
        if not entries:
            return
        with self._tx(write=True) as conn:
            conn.execute(
                sa.insert(restore_log_table),
                [
                    {
                        "ref": item.ref,
                        "provider": item.provider,
                        "account": item.account,
                        "item_id": item.item_id,
                        "name": item.name,
                        "attempted_at": now,
                        "actor": actor,
                        "outcome": result.outcome.value,
                        "detail": result.detail,
                        "restored_path": result.restored_path,
                        "dry_run": dry_run,
                    }
                    for item, result in entries
                ],
            )
            if dry_run:
                return
            back = [
                {"p": item.provider, "a": item.account, "i": item.item_id}
                for item, result in entries
                if result.ok
            ]
            if back:
                key = (
                    items.c.provider == sa.bindparam("p"),
                    items.c.account == sa.bindparam("a"),
                    items.c.item_id == sa.bindparam("i"),
                )
                stmt = sa.update(items).where(*key).values(state=ItemState.RESTORED.value)
                conn.execute(stmt, back)

    def restore_log(
        self,
        limit: int | None = 100,
        accounts: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        ref: str | None = None,
    ) -> list[dict[str, Any]]:
        """Newest first; of these account names only (if any), attempted in [since, until),
        of one item's full ``ref`` if given."""
        log = restore_log_table.c
        stmt = sa.select(restore_log_table).order_by(log.id.desc()).limit(limit)
        if ref is not None:
            stmt = stmt.where(log.ref == ref)
        if accounts:
            stmt = stmt.where(log.account.in_(list(accounts)))
        if since is not None:
            stmt = stmt.where(log.attempted_at >= since)
        if until is not None:
            stmt = stmt.where(log.attempted_at < until)
        with self._tx() as conn:
            rows = conn.execute(stmt).mappings()
            return [{**row, "dry_run": bool(row["dry_run"])} for row in rows]

    def restore_log_accounts(self) -> set[str]:
        """The account names the audit log holds, removed accounts' included."""
        stmt = sa.select(restore_log_table.c.account).distinct()
        with self._tx() as conn:
            return set(conn.scalars(stmt))

    def alerts_sent(self, refs: Sequence[str]) -> dict[str, dict[str, set[str]]]:
        """ref -> channel -> thresholds already delivered, for many refs in few queries.

        Per channel, so a channel that failed is retried next run even when another delivered.
        """
        sent: dict[str, dict[str, set[str]]] = {}
        with self._tx() as conn:
            for start in range(0, len(refs), _CHUNK):
                chunk = list(refs[start : start + _CHUNK])
                query = sa.select(alerts.c.ref, alerts.c.channel, alerts.c.threshold)
                for ref, channel, threshold in conn.execute(query.where(alerts.c.ref.in_(chunk))):
                    sent.setdefault(ref, {}).setdefault(channel, set()).add(threshold)
        return sent

    def record_alert(self, ref: str, threshold: str, channel: str, now: datetime) -> None:
        """Idempotent, so a re-run check never notifies twice for the same threshold."""
        with self._tx(write=True) as conn:
            stmt = _insert(conn, alerts).values(
                ref=ref, threshold=threshold, channel=channel, sent_at=now
            )
            conn.execute(
                stmt.on_conflict_do_nothing(index_elements=["ref", "threshold", "channel"])
            )

    def forget_account(self, provider: str, account: str) -> None:
        """Local bookkeeping only; the restore log is kept as an audit trail."""
        with self._tx(write=True) as conn:
            refs = sa.select(items.c.ref).where(*_of(items, provider, account))
            conn.execute(sa.delete(alerts).where(alerts.c.ref.in_(refs)))
            for table in (items, account_state, scans):
                conn.execute(sa.delete(table).where(*_of(table, provider, account)))


@functools.lru_cache(maxsize=4)
def _ref_ranges(count: int) -> sa.Select:
    """``select * from items where`` ``count`` ranges ``ref >= :loN and ref < :hiN``, OR-ed."""
    ranges = " OR ".join(f"(ref >= :lo{n} AND ref < :hi{n})" for n in range(count))
    return sa.select(items).where(sa.text(ranges))
