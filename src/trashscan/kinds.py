"""Deciding whether an item is a photo or a video.

Providers report a mime type, an extension, or both; some report neither reliably (Dropbox,
the freedesktop trash). Mime type wins when it is specific; the extension is the fallback.
"""

from __future__ import annotations

import mimetypes
from pathlib import PurePosixPath

from trashscan.models import Kind

PHOTO_EXTENSIONS = frozenset(
    {
        ".jpg", ".jpeg", ".jpe", ".png", ".gif", ".bmp", ".tif", ".tiff", ".webp", ".heic", ".heif",
        ".avif", ".jxl", ".dng", ".raw", ".cr2", ".cr3", ".nef", ".arw", ".orf", ".rw2", ".raf",
        ".srw", ".pef", ".svg",
    }
)  # fmt: skip
VIDEO_EXTENSIONS = frozenset(
    {
        ".mp4", ".m4v", ".mov", ".qt", ".avi", ".mkv", ".webm", ".wmv", ".mpg", ".mpeg", ".3gp",
        ".3g2", ".mts", ".m2ts", ".ts", ".flv", ".ogv", ".insv", ".hevc",
    }
)  # fmt: skip


# Types the stdlib table lacks on some platforms.
_EXTRA_MIME_TYPES = {
    ".heic": "image/heic",
    ".heif": "image/heif",
    ".avif": "image/avif",
    ".dng": "image/x-adobe-dng",
    ".webp": "image/webp",
    ".mts": "video/mp2t",
    ".m2ts": "video/mp2t",
    ".mkv": "video/x-matroska",
}


def classify(name: str | None, mime_type: str | None = None) -> Kind:
    if mime_type:
        major = mime_type.split("/", 1)[0].lower()
        if major == "image":
            return Kind.PHOTO
        if major == "video":
            return Kind.VIDEO
    suffix = PurePosixPath(name or "").suffix.lower()
    if suffix in PHOTO_EXTENSIONS:
        return Kind.PHOTO
    if suffix in VIDEO_EXTENSIONS:
        return Kind.VIDEO
    return Kind.OTHER


def guess_mime_type(name: str) -> str | None:
    """A mime type from the file name, for providers that report none."""
    suffix = PurePosixPath(name).suffix.lower()
    if suffix in _EXTRA_MIME_TYPES:
        return _EXTRA_MIME_TYPES[suffix]
    return mimetypes.guess_type(f"x{suffix}", strict=False)[0]
