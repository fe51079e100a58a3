"""The local-trash sandbox's trashed photos are real pictures, its videos small placeholders.

A freedesktop trash keeps the file itself (``Trash/files/``), so a client's thumbnail is the file
resized (next-wave.md §1). Here the client is Pillow reading those files.
"""

from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

import pytest
from PIL import Image

from trashscan.sandbox import pictures
from trashscan_local_trash.sandbox.fake import LocalTrashFake

PHOTOS = {".jpg", ".jpeg", ".png", ".heic"}
VIDEOS = {".mp4", ".mov"}


@pytest.fixture
def trashed(tmp_path: Path) -> list[Path]:
    tables = LocalTrashFake().seed(tmp_path, datetime.now(UTC))
    files = [Path(d) / "files" for t in tables for d in t["trash_dirs"]]
    return sorted(p for root in files for p in root.rglob("*") if p.is_file())


def _open(data: bytes) -> Image.Image:
    try:  # a real HEIF when pillow-heif is installed (what the thumbnail cache reads it with)
        import pillow_heif  # type: ignore[import-not-found]

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def test_trashed_photos_are_distinct_decodable_pictures(trashed: list[Path]) -> None:
    photos = [p for p in trashed if p.suffix.lower() in PHOTOS]
    assert len(photos) >= 9 and {p.suffix.lower() for p in photos} == {".jpg", ".png", ".heic"}
    for photo in photos:
        image = _open(photo.read_bytes())
        assert image.size == pictures.PHOTO_SIZE
        thumb = image.copy()
        thumb.thumbnail((256, 256))  # what a client's cache does with it
        assert thumb.size == (256, 192)
    same_name = [p.read_bytes() for p in photos if p.name in {"IMG_0001.jpg", "IMG_0001.2.jpg"}]
    assert len(same_name) == 2 and same_name[0] != same_name[1]  # two photos, one name


def test_trashed_videos_are_small_placeholders_with_a_poster(trashed: list[Path]) -> None:
    videos = [p for p in trashed if p.suffix.lower() in VIDEOS]
    assert len(videos) == 3
    for video in videos:
        data = video.read_bytes()
        assert data[4:8] == b"ftyp" and len(data) < 64 * 1024
        poster = pictures.decode(data)
        assert poster is not None and poster.size == pictures.PHOTO_SIZE
