"""The Dropbox fake's file model: one namespace per account, paths, file revisions, a journal.

Dropbox is path-addressed: what ``list_folder`` shows is one entry per *path*, and a deleted file
is not an object in a trash but a path whose latest event is a deletion ("DeletedMetadata:
Indicates that there used to be a file or folder at this path, but it no longer exists"
[files.stone]). So the model keeps, per namespace:

* ``nodes``: the latest state of every path ever used: a live file or folder, or a tombstone
  (``deleted_at`` set). A tombstone stays until the path is used again, so a path deleted and
  then re-created lists as the new live file, never as deleted;
* ``path_events``: per path, its file revisions and deletions in time order, which is what
  ``list_revisions`` in ``path`` mode reads ("all revisions at the same file path as the latest
  file entry are returned" [files.stone route list_revisions]); a move away counts as a deletion
  there ("is_deleted: If the file identified by the latest revision in the response is either
  deleted or moved" [files.stone ListRevisionsResult]);
* ``id_events``: per file ID, its revisions across moves and its real deletions, for ``id``
  mode ("useful to retrieve revisions for a given file across moves or renames");
* ``journal``: the changed paths in order, which ``list_folder/continue`` replays for a cursor
  ("retrieve updates to the folder" [files.stone route list_folder/continue]).

Revisions are immutable; a restore writes a *new* revision with the old one's content (the
returned ``FileMetadata`` has a fresh ``rev``). Nothing here knows about HTTP.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

__all__ = [
    "Account",
    "Deletion",
    "Namespace",
    "Node",
    "PathConflict",
    "PathNotFound",
    "Revision",
    "content_hash",
    "lower",
    "parent_key",
]

BLOCK = 4 * 1024 * 1024


def content_hash(data: bytes) -> str:
    """Dropbox's ``content_hash``: SHA-256 over the SHA-256 digests of each 4 MiB block
    [www.dropbox.com/developers/reference/content-hash]."""
    outer = hashlib.sha256()
    for start in range(0, len(data), BLOCK):
        outer.update(hashlib.sha256(data[start : start + BLOCK]).digest())
    return outer.hexdigest()


def lower(path: str) -> str:
    """``path_lower``: "The lowercased full path in the user's Dropbox" [files.stone Metadata]."""
    return path.lower()


def parent_key(key: str) -> str:
    """The parent's ``path_lower`` ("" for a top-level entry, the root)."""
    return key.rsplit("/", 1)[0]


class PathNotFound(Exception):
    """Nothing live at a path (LookupError.not_found)."""


class PathConflict(Exception):
    """Something is in the way (WriteConflictError ``file``/``folder``/``file_ancestor``)."""

    def __init__(self, kind: str, path: str) -> None:
        super().__init__(f"{kind} conflict at {path}")
        self.kind = kind


@dataclass(eq=False)
class Revision:
    """One stored version of a file: what ``list_revisions`` entries and ``restore`` use."""

    rev: str
    file_id: str
    path_display: str
    size: int
    content_hash: str
    client_modified: datetime
    server_modified: datetime
    restorable: bool = True
    # The revision's bytes when it was given real content (seeded photos); ``content_hash`` is
    # then theirs. None: only ``size`` is known (bulk data, size-only seams).
    content: bytes | None = None

    @property
    def path_lower(self) -> str:
        return lower(self.path_display)

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]


@dataclass(eq=False)
class Deletion:
    """A deletion event in a path's (or file ID's) history. ``moved_to`` marks a move away,
    which Dropbox reports at the old path exactly like a deletion."""

    at: datetime
    moved_to: str | None = None


Event = Revision | Deletion


@dataclass(eq=False)
class Node:
    """The latest state of one path: live (``deleted_at`` None) or a tombstone."""

    path_display: str
    is_folder: bool
    id: str  # "id:..."; a folder's or the file's ID
    revision: Revision | None = None  # files: the current revision (the last one if deleted)
    deleted_at: datetime | None = None
    restorable: bool = True  # a tombstone's DeletedMetadata.is_restorable
    moved_to: str | None = None  # internal only: where a moved-away file went

    @property
    def live(self) -> bool:
        return self.deleted_at is None

    @property
    def path_lower(self) -> str:
        return lower(self.path_display)

    @property
    def name(self) -> str:
        return self.path_display.rsplit("/", 1)[-1]


@dataclass(eq=False)
class Namespace:
    """One account's home namespace. Not thread-safe by itself: callers hold ``lock``."""

    ns_id: int
    nodes: dict[str, Node] = field(default_factory=dict)
    path_events: dict[str, list[Event]] = field(default_factory=dict)
    id_events: dict[str, list[Event]] = field(default_factory=dict)
    revisions: dict[str, Revision] = field(default_factory=dict)
    live_ids: dict[str, str] = field(default_factory=dict)  # live file/folder ID -> path_lower
    journal: list[str] = field(default_factory=list)  # seq n is journal[n - 1]
    generation: int = 0  # bumped to invalidate every cursor (ListFolderContinueError.reset)
    lock: threading.RLock = field(default_factory=threading.RLock)
    changed: threading.Condition = field(init=False)
    _counter: int = 0
    _sorted: list[str] | None = None

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    # -- identifiers ------------------------------------------------------------------------

    def _next(self) -> int:
        self._counter += 1
        return self._counter

    def new_rev(self) -> str:
        """A revision ID: lowercase hex, at least 9 digits (files.stone ``Rev`` pattern
        ``[0-9a-f]+``, min_length 9), unique per namespace and distinct across namespaces."""
        return f"{self._next():010x}{self.ns_id:08x}"

    def new_id(self) -> str:
        """A file/folder ID, ``id:`` plus 22 URL-safe characters like real ones."""
        raw = self.ns_id.to_bytes(6, "big") + self._next().to_bytes(10, "big")
        return "id:" + base64.urlsafe_b64encode(raw).decode().rstrip("=")[:22]

    # -- reading ------------------------------------------------------------------------------

    @property
    def seq(self) -> int:
        """The journal position now: a cursor made now sees only later changes."""
        return len(self.journal)

    def node(self, key: str) -> Node | None:
        return self.nodes.get(key)

    def live_node(self, key: str) -> Node | None:
        node = self.nodes.get(key)
        return node if node is not None and node.live else None

    def sorted_keys(self) -> list[str]:
        """Every known path, sorted, so a parent always precedes its children (a prefix sorts
        first) and listing pages can resume after a key with bisect."""
        if self._sorted is None:
            self._sorted = sorted(self.nodes)
        return self._sorted

    def keys_under(self, folder: str, recursive: bool, after: str | None = None) -> Iterator[str]:
        """Keys inside ``folder`` ("" = root) in sorted order, strictly after ``after``."""
        keys = self.sorted_keys()
        low, high = folder + "/", folder + "0"  # "0" is the character after "/"
        start = bisect.bisect_left(keys, low)
        if after is not None:
            start = max(start, bisect.bisect_right(keys, after))
        end = bisect.bisect_left(keys, high)
        for key in keys[start:end]:
            if recursive or "/" not in key[len(low) :]:
                yield key

    def latest_revision_of_id(self, file_id: str) -> Revision | None:
        for event in reversed(self.id_events.get(file_id, [])):
            if isinstance(event, Revision):
                return event
        return None

    def used_bytes(self) -> int:
        return sum(
            node.revision.size
            for node in self.nodes.values()
            if node.live and node.revision is not None
        )

    # -- writing ------------------------------------------------------------------------------

    def _touch(self, key: str) -> None:
        self.journal.append(key)  # an existing path changed: the sorted keys stay valid

    def _set(self, key: str, node: Node) -> None:
        if key not in self.nodes:
            self._sorted = None
        self.nodes[key] = node
        self.journal.append(key)

    def notify(self) -> None:
        """Wake ``list_folder/longpoll`` waiters (``lock`` is reentrant)."""
        with self.changed:
            self.changed.notify_all()

    def display_path(self, path: str) -> str:
        """``path`` with its existing ancestors' casing (Dropbox keeps the first casing of a
        folder; only the last component takes the caller's)."""
        parts = path.strip("/").split("/")
        shown: list[str] = []
        for index, part in enumerate(parts):
            key = "/" + "/".join(parts[: index + 1]).lower()
            node = self.live_node(key)
            shown.append(node.name if node is not None and index < len(parts) - 1 else part)
        return "/" + "/".join(shown)

    def ensure_parents(self, path_display: str, at: datetime) -> None:
        """Create missing ancestor folders, as every Dropbox write does; a *file* at an ancestor
        path is ``WriteConflictError.file_ancestor``."""
        parts = path_display.strip("/").split("/")[:-1]
        for index in range(len(parts)):
            display = "/" + "/".join(parts[: index + 1])
            key = lower(display)
            node = self.live_node(key)
            if node is None:
                folder = Node(display, True, self.new_id())
                self._set(key, folder)
                self.live_ids[folder.id] = key
            elif not node.is_folder:
                raise PathConflict("file_ancestor", display)

    def put_file(
        self,
        path: str,
        *,
        size: int,
        digest: str,
        client_modified: datetime,
        at: datetime,
        file_id: str | None = None,
        restorable: bool = True,
        content: bytes | None = None,
    ) -> Revision:
        """Write a new revision at ``path`` (an upload, or a restore's result).

        Over a live file it is a new version of that file (same ID); on a free path or a
        tombstone it is a new file (new ID unless ``file_id`` is given)."""
        path = self.display_path(path)
        key = lower(path)
        existing = self.live_node(key)
        if existing is not None and existing.is_folder:
            raise PathConflict("folder", path)
        self.ensure_parents(path, at)
        if existing is not None:
            file_id = existing.id
        elif file_id is None or file_id in self.live_ids:
            file_id = self.new_id()
        revision = Revision(
            self.new_rev(), file_id, path, size, digest, client_modified, at, restorable, content
        )
        self.revisions[revision.rev] = revision
        self.path_events.setdefault(key, []).append(revision)
        self.id_events.setdefault(file_id, []).append(revision)
        self.live_ids[file_id] = key
        self._set(key, Node(path, False, file_id, revision))
        self.notify()
        return revision

    def make_folder(self, path: str, at: datetime) -> Node:
        path = self.display_path(path)
        key = lower(path)
        existing = self.live_node(key)
        if existing is not None:
            if existing.is_folder:
                return existing
            raise PathConflict("file", path)
        self.ensure_parents(path, at)
        folder = Node(path, True, self.new_id())
        self._set(key, folder)
        self.live_ids[folder.id] = key
        self.notify()
        return folder

    def delete(self, path: str, at: datetime) -> list[Node]:
        """Delete the live file or folder at ``path`` (a folder with everything in it); every
        deleted path becomes a tombstone and a journal entry. Returns the new tombstones."""
        key = lower(path)
        node = self.live_node(key)
        if node is None:
            raise PathNotFound(path)
        keys = [key]
        if node.is_folder:
            keys += [k for k in self.keys_under(key, True) if self.nodes[k].live]
        tombstones: list[Node] = []
        for victim_key in keys:
            tombstones.append(self._tombstone(victim_key, at, None))
        self.notify()
        return tombstones

    def _tombstone(self, key: str, at: datetime, moved_to: str | None) -> Node:
        node = self.nodes[key]
        node.deleted_at = at
        node.moved_to = moved_to
        self.live_ids.pop(node.id, None)
        if not node.is_folder:
            self.path_events.setdefault(key, []).append(Deletion(at, moved_to))
            if moved_to is None:  # a move keeps the file alive under its ID
                self.id_events.setdefault(node.id, []).append(Deletion(at))
        self._touch(key)
        return node

    def move(self, src: str, dst: str, at: datetime) -> Node:
        """Move a live file or folder: the old path becomes a tombstone (Dropbox lists a move
        as a deletion plus an addition), the item keeps its ID at ``dst`` and each moved file
        gets a new revision there with unchanged content."""
        src_key, dst_display = lower(src), self.display_path(dst)
        node = self.live_node(src_key)
        if node is None:
            raise PathNotFound(src)
        dst_key = lower(dst_display)
        if self.live_node(dst_key) is not None:
            raise PathConflict("file" if not self.nodes[dst_key].is_folder else "folder", dst)
        self.ensure_parents(dst_display, at)
        moved: list[tuple[str, str]] = [(src_key, dst_display)]
        if node.is_folder:
            moved += [
                (k, dst_display + self.nodes[k].path_display[len(node.path_display) :])
                for k in self.keys_under(src_key, True)
                if self.nodes[k].live
            ]
        for old_key, new_display in moved:
            old = self.nodes[old_key]
            self._tombstone(old_key, at, lower(new_display))
            new_key = lower(new_display)
            if old.is_folder:
                self._set(new_key, Node(new_display, True, old.id))
            else:
                assert old.revision is not None
                previous = old.revision
                revision = Revision(
                    self.new_rev(),
                    old.id,
                    new_display,
                    previous.size,
                    previous.content_hash,
                    previous.client_modified,
                    at,
                    previous.restorable,
                    previous.content,
                )
                self.revisions[revision.rev] = revision
                self.path_events.setdefault(new_key, []).append(revision)
                self.id_events.setdefault(old.id, []).append(revision)
                self._set(new_key, Node(new_display, False, old.id, revision))
            self.live_ids[old.id] = new_key
        self.notify()
        return self.nodes[dst_key]

    def restore(self, path: str, rev: str, at: datetime) -> Revision:
        """Write revision ``rev``'s content to ``path`` as a new revision.

        Raises KeyError for an unknown or unrestorable revision (``invalid_revision``) and
        :class:`PathConflict` for a folder in the way or a file at an ancestor path. A live file
        at ``path`` is overwritten: the restored content becomes its newest version and the
        overwritten one stays in its history (dropbox.md §2; the SDK's back-up-and-restore
        example restores onto the existing file)."""
        revision = self.revisions.get(rev)
        if revision is None or not revision.restorable:
            raise KeyError(rev)
        return self.put_file(
            path,
            size=revision.size,
            digest=revision.content_hash,
            client_modified=revision.client_modified,
            at=at,
            file_id=revision.file_id,
            content=revision.content,
        )

    def set_restorable(self, path: str, restorable: bool) -> None:
        """Mark a tombstone (and, for a file, every revision ever at that path) restorable or
        not, e.g. past the retention window or under a data disposition policy."""
        key = lower(path)
        keys = [key, *self.keys_under(key, True)] if self.nodes[key].is_folder else [key]
        for each in keys:
            self.nodes[each].restorable = restorable
            for event in self.path_events.get(each, []):
                if isinstance(event, Revision):
                    event.restorable = restorable


@dataclass(eq=False)
class Account:
    """A Dropbox user of the fake, with its home namespace (no team space: ``root_info`` is a
    ``UserRootInfo`` whose root and home namespace are the same, which Dropbox also returns
    for many team members since the 2023 team-space change, dropbox.md §2)."""

    name: str  # the sandbox handle ("carol"), used in config tables and seams
    account_id: str  # "dbid:" + 35 characters (users_common.AccountId: exactly 40)
    uid: str  # the legacy numeric user ID the token endpoint returns
    email: str
    given_name: str
    surname: str
    account_type: str  # users_common.AccountType: "basic" | "pro" | "business"
    namespace: Namespace
    allocated: int  # bytes
    country: str = "US"
    locale: str = "en"
    team_name: str | None = None
    team_id: str | None = None
    team_member_id: str | None = None
    refresh_token: str = ""  # the one stored in the sandbox config's secrets
    write_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.surname}"
