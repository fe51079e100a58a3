"""Pictures of iCloud Photos' "Recently Deleted": the asset's own thumbnail resource.

Every Recently Deleted asset comes with its ``CPLMaster`` record, whose ``resJPEGThumbRes``
holds a CloudKit ``downloadURL`` (pyicloud's ``thumb`` version of a photo, ``thumb_image`` of a
video). That URL lasts about an hour (Apple: the expiry is in its ``e=`` parameter, then 410
Gone), so it is never stored: the scan hands it to this run's fetch in memory
(``Page.thumbnail_sources``), and every scan lists the album in full, so every deleted photo gets a
fresh one. It is fetched like pyicloud's ``download`` fetches it (a plain GET of the URL, which
carries its own authorisation); no cookie or password goes with it, and only ``https`` URLs are
fetched. One request per photo or video; the listing already paid for the URL.

An item without a URL this run (its listing failed) is asked again next run; an item of iCloud
Drive's Recently Deleted has no picture (that API gives none).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any
from urllib.parse import urlsplit

import requests

from trashscan.errors import AccountError, TrashscanError
from trashscan.models import Account, IndexedItem, Thumbnail
from trashscan.net_errors import checked_ca_bundle
from trashscan.tls import PinnedVerifyMixin

TIMEOUT = (10.0, 60.0)  # what pyicloud's CloudKit client uses
MAX_BYTES = 16 * 1024 * 1024  # a thumbnail is a few hundred KB at most


def source_of(asset: Any) -> dict[str, Any] | None:
    """The asset's thumbnail URL (and a video's length), for this run only."""
    version = "thumb_image" if getattr(asset, "item_type", None) == "movie" else "thumb"
    try:
        url = asset.download_url(version)
    except Exception:  # a record pyicloud cannot map: no picture, never a failed listing
        return None
    return {"url": url} if isinstance(url, str) and url else None


class _Session(PinnedVerifyMixin, requests.Session):
    """No cookies, no credentials: the URL authorises itself; the account's CA bundle wins."""


def thumbnails(
    context: Any, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
) -> Iterator[Thumbnail]:
    session = _Session()
    try:
        for item in items:
            if not item.item_id.startswith("photo:"):
                yield Thumbnail(item.item_id, missing="iCloud Drive gives no picture of it")
                continue
            source = sources.get(item.item_id)
            url = source.get("url") if isinstance(source, dict) else None
            if not isinstance(url, str):
                yield Thumbnail(item.item_id, error="no thumbnail link from this run's listing")
                continue
            try:
                yield Thumbnail(item.item_id, data=_get(context, account, session, url))
            except TrashscanError as exc:
                yield Thumbnail(item.item_id, error=exc.one_line())
    finally:
        session.close()


def _get(context: Any, account: Account, session: requests.Session, url: str) -> bytes:
    parts = urlsplit(url)
    if parts.scheme != "https" or not parts.hostname:
        raise AccountError("iCloud gave a thumbnail link that is not https; not fetched")
    session.verify = checked_ca_bundle(account, parts.hostname) or True
    response = context.retry.request(
        session, "GET", url, timeout=account.timeout or TIMEOUT, stream=True
    )
    try:
        if response.status_code != 200:
            raise AccountError(f"iCloud answered HTTP {response.status_code} for a thumbnail")
        data = response.raw.read(MAX_BYTES + 1, decode_content=True)
    finally:
        response.close()
    if len(data) > MAX_BYTES:
        raise AccountError("iCloud's thumbnail is larger than any thumbnail should be")
    return bytes(data)
