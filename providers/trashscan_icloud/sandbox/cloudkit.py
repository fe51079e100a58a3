"""CloudKit Web Services for the Photos container, as pyicloud's Photos service calls them.

Routes (``{base}/ck`` is the ``ckdatabasews`` URL the fake's ``accountLogin`` advertises; the rest
is the path pyicloud builds in ``services/photos_cloudkit/service.PhotosService``):
``POST /ck/database/1/com.apple.photos.cloud/production/{private,shared}/<operation>`` with
``records/query``, ``records/lookup``, ``records/modify``, ``zones/list`` and
``internal/records/query/batch``. The query string (``clientBuildNumber``, ``clientId``,
``dsid``, ``remapEnums``, ``getCurrentSyncToken``) is accepted; ``getCurrentSyncToken`` adds the
top-level ``syncToken`` (pyicloud ``CKQueryResponse.syncToken``).

Behaviour and sources:

* ``records/query`` dispatches on ``query.recordType`` (icloud.md §5.4). ``CheckIndexingState``
  answers ``state: FINISHED`` (pyicloud raises ``PyiCloudServiceNotActivatedException``
  otherwise; ``photos_indexing_not_finished_response.json`` is the other state). The
  ``CPLAssetAndMaster...`` list indexes (``photos_cloudkit/constants.ListTypeEnum``) answer
  CPLAsset+CPLMaster record pairs in the index's rank order: ``startRank`` is a position in the
  ascending order, ``direction: DESCENDING`` walks down from it (how pyicloud pages
  ``BasePhotoAlbum.photos``), and ``resultsLimit`` counts records, so a page holds
  ``resultsLimit // 2`` pairs, at most 100 (CloudKit's 200-record response limit, *CloudKit Web
  Services Reference, Data Size Limits*). Recently Deleted is
  ``CPLAssetAndMasterDeletedByExpungedDate`` ordered by ``dateExpunged`` (soonest purge first).
  A ``recordName`` filter (``queries.photo_lookup_query``) selects one asset.
* ``internal/records/query/batch`` with ``HyperionIndexCountLookup`` answers ``itemCount`` per
  ``indexCountID`` (``client.PhotosCloudKitClient.batch_count``).
* ``records/modify`` follows CloudKit's rules (*Modifying Records*): an ``update`` must carry the
  record's current ``recordChangeTag`` or that record fails with ``CONFLICT`` ("client oplock
  error updating record"); per-record failures are error dictionaries inside a 200 and, with
  ``atomic: true``, every other operation fails with ``ATOMIC_ERROR`` and nothing is written. A
  successful update answers the whole record with a new tag (``photo_delete_response.json``).
  Writing ``isDeleted: 0`` to a deleted CPLAsset takes it out of Recently Deleted (the mirror of
  the captured delete; icloud.md §2 marks the real recover request UNVERIFIED).
  The sandbox refuses, records in ``refused_calls`` and answers 400 ``BAD_REQUEST`` to anything
  destructive: ``isDeleted: 1`` (``PhotoAsset.delete``), ``isExpunged: 1`` (purges, icloudpd
  PR #924), ``delete``/``forceDelete`` and ``replace``/``forceReplace`` operations.
* Advanced Data Protection: without the ``X-APPLE-WEBAUTH-PCS-Photos`` cookie the private
  database answers 403 ``ACCESS_DENIED`` "private db access disabled for this account"
  (Apple developer forums thread 723945, icloudpd #514/#687); the same when web access is off.
* Sessions: no ``X-APPLE-WEBAUTH-TOKEN`` cookie -> 421 ``AUTHENTICATION_REQUIRED``; an unknown,
  revoked or untrusted (2FA not done) session -> 401 ``AUTHENTICATION_FAILED``.
* Deleted assets whose ``dateExpunged`` has passed are purged before each request.
* Content (icloud.md §2, next-wave.md §1: pyicloud ``PhotoAsset.versions``/``download(version)``
  read the CPLMaster's ``res*Res`` fields, whose ``downloadURL`` is served by the fake at
  ``/cvws/B/<token>/<name>``, no credentials needed, deleted assets included: "it works for
  deleted assets", icloudpd#991): ``resOriginalRes`` is the asset's real content for seeded
  assets (a 320x240 picture, a JPEG body under HEIC names, a placeholder holding a poster for
  videos) and ``resJPEGThumbRes`` (pyicloud's ``thumb``; ``thumb_image`` for videos) a real
  JPEG of the declared ``resJPEGThumbWidth``x``Height`` (360x270 or 270x360). Their
  ``fileChecksum``s are the fake's (``model.content_checksum`` for the original: equal bytes,
  equal checksum; Apple's algorithm is undocumented). The URLs never expire here (real ones
  last "about an hour", then 410 GONE: next-wave.md §1; not modelled). ``resJPEGMedRes``
  (``medium``) is not modelled.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from datetime import datetime
from typing import Any
from urllib.parse import quote

from trashscan.sandbox import pictures
from trashscan.sandbox.server import Request, Response, Router
from trashscan_icloud.sandbox.auth import ICloudAuth
from trashscan_icloud.sandbox.model import (
    Account,
    ContentStore,
    ModifyLogEntry,
    PhotoAsset,
    PhotoLibrary,
    RefusedCall,
)
from trashscan_icloud.sandbox.wire import (
    b64,
    ck_error,
    ck_record_error,
    json_body,
    json_response,
    millis,
    request_cookies,
)

__all__ = ["CK_ROOT", "PHOTOS_CONTAINER", "PhotosCloudKit"]

CK_ROOT = "/ck"
PHOTOS_CONTAINER = "com.apple.photos.cloud"
MAX_PAIRS = 100
PCS_PHOTOS = "X-APPLE-WEBAUTH-PCS-Photos"

LIST_INDEXES = {
    "CPLAssetAndMasterDeletedByExpungedDate": "deleted",
    "CPLAssetAndMasterByAssetDateWithoutHiddenOrDeleted": "all",
    "CPLAssetAndMasterByAddedDate": "added",
    "CPLAssetAndMasterHiddenByAssetDate": "hidden",
    "CPLBurstStackAssetAndMasterByAssetDate": "burst",
    "CPLContainerRelationLiveByAssetDate": "none",
    "CPLContainerRelationLiveByPosition": "none",
    "CPLAssetAndMasterInSmartAlbumByAssetDate": "smart",
}
COUNT_INDEXES = {
    "CPLAssetDeletedByExpungedDate": "deleted",
    "CPLAssetByAssetDateWithoutHiddenOrDeleted": "all",
    "CPLAssetHiddenByAssetDate": "hidden",
    "CPLAssetBurstStackAssetByAssetDate": "burst",
}
SMART_ALBUMS = {"VIDEO", "LIVE", "FAVORITE", "SCREENSHOT", "PANORAMA", "SLOMO", "TIMELAPSE"}
DESTRUCTIVE_OPERATIONS = {
    "delete": "deletes records",
    "forceDelete": "deletes records",
    "replace": "replaces whole records (dropping fields)",
    "forceReplace": "replaces whole records (dropping fields)",
}


def _field_value(field: Any) -> Any:
    """A written field's value: ``{"value": 1}`` (browser) or ``{"type": "INT64", "value": 1}``
    (pyicloud's typed client)."""
    return field.get("value") if isinstance(field, dict) else field


def _fields(operation: dict[str, Any]) -> dict[str, Any]:
    """An operation's ``record.fields`` (``{}`` when absent or not an object)."""
    fields = operation["record"].get("fields")
    return fields if isinstance(fields, dict) else {}


def _derived_checksum(master_id: str, resource: str) -> str:
    """The checksum of a derived resource (thumbnail, Live Photo video, small video).

    Derived from the master's but never equal to it: a prefix swap such as "AT" + id[2:] would
    collide whenever the id already had that prefix, serving the thumbnail for the original.
    """
    digest = hashlib.sha1(f"{master_id}\x1f{resource}".encode()).digest()
    return ("A" + base64.b64encode(digest).decode())[:28]


def _url_token(checksum: str) -> str:
    """The URL-safe form of a checksum, as Apple's content URLs carry it."""
    return checksum.replace("+", "-").replace("/", "_")


class PhotosCloudKit:
    """The CloudKit routes over the fake's accounts (see the module docstring)."""

    def __init__(
        self,
        accounts: dict[str, Account],
        auth: ICloudAuth,
        clock: Callable[[], datetime],
        base_url: Callable[[], str],
        content: ContentStore,
        refused: list[RefusedCall],
        unmodelled: list[RefusedCall],
        modify_log: list[ModifyLogEntry],
    ) -> None:
        self.accounts = accounts
        self.auth = auth
        self.clock = clock
        self.base_url = base_url
        self.content = content
        self.refused = refused
        self.unmodelled = unmodelled
        self.modify_log = modify_log

    def register(self, router: Router) -> None:
        router.add("POST", CK_ROOT + r"/database/1/([^/]+)/([^/]+)/([^/]+)/(.+)", self.dispatch)

    # -- routing ----------------------------------------------------------------------------------

    def dispatch(self, request: Request, match: Any) -> Response:
        container, environment, database, operation = match.groups()
        if request_cookies(request).get("X-APPLE-WEBAUTH-TOKEN") is None:
            return ck_error(421, "AUTHENTICATION_REQUIRED", "request needs authorization")
        session = self.auth.web_session(request)
        if session is None or not session.trusted:
            return ck_error(401, "AUTHENTICATION_FAILED", "Authentication failed")
        account = self.accounts[session.account]
        route = f"{database}/{operation}"
        if container != PHOTOS_CONTAINER or environment != "production":
            return self._unmodelled(route, account, f"container {container}/{environment}")
        if database not in ("private", "shared"):
            return ck_error(400, "BAD_REQUEST", f"database {database} is not available")
        if not account.web_access_allowed or (
            account.adp and not self.auth.has_pcs(request, session, PCS_PHOTOS)
        ):
            return ck_error(403, "ACCESS_DENIED", "private db access disabled for this account")
        try:
            body = json_body(request) or {}
        except ValueError:
            return ck_error(400, "BAD_REQUEST", "malformed JSON request body")
        if not isinstance(body, dict):
            return ck_error(400, "BAD_REQUEST", "request body must be a JSON object")
        sync = str(request.query.get("getCurrentSyncToken", ["false"])[0]).lower() == "true"
        with self.auth.auth.lock:
            library = account.photos
            library.purge_expired(self.clock())
            if database == "shared":
                if operation == "zones/list":
                    return json_response({"zones": []})
                return ck_error(404, "ZONE_NOT_FOUND", "zone not found in the shared database")
            handler = {
                "records/query": self._query,
                "records/lookup": self._lookup,
                "records/modify": self._modify,
                "zones/list": self._zones,
                "internal/records/query/batch": self._count,
            }.get(operation)
            if handler is None:
                return self._unmodelled(route, account, body)
            if operation != "zones/list":
                zone = body.get("zoneID")
                zones = [zone] if zone is not None else []
                if operation == "internal/records/query/batch":
                    zones = [
                        entry.get("zoneID") if isinstance(entry, dict) else None
                        for entry in body.get("batch") or []
                    ]
                for zone_id in zones:
                    if not self._zone_ok(library, zone_id):
                        name = zone_id.get("zoneName") if isinstance(zone_id, dict) else zone_id
                        return ck_error(404, "ZONE_NOT_FOUND", f"Zone '{name}' does not exist")
            answer = handler(account, body)
            if isinstance(answer, Response):
                return answer
            if sync:
                answer["syncToken"] = library.sync_token()
            return json_response(answer)

    @staticmethod
    def _zone_ok(library: PhotoLibrary, zone_id: Any) -> bool:
        if not isinstance(zone_id, dict) or zone_id.get("zoneName") != "PrimarySync":
            return False
        owner = zone_id.get("ownerRecordName")
        return owner in (None, library.owner_record_name, "__defaultOwner__")

    def _unmodelled(self, route: str, account: Account, arg: Any) -> Response:
        call = RefusedCall(route, account.name, self.clock(), "not modelled by the sandbox", arg)
        with self.auth.auth.lock:
            self.unmodelled.append(call)
        return ck_error(400, "BAD_REQUEST", f"the trashscan sandbox does not model {route}")

    # -- records ----------------------------------------------------------------------------------

    def _audit(self, library: PhotoLibrary, when: datetime) -> dict[str, Any]:
        return {
            "timestamp": millis(when),
            "userRecordName": library.owner_record_name,
            "deviceID": "2",
        }

    def _asset_token(
        self,
        checksum: str,
        size: int,
        filename: str,
        data: bytes | Callable[[], bytes] | None = None,
    ) -> dict[str, Any]:
        token = _url_token(checksum)
        self.content.register(token, size, filename, data)
        url = (
            f"{self.base_url()}/cvws/B/{token}/{quote(filename)}"
            f"?o=A{token[:20]}&v=1&x=3&ckc={PHOTOS_CONTAINER}&ckz=PrimarySync&p=31"
        )
        return {
            "fileChecksum": checksum,
            "size": size,
            "wrappingKey": b64(checksum[:16]),
            "referenceChecksum": "AW" + checksum[2:],
            "downloadURL": url,
        }

    def asset_record(self, library: PhotoLibrary, asset: PhotoAsset) -> dict[str, Any]:
        """A CPLAsset as queries and modify answer it (fields as in the captured lookup and
        ``photo_delete_response.json``)."""
        zone = library.zone_id
        fields: dict[str, Any] = {
            "assetDate": {"value": millis(asset.asset_date), "type": "TIMESTAMP"},
            "orientation": {"value": 1, "type": "INT64"},
            "addedDate": {"value": millis(asset.added_date), "type": "TIMESTAMP"},
            "assetSubtype": {"value": 0, "type": "INT64"},
            "timeZoneOffset": {"value": 0, "type": "INT64"},
            "masterRef": {
                "value": {"recordName": asset.master_id, "action": "DELETE_SELF", "zoneID": zone},
                "type": "REFERENCE",
            },
            "timeZoneNameEnc": {"value": b64("GMT"), "type": "ENCRYPTED_BYTES"},
            "customRenderedValue": {"value": 0, "type": "INT64"},
        }
        if asset.is_deleted or asset.date_expunged is not None:
            fields["isDeleted"] = {"value": int(asset.is_deleted), "type": "INT64"}
        if asset.date_expunged is not None:
            fields["dateExpunged"] = {"value": millis(asset.date_expunged), "type": "TIMESTAMP"}
        if asset.favorite or "isFavorite" in asset.extra_fields:
            fields["isFavorite"] = {"value": int(asset.favorite), "type": "INT64"}
        if asset.hidden or "isHidden" in asset.extra_fields:
            fields["isHidden"] = {"value": int(asset.hidden), "type": "INT64"}
        for name, value in asset.extra_fields.items():
            fields.setdefault(name, value)
        record: dict[str, Any] = {
            "recordName": asset.asset_id,
            "recordType": "CPLAsset",
            "fields": fields,
            "pluginFields": {},
            "recordChangeTag": asset.asset_tag,
            "created": self._audit(library, asset.created),
            "modified": self._audit(library, asset.modified),
            "deleted": False,
            "zoneID": zone,
        }
        expiry = asset.expiration_time
        if expiry is not None:
            record["expirationTime"] = int(expiry.timestamp())
        return record

    def master_record(self, library: PhotoLibrary, asset: PhotoAsset) -> dict[str, Any]:
        """A CPLMaster: the original and its derivatives (captured CPLMaster in
        icloud-photos-sync; ``photos_live_photo_response.json`` for Live Photos)."""
        image = asset.kind == "image"
        stem = asset.filename.rpartition(".")[0] or asset.filename
        thumb_w, thumb_h = (360, 270) if asset.width >= asset.height else (270, 360)
        original, thumb, thumb_size = self._pictures(asset, (thumb_w, thumb_h))
        fields: dict[str, Any] = {
            "itemType": {"value": asset.uti, "type": "STRING"},
            "filenameEnc": {"value": b64(asset.filename), "type": "ENCRYPTED_BYTES"},
            "originalOrientation": {"value": 1, "type": "INT64"},
            "dataClassType": {"value": 1 if image else 2, "type": "INT64"},
            "originalCreationDate": {"value": millis(asset.asset_date), "type": "TIMESTAMP"},
            "resOriginalRes": {
                "value": self._asset_token(asset.master_id, asset.size, asset.filename, original),
                "type": "ASSETID",
            },
            "resOriginalFileType": {"value": asset.uti, "type": "STRING"},
            "resOriginalWidth": {"value": asset.width, "type": "INT64"},
            "resOriginalHeight": {"value": asset.height, "type": "INT64"},
            "resOriginalFingerprint": {"value": asset.master_id, "type": "STRING"},
            "resOriginalFileSize": {"value": asset.size, "type": "INT64"},
            "resJPEGThumbRes": {
                "value": self._asset_token(
                    _derived_checksum(asset.master_id, "thumb"),
                    thumb_size,
                    f"{stem}_thumb.JPG",
                    thumb,
                ),
                "type": "ASSETID",
            },
            "resJPEGThumbFileType": {"value": "public.jpeg", "type": "STRING"},
            "resJPEGThumbWidth": {"value": thumb_w, "type": "INT64"},
            "resJPEGThumbHeight": {"value": thumb_h, "type": "INT64"},
            "resJPEGThumbFingerprint": {
                "value": _derived_checksum(asset.master_id, "thumb"),
                "type": "STRING",
            },
            "resJPEGThumbFileSize": {"value": thumb_size, "type": "INT64"},
        }
        if asset.live_video_size is not None:
            fields.update(
                {
                    "resOriginalVidComplRes": {
                        "value": self._asset_token(
                            _derived_checksum(asset.master_id, "live-video"),
                            asset.live_video_size,
                            f"{stem}.MOV",
                        ),
                        "type": "ASSETID",
                    },
                    "resOriginalVidComplFileType": {
                        "value": "com.apple.quicktime-movie",
                        "type": "STRING",
                    },
                    "resOriginalVidComplWidth": {"value": 1440, "type": "INT64"},
                    "resOriginalVidComplHeight": {"value": 1080, "type": "INT64"},
                    "resOriginalVidComplFingerprint": {
                        "value": _derived_checksum(asset.master_id, "live-video"),
                        "type": "STRING",
                    },
                    "resOriginalVidComplFileSize": {
                        "value": asset.live_video_size,
                        "type": "INT64",
                    },
                }
            )
        if not image:
            small = max(asset.size // 12, 50_000)
            fields.update(
                {
                    "resVidSmallRes": {
                        "value": self._asset_token(
                            _derived_checksum(asset.master_id, "small-video"),
                            small,
                            f"{stem}_small.MOV",
                        ),
                        "type": "ASSETID",
                    },
                    "resVidSmallFileType": {"value": "com.apple.quicktime-movie", "type": "STRING"},
                    "resVidSmallWidth": {"value": 640, "type": "INT64"},
                    "resVidSmallHeight": {"value": 360, "type": "INT64"},
                    "resVidSmallFingerprint": {
                        "value": _derived_checksum(asset.master_id, "small-video"),
                        "type": "STRING",
                    },
                }
            )
        return {
            "recordName": asset.master_id,
            "recordType": "CPLMaster",
            "fields": fields,
            "pluginFields": {},
            "recordChangeTag": asset.master_tag,
            "created": self._audit(library, asset.created),
            "modified": self._audit(library, asset.created),
            "deleted": False,
            "zoneID": library.zone_id,
        }

    @staticmethod
    def _pictures(
        asset: PhotoAsset, thumb_box: tuple[int, int]
    ) -> tuple[bytes | Callable[[], bytes], bytes | Callable[[], bytes], int]:
        """The original's bytes, the ``resJPEGThumb`` JPEG and its size, for an asset.

        The thumbnail is a real JPEG of the declared ``resJPEGThumbWidth``/``Height`` (a poster
        for videos: pyicloud's ``thumb_image``; ``thumb`` of a video is ``resVidSmall``), cut
        from the asset's content when it has some (seeded assets), else drawn for its name; its
        ``resJPEGThumbFileSize`` is its length. Assets made with a size only (bulk benchmark
        data, test seams) serve pictures padded to their declared sizes, made on first
        download, so listing 10,000 of them draws nothing."""
        portrait = asset.height > asset.width
        key = asset.asset_id

        def thumbnail() -> bytes:
            return pictures.thumbnail(
                asset.filename,
                key,
                box=thumb_box,
                portrait=portrait,
                upscale=True,
                data=asset.content,
            )

        if asset.content is not None:
            thumb = thumbnail()
            return asset.content, thumb, len(thumb)
        thumb_size = 28_000 + len(asset.master_id) * 977 % 30_000
        size = asset.size

        def original() -> bytes:
            return pictures.padded(pictures.content(asset.filename, key, portrait=portrait), size)

        return original, lambda: pictures.padded(thumbnail(), thumb_size), thumb_size

    @staticmethod
    def _desired(record: dict[str, Any], keys: Any) -> dict[str, Any]:
        """``desiredKeys`` limits the fields returned (CloudKit Web Services, Querying Records)."""
        if not isinstance(keys, list):
            return record
        wanted = set(keys)
        return {**record, "fields": {k: v for k, v in record["fields"].items() if k in wanted}}

    # -- operations -------------------------------------------------------------------------------

    def _zones(self, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        library = account.photos
        return {
            "zones": [
                {"zoneID": library.zone_id, "syncToken": library.sync_token(), "deleted": False}
            ]
        }

    def _query(self, account: Account, body: dict[str, Any]) -> dict[str, Any] | Response:
        library = account.photos
        query = body.get("query") or {}
        record_type = query.get("recordType")
        filters: dict[str, Any] = {}
        for entry in query.get("filterBy") or []:
            if isinstance(entry, dict) and isinstance(entry.get("fieldValue"), dict):
                filters[str(entry.get("fieldName"))] = entry["fieldValue"].get("value")
        if record_type == "CheckIndexingState":
            return {"records": [self._indexing_record(library)]}
        if record_type == "CPLAlbumByPositionLive":
            return {"records": []}  # no user albums or folders in the sandbox libraries
        index = LIST_INDEXES.get(str(record_type))
        if index is None:
            return self._unmodelled("private/records/query", account, body)
        if index == "smart":
            smart = str(filters.get("smartAlbum") or "")
            index = smart if smart in SMART_ALBUMS else "none"
        assets = library.index(index)
        record_name = filters.get("recordName")
        if record_name is not None:
            page = [a for a in assets if a.asset_id == record_name][:1]
        else:
            page = self._page(assets, filters, body.get("resultsLimit"))
        records: list[dict[str, Any]] = []
        for asset in page:
            records.append(
                self._desired(self.asset_record(library, asset), body.get("desiredKeys"))
            )
            records.append(
                self._desired(self.master_record(library, asset), body.get("desiredKeys"))
            )
        return {"records": records}

    @staticmethod
    def _page(assets: list[PhotoAsset], filters: dict[str, Any], limit: Any) -> list[PhotoAsset]:
        try:
            start = int(filters.get("startRank") or 0)
            records = int(limit) if limit is not None else 2 * MAX_PAIRS
        except (TypeError, ValueError):
            return []
        pairs = min(MAX_PAIRS, max(1, records // 2))
        if start < 0 or start >= len(assets):
            return []
        if str(filters.get("direction") or "ASCENDING") == "DESCENDING":
            low = max(0, start - pairs + 1)
            return list(reversed(assets[low : start + 1]))
        return assets[start : start + pairs]

    def _indexing_record(self, library: PhotoLibrary) -> dict[str, Any]:
        now = self.clock()
        return {
            "recordName": "_indexingState",
            "recordType": "CheckIndexingState",
            "fields": {
                "progress": {
                    "value": 100 if library.indexing_state == "FINISHED" else 40,
                    "type": "INT64",
                },
                "state": {"value": library.indexing_state, "type": "STRING"},
            },
            "pluginFields": {},
            "recordChangeTag": "0",
            "created": self._audit(library, now),
            "modified": self._audit(library, now),
            "deleted": False,
            "zoneID": library.zone_id,
        }

    def _count(self, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        library = account.photos
        now = self.clock()
        batch: list[dict[str, Any]] = []
        for entry in body.get("batch") or []:
            if not isinstance(entry, dict):
                continue
            value = ((entry.get("query") or {}).get("filterBy") or {}).get("fieldValue") or {}
            ids = value.get("value") or []
            records = []
            for index_id in ids if isinstance(ids, list) else [ids]:
                records.append(
                    {
                        "recordName": f"HyperionIndexCountLookup-{index_id}",
                        "recordType": "HyperionIndexCountLookup",
                        "fields": {
                            "itemCount": {
                                "value": self._count_of(library, str(index_id)),
                                "type": "INT64",
                            }
                        },
                        "pluginFields": {},
                        "recordChangeTag": "0",
                        "created": self._audit(library, now),
                        "modified": self._audit(library, now),
                        "deleted": False,
                        "zoneID": library.zone_id,
                    }
                )
            batch.append({"records": records})
        return {"batch": batch}

    @staticmethod
    def _count_of(library: PhotoLibrary, index_id: str) -> int:
        index = COUNT_INDEXES.get(index_id)
        if index is None and index_id.startswith("CPLAssetInSmartAlbumByAssetDate:"):
            smart = index_id.rpartition(":")[2].upper()
            index = smart if smart in SMART_ALBUMS else "none"
        return len(library.index(index or "none"))

    def _lookup(self, account: Account, body: dict[str, Any]) -> dict[str, Any]:
        library = account.photos
        records: list[dict[str, Any]] = []
        for entry in body.get("records") or []:
            name = str(entry.get("recordName") if isinstance(entry, dict) else entry)
            if name in library.assets:
                record = self.asset_record(library, library.assets[name])
            elif name in library.masters:
                record = self.master_record(library, library.masters[name])
            else:
                records.append(ck_record_error(name, "NOT_FOUND", "Record not found"))
                continue
            records.append(self._desired(record, body.get("desiredKeys")))
        return {"records": records}

    def _modify(self, account: Account, body: dict[str, Any]) -> dict[str, Any] | Response:
        library = account.photos
        now = self.clock()
        operations = body.get("operations")
        if (
            not isinstance(operations, list)
            or not operations
            or not all(
                isinstance(op, dict) and isinstance(op.get("record"), dict) for op in operations
            )
        ):
            return ck_error(400, "BAD_REQUEST", "operations must be a list of record operations")
        reasons: list[str] = []
        for operation in operations:
            kind = str(operation.get("operationType"))
            fields = _fields(operation)
            if kind in DESTRUCTIVE_OPERATIONS:
                reasons.append(f"{kind} {DESTRUCTIVE_OPERATIONS[kind]}")
            if _field_value(fields.get("isDeleted")) == 1:
                reasons.append("isDeleted: 1 moves the item to Recently Deleted")
            if _field_value(fields.get("isExpunged")) == 1:
                reasons.append("isExpunged: 1 purges the item for good")
        if reasons:
            self.refused.append(
                RefusedCall("private/records/modify", account.name, now, "; ".join(reasons), body)
            )
            return ck_error(
                400,
                "BAD_REQUEST",
                "the trashscan sandbox refuses destructive writes (" + "; ".join(reasons) + ")",
            )
        if any(
            op.get("operationType") not in ("update", "forceUpdate")
            or op["record"].get("recordType") != "CPLAsset"
            for op in operations
        ):
            return self._unmodelled("private/records/modify", account, body)
        atomic = bool(body.get("atomic", True))
        outcomes: list[dict[str, Any] | None] = []
        targets: list[PhotoAsset | None] = []
        for operation in operations:
            record = operation["record"]
            name = record.get("recordName")
            asset = library.assets.get(str(name))
            if asset is None:
                outcomes.append(ck_record_error(name, "NOT_FOUND", "Record not found"))
                targets.append(None)
            elif (
                operation.get("operationType") == "update"
                and record.get("recordChangeTag") != asset.asset_tag
            ):
                outcomes.append(
                    ck_record_error(name, "CONFLICT", "client oplock error updating record")
                )
                targets.append(None)
            else:
                outcomes.append(None)
                targets.append(asset)
        failed = any(outcome is not None for outcome in outcomes)
        records: list[dict[str, Any]] = []
        codes: list[str] = []
        for operation, outcome, asset in zip(operations, outcomes, targets, strict=True):
            if outcome is not None:
                records.append(outcome)
                codes.append(outcome["serverErrorCode"])
            elif atomic and failed:
                name = operation["record"].get("recordName")
                records.append(
                    ck_record_error(name, "ATOMIC_ERROR", "Atomic batch operation failed")
                )
                codes.append("ATOMIC_ERROR")
            else:
                assert asset is not None
                self._apply(library, asset, _fields(operation), now)
                records.append(self.asset_record(library, asset))
                codes.append("OK")
        self.modify_log.append(ModifyLogEntry(account.name, now, atomic, operations, codes))
        return {"records": records}

    @staticmethod
    def _apply(
        library: PhotoLibrary, asset: PhotoAsset, fields: dict[str, Any], now: datetime
    ) -> None:
        for name, field in fields.items():
            value = _field_value(field)
            kind = field.get("type") if isinstance(field, dict) else None
            if name == "isDeleted":
                if asset.is_deleted:
                    library.mark_restored(asset, now)
            elif name == "isFavorite":
                asset.favorite = bool(value)
                asset.extra_fields.pop(name, None)
            elif name == "isHidden":
                asset.hidden = bool(value)
                asset.extra_fields.pop(name, None)
            else:
                asset.extra_fields[name] = {"value": value, "type": kind or _guess_type(value)}
        asset.modified = now
        asset.asset_tag = library.new_tag()
        library.touched()


def _guess_type(value: Any) -> str:
    if isinstance(value, bool | int):
        return "INT64"
    if isinstance(value, float):
        return "DOUBLE"
    if isinstance(value, dict):
        return "REFERENCE"
    return "STRING"
