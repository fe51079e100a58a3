"""The accounts ``OneDriveFake.seed`` creates (relative to ``now``), the between-scans change
set, and the bulk generators for benchmarks.

``erin`` — OneDrive Personal (consumer tenant). 35 live files when seeded:

==============================  ==============================================================
folder                          files
==============================  ==============================================================
/Pictures/Camera Roll           18 photos IMG_0001..IMG_0018 (.jpg, every third .heic), 4
                                videos VID_0001..VID_0004 (.mp4/.mov), taken over ~14 months
/Pictures/2025 Trip             4 photos (Beach/Harbour/Old Town/Sunset .jpg)
/Pictures/Screenshots           2 .png
/Documents                      6 documents (.pdf, .docx, .xlsx)
/                               "Getting started with OneDrive.pdf"
==============================  ==============================================================

plus 3 items already in the recycle bin before trashscan ever enrols (a delta pass cannot see
them: onedrive.md §1.1): ``Camera Roll/IMG_0101.jpg`` (deleted 10 days ago),
``Camera Roll/VID_0101.mp4`` (20 days) and ``Documents/Old notes.txt`` (40 days: purged).
``quota.deleted`` counts the first two.

:func:`between_scans` (the demo runs it after the enrolment scan) deletes 3 photos
(``IMG_0003.jpg``, ``IMG_0007.heic``, ``IMG_0012.jpg``), 1 video (``VID_0002.mp4``), the
folder ``/Pictures/2025 Trip`` with its 4 photos, and 1 document (``Documents/Tax return
2023.pdf``), then uploads a *new* ``Camera Roll/IMG_0003.jpg``, so restoring the old one to its
name gives 409 ``nameAlreadyExists``. A delta call with the enrolment deltaLink then returns
6 tombstones (4 media files, the folder — its 4 photos are not reported one by one on
Personal — and the document), the new IMG_0003.jpg, and the changed ancestors (root,
Pictures, Camera Roll, Documents): 11 entries; with ``deltaExcludeParent``, 7.

``frank`` — OneDrive for Business (tenant contoso, site
``contoso-my.sharepoint.com/personal/frank_contoso_com``). 14 live files (8 photos and 2 videos
in /Pictures/Camera Roll, 4 documents in /Documents) and a recycle bin of 10 entries listed by
``recycleBin/items``: 7 media files (deleted 2, 9, 25, 33, 60 — second stage —, 70 and 88 days
ago), the folder ``/Pictures/Offsite`` with 3 photos (41 days) and 2 documents (12 and 55 days);
one more photo deleted 100 days ago is past the 93 days and purged.

Every seeded photo and video has real content (:func:`trashscan.sandbox.pictures.content`: a
320x240 picture with the file name drawn on it; HEIC names carry a JPEG body, videos a
placeholder holding a poster), so ``size``, ``sha1Hash`` and ``quickXorHash`` are those of its
bytes and the thumbnails show it. Documents and the bulk generators' files only have a size
(their hashes are stand-ins, not of any bytes).
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from trashscan.sandbox import pictures
from trashscan_onedrive.sandbox.graph import GraphApi
from trashscan_onedrive.sandbox.model import Drive, Item, RecycleBinEntry

__all__ = ["MEDIA_EXTENSIONS", "SEEDED_ACCOUNTS", "Manifest", "seed_accounts"]

SEEDED_ACCOUNTS = ("erin", "frank")
MEDIA_EXTENSIONS = (".jpg", ".jpeg", ".heic", ".png", ".gif", ".mp4", ".mov")
MB = 1024 * 1024
DAY = timedelta(days=1)


class Seedable(Protocol):
    """What seeding asks of the fake (:class:`.fake.OneDriveFake` has it): the fake imports this
    module, never the other way round."""

    graph: GraphApi
    clock: Callable[[], datetime]

    def add_account(
        self,
        name: str,
        kind: str,
        *,
        display_name: str | None = ...,
        email: str | None = ...,
        consent: Sequence[str] | None = ...,
    ) -> Drive: ...

    def add_file(
        self,
        account: str,
        path: str,
        size: int | None = ...,
        at: datetime | None = ...,
        *,
        taken: datetime | None = ...,
        content: bytes | None = ...,
    ) -> Item: ...

    def delete(
        self, account: str, path_or_id: str, at: datetime | None = ...
    ) -> RecycleBinEntry | None: ...


@dataclass
class Manifest:
    """What was seeded in one account (paths), for tests and benchmarks to assert against."""

    account: str
    drive_type: str
    live: list[str] = field(default_factory=list)
    pre_enrolment_deleted: list[str] = field(default_factory=list)  # personal, invisible
    purged: list[str] = field(default_factory=list)
    # personal, what between_scans() does:
    scan_deleted_media: list[str] = field(default_factory=list)
    scan_deleted_folder: str | None = None
    scan_folder_photos: list[str] = field(default_factory=list)
    scan_deleted_documents: list[str] = field(default_factory=list)
    reused_name: str | None = None  # deleted, then a new file uploaded at the same path
    # business, the recycle bin:
    bin_media: list[str] = field(default_factory=list)
    bin_folders: list[str] = field(default_factory=list)
    bin_folder_photos: list[str] = field(default_factory=list)
    bin_documents: list[str] = field(default_factory=list)
    second_stage: list[str] = field(default_factory=list)
    deleted_at: dict[str, datetime] = field(default_factory=dict)
    ids: dict[str, str] = field(default_factory=dict)  # path -> driveItem id (as seeded)


def _picture(account: str, path: str, variant: str = "") -> bytes | None:
    """A seeded photo's or video's real content (None for documents, which keep a size only):
    :func:`trashscan.sandbox.pictures.content`, so sizes and hashes are of served bytes;
    ``variant`` tells apart a new upload under the same path."""
    if not is_media(path):
        return None
    return pictures.content(path.rsplit("/", 1)[-1], f"onedrive:{account}:{path}{variant}")


def size_of(path: str) -> int:
    """A stable, plausible size for ``path`` (photos ~3 MB, videos ~40 MB, documents ~16 KB).

    Seeded photos and videos take the size of their real (small) content instead; documents
    stay in scale with those pictures, so a seeded drive's recycle bin is a plausible share of
    its storage (what the 10%-of-storage rule reads)."""
    digest = int.from_bytes(hashlib.sha256(path.encode()).digest()[:3], "big")
    lowered = path.lower()
    if lowered.endswith((".mp4", ".mov")):
        return 40 * MB + digest
    if lowered.endswith(MEDIA_EXTENSIONS):
        return 3 * MB + digest
    return 12 * 1024 + digest % 8_000


def is_media(path: str) -> bool:
    return path.lower().endswith(MEDIA_EXTENSIONS)


def _seed_erin(fake: Seedable, now: datetime) -> Manifest:
    name = "erin"
    fake.add_account(name, "personal", display_name="Erin Example", email="erin@outlook.com")
    manifest = Manifest(name, "personal")
    files: list[tuple[str, datetime]] = []
    roll = "/Pictures/Camera Roll"
    for i in range(1, 19):
        ext = ".heic" if i % 3 == 1 and i != 1 else ".jpg"
        files.append((f"{roll}/IMG_{i:04d}{ext}", now - (420 - i * 22) * DAY))
    for i, ext in enumerate((".mp4", ".mp4", ".mov", ".mp4"), start=1):
        files.append((f"{roll}/VID_{i:04d}{ext}", now - (400 - i * 90) * DAY))
    trip = "/Pictures/2025 Trip"
    for i, stem in enumerate(("Beach", "Harbour", "Old Town", "Sunset")):
        files.append((f"{trip}/{stem}.jpg", now - (150 - i) * DAY))
    files += [
        ("/Pictures/Screenshots/Screenshot 2025-03-02.png", now - 120 * DAY),
        ("/Pictures/Screenshots/Screenshot 2025-06-19.png", now - 60 * DAY),
        ("/Documents/Tax return 2023.pdf", now - 300 * DAY),
        ("/Documents/CV.docx", now - 200 * DAY),
        ("/Documents/Budget.xlsx", now - 90 * DAY),
        ("/Documents/Lease.pdf", now - 500 * DAY),
        ("/Documents/Recipes.docx", now - 45 * DAY),
        ("/Documents/Insurance.pdf", now - 30 * DAY),
        ("/Getting started with OneDrive.pdf", now - 700 * DAY),
    ]
    doomed = [
        (f"{roll}/IMG_0101.jpg", now - 80 * DAY, now - 10 * DAY),
        (f"{roll}/VID_0101.mp4", now - 70 * DAY, now - 20 * DAY),
        ("/Documents/Old notes.txt", now - 365 * DAY, now - 40 * DAY),
    ]
    events: list[tuple[datetime, str, str]] = [(at, "add", path) for path, at in files]
    events += [(created, "add", path) for path, created, _ in doomed]
    events += [(deleted, "delete", path) for path, _, deleted in doomed]
    for at, kind, path in sorted(events):
        if kind == "add":
            item = fake.add_file(
                name, path, size=size_of(path), at=at, content=_picture(name, path)
            )
            manifest.ids[path] = item.id
        else:
            fake.delete(name, path, at=at)
            manifest.deleted_at[path] = at
    manifest.live = [path for path, _ in files]
    manifest.pre_enrolment_deleted = [p for p, _, d in doomed if now - d < 30 * DAY]
    manifest.purged = [p for p, _, d in doomed if now - d >= 30 * DAY]
    manifest.scan_deleted_media = [
        f"{roll}/IMG_0003.jpg",
        f"{roll}/IMG_0007.heic",
        f"{roll}/IMG_0012.jpg",
        f"{roll}/VID_0002.mp4",
    ]
    manifest.scan_deleted_folder = trip
    manifest.scan_folder_photos = [p for p, _ in files if p.startswith(trip + "/")]
    manifest.scan_deleted_documents = ["/Documents/Tax return 2023.pdf"]
    manifest.reused_name = f"{roll}/IMG_0003.jpg"
    return manifest


def between_scans(fake: Seedable, manifest: Manifest, now: datetime) -> None:
    """Apply ``erin``'s change set (module docstring), one deletion a millisecond, ending at
    ``now``: the deletions must come after the scan the caller just ran (a first scan that saw
    these files live), so they are not spread back over whole seconds."""
    targets = [
        p
        for p in (
            *manifest.scan_deleted_media,
            manifest.scan_deleted_folder,
            *manifest.scan_deleted_documents,
        )
        if p is not None
    ]
    for offset, path in enumerate(targets):
        at = now - timedelta(milliseconds=len(targets) - offset)
        fake.delete(manifest.account, path, at=at)
        manifest.deleted_at[path] = at
    if manifest.reused_name is not None:
        path = manifest.reused_name
        picture = _picture(manifest.account, path, " (new)")
        item = fake.add_file(
            manifest.account, path, size=size_of(path) + 4096, at=now, content=picture
        )
        manifest.ids[path + " (new)"] = item.id


def _seed_frank(fake: Seedable, now: datetime) -> Manifest:
    name = "frank"
    fake.add_account(name, "business", display_name="Frank Example", email="frank@contoso.com")
    manifest = Manifest(name, "business")
    roll = "/Pictures/Camera Roll"
    live = [
        *(f"{roll}/IMG_{i:04d}.jpg" for i in range(1001, 1009)),
        f"{roll}/VID_1001.mp4",
        f"{roll}/VID_1002.mov",
        "/Documents/Quarterly report.docx",
        "/Documents/Roadmap.pptx",
        "/Documents/Expenses.xlsx",
        "/Documents/Onboarding.pdf",
    ]
    # path, days ago deleted
    binned = [
        (f"{roll}/IMG_2001.jpg", 2),
        (f"{roll}/IMG_2002.heic", 9),
        (f"{roll}/IMG_2003.jpg", 25),
        (f"{roll}/VID_2001.mp4", 33),
        (f"{roll}/IMG_2005.jpg", 60),  # then emptied from the first stage
        (f"{roll}/IMG_2004.png", 70),
        (f"{roll}/VID_2002.mov", 88),
        ("/Documents/Budget 2024.xlsx", 12),
        ("/Documents/Contract.pdf", 55),
    ]
    offsite = "/Pictures/Offsite"
    offsite_photos = [f"{offsite}/Team {i}.jpg" for i in (1, 2, 3)]
    purged = f"{roll}/IMG_2000.jpg"
    events: list[tuple[datetime, str, str]] = []
    for index, path in enumerate(live):
        events.append((now - (300 - index * 15) * DAY, "add", path))
    for path, days in [*binned, (offsite, 41), (purged, 100)]:
        if path != offsite:
            events.append((now - (days + 30) * DAY, "add", path))
        events.append((now - days * DAY, "delete", path))
    for index, path in enumerate(offsite_photos):
        events.append((now - (160 + index) * DAY, "add", path))
    for at, kind, path in sorted(events):
        if kind == "add":
            picture = _picture(name, path)
            manifest.ids[path] = fake.add_file(
                name, path, size=size_of(path), at=at, content=picture
            ).id
        else:
            entry = fake.delete(name, path, at=at)
            manifest.deleted_at[path] = at
            if path.endswith("IMG_2005.jpg") and entry is not None:
                entry.stage = 2
    fake.graph.drives[name].purge_bin(now)
    manifest.live = live
    manifest.bin_media = [p for p, _ in binned if is_media(p)]
    manifest.bin_documents = [p for p, _ in binned if not is_media(p)]
    manifest.bin_folders = [offsite]
    manifest.bin_folder_photos = offsite_photos
    manifest.second_stage = [f"{roll}/IMG_2005.jpg"]
    manifest.purged = [purged]
    return manifest


def seed_accounts(fake: Seedable, now: datetime) -> dict[str, Manifest]:
    return {"erin": _seed_erin(fake, now), "frank": _seed_frank(fake, now)}


def bulk_personal(
    fake: Seedable, account: str, n_files: int, now: datetime, *, seed: int = 0
) -> list[str]:
    """``n_files`` live files under ``/Bulk/Folder NNN`` (200 per folder): 80% photos, 10%
    videos, 10% documents, created over the past two years. Returns their ids."""
    rng = random.Random(seed)
    drive = fake.graph.drives[account]
    ids: list[str] = []
    with drive.lock:
        for i in range(n_files):
            roll = rng.random()
            ext = (
                ".jpg"
                if roll < 0.7
                else ".heic"
                if roll < 0.8
                else ".mp4"
                if roll < 0.9
                else ".pdf"
            )
            path = f"/Bulk/Folder {i // 200:03d}/FILE_{i:06d}{ext}"
            at = now - timedelta(seconds=rng.randrange(2 * 365 * 86400))
            ids.append(
                drive.put_file(path, size_of(path), at, taken=at if is_media(path) else None).id
            )
    return ids


def bulk_recycle_bin(
    fake: Seedable, account: str, n_items: int, now: datetime, *, seed: int = 0
) -> list[str]:
    """``n_items`` recycle-bin entries on a business drive, deleted at random over the last 90
    days (first stage; 80% photos, 10% videos, 10% documents). Returns the entry ids."""
    rng = random.Random(seed)
    drive = fake.graph.drives[account]
    if drive.personal:
        raise ValueError("bulk_recycle_bin needs a business account")
    entries: list[str] = []
    with drive.lock:
        for i in range(n_items):
            roll = rng.random()
            ext = ".jpg" if roll < 0.8 else ".mov" if roll < 0.9 else ".docx"
            path = f"/Bulk Bin/Folder {i // 200:03d}/DEL_{i:06d}{ext}"
            deleted = now - timedelta(seconds=rng.randrange(90 * 86400))
            created = deleted - timedelta(days=rng.randrange(1, 400))
            item = drive.put_file(path, size_of(path), created, taken=created)
            entry = drive.delete(item, deleted)
            assert entry is not None
            entries.append(entry.id)
    return entries


def delete_random(fake: Seedable, account: str, n: int, *, seed: int = 0) -> list[str]:
    """Delete ``n`` random live photos/videos of ``account`` now; returns their ids."""
    rng = random.Random(seed)
    drive = fake.graph.drives[account]
    with drive.lock:
        media = sorted(
            i.id for i in drive.items.values() if i.live and not i.folder and is_media(i.name)
        )
        if n > len(media):
            raise ValueError(f"only {len(media)} live media files to delete")
        chosen = rng.sample(media, n)
        now = fake.clock()
        for item_id in chosen:
            drive.delete(drive.items[item_id], now)
    return chosen
