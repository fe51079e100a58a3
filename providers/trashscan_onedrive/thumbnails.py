"""Pictures of OneDrive photos: captured while they are alive, since none exist once deleted.

No Graph API gives a picture of a deleted item: a personal recycle bin cannot be listed at all
(its items come from the delta feed, and the thumbnails of a deleted ``driveItem`` are not
served), and a work or school ``recycleBinItem`` has no ``driveItem`` id and no thumbnails
(onedrive.md; next-wave.md §1). So:

* **personal**: after each scan, up to ``[thumbnails] per_run`` live photos and videos of the
  mirror (the most recently added first) that the cache lacks are captured:
  ``GET /me/drive/items/{id}/thumbnails/0/medium/content``, which "responds with a redirect to
  the thumbnail URL" (302; "Thumbnail URLs are cache-safe") [DOC driveitem-list-thumbnails];
  the redirect is followed without the token (the URL is pre-authenticated, on another host).
  Two requests per photo, once per version (keyed by the file's content hash, else its eTag,
  as the trash item will be). When the photo is deleted, the core finds that picture for it
  without a request. A photo deleted before its capture shows a placeholder.
* **work or school**: nothing can be shown (placeholder), and nothing is captured: the recycle
  bin names no ``driveItem``, so a capture could never be matched to a deleted item.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from urllib.parse import quote, urljoin, urlsplit

from trashscan.errors import AuthError, TrashscanError
from trashscan.models import IndexedItem, Thumbnail
from trashscan_onedrive.client import GraphSession, error_of
from trashscan_onedrive.mirror import MIRROR_FILE, live_media

log = logging.getLogger(__name__)

# The medium thumbnail (176 px on the longest side [DOC thumbnail size options]), read-only.
THUMBNAIL_CONTENT = "thumbnails/0/medium/content"
MAX_BYTES = 16 * 1024 * 1024
PERSONAL_NONE = (
    "OneDrive gives no picture of a deleted item, and none was captured before its deletion"
)
BUSINESS_NONE = "OneDrive's recycle bin gives no picture (its items name no drive item)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})


def trashed(items: Sequence[IndexedItem]) -> Iterator[Thumbnail]:
    """Deleted items: no request can show them (captured ones never get here)."""
    for item in items:
        business = "site_id" in (item.restore_handle or {})
        yield Thumbnail(item.item_id, missing=BUSINESS_NONE if business else PERSONAL_NONE)


def live(
    account_dir: Callable[[], Path],
    session_for: Callable[[], GraphSession],
    wanted: Callable[[str, str], bool],
    limit: int,
) -> Iterator[Thumbnail]:
    """Capture live photos' pictures (see the module docstring); at most ``limit`` asked."""
    path = account_dir() / MIRROR_FILE
    session: GraphSession | None = None
    asked = 0
    try:
        for photo in live_media(path):
            if asked >= limit:
                return
            key = photo.hash or photo.etag or ""
            if not wanted(photo.id, key):
                continue
            asked += 1
            session = session or session_for()
            try:
                yield capture(session, photo.id, key)
            except AuthError:
                raise
            except TrashscanError as exc:
                yield Thumbnail(photo.id, error=exc.one_line(), version_key=key)
    finally:
        if session is not None:
            session.close()


def capture(session: GraphSession, item_id: str, key: str) -> Thumbnail:
    url = session.settings.v1(f"me/drive/items/{quote(item_id, safe='!')}/{THUMBNAIL_CONTENT}")
    response = session.send("GET", url)
    status = response.status_code
    if status == 200:  # answered inline rather than redirected
        return Thumbnail(item_id, data=response.content[:MAX_BYTES], version_key=key)
    if status == 404:
        code, _ = error_of(response)
        reason = f"OneDrive has no thumbnail of it ({code or 'HTTP 404'})"
        return Thumbnail(item_id, missing=reason, version_key=key)
    if status not in REDIRECTS or not response.headers.get("Location"):
        session.check(response, "a thumbnail")
        raise TrashscanError(f"OneDrive answered HTTP {status} for a thumbnail")
    location = urljoin(url, response.headers["Location"])
    if urlsplit(location).scheme != "https":
        raise TrashscanError("OneDrive redirected a thumbnail to a URL that is not https")
    picture = session.context.retry.request(
        session.http, "GET", location, allow_redirects=False, stream=True
    )
    try:
        if picture.status_code != 200:
            raise TrashscanError(f"the thumbnail URL answered HTTP {picture.status_code}")
        data = picture.raw.read(MAX_BYTES, decode_content=True)
    finally:
        picture.close()
    return Thumbnail(item_id, data=bytes(data), version_key=key)
