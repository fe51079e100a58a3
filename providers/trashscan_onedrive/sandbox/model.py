"""The OneDrive fake's data model: drives of driveItems, a change journal, recycle bins.

What is modelled, and from where:

* A drive is a tree of driveItems addressed by id; names are unique per folder and compared
  case-insensitively, as in OneDrive. Item ids look like the real ones: OneDrive Personal
  ``<CID>!<n>`` with the drive id being the lower-case CID (observed in
  OneDrive/onedrive-api-docs#535: id ``CB0BF412D51BBD9F!57186``, driveId ``cb0bf412d51bbd9f``);
  OneDrive for Business 34-character ``01...`` ids with a ``b!...`` drive id (docs examples).
* Every change takes the next value of the drive's sequence number, which is what delta tokens
  encode. An item remembers the sequence of its own last change (``seq``) and of the last
  change of anything below it (``touched``): delta reports changed items *and* their ancestors
  unless the client sends ``deltaExcludeParent`` [DOC driveitem-delta.md, request headers:
  "the response includes the items that have changed, and not the parent items"].
* Deleting an item moves it (with its subtree) to the recycle bin. On OneDrive Personal only
  the deleted item itself gets a tombstone in delta: the children of a deleted folder are not
  reported one by one (3P: JeffSteinbok/obsidian-onedrive#28 "folder deletions from Graph
  delta arrive id-only ... left the children stranded"). On OneDrive for Business every item of
  the subtree gets a tombstone (a modelling choice; the delta page says to "only delete a folder
  locally if it is empty after syncing all the changes", which implies children are reported).
* OneDrive Personal keeps deleted items 30 days (onedrive.md §3: "at least three days and a
  maximum of 30 days"; the 10%-of-quota early purge is NOT modelled); a purged item can no
  longer be restored or fetched with ``includeDeletedItems``.
* OneDrive for Business also files each deletion as a :class:`RecycleBinEntry` of the user's
  site [DOC resources/recyclebinitem.md]: ``id`` is the GUID of the delete transaction (not the
  driveItem id), ``deletedFromLocation`` is the relative URL of the folder that held the item
  ("Documents/Pictures" for the OneDrive library, after the docs' ``Shared Documents/folder1``).
  A deleted folder is one entry whose restore brings its subtree back. Entries stay 93 days from
  the original deletion across both stages, then are purged (onedrive.md §3 quoting the M365
  data-deletion article); the second stage (site collection bin) is kept as a flag only.
* Restoring (either kind) fails when the original parent folder is gone or its name is taken:
  SharePoint's own restore raises "Another file or folder with the same name already exists in
  the original location" and "Recycle Bin item is the child of a list, list item, or document
  that does not exist" [DOC SharePoint CSOM RecycleBinItem.Restore]. Nothing renames itself.
"""

from __future__ import annotations

import base64
import hashlib
import random
import threading
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

__all__ = [
    "BIN_RETENTION",
    "PERSONAL_RETENTION",
    "Drive",
    "Identity",
    "Item",
    "NameConflict",
    "ParentMissing",
    "RecycleBinEntry",
    "Site",
    "ctag",
    "etag",
    "hashes",
    "mime_type",
    "quick_xor_hash",
]

PERSONAL_RETENTION = timedelta(days=30)
BIN_RETENTION = timedelta(days=93)
LIBRARY = "Documents"  # the OneDrive library of a personal site, as in its webUrl

_MIME = {
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".heic": "image/heic",
    ".gif": "image/gif",
    ".mp4": "video/mp4",
    ".mov": "video/quicktime",
    ".pdf": "application/pdf",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    ".txt": "text/plain",
}


def mime_type(name: str) -> str:
    """The mimeType OneDrive reports for ``name``'s extension (octet-stream if unknown)."""
    dot = name.rfind(".")
    return (
        _MIME.get(name[dot:].lower(), "application/octet-stream")
        if dot >= 0
        else ("application/octet-stream")
    )


class NameConflict(Exception):
    """The target folder already holds a live item of that name."""


class ParentMissing(Exception):
    """The folder to restore into is itself deleted (or gone)."""


@dataclass
class Identity:
    """The person behind an account: what id tokens, ``/me`` and ``createdBy`` show."""

    name: str  # the sandbox account name ("erin")
    display_name: str
    email: str
    oid: str  # object id (MSA: 00000000-0000-0000-<cid>)
    tid: str  # tenant id (MSA: the consumer tenant)
    user_id: str  # what identitySet.user.id and /me.id show (MSA: the cid)


@dataclass
class Item:
    """One driveItem, live or in the recycle bin."""

    id: str
    name: str
    parent_id: str | None  # None only for the root
    folder: bool
    size: int
    created: datetime
    modified: datetime
    seq: int  # sequence of this item's own last change
    touched: int  # sequence of the last change to it or anything below it
    version: int = 1
    taken: datetime | None = None  # photo/video capture time
    deleted_at: datetime | None = None
    deleted_with: str | None = None  # the id whose deletion took this item to the bin
    purged: bool = False
    children: dict[str, str] = field(default_factory=dict)  # lower-case name -> id
    # The file's bytes when it was given real content (seeded photos and videos): its size and
    # hashes are then theirs. None: only ``size`` is known.
    content: bytes | None = None

    @property
    def is_root(self) -> bool:
        return self.parent_id is None

    @property
    def live(self) -> bool:
        return self.deleted_at is None

    @property
    def mime_type(self) -> str | None:
        return None if self.folder else mime_type(self.name)


@dataclass
class RecycleBinEntry:
    """A recycleBinItem of a business user's site [DOC resources/recyclebinitem.md]."""

    id: str  # GUID of the delete transaction
    item_id: str  # the driveItem that went to the bin (not exposed by Graph)
    name: str
    size: int
    deleted_at: datetime
    deleted_from: str  # deletedFromLocation
    deleted_by: Identity
    folder: bool
    stage: int = 1  # 1: site recycle bin, 2: site collection recycle bin


class Drive:
    """One user's drive (personal or business) with its journal and, for business, its bin.

    Every public method takes :attr:`lock`; handlers that read several things in a row hold it
    themselves (it is re-entrant)."""

    def __init__(
        self,
        drive_id: str,
        drive_type: str,
        owner: Identity,
        created: datetime,
        *,
        quota_total: int,
        seed: int = 0,
    ) -> None:
        if drive_type not in ("personal", "business"):
            raise ValueError(f"drive_type must be personal or business, not {drive_type!r}")
        self.id = drive_id
        self.drive_type = drive_type
        self.owner = owner
        self.created = created
        self.quota_total = quota_total
        self.lock = threading.RLock()
        self.items: dict[str, Item] = {}
        self.seq = 0
        self.generation = 0  # bumped by expire_delta_tokens: older tokens get 410
        self._seq_times: list[tuple[datetime, int]] = []  # for timestamp tokens (business)
        self._groups: dict[str, list[str]] = {}  # deleted id -> descendants deleted with it
        self.bin: dict[str, RecycleBinEntry] = {}  # business only
        self._rng = random.Random(f"{drive_id}:{seed}")
        self._counter = 100
        self._stats_at = -1
        self._stats: dict[str, tuple[int, int]] = {}
        root = Item(self._new_id(), "root", None, True, 0, created, created, 0, 0)
        self.root_id = root.id
        self.items[root.id] = root

    # -- ids and the journal -----------------------------------------------------------------

    @property
    def personal(self) -> bool:
        return self.drive_type == "personal"

    @property
    def root(self) -> Item:
        return self.items[self.root_id]

    def _new_id(self) -> str:
        if self.personal:
            self._counter += 1
            return f"{self.id.upper()}!{self._counter}"
        alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
        return "01" + "".join(self._rng.choice(alphabet) for _ in range(32))

    def _next_seq(self, at: datetime) -> int:
        self.seq += 1
        self._seq_times.append((at, self.seq))
        return self.seq

    def seq_at(self, when: datetime) -> int:
        """The sequence number to replay changes from for a timestamp token: everything from
        the first change made after ``when`` (seeded history may be recorded out of time order,
        so this errs on the side of reporting too much)."""
        with self.lock:
            after = [seq for at, seq in self._seq_times if at > when]
            return (min(after) - 1) if after else self.seq

    def _touch_ancestors(self, item: Item, seq: int) -> None:
        parent_id = item.parent_id
        while parent_id is not None:
            parent = self.items[parent_id]
            parent.touched = seq
            parent_id = parent.parent_id

    # -- lookups -----------------------------------------------------------------------------

    def get(self, item_id: str) -> Item | None:
        return self.items.get(item_id)

    def child(self, folder: Item, name: str) -> Item | None:
        child_id = folder.children.get(name.lower())
        return self.items[child_id] if child_id is not None else None

    def resolve(self, path: str, start: Item | None = None) -> Item | None:
        """The live item at ``path`` (``/``-separated) below ``start`` (default: the root)."""
        with self.lock:
            node = start or self.root
            if not node.live:
                return None
            for part in (p for p in path.split("/") if p):
                if not node.folder:
                    return None
                found = self.child(node, part)
                if found is None:
                    return None
                node = found
            return node

    def path_of(self, item: Item) -> str:
        """The item's path from the root (its original path, for a deleted item)."""
        parts: list[str] = []
        node = item
        while node.parent_id is not None:
            parts.append(node.name)
            node = self.items[node.parent_id]
        return "/" + "/".join(reversed(parts))

    def depth(self, item: Item) -> int:
        depth, node = 0, item
        while node.parent_id is not None:
            depth += 1
            node = self.items[node.parent_id]
        return depth

    def walk(self, folder: Item | None = None) -> list[Item]:
        """Live items, parents before children (the order of a full delta enumeration)."""
        with self.lock:
            start = folder or self.root
            out: list[Item] = []
            stack = [start]
            while stack:
                node = stack.pop()
                out.append(node)
                if node.folder:
                    kids = [self.items[i] for i in node.children.values()]
                    kids.sort(key=lambda i: (i.created, i.id), reverse=True)
                    stack.extend(kids)
            return out

    def is_purged(self, item: Item, now: datetime) -> bool:
        """Gone for good: past personal retention, or its business bin entry expired."""
        if item.live:
            return False
        if item.purged:
            return True
        return (
            self.personal
            and item.deleted_at is not None
            and (now - item.deleted_at > PERSONAL_RETENTION)
        )

    def folder_stats(self) -> dict[str, tuple[int, int]]:
        """Live folder id -> (size of everything below, live child count); cached per seq."""
        with self.lock:
            if self._stats_at == self.seq:
                return self._stats
            sizes: dict[str, int] = {}
            for item in reversed(self.walk()):
                if item.folder:
                    sizes[item.id] = sum(
                        sizes.get(cid, self.items[cid].size) for cid in item.children.values()
                    )
            self._stats = {
                fid: (size, len(self.items[fid].children)) for fid, size in sizes.items()
            }
            self._stats_at = self.seq
            return self._stats

    def quota(self, now: datetime) -> dict[str, Any]:
        """The drive's quota facet [DOC resources/quota.md]: ``deleted`` is the bin's size."""
        with self.lock:
            live = self.folder_stats()[self.root_id][0]
            deleted = 0
            for item in self.items.values():
                if item.live or item.deleted_with != item.id or self.is_purged(item, now):
                    continue
                deleted += self.folder_stats_deleted(item) if item.folder else item.size
            used = live + deleted
            quota: dict[str, Any] = {
                "deleted": deleted,
                "remaining": max(self.quota_total - used, 0),
                "state": "normal",
                "total": self.quota_total,
                "used": used,
            }
            if self.personal:
                quota["storagePlanInformation"] = {"upgradeAvailable": True}
            return quota

    def folder_stats_deleted(self, folder: Item) -> int:
        """Total size of the files deleted together with ``folder``."""
        return sum(
            self.items[i].size for i in self._groups.get(folder.id, []) if not self.items[i].folder
        )

    # -- changes -------------------------------------------------------------------------------

    def mkdirs(self, path: str, at: datetime) -> Item:
        """The live folder at ``path``, creating missing folders (each a journal entry)."""
        with self.lock:
            node = self.root
            for part in (p for p in path.split("/") if p):
                found = self.child(node, part)
                if found is None:
                    seq = self._next_seq(at)
                    found = Item(self._new_id(), part, node.id, True, 0, at, at, seq, seq)
                    self.items[found.id] = found
                    node.children[part.lower()] = found.id
                    self._touch_ancestors(found, seq)
                elif not found.folder:
                    raise NameConflict(f"{self.path_of(found)} is a file")
                node = found
            return node

    def put_file(
        self,
        path: str,
        size: int,
        at: datetime,
        *,
        taken: datetime | None = None,
        content: bytes | None = None,
    ) -> Item:
        """Upload ``path`` as a user would: a new item, or a new version of the live file of
        that name (OneDrive's default ``replace`` conflict behaviour). With ``content``, the
        size is its length."""
        if content is not None:
            size = len(content)
        with self.lock:
            folder_path, _, name = path.rstrip("/").rpartition("/")
            if not name:
                raise ValueError(f"not a file path: {path!r}")
            parent = self.mkdirs(folder_path, at)
            seq = self._next_seq(at)
            existing = self.child(parent, name)
            if existing is not None:
                if existing.folder:
                    raise NameConflict(f"{path} is a folder")
                existing.size, existing.modified = size, at
                existing.content = content
                existing.version += 1
                existing.seq = existing.touched = seq
                self._touch_ancestors(existing, seq)
                return existing
            item = Item(self._new_id(), name, parent.id, False, size, at, at, seq, seq, taken=taken)
            item.content = content
            self.items[item.id] = item
            parent.children[name.lower()] = item.id
            self._touch_ancestors(item, seq)
            return item

    def delete(self, item: Item, at: datetime) -> RecycleBinEntry | None:
        """Move a live item (and its subtree) to the recycle bin at ``at``; business drives also
        get a recycle-bin entry, which is returned."""
        with self.lock:
            if item.is_root:
                raise ValueError("the root cannot be deleted")
            if not item.live:
                raise ValueError(f"{item.id} is already deleted")
            seq = self._next_seq(at)
            parent = self.items[item.parent_id or ""]
            parent.children.pop(item.name.lower(), None)
            descendants = [d for d in self.walk(item) if d is not item]
            item.deleted_at, item.deleted_with = at, item.id
            item.seq = item.touched = seq
            for d in descendants:
                d.deleted_at, d.deleted_with = at, item.id
                if not self.personal:  # business reports each tombstone (module docstring)
                    d.seq = d.touched = seq
            self._groups[item.id] = [d.id for d in descendants]
            self._touch_ancestors(item, seq)
            if self.personal:
                return None
            entry = RecycleBinEntry(
                id=str(uuid.UUID(int=self._rng.getrandbits(128), version=4)),
                item_id=item.id,
                name=item.name,
                size=self.folder_stats_deleted(item) if item.folder else item.size,
                deleted_at=at,
                deleted_from=self.location_of(parent),
                deleted_by=self.owner,
                folder=item.folder,
            )
            self.bin[entry.id] = entry
            return entry

    def location_of(self, folder: Item) -> str:
        """``deletedFromLocation`` for an item deleted from ``folder``."""
        path = self.path_of(folder)
        return LIBRARY + ("" if path == "/" else path)

    def restore(
        self,
        item: Item,
        at: datetime,
        *,
        parent: Item | None = None,
        name: str | None = None,
    ) -> Item:
        """Bring a deleted item back under ``parent`` (default: where it was) as ``name``
        (default: its name). ParentMissing / NameConflict when that is impossible."""
        with self.lock:
            if item.live:
                raise ValueError(f"{item.id} is not deleted")
            if parent is None:
                original = self.items.get(item.parent_id or "")
                if original is None or not original.live:
                    raise ParentMissing(item.id)
                parent = original
            elif not parent.live or not parent.folder:
                raise ParentMissing(parent.id)
            new_name = name or item.name
            if self.child(parent, new_name) is not None:
                raise NameConflict(new_name)
            group_root = item.deleted_with or item.id
            if group_root != item.id:  # taken out of a deleted folder: detach it
                members = self._groups.get(group_root, [])
                moved = {d.id for d in self.walk_all(item)}
                self._groups[group_root] = [m for m in members if m not in moved]
                self._groups[item.id] = [m for m in moved if m != item.id]
                old_parent = self.items[item.parent_id or ""]
                old_parent.children.pop(item.name.lower(), None)
            seq = self._next_seq(at)
            for member_id in self._groups.pop(item.id, []):
                member = self.items[member_id]
                member.deleted_at = member.deleted_with = None
                member.seq = member.touched = seq
            item.deleted_at = item.deleted_with = None
            item.parent_id, item.name = parent.id, new_name
            item.seq = item.touched = seq
            parent.children[new_name.lower()] = item.id
            self._touch_ancestors(item, seq)
            for entry_id in [e.id for e in self.bin.values() if e.item_id == item.id]:
                del self.bin[entry_id]
            return item

    def walk_all(self, folder: Item) -> list[Item]:
        """``folder`` and everything indexed below it, live or not (a deleted subtree)."""
        out, stack = [], [folder]
        while stack:
            node = stack.pop()
            out.append(node)
            stack.extend(self.items[i] for i in node.children.values())
        return out

    # -- business recycle bin ----------------------------------------------------------------

    def purge_bin(self, now: datetime) -> None:
        """Drop entries older than 93 days (both stages); their items become purged."""
        with self.lock:
            for entry in list(self.bin.values()):
                if now - entry.deleted_at > BIN_RETENTION:
                    del self.bin[entry.id]
                    self.items[entry.item_id].purged = True

    def purge_entry(self, entry_id: str) -> None:
        """The user emptied this entry from the second-stage bin: gone for good."""
        with self.lock:
            entry = self.bin.pop(entry_id)
            self.items[entry.item_id].purged = True

    def bin_entries(self, now: datetime, *, second_stage: bool = True) -> list[RecycleBinEntry]:
        """The bin, most recently deleted first (SharePoint's recycle-bin view order)."""
        with self.lock:
            self.purge_bin(now)
            entries = [e for e in self.bin.values() if second_stage or e.stage == 1]
            entries.sort(key=lambda e: (e.deleted_at, e.id), reverse=True)
            return entries


def etag(drive: Drive, item: Item) -> str:
    """``eTag`` as each service formats it (personal: opaque base64; business: GUID,version)."""
    if drive.personal:
        raw = f"{item.id}.{item.version}".encode()
        return "a" + base64.b64encode(raw).decode().rstrip("=")
    guid = uuid.UUID(bytes=hashlib.md5(item.id.encode()).digest())
    return f'"{{{str(guid).upper()}}},{item.version}"'


def ctag(drive: Drive, item: Item) -> str:
    if drive.personal:
        raw = f"{item.id}&{item.version}".encode()
        return "aYzo" + base64.b64encode(raw).decode().rstrip("=")
    guid = uuid.UUID(bytes=hashlib.md5(item.id.encode()).digest())
    return f'"c:{{{str(guid).upper()}}},{item.version}"'


def quick_xor_hash(data: bytes) -> str:
    """OneDrive's ``quickXorHash`` [DOC onedrive code-snippets/quickxorhash.md]: byte ``i`` is
    XORed into a 160-bit ring at bit ``11 * i mod 160``, then the length (64-bit little-endian)
    into the ring's last 8 bytes; the 20 bytes, base64. Bytes 160 apart land on the same bits,
    so the data is folded first."""
    folded = 0
    for start in range(0, len(data), 160):
        folded ^= int.from_bytes(data[start : start + 160], "little")
    ring, mask = 0, (1 << 160) - 1
    for index, byte in enumerate(folded.to_bytes(160, "little")):
        if byte:
            value = byte << ((11 * index) % 160)
            ring ^= (value | (value >> 160)) & mask
    out = bytearray(ring.to_bytes(20, "little"))
    for offset, byte in enumerate(len(data).to_bytes(8, "little")):
        out[12 + offset] ^= byte
    return base64.b64encode(bytes(out)).decode()


def hashes(drive: Drive, item: Item) -> dict[str, str]:
    """File hashes [DOC resources/hashes.md]: personal sha1Hash (upper-case hex) and
    quickXorHash; business quickXorHash only. Of the file's bytes when it has content
    (``quickXorHash`` per the documented algorithm, :func:`quick_xor_hash`);
    otherwise stand-ins derived from the item version, not of any bytes."""
    if item.content is not None:
        quick = quick_xor_hash(item.content)
        if drive.personal:
            sha1 = hashlib.sha1(item.content, usedforsecurity=False).hexdigest().upper()
            return {"quickXorHash": quick, "sha1Hash": sha1}
        return {"quickXorHash": quick}
    seed = f"{item.id}:{item.version}:{item.size}".encode()
    quick = base64.b64encode(hashlib.sha1(b"qx" + seed).digest()).decode()
    if drive.personal:
        return {"quickXorHash": quick, "sha1Hash": hashlib.sha1(seed).hexdigest().upper()}
    return {"quickXorHash": quick}


@dataclass
class Site:
    """A business user's OneDrive site (the personal site behind the ``business`` drive)."""

    account: str
    hostname: str  # contoso-my.sharepoint.com
    path: str  # /personal/frank_contoso_com
    site_guid: str
    web_guid: str
    list_guid: str
    tenant_id: str
    display_name: str
    created: datetime

    @property
    def id(self) -> str:
        """Graph's composite site id ``{hostname},{spsite-id},{spweb-id}`` [DOC site.md]."""
        return f"{self.hostname},{self.site_guid},{self.web_guid}"

    @property
    def url(self) -> str:
        return f"https://{self.hostname}{self.path}"

    def matches(self, selector: str) -> bool:
        """Whether a ``/sites/{selector}`` id names this site (case-insensitive)."""
        return selector.lower() == self.id.lower()
