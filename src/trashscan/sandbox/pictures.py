"""Real small pictures for the sandbox fakes: the bytes of seeded photos, and their thumbnails.

The fakes serve thumbnails and downloads the way each provider's API does, so the demo, the UI
and the tests must get *pictures* back, not placeholders a decoder rejects. Every picture here is
a real image that Pillow (and a browser) decodes: a two-colour gradient with a sun, a hill and the
file name written on it, so each seeded photo is recognisable in a gallery. Videos get a poster
of the same kind with a "play" triangle.

Everything is deterministic: the same ``(name, key)`` gives the same bytes in every run, so the
content hashes a fake derives from them (Drive ``md5Checksum``, Dropbox ``content_hash``,
OneDrive ``quickXorHash`` ...) are stable. ``key`` tells apart two photos that share a file name
(``IMG_0001.jpg`` of two different years); two items given the same name and key are the same
picture, i.e. real duplicates. Results are cached per process, so seeding many fakes in one
process (the test suite, ``trashscan demo``) draws each picture once.

What the bytes are, by extension:

* ``.jpg``/``.jpeg``: JPEG; ``.png``: PNG; ``.gif``, ``.webp``, ``.bmp``, ``.tif(f)``: those
  formats;
* ``.heic``/``.heif``: a real HEIF image when ``real_heic=True`` and pillow-heif is installed,
  otherwise a **JPEG body under a HEIC name** (encoding HEIF costs ~50 ms a picture; the cloud
  fakes serve thumbnails as JPEG anyway, so only a download reveals it);
* videos (``.mp4``, ``.mov``, ...): a tiny ISO base media file (``ftyp`` box with the format's
  brand, a ``free`` box saying what it is, an ``mdat`` box holding the poster JPEG). It has the
  right magic number but is **not playable**; no encoder is needed to make it.

Pillow is imported on first use only, so importing this module costs nothing.
"""

from __future__ import annotations

import hashlib
import io
import struct
from functools import lru_cache
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Literal

if TYPE_CHECKING:
    from PIL.Image import Image

__all__ = [
    "PHOTO_EXTENSIONS",
    "PHOTO_SIZE",
    "VIDEO_EXTENSIONS",
    "ThumbMode",
    "content",
    "decode",
    "fitted_size",
    "media_kind",
    "padded",
    "source_size",
    "thumbnail",
]

PHOTO_SIZE = (320, 240)  # landscape source picture; portrait ones are (240, 320)
PHOTO_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".heic", ".heif", ".gif", ".webp", ".bmp", ".tif", ".tiff"}
)
_VIDEO_BRANDS = {
    ".mp4": b"mp42",
    ".m4v": b"M4V ",
    ".mov": b"qt  ",
    ".3gp": b"3gp4",
    ".avi": b"isom",  # an AVI is RIFF, not ISO-BMFF; the placeholder is an MP4 body regardless
    ".mkv": b"isom",
}
VIDEO_EXTENSIONS = frozenset(_VIDEO_BRANDS)
_FORMATS = {
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".heic": "JPEG",
    ".heif": "JPEG",
    ".png": "PNG",
    ".gif": "GIF",
    ".webp": "WEBP",
    ".bmp": "BMP",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}

# fit: inside the box, aspect kept. bestfit: inside the box or its transpose, whichever is
# larger. cover: cover the box (or its transpose, matching the picture's orientation), aspect
# kept, nothing cropped. crop: fill the box exactly, the overflow cut off around the centre.
# original: the source size.
ThumbMode = Literal["fit", "bestfit", "cover", "crop", "original"]


def _suffix(name: str) -> str:
    return PurePosixPath(name).suffix.lower()


def media_kind(name: str) -> Literal["photo", "video"] | None:
    """``photo`` or ``video`` by extension, None for anything else (documents)."""
    suffix = _suffix(name)
    if suffix in PHOTO_EXTENSIONS:
        return "photo"
    if suffix in VIDEO_EXTENSIONS:
        return "video"
    return None


def source_size(portrait: bool = False) -> tuple[int, int]:
    """Pixel size of the picture :func:`content` encodes (and thumbnails are cut from)."""
    width, height = PHOTO_SIZE
    return (height, width) if portrait else (width, height)


def _colours(name: str, key: str) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    digest = hashlib.sha256(f"{key}\x1f{name}".encode()).digest()
    # Keep the colours mid-bright so white writing stays readable on every picture.
    first = tuple(40 + b * 160 // 255 for b in digest[0:3])
    second = tuple(40 + b * 160 // 255 for b in digest[3:6])
    return first, second  # type: ignore[return-value]


@lru_cache(maxsize=8)
def _gradient(width: int, height: int) -> Image:
    from PIL import Image

    return Image.linear_gradient("L").rotate(45).resize((width, height))


@lru_cache(maxsize=8)
def _gradient_rgb(width: int, height: int) -> Image:
    from PIL import Image

    mask = _gradient(width, height)
    return Image.merge("RGB", [mask, mask, mask])


@lru_cache(maxsize=16)
def _font(size: int) -> object:
    from PIL import ImageFont

    try:
        return ImageFont.load_default(size=size)
    except (TypeError, OSError):  # Pillow without FreeType: the fixed bitmap font
        return ImageFont.load_default()


@lru_cache(maxsize=64)
def _picture(name: str, key: str, portrait: bool, video: bool) -> Image:
    """The source picture of ``name`` (not to be mutated: callers copy it)."""
    from PIL import Image, ImageDraw

    width, height = source_size(portrait)
    first, second = _colours(name, key)
    # One lookup table for the three bands (first colour at 0, second at 255): a single pass.
    lut = [first[i] + (second[i] - first[i]) * v // 255 for i in range(3) for v in range(256)]
    image = _gradient_rgb(width, height).point(lut)
    draw = ImageDraw.Draw(image)
    unit = min(width, height)
    sun = (int(width * 0.68), int(height * 0.12))
    draw.ellipse((*sun, sun[0] + unit // 5, sun[1] + unit // 5), fill=(255, 226, 120))
    hill = [(0, height), (0, int(height * 0.72)), (int(width * 0.35), int(height * 0.5))]
    hill += [(int(width * 0.7), int(height * 0.7)), (width, int(height * 0.6)), (width, height)]
    draw.polygon(hill, fill=tuple(c // 2 for c in second))
    if video:
        cx, cy, r = width // 2, height // 2, unit // 7
        draw.ellipse((cx - 2 * r, cy - 2 * r, cx + 2 * r, cy + 2 * r), fill=(0, 0, 0))
        draw.polygon([(cx - r + 4, cy - r), (cx - r + 4, cy + r), (cx + r + 4, cy)], fill="white")
    label = name if len(name) <= 34 else name[:15] + "…" + name[-16:]
    margin = unit // 20
    size = max(10, unit // 12)
    font = _font(size)
    while size > 8 and draw.textlength(label, font=font) > width - 2 * margin:  # type: ignore[arg-type]
        size -= 1
        font = _font(size)
    spot = (margin, height - unit // 8 - margin)
    # Render the text once, then stamp it twice (a shadow, then white): half the font work.
    *_, right, bottom = font.getbbox(label)  # type: ignore[attr-defined]
    stamp = Image.new("L", (max(1, right), max(1, bottom)))
    ImageDraw.Draw(stamp).text((0, 0), label, font=font, fill=255)  # type: ignore[arg-type]
    image.paste((0, 0, 0), (spot[0] + 1, spot[1] + 1), stamp)
    image.paste((255, 255, 255), spot, stamp)
    return image


def _encode(image: Image, fmt: str) -> bytes:
    buffer = io.BytesIO()
    if fmt == "JPEG":
        image.save(buffer, "JPEG", quality=85)
    elif fmt == "PNG":
        image.save(buffer, "PNG", compress_level=1)
    elif fmt == "WEBP":
        image.save(buffer, "WEBP", quality=80)
    elif fmt == "GIF":
        image.convert("P", palette=1, colors=64).save(buffer, "GIF")  # 1 = Palette.ADAPTIVE
    else:
        image.save(buffer, fmt)
    return buffer.getvalue()


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload) + 8) + kind + payload


def _heif(image: Image) -> bytes | None:
    try:
        import pillow_heif  # type: ignore[import-not-found]
    except ImportError:
        return None
    heif = pillow_heif.from_pillow(image)
    buffer = io.BytesIO()
    heif.save(buffer, quality=60)
    return buffer.getvalue()


@lru_cache(maxsize=4096)
def content(name: str, key: str = "", *, portrait: bool = False, real_heic: bool = False) -> bytes:
    """The file ``name`` is, as a download returns it (see the module docstring); None-media
    names (documents) get a short text body."""
    kind = media_kind(name)
    suffix = _suffix(name)
    if kind is None:
        return f"trashscan sandbox document {name} ({key})\n".encode()
    image = _picture(name, key, portrait, kind == "video")
    if kind == "video":
        brand = _VIDEO_BRANDS[suffix]
        ftyp = _box(b"ftyp", brand + b"\0\0\0\0" + brand + b"isom")
        note = f"trashscan sandbox placeholder video {name}: a poster JPEG, not playable".encode()
        return ftyp + _box(b"free", note) + _box(b"mdat", _encode(image, "JPEG"))
    if real_heic and suffix in {".heic", ".heif"}:
        heif = _heif(image)
        if heif is not None:
            return heif
    return _encode(image, _FORMATS[suffix])


def padded(data: bytes, size: int) -> bytes:
    """``data`` stretched (or cut) to exactly ``size`` bytes: for items declared with a size
    but no content (bulk benchmark data, test seams), whose downloads must still match the
    size their metadata states. Padding after a JPEG's end marker keeps it decodable."""
    if len(data) >= size:
        return data[:size]
    filler = hashlib.sha256(data[:64]).digest() * 64  # 2 KiB, deterministic
    missing = size - len(data)
    return data + (filler * (missing // len(filler) + 1))[:missing]


def fitted_size(
    source: tuple[int, int], box: tuple[int, int], mode: ThumbMode, *, upscale: bool = False
) -> tuple[int, int]:
    """The pixel size a thumbnail of a ``source``-sized picture gets for ``box`` in ``mode``
    (pure arithmetic: listings state thumbnail sizes without drawing them)."""
    width, height = source
    box_w, box_h = box
    if mode == "original":
        return width, height
    if mode == "crop":
        shrink = min(width / box_w, height / box_h)
        if upscale or shrink >= 1:
            return box_w, box_h
        return max(1, round(box_w * shrink)), max(1, round(box_h * shrink))  # the box's shape
    if mode in {"bestfit", "cover"} and (box_w >= box_h) != (width >= height):
        box_w, box_h = box_h, box_w  # the box's transpose matches the picture's orientation
    fit = min(box_w / width, box_h / height)
    scale = max(box_w / width, box_h / height) if mode == "cover" else fit
    if not upscale:
        scale = min(scale, 1.0)
    return max(1, round(width * scale)), max(1, round(height * scale))


def decode(data: bytes) -> Image | None:
    """The picture in ``data``: an image file, or the poster inside one of :func:`content`'s
    placeholder videos; None when it holds no picture Pillow can read."""
    from PIL import Image, UnidentifiedImageError

    if data[4:8] == b"ftyp" and b"mdat" in data and data[8:12] not in {b"heic", b"heix", b"mif1"}:
        data = data[data.index(b"mdat") + 4 :]
    try:
        import pillow_heif  # type: ignore[import-not-found]

        pillow_heif.register_heif_opener()
    except ImportError:
        pass
    try:
        image = Image.open(io.BytesIO(data))
        image.load()
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None
    return image.convert("RGB")


@lru_cache(maxsize=2048)
def thumbnail(
    name: str,
    key: str = "",
    *,
    box: tuple[int, int],
    mode: ThumbMode = "fit",
    fmt: Literal["JPEG", "PNG", "WEBP"] = "JPEG",
    portrait: bool = False,
    upscale: bool = False,
    data: bytes | None = None,
) -> bytes:
    """A thumbnail as the API would make it: resized for ``box`` in ``mode`` and encoded as
    ``fmt``, cut from the picture in ``data`` (an item's content, when it holds one) or else
    from ``name``'s own picture (its video poster for videos)."""
    from PIL import Image

    source = decode(data) if data is not None else None
    if source is None:
        source = _picture(name, key, portrait, media_kind(name) == "video")
    target = fitted_size(source.size, box, mode, upscale=upscale)
    if mode == "crop":
        scale = max(target[0] / source.width, target[1] / source.height)
        resized = source.resize(
            (max(1, round(source.width * scale)), max(1, round(source.height * scale))),
            Image.Resampling.LANCZOS,
        )
        left = max(0, (resized.width - target[0]) // 2)
        top = max(0, (resized.height - target[1]) // 2)
        image = resized.crop((left, top, left + target[0], top + target[1]))
    elif target == source.size:
        image = source.copy()
    else:
        image = source.resize(target, Image.Resampling.LANCZOS)
    return _encode(image, fmt)
