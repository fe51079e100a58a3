"""Restoring: the modelled Photos un-delete (exact body, stale tag, read-back), Drive put-back."""

from __future__ import annotations

from typing import Any

import responses

from trashscan.models import RestoreOutcome

from .conftest import (
    DRIVEWS,
    PHOTOS_DB,
    PHOTOS_QUERY,
    ROOT_ID,
    SETUP,
    ZONE,
    Apple,
    drive_file,
    drive_folder_item,
    indexed_drive,
    indexed_photo,
)

MODIFY = f"{PHOTOS_DB}/records/modify"
LOOKUP = f"{PHOTOS_DB}/records/lookup"
PUT_BACK = f"{DRIVEWS}/putBackItemsFromTrash"
PICTURES = "FOLDER::com.apple.CloudDocs::PICS"


def restore_body(tag: str, record: str = "A1") -> dict[str, Any]:
    """The captured web delete with the flag at 0: nothing more, nothing less."""
    return {
        "atomic": True,
        "operations": [
            {
                "operationType": "update",
                "record": {
                    "recordName": record,
                    "recordChangeTag": tag,
                    "recordType": "CPLAsset",
                    "fields": {"isDeleted": {"value": 0}},
                },
            }
        ],
        "zoneID": ZONE,
    }


LOOKUP_BODY = {"records": [{"recordName": "A1"}], "zoneID": ZONE}


def record(tag: str, in_trash: bool) -> dict[str, Any]:
    return {
        "records": [
            {
                "recordName": "A1",
                "recordType": "CPLAsset",
                "fields": {"isDeleted": {"value": int(in_trash), "type": "INT64"}},
                "recordChangeTag": tag,
                "zoneID": ZONE,
            }
        ]
    }


def _photos_ready(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.photos_service()


# ------------------------------------------------------------------------------ photos


def test_photo_restore_sends_exactly_the_modelled_update_and_trusts_the_saved_record(
    apple: Apple,
) -> None:
    """The update's answer is the record as saved, isDeleted 0: that is the outcome, and no
    lookup follows (one request per photo, the floor)."""
    _photos_ready(apple)
    apple.add(responses.POST, MODIFY, record("tag-2", False), body=restore_body("tag-1"))

    (result,) = apple.restore(indexed_photo())

    assert result.outcome is RestoreOutcome.RESTORED
    assert result.detail == "experimental: check it in iCloud Photos"
    writes = [s for s in apple.sent if s.url == MODIFY]
    assert len(writes) == 1
    assert writes[0].body == restore_body("tag-1")
    assert writes[0].query == PHOTOS_QUERY
    assert apple.calls[-1] == ("POST", MODIFY)
    assert ("POST", LOOKUP) not in apple.calls


def test_an_answer_without_the_flag_is_read_back(apple: Apple) -> None:
    _photos_ready(apple)
    bare = {"records": [{"recordName": "A1", "recordChangeTag": "tag-2"}]}
    apple.add(responses.POST, MODIFY, bare, body=restore_body("tag-1"))
    apple.add(responses.POST, LOOKUP, record("tag-2", False), body=LOOKUP_BODY)
    (result,) = apple.restore(indexed_photo())
    assert result.outcome is RestoreOutcome.RESTORED
    assert apple.calls[-2:] == [("POST", MODIFY), ("POST", LOOKUP)]


def test_stale_change_tag_is_refetched_and_retried_once(apple: Apple) -> None:
    _photos_ready(apple)
    conflict = {
        "records": [{"recordName": "A1", "serverErrorCode": "CONFLICT", "reason": "oplock error"}]
    }
    apple.add(responses.POST, MODIFY, conflict, body=restore_body("tag-old"))
    apple.add(responses.POST, LOOKUP, record("tag-now", True), body=LOOKUP_BODY)
    apple.add(responses.POST, MODIFY, record("tag-3", False), body=restore_body("tag-now"))

    (result,) = apple.restore(indexed_photo(tag="tag-old"))

    assert result.outcome is RestoreOutcome.RESTORED
    assert apple.calls[-3:] == [("POST", MODIFY), ("POST", LOOKUP), ("POST", MODIFY)]
    assert [s.body for s in apple.sent if s.url == MODIFY] == [
        restore_body("tag-old"),
        restore_body("tag-now"),
    ]


def test_a_second_conflict_fails_instead_of_looping(apple: Apple) -> None:
    _photos_ready(apple)
    conflict = {"records": [{"recordName": "A1", "serverErrorCode": "CONFLICT"}]}
    apple.add(responses.POST, MODIFY, conflict, body=restore_body("tag-old"))
    apple.add(responses.POST, LOOKUP, record("tag-now", True), body=LOOKUP_BODY)
    apple.add(responses.POST, MODIFY, conflict, body=restore_body("tag-now"))
    (result,) = apple.restore(indexed_photo(tag="tag-old"))
    assert result.outcome is RestoreOutcome.FAILED
    assert result.detail == "the photo changed again while it was being restored; try again"
    assert apple.calls.count(("POST", MODIFY)) == 2


def test_conflict_because_it_was_restored_elsewhere_is_already_restored(apple: Apple) -> None:
    _photos_ready(apple)
    conflict = {"records": [{"recordName": "A1", "serverErrorCode": "CONFLICT"}]}
    apple.add(responses.POST, MODIFY, conflict, body=restore_body("tag-1"))
    apple.add(responses.POST, LOOKUP, record("tag-9", False), body=LOOKUP_BODY)
    (result,) = apple.restore(indexed_photo())
    assert result.outcome is RestoreOutcome.ALREADY_RESTORED
    assert apple.calls.count(("POST", MODIFY)) == 1


def test_still_in_recently_deleted_after_the_write_is_a_failure(apple: Apple) -> None:
    _photos_ready(apple)
    apple.add(responses.POST, MODIFY, record("tag-2", True), body=restore_body("tag-1"))
    apple.add(responses.POST, LOOKUP, record("tag-2", True), body=LOOKUP_BODY)
    (result,) = apple.restore(indexed_photo())
    assert result.outcome is RestoreOutcome.FAILED
    assert result.detail == (
        "iCloud accepted the restore, but the photo is still in Recently Deleted"
    )


def test_a_purged_photo_fails_with_the_reason(apple: Apple) -> None:
    _photos_ready(apple)
    gone = {"records": [{"recordName": "A1", "serverErrorCode": "NOT_FOUND"}]}
    apple.add(responses.POST, MODIFY, gone, body=restore_body("tag-1"))
    (result,) = apple.restore(indexed_photo())
    assert result.outcome is RestoreOutcome.FAILED
    assert result.detail == "iCloud refused the restore (NOT_FOUND)"


def test_a_429_on_the_write_waits_and_sends_it_again(apple: Apple) -> None:
    _photos_ready(apple)
    apple.add(
        responses.POST,
        MODIFY,
        {"serverErrorCode": "THROTTLED"},
        status=429,
        headers={"Retry-After": "4"},
        body=restore_body("tag-1"),
    )
    apple.add(responses.POST, MODIFY, record("tag-2", False), body=restore_body("tag-1"))
    (result,) = apple.restore(indexed_photo())
    assert result.outcome is RestoreOutcome.RESTORED
    assert apple.sleeps == [4.0]


def test_a_lost_answer_is_not_repeated_the_read_back_decides(apple: Apple) -> None:
    _photos_ready(apple)
    apple.add(responses.POST, MODIFY, "oops", status=500, body=restore_body("tag-1"))
    apple.add(responses.POST, LOOKUP, record("tag-2", False), body=LOOKUP_BODY)
    (result,) = apple.restore(indexed_photo())
    assert result.outcome is RestoreOutcome.RESTORED
    assert apple.calls.count(("POST", MODIFY)) == 1
    assert apple.sleeps == []


def test_an_item_without_a_record_is_skipped_without_requests(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    item = indexed_photo()
    item.restore_handle.pop("zone")
    (result,) = apple.restore(item)
    assert result.outcome is RestoreOutcome.SKIPPED
    assert apple.calls == [("POST", f"{SETUP}/validate")]


# ------------------------------------------------------------------------------ drive


def _drive_ready(apple: Apple, trash: list[dict[str, Any]], pictures: list[dict[str, Any]]) -> None:
    apple.write_session()
    apple.validate()
    apple.web_access()
    apple.drive_trash(trash)
    apple.drive_folder(ROOT_ID, [drive_folder_item("Pictures", "PICS")], docwsid="root")
    apple.drive_folder(PICTURES, pictures)


def test_drive_restore_puts_the_item_back_where_it_was(apple: Apple) -> None:
    _drive_ready(apple, [drive_file("beach", "jpg")], [drive_file("other", "jpg", ident="O1")])
    answer = {
        "items": [
            {
                "drivewsid": "FILE::com.apple.CloudDocs::C2AD01E4",
                "name": "beach",
                "extension": "jpg",
                "parentId": PICTURES,
                "etag": "o9g",
                "status": "OK",
            }
        ]
    }
    apple.add(
        responses.POST,
        PUT_BACK,
        answer,
        body={"items": [{"drivewsid": "FILE::com.apple.CloudDocs::C2AD01E4", "etag": "o72::o6y"}]},
    )
    (result,) = apple.restore(indexed_drive())
    assert result.outcome is RestoreOutcome.RESTORED
    assert result.restored_path == "Pictures/beach.jpg"
    assert apple.calls[-1] == ("POST", PUT_BACK)


def test_a_taken_restore_path_is_reported_not_guessed(apple: Apple) -> None:
    """The message says where to finish by hand, naming what holds the path as it is named."""
    taken = drive_file("Beach", "JPG", ident="LIVE1")
    _drive_ready(apple, [drive_file("beach", "jpg")], [taken])
    (result,) = apple.restore(indexed_drive())
    assert result.outcome is RestoreOutcome.SKIPPED
    assert result.detail == (
        "Pictures/beach.jpg is taken by another file: move or rename the file at "
        "Pictures/Beach.JPG in iCloud Drive, then recover beach.jpg by hand in "
        "iCloud Drive › Recently Deleted"
    )
    assert ("POST", PUT_BACK) not in apple.calls


def test_a_restore_path_taken_by_a_folder_says_folder(apple: Apple) -> None:
    _drive_ready(apple, [drive_file("beach", "jpg")], [drive_folder_item("beach.jpg", "F2")])
    (result,) = apple.restore(indexed_drive())
    assert result.outcome is RestoreOutcome.SKIPPED
    assert result.detail == (
        "Pictures/beach.jpg is taken by a folder: move or rename the folder at "
        "Pictures/beach.jpg in iCloud Drive, then recover beach.jpg by hand in "
        "iCloud Drive › Recently Deleted"
    )
    assert ("POST", PUT_BACK) not in apple.calls


def test_an_item_that_left_the_trash_is_not_put_back(apple: Apple) -> None:
    _drive_ready(apple, [], [])
    (result,) = apple.restore(indexed_drive())
    assert result.outcome is RestoreOutcome.SKIPPED
    assert "no longer in iCloud Drive's Recently Deleted" in (result.detail or "")
    assert ("POST", PUT_BACK) not in apple.calls


def test_a_refused_put_back_fails(apple: Apple) -> None:
    _drive_ready(apple, [drive_file("beach", "jpg")], [])
    answer = {"items": [{"drivewsid": "FILE::com.apple.CloudDocs::C2AD01E4", "status": "ERROR"}]}
    apple.add(responses.POST, PUT_BACK, answer)
    (result,) = apple.restore(indexed_drive())
    assert result.outcome is RestoreOutcome.FAILED
    assert result.detail == "iCloud Drive did not put it back (ERROR)"
