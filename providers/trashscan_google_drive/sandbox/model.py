"""The in-memory model behind the Google Drive fake: people, files, shared drives, history.

Everything the fake's HTTP layer answers is derived from this state, and every mutation (through
the API or through the test seams) goes through :class:`DriveState`, which also appends to the
changes log and the Drive Activity log. Keeping one write path is what makes an item trashed by a
test between two scans show up in ``changes.list`` with its time, exactly as a trash made in the
Drive web UI would.

Facts modelled, with their sources ([DISC] = the Drive v3 discovery document):

* ``trashed`` is "trashed, either explicitly or from a trashed parent folder" and
  ``explicitlyTrashed`` is the item's own flag [DISC File]. So only the explicit flag is stored;
  ``trashed`` is computed by walking ``parents``.
* Items in the trash are deleted automatically 30 days after trashing, in My Drive and shared
  drives alike [DOC guides/delete]. :meth:`DriveState.auto_purge` applies that lazily.
* ``modifiedTime`` does not change on trash or restore (elastic/connectors#2679, see
  /work/shared/docs/google.md §1.5), but ``version`` does ("reflects every change made to the
  file on the server") [DISC File.version].
"""

from __future__ import annotations

import hashlib
import random
import string
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Literal

__all__ = [
    "FOLDER_MIME",
    "TRASH_RETENTION",
    "ActivityEvent",
    "ChangeEntry",
    "DriveFile",
    "DriveState",
    "Person",
    "SharedDrive",
    "parse_rfc3339",
    "rfc3339",
]

FOLDER_MIME = "application/vnd.google-apps.folder"
GOOGLE_APPS_PREFIX = "application/vnd.google-apps."
TRASH_RETENTION = timedelta(days=30)  # [DOC guides/delete] "automatically deleted after 30 days"

# Shared-drive roles allowed to restore from the trash: "The currently authenticated user must own
# the file or be at least a `fileOrganizer` on the parent for shared drive files." [DOC v2 untrash]
UNTRASH_ROLES = frozenset({"organizer", "fileOrganizer"})
EDIT_ROLES = frozenset({"organizer", "fileOrganizer", "writer"})
DRIVE_ROLES = frozenset({"organizer", "fileOrganizer", "writer", "commenter", "reader"})

ActivityKind = Literal["create", "trash", "untrash", "purge", "rename", "move"]

_ID_ALPHABET = string.ascii_letters + string.digits + "-_"


def rfc3339(moment: datetime) -> str:
    """Drive's timestamp format: UTC, milliseconds, ``Z`` (e.g. ``2025-10-03T14:12:33.000Z``)."""
    moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def parse_rfc3339(text: str) -> datetime:
    """Parse an RFC 3339 timestamp (``Z`` or an offset; a bare date-time is taken as UTC)."""
    moment = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass
class Person:
    """A Google user; only some are fake accounts with credentials (see ``auth``)."""

    email: str
    display_name: str
    permission_id: str
    person_name: str  # the Drive Activity ``people/ACCOUNT_ID`` identifier


@dataclass
class SharedDrive:
    """A shared drive; its ID is also the ID of its top-level folder [DISC Drive.id]."""

    id: str
    name: str
    created_time: datetime
    members: dict[str, str]  # email -> role (organizer, fileOrganizer, writer, commenter, reader)
    color_rgb: str = "#0f9d58"
    # email -> the change number at which a member joined through a seam (seeded members: none,
    # members "since always"); the user log never shows them the drive's older item changes.
    joined: dict[str, int] = field(default_factory=dict)


@dataclass
class DriveFile:
    """One file or folder. ``owner`` is set for My Drive items, ``drive_id`` for shared-drive ones.

    ``trashed_time``/``trashing_user`` are kept for every explicitly trashed item (the fake needs
    them to auto-purge and for its seams) but the API exposes them only for shared-drive items,
    as Drive does [DISC File.trashedTime: "Only populated for items in shared drives"].
    """

    id: str
    name: str
    mime_type: str
    parent_id: str | None
    created_time: datetime
    modified_time: datetime
    created_by: str
    owner: str | None = None
    drive_id: str | None = None
    size: int | None = None
    md5: str | None = None
    sha1: str | None = None
    sha256: str | None = None
    # The bytes ``files.get?alt=media`` returns, when the item was given real content (seeded
    # photos: :mod:`trashscan.sandbox.pictures`); the checksums are then those of these bytes.
    content: bytes | None = None
    explicitly_trashed: bool = False
    trashed_time: datetime | None = None
    trashing_user: str | None = None
    image: dict[str, object] | None = None
    video: dict[str, object] | None = None
    version: int = 1
    is_root: bool = False
    # capabilities.canUntrash forced false ("Whether the current user can restore this file
    # from trash" [DISC File.capabilities]), seeded on demand: GoogleDriveFake.deny_untrash.
    untrash_denied: bool = False
    # People who created/opened the item: for shared-drive items, corpora=user only returns those
    # "the user has created, opened, or shared" [DOC .NET CorpusEnum.User, mirroring Drive's text].
    touched_by: set[str] = field(default_factory=set)

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER_MIME

    @property
    def has_binary_content(self) -> bool:
        """Checksums, extensions and originalFilename only exist for blobs [DISC File]."""
        return not self.mime_type.startswith(GOOGLE_APPS_PREFIX)


@dataclass(frozen=True)
class ChangeEntry:
    """One entry of a changes log. ``seq`` is the page-token number; one counter for all logs.

    A single counter keeps tokens of the user log and of each shared-drive log comparable and
    monotonic, with gaps, like Drive's (which are also just numbers in practice, see google.md
    §1.8: ``{"startPageToken":"42"}``).

    ``change_type`` ``"drive"`` entries are changes of a shared drive itself (a member joined or
    left, the drive was renamed); they belong to the user logs of ``audience`` only [DOC
    guides/about-changes "What is included in a user's change log"], and ``file_id`` is empty.
    """

    seq: int
    file_id: str
    time: datetime
    removed: bool
    owner: str | None
    drive_id: str | None
    change_type: Literal["file", "drive"] = "file"
    audience: frozenset[str] = frozenset()


@dataclass(frozen=True)
class ActivityEvent:
    """One Drive Activity record, with a snapshot of its target as it was at the time."""

    time: datetime
    kind: ActivityKind
    actor: str | None  # None: the system (auto-purge of the trash)
    file_id: str
    title: str
    mime_type: str
    owner: str | None
    drive_id: str | None
    ancestors: tuple[str, ...]  # parent chain up to the root folder, nearest first
    old_title: str | None = None
    added_parent: str | None = None
    removed_parent: str | None = None


class DriveState:
    """All Drive data of the fake; methods that mutate also log changes and activity.

    Handlers run on the server's threads and tests mutate from theirs, so callers hold ``lock``
    (re-entrant: a batch dispatches its parts while holding it).
    """

    def __init__(self, seed: str = "trashscan-google-drive") -> None:
        self.lock = threading.RLock()
        self.people: dict[str, Person] = {}
        self.roots: dict[str, str] = {}  # email -> My Drive root folder ID
        self.files: dict[str, DriveFile] = {}
        self.drives: dict[str, SharedDrive] = {}
        self.children: dict[str, set[str]] = {}
        self.changes: list[ChangeEntry] = []
        self.activities: list[ActivityEvent] = []
        self._rng = random.Random(seed)  # deterministic IDs: the same seed gives the same IDs
        self._next_purge: datetime | None = None
        self._purge_dirty = True
        # What untrashing an item does while a folder above it is still in the trash. Drive does
        # not document it (google.md §1.4 and open point 1): UNVERIFIED either way.
        # "stays": its own flag is cleared and it stays trashed through the folder;
        # "root": it is moved to its My Drive (or shared drive) root and comes out of the trash.
        self.untrash_under_trashed_folder: Literal["stays", "root"] = "stays"
        # Whether a member's user change log carries the changes of shared-drive items. Drive:
        # "Each shared drive has its own change log. Even though a user may be a member of a
        # shared drive, certain changes are only reflected in the shared drive change log and
        # never in the user's change log"; members "may" see such events "based on their usage"
        # but apps must not rely on them [DOC guides/about-changes]. "none" (default, the strict
        # reading): only ``driveId=`` shows them, a client must replay each shared drive's own
        # log; "all": the user log also has every change of the member's drives since joining.
        self.user_log_shared_items: Literal["all", "none"] = "none"

    # -- identifiers -------------------------------------------------------------------------

    def new_file_id(self) -> str:
        """A 33-character ID shaped like Drive's (``1`` + 32 URL-safe characters)."""
        return "1" + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(32))

    def new_drive_id(self) -> str:
        """A 19-character ``0A…Uk9PVA`` ID, the shape of shared drive and My Drive root IDs."""
        body = "".join(self._rng.choice(string.ascii_letters + string.digits) for _ in range(11))
        return f"0A{body}Uk9PVA"

    def _digits(self, n: int) -> str:
        return str(self._rng.randint(1, 9)) + "".join(
            str(self._rng.randint(0, 9)) for _ in range(n - 1)
        )

    # -- people and containers ------------------------------------------------------------

    def add_person(self, email: str, display_name: str) -> Person:
        if email not in self.people:
            self.people[email] = Person(
                email, display_name, self._digits(20), f"people/{self._digits(21)}"
            )
        return self.people[email]

    def add_my_drive(self, email: str, created: datetime) -> DriveFile:
        """Create the user's My Drive root folder (named "My Drive", no parents)."""
        root_id = self.new_drive_id()
        root = DriveFile(
            id=root_id,
            name="My Drive",
            mime_type=FOLDER_MIME,
            parent_id=None,
            created_time=created,
            modified_time=created,
            created_by=email,
            owner=email,
            is_root=True,
        )
        self.files[root_id] = root
        self.roots[email] = root_id
        return root

    def add_shared_drive(
        self, name: str, members: dict[str, str], created: datetime
    ) -> SharedDrive:
        unknown = set(members.values()) - DRIVE_ROLES
        if unknown:
            raise ValueError(f"unknown shared drive roles: {sorted(unknown)}")
        drive = SharedDrive(self.new_drive_id(), name, created, dict(members))
        self.drives[drive.id] = drive
        creator = next(iter(members), "")
        self.files[drive.id] = DriveFile(
            id=drive.id,
            name=name,
            mime_type=FOLDER_MIME,
            parent_id=None,
            created_time=created,
            modified_time=created,
            created_by=creator,
            drive_id=drive.id,
            is_root=True,
        )
        return drive

    # -- queries -------------------------------------------------------------------------

    def trash_origin(self, item: DriveFile) -> DriveFile | None:
        """The explicitly trashed item that ``item`` is trashed through (itself or an ancestor)."""
        node: DriveFile | None = item
        while node is not None:
            if node.explicitly_trashed:
                return node
            node = self.files.get(node.parent_id) if node.parent_id else None
        return None

    def is_trashed(self, item: DriveFile) -> bool:
        return self.trash_origin(item) is not None

    def root_of(self, item: DriveFile) -> DriveFile:
        """The My Drive root or shared drive (top folder) ``item`` lives in."""
        key = item.drive_id if item.drive_id is not None else self.roots[item.owner or ""]
        return self.files[key]

    def ancestors(self, item: DriveFile) -> tuple[str, ...]:
        """Parent chain, nearest first, ending with the My Drive / shared drive root."""
        chain: list[str] = []
        node = self.files.get(item.parent_id) if item.parent_id else None
        while node is not None:
            chain.append(node.id)
            node = self.files.get(node.parent_id) if node.parent_id else None
        return tuple(chain)

    def descendants(self, item: DriveFile) -> Iterator[DriveFile]:
        stack = list(self.children.get(item.id, ()))
        while stack:
            child = self.files[stack.pop()]
            yield child
            stack.extend(self.children.get(child.id, ()))

    def role(self, item: DriveFile, email: str) -> str | None:
        """The caller's role on the item: ``owner`` in My Drive, the member role in a drive."""
        if item.drive_id is not None:
            drive = self.drives.get(item.drive_id)
            return drive.members.get(email) if drive else None
        return "owner" if item.owner == email else None

    def member_drives(self, email: str) -> list[SharedDrive]:
        return [d for d in self.drives.values() if email in d.members]

    def next_seq(self) -> int:
        """The token a ``getStartPageToken`` call returns now: the next change's number."""
        return len(self.changes) + 1

    # -- mutations -----------------------------------------------------------------------

    def create_file(
        self,
        *,
        name: str,
        mime_type: str,
        parent_id: str,
        created_by: str,
        at: datetime,
        size: int | None = None,
        image: dict[str, object] | None = None,
        video: dict[str, object] | None = None,
        modified: datetime | None = None,
        content: bytes | None = None,
    ) -> DriveFile:
        """Create an item under ``parent_id``; it lands in that parent's My Drive or drive.

        With ``content``, ``size`` and the checksums are those of the bytes [DISC File
        md5Checksum, sha1Checksum, sha256Checksum: "the content of the file"]. Without it, an
        item of binary content gets checksums derived from its ID: unique and stable, but not
        of any bytes the fake serves (bulk benchmark data and size-only test seams)."""
        parent = self.files[parent_id]
        if not parent.is_folder:
            raise ValueError(f"parent {parent_id} is not a folder")
        item = DriveFile(
            id=self.new_file_id(),
            name=name,
            mime_type=mime_type,
            parent_id=parent_id,
            created_time=at,
            modified_time=modified or at,
            created_by=created_by,
            owner=None if parent.drive_id else parent.owner,
            drive_id=parent.drive_id,
            size=None if mime_type == FOLDER_MIME else size,
            image=image,
            video=video,
            touched_by={created_by},
        )
        if content is not None and item.has_binary_content:
            item.content, item.size = content, len(content)
            item.md5 = hashlib.md5(content, usedforsecurity=False).hexdigest()
            item.sha1 = hashlib.sha1(content, usedforsecurity=False).hexdigest()
            item.sha256 = hashlib.sha256(content).hexdigest()
        elif item.has_binary_content and item.size is not None:
            item.md5 = hashlib.md5(item.id.encode(), usedforsecurity=False).hexdigest()
            item.sha256 = hashlib.sha256(item.id.encode()).hexdigest()
        self.files[item.id] = item
        self.children.setdefault(parent_id, set()).add(item.id)
        self._record_change(item, at)
        self._record_activity(item, "create", created_by, at)
        return item

    def set_trashed(self, item: DriveFile, trashed: bool, actor: str, at: datetime) -> None:
        """Trash or restore ``item`` explicitly; descendants follow through ``trash_origin``.

        Restoring an item whose ancestor is still in the trash follows
        :attr:`untrash_under_trashed_folder`: by default ("stays") it clears its own flag only,
        so it stays trashed; what Drive does there is unverified (google.md §1.4, open point 1),
        and the documented safe path is to restore the ancestor or move the item out.
        """
        parent = self.files.get(item.parent_id) if item.parent_id else None
        moves_out = (
            not trashed
            and self.untrash_under_trashed_folder == "root"
            and parent is not None
            and self.is_trashed(parent)
        )
        if moves_out:
            self.move(item, self.root_of(item), actor, at)
        if item.explicitly_trashed == trashed:
            return
        affected = [item, *self.descendants(item)]
        before = {f.id: self.is_trashed(f) for f in affected}
        item.explicitly_trashed = trashed
        item.trashed_time = at if trashed else None
        item.trashing_user = actor if trashed else None
        item.version += 1
        if trashed:  # only a trashing can bring the next purge forward; an untrash removes one
            self._purge_dirty = True
        for f in affected:
            if f is item or before[f.id] != self.is_trashed(f):
                self._record_change(f, at)
        self._record_activity(item, "trash" if trashed else "untrash", actor, at)

    def rename(self, item: DriveFile, name: str, actor: str, at: datetime) -> None:
        old = item.name
        item.name = name
        item.version += 1
        self._record_change(item, at)
        self._record_activity(item, "rename", actor, at, old_title=old)

    def move(self, item: DriveFile, new_parent: DriveFile, actor: str, at: datetime) -> None:
        """Move within the same My Drive or shared drive (single parent, as Drive enforces)."""
        old_parent = item.parent_id
        affected = [item, *self.descendants(item)]
        before = {f.id: self.is_trashed(f) for f in affected}
        if old_parent:
            self.children.get(old_parent, set()).discard(item.id)
        item.parent_id = new_parent.id
        self.children.setdefault(new_parent.id, set()).add(item.id)
        item.version += 1
        self._purge_dirty = True
        for f in affected:
            if f is item or before[f.id] != self.is_trashed(f):
                self._record_change(f, at)
        self._record_activity(
            item, "move", actor, at, added_parent=new_parent.id, removed_parent=old_parent
        )

    def purge(self, item: DriveFile, actor: str | None, at: datetime) -> list[str]:
        """Delete ``item`` and its descendants for good; their changes become ``removed``."""
        doomed = [item, *self.descendants(item)]
        self._record_activity(item, "purge", actor, at)
        for f in doomed:
            self._record_change(f, at, removed=True)
        for f in doomed:
            del self.files[f.id]
            self.children.pop(f.id, None)
        if item.parent_id:
            self.children.get(item.parent_id, set()).discard(item.id)
        self._purge_dirty = True
        return [f.id for f in doomed]

    def auto_purge(self, now: datetime) -> list[str]:
        """Empty what has been in the trash for 30 days, as Drive does on its own schedule."""
        if not self._purge_dirty and (self._next_purge is None or now < self._next_purge):
            return []
        purged: list[str] = []
        due = [
            f
            for f in self.files.values()
            if f.explicitly_trashed
            and f.trashed_time is not None
            and f.trashed_time + TRASH_RETENTION <= now
        ]
        for item in sorted(due, key=lambda f: f.trashed_time or now):
            if item.id in self.files and item.trashed_time is not None:  # may be gone already
                purged += self.purge(item, None, item.trashed_time + TRASH_RETENTION)
        pending = [
            f.trashed_time + TRASH_RETENTION
            for f in self.files.values()
            if f.explicitly_trashed and f.trashed_time is not None
        ]
        self._next_purge = min(pending, default=None)
        self._purge_dirty = False
        return purged

    def add_drive_member(self, drive: SharedDrive, email: str, role: str, at: datetime) -> None:
        """Make ``email`` a member of ``drive`` with ``role``, or change their role.

        Either is one ``drive`` change in that user's log: "When a user becomes a member of a
        shared drive, a single change event for the shared drive appears on the user's change
        log", and "The user's access level to that shared drive changes" is listed too [DOC
        guides/about-changes]. Joining brings no change entries for the drive's items."""
        if role not in DRIVE_ROLES:
            raise ValueError(f"unknown shared drive role: {role}")
        if drive.members.get(email) == role:
            return
        if email not in drive.members:
            drive.joined[email] = self.next_seq()
        drive.members[email] = role
        self._record_drive_change(drive, at, frozenset({email}))

    def remove_drive_member(self, drive: SharedDrive, email: str, at: datetime) -> None:
        """``email`` is no longer a member: a ``drive`` change with ``removed: true`` in their
        log ("removed ... for example by deletion or loss of access" [DISC Change.removed])."""
        if email not in drive.members:
            raise KeyError(f"{email} is not a member of {drive.name}")
        del drive.members[email]
        drive.joined.pop(email, None)
        self._record_drive_change(drive, at, frozenset({email}), removed=True)

    def rename_drive(self, drive: SharedDrive, name: str, at: datetime) -> None:
        """Rename a shared drive (and its top folder): a ``drive`` change in every member's log
        ("The shared drive is renamed" [DOC guides/about-changes])."""
        drive.name = name
        self.files[drive.id].name = name
        self._record_drive_change(drive, at, frozenset(drive.members))

    # -- logs ------------------------------------------------------------------------------

    def _record_drive_change(
        self, drive: SharedDrive, at: datetime, audience: frozenset[str], *, removed: bool = False
    ) -> None:
        entry = ChangeEntry(
            self.next_seq(), "", at, removed, None, drive.id, change_type="drive", audience=audience
        )
        self.changes.append(entry)

    def _record_change(self, item: DriveFile, at: datetime, *, removed: bool = False) -> None:
        if item.is_root:
            return
        self.changes.append(
            ChangeEntry(self.next_seq(), item.id, at, removed, item.owner, item.drive_id)
        )

    def _record_activity(
        self,
        item: DriveFile,
        kind: ActivityKind,
        actor: str | None,
        at: datetime,
        **extra: str | None,
    ) -> None:
        self.activities.append(
            ActivityEvent(
                time=at,
                kind=kind,
                actor=actor,
                file_id=item.id,
                title=item.name,
                mime_type=item.mime_type,
                owner=item.owner,
                drive_id=item.drive_id,
                ancestors=self.ancestors(item),
                **extra,
            )
        )
