"""The vocabulary shared by the core and every provider plugin.

Plugins produce :class:`TrashItem` pages and :class:`RestoreResult` values; the core stores them in
the index and renders them. Keeping these plain dataclasses (no SDK types) is what lets a plugin be
written, and tested, without knowing anything about SQL or the CLI.
"""

from __future__ import annotations

import enum
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


class Kind(enum.StrEnum):
    PHOTO = "photo"
    VIDEO = "video"
    OTHER = "other"


class DeletedAtSource(enum.StrEnum):
    """Where a deletion time came from; anything but ``api`` makes the purge date an estimate."""

    API = "api"  # the provider states it (shared-drive trashedTime, Graph deletedDateTime, ...)
    ACTIVITY = "activity"  # an activity/audit log entry
    CHANGES = "changes"  # observed between two reads of a change feed
    OBSERVED = "observed"  # the first time trashscan saw it in the trash (the latest it can be)


EXACT_SOURCES = frozenset({DeletedAtSource.API, DeletedAtSource.ACTIVITY})
"""Sources that date the deletion itself; the others only bound it (see :class:`TrashItem`)."""


class ItemState(enum.StrEnum):
    TRASHED = "trashed"
    RESTORED = "restored"
    PURGED = "purged"  # left the trash after its purge date
    GONE = "gone"  # left the trash before its purge date (restored elsewhere or emptied)


class RestoreOutcome(enum.StrEnum):
    RESTORED = "restored"
    ALREADY_RESTORED = "already_restored"
    CONFLICT_RESOLVED = "conflict_resolved"  # restored, but under another name/path (reported)
    SKIPPED = (
        "skipped"  # deliberately not done (e.g. the original path is taken and no safe path exists)
    )
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Account:
    """One configured account. ``options`` are the provider's own non-secret settings."""

    name: str
    provider: str
    options: Mapping[str, Any] = field(default_factory=dict)
    endpoint: str | None = None  # national clouds, or the sandbox
    ca_bundle: str | None = None
    retention_days: int | None = None  # user override of the provider's retention rule
    timeout: float | None = None  # seconds a connection may stay silent; None: the provider's

    @property
    def secret_service(self) -> str:
        """The keyring service name under which this account's secrets live."""
        return f"trashscan:{self.provider}:{self.name}"


@dataclass(slots=True)
class TrashItem:
    """One trashed or recently deleted item as a provider reports it.

    A purge date must never be later than the real one. ``deleted_after`` is the earliest the
    deletion can have happened (an exact source: the deletion itself), ``None`` when nothing
    bounds it: the item may then be as old as the retention, and its purge any day now.

    ``purge_at`` may be left ``None``: the core then derives the earliest plausible purge
    (``purge_at``, what alerts and the sort use) from ``deleted_after`` and the latest
    (``purge_latest``) from ``deleted_at``, which for an estimate is then the latest the deletion
    can have happened (a first sighting, a change's time), with the provider's retention rule
    (or the account's override), marked as an estimate unless the source is the API. A provider
    that states ``purge_at`` itself states ``purge_latest`` too when it knows it.
    """

    item_id: str
    name: str
    path: str | None = None
    mime_type: str | None = None
    size: int | None = None
    deleted_at: datetime | None = None
    deleted_at_source: DeletedAtSource = DeletedAtSource.OBSERVED
    purge_at: datetime | None = None
    purge_is_estimate: bool = True
    restorable: bool = True
    not_restorable_reason: str | None = None
    restore_handle: dict[str, Any] = field(default_factory=dict)
    kind: Kind | None = None  # None: the core classifies from mime type / extension
    deleted_after: datetime | None = None  # the earliest the deletion can have happened
    purge_latest: datetime | None = None  # the latest plausible purge; None: not known
    # The provider's hash of the content, "algorithm:value" (md5:…, sha256:…, dropbox:…,
    # quickxor:…, sha1:…, icloud:…), for finding copies of one photo across accounts.
    content_hash: str | None = None
    # What changes when the content does (a revision, an mtime), where no hash is given; the
    # thumbnail cache keys on the hash, else this.
    version: str | None = None


@dataclass(slots=True)
class Page:
    """A batch of scan results, committed to the index in one transaction.

    ``removed`` lists item ids the provider knows have left the trash (an incremental feed's
    deletions). ``checkpoint``, when set, is a resumable scan state stored with the page. The
    plugin that yielded the page is resumed only once it is committed (see ``Provider.scan``).

    ``thumbnail_sources`` maps an item id to what the listing said about fetching its picture
    (a short-lived link, say), handed back to ``Provider.thumbnails`` in the same run. It stays
    in memory: such links expire within hours and some carry credentials, so they are never
    written to the index, the cache or any output.
    """

    items: list[TrashItem] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    checkpoint: dict[str, Any] | None = None
    thumbnail_sources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class UnlistedPart:
    """A part of an account's trash that one scan could not list while the rest was listed.

    iCloud's Photos and iCloud Drive keep separate "Recently Deleted" listings: a throttled Drive
    must not cost the photos their scan, nor make the index take Drive's items as gone.
    """

    name: str  # what the user calls it, e.g. "iCloud Drive › Recently Deleted"
    item_prefix: str  # the item ids of that part start with it; they are not swept as gone
    reason: str  # one line: why it was not listed


@dataclass(frozen=True, slots=True)
class ScanOutcome:
    """What a finished scan returns: the state for the next scan, and whether it saw everything.

    ``complete_listing`` means the pages covered the whole trash, so items of this account that the
    index holds as trashed but this scan did not report have left the trash. ``unlisted`` carves
    parts out of that: their items stay as they were, and the account's scan counts as partial
    (a warning and exit code 1), though what was listed is committed and swept as usual.
    """

    state: dict[str, Any] | None
    complete_listing: bool
    # Something the user should hear about this scan (an enrolment, a resync): one line on stderr.
    notice: str | None = None
    unlisted: tuple[UnlistedPart, ...] = ()

    def partial(self) -> str | None:
        """One line naming what was not listed and why, or None when nothing was left out."""
        if not self.unlisted:
            return None
        return "; ".join(f"{part.name} not listed: {part.reason}" for part in self.unlisted)


@dataclass(frozen=True, slots=True)
class IndexedItem:
    """A row of the unified index, as the CLI and ``restore`` see it."""

    ref: str
    provider: str
    account: str
    item_id: str
    name: str
    path: str | None
    kind: Kind
    mime_type: str | None
    size: int | None
    deleted_at: datetime | None
    deleted_at_source: DeletedAtSource
    purge_at: datetime | None
    purge_is_estimate: bool
    restorable: bool
    not_restorable_reason: str | None
    restore_handle: dict[str, Any]
    first_seen: datetime
    last_seen: datetime
    state: ItemState
    deleted_after: datetime | None = None
    purge_latest: datetime | None = None
    content_hash: str | None = None
    version: str | None = None

    @property
    def thumbnail_key(self) -> str:
        """Which version of the item a cached thumbnail shows: its content hash, else its
        version, else nothing (an item whose content cannot change while it is trashed)."""
        return self.content_hash or self.version or ""

    @property
    def age_unknown(self) -> bool:
        """Nothing bounds when this estimated deletion happened but the retention itself, so the
        purge may come any day now (``purge_at``) and at the latest at ``purge_latest``."""
        return self.purge_is_estimate and self.purge_at is not None and self.deleted_after is None


BACK_OUTCOMES = (
    RestoreOutcome.RESTORED,
    RestoreOutcome.ALREADY_RESTORED,
    RestoreOutcome.CONFLICT_RESOLVED,
)
"""The outcomes after which an item is out of the trash again (:attr:`RestoreResult.ok`)."""


@dataclass(frozen=True, slots=True)
class RestoreResult:
    item_id: str
    outcome: RestoreOutcome
    detail: str | None = None
    restored_path: str | None = None

    @property
    def ok(self) -> bool:
        return self.outcome in BACK_OUTCOMES


@dataclass(frozen=True, slots=True)
class Thumbnail:
    """A provider's answer for one item's picture (see ``Provider.thumbnails``).

    Exactly one of ``data``, ``missing`` and ``error`` is set. ``missing`` is final for this
    version of the item (the provider has no picture of it: a video without a frame, a format it
    cannot render): the item is not asked about again until its content changes. ``error`` is
    this run's failure (throttled, unreachable): asked again next run. Either way the item shows a
    placeholder, and the listing is unaffected.
    """

    item_id: str
    data: bytes | None = None  # an image in any format Pillow reads; the core resizes it
    missing: str | None = None
    error: str | None = None
    duration: float | None = None  # seconds, for a video's placeholder when there is no frame
    # Live captures only (``Provider.live_thumbnails``): the content hash or version shown.
    version_key: str | None = None


@dataclass(frozen=True, slots=True)
class AuthStatus:
    ok: bool
    detail: str = ""
    hint: str | None = None  # what the user should run to fix it


def item_ref(provider: str, account: str, item_id: str) -> str:
    """The full stable reference of an item; the CLI shows a short prefix, like git."""
    digest = hashlib.sha1(f"{provider}\0{account}\0{item_id}".encode(), usedforsecurity=False)
    return digest.hexdigest()


SHORT_REF_LEN = 8
