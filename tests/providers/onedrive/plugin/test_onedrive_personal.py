"""OneDrive personal: enrolment into the mirror, the delta feed, deleted folders, 410 resync."""

from __future__ import annotations

import json
import logging
from datetime import timedelta
from typing import Any

import pytest

from trashscan.errors import AccountError
from trashscan.models import DeletedAtSource, TrashItem
from trashscan.provider import CLOCK_MARGIN

from .harness import NOW, QUOTA, V1, Harness, account

SELECT = "id,name,size,eTag,file,folder,package,root,parentReference,deleted,remoteItem"
ENROL = f"{V1}me/drive/root/delta?$select={SELECT}&$top=1000"
PAGE_2 = f"{V1}me/drive/root/delta?$skiptoken=page2&$select={SELECT}&$top=1000"
DELTA_1 = f"{V1}me/drive/root/delta?token=aaa111"
DELTA_1_NEXT = f"{V1}me/drive/root/delta?token=aaa111&$skiptoken=more"
DELTA_2 = f"{V1}me/drive/root/delta?token=bbb222"
DELTA_3 = f"{V1}me/drive/root/delta?token=ccc333"
RESYNC = f"{V1}me/drive/root/delta?token=fresh000"  # a 410's Location: a token alone
RESYNC_ASKED = f"{RESYNC}&$select={SELECT}&$top=1000"  # followed with the options again
PERSONAL = account(drive_type="personal")
LATER = NOW + timedelta(days=2)


def folder(item_id: str, name: str, parent: str | None) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": item_id, "name": name, "folder": {"childCount": 1}}
    if parent is None:
        entry["root"] = {}
    else:
        entry["parentReference"] = {"id": parent, "driveId": "d1", "driveType": "personal"}
    return entry


def file(item_id: str, name: str, parent: str, mime: str, size: int = 1000) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name,
        "size": size,
        "eTag": f"aE{item_id}.1",
        "file": {"mimeType": mime, "hashes": {"quickXorHash": f"qx{item_id}AA=="}},
        "parentReference": {"id": parent, "driveId": "d1", "driveType": "personal"},
    }


def deleted(item_id: str, name: str, parent: str, is_folder: bool = False) -> dict[str, Any]:
    """Consumer delta omits size (and cTag) on deletions; the name is still there."""
    entry: dict[str, Any] = {
        "id": item_id,
        "name": name,
        "deleted": {"state": "softDeleted"},
        "parentReference": {"id": parent, "driveId": "d1", "driveType": "personal"},
    }
    entry["folder" if is_folder else "file"] = {}
    return entry


ROOT = folder("D1!101", "root", None)
PICTURES = folder("D1!102", "Pictures", "D1!101")
TRIP = folder("D1!103", "Trip 2024", "D1!102")
CAT = file("D1!110", "cat.jpg", "D1!102", "image/jpeg", 2048)
NOTES = file("D1!111", "notes.txt", "D1!101", "text/plain")
BEACH = file("D1!112", "beach.heic", "D1!103", "image/heic", 3_000_000)
CLIP = file("D1!113", "clip.mov", "D1!103", "video/quicktime", 50_000_000)
DOG = file("D1!114", "dog.png", "D1!101", "image/png", 512)
SHORTCUT = {"id": "D1!115", "name": "Shared album", "remoteItem": {"id": "X!1"}, "folder": {}}


def enrol(od: Harness) -> dict[str, Any]:
    """Run the enrolment scan (two delta pages) and return its state."""
    od.graph("GET", ENROL, {"value": [ROOT, PICTURES, CAT, NOTES], "@odata.nextLink": PAGE_2})
    od.graph(
        "GET",
        PAGE_2,
        {"value": [TRIP, BEACH, CLIP, DOG, SHORTCUT], "@odata.deltaLink": DELTA_1},
    )
    pages, outcome = od.scan(PERSONAL)
    assert pages == []
    assert outcome.state is not None
    return outcome.state


def test_enrolment_mirrors_photos_and_folders_and_reports_nothing(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    assert od.sent_to() == [("GET", ENROL), ("GET", PAGE_2)]
    assert state["drive_type"] == "personal"
    assert state["delta_link"] == DELTA_1
    assert state["mirror_version"] == 1
    assert state["scanned_at"] == "2024-06-01T12:00:00Z"
    mirror = od.mirror()
    try:
        assert state["mirror_id"] == mirror.mirror_id
        assert mirror.enrolled_at == "2024-06-01T12:00:00Z"
        assert mirror.count(folder=True) == 3  # root, Pictures, Trip 2024
        assert mirror.count(folder=False) == 4  # no notes.txt, no shortcut
        assert mirror.row("D1!112") == {
            "id": "D1!112",
            "parent_id": "D1!103",
            "name": "beach.heic",
            "folder": 0,
            "size": 3_000_000,
            "mime": "image/heic",
            "etag": "aED1!112.1",
            "hash": "quickxor:qxD1!112AA==",  # the file facet's hash, for duplicates and pictures
            "deleted_at": None,
            "via": None,
            "pending": 0,
            "seen": 1,
        }
        assert mirror.row("D1!111") is None
    finally:
        mirror.close()
    # The scan state stays small: the mirror lives in its own file, not in the state.
    assert len(json.dumps(state)) < 400


def test_enrolment_is_not_a_complete_listing(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", ENROL, {"value": [ROOT], "@odata.deltaLink": DELTA_1})
    _, outcome = od.scan(PERSONAL)
    assert outcome.complete_listing is False


def test_second_scan_reports_a_deleted_photo_and_a_deleted_folder(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.restart()
    od.now = LATER
    new_photo = file("D1!120", "new.jpg", "D1!102", "image/jpeg")
    od.graph(
        "GET",
        DELTA_1,
        {
            "value": [
                deleted("D1!110", "cat.jpg", "D1!102"),
                deleted("D1!103", "Trip 2024", "D1!102", is_folder=True),  # children implied
                deleted("D1!111", "notes.txt", "D1!101"),  # never mirrored: ignored
                new_photo,
            ],
            "@odata.nextLink": DELTA_1_NEXT,
        },
    )
    od.graph("GET", DELTA_1_NEXT, {"value": [DOG], "@odata.deltaLink": DELTA_2})
    od.quota()  # a bin far below 10% of the storage: 30 days
    pages, outcome = od.scan(PERSONAL, state)
    # the feed, then the drive's quota, read once since there are deleted photos to date
    assert od.sent_to() == [("GET", DELTA_1), ("GET", DELTA_1_NEXT), ("GET", QUOTA)]
    items = [item for page in pages for item in page.items]
    assert [page.removed for page in pages] == [[]]
    common: dict[str, Any] = {
        "deleted_at": NOW,  # the previous scan: the earliest the deletion can have happened,
        "deleted_after": NOW - CLOCK_MARGIN,  # less what our clock may be off by
        "deleted_at_source": DeletedAtSource.CHANGES,
        "purge_at": NOW - CLOCK_MARGIN + timedelta(days=30),
        "purge_latest": LATER + CLOCK_MARGIN + timedelta(days=30),  # deleted by this scan
        "purge_is_estimate": True,
    }
    trip = {"folder_id": "D1!103", "folder_name": "Trip 2024", "folder_parent_id": "D1!102"}
    assert items == [
        TrashItem(
            item_id="D1!110",
            name="cat.jpg",
            path="/Pictures/cat.jpg",
            mime_type="image/jpeg",
            size=2048,
            restore_handle={"id": "D1!110", "parent_id": "D1!102", "name": "cat.jpg"},
            content_hash="quickxor:qxD1!110AA==",
            version="aED1!110.1",
            **common,
        ),
        TrashItem(
            item_id="D1!112",
            name="beach.heic",
            path="/Pictures/Trip 2024/beach.heic",
            mime_type="image/heic",
            size=3_000_000,
            restore_handle={"id": "D1!112", "parent_id": "D1!103", "name": "beach.heic", **trip},
            content_hash="quickxor:qxD1!112AA==",
            version="aED1!112.1",
            **common,
        ),
        TrashItem(
            item_id="D1!113",
            name="clip.mov",
            path="/Pictures/Trip 2024/clip.mov",
            mime_type="video/quicktime",
            size=50_000_000,
            restore_handle={"id": "D1!113", "parent_id": "D1!103", "name": "clip.mov", **trip},
            content_hash="quickxor:qxD1!113AA==",
            version="aED1!113.1",
            **common,
        ),
    ]
    assert outcome.state is not None
    assert outcome.state["delta_link"] == DELTA_2
    assert outcome.state["scanned_at"] == "2024-06-03T12:00:00Z"
    assert outcome.complete_listing is False
    mirror = od.mirror()
    try:
        assert mirror.row("D1!120") is not None  # the new photo is mirrored
        assert mirror.row("D1!112")["deleted_at"] == "2024-06-01T12:00:00Z"  # type: ignore[index]
        assert mirror.row("D1!112")["via"] == "D1!103"  # type: ignore[index]
    finally:
        mirror.close()


def test_a_deleted_folder_takes_its_subfolders_photos_along(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.restart()
    od.graph(
        "GET",
        DELTA_1,
        {
            "value": [deleted("D1!102", "Pictures", "D1!101", is_folder=True)],
            "@odata.deltaLink": DELTA_2,
        },
    )
    od.quota()
    pages, _ = od.scan(PERSONAL, state)
    items = {item.item_id: item for page in pages for item in page.items}
    assert sorted(items) == ["D1!110", "D1!112", "D1!113"]  # dog.png is in the root: not gone
    # The top-most deleted folder is what the recycle bin holds, so that is what gets restored.
    assert items["D1!112"].restore_handle["folder_id"] == "D1!102"
    assert items["D1!112"].restore_handle["folder_parent_id"] == "D1!101"
    assert items["D1!110"].restore_handle["folder_name"] == "Pictures"
    assert items["D1!113"].path == "/Pictures/Trip 2024/clip.mov"


def test_items_that_come_back_are_reported_removed(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    od.graph(
        "GET",
        DELTA_1,
        {
            "value": [
                deleted("D1!110", "cat.jpg", "D1!102"),
                deleted("D1!103", "Trip 2024", "D1!102", is_folder=True),
            ],
            "@odata.deltaLink": DELTA_2,
        },
    )
    od.quota()
    _, outcome = od.scan(PERSONAL, state)
    od.restart()
    od.now = LATER + timedelta(days=1)
    # cat.jpg restored on the web; the Trip folder restored (its photos come back with it).
    od.graph("GET", DELTA_2, {"value": [CAT, TRIP], "@odata.deltaLink": DELTA_3})
    pages, outcome = od.scan(PERSONAL, outcome.state)
    assert [(page.items, page.removed) for page in pages] == [([], ["D1!110", "D1!112", "D1!113"])]
    assert outcome.state is not None and outcome.state["delta_link"] == DELTA_3
    mirror = od.mirror()
    try:
        assert mirror.row("D1!113")["deleted_at"] is None  # type: ignore[index]
    finally:
        mirror.close()


def test_a_removal_not_committed_is_reported_again(od: Harness) -> None:
    """The mirror forgets that a photo was trashed only once the core committed its removal: the
    core closes the generator at that page's ``yield`` when the commit fails (or the run stops),
    and the next scan, from the same state, reports it again."""
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    od.graph(
        "GET",
        DELTA_1,
        {"value": [deleted("D1!110", "cat.jpg", "D1!102")], "@odata.deltaLink": DELTA_2},
    )
    od.quota()
    _, outcome = od.scan(PERSONAL, state)
    od.restart()
    od.graph("GET", DELTA_2, {"value": [CAT], "@odata.deltaLink": DELTA_3})
    gen = od.provider.scan(PERSONAL, outcome.state)
    assert next(gen).removed == ["D1!110"]
    gen.close()  # the page was never committed
    mirror = od.mirror()
    try:
        assert mirror.row("D1!110")["deleted_at"] is not None  # type: ignore[index]
    finally:
        mirror.close()

    od.restart()
    od.graph("GET", DELTA_2, {"value": [CAT], "@odata.deltaLink": DELTA_3})
    pages, _ = od.scan(PERSONAL, outcome.state)
    assert [page.removed for page in pages] == [["D1!110"]]


def test_deletions_are_settled_only_after_their_page_was_taken(od: Harness) -> None:
    """A deletion stays pending in the mirror until the core resumes the scan after its page."""
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    od.graph(
        "GET",
        DELTA_1,
        {"value": [deleted("D1!110", "cat.jpg", "D1!102")], "@odata.deltaLink": DELTA_2},
    )
    od.quota()
    gen = od.provider.scan(PERSONAL, state)
    assert [i.item_id for i in next(gen).items] == ["D1!110"]
    gen.close()
    mirror = od.mirror()
    try:
        row = mirror.row("D1!110")
        assert row is not None and (row["pending"], row["deleted_at"]) == (1, None)
    finally:
        mirror.close()


def test_a_deletion_committed_but_not_settled_is_removed_when_it_comes_back(od: Harness) -> None:
    """A process can die after the core committed a page and before the scan resumed to settle
    it: the mirror still says "pending", the index "trashed". If the photo is back by the next
    scan, its removal must be reported all the same (a no-op if the index never had it)."""
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    od.graph(
        "GET",
        DELTA_1,
        {"value": [deleted("D1!110", "cat.jpg", "D1!102")], "@odata.deltaLink": DELTA_2},
    )
    od.quota()
    gen = od.provider.scan(PERSONAL, state)
    assert [i.item_id for i in next(gen).items] == ["D1!110"]
    gen.close()  # committed by the core, then killed before the scan resumed

    od.restart()
    od.graph("GET", DELTA_1, {"value": [CAT], "@odata.deltaLink": DELTA_2})  # restored on the web
    pages, _ = od.scan(PERSONAL, state)
    assert [(page.items, page.removed) for page in pages] == [([], ["D1!110"])]


def test_an_unchanged_drive_costs_one_request_and_reports_nothing(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.restart()
    od.graph("GET", DELTA_1, {"value": [], "@odata.deltaLink": DELTA_2})
    pages, outcome = od.scan(PERSONAL, state)
    assert pages == []
    assert od.sent_to() == [("GET", DELTA_1)]
    assert outcome.state is not None and outcome.state["delta_link"] == DELTA_2


def test_410_resync_lists_again_and_reports_what_vanished(
    od: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    od.signed_in()
    state = enrol(od)
    od.restart()
    od.now = LATER
    od.graph(
        "GET",
        DELTA_1,
        {"error": {"code": "resyncRequired", "message": "Resync required."}},
        status=410,
        headers={"Location": RESYNC},
    )
    # The fresh enumeration no longer holds cat.jpg: it was deleted since the last scan.
    od.graph(
        "GET",
        RESYNC_ASKED,
        {"value": [ROOT, PICTURES, TRIP, BEACH, CLIP, DOG], "@odata.deltaLink": DELTA_3},
    )
    od.quota()
    with caplog.at_level(logging.WARNING, logger="trashscan_onedrive"):
        pages, outcome = od.scan(PERSONAL, state)
    assert od.sent_to() == [("GET", DELTA_1), ("GET", RESYNC_ASKED), ("GET", QUOTA)]
    assert [item.item_id for page in pages for item in page.items] == ["D1!110"]
    assert pages[-1].items[0].deleted_at == NOW
    assert outcome.state is not None
    assert outcome.state["delta_link"] == DELTA_3
    assert outcome.state["mirror_id"] == state["mirror_id"]  # compared, not thrown away
    assert "full resync" in caplog.text


def test_a_location_with_its_own_options_is_followed_as_given(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.restart()
    location = f"{V1}me/drive/root/delta?token=fresh000&$top=500&select=id,deleted"
    od.graph("GET", DELTA_1, {"error": {"code": "resyncRequired"}}, status=410,
             headers={"Location": location})  # fmt: skip
    od.graph("GET", location, {"value": [ROOT], "@odata.deltaLink": DELTA_3})
    od.quota()  # every mirrored photo vanished: deleted photos to date
    od.scan(PERSONAL, state)
    assert od.sent_to() == [("GET", DELTA_1), ("GET", location), ("GET", QUOTA)]


def test_410_without_location_restarts_from_the_drive_root(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.restart()
    od.graph("GET", DELTA_1, {"error": {"code": "resyncRequired"}}, status=410)
    od.graph("GET", ENROL, {"value": [ROOT, PICTURES, CAT, TRIP, BEACH, CLIP, DOG]}, status=200)
    # The enumeration above has no link at all: a broken feed is an error, not a silent success.
    with pytest.raises(AccountError, match="without a next or delta link"):
        od.scan(PERSONAL, state)
    assert od.sent_to() == [("GET", DELTA_1), ("GET", ENROL)]


def test_a_state_whose_mirror_is_gone_enrols_again(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    (od.context.account_dir(PERSONAL) / "mirror.sqlite").unlink()
    od.restart()
    od.graph("GET", ENROL, {"value": [ROOT, CAT], "@odata.deltaLink": DELTA_2})
    pages, outcome = od.scan(PERSONAL, state)
    assert pages == []
    assert od.sent_to() == [("GET", ENROL)]
    assert outcome.state is not None and outcome.state["mirror_id"] != state["mirror_id"]


def test_a_failed_scan_leaves_pending_deletions_for_the_next_one(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    od.graph(
        "GET",
        DELTA_1,
        {"value": [deleted("D1!110", "cat.jpg", "D1!102")], "@odata.nextLink": DELTA_1_NEXT},
    )
    od.graph("GET", DELTA_1_NEXT, {"error": {"code": "accessDenied"}}, status=403)
    with pytest.raises(AccountError):
        od.scan(PERSONAL, state)
    # The core keeps the old state: the same feed is read again and the deletion reported once.
    od.restart()
    od.graph(
        "GET",
        DELTA_1,
        {"value": [deleted("D1!110", "cat.jpg", "D1!102")], "@odata.nextLink": DELTA_1_NEXT},
    )
    od.graph("GET", DELTA_1_NEXT, {"value": [], "@odata.deltaLink": DELTA_2})
    od.quota()
    pages, _ = od.scan(PERSONAL, state)
    assert [item.item_id for page in pages for item in page.items] == ["D1!110"]


def test_the_kind_is_detected_on_the_first_scan_when_not_configured(od: Harness) -> None:
    od.signed_in()
    od.graph(
        "GET", f"{V1}me/drive?$select=driveType,webUrl,sharePointIds", {"driveType": "personal"}
    )
    od.graph("GET", ENROL, {"value": [ROOT], "@odata.deltaLink": DELTA_1})
    _, outcome = od.scan(account())
    assert outcome.state is not None and outcome.state["drive_type"] == "personal"
    od.restart()
    od.graph("GET", DELTA_1, {"value": [], "@odata.deltaLink": DELTA_2})
    od.scan(account(), outcome.state)
    assert od.sent_to() == [("GET", DELTA_1)]  # kept in the state: no second /me/drive


def test_media_extensions_override_decides_what_is_mirrored(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", ENROL, {"value": [ROOT, PICTURES, CAT, DOG], "@odata.deltaLink": DELTA_1})
    od.scan(account(drive_type="personal", media_extensions="png"))
    mirror = od.mirror()
    try:
        assert mirror.row("D1!114") is not None
        assert mirror.row("D1!110") is None
    finally:
        mirror.close()


def test_links_to_another_host_are_not_followed(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", ENROL, {"value": [], "@odata.nextLink": "https://evil.example/v1.0/steal?x=1"})
    with pytest.raises(AccountError, match="another host"):
        od.scan(PERSONAL)


def test_check_auth_sees_the_enrolment(od: Harness) -> None:
    od.signed_in()
    enrol(od)
    od.restart()
    od.graph(
        "GET", f"{V1}me/drive?$select=driveType,webUrl,sharePointIds", {"driveType": "personal"}
    )
    status = od.provider.check_auth(PERSONAL)
    assert status.ok and status.hint is None
    assert status.detail == "signed in as alice@outlook.com (OneDrive personal)"
