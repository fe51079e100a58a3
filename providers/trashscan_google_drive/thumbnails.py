"""Pictures of trashed Drive photos and videos: the file's ``thumbnailLink``, fetched here.

Drive lets everyone with access download a trashed file, and the listing can carry
``thumbnailLink``, which is "short-lived … Typically lasts on the order of hours" and, for a file
that is not public, "must be fetched using a credentialed request" [DISC drive v3 File]. So:

* the scan asks for ``thumbnailLink`` (and ``videoMediaMetadata.durationMillis``) with every
  listed item and hands them to this run's fetch in memory only (``Page.thumbnail_sources``):
  never stored, never shown;
* an item the scan did not list this time (an incremental scan lists only changes) gets a fresh
  link from ``files.get``, batched (up to 100 per request);
* the link is fetched with the account's bearer token, and only on Google's own hosts
  (``*.googleusercontent.com``, ``*.google.com``, ``*.googleapis.com``) or the account's own
  endpoint (the sandbox): a link anywhere else would carry the token to a stranger;
* without a link (``hasThumbnail`` false, or a host not trusted) a photo is downloaded
  (``files.get?alt=media``, up to :data:`DOWNLOAD_MAX`) and resized here; a video gets the
  placeholder, with its length.

Requests per picture: one GET of the link (plus a share of one batched ``files.get`` when the scan
did not list the item), or one download.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import httplib2
from google.auth.exceptions import TransportError

from trashscan.errors import AccountError, AuthError, TrashscanError
from trashscan.models import IndexedItem, Kind, Thumbnail
from trashscan.retry import RETRYABLE_STATUSES, Classification, parse_retry_after
from trashscan_google_drive.client import DriveApiError, DriveSession

log = logging.getLogger(__name__)

LINK_FIELDS = "thumbnailLink,hasThumbnail,videoMediaMetadata(durationMillis)"
DOWNLOAD_MAX = 25 * 1024 * 1024  # a photo without a thumbnail larger than this: a placeholder
GOOGLE_HOSTS = (".googleusercontent.com", ".google.com", ".googleapis.com")


class _Status(Exception):
    """The link answered a status worth another try (429, 5xx)."""

    def __init__(self, status: int, retry_after: float | None) -> None:
        super().__init__(f"HTTP {status}")
        self.status = status
        self.retry_after = retry_after


def _classify(exc: BaseException) -> Classification:
    if isinstance(exc, _Status):
        return exc.retry_after
    if isinstance(exc, TransportError | httplib2.HttpLib2Error | OSError):
        return None  # connection failures: named and bounded by the policy first
    return False


def source_of(file: Mapping[str, Any]) -> dict[str, Any] | None:
    """What the listing says about fetching one file's picture (kept in memory for this run)."""
    link = file.get("thumbnailLink")
    duration = (file.get("videoMediaMetadata") or {}).get("durationMillis")
    source: dict[str, Any] = {}
    if isinstance(link, str) and link:
        source["link"] = link
    if isinstance(duration, str | int) and str(duration).isdigit():
        source["duration"] = int(duration) / 1000
    if "hasThumbnail" in file:
        source["has_thumbnail"] = bool(file.get("hasThumbnail"))
    return source or None


def trusted(link: str, session: DriveSession) -> bool:
    """Whether the account's token may go to this link's host."""
    parts = urlsplit(link)
    host = (parts.hostname or "").lower()
    if session.account.endpoint:
        own = urlsplit(session.account.endpoint)
        return parts.scheme == own.scheme and parts.netloc == own.netloc
    return parts.scheme == "https" and host.endswith(GOOGLE_HOSTS)


class DriveThumbnails:
    def __init__(self, session: DriveSession) -> None:
        self.session = session

    def run(self, items: Sequence[IndexedItem], sources: Mapping[str, Any]) -> Iterator[Thumbnail]:
        known = {i.item_id: s for i in items if isinstance(s := sources.get(i.item_id), dict)}
        unknown = [i.item_id for i in items if i.item_id not in known]
        fresh = self.session.batch(unknown, self._get, "files.get") if unknown else {}
        for item in items:
            answer = fresh.get(item.item_id)
            if isinstance(answer, AuthError):
                raise answer
            if isinstance(answer, DriveApiError) and answer.status == 404:
                yield Thumbnail(item.item_id, missing="Google Drive no longer has it")
                continue
            if isinstance(answer, AccountError):
                yield Thumbnail(item.item_id, error=answer.one_line())
                continue
            source = known.get(item.item_id) or source_of(answer or {}) or {}
            try:
                yield self._one(item, source)
            except AuthError:
                raise
            except TrashscanError as exc:
                yield Thumbnail(item.item_id, error=exc.one_line())

    def _get(self, file_id: str) -> Any:
        files = self.session.drive.files()
        return files.get(fileId=file_id, fields=LINK_FIELDS, supportsAllDrives=True)

    def _one(self, item: IndexedItem, source: Mapping[str, Any]) -> Thumbnail:
        duration = source.get("duration")
        link = source.get("link")
        if isinstance(link, str) and trusted(link, self.session):
            data = self._fetch_link(link)
            if data is not None:
                return Thumbnail(item.item_id, data=data, duration=duration)
        elif isinstance(link, str):
            log.warning("not sending %s's token to %s", item.item_id, urlsplit(link).hostname)
        if item.kind is Kind.VIDEO:
            return Thumbnail(
                item.item_id, missing="Google Drive has no frame of it", duration=duration
            )
        if item.size is not None and item.size > DOWNLOAD_MAX:
            return Thumbnail(item.item_id, missing="too large to download for a picture")
        return Thumbnail(item.item_id, data=self._download(item.item_id))

    def _fetch_link(self, link: str) -> bytes | None:
        """The link's picture, or None when Drive answers that there is none (403, 404)."""
        http = self.session.http

        def get() -> tuple[int, bytes]:
            response, content = http.request(link, "GET")
            status = int(response.status)
            if status in RETRYABLE_STATUSES:
                raise _Status(status, parse_retry_after(response.get("retry-after")))
            return status, content

        try:
            status, content = self.session.context.retry.call(
                get, _classify, what="Google Drive thumbnail"
            )
        finally:
            self.session._save_refreshed_token()
        if status == 200 and content:
            return bytes(content)
        if status == 401:
            raise AuthError(
                f"Google refused the thumbnail link of account {self.session.account.name!r} "
                "(HTTP 401)"
            )
        log.info("thumbnail link answered HTTP %s: downloading the file instead", status)
        return None

    def _download(self, file_id: str) -> bytes:
        files = self.session.drive.files()
        request = files.get_media(fileId=file_id, supportsAllDrives=True)
        data = self.session._guarded(lambda: request.execute(), "files.get (download)")
        return bytes(data)
