"""The local metadata mirror of a personal drive: its folders and its photos and videos.

OneDrive personal has no API that lists the recycle bin. Its delta feed reports an item deleted
after the stored cursor with a ``deleted`` facet, but without its size (and with no time), and a
deleted folder may come without its children. So trashscan keeps, per account, what it needs to
describe and restore a photo once it is gone: id, name, parent id, size, mime type, eTag, for
every photo and video, plus the folder tree (id, name, parent id) for paths and for the children
of a deleted folder. Delta never gives ``parentReference.path``, so paths are rebuilt from ids.

It is an SQLite file in the account's private directory, not memory (a drive can hold hundreds of
thousands of files) and not the scan state (a JSON value the index rewrites on every scan).
Each delta page is applied in one transaction, committed only after the core has committed what
the page says left the trash.

Deletions go through a ``pending`` flag: a page only marks rows, and once the whole feed is read
the pending rows (plus every photo below a pending folder) are reported and, once the core has
committed them, settled with their deletion time. A scan that fails or is killed half-way leaves
the flags for the next scan, which reads the same feed again from the stored cursor. Settled rows
are kept (``deleted_at``) so that an item coming back to life can be reported as having left the
trash, and pruned after the longest retention.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

VERSION = 1
MIRROR_FILE = "mirror.sqlite"
CHUNK = 500  # rows per reported page

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS items (
    id TEXT PRIMARY KEY,
    parent_id TEXT,
    name TEXT NOT NULL,
    folder INTEGER NOT NULL,
    size INTEGER,
    mime TEXT,
    etag TEXT,
    hash TEXT,
    deleted_at TEXT,
    via TEXT,
    pending INTEGER NOT NULL DEFAULT 0,
    seen INTEGER NOT NULL DEFAULT 1
);
CREATE INDEX IF NOT EXISTS items_parent ON items (parent_id);
CREATE INDEX IF NOT EXISTS items_pending ON items (pending) WHERE pending = 1;
CREATE INDEX IF NOT EXISTS items_deleted ON items (deleted_at) WHERE deleted_at IS NOT NULL;
"""

_UPSERT = """
INSERT INTO items (id, parent_id, name, folder, size, mime, etag, hash)
VALUES (:id, :parent_id, :name, :folder, :size, :mime, :etag, :hash)
ON CONFLICT (id) DO UPDATE SET
    parent_id = excluded.parent_id, name = excluded.name, folder = excluded.folder,
    size = excluded.size, mime = excluded.mime, etag = excluded.etag, hash = excluded.hash,
    deleted_at = NULL, via = NULL, pending = 0, seen = 1
"""

# Folders below a pending folder, the pending folders included.
_GONE = """
WITH RECURSIVE gone (id) AS (
    SELECT id FROM items WHERE folder = 1 AND pending = 1
    UNION
    SELECT i.id FROM items i JOIN gone g ON i.parent_id = g.id
    WHERE i.folder = 1 AND i.deleted_at IS NULL
)
"""


@dataclass(frozen=True, slots=True)
class Entry:
    """One delta record, reduced to what the mirror keeps."""

    id: str
    name: str
    parent_id: str | None
    folder: bool
    media: bool
    deleted: bool
    size: int | None = None
    mime: str | None = None
    etag: str | None = None
    hash: str | None = None  # "quickxor:…", "sha1:…" or "sha256:…" (the file facet's hashes)


@dataclass(frozen=True, slots=True)
class Gone:
    """A photo or video the mirror learnt is deleted, with what restoring it needs."""

    id: str
    name: str
    path: str
    parent_id: str | None
    size: int | None
    mime: str | None
    via_id: str | None = None  # the deleted folder that took it along (restore that one)
    via_name: str | None = None
    via_parent_id: str | None = None
    hash: str | None = None
    etag: str | None = None


class Mirror:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.conn = sqlite3.connect(path)
        self.conn.execute("PRAGMA synchronous = NORMAL")
        with self.conn:
            self.conn.executescript(_SCHEMA)
            columns = {row[1] for row in self.conn.execute("PRAGMA table_info(items)")}
            if "hash" not in columns:  # a mirror from before content hashes were kept
                self.conn.execute("ALTER TABLE items ADD COLUMN hash TEXT")
        if self._meta("version") not in (None, str(VERSION)):
            self.start_enrolment()  # an older layout: nothing in it can be trusted

    # ------------------------------------------------------------------ meta

    def _meta(self, key: str) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def _set_meta(self, key: str, value: str | None) -> None:
        if value is None:
            self.conn.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, value),
            )

    @property
    def mirror_id(self) -> str | None:
        """Changes at every enrolment; the scan state names the one it belongs to."""
        return self._meta("mirror_id")

    @property
    def enrolled_at(self) -> str | None:
        return self._meta("enrolled_at")

    # ------------------------------------------------------------------ passes

    def start_enrolment(self) -> str:
        """Forget everything: a first (or repeated) full pass starts from an empty mirror."""
        new_id = uuid.uuid4().hex
        with self.conn:
            self.conn.execute("DELETE FROM items")
            self.conn.execute("DELETE FROM meta")
            self._set_meta("version", str(VERSION))
            self._set_meta("mirror_id", new_id)
        return new_id

    def start_resync(self) -> None:
        """Before a full pass that is compared with what the mirror knew (after a 410)."""
        with self.conn:
            self.conn.execute("UPDATE items SET seen = 0 WHERE deleted_at IS NULL")

    def finish_full_pass(self, when: str, compare: bool) -> None:
        """Mark the pass done; with ``compare``, live rows the pass did not see are deleted."""
        with self.conn:
            if compare:
                self.conn.execute(
                    "UPDATE items SET pending = 1 WHERE seen = 0 AND deleted_at IS NULL"
                )
            self.conn.execute("UPDATE items SET seen = 1 WHERE seen = 0")
            self._set_meta("enrolled_at", when)

    # ------------------------------------------------------------------ one delta page

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Commit on a normal exit, roll back on any exception (``GeneratorExit`` included)."""
        with self.conn:
            yield

    def apply(self, entries: Iterable[Entry]) -> list[str]:
        """Apply one page, inside the caller's :meth:`transaction`; return the ids of trashed
        photos that are live again.

        The caller commits only once the core has committed those ids as having left the trash:
        committed earlier, a failed or killed scan would leave the mirror saying "live" and the
        index "trashed", and reading the feed again would not report them back.
        """
        back: list[str] = []
        for entry in entries:
            row = self.conn.execute(
                "SELECT deleted_at, pending FROM items WHERE id = ?", (entry.id,)
            ).fetchone()
            if entry.deleted:
                if row is not None and row[0] is None:
                    self.conn.execute("UPDATE items SET pending = 1 WHERE id = ?", (entry.id,))
                continue
            was_trashed = row is not None and row[0] is not None
            # A pending row may be in the index already: its page committed, then the process
            # died before the scan resumed to settle it. Removing an id the index never listed
            # as trashed changes nothing, so a pending photo that is back is reported too.
            maybe_listed = was_trashed or (row is not None and row[1] == 1)
            if entry.folder or entry.media:
                if was_trashed and entry.folder:
                    back.extend(self._revive_children(entry.id))
                if maybe_listed and entry.media:
                    back.append(entry.id)
                self.conn.execute(
                    _UPSERT,
                    {
                        "id": entry.id,
                        "parent_id": entry.parent_id,
                        "name": entry.name,
                        "folder": int(entry.folder),
                        "size": entry.size,
                        "mime": entry.mime,
                        "etag": entry.etag,
                        "hash": entry.hash,
                    },
                )
            elif row is not None:  # no longer a photo (renamed): not ours to follow
                if maybe_listed:
                    back.append(entry.id)
                self.conn.execute("DELETE FROM items WHERE id = ?", (entry.id,))
        return back

    def _revive_children(self, folder_id: str) -> list[str]:
        """A trashed folder is back: so are the photos it took along."""
        ids = [
            r[0]
            for r in self.conn.execute(
                "SELECT id FROM items WHERE via = ? AND deleted_at IS NOT NULL", (folder_id,)
            )
        ]
        self.conn.execute(
            "UPDATE items SET deleted_at = NULL, via = NULL, pending = 0 WHERE via = ?",
            (folder_id,),
        )
        return ids

    # ------------------------------------------------------------------ reporting deletions

    def expand_pending(self) -> None:
        """Everything below a pending folder is gone with it."""
        with self.conn:
            self.conn.execute(
                _GONE + "UPDATE items SET pending = 1 WHERE deleted_at IS NULL AND pending = 0 "
                "AND (id IN (SELECT id FROM gone) OR parent_id IN (SELECT id FROM gone))"
            )

    def pending_media(self) -> Iterator[list[Gone]]:
        """Pending photos and videos in chunks, with their path and the folder to restore."""
        for chunk in self._media("pending = 1"):
            yield [gone for gone, _ in chunk]

    def settled_media(self, since: str) -> Iterator[list[tuple[Gone, str]]]:
        """Photos and videos already reported as deleted at ``since`` or later, each with its
        stored deletion time, in chunks: to report them again with a new purge date."""
        yield from self._media("pending = 0 AND deleted_at >= ?", (since,))

    def has_deleted_media(self, since: str) -> bool:
        """Whether a photo or video is known to be deleted: pending, or settled at ``since`` or
        later."""
        return (
            self.conn.execute(
                "SELECT 1 FROM items WHERE folder = 0 AND (pending = 1 OR deleted_at >= ?) LIMIT 1",
                (since,),
            ).fetchone()
            is not None
        )

    def _media(self, where: str, args: tuple[str, ...] = ()) -> Iterator[list[tuple[Gone, str]]]:
        folders: dict[str, tuple[str | None, str, bool]] = {}
        last = ""
        while True:
            rows = self.conn.execute(
                "SELECT id, name, parent_id, size, mime, hash, etag, deleted_at FROM items "
                f"WHERE {where} AND folder = 0 AND id > ? ORDER BY id LIMIT ?",
                (*args, last, CHUNK),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            yield [(self._gone(row[:7], folders), row[7]) for row in rows]

    def _folder(
        self, folder_id: str, cache: dict[str, tuple[str | None, str, bool]]
    ) -> tuple[str | None, str, bool] | None:
        if folder_id not in cache:
            row = self.conn.execute(
                "SELECT parent_id, name, pending = 1 OR deleted_at IS NOT NULL FROM items "
                "WHERE id = ? AND folder = 1",
                (folder_id,),
            ).fetchone()
            if row is None:
                return None
            cache[folder_id] = (row[0], row[1], bool(row[2]))
        return cache[folder_id]

    def _gone(self, row: tuple, cache: dict[str, tuple[str | None, str, bool]]) -> Gone:
        item_id, name, parent_id, size, mime, content_hash, etag = row
        names: list[str] = []
        via: tuple[str, str, str | None] | None = None
        current = parent_id
        for _ in range(256):  # a cycle would be a bug; never loop forever on it
            if current is None:
                break
            folder = self._folder(current, cache)
            if folder is None:
                break
            folder_parent, folder_name, folder_gone = folder
            if folder_parent is not None:  # the root has no parent and no name in paths
                names.insert(0, folder_name)
            if folder_gone and folder_parent is not None:
                via = (current, folder_name, folder_parent)  # keeps the top-most one
            current = folder_parent
        path = "/" + "/".join([*names, name])
        via_id, via_name, via_parent = via if via else (None, None, None)
        return Gone(
            item_id, name, path, parent_id, size, mime, via_id, via_name, via_parent,
            content_hash, etag,
        )  # fmt: skip

    def settle(self, chunk: Iterable[Gone], when: str) -> None:
        """Date the reported photos (and remember the folder that took them along)."""
        with self.conn:
            self.conn.executemany(
                "UPDATE items SET deleted_at = ?, via = ?, pending = 0 WHERE id = ?",
                [(when, gone.via_id, gone.id) for gone in chunk],
            )

    def settle_rest(self, when: str) -> None:
        """Date the pending folders once all their photos are reported."""
        with self.conn:
            self.conn.execute(
                "UPDATE items SET deleted_at = ?, pending = 0 WHERE pending = 1", (when,)
            )

    def prune(self, before: str) -> None:
        """Forget deletions older than any retention: those items are purged for good."""
        with self.conn:
            self.conn.execute(
                "DELETE FROM items WHERE deleted_at IS NOT NULL AND deleted_at < ?", (before,)
            )

    # ------------------------------------------------------------------ inspection (tests, check)

    def count(self, *, folder: bool | None = None) -> int:
        if folder is None:
            return self.conn.execute("SELECT COUNT(*) FROM items").fetchone()[0]
        return self.conn.execute(
            "SELECT COUNT(*) FROM items WHERE folder = ?", (int(folder),)
        ).fetchone()[0]

    def row(self, item_id: str) -> dict[str, object] | None:
        cursor = self.conn.execute("SELECT * FROM items WHERE id = ?", (item_id,))
        found = cursor.fetchone()
        if found is None:
            return None
        return dict(zip([d[0] for d in cursor.description], found, strict=True))

    def close(self) -> None:
        self.conn.close()


@dataclass(frozen=True, slots=True)
class Live:
    """A photo or video the mirror holds as alive (for capturing its picture)."""

    id: str
    hash: str | None
    etag: str | None


def live_media(path: Path) -> Iterator[Live]:
    """Live photos and videos, the most recently added first, read-only (a scan may be writing:
    a busy mirror ends the iteration early, never fails it)."""
    if not path.exists():
        return
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
    except sqlite3.Error:
        return
    try:
        columns = {row[1] for row in conn.execute("PRAGMA table_info(items)")}
        digest = "hash" if "hash" in columns else "NULL"
        last = None
        while True:
            rows = conn.execute(
                f"SELECT rowid, id, {digest}, etag FROM items WHERE folder = 0 AND pending = 0 "
                "AND deleted_at IS NULL AND (? IS NULL OR rowid < ?) ORDER BY rowid DESC LIMIT ?",
                (last, last, CHUNK),
            ).fetchall()
            if not rows:
                return
            last = rows[-1][0]
            for _rowid, item_id, content_hash, etag in rows:
                yield Live(item_id, content_hash, etag)
    except sqlite3.Error:
        return
    finally:
        conn.close()


def read_enrolled_at(path: Path) -> str | None:
    """When the enrolment finished, read-only (``accounts test`` may run beside a scan)."""
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True)
        try:
            row = conn.execute("SELECT value FROM meta WHERE key = 'enrolled_at'").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def open_mirror(account_dir: Path) -> Mirror:
    return Mirror(account_dir / MIRROR_FILE)
