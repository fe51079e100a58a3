"""iCloud Drive "Recently Deleted": its photos and videos, and putting them back.

**Listing.** ``drive.trash`` is one ``retrieveItemDetailsInFolders`` of ``TRASH_ROOT``; pyicloud
does not page it (whether Apple pages a very large trash is not known). Files whose extension is
a photo or video type are listed. Each item states ``dateExpiration`` (the purge, exact) and
``restorePath`` (where it goes back). The deletion time is ``dateChanged`` (moving an item to the
trash changes it; in every sample ``dateExpiration`` is exactly 30 days later); without it, it is
derived from ``dateExpiration`` and marked as an estimate. Items inside a deleted folder are not
listed: only the folder is in ``TRASH_ROOT``.

**Restore.** ``DriveNode.recover()`` (``putBackItemsFromTrash``), one item at a time, on a node
freshly read from the trash (current ``etag``). What iCloud does when ``restorePath`` is taken is
not known, so it is not tried: the path is resolved first, and a taken path is reported with
what holds it (as iCloud Drive spells it) and where the item waits, for the user to finish by
hand, seeing both files.

**Apart from Photos.** A Drive listing that fails (throttled or unavailable past the retries) does
not fail the account: :func:`drive_pages` returns the part as unlisted (see ``ScanOutcome``).
"""

from __future__ import annotations

import logging
from collections.abc import Generator
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

from pyicloud.services.drive import DriveNode, DriveService

from trashscan.errors import AccountError, AuthError, TrashscanError
from trashscan.kinds import PHOTO_EXTENSIONS, VIDEO_EXTENSIONS, guess_mime_type
from trashscan.models import (
    DeletedAtSource,
    IndexedItem,
    Page,
    RestoreOutcome,
    RestoreResult,
    TrashItem,
    UnlistedPart,
)
from trashscan_icloud.client import ICloudSession, MaybeApplied, WebAccessBlocked
from trashscan_icloud.options import RETENTION_DAYS

log = logging.getLogger(__name__)

MEDIA_EXTENSIONS = PHOTO_EXTENSIONS | VIDEO_EXTENSIONS
PAGE_ITEMS = 500
TRASH_ROOT = "TRASH_ROOT"
DRIVE_TRASH = "iCloud Drive › Recently Deleted"  # as the user finds it on icloud.com
DRIVE_ID_PREFIX = "drive:"  # every Drive item's id starts with it (Photos' with "photo:")
_FOLDER_TYPES = {"FOLDER", "APP_LIBRARY"}


def parse_time(value: Any) -> datetime | None:
    """Drive's ISO 8601 times: ``2024-12-12T02:17:55Z`` or with an offset (``-07:00``)."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)


def node_name(data: dict[str, Any]) -> str:
    """The name with its extension, as ``DriveNode.name`` builds it."""
    name = data.get("name") or data.get("drivewsid") or "<unknown>"
    extension = data.get("extension")
    return f"{name}.{extension}" if extension else str(name)


def is_media(data: dict[str, Any]) -> bool:
    if data.get("type") != "FILE":
        return False
    return PurePosixPath(node_name(data)).suffix.lower() in MEDIA_EXTENSIONS


def drive_item(data: dict[str, Any]) -> TrashItem:
    name = node_name(data)
    ident = data.get("drivewsid") or data.get("docwsid")
    restore_path = data.get("restorePath") or None
    purge_at = parse_time(data.get("dateExpiration"))
    changed = parse_time(data.get("dateChanged"))
    size = data.get("size")
    item = TrashItem(
        item_id=f"{DRIVE_ID_PREFIX}{ident}",
        name=name,
        path=restore_path,
        mime_type=guess_mime_type(name),
        size=int(size) if isinstance(size, int | str) and str(size).isdigit() else None,
        restore_handle={
            "kind": "drive",
            "drivewsid": data.get("drivewsid"),
            "docwsid": data.get("docwsid"),
            "etag": data.get("etag"),
            "zone": data.get("zone"),
            "restore_path": restore_path,
        },
    )
    if purge_at is not None:
        item.purge_at = purge_at
        item.purge_is_estimate = False
        if changed is not None and changed <= purge_at:
            item.deleted_at, item.deleted_at_source = changed, DeletedAtSource.API
        else:  # derived from Apple's 30 days; "observed" is the core's mark for an estimate
            item.deleted_at = purge_at - timedelta(days=RETENTION_DAYS)
            item.deleted_at_source = DeletedAtSource.OBSERVED
    elif changed is not None:  # the core adds the 30 days, as an estimate
        item.deleted_at, item.deleted_at_source = changed, DeletedAtSource.API
    if not restore_path:
        item.restorable = False
        item.not_restorable_reason = "iCloud Drive gives no original location for it"
    return item


def _drive(session: ICloudSession) -> DriveService:
    service = session.service
    return session.call(lambda: service.drive, "Drive")


def _trash_items(session: ICloudSession, drive: DriveService) -> list[dict[str, Any]]:
    def read() -> list[dict[str, Any]]:
        drive.refresh_trash()
        items = drive.trash.data.get("items")
        return [item for item in items or [] if isinstance(item, dict)]

    return session.call(read, "Drive Recently Deleted listing")


def has_drive(session: ICloudSession) -> bool:
    webservices = session.service.webservices or {}
    return isinstance(webservices.get("drivews"), dict) and isinstance(
        webservices.get("docws"), dict
    )


def drive_pages(session: ICloudSession) -> Generator[Page, None, UnlistedPart | None]:
    """The photos and videos of Drive's Recently Deleted; returns the part left unlisted, if any.

    Drive's trash is a listing of its own, apart from Photos' Recently Deleted: when it is
    throttled or failing (the retries spent), the photos already listed stand, and Drive's items
    are reported as :class:`UnlistedPart` so the core keeps them as last listed. Whatever concerns
    the whole account (a sign-in needed, web access off) still fails the scan.
    """
    if not has_drive(session):
        log.info("iCloud account %s offers no iCloud Drive", session.account.name)
        return None
    try:
        listed = _trash_items(session, _drive(session))
    except (AuthError, WebAccessBlocked):
        raise
    except AccountError as exc:
        return UnlistedPart(DRIVE_TRASH, DRIVE_ID_PREFIX, exc.one_line())
    items = [drive_item(data) for data in listed if is_media(data)]
    for start in range(0, len(items), PAGE_ITEMS):
        yield Page(items=items[start : start + PAGE_ITEMS])
    return None


class DriveRestorer:
    def __init__(self, session: ICloudSession) -> None:
        self.session = session
        self._service: DriveService | None = None
        self._in_trash: dict[str, dict[str, Any]] | None = None

    @property
    def drive(self) -> DriveService:
        if self._service is None:
            self._service = _drive(self.session)
        return self._service

    def _trash(self) -> dict[str, dict[str, Any]]:
        """The trash as it is now (read once per restore run)."""
        if self._in_trash is None:
            self._in_trash = {
                str(data.get("drivewsid")): data for data in _trash_items(self.session, self.drive)
            }
        return self._in_trash

    def _children(self, node: DriveNode) -> list[DriveNode]:
        return self.session.call(node.get_children, "Drive folder listing")

    def _at(self, path: str) -> DriveNode | None:
        """What is at ``path`` (relative to iCloud Drive's root) now, or None."""
        found = self._find(path)
        return found[0] if found else None

    def _find(self, path: str) -> tuple[DriveNode, str] | None:
        """What is at ``path`` now, with its path as iCloud Drive spells it, or None.

        Names are compared case-insensitively, as Apple's file systems do by default, so what
        is found may be named differently (``Beach.JPG`` at ``beach.jpg``).
        """
        parts = [part for part in path.split("/") if part]
        if not parts:
            return None
        drive = self.drive

        def root() -> DriveNode:
            drive.refresh_root()  # fresh: an earlier put-back of this run may have changed it
            return drive.root

        node = self.session.call(root, "Drive root listing")
        spelled: list[str] = []
        for index, part in enumerate(parts):
            wanted = part.casefold()
            last = index == len(parts) - 1
            match = next(
                (
                    child
                    for child in self._children(node)
                    if node_name(child.data).casefold() == wanted
                    and (last or child.data.get("type") in _FOLDER_TYPES)
                ),
                None,
            )
            if match is None:
                return None
            node = match
            spelled.append(node_name(match.data))
        return node, "/".join(spelled)

    def restore(self, item: IndexedItem) -> RestoreResult:
        handle = item.restore_handle or {}
        drivewsid = handle.get("drivewsid")
        if not isinstance(drivewsid, str):
            return _result(item, RestoreOutcome.SKIPPED, "no iCloud Drive id known; scan again")
        try:
            return self._restore(item, handle, drivewsid)
        except TrashscanError as exc:
            return _result(item, RestoreOutcome.FAILED, exc.one_line())

    def _restore(self, item: IndexedItem, handle: dict[str, Any], drivewsid: str) -> RestoreResult:
        data = self._trash().get(drivewsid)
        if data is None:
            path = handle.get("restore_path")
            occupant = self._at(path) if isinstance(path, str) else None
            if occupant is not None and occupant.data.get("docwsid") == handle.get("docwsid"):
                return _result(item, RestoreOutcome.ALREADY_RESTORED, f"{path} holds it again")
            detail = "it is no longer in iCloud Drive's Recently Deleted (purged, or restored)"
            return _result(item, RestoreOutcome.SKIPPED, detail)
        restore_path = data.get("restorePath")
        if not restore_path:
            detail = "iCloud Drive gives no original location for it"
            return _result(item, RestoreOutcome.SKIPPED, detail)
        occupant = self._find(restore_path)
        if occupant is not None:
            return _result(item, RestoreOutcome.SKIPPED, _taken(data, *occupant, restore_path))
        node = DriveNode(self.drive, data)
        try:
            answer = self.session.call(node.recover, "Drive put-back", write=True)
        except MaybeApplied:
            answer = None
        self._in_trash = None  # the trash changed
        return self._verify(item, answer, restore_path)

    def _verify(self, item: IndexedItem, answer: Any, restore_path: str) -> RestoreResult:
        entries = answer.get("items") if isinstance(answer, dict) else None
        entry = entries[0] if isinstance(entries, list) and entries else None
        if not isinstance(entry, dict):
            # The answer was lost: the trash tells whether it left.
            if str((item.restore_handle or {}).get("drivewsid")) in self._trash():
                return _result(item, RestoreOutcome.FAILED, "iCloud Drive did not put it back")
            return _result(item, RestoreOutcome.RESTORED, None, restore_path)
        status = entry.get("status")
        if status != "OK" or entry.get("parentId") == TRASH_ROOT:
            detail = f"iCloud Drive did not put it back ({status or 'no status'})"
            return _result(item, RestoreOutcome.FAILED, detail)
        restored_name = node_name(entry)
        expected = PurePosixPath(restore_path).name
        if entry.get("name") and restored_name != expected:
            shown = str(PurePosixPath(restore_path).with_name(restored_name))
            detail = f"{restore_path} was taken: restored as {shown}"
            return _result(item, RestoreOutcome.CONFLICT_RESOLVED, detail, shown)
        return _result(item, RestoreOutcome.RESTORED, None, restore_path)


def _result(
    item: IndexedItem,
    outcome: RestoreOutcome,
    detail: str | None,
    restored_path: str | None = None,
) -> RestoreResult:
    return RestoreResult(item.item_id, outcome, detail=detail, restored_path=restored_path)


def _taken(data: dict[str, Any], occupant: DriveNode, where: str, restore_path: str) -> str:
    """Where to finish by hand: what holds the path, and where the item waits.

    What put-back does onto a taken path is not known, so it is never tried; the user sees both
    and decides. Once the path is free, recovering the item puts it back there.
    """
    kind = "folder" if occupant.data.get("type") in _FOLDER_TYPES else "file"
    article = "a" if kind == "folder" else "another"
    return (
        f"{restore_path} is taken by {article} {kind}: move or rename the {kind} at {where} in "
        f"iCloud Drive, then recover {node_name(data)} by hand in {DRIVE_TRASH}"
    )
