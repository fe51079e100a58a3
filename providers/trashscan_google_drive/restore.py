"""Restoring: ``files.update {"trashed": false}`` in batches, checked before and read back after.

Three batched round trips per 100 targets: a fresh read (is it still trashed, may this account
untrash it: the index's copy of ``canUntrash`` may be hours old), the PATCH, and a read-back,
because a 200 from a batch part is not proof the item left the trash.

An item trashed through its folder is restored by untrashing that folder (the documented way;
what a PATCH on the child alone does is not documented), so items sharing a folder share one PATCH.
Nothing here ever deletes: Drive keys files by id, so an untrash cannot overwrite anything.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

from trashscan.errors import AccountError
from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan_google_drive.client import DriveApiError, DriveSession
from trashscan_google_drive.scan import NOT_UNTRASHABLE

CHECK_FIELDS = "id,name,trashed,capabilities(canUntrash)"
VERIFY_FIELDS = "id,trashed"


def _target(item: IndexedItem) -> str:
    untrash = (item.restore_handle or {}).get("untrash")
    return untrash if isinstance(untrash, str) and untrash else item.item_id


def _results(
    members: list[IndexedItem], outcome: RestoreOutcome, detail: str | None
) -> Iterator[RestoreResult]:
    for item in members:
        folder = (item.restore_handle or {}).get("folder")
        text = detail
        if folder and _target(item) != item.item_id:
            if outcome is RestoreOutcome.RESTORED:
                text = f"restored with its folder {folder}"
            else:
                text = f"its folder {folder}: {detail}"
        yield RestoreResult(item.item_id, outcome, detail=text)


def _failure(error: AccountError) -> str:
    if isinstance(error, DriveApiError) and error.status == 404:
        return "no longer in Google Drive (purged or deleted for good)"
    return str(error)


def restore(session: DriveSession, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
    groups: dict[str, list[IndexedItem]] = {}
    for item in items:
        groups.setdefault(_target(item), []).append(item)
    files = session.drive.files()

    def read(fields: str) -> Any:
        return lambda file_id: files.get(fileId=file_id, fields=fields, supportsAllDrives=True)

    to_patch: list[str] = []
    for target, answer in session.batch(groups, read(CHECK_FIELDS), "files.get").items():
        members = groups[target]
        if isinstance(answer, AccountError):
            yield from _results(members, RestoreOutcome.FAILED, _failure(answer))
        elif not answer.get("trashed"):
            detail = "not in the trash any more"
            yield from _results(members, RestoreOutcome.ALREADY_RESTORED, detail)
        elif (answer.get("capabilities") or {}).get("canUntrash") is False:
            yield from _results(members, RestoreOutcome.SKIPPED, NOT_UNTRASHABLE)
        else:
            to_patch.append(target)

    def untrash(file_id: str) -> Any:
        return files.update(
            fileId=file_id, body={"trashed": False}, supportsAllDrives=True, fields="id,trashed"
        )

    sent: list[str] = []
    for target, answer in session.batch(to_patch, untrash, "files.update").items():
        if isinstance(answer, AccountError):
            yield from _results(groups[target], RestoreOutcome.FAILED, _failure(answer))
        else:
            sent.append(target)

    for target, answer in session.batch(sent, read(VERIFY_FIELDS), "files.get").items():
        members = groups[target]
        if isinstance(answer, AccountError):
            detail = f"restore sent, but reading it back failed: {_failure(answer)}"
            yield from _results(members, RestoreOutcome.FAILED, detail)
        elif answer.get("trashed"):
            detail = "Google Drive still shows it in the trash after the restore"
            yield from _results(members, RestoreOutcome.FAILED, detail)
        else:
            yield from _results(members, RestoreOutcome.RESTORED, None)
