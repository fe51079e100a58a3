"""Content-host reads of the Dropbox fake: thumbnails and downloads, old revisions included.

Routes (all on Dropbox's content host, scope ``files.content.read`` [files.stone route
attributes]):

* ``files/get_thumbnail_v2`` (download style: the argument in the ``Dropbox-API-Arg`` header or
  the ``arg`` URL parameter, the image as the body, ``PreviewResult`` JSON in the
  ``Dropbox-API-Result`` header). ``ThumbnailV2Arg``: ``resource`` is a ``PathOrLink`` whose
  ``path`` is a ``ReadPath`` (``/path``, ``id:...``, ``ns:...`` or ``rev:<rev>``, the spec's own
  example being ``"rev:a1c10ce0dd78"``); ``format`` jpeg (default) | png | webp; ``size``
  ``w32h32`` ... ``w2048h1536`` (default ``w64h64``); ``mode`` ``strict`` ("Scale
  down the image to fit within the given size", the default), ``bestfit`` ("... or its
  transpose"), ``fitone_bestfit`` ("Scale down the image to completely cover the given size or
  its transpose"), ``original`` ("Don't resize the image at all"); ``preserve_transparency``
  with jpeg is ``unsupported_output_format``. "This method currently supports files with the
  following file extensions: jpg, jpeg, png, tiff, tif, gif, webp, ppm and bmp. Photos that are
  larger than 20MB in size won't be converted to a thumbnail." So HEIC photos and videos get
  ``unsupported_extension`` (live Dropbox may do more; the fake follows the documented list),
  and an image over 20 MB ``unsupported_image`` (which tag the server uses is UNVERIFIED).
  ``PreviewResult.file_metadata`` is the file's ``FileMetadata`` "if the endpoint is called with
  a path"; shared links are not modelled (``not_found``: "The shared link does not exist.").
* ``files/get_thumbnail`` (v1, ``ThumbnailArg.path``, ``FileMetadata`` in the header) and
  ``files/get_thumbnail_batch`` (RPC on the content host: "up to 25 thumbnails in a single batch
  call", each entry a ``success`` with the base64 thumbnail or a ``failure`` with its
  ``ThumbnailError``; more than 25 is ``too_many_files``).
* ``files/download`` (``DownloadArg.path``, a ``ReadPath``; ``FileMetadata`` in the header, the
  bytes as the body). Revisions created without content serve
  :func:`trashscan.sandbox.pictures.padded` bytes of their ``size``.

A deleted file's revision (``rev:`` of the last revision before the deletion, what
``list_revisions`` gives): the spec allows ``rev:`` on every ``ReadPath`` and says nothing
against deleted files, so the fake serves it (next-wave.md §1 "Probably yes", UNVERIFIED on a
live account). The seam :attr:`ContentReads.deleted_revisions` set to ``"not_found"`` makes such
reads answer ``path/not_found`` instead, for clients that must cope if Dropbox refuses them. A
revision that is no longer restorable (past the recovery window) is gone: ``path/not_found``.

Thumbnails are cut from the revision's content (seeded photos are real pictures), otherwise
drawn for the file's name (:mod:`trashscan.sandbox.pictures`).
"""

from __future__ import annotations

import base64
from typing import Any, Literal

from dropbox import files

from trashscan.sandbox import pictures
from trashscan_dropbox.sandbox.model import Account, Revision
from trashscan_dropbox.sandbox.wire import RouteError

__all__ = ["THUMBNAIL_EXTENSIONS", "ContentReads"]

THUMBNAIL_EXTENSIONS = frozenset(
    {".jpg", ".jpeg", ".png", ".tiff", ".tif", ".gif", ".webp", ".ppm", ".bmp"}
)
MAX_THUMBNAIL_SOURCE = 20 * 1024 * 1024  # "Photos that are larger than 20MB ..."
MAX_BATCH = 25
_MODES: dict[str, pictures.ThumbMode] = {
    "strict": "fit",
    "bestfit": "bestfit",
    "fitone_bestfit": "cover",
    "original": "original",
}
_FORMATS: dict[str, Literal["JPEG", "PNG", "WEBP"]] = {
    "jpeg": "JPEG",
    "png": "PNG",
    "webp": "WEBP",
}


def _box(size: files.ThumbnailSize) -> tuple[int, int]:
    """``w640h480`` -> (640, 480)."""
    tag = size._tag
    width, _, height = tag[1:].partition("h")
    return int(width), int(height)


class ContentReads:
    """Resolves ``ReadPath``s to revisions and renders thumbnails and downloads."""

    def __init__(self) -> None:
        # What reading a deleted file's revision does: "served" (the spec allows it; default)
        # or "not_found" (as if Dropbox refused deleted files; UNVERIFIED either way).
        self.deleted_revisions: Literal["served", "not_found"] = "served"

    # -- ReadPath resolution ------------------------------------------------------------------

    def revision(self, account: Account, path: str, error: Any) -> Revision:
        """The revision a ``ReadPath`` names; ``error(LookupError...)`` wraps failures."""
        ns = account.namespace
        with ns.lock:
            if path.startswith("rev:"):
                revision = ns.revisions.get(path[4:])
                if revision is None or not revision.restorable:
                    raise RouteError(error(files.LookupError.not_found))
                deleted = revision.file_id not in ns.live_ids
                if deleted and self.deleted_revisions == "not_found":
                    raise RouteError(error(files.LookupError.not_found))
                return revision
            if path.startswith("id:"):
                key = ns.live_ids.get(path)
            else:
                if path in {"", "/"}:
                    raise RouteError(error(files.LookupError.not_file))
                key = path.lower()
                if key.startswith("ns:"):
                    ns_id, _, rest = key[3:].partition("/")
                    if ns_id != str(ns.ns_id):
                        raise RouteError(error(files.LookupError.not_found))
                    key = "/" + rest
                key = key.rstrip("/")
            node = ns.live_node(key) if key is not None else None
            if node is None:
                raise RouteError(error(files.LookupError.not_found))
            if node.is_folder or node.revision is None:
                raise RouteError(error(files.LookupError.not_file))
            return node.revision

    # -- rendering ----------------------------------------------------------------------------

    @staticmethod
    def data(revision: Revision) -> bytes:
        """The bytes a download of ``revision`` returns."""
        if revision.content is not None:
            return revision.content
        picture = pictures.content(revision.name, revision.file_id)
        return pictures.padded(picture, revision.size)

    def thumbnail(self, revision: Revision, arg: Any, error_type: Any) -> bytes:
        """The thumbnail of ``revision`` for a ``ThumbnailArg``/``ThumbnailV2Arg``; raises the
        documented ``unsupported_*`` errors of ``error_type``."""
        suffix = "." + revision.name.rsplit(".", 1)[-1].lower() if "." in revision.name else ""
        if suffix not in THUMBNAIL_EXTENSIONS:
            raise RouteError(error_type.unsupported_extension)
        if revision.size > MAX_THUMBNAIL_SOURCE:
            raise RouteError(error_type.unsupported_image)
        fmt = _FORMATS[arg.format._tag]
        if getattr(arg, "preserve_transparency", False) and fmt == "JPEG":
            raise RouteError(error_type.unsupported_output_format)
        return pictures.thumbnail(
            revision.name,
            revision.file_id,
            box=_box(arg.size),
            mode=_MODES[arg.mode._tag],
            fmt=fmt,
            data=revision.content,
        )

    # -- routes -------------------------------------------------------------------------------

    def get_thumbnail_v2(
        self, account: Account, arg: files.ThumbnailV2Arg, metadata: Any
    ) -> tuple[files.PreviewResult, bytes]:
        if not arg.resource.is_path():
            raise RouteError(files.ThumbnailV2Error.not_found)  # no shared links in the fake
        revision = self.revision(account, arg.resource.get_path(), files.ThumbnailV2Error.path)
        body = self.thumbnail(revision, arg, files.ThumbnailV2Error)
        return files.PreviewResult(file_metadata=metadata(revision)), body

    def get_thumbnail(
        self, account: Account, arg: files.ThumbnailArg, metadata: Any
    ) -> tuple[files.FileMetadata, bytes]:
        revision = self.revision(account, arg.path, files.ThumbnailError.path)
        return metadata(revision), self.thumbnail(revision, arg, files.ThumbnailError)

    def get_thumbnail_batch(
        self, account: Account, arg: files.GetThumbnailBatchArg, metadata: Any
    ) -> files.GetThumbnailBatchResult:
        if len(arg.entries) > MAX_BATCH:
            raise RouteError(files.GetThumbnailBatchError.too_many_files)
        entries = []
        for entry in arg.entries:
            try:
                revision = self.revision(account, entry.path, files.ThumbnailError.path)
                body = self.thumbnail(revision, entry, files.ThumbnailError)
            except RouteError as failure:
                entries.append(files.GetThumbnailBatchResultEntry.failure(failure.value))
                continue
            data = files.GetThumbnailBatchResultData(
                metadata=metadata(revision), thumbnail=base64.b64encode(body).decode()
            )
            entries.append(files.GetThumbnailBatchResultEntry.success(data))
        return files.GetThumbnailBatchResult(entries=entries)

    def download(
        self, account: Account, arg: files.DownloadArg, metadata: Any
    ) -> tuple[files.FileMetadata, bytes]:
        # DownloadArg.rev: "Field is deprecated. Please specify revision in path instead."
        path = "rev:" + arg.rev if arg.rev is not None else arg.path
        revision = self.revision(account, path, files.DownloadError.path)
        return metadata(revision), self.data(revision)
