"""Restoring on OneDrive personal: ``POST /me/drive/items/{id}/restore``, never over anything.

The restore action puts an item back at its original place under its original name. Graph
documents no conflict behaviour for it, so each restore first looks:

* Is the item live already (restored by other means)? ``GET items/{id}``: 200 means yes.
* Is the original folder still there? If not (404), the item goes to the drive's root folder,
  named in ``parentReference``, and the result says so.
* Is the name free in that folder? ``GET items/{parent}:/{name}``: 404 means free. Otherwise the
  item is restored as ``name (restored).ext`` (then ``(restored 2)``, ...), reported as a resolved
  conflict. Nothing is ever overwritten; a name taken between the check and the restore makes
  Graph refuse it (409), and the item is skipped with that reason.

An item deleted with its folder is in the recycle bin inside that folder, so the folder is what is
restored (several photos of one folder cost one restore). Every restore is verified by reading
each photo back: it must be live (no ``deleted`` facet).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import quote

from trashscan.errors import AccountError, AuthError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan_onedrive.client import (
    GraphSession,
    error_of,
    json_of,
    permission_refusal,
    query,
)

MAX_SIBLINGS = 20  # names probed before giving up on a free one
VERIFY_SELECT = "id,name,parentReference,deleted"
RESTORE_PERMISSION = "Files.ReadWrite.All"


def item_url(session: GraphSession, item_id: str, rest: str = "") -> str:
    """``{graph}v1.0/me/drive/items/{id}[rest]``; ``!`` stays literal in personal ids."""
    return session.settings.v1(f"me/drive/items/{quote(item_id, safe='!')}{rest}")


def sibling(name: str, attempt: int) -> str:
    """``a.jpg`` -> ``a (restored).jpg``, then ``a (restored 2).jpg``, ..."""
    pure = PurePosixPath(name)
    label = "restored" if attempt == 1 else f"restored {attempt}"
    return f"{pure.stem} ({label}){pure.suffix}"


def restored_path(data: dict[str, Any]) -> str | None:
    """``/Pictures/a.jpg`` from ``parentReference.path`` (``/drive/root:/Pictures``) and name."""
    parent = data.get("parentReference") if isinstance(data.get("parentReference"), dict) else {}
    folder, name = parent.get("path"), data.get("name")
    if not isinstance(folder, str) or not isinstance(name, str):
        return None
    inside = folder.split(":", 1)[1] if ":" in folder else ""
    return inside.rstrip("/") + "/" + name


@dataclass(frozen=True, slots=True)
class Target:
    """What is restored: the item itself, or the deleted folder that holds it."""

    id: str
    name: str
    parent_id: str | None
    folder: str | None = None  # set when restoring the item's folder


@dataclass(frozen=True, slots=True)
class Placement:
    parent_id: str
    name: str
    moved: bool  # to the root folder: the original folder is gone
    renamed: bool


def target_of(item: IndexedItem) -> Target | None:
    handle = item.restore_handle or {}
    if isinstance(handle.get("folder_id"), str) and isinstance(handle.get("folder_name"), str):
        parent = handle.get("folder_parent_id")
        return Target(
            handle["folder_id"],
            handle["folder_name"],
            parent if isinstance(parent, str) else None,
            folder=handle["folder_name"],
        )
    if isinstance(handle.get("id"), str) and isinstance(handle.get("name"), str):
        parent = handle.get("parent_id")
        return Target(handle["id"], handle["name"], parent if isinstance(parent, str) else None)
    return None


class PersonalRestorer:
    def __init__(self, session: GraphSession) -> None:
        self.session = session

    def restore(self, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        groups: dict[str, list[IndexedItem]] = {}
        targets: dict[str, Target] = {}
        for item in items:
            target = target_of(item)
            if target is None:
                detail = "no restore information recorded; scan the account again"
                yield RestoreResult(item.item_id, RestoreOutcome.SKIPPED, detail)
                continue
            targets.setdefault(target.id, target)
            groups.setdefault(target.id, []).append(item)
        for target_id, members in groups.items():  # one at a time: restores are writes
            reported: set[str] = set()
            try:
                for result in self._restore(targets[target_id], members):
                    reported.add(result.item_id)
                    yield result
            except AuthError:
                raise  # the sign-in itself failed: every further item would fail alike
            except AccountError as exc:  # this target only (refused, throttled out)
                for item in members:
                    if item.item_id not in reported:
                        yield RestoreResult(item.item_id, RestoreOutcome.FAILED, str(exc))

    # ------------------------------------------------------------------ one target

    def _restore(self, target: Target, members: list[IndexedItem]) -> Iterator[RestoreResult]:
        if self._read(target.id) is not None:
            for item in members:
                yield self._verify(item, target, None)
            return
        place = self._placement(target)
        if place is None:
            detail = (
                f"{target.name} and the next {MAX_SIBLINGS} '(restored)' names are taken; "
                "nothing was overwritten"
            )
            for item in members:
                yield RestoreResult(item.item_id, RestoreOutcome.SKIPPED, detail)
            return
        refusal = self._send(target, place)
        for item in members:
            if refusal is not None:
                yield RestoreResult(item.item_id, refusal[0], refusal[1])
            else:
                yield self._verify(item, target, place)

    def _read(self, item_id: str) -> dict[str, Any] | None:
        """The live item, or None when Graph does not find it (in the bin, or purged)."""
        url = item_url(self.session, item_id) + "?" + query({"$select": VERIFY_SELECT})
        response = self.session.send("GET", url)
        if response.status_code == 404:
            return None
        self.session.check(response, "reading the item")
        data = json_of(response, "reading the item")
        return None if data.get("deleted") is not None else data

    def _placement(self, target: Target) -> Placement | None:
        parent, moved = target.parent_id, False
        if parent is None or self._read(parent) is None:
            root = self.session.get_json(
                self.session.settings.v1("me/drive/root") + "?" + query({"$select": "id"}),
                "reading the drive's root folder",
            )
            if not isinstance(root.get("id"), str):
                raise AccountError("OneDrive did not say which folder is the drive's root")
            parent, moved = root["id"], True
        for attempt in range(MAX_SIBLINGS + 1):
            name = target.name if attempt == 0 else sibling(target.name, attempt)
            response = self.session.send(
                "GET", item_url(self.session, parent, f":/{quote(name, safe='')}")
            )
            if response.status_code == 404:
                return Placement(parent, name, moved, renamed=attempt > 0)
            self.session.check(response, "checking whether the name is free")
        return None

    def _send(self, target: Target, place: Placement) -> tuple[RestoreOutcome, str] | None:
        """POST the restore; None when it went through (or may have: the read-back decides)."""
        body: dict[str, Any] = {}
        if place.moved:
            body["parentReference"] = {"id": place.parent_id}
        if place.renamed:
            body["name"] = place.name
        response = self.session.send(
            "POST", item_url(self.session, target.id, "/restore"), body=body
        )
        status = response.status_code
        if status < 300 or status >= 500:  # a 5xx may have been applied: read back
            return None
        code, _ = error_of(response)
        if status == 409:
            detail = f"{place.name} was taken meanwhile; nothing was overwritten"
            return RestoreOutcome.SKIPPED, detail
        if status == 404:
            return RestoreOutcome.FAILED, "no longer in the OneDrive recycle bin (purged?)"
        if status == 403:
            what = "the restore"
            return RestoreOutcome.FAILED, permission_refusal(self.session, what, RESTORE_PERMISSION)
        if status == 507 or code in {"quotaLimitReached", "insufficientStorage"}:
            return RestoreOutcome.FAILED, "OneDrive is full: restoring needs free space"
        suffix = f" ({code})" if code else ""
        return RestoreOutcome.FAILED, f"OneDrive refused the restore: HTTP {status}{suffix}"

    def _verify(self, item: IndexedItem, target: Target, place: Placement | None) -> RestoreResult:
        """Read the photo back; ``place`` None means it was live before anything was sent."""
        data = self._read(item.item_id)
        if data is None:
            detail = (
                "its folder is back, but it is not"
                if place is None
                else "restore sent, but OneDrive does not show it back; scan again"
            )
            return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)
        path = restored_path(data)
        shown = path or str(data.get("name") or item.name)
        if place is None:
            detail = f"already back at {shown}"
            return RestoreResult(item.item_id, RestoreOutcome.ALREADY_RESTORED, detail, path)
        notes: list[str] = []
        if target.folder is not None:
            notes.append(f"restored with its folder {target.folder}")
        if place.renamed:
            notes.append(f"{target.name} was taken: restored as {place.name}")
        if place.moved:
            notes.append("its original folder is gone: restored into the root folder")
        outcome = RestoreOutcome.RESTORED
        if place.renamed or place.moved:
            outcome = RestoreOutcome.CONFLICT_RESOLVED
        # The restored path is reported by the core already; name the place only without one.
        detail = ("; ".join(notes) + ("" if path else f" ({shown})")) if notes else None
        return RestoreResult(item.item_id, outcome, detail, path)
