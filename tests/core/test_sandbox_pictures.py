"""The sandbox's pictures are real images, deterministic, and sized as each API asks."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from trashscan.sandbox import pictures


@pytest.mark.parametrize(
    ("name", "fmt"),
    [
        ("IMG_0001.jpg", "JPEG"),
        ("Strand.PNG", "PNG"),
        ("IMG_0004.heic", "JPEG"),  # a JPEG body under a HEIC name unless real_heic
        ("anim.gif", "GIF"),
        ("x.webp", "WEBP"),
    ],
)
def test_photo_content_is_a_decodable_picture_of_its_format(name: str, fmt: str) -> None:
    image = Image.open(io.BytesIO(pictures.content(name, "k")))
    image.load()
    assert (image.format, image.size) == (fmt, pictures.PHOTO_SIZE)


def test_content_is_deterministic_and_keyed() -> None:
    one = pictures.content("IMG_0001.jpg", "2024")
    pictures.content.cache_clear()
    assert pictures.content("IMG_0001.jpg", "2024") == one
    assert pictures.content("IMG_0001.jpg", "2023") != one  # same name, another photo


def test_video_content_is_an_iso_bmff_placeholder_holding_a_poster() -> None:
    data = pictures.content("clip.mov", "k")
    assert data[4:12] == b"ftypqt  "
    poster = data[data.index(b"mdat") + 4 :]
    assert Image.open(io.BytesIO(poster)).format == "JPEG"


def test_portrait_pictures_are_taller_than_wide() -> None:
    image = Image.open(io.BytesIO(pictures.content("IMG_1.jpg", "k", portrait=True)))
    assert image.size == (240, 320)


@pytest.mark.parametrize(
    ("box", "mode", "size"),
    [
        ((96, 96), "fit", (96, 72)),
        ((240, 320), "fit", (240, 180)),
        ((240, 320), "bestfit", (320, 240)),  # the box's transpose fits better
        ((96, 96), "cover", (128, 96)),
        ((96, 96), "crop", (96, 96)),
        ((800, 400), "crop", (320, 160)),  # never enlarged: the box's shape, cut from the source
        ((2048, 1536), "fit", (320, 240)),  # never enlarged
        ((10, 10), "original", (320, 240)),
    ],
)
def test_thumbnails_have_the_size_their_mode_gives(
    box: tuple[int, int], mode: pictures.ThumbMode, size: tuple[int, int]
) -> None:
    data = pictures.thumbnail("IMG_0001.jpg", "k", box=box, mode=mode)
    assert Image.open(io.BytesIO(data)).size == size
    assert pictures.fitted_size(pictures.PHOTO_SIZE, box, mode) == size


def test_padded_content_keeps_its_size_and_stays_decodable() -> None:
    data = pictures.padded(pictures.content("IMG_0001.jpg", "k"), 50_000)
    assert len(data) == 50_000
    Image.open(io.BytesIO(data)).load()
    assert pictures.padded(b"abcdef", 3) == b"abc"
