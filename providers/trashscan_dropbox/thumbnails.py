"""Pictures of deleted Dropbox photos: a thumbnail of the file's last revision.

A deleted file has no path to ask about, but its last live revision (``rev`` in the restore
handle, from ``list_revisions``) does: ``files/get_thumbnail_v2`` takes a ``PathOrLink`` whose
path is a ``ReadPath``, which the spec lets be ``rev:<rev>`` (its own example is
``rev:a1c10ce0dd78``). One request per photo, on the content host, scope ``files.content.read``;
the answer's body is the JPEG.

What Dropbox renders: jpg, jpeg, png, tiff, tif, gif, webp, ppm and bmp, under 20 MB (the route's
documentation). Other photos (HEIC, RAW) are downloaded instead (``files/download`` of the same
``rev:`` path) and resized here, when they are not larger than :data:`DOWNLOAD_MAX`; videos get
no request (Dropbox makes no thumbnail of them): the core shows the video placeholder.

A refusal about the file (``path/not_found``, an unsupported or unconvertible image) means there
is no picture of this revision: a placeholder, not asked again. A missing scope means the account
signed in before trashscan asked for ``files.content.read``: the account's pictures stop for this
run with one line saying to sign in again.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from pathlib import PurePosixPath

from dropbox import exceptions as dbx
from dropbox import files

from trashscan.errors import AuthError, TrashscanError
from trashscan.models import IndexedItem, Kind, Thumbnail
from trashscan_dropbox.client import DropboxSession, error_tag

log = logging.getLogger(__name__)

THUMBNAIL_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".tiff", ".tif", ".gif", ".webp", ".ppm", ".bmp"}
)
THUMBNAIL_MAX = 20 * 1024 * 1024  # "Photos that are larger than 20MB in size won't be converted"
DOWNLOAD_MAX = 25 * 1024 * 1024  # a HEIC or RAW larger than this gets a placeholder
NO_REVISION = "Dropbox lists no earlier version of it to show"


def _revision(item: IndexedItem) -> str | None:
    rev = (item.restore_handle or {}).get("rev")
    return rev if isinstance(rev, str) and rev else None


def thumbnails(session: DropboxSession, items: Sequence[IndexedItem]) -> Iterator[Thumbnail]:
    """One answer per item, one request at a time (see the module docstring)."""
    for item in items:
        rev = _revision(item)
        suffix = PurePosixPath(item.name).suffix.lower()
        if item.kind is Kind.VIDEO:
            yield Thumbnail(item.item_id, missing="Dropbox makes no thumbnail of a video")
            continue
        if rev is None:
            yield Thumbnail(item.item_id, missing=NO_REVISION)
            continue
        rendered = suffix in THUMBNAIL_EXTENSIONS and (item.size or 0) <= THUMBNAIL_MAX
        if not rendered and (item.size is None or item.size > DOWNLOAD_MAX):
            yield Thumbnail(item.item_id, missing="too large to download for a picture")
            continue
        try:
            data = _thumbnail(session, rev) if rendered else _download(session, rev)
        except AuthError:
            raise
        except dbx.ApiError as exc:
            tag = error_tag(exc)
            if tag.startswith("other"):
                yield Thumbnail(item.item_id, error=f"Dropbox refused its thumbnail ({tag})")
            else:  # path/not_found, unsupported_image, conversion_error, ...: none for this rev
                log.info("no Dropbox thumbnail of %s: %s", item.item_id, tag)
                yield Thumbnail(item.item_id, missing=f"Dropbox has no thumbnail of it ({tag})")
            continue
        except TrashscanError as exc:
            yield Thumbnail(item.item_id, error=exc.one_line())
            continue
        yield Thumbnail(item.item_id, data=data)


def _thumbnail(session: DropboxSession, rev: str) -> bytes:
    def call() -> bytes:
        _meta, response = session.client.files_get_thumbnail_v2(
            files.PathOrLink.path(f"rev:{rev}"),
            format=files.ThumbnailFormat.jpeg,
            size=files.ThumbnailSize.w256h256,
            mode=files.ThumbnailMode.strict,
        )
        try:
            return response.content
        finally:
            response.close()

    return session.read(call, "files/get_thumbnail_v2")


def _download(session: DropboxSession, rev: str) -> bytes:
    def call() -> bytes:
        _meta, response = session.client.files_download(f"rev:{rev}")
        try:
            return response.content
        finally:
            response.close()

    return session.read(call, "files/download")
