"""The pictures an alert carries: the cached thumbnails of the items it lists, as attachments.

A person told "IMG_3014.HEIC will be purged in 2 days" decides faster on seeing it, so a message
about items due carries the pictures of the most urgent ones (:data:`MAX_PICTURES`, then "and N
more") and says how to see them all (:data:`UI_LINE`).

Only pictures already in the thumbnail cache are attached: sending never asks a provider (its
thumbnail links expire and some need credentials, see :mod:`trashscan.thumbnails`). A missing
picture is simply not attached. What the cache holds was re-encoded by trashscan, but it is read
back as data all the same: only a JPEG or WebP no larger than :data:`MAX_PICTURE_BYTES` is sent,
which keeps a JSON webhook's payload bounded (Apprise puts each picture in it as base64).

An attachment is named after the item's ref (``1a2b3c4d.jpg``), never after the item: a name is
chosen by whoever trashed the file (``../../x.jpg``, control characters), and a mail reader or a
webhook receiver may save attachments under their names. The message lists which item each file
shows. Apprise's plugins read attachments from files, so they are written, 0600, into a folder of
their own (0700, from :func:`tempfile.mkdtemp`) that is removed once the message is sent.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from trashscan.files import PRIVATE_FILE
from trashscan.models import SHORT_REF_LEN, IndexedItem, Kind

MAX_PICTURES = 12  # a dozen, the most urgent; the rest are "N more"
MAX_PICTURE_BYTES = 64 * 1024  # a cached thumbnail is a few KB; anything larger is not ours
UI_LINE = "See them: trashscan ui"  # how to see every picture (the local gallery)
PICTURED_KINDS = frozenset({Kind.PHOTO, Kind.VIDEO})  # what the thumbnail cache holds pictures of

_TYPES = (  # magic number, extension, MIME type
    (b"\xff\xd8\xff", ".jpg", "image/jpeg"),
    (b"RIFF", ".webp", "image/webp"),  # and "WEBP" at offset 8, checked below
)


@dataclass(frozen=True, slots=True)
class Picture:
    """One attachment: ``filename`` is made of the ref only; ``item`` is what it shows."""

    item: IndexedItem
    filename: str
    data: bytes
    mimetype: str


def picture_type(data: bytes) -> tuple[str, str] | None:
    """(extension, MIME type) of a JPEG or WebP picture, else None; by its bytes, not a name."""
    for magic, extension, mimetype in _TYPES:
        if data.startswith(magic) and (extension != ".webp" or data[8:12] == b"WEBP"):
            return extension, mimetype
    return None


def choose(
    items: Sequence[IndexedItem],
    read: Callable[[IndexedItem], bytes | None],
    limit: int = MAX_PICTURES,
) -> tuple[tuple[Picture, ...], int]:
    """The pictures of ``items`` that ``read`` (the cache) has, soonest purge first, at most
    ``limit``; and how many photos and videos among ``items`` are not pictured (the "N more").

    ``read`` is asked once per photo or video until ``limit`` pictures are found, never for a
    document (the cache holds no picture of one)."""
    pictured = [item for item in items if item.kind in PICTURED_KINDS]
    pictured.sort(key=lambda item: (item.purge_at is None, item.purge_at or 0))
    chosen: list[Picture] = []
    names: set[str] = set()
    for item in pictured:
        if len(chosen) >= limit:
            break
        data = read(item)
        if not data or len(data) > MAX_PICTURE_BYTES or (kind := picture_type(data)) is None:
            continue
        extension, mimetype = kind
        filename = f"{item.ref[:SHORT_REF_LEN]}{extension}"
        if filename in names:  # two refs sharing their short form: the full one
            filename = f"{item.ref}{extension}"
        names.add(filename)
        chosen.append(Picture(item, filename, data, mimetype))
    return tuple(chosen), len(pictured) - len(chosen)


@contextlib.contextmanager
def attachment_files(pictures: Sequence[Picture]) -> Iterator[list[Path]]:
    """Each picture as a file named :attr:`Picture.filename` in a new private folder, removed
    with everything in it when the block ends, however it ends."""
    folder = Path(tempfile.mkdtemp(prefix="trashscan-alert-"))  # 0700, a fresh name
    try:
        paths = []
        for picture in pictures:
            path = folder / picture.filename
            flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
            fd = os.open(path, flags, PRIVATE_FILE)
            with os.fdopen(fd, "wb") as handle:
                handle.write(picture.data)
            paths.append(path)
        yield paths
    finally:
        shutil.rmtree(folder, ignore_errors=True)
