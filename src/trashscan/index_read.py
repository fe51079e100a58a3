"""What ``list`` reads from the index, and how a SQLite index is read without SQLAlchemy.

Issue 16: at a million items a filtered listing's query takes milliseconds, and importing
SQLAlchemy took 0.25 s of CPU; a listing's rows cost as much again in its per-row processing.
So a SQLite index is read here with the standard ``sqlite3`` module: the SQL text of a filter,
its order and its totals (:func:`listing_queries`, :func:`totals_query`), and
:class:`SQLiteReader`, which opens the file as :class:`trashscan.index.Index` does (private
files, read-only handling, the same pragmas and the same schema-version check) and hands
anything out of the ordinary (no file yet, an older or newer schema, a corrupt file, a URL with
options) back to ``Index.open``, whose errors and migrations then apply unchanged.

``Index`` reads a SQLite index's listings and totals through the same SQL text; its SQLAlchemy
queries (``trashscan.index._matching`` and ``_orders``) serve PostgreSQL, and a test runs every
filter, order and limit through both and compares the rows.

The light types every reader shares live here too (:class:`ItemFilter`, :class:`ListedItem`,
:class:`AccountTotals`), so that code that only reads imports no SQLAlchemy;
``trashscan.index`` re-exports them.
"""

from __future__ import annotations

import contextlib
import os
import re
import sqlite3
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from operator import eq, itemgetter
from pathlib import Path
from typing import Any, NamedTuple
from urllib.parse import quote, unquote

from trashscan.errors import IndexStoreError, UsageError
from trashscan.files import PRIVATE_FILE, make_private_dirs, tighten
from trashscan.models import ItemState, Kind

#: The schema this trashscan reads and writes (``trashscan.index.SCHEMA_VERSION``, the number of
#: its migrations, which a test keeps equal): a reader opens only an index of exactly this one.
SCHEMA_VERSION = 5
REBUILD_HINT = "move it aside; the next scan rebuilds it"
READ_ONLY_HINT = "this command writes to it; `list --cached` and `accounts list` only read"
SIDECARS = ("-wal", "-shm", "-journal")  # the files SQLite keeps beside a database
CHUNK = 500  # rows a listing hands on at a time (and ids per IN (...) list elsewhere)
_TRASHED = ItemState.TRASHED.value


# --- what a reader is asked and answers ----------------------------------------------------------


@dataclass(frozen=True)
class ItemFilter:
    """What ``list``/``restore`` select; ``deleted_since``/``deleted_until`` are half-open."""

    accounts: tuple[tuple[str, str], ...] | None = None  # (provider, account); None = all
    provider: str | None = None
    kinds: frozenset[Kind] = frozenset({Kind.PHOTO, Kind.VIDEO})
    states: frozenset[ItemState] = frozenset({ItemState.TRASHED})
    expiring_within: timedelta | None = None  # excludes items without a purge date
    deleted_since: datetime | None = None
    deleted_until: datetime | None = None
    name_glob: str | None = None  # case-insensitive; '*' and '?' only ('[' is literal)
    sort: str = "purge"  # purge | deleted | name | size
    refs: tuple[str, ...] | None = None  # full refs
    # The UI's urgency groups: purge strictly after this (excludes items without a purge
    # date), and only items that are never purged.
    purge_after: datetime | None = None
    no_purge: bool = False


SORTS = ("purge", "deleted", "name", "size")


def check_sort(sort: str) -> None:
    if sort not in SORTS:
        raise UsageError(f"unknown sort {sort!r}", hint="use " + ", ".join(SORTS))


@dataclass(frozen=True, slots=True)
class AccountTotals:
    """What one account's matching items add up to (see :meth:`SQLiteReader.totals`)."""

    provider: str
    account: str
    items: int
    size: int  # bytes, of the items whose size is known
    unsized: int  # items of unknown size
    due: int  # items whose earliest purge is within the window asked for (or past)
    soonest: datetime | None = None  # the earliest purge_at among them (None: never purged)


class ListedItem(NamedTuple):
    """An item as a listing shows it (``list``'s outputs): the columns they print, each as the
    database driver returned it, so that a row costs next to nothing until it is printed.

    ``kind``, ``deleted_at_source`` and ``state`` are the enums' strings; the flags are true or
    false as the driver gives them (0/1 on SQLite: read them as truth values). The times are
    the stored values (SQLite: text; PostgreSQL: naive UTC ``datetime``): :meth:`iso` gives the
    ISO 8601 UTC form outputs print, and the properties ``deleted_at``, ``purge_at``,
    ``deleted_after`` and ``purge_latest`` the aware datetimes :class:`IndexedItem` has. The
    restore handle is not read: only a restore decodes it.
    """

    ref: str
    provider: str
    account: str
    item_id: str
    name: str
    path: str | None
    kind: str
    mime_type: str | None
    size: int | None
    stored_deleted_at: Any
    deleted_at_source: str
    stored_purge_at: Any
    purge_is_estimate: Any
    restorable: Any
    not_restorable_reason: str | None
    state: str
    stored_deleted_after: Any
    stored_purge_latest: Any

    @property
    def deleted_at(self) -> datetime | None:
        return utc(self.stored_deleted_at)

    @property
    def purge_at(self) -> datetime | None:
        return utc(self.stored_purge_at)

    @property
    def deleted_after(self) -> datetime | None:
        return utc(self.stored_deleted_after)

    @property
    def purge_latest(self) -> datetime | None:
        return utc(self.stored_purge_latest)

    @property
    def age_unknown(self) -> bool:
        """As :attr:`IndexedItem.age_unknown`."""
        return bool(
            self.purge_is_estimate
            and self.stored_purge_at is not None
            and self.stored_deleted_after is None
        )

    @staticmethod
    def iso(stored: Any) -> str | None:
        """A stored time as ``trashscan.timeparse.iso`` writes it (``2026-03-02T12:00:00Z``),
        from SQLite's text (``2026-03-02 12:00:00.000000``) by slicing, or from PostgreSQL's
        naive UTC datetime."""
        if stored is None:
            return None
        if stored.__class__ is str and len(stored) >= 19 and stored[10] == " ":
            return f"{stored[:10]}T{stored[11:19]}Z"
        moment = utc(stored)
        assert moment is not None
        return moment.isoformat(timespec="seconds")[:19] + "Z"


#: The ``items`` columns of a :class:`ListedItem`, in its order.
LISTED_COLUMNS = tuple(name.removeprefix("stored_") for name in ListedItem._fields)


def utc(value: Any) -> datetime | None:
    """A stored time (SQLite: ISO text; PostgreSQL: a naive datetime), aware UTC."""
    if value is None:
        return None
    if value.__class__ is str:
        value = datetime.fromisoformat(value)
    return value.replace(tzinfo=UTC)


def stored_time(moment: datetime) -> str:
    """An aware time as the index stores it on SQLite (naive UTC text, microseconds: what
    SQLAlchemy's DATETIME writes), to compare stored values with; a naive one is refused, as
    the index refuses it (its zone would be a guess)."""
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r} given to the index; pass an aware one")
    naive = moment.astimezone(UTC).replace(tzinfo=None)
    return naive.isoformat(" ", "microseconds")


# --- the SQL of a listing, for SQLite ------------------------------------------------------------


class Query(NamedTuple):
    sql: str
    params: tuple[Any, ...]
    #: The rows come in the order's first keys only: ties among them are put in account and
    #: ref order as they are read (see :func:`listing_chunks`).
    ties: str | None = None


def glob_to_like(glob: str) -> str:
    """A name glob (``*``, ``?``) as a ``LIKE`` pattern escaped by ``\\``."""
    special = {"*": "%", "?": "_", "%": "\\%", "_": "\\_", "\\": "\\\\"}
    return "".join(special.get(ch, ch) for ch in glob)


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


def name_range(glob: str) -> tuple[str, str] | None:
    """On SQLite, the range [low, high) of ``lower(name)`` that a glob's literal start implies,
    which ``ix_items_name`` answers without reading every row (PostgreSQL finds it in the
    ``LIKE`` itself, through ``text_pattern_ops``); None when the glob starts with a wildcard.

    SQLite's ``lower()`` folds ASCII letters only, as this does, and compares text by code
    point, so every name the ``LIKE`` matches lies in [start, start with its last character
    one higher): the range only narrows where to look, never what matches.
    """
    start = glob.translate(_ASCII_LOWER)
    for wildcard in "*?":
        start = start.partition(wildcard)[0]
    if not start or start[-1] == "\U0010ffff":
        return None
    following = ord(start[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:  # surrogates are not text: the next character is U+E000
        following = 0xE000
    return start, start[:-1] + chr(following)


def _marks(count: int) -> str:
    return ", ".join("?" * count)


def where_clause(f: ItemFilter, now: datetime) -> Query:
    """The WHERE of ``f`` (without the word), shared by a listing's rows and its totals: what
    ``trashscan.index._matching`` says in SQLAlchemy's terms, written for SQLite."""
    kinds = sorted(k.value for k in f.kinds)
    states = sorted(s.value for s in f.states)
    terms = [f"kind IN ({_marks(len(kinds))})", f"state IN ({_marks(len(states))})"]
    params: list[Any] = [*kinds, *states]
    if f.accounts is not None:
        names: dict[str, set[str]] = {}
        for provider, account in f.accounts:
            names.setdefault(provider, set()).add(account)
        groups = []
        for provider, group in sorted(names.items()):  # one IN per provider: never deep
            groups.append(f"(provider = ? AND account IN ({_marks(len(group))}))")
            params += [provider, *sorted(group)]
        terms.append(f"({' OR '.join(groups)})" if groups else "0")
    if f.provider is not None:
        terms.append("provider = ?")
        params.append(f.provider)
    if f.expiring_within is not None:
        terms.append("purge_at IS NOT NULL AND purge_at <= ?")
        params.append(stored_time(now + f.expiring_within))
    if f.deleted_since is not None:
        terms.append("deleted_at >= ?")
        params.append(stored_time(f.deleted_since))
    if f.deleted_until is not None:
        terms.append("deleted_at < ?")
        params.append(stored_time(f.deleted_until))
    if f.name_glob is not None:
        terms.append("lower(name) LIKE lower(?) ESCAPE '\\'")
        params.append(glob_to_like(f.name_glob))
        bounds = name_range(f.name_glob)
        if bounds is not None:
            terms.append("lower(name) >= ? AND lower(name) < ?")
            params += bounds
    if f.refs is not None:
        terms.append(f"ref IN ({_marks(len(f.refs))})")
        params += f.refs
    if f.purge_after is not None:
        terms.append("purge_at IS NOT NULL AND purge_at > ?")
        params.append(stored_time(f.purge_after))
    if f.no_purge:
        terms.append("purge_at IS NULL")
    return Query(" AND ".join(terms), tuple(params))


_TIE = "provider, account, ref"
_ORDERS = {
    "deleted": f"deleted_at IS NULL, deleted_at DESC, name, {_TIE}",
    "name": f"lower(name), name, {_TIE}",
    "size": f"size IS NULL, size DESC, name, {_TIE}",
}


def orders(f: ItemFilter) -> list[tuple[str, str, str | None]]:
    """The parts of a listing in ``f.sort`` order, each a (WHERE term, ORDER BY, ties) read one
    after the other, ties broken by account and ref so that every listing has one order.

    Soonest purge first is two parts, those with a purge date and then those without, each in
    the order of an index (``ix_items_listing``, or ``ix_items_account`` for one account), so
    that the first rows come without sorting the whole table. The index gives them by purge
    date and name; rows equal in both (rare: the same name purged at the same moment in two
    accounts) are put in account and ref order as they are read, ``ties`` naming the columns
    they are equal in, rather than by SQLite, which sorted every row (2 us of a row's 17 at
    a million)."""
    check_sort(f.sort)
    if f.sort == "purge":
        dated = ("purge_at IS NOT NULL", "purge_at, name", "purge_at, name")
        if f.expiring_within is not None:  # only dated items can match
            return [dated]
        return [dated, ("purge_at IS NULL", "name", "name")]
    return [("1", _ORDERS[f.sort], None)]


def listing_queries(f: ItemFilter, now: datetime, columns: Sequence[str]) -> list[Query]:
    """The SELECTs of a listing of ``columns``, one per part of its order (:func:`orders`),
    each to be given a ``LIMIT ?`` of what is left to read (-1: no limit)."""
    where = where_clause(f, now)
    select = ", ".join(columns)
    return [
        Query(
            f"SELECT {select} FROM items WHERE {where.sql} AND {part} ORDER BY {order} LIMIT ?",
            where.params,
            ties,
        )
        for part, order, ties in orders(f)
    ]


def totals_query(f: ItemFilter, now: datetime, due_within: timedelta) -> Query:
    """Per account: items, bytes, sized items, items due within ``due_within``, the soonest
    purge, over everything ``f`` matches (``ix_items_account`` covers it)."""
    where = where_clause(f, now)
    sql = (
        "SELECT provider, account, count(*), sum(size), count(size),"
        " sum(CASE WHEN purge_at <= ? THEN 1 ELSE 0 END), min(purge_at)"
        f" FROM items WHERE {where.sql} GROUP BY provider, account ORDER BY provider, account"
    )
    return Query(sql, (stored_time(now + due_within), *where.params))


_LISTED_SELECT = LISTED_COLUMNS


def listing_chunks(
    db: sqlite3.Connection, f: ItemFilter, now: datetime, limit: int | None
) -> Iterator[list[ListedItem]]:
    """The rows ``f`` matches, in its order, as :class:`ListedItem`, in chunks of at most
    :data:`CHUNK` as the cursor delivers them (in purge order, a chunk ahead: see
    :func:`_ties_broken`), at most ``limit`` in all. Runs in the caller's transaction."""
    left = -1 if limit is None else limit
    new = tuple.__new__
    for query in listing_queries(f, now, _LISTED_SELECT):
        if left == 0:
            return
        if query.ties is None:
            cursor = db.execute(query.sql, (*query.params, left))
            while chunk := cursor.fetchmany(CHUNK):
                if left > 0:
                    left -= len(chunk)
                yield [new(ListedItem, row) for row in chunk]
            continue
        cursor = db.execute(query.sql, (*query.params, -1))  # a limit could cut a tie short
        same = itemgetter(*(_LISTED_SELECT.index(c) for c in query.ties.split(", ")))
        for chunk in _ties_broken(cursor, same):
            if left >= 0:
                chunk = chunk[:left]
                left -= len(chunk)
            yield [new(ListedItem, row) for row in chunk]
            if left == 0:
                break
        cursor.close()


_TIE_ORDER = itemgetter(*(_LISTED_SELECT.index(c) for c in _TIE.split(", ")))


def _ties_broken(cursor: sqlite3.Cursor, same: Callable[[Any], Any]) -> Iterator[list[Any]]:
    """The cursor's rows (in the order of ``same``) in chunks of :data:`CHUNK`, each run of
    rows equal by ``same`` in account and ref order. A chunk is handed on once the run its last
    row is in has ended: the rows after it are read first (a chunk, usually)."""
    rows: list[Any] = []
    done = False
    while True:
        while not done and (len(rows) <= CHUNK or same(rows[CHUNK - 1]) == same(rows[-1])):
            more = cursor.fetchmany(CHUNK)
            done = not more
            rows += more
        if not rows:
            return
        end = len(rows)
        if not done:  # the last run may go on: its rows stay unsorted until it has ended
            last = same(rows[-1])
            while same(rows[end - 1]) == last:
                end -= 1
        keys = list(map(same, rows[:end]))
        if any(map(eq, keys, keys[1:])):
            start = 0
            for n in range(1, end + 1):
                if n == end or keys[n] != keys[start]:
                    if n - start > 1:
                        rows[start:n] = sorted(rows[start:n], key=_TIE_ORDER)
                    start = n
        yield rows[:CHUNK]
        rows = rows[CHUNK:]


def account_totals(
    db: sqlite3.Connection, f: ItemFilter, now: datetime, due_within: timedelta
) -> list[AccountTotals]:
    query = totals_query(f, now, due_within)
    return [
        AccountTotals(provider, account, n, int(size or 0), n - sized, int(due or 0), utc(soon))
        for provider, account, n, size, sized, due, soon in db.execute(query.sql, query.params)
    ]


# --- opening a SQLite file as the index does -----------------------------------------------------


def prepare_sqlite_file(path: Path) -> bool:
    """Make the database file private before SQLite opens it; True when it can only be read.

    SQLite creates a new database with mode 0644 minus the umask, but gives the -wal, -shm and
    -journal files it makes later the database file's own mode, whatever the umask (it fchmods
    them: ``robust_open`` in os_unix.c). Creating the file 0600 here therefore keeps all of them
    private; an existing one is tightened, with whatever -wal or -shm an earlier run left.
    """
    if not os.path.lexists(path):
        make_private_dirs(path.parent)
        with contextlib.suppress(FileExistsError):  # another process may have just made it
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_EXCL, PRIVATE_FILE)
            os.fchmod(fd, PRIVATE_FILE)  # a umask such as 0277 would take the owner's w too
            os.close(fd)
    for file in (path, *(Path(f"{path}{suffix}") for suffix in SIDECARS)):
        tighten(file)
    return not (os.access(path, os.W_OK) and os.access(path.parent, os.W_OK))


def read_only_uri(path: Path) -> tuple[str, dict[str, str]]:
    """The URI a read-only database is opened by, ``mode=ro``, which never writes, not even the
    WAL pragma: the database part and its query.

    A reader of a WAL database needs its -shm file; where none is left over and SQLite may not
    create one (a read-only directory or mount), it refuses to read at all unless the file is
    ``immutable``. That is true when no -wal holds pending pages and nobody writes where we may
    not; the index's files are 0600, so only its owner, running trashscan with write access,
    could. A file read-only in a writable directory is opened the same way, leaving no -wal or
    -shm behind in it.
    """
    query = {"mode": "ro"}
    if not any(os.path.lexists(f"{path}{suffix}") for suffix in SIDECARS[:2]):
        query["immutable"] = "1"
    return "file:" + quote(os.path.abspath(path)), query


def connect_to(path: Path, read_only: bool) -> tuple[str, bool]:
    """What ``sqlite3.connect`` is given for the index file ``path``, as SQLAlchemy gives it
    for the URL ``Index.open`` makes: the absolute path, or for a file that can only be read
    the URI of :func:`read_only_uri` (its options sorted); and whether it is a URI."""
    if not read_only:
        return os.path.abspath(path), False
    database, query = read_only_uri(path)
    return database + "?" + "&".join(f"{key}={query[key]}" for key in sorted(query)), True


BUSY_TIMEOUT_MS = 5000  # how long a connection waits for another's write lock before failing


def configure(dbapi_conn: Any, read_only: bool) -> None:
    """A new connection as the index uses it: explicit transactions (``isolation_level``
    None: the caller says BEGIN), WAL set where it is not yet (never on a read-only file: that
    writes), then the pragmas every connection has."""
    dbapi_conn.isolation_level = None
    cursor = dbapi_conn.cursor()
    if not read_only and cursor.execute("PRAGMA journal_mode").fetchone()[0] != "wal":
        cursor.execute("PRAGMA journal_mode=WAL")
    for pragma in ("synchronous=NORMAL", f"busy_timeout={BUSY_TIMEOUT_MS}", "foreign_keys=ON"):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def store_error(where: str, reason: str) -> IndexStoreError:
    """A database failure as the one line the CLI prints, with what to do about it."""
    hint = REBUILD_HINT if re.search("not a database|malformed", reason) else None
    hint = "another trashscan may be writing; retry" if "locked" in reason else hint
    read_only = "readonly" in reason or "read-only transaction" in reason  # SQLite, PostgreSQL
    hint = READ_ONLY_HINT if read_only else hint
    return IndexStoreError(f"index {where}: {reason}", hint=hint)


def one_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


_PLAIN_SQLITE = re.compile(r"sqlite(?:\+pysqlite)?:///([^?#]*)")


def sqlite_file(url: str) -> str | None:
    """The file of a plain SQLite URL (``sqlite:///path``: no options, ``%`` escapes undone as
    SQLAlchemy undoes them), or None for anything else (PostgreSQL, ``:memory:``, ``file:``
    URIs, options): those are ``Index.open``'s."""
    match = _PLAIN_SQLITE.fullmatch(url)
    if match is None:
        return None
    path = unquote(match[1])
    if path in ("", ":memory:") or path.startswith("file:"):
        return None
    return path


def sqlite_url(path: Path) -> str:
    """The URL of a SQLite file whatever its name (``?``, ``#`` and ``%`` escaped), as
    SQLAlchemy writes it."""
    return "sqlite:///" + quote(str(path), safe=" +/")


class SQLiteReader:
    """A SQLite index opened for listings: :meth:`listing` and :meth:`totals` as
    :class:`trashscan.index.Index` has them, through the standard ``sqlite3`` module."""

    def __init__(self, db: sqlite3.Connection, where: str, read_only: bool) -> None:
        self._db = db
        self._where = where
        self.read_only = read_only

    @classmethod
    def open(cls, url: str) -> SQLiteReader | None:
        """The index at ``url`` if it is a SQLite file of :data:`SCHEMA_VERSION`; None for
        anything else, which ``Index.open`` then opens (creating, migrating, or saying in one
        line what is wrong), so that nothing it does is done differently here."""
        path = sqlite_file(url)
        if path is None:
            return None
        try:
            read_only = prepare_sqlite_file(Path(path))
            filename, uri = connect_to(Path(path), read_only)
            db = sqlite3.connect(filename, uri=uri, check_same_thread=False)
        except (OSError, sqlite3.Error):
            return None
        try:
            configure(db, read_only)
            db.execute("BEGIN")
            try:
                row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            finally:
                db.execute("COMMIT")
        except sqlite3.Error:
            row = None
        if row is None or row[0] != str(SCHEMA_VERSION):
            db.close()
            return None
        return cls(db, path, read_only)

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> SQLiteReader:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _read(self) -> Iterator[sqlite3.Connection]:
        """One read transaction (a snapshot); failures are one IndexStoreError line."""
        db = self._db
        try:
            db.execute("BEGIN")
            try:
                yield db
            finally:
                if db.in_transaction:
                    db.execute("COMMIT")
        except sqlite3.Error as error:
            raise store_error(self._where, one_line(error)) from error

    def listing(
        self, f: ItemFilter, now: datetime, limit: int | None = None
    ) -> Iterator[list[ListedItem]]:
        """As ``Index.listing``: the rows, a chunk at a time, in one snapshot."""
        with self._read() as db:
            yield from listing_chunks(db, f, now, limit)

    def totals(self, f: ItemFilter, now: datetime, due_within: timedelta) -> list[AccountTotals]:
        """As ``Index.totals``: per account, in one aggregate query."""
        with self._read() as db:
            return account_totals(db, f, now, due_within)
