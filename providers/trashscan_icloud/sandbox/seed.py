"""The iCloud sandbox's seeded account and the bulk generator for benchmarks.

Seeded account ``grace`` (``grace@example.com``), times relative to the seed's ``now``:

Photos library (``PrimarySync``): 33 assets.

* 25 in Recently Deleted, deleted between 10 minutes and 29 days 20 hours ago (evenly spread), so
  the soonest purge (``dateExpunged`` = deletion + 30 days) is about 4 hours away: 10 HEIC
  photos, 3 JPEG photos, 1 PNG screenshot, 4 Live Photos (HEIC + MOV companion) and 7 videos
  (6 MOV, 1 MP4). Two of the HEIC photos share a file name (a re-imported duplicate), so
  file names are not identities (24 distinct names).
* 8 live (not deleted) assets: 5 HEIC photos, 1 JPEG, 1 Live Photo, 1 MOV video.
* Each has real content (:func:`trashscan.sandbox.pictures.content`: a 320x240 picture, or
  240x320 for the portrait screenshot, with the file name drawn on it; HEIC names carry a JPEG
  body, videos a placeholder holding a poster), so ``size`` and the master's checksum are of
  the bytes a download returns, and ``resJPEGThumbRes`` is a real JPEG thumbnail of it.

iCloud Drive: folders ``Camera Uploads`` (``IMG_0420.JPG``, ``IMG_0500.JPG``), ``Videos``
(``clip.mov``) and ``Documents`` (``notes.txt``), and 4 items in Recently Deleted:
``IMG_0420.JPG`` (deleted 20 days ago from ``Camera Uploads``; its restore path is taken by the
live ``IMG_0420.JPG`` re-imported 5 days ago), ``IMG_0533.HEIC`` (3 days ago, ``Camera
Uploads``), ``beach.mov`` (11 days ago, ``Videos``) and ``Tax return 2023.pdf`` (27 days ago,
``Documents``): 3 photos/videos and 1 document.

:meth:`ICloudFake.between_scans` (``trashscan demo``) then deletes 2 of the live photos and
``Camera Uploads/IMG_0500.JPG``: 27 deleted assets and 5 drive trash items afterwards.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from trashscan.sandbox import pictures
from trashscan_icloud.sandbox.model import Account, DriveItem, PhotoAsset

__all__ = ["GRACE", "KINDS", "SeedManifest", "bulk_deleted", "seed_grace"]

GRACE = {
    "name": "grace",
    "apple_id": "grace@example.com",
    "password": "grace-sandbox-Pa55word",
    "first_name": "Grace",
    "last_name": "Hopper",
}

# kind -> (extension, UTI, width, height, smallest size, largest size)
KINDS: dict[str, tuple[str, str, int, int, int, int]] = {
    "heic": ("HEIC", "public.heic", 4032, 3024, 1_400_000, 4_600_000),
    "jpg": ("JPG", "public.jpeg", 4032, 3024, 2_000_000, 5_200_000),
    "png": ("PNG", "public.png", 1179, 2556, 700_000, 2_100_000),
    "live": ("HEIC", "public.heic", 4032, 3024, 1_500_000, 3_900_000),
    "mov": ("MOV", "com.apple.quicktime-movie", 1920, 1080, 6_000_000, 64_000_000),
    "mp4": ("mp4", "public.mpeg-4", 1280, 720, 4_000_000, 22_000_000),
}
DELETED_KINDS = ["heic"] * 10 + ["jpg"] * 3 + ["png"] + ["live"] * 4 + ["mov"] * 6 + ["mp4"]
LIVE_KINDS = ["heic"] * 5 + ["jpg", "live", "mov"]


class Seedable(Protocol):
    """What seeding asks of the fake (:class:`.fake.ICloudFake` has it): the fake imports this
    module, never the other way round."""

    def add_account(
        self,
        name: str,
        *,
        apple_id: str | None = ...,
        password: str | None = ...,
        first_name: str | None = ...,
        last_name: str = ...,
        two_factor: bool = ...,
        trust_on_first_login: bool = ...,
    ) -> Account: ...

    def add_photo(
        self,
        account: str,
        filename: str,
        *,
        uti: str = ...,
        size: int = ...,
        width: int = ...,
        height: int = ...,
        asset_date: datetime | None = ...,
        added_date: datetime | None = ...,
        live_video_size: int | None = ...,
        deleted_at: datetime | None = ...,
        unique: object = ...,
        content: bytes | None = ...,
    ) -> PhotoAsset: ...

    def delete_photo(self, account: str, asset_id: str, at: datetime | None = ...) -> None: ...

    def add_drive_file(
        self, account: str, path: str, size: int, at: datetime | None = ...
    ) -> DriveItem: ...

    def trash_drive_item(
        self, account: str, drivewsid: str, at: datetime | None = ...
    ) -> DriveItem: ...


@dataclass
class SeedManifest:
    """What was seeded for one account, for tests and the report."""

    deleted_assets: list[str] = field(default_factory=list)  # CPLAsset recordNames
    live_assets: list[str] = field(default_factory=list)
    drive_trash: list[str] = field(default_factory=list)  # drivewsids
    drive_files: list[str] = field(default_factory=list)
    taken_restore_path: str | None = None  # drivewsid of the trashed item whose path is taken
    between_scans_done: bool = False


def _filename(kind: str, number: int, when: datetime) -> str:
    extension = KINDS[kind][0]
    if kind == "mp4":
        return f"VID_{when:%Y%m%d_%H%M%S}.{extension}"
    return f"IMG_{number:04d}.{extension}"


def _add(
    fake: Seedable,
    account: str,
    kind: str,
    number: int,
    asset_date: datetime,
    rng: random.Random,
    *,
    filename: str | None = None,
) -> str:
    _ext, uti, width, height, low, high = KINDS[kind]
    asset = fake.add_photo(
        account,
        filename or _filename(kind, number, asset_date),
        uti=uti,
        size=rng.randrange(low, high),
        width=width,
        height=height,
        asset_date=asset_date,
        added_date=asset_date + timedelta(seconds=rng.randrange(20, 900)),
        live_video_size=rng.randrange(1_200_000, 3_400_000) if kind == "live" else None,
        unique=number,
        # A real picture (a poster for videos): thumbnails, downloads and checksums agree.
        content=pictures.content(
            filename or _filename(kind, number, asset_date),
            f"icloud:{account}:{number}",
            portrait=height > width,
        ),
    )
    return asset.asset_id


def seed_grace(fake: Seedable, now: datetime) -> SeedManifest:
    """Create ``grace`` with 2FA on and trusted (see :class:`.fake.ICloudFake`
    for how the trust is modelled), her Photos library and her iCloud Drive."""
    fake.add_account(
        GRACE["name"],
        apple_id=GRACE["apple_id"],
        password=GRACE["password"],
        first_name=GRACE["first_name"],
        last_name=GRACE["last_name"],
        two_factor=True,
        trust_on_first_login=True,
    )
    name = GRACE["name"]
    manifest = SeedManifest()
    rng = random.Random(20_240_601)
    kinds = list(DELETED_KINDS)
    rng.shuffle(kinds)
    first_heic = kinds.index("heic")
    duplicate = len(kinds) - 1 - kinds[::-1].index("heic")
    span = timedelta(days=29, hours=20) - timedelta(minutes=10)
    names: dict[int, str] = {}
    for index, kind in enumerate(kinds):
        deleted_at = now - timedelta(minutes=10) - span * index / (len(kinds) - 1)
        taken = deleted_at - timedelta(days=rng.randrange(1, 700), seconds=rng.randrange(86_400))
        number = 3000 + index * 7
        names[index] = _filename(kind, number, taken)
        filename = names[first_heic] if index == duplicate else None
        asset_id = _add(fake, name, kind, number, taken, rng, filename=filename)
        fake.delete_photo(name, asset_id, deleted_at)
        manifest.deleted_assets.append(asset_id)
    for index, kind in enumerate(LIVE_KINDS):
        taken = now - timedelta(days=rng.randrange(1, 400), seconds=rng.randrange(86_400))
        manifest.live_assets.append(_add(fake, name, kind, 4000 + index * 3, taken, rng))

    def days(n: float) -> datetime:
        return now - timedelta(days=n)

    live = [
        ("Camera Uploads/IMG_0500.JPG", 2_877_014, days(40)),
        ("Videos/clip.mov", 18_004_512, days(90)),
        ("Documents/notes.txt", 4_211, days(12)),
    ]
    trashed = [
        ("Camera Uploads/IMG_0420.JPG", 2_418_112, days(60), days(20)),
        ("Camera Uploads/IMG_0533.HEIC", 1_934_220, days(45), days(3)),
        ("Videos/beach.mov", 48_200_331, days(200), days(11)),
        ("Documents/Tax return 2023.pdf", 1_203_948, days(300), days(27)),
    ]
    for path, size, created in live:
        manifest.drive_files.append(fake.add_drive_file(name, path, size, created).drivewsid)
    for path, size, created, deleted in trashed:
        item = fake.add_drive_file(name, path, size, created)
        fake.trash_drive_item(name, item.drivewsid, deleted)
        manifest.drive_trash.append(item.drivewsid)
    # The photo deleted 20 days ago was imported again since: its restore path is taken.
    again = fake.add_drive_file(name, "Camera Uploads/IMG_0420.JPG", 2_401_877, days(5))
    manifest.drive_files.append(again.drivewsid)
    manifest.taken_restore_path = manifest.drive_trash[0]
    return manifest


def bulk_deleted(
    fake: Seedable, account: str, n: int, now: datetime, *, seed: int = 0
) -> list[str]:
    """``n`` more photos/videos in ``account``'s Recently Deleted (benchmarks), deleted evenly
    over the last 29.9 days: 80 % HEIC photos, 10 % Live Photos, 10 % MOV videos. Returns their
    CPLAsset record names."""
    rng = random.Random(seed)
    ids: list[str] = []
    span = timedelta(days=29.9)
    for index in range(n):
        kind = "mov" if index % 10 == 9 else "live" if index % 10 == 4 else "heic"
        deleted_at = now - span * (index + 0.5) / n
        taken = deleted_at - timedelta(days=rng.randrange(1, 1500))
        number = 10_000 + seed * 1_000_000 + index
        _ext, uti, width, height, low, high = KINDS[kind]
        asset = fake.add_photo(
            account,
            f"IMG_{number}.{KINDS[kind][0]}",
            uti=uti,
            size=rng.randrange(low, high),
            width=width,
            height=height,
            asset_date=taken,
            added_date=taken + timedelta(seconds=60),
            live_video_size=2_000_000 if kind == "live" else None,
            unique=("bulk", seed, index),
        )
        fake.delete_photo(account, asset.asset_id, deleted_at)
        ids.append(asset.asset_id)
    return ids
