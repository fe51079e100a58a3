"""The accounts ``GoogleDriveFake.seed`` creates, relative to ``now``.

``alice`` (Drive Activity enabled in her project, a valid stored access token):

* My Drive: 8 trashed photos/videos. Five are trashed themselves (0.25, 3, 8, 16 and 28.5 days
  ago); three photos are trashed only through the folder ``Photos/Holiday 2025``, which was
  trashed 12 days ago (``trashed=true, explicitlyTrashed=false``; the folder is the only item
  explicitly trashed there). Plus 2 trashed documents (a PDF, 5 days; a Google Doc, 20 days)
  and non-trashed photos, a video and a Doc.
* shared drive ``Family`` (alice is ``organizer``): 4 trashed photos/videos (1, 9, 18, 26 days
  ago, trashed by alice or by ``dad@example.com``), so ``trashedTime``/``trashingUser`` are
  populated; one of them was uploaded by dad, so ``corpora=user`` does not return it (only
  ``allDrives``/``drive`` do). Plus 2 non-trashed photos.
* shared drive ``Running Club`` (alice is a ``reader``): 1 photo trashed 4 days ago by the
  coach; ``capabilities.canUntrash`` is false for alice, so restoring it is a 403.

``bob`` (no Drive Activity API in his project, so ``activity:query`` is a 403; his stored access
token EXPIRED two hours ago, so his first call must refresh): My Drive with 5 trashed
photos/videos (2, 7, 13, 21, 27 days ago), 1 trashed PDF (10 days) and 2 non-trashed photos.

Every seeded photo and video has real content (:func:`trashscan.sandbox.pictures.content`: a
320x240 JPEG with the file name drawn on it, a JPEG body for HEIC names, a placeholder holding a
poster for videos), so ``size``, ``md5Checksum``, ``sha1Checksum`` and ``sha256Checksum`` are
those of the bytes ``alt=media`` returns, and ``thumbnailLink`` serves a picture of it.

Everything is uploaded more than 30 days before ``now`` and trashed within the last 29 days,
the trashing in time order after all uploads, so in the changes log (read from token 1) each
trashed item's latest change is its trash, in chronological order, and no purge date has passed:
each trashed item is purged at its trash time + 30 days, i.e. over the next 30 days.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from typing import Any, Protocol

from trashscan.sandbox import pictures
from trashscan_google_drive.sandbox.model import DriveFile, Person, SharedDrive

__all__ = ["SEEDED_ACCOUNTS", "random_media", "seed_accounts"]

SEEDED_ACCOUNTS = ("alice", "bob")
DOC_MIME = "application/vnd.google-apps.document"
PDF_MIME = "application/pdf"
MB = 1024 * 1024

Media = tuple[str, str, int, dict[str, object] | None, dict[str, object] | None, datetime]


class Seedable(Protocol):
    """What seeding asks of the fake (:class:`.fake.GoogleDriveFake` has it): the fake imports
    this module, never the other way round."""

    def add_account(
        self,
        name: str,
        *,
        email: str | None = ...,
        display_name: str | None = ...,
        activity: bool = ...,
        created: datetime | None = ...,
    ) -> object: ...

    def add_person(self, email: str, display_name: str) -> Person: ...

    def add_shared_drive(
        self, name: str, members: dict[str, str], *, created: datetime | None = ...
    ) -> SharedDrive: ...

    def add_folder(self, where: str, name: str, **kwargs: Any) -> DriveFile: ...

    def add_file(
        self,
        where: str,
        name: str,
        mime_type: str,
        *,
        parent: str | None = ...,
        by: str | None = ...,
        created: datetime | None = ...,
        size: int | None = ...,
        image: dict[str, object] | None = ...,
        video: dict[str, object] | None = ...,
        content: bytes | None = ...,
    ) -> DriveFile: ...

    def trash(self, account: str, file_id: str, at: datetime | None = ...) -> None: ...


def _image(taken: datetime, width: int, height: int, make: str, model: str) -> dict[str, object]:
    """``imageMediaMetadata``; ``time`` is EXIF DateTime ("2024:01:02 03:04:05") [DISC]."""
    return {
        "width": width,
        "height": height,
        "rotation": 0,
        "time": taken.strftime("%Y:%m:%d %H:%M:%S"),
        "cameraMake": make,
        "cameraModel": model,
        "exposureTime": 0.008,
        "aperture": 1.85,
        "focalLength": 6.81,
        "isoSpeed": 64,
        "flashUsed": False,
    }


def _video(width: int, height: int, seconds: float) -> dict[str, object]:
    """``videoMediaMetadata``; ``durationMillis`` is an int64 string [DISC]."""
    return {"width": width, "height": height, "durationMillis": str(int(seconds * 1000))}


def media(kind: str, taken: datetime, rng: random.Random, name: str | None = None) -> Media:
    """A realistic photo/video: camera-style name, MIME type, size and media metadata."""
    stamp = taken.strftime("%Y%m%d_%H%M%S")
    if kind == "jpg":
        return (
            name or f"IMG_{stamp}.jpg",
            "image/jpeg",
            rng.randint(2 * MB, 6 * MB),
            _image(taken, 4032, 3024, "samsung", "SM-S911B"),
            None,
            taken,
        )
    if kind == "pxl":
        return (
            name or f"PXL_{stamp}{rng.randint(0, 999):03d}.jpg",
            "image/jpeg",
            rng.randint(2 * MB, 5 * MB),
            _image(taken, 4080, 3072, "Google", "Pixel 8"),
            None,
            taken,
        )
    if kind == "heic":
        return (
            name or f"IMG_{rng.randint(1000, 9999)}.HEIC",
            "image/heic",
            rng.randint(MB + MB // 4, 3 * MB),
            _image(taken, 4032, 3024, "Apple", "iPhone 15"),
            None,
            taken,
        )
    if kind == "mp4":
        seconds = rng.uniform(4, 95)
        return (
            name or f"VID_{stamp}.mp4",
            "video/mp4",
            int(seconds * rng.uniform(1.8, 2.6) * MB),
            None,
            _video(1920, 1080, seconds),
            taken,
        )
    if kind == "mov":
        seconds = rng.uniform(3, 60)
        return (
            name or f"IMG_{rng.randint(1000, 9999)}.MOV",
            "video/quicktime",
            int(seconds * rng.uniform(3.5, 5.5) * MB),
            None,
            _video(3840, 2160, seconds),
            taken,
        )
    raise ValueError(kind)


def random_media(rng: random.Random, trashed_at: datetime, index: int) -> Media:
    """One random photo/video for ``trash_bulk``, taken 1-400 days before it was trashed."""
    taken = trashed_at - timedelta(days=rng.uniform(1, 400))
    kind = rng.choices(["jpg", "pxl", "heic", "mp4", "mov"], weights=[4, 4, 2, 1, 1])[0]
    name, mime, size, image, video, _ = media(kind, taken, rng)
    stem, dot, ext = name.rpartition(".")
    return f"{stem}_{index:05d}{dot}{ext}", mime, size, image, video, taken


def seed_accounts(fake: Seedable, now: datetime) -> list[str]:
    """Create alice and bob (see the module docstring); return their account names."""
    rng = random.Random(20251003)

    def days(n: float) -> datetime:
        return now - timedelta(days=n)

    trash_plan: list[tuple[datetime, str, DriveFile]] = []

    def upload(
        where: str,
        kind: str,
        taken: datetime,
        *,
        parent: DriveFile | None = None,
        by: str | None = None,
        name: str | None = None,
    ) -> DriveFile:
        file_name, mime, _size, image, video, _ = media(kind, taken, rng, name)
        return fake.add_file(
            where,
            file_name,
            mime,
            parent=parent.id if parent else None,
            by=by,
            created=taken + timedelta(minutes=rng.randint(2, 90)),
            image=image,
            video=video,
            # A real picture (a poster for videos), so thumbnails, downloads and checksums agree.
            content=pictures.content(file_name, f"google-drive:{where}"),
        )

    # -- alice ---------------------------------------------------------------------------------
    fake.add_account(
        "alice",
        email="alice@example.com",
        display_name="Alice Martin",
        activity=True,
        created=days(2400),
    )
    fake.add_person("dad@example.com", "Paul Martin")
    fake.add_person("coach@example.com", "Sam Okafor")
    photos = fake.add_folder("alice", "Photos", created=days(900))
    documents = fake.add_folder("alice", "Documents", created=days(880))
    fake.add_shared_drive(
        "Family", {"alice": "organizer", "dad@example.com": "fileOrganizer"}, created=days(700)
    )
    fake.add_shared_drive(
        "Running Club", {"coach@example.com": "organizer", "alice": "reader"}, created=days(500)
    )
    holiday = fake.add_folder("alice", "Holiday 2025", parent=photos.id, created=days(80))

    upload("alice", "jpg", days(45), parent=photos)  # kept
    upload("alice", "pxl", days(62), parent=photos)  # kept
    upload("alice", "mp4", days(37), parent=photos)  # kept
    fake.add_file(
        "alice", "Budget 2025", DOC_MIME, parent=documents.id, created=days(300), size=8_412
    )
    for when, kind, parent in [
        (0.25, "jpg", photos),
        (3, "pxl", None),
        (8, "mp4", photos),
        (16, "heic", None),
        (28.5, "mov", None),
    ]:
        item = upload("alice", kind, days(when + rng.uniform(35, 300)), parent=parent)
        trash_plan.append((days(when), "alice", item))
    for kind in ("jpg", "jpg", "pxl"):  # trashed only through their folder
        upload("alice", kind, days(rng.uniform(60, 75)), parent=holiday)
    trash_plan.append((days(12), "alice", holiday))
    tax = fake.add_file(
        "alice",
        "Tax return 2024.pdf",
        PDF_MIME,
        parent=documents.id,
        created=days(190),
        size=412_733,
    )
    packing = fake.add_file("alice", "Packing list", DOC_MIME, created=days(95), size=3_120)
    trash_plan += [(days(5), "alice", tax), (days(20), "alice", packing)]

    upload("Family", "jpg", days(150), by="alice")  # kept
    upload("Family", "heic", days(210), by="dad@example.com")  # kept
    for when, kind, uploader, trasher in [
        (1, "pxl", "alice", "alice"),
        (9, "mp4", "dad@example.com", "dad@example.com"),
        (18, "heic", "alice", "dad@example.com"),
        (26, "mp4", "alice", "alice"),
    ]:
        item = upload("Family", kind, days(when + rng.uniform(40, 200)), by=uploader)
        trash_plan.append((days(when), trasher, item))

    upload("Running Club", "jpg", days(120), by="coach@example.com")  # kept
    race = upload("Running Club", "jpg", days(33), by="coach@example.com")
    trash_plan.append((days(4), "coach@example.com", race))

    # -- bob -------------------------------------------------------------------------------------
    fake.add_account(
        "bob",
        email="bob@example.com",
        display_name="Bob Lee",
        activity=False,
        created=days(1500),
        token_expired=True,
    )
    upload("bob", "jpg", days(90))  # kept
    upload("bob", "mp4", days(140))  # kept
    for when, kind in [(2, "pxl"), (7, "mp4"), (13, "jpg"), (21, "heic"), (27, "mov")]:
        item = upload("bob", kind, days(when + rng.uniform(31, 250)))
        trash_plan.append((days(when), "bob", item))
    lease = fake.add_file("bob", "Lease agreement.pdf", PDF_MIME, created=days(400), size=1_204_551)
    trash_plan.append((days(10), "bob", lease))

    for when, who, item in sorted(trash_plan, key=lambda entry: entry[0]):
        fake.trash(who, item.id, when)
    return list(SEEDED_ACCOUNTS)
