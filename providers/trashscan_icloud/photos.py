"""iCloud Photos "Recently Deleted": listing it, and the experimental restore.

**Listing.** Recently Deleted is a smart album of pyicloud
(``CPLAssetAndMasterDeletedByExpungedDate``, ascending: soonest purge first). The album object is
built the way pyicloud's ``PhotoLibrary._get_albums`` builds its smart albums, without reading
``photos.albums``: that also queries the user's own albums and folders (one query, and one more
per folder), which Recently Deleted is not among. It is read page by page with pyicloud's own
request (``records/query`` with ``startRank``, ``resultsLimit`` 200 records = about 100 CPLMaster
+ CPLAsset pairs), but each page is one call under the retry policy, so a 429 in the middle of a
long trash costs one retried request, not the whole listing. The listing ends at a page of fewer
than 50 assets (pyicloud's rule), or at a page of fewer records than ``resultsLimit`` that
carries no ``continuationMarker``: CloudKit returns fewer records than asked only when no more
match ("If the criteria matches more records than are returned by the server, the
continuationMarker property is non-null", CloudKit JS ``QueryResponse``), so no empty page is
read after it. Only a page of exactly ``resultsLimit`` records is followed by one more read. The
album's size is never asked for (``len()`` would add a count query).

Every deleted asset carries ``dateExpunged``, the day Photos purges it; Photos keeps an item 30
days, so the deletion time is ``dateExpunged - 30 days``. Both are exact (the browser-captured
delete answer shows ``modified`` + exactly 30 days = ``dateExpunged``).

**Restore** (experimental). pyicloud has no restore. The request sent is the mirror of the delete
that the iCloud web client sends (captured in pyicloud's browser fixtures): one ``records/modify``
``update`` of the ``CPLAsset`` with the record's current ``recordChangeTag``, the single field
``isDeleted`` set to 0, in the asset's zone, ``atomic``. Nothing else is sent: no other field, no
change to the CPLMaster or to album relations. A stale change tag (CloudKit ``CONFLICT``) is
answered by looking the record up and sending once more with its current tag. Only ``isDeleted``
back at 0 counts as restored: a successful update answers the whole record as saved (the captured
delete's answer, ``photo_delete_response.json``, carries the record's fields and new tag), so
when that answer shows ``isDeleted`` 0 it is the outcome; otherwise (a lost answer, an answer
without the field, or one still deleted) the record is looked up again and that decides. One
record per request, the captured shape: a mass restore costs one ``records/modify`` per photo.
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlencode

from pyicloud.services.photos import PhotoAsset, PhotoLibrary, SmartAlbumEnum, SmartPhotoAlbum
from pyicloud.services.photos_cloudkit.constants import PRIMARY_ZONE
from pyicloud.services.photos_cloudkit.mappers import record_field_value, record_zone

from trashscan.errors import AccountError, AuthError, TrashscanError
from trashscan.kinds import guess_mime_type
from trashscan.models import (
    DeletedAtSource,
    IndexedItem,
    Kind,
    Page,
    RestoreOutcome,
    RestoreResult,
    TrashItem,
)
from trashscan.pagination import PageGuard
from trashscan.retry import parse_retry_after
from trashscan_icloud.client import WEB_ACCESS_OFF, ICloudSession, MaybeApplied, Throttled
from trashscan_icloud.options import RETENTION_DAYS, relogin_hint
from trashscan_icloud.thumbnails import source_of

log = logging.getLogger(__name__)

PAGE_ITEMS = 500  # trash items per Page handed to the core
RECORD_TYPE = "CPLAsset"
CK_TIMEOUT = (10.0, 60.0)  # what pyicloud's CloudKit client uses
RESTORE_NOTE = "experimental: check it in iCloud Photos"

# Uniform Type Identifiers of Photos' itemType, as mime types.
UTI_MIME = {
    "public.heic": "image/heic",
    "public.heif": "image/heif",
    "public.jpeg": "image/jpeg",
    "public.png": "image/png",
    "public.tiff": "image/tiff",
    "com.compuserve.gif": "image/gif",
    "com.adobe.raw-image": "image/x-adobe-dng",
    "com.apple.quicktime-movie": "video/quicktime",
    "public.mpeg-4": "video/mp4",
    "com.apple.m4v-video": "video/x-m4v",
}


# ------------------------------------------------------------------------------ listing


def _utc(value: Any) -> datetime | None:
    """A CloudKit TIMESTAMP as pyicloud gives it (datetime, or epoch milliseconds)."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        return datetime.fromtimestamp(value / 1000.0, UTC)
    return None


def asset_zone(asset: PhotoAsset, default: dict[str, Any]) -> dict[str, Any]:
    """The asset's CloudKit zone: the record's own, else its master reference's, else the
    library's."""
    zone = record_zone(asset.asset_record)
    if zone:
        return dict(zone)
    ref = record_field_value(asset.asset_record, "masterRef")
    ref_zone = getattr(ref, "zoneID", None)
    if ref_zone is not None:
        return ref_zone.model_dump(exclude_none=True)
    return dict(default)


def photo_item(asset: PhotoAsset, default_zone: dict[str, Any]) -> TrashItem:
    record = asset.asset_record
    name = asset.filename
    item_type = record_field_value(asset.master_record, "itemType")
    kind = Kind.VIDEO if asset.item_type == "movie" else Kind.PHOTO
    mime = UTI_MIME.get(item_type) if isinstance(item_type, str) else None
    if mime is None or not mime.startswith("video/" if kind is Kind.VIDEO else "image/"):
        mime = guess_mime_type(name) or mime
    handle: dict[str, Any] = {
        "kind": "photo",
        "record_name": asset.id,
        "record_type": record.recordType,
        "zone": asset_zone(asset, default_zone),
        "record_change_tag": record.recordChangeTag,
        "master_record_name": asset.master_id,
    }
    width, height = asset.dimensions
    if isinstance(width, int) and isinstance(height, int):
        handle["dimensions"] = [width, height]
    server_expiry = _utc(record.expirationTime)
    if server_expiry is not None:  # the record's own hard expiry, about 10 days after the purge
        handle["server_expiry"] = server_expiry.isoformat()
    original = record_field_value(asset.master_record, "resOriginalRes")
    checksum = (
        original.get("fileChecksum")
        if isinstance(original, dict)
        else getattr(original, "fileChecksum", None)
    )
    item = TrashItem(
        item_id=f"photo:{asset.id}",
        name=name,
        mime_type=mime,
        size=asset.size,
        kind=kind,
        restore_handle=handle,
        content_hash=f"icloud:{checksum}" if isinstance(checksum, str) and checksum else None,
    )
    expunged = _utc(record_field_value(record, "dateExpunged"))
    if expunged is not None:
        item.deleted_at = expunged - timedelta(days=RETENTION_DAYS)
        item.deleted_at_source = DeletedAtSource.API
        item.purge_at = expunged
        item.purge_is_estimate = False
    return item


class LastAnswer:
    """pyicloud's CloudKit client, keeping the last query's answer: the album's page reader
    uses its records and drops the rest (their number, the ``continuationMarker``)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.last: Any = None

    def query(self, *args: Any, **kwargs: Any) -> Any:
        self.last = None
        self.last = self._client.query(*args, **kwargs)
        return self.last

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


def recently_deleted(photos: Any) -> tuple[SmartPhotoAlbum, LastAnswer | None]:
    """pyicloud's Recently Deleted album of the private library, as ``_get_albums`` makes it
    (same list type, direction, zone and client, so the same requests), without the album list."""
    library = getattr(photos, "_root_library", None)
    if not isinstance(library, PhotoLibrary):
        raise AccountError("pyicloud offers no Photos library for this account")
    spec = PhotoLibrary.SMART_ALBUMS[SmartAlbumEnum.RECENTLY_DELETED]
    client = getattr(library, "_client", None)
    tap = LastAnswer(client) if client is not None else None
    album = SmartPhotoAlbum(
        library=library,
        name=SmartAlbumEnum.RECENTLY_DELETED,
        obj_type=spec.obj_type,
        list_type=spec.list_type,
        direction=spec.direction,
        client=tap,  # type: ignore[arg-type]  # delegates to pyicloud's client
        zone_id=library.zone_id,
        query_filters=list(spec.query_filters) or None,
    )
    return album, tap


def last_page(tap: LastAnswer | None, page_size: int) -> bool:
    """Whether the page just read was the last: fewer records than asked, and no marker."""
    answer = tap.last if tap is not None else None
    if answer is None:
        return False  # not known: pyicloud's rule alone decides
    records = getattr(answer, "records", None)
    if not isinstance(records, list) or getattr(answer, "continuationMarker", None):
        return False
    return len(records) < 2 * page_size  # resultsLimit: pyicloud asks twice the page size


def photo_pages(session: ICloudSession) -> Generator[Page, None, None]:
    service = session.service
    photos = session.call(lambda: service.photos, "Photos")
    album, tap = recently_deleted(photos)
    spec = PhotoLibrary.SMART_ALBUMS[SmartAlbumEnum.RECENTLY_DELETED]
    default_zone = dict(getattr(album, "_zone_id", None) or PRIMARY_ZONE)
    page_size = album.page_size
    offset = 0
    seen: set[str] = set()
    batch = Page()
    # startRank only grows, so a server that ignores it shows up as a page of records already read
    guard = PageGuard("iCloud Photos' Recently Deleted listing", "records")
    while True:

        def fetch(at: int = offset) -> list[PhotoAsset]:
            return list(album._get_photos_at(at, spec.direction, page_size))

        assets = session.call(fetch, "Photos Recently Deleted listing")
        new = 0
        for asset in assets:
            if asset.id in seen:
                continue
            seen.add(asset.id)
            new += 1
            item = photo_item(asset, default_zone)
            batch.items.append(item)
            if (source := source_of(asset)) is not None:
                batch.thumbnail_sources[item.item_id] = source  # this run only: never stored
            if len(batch.items) >= PAGE_ITEMS:
                yield batch
                batch = Page()
        if len(assets) < page_size // 2 or last_page(tap, page_size):  # see the docstring
            break
        if not new:
            raise guard.repeated()
        offset += len(assets)
        guard.follow(offset)
    if batch.items:
        yield batch


# ------------------------------------------------------------------------------ restore


def restore_body(
    record_name: str, record_type: str, change_tag: str | None, zone: dict[str, Any]
) -> dict[str, Any]:
    """The whole ``records/modify`` body: the captured web delete with the flag back at 0."""
    record: dict[str, Any] = {"recordName": record_name}
    if change_tag is not None:
        record["recordChangeTag"] = change_tag
    record["recordType"] = record_type
    record["fields"] = {"isDeleted": {"value": 0}}
    return {
        "atomic": True,
        "operations": [{"operationType": "update", "record": record}],
        "zoneID": zone,
    }


def lookup_body(record_name: str, zone: dict[str, Any]) -> dict[str, Any]:
    """What pyicloud's typed ``lookup`` sends (no desiredKeys: the whole record comes back)."""
    return {"records": [{"recordName": record_name}], "zoneID": zone}


@dataclass(frozen=True, slots=True)
class RecordState:
    """A CPLAsset as ``records/lookup`` shows it, or the error CloudKit gave for it."""

    found: bool
    in_trash: bool = False
    change_tag: str | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ModifyAnswer:
    applied: bool
    error: str | None = None  # serverErrorCode
    reason: str | None = None
    in_trash: bool | None = None  # the saved record's isDeleted, when the answer carries it


def _record_entry(data: Any, record_name: str) -> dict[str, Any] | None:
    records = data.get("records") if isinstance(data, dict) else None
    if not isinstance(records, list):
        return None
    for entry in records:
        if isinstance(entry, dict) and entry.get("recordName") in (record_name, None):
            return entry
    return None


def _field(entry: dict[str, Any], name: str) -> Any:
    field = (entry.get("fields") or {}).get(name)
    return field.get("value") if isinstance(field, dict) else None


class PhotoRestorer:
    def __init__(self, session: ICloudSession) -> None:
        self.session = session
        self._endpoint: str | None = None
        self._query: str = ""

    def _photos_endpoint(self) -> str:
        if self._endpoint is None:
            service = self.session.service
            photos = self.session.call(lambda: service.photos, "Photos")
            self._endpoint = photos.service_endpoint
            # Exactly the query string pyicloud's CloudKit client appends.
            self._query = urlencode({k: str(v) for k, v in photos.params.items()})
        return self._endpoint

    # -- raw CloudKit requests (pyicloud's client turns a per-record error into a bare message)

    def _post(self, path: str, body: dict[str, Any], record_name: str) -> Any:
        """POST to the Photos database; a CloudKit error about the record comes back as a
        record entry (as a per-record error in a 200 answer does), anything else raises."""
        url = f"{self._photos_endpoint()}/{path}?{self._query}"
        response = self.session.service.session.request_raw(
            "POST", url, json=body, timeout=CK_TIMEOUT
        )
        status = response.status_code
        if status in (429, 500, 502, 503, 504):
            raise Throttled(status, parse_retry_after(response.headers.get("Retry-After")))
        try:
            data = response.json()
        except ValueError:
            data = None
        if status < 400:
            return data
        code = data.get("serverErrorCode") if isinstance(data, dict) else None
        reason = data.get("reason") if isinstance(data, dict) else None
        if isinstance(reason, str) and "private db access disabled" in reason.lower():
            raise AccountError(WEB_ACCESS_OFF)
        if status in (401, 421) or code in ("AUTHENTICATION_FAILED", "AUTHENTICATION_REQUIRED"):
            raise AuthError(
                f"iCloud refused {path} of account {self.session.account.name!r} "
                f"(HTTP {status}{f', {code}' if code else ''})",
                hint=relogin_hint(self.session.account),
            )
        if isinstance(data, dict) and isinstance(data.get("records"), list):
            return data
        if code:
            entry = {"recordName": record_name, "serverErrorCode": code}
            if isinstance(reason, str):
                entry["reason"] = reason
            return {"records": [entry]}
        raise AccountError(f"iCloud refused {path} (HTTP {status})")

    def _modify(self, record_name: str, record_type: str, tag: str | None, zone: dict) -> Any:
        body = restore_body(record_name, record_type, tag, zone)
        data = self.session.call(
            lambda: self._post("records/modify", body, record_name), "restore", write=True
        )
        entry = _record_entry(data, record_name)
        if entry is None:
            return ModifyAnswer(applied=False, error="NO_ANSWER")
        code = entry.get("serverErrorCode")
        if code:
            return ModifyAnswer(applied=False, error=str(code), reason=entry.get("reason"))
        deleted = _field(entry, "isDeleted")
        in_trash = bool(deleted) if isinstance(deleted, int) else None
        return ModifyAnswer(applied=True, in_trash=in_trash)

    def _lookup(self, record_name: str, zone: dict[str, Any]) -> RecordState:
        body = lookup_body(record_name, zone)
        data = self.session.call(lambda: self._post("records/lookup", body, record_name), "lookup")
        entry = _record_entry(data, record_name)
        if entry is None:
            return RecordState(found=False, error="NO_ANSWER")
        code = entry.get("serverErrorCode")
        if code:
            return RecordState(found=False, error=str(code))
        return RecordState(
            found=True,
            in_trash=bool(_field(entry, "isDeleted")),
            change_tag=entry.get("recordChangeTag"),
        )

    # -- one item

    def restore(self, item: IndexedItem) -> RestoreResult:
        handle = item.restore_handle or {}
        name = handle.get("record_name")
        zone = handle.get("zone")
        record_type = handle.get("record_type")
        if not isinstance(name, str) or not isinstance(zone, dict) or record_type != RECORD_TYPE:
            return _result(item, RestoreOutcome.SKIPPED, "no CloudKit record known; scan again")
        tag = handle.get("record_change_tag")
        retried = False
        try:
            while True:
                try:
                    answer = self._modify(name, record_type, tag, zone)
                except MaybeApplied as exc:
                    log.info("restore of %s ended with %s: looking it up", name, exc)
                    break
                if answer.applied and answer.in_trash is False:  # the saved record says so
                    return _result(item, RestoreOutcome.RESTORED, RESTORE_NOTE)
                if answer.applied:
                    break
                if answer.error == "CONFLICT" and not retried:
                    current = self._lookup(name, zone)
                    if not current.found:
                        return _gone(item, current)
                    if not current.in_trash:
                        return _result(
                            item,
                            RestoreOutcome.ALREADY_RESTORED,
                            "it is no longer in Recently Deleted",
                        )
                    tag, retried = current.change_tag, True
                    continue
                if answer.error == "CONFLICT":
                    detail = "the photo changed again while it was being restored; try again"
                    return _result(item, RestoreOutcome.FAILED, detail)
                reason = f": {answer.reason}" if answer.reason else ""
                detail = f"iCloud refused the restore ({answer.error}{reason})"
                return _result(item, RestoreOutcome.FAILED, detail)
            after = self._lookup(name, zone)
        except TrashscanError as exc:
            return _result(item, RestoreOutcome.FAILED, exc.one_line())
        if not after.found:
            return _gone(item, after)
        if after.in_trash:
            detail = "iCloud accepted the restore, but the photo is still in Recently Deleted"
            return _result(item, RestoreOutcome.FAILED, detail)
        return _result(item, RestoreOutcome.RESTORED, RESTORE_NOTE)


def _gone(item: IndexedItem, state: RecordState) -> RestoreResult:
    if state.error == "NOT_FOUND":
        return _result(item, RestoreOutcome.FAILED, "iCloud no longer has this photo (purged?)")
    detail = f"iCloud could not look the photo up ({state.error})"
    return _result(item, RestoreOutcome.FAILED, detail)


def _result(item: IndexedItem, outcome: RestoreOutcome, detail: str | None) -> RestoreResult:
    return RestoreResult(item.item_id, outcome, detail=detail)
