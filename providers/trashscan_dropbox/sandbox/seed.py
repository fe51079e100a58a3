"""The accounts ``DropboxFake.seed`` creates, relative to ``now``, and the bulk generator.

``carol`` (``account_type`` basic: 30-day recovery, dropbox.md §3; deletions within 27 days)
and ``dave`` (business, team "Example Corp": 180 days; deletions within 175 days) have the
same kinds of items, built through the same operations a user would perform (upload, delete,
move), so revision histories, tombstones and the journal are consistent:

============================  =====================================  ========================
kind                          carol (days ago deleted)               dave
============================  =====================================  ========================
deleted photos/videos         dog.jpg (1.5, 2 revisions), cat.heic   IMG_2001.jpg (3),
(lost, restorable)            (6), birthday.mp4 (9), skate.mov (15)  IMG_2002.heic (45),
                                                                     launch.mp4 (80, 3 revs),
                                                                     offsite.mov (130),
                                                                     Clips/b-roll.mov (160)
deleted, NOT restorable       /Photos/old-scan.jpg (27)              /Photos/whiteboard.jpg
                                                                     (175)
deleted folder                /Camera Uploads/2025 Trip (20) with    same folder (95), same
                              IMG_0001.jpg, IMG_0002.heic,           3 photos
                              IMG_0003.jpg
moved (old path deleted,      /Photos/a.jpg -> /Archive/a.jpg (7)    same paths (60)
not lost)
occupied again (listed live)  /Photos/beach.jpg deleted 12 days      deleted 100, re-upload
                              ago, new upload 3 days ago             10 days ago
deleted documents             /Documents/invoice.pdf (4, 2 revs),    /Contracts/nda.pdf (30),
                              /Documents/draft.docx (11)             /Contracts/proposal.docx
                                                                     (150)
============================  =====================================  ========================

Every photo and video revision has real content (:func:`trashscan.sandbox.pictures.content`: a
320x240 picture with the file name drawn on it; HEIC names carry a JPEG body, videos a
placeholder holding a poster), so ``size`` and ``content_hash`` are those of its bytes; the
``2025 Trip`` photos are the same pictures in both accounts (duplicates). Documents and
:func:`bulk` entries only have a size (their ``content_hash`` is not of any bytes served).

Plus live photos, videos and documents in each. Exact counts per account (see ``MANIFEST``
built by :func:`seed_accounts`): carol has 9 media-file tombstones (8 lost + the moved one),
7 of them lost *and* restorable; dave has 10 (9 lost + moved), 8 lost and restorable. Each
has 1 folder tombstone and 2 document tombstones, so a full ``include_deleted`` listing shows
12 (carol) / 13 (dave) ``DeletedMetadata`` entries.
"""

from __future__ import annotations

import hashlib
import math
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Protocol

from trashscan.sandbox import pictures
from trashscan_dropbox.sandbox.model import Account, Node, Revision

__all__ = [
    "MEDIA_EXTENSIONS",
    "SEEDED_ACCOUNTS",
    "Manifest",
    "bulk",
    "seed_accounts",
]

SEEDED_ACCOUNTS = ("carol", "dave")
MEDIA_EXTENSIONS = (".jpg", ".jpeg", ".heic", ".png", ".mp4", ".mov")
MB = 1024 * 1024
DAY = timedelta(days=1)


@dataclass
class Manifest:
    """What was seeded in one account, for tests and benchmarks to assert against."""

    account: str
    retention_days: int
    deleted_media: list[str] = field(default_factory=list)  # lost: deleted, not moved
    not_restorable: list[str] = field(default_factory=list)
    in_deleted_folder: list[str] = field(default_factory=list)
    deleted_folders: list[str] = field(default_factory=list)
    deleted_documents: list[str] = field(default_factory=list)
    moved: dict[str, str] = field(default_factory=dict)  # old path -> new path
    occupied: list[str] = field(default_factory=list)  # deleted, then re-created: live
    live_media: list[str] = field(default_factory=list)
    deleted_at: dict[str, datetime] = field(default_factory=dict)

    @property
    def media_tombstones(self) -> list[str]:
        """Every media path that lists as ``DeletedMetadata`` (lost ones plus moved ones)."""
        return sorted([*self.deleted_media, *self.moved])

    @property
    def restorable_media(self) -> list[str]:
        return sorted(set(self.deleted_media) - set(self.not_restorable))


def _size(path: str) -> int:
    digest = hashlib.sha256(path.encode()).digest()
    base = 40 * MB if path.endswith((".mp4", ".mov")) else 3 * MB
    return base + int.from_bytes(digest[:3], "big")


@dataclass
class _Layout:
    name: str
    account_type: str
    given: str
    surname: str
    retention: int
    team: str | None
    live: list[str]
    deleted_media: list[tuple[str, float, int]]  # path, days ago deleted, revisions
    not_restorable: tuple[str, float]
    trip_deleted: float
    moved: float
    beach: tuple[float, float]  # deleted, re-uploaded (days ago)
    documents: list[tuple[str, float, int]]


_LAYOUTS = (
    _Layout(
        "carol",
        "basic",
        "Carol",
        "Example",
        30,
        None,
        live=[
            "/Photos/sunset.jpg",
            "/Photos/family.heic",
            "/Videos/party.mp4",
            "/Camera Uploads/2025-04-30 18.02.11.jpg",
            "/Documents/taxes-2024.pdf",
            "/Documents/notes.docx",
        ],
        deleted_media=[
            ("/Photos/dog.jpg", 1.5, 2),
            ("/Photos/cat.heic", 6, 1),
            ("/Videos/birthday.mp4", 9, 1),
            ("/Videos/skate.mov", 15, 1),
        ],
        not_restorable=("/Photos/old-scan.jpg", 27),
        trip_deleted=20,
        moved=7,
        beach=(12, 3),
        documents=[("/Documents/invoice.pdf", 4, 2), ("/Documents/draft.docx", 11, 1)],
    ),
    _Layout(
        "dave",
        "business",
        "Dave",
        "Sample",
        180,
        "Example Corp",
        live=[
            "/Photos/team-offsite.jpg",
            "/Photos/headshot.heic",
            "/Videos/demo.mp4",
            "/Videos/Clips/intro.mov",
            "/Camera Uploads/2025-03-02 09.15.00.heic",
            "/Contracts/msa.pdf",
        ],
        deleted_media=[
            ("/Photos/IMG_2001.jpg", 3, 1),
            ("/Photos/IMG_2002.heic", 45, 1),
            ("/Videos/launch.mp4", 80, 3),
            ("/Videos/offsite.mov", 130, 1),
            ("/Videos/Clips/b-roll.mov", 160, 1),
        ],
        not_restorable=("/Photos/whiteboard.jpg", 175),
        trip_deleted=95,
        moved=60,
        beach=(100, 10),
        documents=[("/Contracts/nda.pdf", 30, 1), ("/Contracts/proposal.docx", 150, 1)],
    ),
)
TRIP = "/Camera Uploads/2025 Trip"
TRIP_PHOTOS = ("IMG_0001.jpg", "IMG_0002.heic", "IMG_0003.jpg")


class Seedable(Protocol):
    """What seeding asks of the fake (:class:`.fake.DropboxFake` has it): the fake imports this
    module, never the other way round."""

    @property
    def accounts(self) -> dict[str, Account]: ...

    def add_account(
        self,
        name: str,
        *,
        account_type: str = ...,
        given_name: str | None = ...,
        surname: str = ...,
        team_name: str | None = ...,
    ) -> Account: ...

    def add_file(
        self,
        account: str,
        path: str,
        content: bytes | None = ...,
        *,
        size: int | None = ...,
        at: datetime | None = ...,
        content_seed: bytes | None = ...,
    ) -> Revision: ...

    def delete(self, account: str, path: str, at: datetime | None = ...) -> list[Node]: ...

    def move(self, account: str, src: str, dst: str, at: datetime | None = ...) -> Node: ...

    def set_restorable(self, account: str, path: str, restorable: bool = ...) -> None: ...


def seed_accounts(fake: Seedable, now: datetime) -> dict[str, Manifest]:
    """Create ``carol`` and ``dave`` (see the module docstring); returns their manifests."""
    manifests: dict[str, Manifest] = {}
    for layout in _LAYOUTS:
        manifests[layout.name] = _seed(fake, layout, now)
    return manifests


def _seed(fake: Seedable, layout: _Layout, now: datetime) -> Manifest:
    name = layout.name
    fake.add_account(
        name,
        account_type=layout.account_type,
        given_name=layout.given,
        surname=layout.surname,
        team_name=layout.team,
    )
    manifest = Manifest(name, layout.retention)
    uploaded = now - timedelta(days=layout.retention + 200)
    events: list[tuple[datetime, str, Any]] = []  # replayed in time order

    def upload(path: str, at: datetime, revisions: int = 1) -> None:
        for index in range(revisions):
            events.append((at + timedelta(hours=index), "upload", (path, index)))

    def delete(path: str, days: float) -> datetime:
        at = now - timedelta(days=days)
        events.append((at, "delete", path))
        manifest.deleted_at[path] = at
        return at

    for offset, path in enumerate(layout.live):
        upload(path, uploaded + offset * DAY)
        if path.endswith(MEDIA_EXTENSIONS):
            manifest.live_media.append(path)
    for offset, (path, days, revisions) in enumerate(layout.deleted_media):
        upload(path, uploaded + (10 + offset) * DAY, revisions)
        delete(path, days)
        manifest.deleted_media.append(path)
    path, days = layout.not_restorable
    upload(path, uploaded + 20 * DAY)
    delete(path, days)
    events.append((now, "unrestorable", path))
    manifest.deleted_media.append(path)
    manifest.not_restorable.append(path)
    for offset, photo in enumerate(TRIP_PHOTOS):
        upload(f"{TRIP}/{photo}", uploaded + (30 + offset) * DAY)
        manifest.in_deleted_folder.append(f"{TRIP}/{photo}")
        manifest.deleted_media.append(f"{TRIP}/{photo}")
    delete(TRIP, layout.trip_deleted)
    for photo in TRIP_PHOTOS:
        manifest.deleted_at[f"{TRIP}/{photo}"] = manifest.deleted_at[TRIP]
    manifest.deleted_folders.append(TRIP)
    upload("/Photos/a.jpg", uploaded + 40 * DAY)
    events.append((now - timedelta(days=layout.moved), "move", ("/Photos/a.jpg", "/Archive/a.jpg")))
    manifest.moved["/Photos/a.jpg"] = "/Archive/a.jpg"
    upload("/Photos/beach.jpg", uploaded + 50 * DAY)
    delete("/Photos/beach.jpg", layout.beach[0])
    manifest.deleted_at.pop("/Photos/beach.jpg")
    events.append((now - timedelta(days=layout.beach[1]), "upload", ("/Photos/beach.jpg", 1)))
    manifest.occupied.append("/Photos/beach.jpg")
    for offset, (path, days, revisions) in enumerate(layout.documents):
        upload(path, uploaded + (60 + offset) * DAY, revisions)
        delete(path, days)
        manifest.deleted_documents.append(path)

    for at, kind, what in sorted(events, key=lambda event: event[0]):
        if kind == "upload":
            path, version = what
            if path.lower().endswith(MEDIA_EXTENSIONS):
                # A real picture (a poster for videos). The trip's photos are the same pictures
                # in both accounts: duplicates, as a family sharing its photos would have.
                owner = "both" if path.startswith(TRIP) else name
                picture = pictures.content(
                    path.rsplit("/", 1)[-1], f"dropbox:{owner}:{path}:v{version}"
                )
                fake.add_file(name, path, picture, at=at)
                continue
            seed = f"{name}:{path}:v{version}".encode() * 8
            fake.add_file(name, path, size=_size(path) + version, at=at, content_seed=seed)
        elif kind == "delete":
            fake.delete(name, what, at)
        elif kind == "move":
            fake.move(name, *what, at)
        else:
            fake.set_restorable(name, what, False)
    return manifest


def bulk(
    fake: Seedable,
    account: str,
    n_entries: int,
    n_deleted_media: int,
    now: datetime,
    *,
    seed: int = 0,
    root: str = "/Bulk",
) -> list[str]:
    """Add exactly ``n_entries`` listing entries under ``root`` (``root`` itself, subfolders
    of at most 1,000 files, and files), ``n_deleted_media`` of them deleted photos/videos,
    deleted at times spread over the account's recovery window before ``now`` (30 days for
    basic/pro, 180 for business; all uploads happen before any deletion, and deletions are
    journaled oldest first, so ``list_folder/continue`` and ``server_deleted`` agree). Returns
    the deleted paths, oldest deletion first. 50,000 entries take about a second."""
    folders = max(1, math.ceil(n_entries / 1001))
    n_files = n_entries - 1 - folders
    if n_files < n_deleted_media or n_files < 0:
        raise ValueError("n_entries too small for that many deleted files")
    rng = random.Random(seed)
    retention = 180 if fake.accounts[account].account_type == "business" else 30
    window = (retention - 1) * 86400
    media = (".jpg", ".heic", ".jpg", ".mp4", ".mov", ".png")
    others = (".pdf", ".docx", ".txt", ".xlsx")
    deleted_indices = set(rng.sample(range(n_files), n_deleted_media))
    ns = fake.accounts[account].namespace
    with ns.lock:
        ns.make_folder(root, now - timedelta(days=retention + 400))
        for index in range(folders):
            ns.make_folder(f"{root}/{index:04d}", now - timedelta(days=retention + 400))
        plan: list[tuple[float, str]] = []
        for index in range(n_files):
            is_deleted = index in deleted_indices
            ext = rng.choice(media) if is_deleted or rng.random() < 0.6 else rng.choice(others)
            path = f"{root}/{index % folders:04d}/F{index:06d}{ext}"
            uploaded = now - timedelta(seconds=window + rng.uniform(86400, 300 * 86400))
            size = rng.randint(200_000, 60 * MB)
            digest = hashlib.sha256(path.encode()).hexdigest()
            ns.put_file(path, size=size, digest=digest, client_modified=uploaded, at=uploaded)
            if is_deleted:
                plan.append((rng.uniform(60, window), path))
        plan.sort(reverse=True)  # oldest deletion (largest age) first
        for age, path in plan:
            ns.delete(path, now - timedelta(seconds=age))
    return [path for _, path in plan]
