"""The iCloud fake's data: Apple IDs, their sign-in state, a Photos library and an iCloud Drive.

Nothing here knows about HTTP. Sources for the shapes:

* Photos is a CloudKit zone ``PrimarySync`` (``REGULAR_CUSTOM_ZONE``) in the container
  ``com.apple.photos.cloud`` (pyicloud ``services/photos_cloudkit/constants.PRIMARY_ZONE``). Every
  photo or video is a ``CPLMaster`` (the original file: ``filenameEnc``, ``resOriginalRes``, ...)
  plus a ``CPLAsset`` pointing at it through ``masterRef`` (capture quoted in icloud-photos-sync,
  and timlaing/pyicloud ``tests/fixtures/photos_browser_mutations``). Deleting sets the asset's
  ``isDeleted`` to 1 and the server adds ``dateExpunged`` = deletion + 30 days and a record
  ``expirationTime`` = deletion + 40 days (``photo_delete_response.json``: ``modified.timestamp``
  1775666717666 + 30.0 d = ``dateExpunged`` 1778258717590; ``expirationTime`` 1779122717 s =
  + 40 d). Records carry a ``recordChangeTag`` that changes on every write (CloudKit's oplock).
* iCloud Drive items are DriveWS nodes (``FILE::com.apple.CloudDocs::<docwsid>``) with an
  ``etag``; trashed ones live under ``TRASH_ROOT`` with ``restorePath`` and
  ``dateExpiration`` = ``dateChanged`` (the deletion) + 30 days (timlaing/pyicloud
  ``tests/const/const_drive.py`` ``DRIVE_TRASH_WORKING``).
* Sign-in state: an idmsa sign-in (keyed by ``X-Apple-ID-Session-Id``) yields a session token
  (``X-Apple-Session-Token``); ``accountLogin`` turns it into a web session identified by the
  ``X-APPLE-WEBAUTH-TOKEN`` cookie. Passing 2FA yields a trust token
  (``X-Apple-TwoSV-Trust-Token``) that lets later sign-ins skip 2FA until it expires (pyicloud
  ``const.HEADER_DATA``; icloud.md §1; lifetime "two months" per icloudpd docs).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

__all__ = [
    "CLOUD_DOCS_ZONE",
    "DELETED_RETENTION",
    "DRIVE_RETENTION",
    "RECORD_EXPIRY",
    "TRUST_LIFETIME",
    "Account",
    "AuthState",
    "AuthTransaction",
    "ContentStore",
    "DriveItem",
    "DriveRestore",
    "DriveTree",
    "IdmsaSession",
    "ModifyLogEntry",
    "PhotoAsset",
    "PhotoLibrary",
    "RefusedCall",
    "SrpChallenge",
    "WebSession",
    "content_checksum",
]

DELETED_RETENTION = timedelta(days=30)  # dateExpunged - deletion (photo_delete_response.json)
RECORD_EXPIRY = timedelta(days=40)  # expirationTime - deletion (same fixture)
DRIVE_RETENTION = timedelta(days=30)  # dateExpiration - dateChanged (DRIVE_TRASH_WORKING)
TRUST_LIFETIME = timedelta(days=60)  # "currently two months" (icloudpd docs/authentication.md)
CLOUD_DOCS_ZONE = "com.apple.CloudDocs"

UTI_KIND = {
    "public.heic": "image",
    "public.jpeg": "image",
    "public.png": "image",
    "com.apple.quicktime-movie": "movie",
    "public.mpeg-4": "movie",
}


def content_checksum(data: bytes) -> str:
    """The fake's ``fileChecksum`` of real bytes: the same look-alike shape as :func:`_checksum`
    (28 base64 characters starting with ``A``) over the SHA-1 of the bytes. Apple's algorithm
    is undocumented: equal bytes give equal checksums here, which is all a duplicate finder may
    rely on; the value is NOT what iCloud would compute."""
    return ("A" + base64.b64encode(hashlib.sha1(data, usedforsecurity=False).digest()).decode())[
        :28
    ]


def _checksum(*parts: object) -> str:
    """A CloudKit file checksum look-alike: 28 base64 characters starting with ``A``
    (``"fileChecksum": "AYzV3cCErh9dIXOddR+2ZGcTga7t"`` in the captured CPLMaster)."""
    digest = hashlib.sha1("\x1f".join(map(str, parts)).encode()).digest()
    return ("A" + base64.b64encode(digest).decode())[:28]


# -- Photos ---------------------------------------------------------------------------------------


@dataclass(eq=False)
class PhotoAsset:
    """One photo or video: a CPLMaster + CPLAsset pair (Live Photos keep their video in the
    master's ``resOriginalVidCompl*`` fields, pyicloud ``PhotoAsset.is_live_photo``)."""

    asset_id: str  # CPLAsset recordName (a UUID in upper case)
    master_id: str  # CPLMaster recordName (the original's checksum)
    filename: str
    uti: str  # itemType / resOriginalFileType
    size: int
    width: int
    height: int
    asset_date: datetime
    added_date: datetime
    created: datetime  # record creation (the upload)
    modified: datetime  # last write to the CPLAsset
    asset_tag: str
    master_tag: str
    is_deleted: bool = False
    deleted_at: datetime | None = None
    date_expunged: datetime | None = None  # the field; stays after an undelete
    live_video_size: int | None = None
    favorite: bool = False
    hidden: bool = False
    extra_fields: dict[str, dict[str, Any]] = field(default_factory=dict)  # other writes
    # The original's bytes when the asset was given real content (seeded assets: pictures of
    # :mod:`trashscan.sandbox.pictures`): ``size`` and the master's checksum are then theirs.
    content: bytes | None = None

    @property
    def kind(self) -> str:
        return UTI_KIND.get(self.uti, "image")

    @property
    def is_live_photo(self) -> bool:
        return self.live_video_size is not None

    @property
    def expiration_time(self) -> datetime | None:
        """The record's hard expiry while deleted (deletion + 40 days), None otherwise."""
        if not self.is_deleted or self.deleted_at is None:
            return None
        return self.deleted_at + RECORD_EXPIRY


@dataclass(eq=False)
class PhotoLibrary:
    """One account's ``PrimarySync`` zone. Not thread-safe: callers hold the fake's lock."""

    owner_record_name: str
    assets: dict[str, PhotoAsset] = field(default_factory=dict)  # by CPLAsset recordName
    masters: dict[str, PhotoAsset] = field(default_factory=dict)  # by CPLMaster recordName
    expunged: dict[str, PhotoAsset] = field(default_factory=dict)  # purged for good
    indexing_state: str = "FINISHED"
    _change: int = 0
    _sync: int = 0
    _sorted: dict[str, list[PhotoAsset]] = field(default_factory=dict)

    @property
    def zone_id(self) -> dict[str, str]:
        return {
            "zoneName": "PrimarySync",
            "ownerRecordName": self.owner_record_name,
            "zoneType": "REGULAR_CUSTOM_ZONE",
        }

    def new_tag(self) -> str:
        """A fresh ``recordChangeTag``: short base-36 strings like the captured ``"qt"``."""
        self._change += 1
        return _base36(self._change + 36**2)

    def sync_token(self) -> str:
        return "HwoECAAAAAAAAA" + _base36(self._sync + 1000).upper() + "SAAAAAAAAA"

    def touched(self) -> None:
        """Bump the zone's sync token and drop the cached index orders."""
        self._sync += 1
        self._sorted.clear()

    def add(self, asset: PhotoAsset) -> PhotoAsset:
        if asset.asset_id in self.assets or asset.master_id in self.masters:
            raise ValueError(f"record {asset.asset_id}/{asset.master_id} exists")
        self.assets[asset.asset_id] = asset
        self.masters[asset.master_id] = asset
        self.touched()
        return asset

    def new_asset(
        self,
        filename: str,
        uti: str,
        *,
        size: int,
        width: int,
        height: int,
        asset_date: datetime,
        added_date: datetime,
        live_video_size: int | None = None,
        unique: object = "",
        content: bytes | None = None,
    ) -> PhotoAsset:
        """A live (not deleted) asset with ids derived from its name, date and ``unique``; with
        ``content``, its size is the bytes' length and the CPLMaster's recordName (the
        original's checksum) is :func:`content_checksum` of them."""
        seed = (self.owner_record_name, filename, asset_date.isoformat(), unique)
        if content is not None:
            size = len(content)
        digest = hashlib.sha256(repr(seed).encode()).hexdigest().upper()
        asset_id = f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"
        return self.add(
            PhotoAsset(
                asset_id=asset_id,
                master_id=_checksum(*seed) if content is None else content_checksum(content),
                filename=filename,
                uti=uti,
                size=size,
                width=width,
                height=height,
                asset_date=asset_date,
                added_date=added_date,
                created=added_date,
                modified=added_date,
                asset_tag=self.new_tag(),
                master_tag=self.new_tag(),
                live_video_size=live_video_size,
                content=content,
            )
        )

    def mark_deleted(self, asset: PhotoAsset, at: datetime) -> None:
        """The user deleted ``asset`` at ``at``: what the server records for ``isDeleted: 1``."""
        asset.is_deleted = True
        asset.deleted_at = at
        asset.date_expunged = at + DELETED_RETENTION
        asset.modified = at
        asset.asset_tag = self.new_tag()
        self.touched()

    def mark_restored(self, asset: PhotoAsset, at: datetime) -> None:
        """``isDeleted: 0`` written: the asset leaves Recently Deleted. Like any CloudKit update
        only the written field changes, so ``dateExpunged`` stays; the record's expiry goes."""
        asset.is_deleted = False
        asset.deleted_at = None
        asset.modified = at
        self.touched()

    def expunge(self, asset: PhotoAsset) -> None:
        """Purge ``asset`` for good (both records disappear, lookups answer NOT_FOUND)."""
        self.assets.pop(asset.asset_id, None)
        self.masters.pop(asset.master_id, None)
        self.expunged[asset.asset_id] = asset
        self.touched()

    def purge_expired(self, now: datetime) -> int:
        """Drop deleted assets whose ``dateExpunged`` has passed (the Photos UI's deadline)."""
        due = [
            asset
            for asset in self.assets.values()
            if asset.is_deleted and asset.date_expunged is not None and asset.date_expunged <= now
        ]
        for asset in due:
            self.expunge(asset)
        return len(due)

    def index(self, name: str) -> list[PhotoAsset]:
        """The assets of a list index in ascending rank order (cached until the next write)."""
        cached = self._sorted.get(name)
        if cached is not None:
            return cached
        assets = list(self.assets.values())
        live = [a for a in assets if not a.is_deleted]
        if name == "deleted":
            picked = sorted(
                (a for a in assets if a.is_deleted),
                key=lambda a: (a.date_expunged, a.asset_id),
            )
        elif name == "added":
            picked = sorted(live, key=lambda a: (a.added_date, a.asset_id))
        else:
            predicate = _SMART[name]
            picked = sorted(
                (a for a in live if predicate(a)), key=lambda a: (a.asset_date, a.asset_id)
            )
        self._sorted[name] = picked
        return picked


_SMART = {
    "all": lambda a: not a.hidden,
    "hidden": lambda a: a.hidden,
    "VIDEO": lambda a: not a.hidden and a.kind == "movie",
    "LIVE": lambda a: not a.hidden and a.is_live_photo,
    "FAVORITE": lambda a: not a.hidden and a.favorite,
    "SCREENSHOT": lambda a: not a.hidden and a.uti == "public.png",
    "PANORAMA": lambda a: False,
    "SLOMO": lambda a: False,
    "TIMELAPSE": lambda a: False,
    "burst": lambda a: False,
    "none": lambda a: False,
}


def _base36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rem = divmod(number, 36)
        out = digits[rem] + out
        if number == 0:
            return out


# -- iCloud Drive ---------------------------------------------------------------------------------


@dataclass(eq=False)
class DriveItem:
    """A DriveWS node. Files keep the extension apart from the name (``"name": "dead-file",
    "extension": "download"``); the root folder's docwsid is ``root``."""

    docwsid: str
    kind: str  # FILE | FOLDER
    name: str
    parent: str | None  # parent docwsid; None for the root
    etag: str
    date_created: datetime
    extension: str | None = None
    size: int | None = None
    date_modified: datetime | None = None
    date_changed: datetime | None = None
    last_open: datetime | None = None
    trashed_at: datetime | None = None
    restore_path: str | None = None
    expires_at: datetime | None = None

    @property
    def drivewsid(self) -> str:
        return f"{self.kind}::{CLOUD_DOCS_ZONE}::{self.docwsid}"

    @property
    def full_name(self) -> str:
        return f"{self.name}.{self.extension}" if self.extension else self.name

    @property
    def in_trash(self) -> bool:
        return self.trashed_at is not None


@dataclass(eq=False)
class DriveTree:
    """One account's iCloud Drive (com.apple.CloudDocs). Callers hold the fake's lock."""

    items: dict[str, DriveItem] = field(default_factory=dict)  # by docwsid
    purged: dict[str, DriveItem] = field(default_factory=dict)
    _etag: int = 0
    _ids: int = 0

    def __post_init__(self) -> None:
        if "root" not in self.items:
            self.items["root"] = DriveItem(
                "root",
                "FOLDER",
                "",
                None,
                self.new_etag(False),
                datetime(2019, 12, 12, tzinfo=UTC),
            )

    @property
    def root(self) -> DriveItem:
        return self.items["root"]

    def new_etag(self, file: bool = True) -> str:
        """``"o72::o6y"`` for files (two parts), ``"o96"`` for folders (the fixture's forms)."""
        self._etag += 1
        first = _base36(self._etag + 36**2)
        return f"{first}::{_base36(self._etag + 36**2 - 1)}" if file else first

    def new_docwsid(self, *parts: object) -> str:
        self._ids += 1
        h = hashlib.sha256(repr((self._ids, *parts)).encode()).hexdigest().upper()
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"

    def children(self, folder: DriveItem) -> list[DriveItem]:
        return [
            item
            for item in self.items.values()
            if item.parent == folder.docwsid and not item.in_trash
        ]

    def trash(self) -> list[DriveItem]:
        return [item for item in self.items.values() if item.in_trash]

    def by_drivewsid(self, drivewsid: str) -> DriveItem | None:
        kind, _, rest = drivewsid.partition("::")
        _zone, _, docwsid = rest.partition("::")
        item = self.items.get(docwsid)
        return item if item is not None and item.kind == kind else None

    def child_named(self, folder: DriveItem, full_name: str) -> DriveItem | None:
        """A live child by name; iCloud Drive names are case-insensitive like APFS's."""
        wanted = full_name.casefold()
        for item in self.children(folder):
            if item.full_name.casefold() == wanted:
                return item
        return None

    def path_of(self, item: DriveItem) -> str:
        parts: list[str] = []
        node: DriveItem | None = item
        while node is not None and node.parent is not None:
            parts.append(node.full_name)
            node = self.items.get(node.parent)
        return "/".join(reversed(parts))

    def folder_at(self, path: str, at: datetime, *, create: bool) -> DriveItem | None:
        """The folder at ``path`` ("" is the root), optionally creating missing folders."""
        folder = self.root
        for part in [p for p in path.split("/") if p]:
            child = self.child_named(folder, part)
            if child is None or child.kind != "FOLDER":
                if not create:
                    return None
                child = self.add_folder(folder, part, at)
            folder = child
        return folder

    def add_folder(self, parent: DriveItem, name: str, at: datetime) -> DriveItem:
        item = DriveItem(
            self.new_docwsid(parent.docwsid, name),
            "FOLDER",
            name,
            parent.docwsid,
            self.new_etag(False),
            at,
        )
        self.items[item.docwsid] = item
        return item

    def add_file(
        self,
        path: str,
        size: int,
        at: datetime,
        *,
        modified: datetime | None = None,
    ) -> DriveItem:
        folder_path, _, full_name = path.rpartition("/")
        folder = self.folder_at(folder_path, at, create=True)
        assert folder is not None
        name, dot, extension = full_name.rpartition(".")
        if not dot:
            name, extension = full_name, ""
        item = DriveItem(
            self.new_docwsid(folder.docwsid, full_name),
            "FILE",
            name,
            folder.docwsid,
            self.new_etag(),
            at,
            extension=extension or None,
            size=size,
            date_modified=modified or at,
            date_changed=modified or at,
            last_open=modified or at,
        )
        self.items[item.docwsid] = item
        return item

    def move_to_trash(self, item: DriveItem, at: datetime) -> None:
        """The user deleted ``item`` at ``at``: it keeps its docwsid, gets ``restorePath`` (its
        path) and ``dateExpiration`` = ``dateChanged`` + 30 days."""
        item.restore_path = self.path_of(item)
        item.trashed_at = at
        item.date_changed = at
        item.expires_at = at + DRIVE_RETENTION
        item.etag = self.new_etag(item.kind == "FILE")

    def purge_expired(self, now: datetime) -> int:
        due = [i for i in self.trash() if i.expires_at is not None and i.expires_at <= now]
        for item in due:
            self.purged[item.docwsid] = self.items.pop(item.docwsid)
        return len(due)


# -- accounts and sign-in state -------------------------------------------------------------------


@dataclass(eq=False)
class Account:
    """An Apple ID with its SRP verifier (icloud.md §5.3), 2FA settings and data."""

    name: str
    apple_id: str
    password: str
    dsid: str
    first_name: str
    last_name: str
    salt: bytes
    iterations: int
    protocol: str  # "s2k" or "s2k_fo" (pyicloud srp_password.SrpProtocolType)
    verifier: bytes  # SRP v
    photos: PhotoLibrary
    drive: DriveTree
    country: str = "USA"
    two_factor: bool = True  # HSA2: every sign-in without a valid trust token needs a code
    trust_on_first_login: bool = False  # "this device was trusted earlier" (see ICloudFake)
    two_factor_code: str = "000000"
    trust_tokens: dict[str, datetime] = field(default_factory=dict)  # token -> issued at
    trust_lifetime: timedelta = TRUST_LIFETIME
    adp: bool = False  # Advanced Data Protection (isICDRSDisabled)
    web_access_allowed: bool = True  # "Access iCloud Data on the Web"
    device_consent_until: datetime | None = None  # a trusted device armed web access
    device_approves: bool = False  # the trusted device taps "Allow" as soon as it is asked
    consent_requests: int = 0

    @property
    def full_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    def trust_valid(self, token: str | None, now: datetime) -> bool:
        issued = self.trust_tokens.get(token or "")
        return issued is not None and now < issued + self.trust_lifetime

    def issue_trust_token(self, now: datetime) -> str:
        token = "HSARMTKNSRVXWFla" + secrets.token_urlsafe(48) + "SRVX"
        self.trust_tokens[token] = now
        return token

    def consented(self, now: datetime) -> bool:
        return self.device_consent_until is not None and now < self.device_consent_until


@dataclass(eq=False)
class AuthTransaction:
    """One idmsa sign-in attempt, identified by ``X-Apple-ID-Session-Id`` and ``scnt``."""

    session_id: str
    scnt: str
    created: datetime
    account: str | None = None
    pending_2fa: bool = False
    code_verified: bool = False
    wrong_codes: int = 0


@dataclass(eq=False)
class SrpChallenge:
    """The server half of one SRP exchange, kept between ``signin/init`` and ``complete``."""

    c: str
    account: str | None  # None: unknown Apple ID (the exchange can only fail)
    verifier: Any  # srp.Verifier
    transaction: str


@dataclass(eq=False)
class IdmsaSession:
    """``X-Apple-Session-Token``: what ``accountLogin`` takes as ``dsWebAuthToken``."""

    token: str
    account: str
    verified: bool  # 2FA passed, a valid trust token presented, or no 2FA on the account
    trust_token: str | None = None
    revoked: bool = False


@dataclass(eq=False)
class WebSession:
    """An icloud.com session: the ``X-APPLE-WEBAUTH-TOKEN`` cookie and what it may reach."""

    token: str
    account: str
    trusted: bool  # hsaTrustedBrowser
    idmsa_token: str
    created: datetime
    pcs_cookies: dict[str, str] = field(default_factory=dict)  # cookie name -> value
    pcs_requests: dict[str, int] = field(default_factory=dict)  # appName -> requestPCS calls
    revoked: bool = False


@dataclass
class AuthState:
    """All sign-in state, guarded by ``lock`` (shared with the data: one lock for the fake)."""

    lock: threading.RLock = field(default_factory=threading.RLock)
    transactions: dict[str, AuthTransaction] = field(default_factory=dict)
    challenges: dict[str, SrpChallenge] = field(default_factory=dict)
    idmsa_sessions: dict[str, IdmsaSession] = field(default_factory=dict)
    web_sessions: dict[str, WebSession] = field(default_factory=dict)


# -- what the fake refused, logged and serves -----------------------------------------------------


@dataclass(frozen=True)
class RefusedCall:
    """A call the sandbox refused (destructive) or does not model; tests assert the refused list
    stays empty for trashscan's flows."""

    route: str
    account: str | None
    at: datetime
    reason: str
    arg: Any


@dataclass(frozen=True)
class ModifyLogEntry:
    """One ``records/modify`` the fake answered: the operations and each one's outcome
    (``"OK"`` or the CloudKit ``serverErrorCode``)."""

    account: str
    at: datetime
    atomic: bool
    operations: list[dict[str, Any]]
    outcomes: list[str]


@dataclass(frozen=True)
class DriveRestore:
    """One ``putBackItemsFromTrash`` item the fake answered."""

    account: str
    at: datetime
    drivewsid: str
    status: str
    restore_path: str | None
    restored_as: str | None  # the path it came back at (differs when renamed)


_MAGIC = {
    "jpg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "jpeg": b"\xff\xd8\xff\xe0\x00\x10JFIF\x00",
    "heic": b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00",
    "png": b"\x89PNG\r\n\x1a\n",
    "mov": b"\x00\x00\x00\x14ftypqt  \x00\x00\x00\x00",
    "mp4": b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00",
    "pdf": b"%PDF-1.7\n",
}


class ContentStore:
    """Downloadable bytes behind the signed-looking content URLs the fake hands out (CloudKit
    ``downloadURL``s and drive ``data_token`` URLs): the real bytes when registered with
    ``data`` (bytes, or a function making them on first download), else deterministic filler of
    the declared size, starting with the file type's magic number. Thread-safe."""

    def __init__(self) -> None:
        self._items: dict[str, tuple[int, str, bytes | Callable[[], bytes] | None]] = {}
        self._lock = threading.Lock()

    def register(
        self,
        token: str,
        size: int,
        filename: str,
        data: bytes | Callable[[], bytes] | None = None,
    ) -> None:
        with self._lock:
            self._items[token] = (size, filename, data)

    def get(self, token: str) -> bytes | None:
        with self._lock:
            entry = self._items.get(token)
        if entry is None:
            return None
        size, filename, data = entry
        if data is not None:
            return data if isinstance(data, bytes) else data()
        magic = _MAGIC.get(filename.rpartition(".")[2].lower(), b"")
        block = hashlib.sha256(token.encode()).digest() * 128  # 4 KiB
        body = magic + block * (size // len(block) + 1)
        return body[:size]
