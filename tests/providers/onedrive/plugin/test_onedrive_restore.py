"""Restores: personal (free name, taken name, folder gone, folder in the bin, via folder, the plan)
and business (the answer trusted, one bin listing per batch, why each id was not restored)."""

from __future__ import annotations

import itertools
import json
import threading
from collections import Counter
from typing import Any

import pytest

from trashscan.errors import AuthError
from trashscan.models import RestoreOutcome, RestoreResult
from trashscan_onedrive import restore_business

from .harness import BETA, SITE, V1, Harness, account, indexed

PERSONAL = account(drive_type="personal")
BUSINESS = account(drive_type="business")
ITEMS = f"{V1}me/drive/items/"
SELECT = "?$select=id,name,parentReference,deleted"
CAT = indexed(
    "D1!110",
    "cat.jpg",
    {"id": "D1!110", "parent_id": "D1!102", "name": "cat.jpg"},
    path="/Pictures/cat.jpg",
)


def live(item_id: str, name: str, folder: str) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name,
        "parentReference": {"driveId": "d1", "id": "D1!102", "path": f"/drive/root:{folder}"},
    }


NOT_FOUND = {"error": {"code": "itemNotFound", "message": "Item does not exist"}}


# ------------------------------------------------------------------------------------ personal

LOOK = "?includeDeletedItems=true&$select=id,name,parentReference,deleted"


def binned(item_id: str, name: str, parent: str) -> dict[str, Any]:
    """A deleted item as Graph shows it by id with ``includeDeletedItems=true``."""
    return {
        "id": item_id,
        "name": name,
        "deleted": {"state": "deleted"},
        "parentReference": {"driveId": "d1", "id": parent},
    }


def test_restore_to_a_free_name_in_the_original_folder(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!102"))  # in the bin
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))  # folder there
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", NOT_FOUND, status=404)  # name free
    od.graph("POST", f"{ITEMS}D1!110/restore", live("D1!110", "cat.jpg", "/Pictures"), body={})
    assert od.restore(CAT, acct=PERSONAL) == [
        RestoreResult("D1!110", RestoreOutcome.RESTORED, None, "/Pictures/cat.jpg")
    ]
    assert od.sent_to() == [  # the answer is the restored driveItem, live: not read back
        ("GET", f"{ITEMS}D1!110{LOOK}"),
        ("GET", f"{ITEMS}D1!102{LOOK}"),
        ("GET", f"{ITEMS}D1!102:/cat.jpg"),
        ("POST", f"{ITEMS}D1!110/restore"),
    ]
    assert od.bodies()[3] == {}
    assert od.rsps.calls[-1].request.headers["Content-Type"] == "application/json"


def test_an_answer_that_does_not_show_the_place_is_read_back(od: Harness) -> None:
    """Graph's example answer has id, name, size and lastModifiedDateTime only: where the
    item is then comes from reading it back."""
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", NOT_FOUND, status=404)
    bare = {"id": "D1!110", "name": "cat.jpg", "size": 1, "lastModifiedDateTime": "2026-01-01"}
    od.graph("POST", f"{ITEMS}D1!110/restore", bare, body={})
    od.graph("GET", f"{ITEMS}D1!110{SELECT}", live("D1!110", "cat.jpg", "/Pictures"))
    assert od.restore(CAT, acct=PERSONAL) == [
        RestoreResult("D1!110", RestoreOutcome.RESTORED, None, "/Pictures/cat.jpg")
    ]
    assert od.sent_to()[-2:] == [
        ("POST", f"{ITEMS}D1!110/restore"),
        ("GET", f"{ITEMS}D1!110{SELECT}"),
    ]


def photo(item_id: str, name: str) -> Any:
    return indexed(item_id, name, {"id": item_id, "parent_id": "D1!102", "name": name},
                   path=f"/Pictures/{name}")  # fmt: skip


def test_the_next_name_is_checked_while_a_restore_is_in_flight(od: Harness) -> None:
    """Three photos of one folder that is there: once the folder is known, the next photo's
    name is checked during the restore before it (the third's during the second's restore,
    which waits up to 10 s for it), and used: each name is checked once, one restore each."""
    od.signed_in()
    names = {"D1!110": "a.jpg", "D1!111": "b.jpg", "D1!112": "c.jpg"}
    for item_id, name in names.items():
        od.graph("GET", f"{ITEMS}{item_id}{LOOK}", binned(item_id, name, "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    checked = threading.Event()
    during: list[bool] = []

    def check_c(_request: Any) -> tuple[int, dict[str, str], str]:
        checked.set()
        return 404, {}, json.dumps(NOT_FOUND)

    def restore_b(_request: Any) -> tuple[int, dict[str, str], str]:
        during.append(checked.wait(10))
        return 200, {}, json.dumps(live("D1!111", "b.jpg", "/Pictures"))

    od.graph("GET", f"{ITEMS}D1!102:/a.jpg", NOT_FOUND, status=404)
    od.graph("GET", f"{ITEMS}D1!102:/b.jpg", NOT_FOUND, status=404)
    od.rsps.add_callback("GET", f"{ITEMS}D1!102:/c.jpg", callback=check_c)
    od.graph("POST", f"{ITEMS}D1!110/restore", live("D1!110", "a.jpg", "/Pictures"), body={})
    od.rsps.add_callback("POST", f"{ITEMS}D1!111/restore", callback=restore_b)
    od.graph("POST", f"{ITEMS}D1!112/restore", live("D1!112", "c.jpg", "/Pictures"), body={})
    results = od.restore(*(photo(i, n) for i, n in names.items()), acct=PERSONAL)
    assert [(r.outcome, r.restored_path) for r in results] == [
        (RestoreOutcome.RESTORED, f"/Pictures/{n}") for n in names.values()
    ]
    assert during == [True]
    checks = [u for _, u in od.sent_to() if "D1!102:/" in u]
    assert sorted(checks) == sorted(f"{ITEMS}D1!102:/{n}" for n in names.values())


def test_a_name_checked_ahead_is_checked_again_when_a_restore_took_it(od: Harness) -> None:
    """cat.jpg's name is taken, so it goes back as cat (restored).jpg, which is the next
    photo's own name: that name was checked (free) while cat.jpg was being restored, so it is
    checked again, found taken, and the next photo goes beside it, never over it."""
    od.signed_in()
    restored_name = "cat (restored).jpg"
    for item_id, name in (("D1!109", "x.jpg"), ("D1!110", "cat.jpg"), ("D1!111", restored_name)):
        od.graph("GET", f"{ITEMS}{item_id}{LOOK}", binned(item_id, name, "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/x.jpg", NOT_FOUND, status=404)
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", live("D1!999", "cat.jpg", "/Pictures"))  # taken
    quoted = "cat%20%28restored%29.jpg"
    for _ in range(2):  # the next photo's check ahead, and cat.jpg's sibling probe: both free
        od.graph("GET", f"{ITEMS}D1!102:/{quoted}", NOT_FOUND, status=404)
    od.graph("GET", f"{ITEMS}D1!102:/{quoted}", live("D1!110", restored_name, "/Pictures"))
    beside = "cat (restored) (restored).jpg"
    od.graph("GET", f"{ITEMS}D1!102:/cat%20%28restored%29%20%28restored%29.jpg", NOT_FOUND,
             status=404)  # fmt: skip
    od.graph("POST", f"{ITEMS}D1!109/restore", live("D1!109", "x.jpg", "/Pictures"), body={})
    od.graph("POST", f"{ITEMS}D1!110/restore", live("D1!110", restored_name, "/Pictures"),
             body={"name": restored_name})  # fmt: skip
    od.graph("POST", f"{ITEMS}D1!111/restore", live("D1!111", beside, "/Pictures"),
             body={"name": beside})  # fmt: skip
    items = [photo("D1!109", "x.jpg"), photo("D1!110", "cat.jpg"), photo("D1!111", restored_name)]
    results = od.restore(*items, acct=PERSONAL)
    assert [(r.outcome, r.restored_path) for r in results] == [
        (RestoreOutcome.RESTORED, "/Pictures/x.jpg"),
        (RestoreOutcome.CONFLICT_RESOLVED, f"/Pictures/{restored_name}"),
        (RestoreOutcome.CONFLICT_RESOLVED, f"/Pictures/{beside}"),
    ]
    assert [b for b in od.bodies() if b is not None][-1] == {"name": beside}


def test_a_taken_name_restores_as_name_restored(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", live("D1!999", "cat.jpg", "/Pictures"))  # taken
    od.graph("GET", f"{ITEMS}D1!102:/cat%20%28restored%29.jpg", NOT_FOUND, status=404)
    renamed = {"name": "cat (restored).jpg"}
    answer = live("D1!110", "cat (restored).jpg", "/Pictures")
    od.graph("POST", f"{ITEMS}D1!110/restore", answer, body=renamed)
    [result] = od.restore(CAT, acct=PERSONAL)
    assert result == RestoreResult(
        "D1!110",
        RestoreOutcome.CONFLICT_RESOLVED,
        "cat.jpg was taken: restored as cat (restored).jpg",
        "/Pictures/cat (restored).jpg",
    )
    assert od.bodies()[4] == renamed


def test_a_folder_gone_for_good_restores_into_the_root_folder(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", NOT_FOUND, status=404)  # not even in the bin
    od.graph("GET", f"{V1}me/drive/root?$select=id", {"id": "D1!101"})
    od.graph("GET", f"{ITEMS}D1!101:/cat.jpg", NOT_FOUND, status=404)
    moved = {"parentReference": {"id": "D1!101"}}
    od.graph("POST", f"{ITEMS}D1!110/restore", live("D1!110", "cat.jpg", ""), body=moved)
    [result] = od.restore(CAT, acct=PERSONAL)
    assert result.outcome is RestoreOutcome.CONFLICT_RESOLVED
    assert result.restored_path == "/cat.jpg"
    assert result.detail == "its original folder is gone: restored into the root folder"
    assert od.sent_to()[2] == ("GET", f"{V1}me/drive/root?$select=id")
    assert od.bodies()[4] == moved


def test_a_folder_in_the_recycle_bin_is_restored_first(od: Harness) -> None:
    """cat.jpg was deleted before its folder: the folder first, then cat.jpg into it."""
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!103"))
    od.graph("GET", f"{ITEMS}D1!103{LOOK}", binned("D1!103", "Trip", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/Trip", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!103/restore", live("D1!103", "Trip", "/Pictures"), body={})
    od.graph("GET", f"{ITEMS}D1!110{SELECT}", NOT_FOUND, status=404)  # not back with it
    od.graph("GET", f"{ITEMS}D1!103:/cat.jpg", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!110/restore", live("D1!110", "cat.jpg", "/Pictures/Trip"), body={})
    cat = indexed("D1!110", "cat.jpg", {"id": "D1!110", "parent_id": "D1!103", "name": "cat.jpg"},
                  path="/Pictures/Trip/cat.jpg")  # fmt: skip
    assert od.restore(cat, acct=PERSONAL) == [
        RestoreResult(
            "D1!110",
            RestoreOutcome.RESTORED,
            "its folder Trip was in the recycle bin: restored it first",
            "/Pictures/Trip/cat.jpg",
        )
    ]
    assert [b for b in od.bodies() if b is not None] == [{}, {}]  # in place, never elsewhere


def test_photos_deleted_with_their_folder_restore_the_folder_once(od: Harness) -> None:
    od.signed_in()
    trip = {"folder_id": "D1!103", "folder_name": "Trip 2024", "folder_parent_id": "D1!102"}
    beach = indexed("D1!112", "beach.heic", {"id": "D1!112", "parent_id": "D1!103",
                                             "name": "beach.heic", **trip})  # fmt: skip
    clip = indexed("D1!113", "clip.mov", {"id": "D1!113", "parent_id": "D1!103",
                                          "name": "clip.mov", **trip})  # fmt: skip
    od.graph("GET", f"{ITEMS}D1!112{LOOK}", binned("D1!112", "beach.heic", "D1!103"))
    od.graph("GET", f"{ITEMS}D1!113{LOOK}", binned("D1!113", "clip.mov", "D1!103"))
    od.graph("GET", f"{ITEMS}D1!103{LOOK}", binned("D1!103", "Trip 2024", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/Trip%202024", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!103/restore", live("D1!103", "Trip 2024", "/Pictures"), body={})
    od.graph("GET", f"{ITEMS}D1!112{SELECT}", live("D1!112", "beach.heic", "/Pictures/Trip 2024"))
    od.graph("GET", f"{ITEMS}D1!113{SELECT}", live("D1!113", "clip.mov", "/Pictures/Trip 2024"))
    results = od.restore(beach, clip, acct=PERSONAL)
    assert [(r.item_id, r.outcome, r.restored_path) for r in results] == [
        ("D1!112", RestoreOutcome.RESTORED, "/Pictures/Trip 2024/beach.heic"),
        ("D1!113", RestoreOutcome.RESTORED, "/Pictures/Trip 2024/clip.mov"),
    ]
    assert results[0].detail == ("restored with its folder Trip 2024")
    assert od.writes() == [("POST", f"{ITEMS}D1!103/restore")]


def test_a_folder_that_cannot_be_restored_fails_each_of_its_photos_once(od: Harness) -> None:
    od.signed_in()
    beach = indexed("D1!112", "beach.heic", {"id": "D1!112", "name": "beach.heic"})
    clip = indexed("D1!113", "clip.mov", {"id": "D1!113", "name": "clip.mov"})
    od.graph("GET", f"{ITEMS}D1!112{LOOK}", binned("D1!112", "beach.heic", "D1!103"))
    od.graph("GET", f"{ITEMS}D1!113{LOOK}", binned("D1!113", "clip.mov", "D1!103"))
    od.graph("GET", f"{ITEMS}D1!103{LOOK}", binned("D1!103", "Trip", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/Trip", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!103/restore", {"error": {"code": "quotaLimitReached"}},
             status=507, body={})  # fmt: skip
    results = od.restore(beach, clip, acct=PERSONAL)
    assert [(r.item_id, r.outcome, r.detail) for r in results] == [
        (
            i,
            RestoreOutcome.FAILED,
            "its folder Trip is in the recycle bin, and restoring it failed: OneDrive is full: "
            "restoring needs free space",
        )
        for i in ("D1!112", "D1!113")
    ]
    assert od.writes() == [("POST", f"{ITEMS}D1!103/restore")]  # not tried again for the second


def test_an_item_already_back_is_reported_not_restored(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", live("D1!110", "cat.jpg", "/Pictures"))
    [result] = od.restore(CAT, acct=PERSONAL)
    assert result.outcome is RestoreOutcome.ALREADY_RESTORED
    assert result.detail == "already back at /Pictures/cat.jpg"
    assert [m for m, _ in od.sent_to()] == ["GET"]


def test_a_purged_item_fails_and_a_name_taken_meanwhile_is_skipped(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!110/restore", {"error": {"code": "nameAlreadyExists"}},
             status=409, body={})  # fmt: skip
    [result] = od.restore(CAT, acct=PERSONAL)
    assert result.outcome is RestoreOutcome.SKIPPED
    assert "nothing was overwritten" in (result.detail or "")
    od.restart()
    # purged: not shown even with deleted items included; the restore's own 404 says so
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", NOT_FOUND, status=404)
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!110/restore", NOT_FOUND, status=404, body={})
    [result] = od.restore(CAT, acct=PERSONAL)
    assert result.outcome is RestoreOutcome.FAILED
    assert "purged" in (result.detail or "")


def test_a_personal_403_names_files_readwrite_all(od: Harness) -> None:
    od.sign_in(scopes=["Files.ReadWrite"])
    od.discovery()
    acct = account(drive_type="personal", scopes="Files.ReadWrite")
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{ITEMS}D1!102:/cat.jpg", NOT_FOUND, status=404)
    od.graph("POST", f"{ITEMS}D1!110/restore", {"error": {"code": "accessDenied"}}, status=403,
             body={})  # fmt: skip
    [result] = od.restore(CAT, acct=acct)
    assert result.outcome is RestoreOutcome.FAILED
    assert "needs the delegated permission Files.ReadWrite.All" in (result.detail or "")


def many(n: int) -> list[Any]:
    return [photo(f"D1!{200 + k}", f"p{k:02}.jpg") for k in range(n)]


def serve_many(od: Harness, photos: list[Any], *, looks: int = 1) -> None:
    """Each photo in the recycle bin from the live folder D1!102 (its look), its name free
    there, its restore answered with the restored item; the folder's look."""
    for item in photos:
        for _ in range(looks):
            od.graph("GET", f"{ITEMS}{item.item_id}{LOOK}", binned(item.item_id, item.name,
                                                                   "D1!102"))  # fmt: skip
        od.graph("GET", f"{ITEMS}D1!102:/{item.name}", NOT_FOUND, status=404)
        od.graph("POST", f"{ITEMS}{item.item_id}/restore",
                 live(item.item_id, item.name, "/Pictures"), body={})  # fmt: skip
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", live("D1!102", "Pictures", ""))


def test_looks_and_name_checks_go_20_to_a_batch_paired_by_id(od: Harness) -> None:
    """45 photos of one folder: their looks in batches of 20, 20 and 5 (the harness answers in
    reverse order: paired by id, each photo gets its own look), the folder looked at once, the
    first two names checked directly, the others 20 to a batch while a restore is in flight; one
    restore each, sent directly: 54 round trips instead of 45 x 3 + 1."""
    od.signed_in()
    photos = many(45)
    serve_many(od, photos)
    results = od.restore(*photos, acct=PERSONAL)
    assert [(r.item_id, r.outcome, r.restored_path) for r in results] == [
        (p.item_id, RestoreOutcome.RESTORED, f"/Pictures/{p.name}") for p in photos
    ]
    sizes = [len(parts) for parts in od.batches]
    assert sizes[0] == 20 and sorted(sizes[1:3]) == [5, 20]  # the looks: the first batch alone
    # names of photos 3 to 45; the first two are checked directly, before the folder is known
    assert sizes[3:] == [20, 20, 3]
    trips = Counter(
        "batch" if u.endswith("$batch") else "restore" if m == "POST" else "look"
        if "includeDeletedItems" in u else "name"
        for m, u in od.round_trips()
    )  # fmt: skip
    assert trips == {"batch": 6, "restore": 45, "look": 1, "name": 2}
    assert od.sleeps == []


def test_a_throttled_part_is_asked_again_after_its_retry_after(od: Harness) -> None:
    """A part answered 429 with its own Retry-After: asked again, alone of its batch, in a new
    batch after that wait; the others are taken from the first answer."""
    od.signed_in()
    photos = many(3)
    look = f"/me/drive/items/{photos[1].item_id}{LOOK}"
    throttled = (429, {"Retry-After": "7"}, {"error": {"code": "activityLimitReached"}})
    od.batching(part_faults={look: [throttled]})
    serve_many(od, photos)
    results = od.restore(*photos, acct=PERSONAL)
    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * 3
    assert [len(parts) for parts in od.batches][:2] == [3, 1]
    assert od.batches[1][0]["url"] == look
    assert od.sleeps == [7.0]


def test_a_part_throttled_past_the_policy_fails_that_photo_only(od: Harness) -> None:
    od.signed_in()
    photos = many(3)
    look = f"/me/drive/items/{photos[0].item_id}{LOOK}"
    throttled = (429, {"Retry-After": "1"}, {"error": {"code": "activityLimitReached"}})
    od.batching(part_faults={look: [throttled] * 10})
    serve_many(od, photos)
    results = od.restore(*photos, acct=PERSONAL)
    assert [r.outcome for r in results] == [
        RestoreOutcome.FAILED,
        RestoreOutcome.RESTORED,
        RestoreOutcome.RESTORED,
    ]
    assert results[0].detail == "HTTP 429 from graph.microsoft.com after 5 attempts"
    assert od.sleeps == [1.0] * 4  # the retry policy's 5 attempts, each after its Retry-After
    assert od.writes() == [("POST", f"{ITEMS}{p.item_id}/restore") for p in photos[1:]]


def test_a_part_refused_fails_as_its_direct_call_would(od: Harness) -> None:
    od.signed_in()
    photos = many(2)
    look = f"/me/drive/items/{photos[1].item_id}{LOOK}"
    refused = (403, {"Content-Type": "application/json"}, {"error": {"code": "accessDenied"}})
    od.batching(part_faults={look: [refused]})
    serve_many(od, photos)
    results = od.restore(*photos, acct=PERSONAL)
    assert [(r.outcome, r.detail) for r in results] == [
        (RestoreOutcome.RESTORED, None),
        (RestoreOutcome.FAILED, "OneDrive refused reading the item: HTTP 403 (accessDenied)"),
    ]
    assert od.writes() == [("POST", f"{ITEMS}{photos[0].item_id}/restore")]


def test_a_batch_refused_as_a_whole_turns_to_direct_calls_for_the_run(od: Harness) -> None:
    """A service that does not take the batch (400 for the batch itself, "malformed" in
    Microsoft's words): the same reads are sent directly, and no other batch is tried."""
    od.sign_in()
    od.discovery()
    od.graph("POST", f"{V1}$batch", {"error": {"code": "BadRequest", "message": "no"}},
             status=400)  # fmt: skip
    photos = many(3)
    serve_many(od, photos)
    results = od.restore(*photos, acct=PERSONAL)
    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * 3
    batches = [u for _, u in od.round_trips() if u.endswith("$batch")]
    assert len(batches) == 1
    looks = [u for m, u in od.round_trips() if "includeDeletedItems" in u]
    assert len(looks) == 4  # the three photos and their folder, each directly


def test_the_plan_names_a_folder_in_the_bin_and_a_folder_gone(od: Harness) -> None:
    od.signed_in()
    cat = indexed("D1!110", "cat.jpg", {"id": "D1!110", "name": "cat.jpg"},
                  path="/Pictures/Trip/cat.jpg")  # fmt: skip
    dog = indexed("D1!111", "dog.jpg", {"id": "D1!111", "name": "dog.jpg"},
                  path="/Old/dog.jpg")  # fmt: skip
    od.graph("GET", f"{ITEMS}D1!110{LOOK}", binned("D1!110", "cat.jpg", "D1!103"))
    od.graph("GET", f"{ITEMS}D1!103{LOOK}", binned("D1!103", "Trip", "D1!102"))
    od.graph("GET", f"{ITEMS}D1!102{LOOK}", binned("D1!102", "Pictures", "D1!101"))
    od.graph("GET", f"{ITEMS}D1!101{LOOK}", live("D1!101", "root", ""))
    od.graph("GET", f"{ITEMS}D1!111{LOOK}", binned("D1!111", "dog.jpg", "D1!104"))
    od.graph("GET", f"{ITEMS}D1!104{LOOK}", NOT_FOUND, status=404)
    assert od.provider.plan_notes(PERSONAL, [cat, dog]) == {
        "D1!110": "its folders /Pictures, /Pictures/Trip are in the recycle bin: they are "
        "restored first (with whatever was deleted with them)",
        "D1!111": "its original folder /Old is gone (deleted for good): it will be restored "
        "into the root folder",
    }
    assert od.writes() == []  # the plan only reads
    assert len(od.batches) == 1  # the two photos looked at in one batch, their folders directly


# ------------------------------------------------------------------------------------ business

BIN = f"{BETA}sites/{SITE}/recycleBin/items"
LIST = f"{BIN}?$select=id,name,deletedFromLocation&$top=1000"
PLAIN_LIST = f"{BIN}?$select=id,name,deletedFromLocation"
DRIVE = f"{V1}sites/{SITE}/drive/root:"
PATH_SELECT = "?$select=id,name,createdDateTime"
LIBRARY = "personal/alice_contoso_com/Documents"


def bin_indexed(n: int, folder: str = "/Pictures") -> Any:
    bin_id = f"0000000{n}-aaaa-4bbb-8ccc-dddddddddddd"
    path = f"{folder}/IMG_{n}.JPG"
    return indexed(bin_id, f"IMG_{n}.JPG", {"site_id": SITE, "id": bin_id, "path": path}, path)


def entry(item: Any, location: str) -> dict[str, Any]:
    return {"id": item.item_id, "name": item.name, "deletedFromLocation": location}


def test_business_restore_200_naming_every_id_needs_no_listing(od: Harness) -> None:
    od.signed_in()
    one, two = bin_indexed(1), bin_indexed(2)
    ids = [one.item_id, two.item_id]
    od.graph("POST", f"{BIN}/restore", {"value": [{"id": i} for i in ids]}, body={"ids": ids})
    od.graph("GET", LIST, {"value": []})
    results = od.restore(one, two, acct=BUSINESS)
    assert results == [
        RestoreResult(ids[0], RestoreOutcome.RESTORED, None, "/Pictures/IMG_1.JPG"),
        RestoreResult(ids[1], RestoreOutcome.RESTORED, None, "/Pictures/IMG_2.JPG"),
    ]
    assert od.sent_to() == [("POST", f"{BIN}/restore")]


def test_business_restore_200_naming_none_is_checked_by_one_listing(od: Harness) -> None:
    """A 200 that names no id says "restored" by its status alone: the one listing checks
    each id (here both left the bin: restored)."""
    od.signed_in()
    one, two = bin_indexed(1), bin_indexed(2)
    ids = [one.item_id, two.item_id]
    od.graph("POST", f"{BIN}/restore", {}, body={"ids": ids})
    od.graph("GET", LIST, {"value": []})
    results = od.restore(one, two, acct=BUSINESS)
    assert results == [
        RestoreResult(ids[0], RestoreOutcome.RESTORED, None, "/Pictures/IMG_1.JPG"),
        RestoreResult(ids[1], RestoreOutcome.RESTORED, None, "/Pictures/IMG_2.JPG"),
    ]
    assert od.sent_to() == [("POST", f"{BIN}/restore"), ("GET", LIST)]


def test_business_restore_207_partial_says_why(od: Harness) -> None:
    od.signed_in()
    one, two, three = bin_indexed(1), bin_indexed(2), bin_indexed(3)
    ids = [one.item_id, two.item_id, three.item_id]
    answer = {
        "value": [
            {"id": ids[0]},
            {"id": ids[2], "error": {"code": "nameAlreadyExists", "message": "name taken"}},
        ]
    }
    od.graph("POST", f"{BIN}/restore", answer, status=207, body={"ids": ids})
    location = f"{LIBRARY}/Pictures"
    od.graph("GET", LIST, {"value": [entry(two, location), entry(three, location)]})
    od.graph("GET", f"{DRIVE}/Pictures/IMG_2.JPG{PATH_SELECT}", NOT_FOUND, status=404)
    od.graph("GET", f"{DRIVE}/Pictures{PATH_SELECT}", live("D1!102", "Pictures", ""))
    od.graph("GET", f"{DRIVE}/Pictures/IMG_3.JPG{PATH_SELECT}", live("01X", "IMG_3.JPG", ""))
    results = {r.item_id: r for r in od.restore(one, two, three, acct=BUSINESS)}
    assert results[ids[0]].outcome is RestoreOutcome.RESTORED
    assert results[ids[1]].outcome is RestoreOutcome.FAILED
    assert results[ids[1]].detail == (
        "not restored: OneDrive gave no reason (its folder is there and its name is free); "
        "try again"
    )
    assert results[ids[2]].outcome is RestoreOutcome.FAILED
    assert results[ids[2]].detail == (
        "not restored: a file named IMG_3.JPG is in the way at its original place /Pictures, "
        "and OneDrive for Business restores only to the original place: move or rename that "
        "file, then restore again (OneDrive said: name taken)"
    )
    assert [m for m, _ in od.sent_to()] == ["POST", "GET", "GET", "GET", "GET"]


def test_business_a_folder_in_the_bin_is_named_in_either_location_form(od: Harness) -> None:
    """``deletedFromLocation`` is "a relative URL": server-relative (with the site path) or
    site-relative; a folder entry whose location plus name is on the item's way is named."""
    for library in (LIBRARY, "Documents"):
        od.restart()
        od.signed_in()
        one = bin_indexed(1, folder="/Pictures/Party/2024")
        od.graph("POST", f"{BIN}/restore", {"value": []}, status=207, body={"ids": [one.item_id]})
        party = {"id": "f1", "name": "Party", "deletedFromLocation": f"/{library}/Pictures"}
        od.graph("GET", LIST, {"value": [entry(one, f"{library}/Pictures/Party/2024"), party]})
        od.graph("GET", f"{DRIVE}/Pictures/Party/2024/IMG_1.JPG{PATH_SELECT}", NOT_FOUND,
                 status=404)  # fmt: skip
        od.graph("GET", f"{DRIVE}/Pictures/Party/2024{PATH_SELECT}", NOT_FOUND, status=404)
        [result] = od.restore(one, acct=BUSINESS)
        assert result.detail == (
            "not restored: its original folder /Pictures/Party is in the recycle bin: restore "
            "that folder first, then this item"
        )


def test_business_reported_restored_but_still_listed_is_a_failure(od: Harness) -> None:
    od.signed_in()
    one = bin_indexed(1)
    od.graph("POST", f"{BIN}/restore", {}, body={"ids": [one.item_id]})
    od.graph("GET", LIST, {"value": [entry(one, f"{LIBRARY}/Pictures")]})
    [result] = od.restore(one, acct=BUSINESS)
    assert result.outcome is RestoreOutcome.FAILED
    assert "its recycle bin still lists it" in (result.detail or "")


def test_business_a_failed_listing_keeps_the_answer(od: Harness) -> None:
    """The documented answer is trusted: a listing refused (here 400) turns no restored id
    into a failure; an id left out is failed with both reasons."""
    od.signed_in()
    one, two = bin_indexed(1), bin_indexed(2)
    ids = [one.item_id, two.item_id]
    od.graph("POST", f"{BIN}/restore", {"value": [{"id": ids[0]}]}, status=207, body={"ids": ids})
    for url in (LIST, PLAIN_LIST):  # refused with $top, then without it
        od.graph("GET", url, {"error": {"code": "BadRequest", "message": "no"}}, status=400)
    results = od.restore(one, two, acct=BUSINESS)
    assert [(r.item_id, r.outcome) for r in results] == [
        (ids[0], RestoreOutcome.RESTORED),
        (ids[1], RestoreOutcome.FAILED),
    ]
    assert results[1].detail == (
        "not restored: OneDrive did not report it restored; listing the recycle bin failed: "
        "OneDrive refused listing the recycle bin of site " + SITE + ": HTTP 400 (BadRequest)"
    )


def test_business_listing_asks_1000_a_page_and_again_without_top_if_refused(
    od: Harness,
) -> None:
    """The one listing asks the largest page, as the scan does (``$top=1000``); a service that
    refuses the option (400 on the first page) is asked again without it, pages followed."""
    for refuses in (False, True):
        od.restart()
        od.signed_in()
        one = bin_indexed(1)
        od.graph("POST", f"{BIN}/restore", {"value": []}, status=207, body={"ids": [one.item_id]})
        if refuses:
            od.graph("GET", LIST, {"error": {"code": "invalidRequest"}}, status=400)
            page2 = f"{BIN}?$skiptoken=2"
            od.graph("GET", PLAIN_LIST, {"value": [], "@odata.nextLink": page2})
            od.graph("GET", page2, {"value": [entry(one, f"{LIBRARY}/Pictures")]})
        else:
            od.graph("GET", LIST, {"value": [entry(one, f"{LIBRARY}/Pictures")]})
        taken = live("01X", "IMG_1.JPG", "")
        od.graph("GET", f"{DRIVE}/Pictures/IMG_1.JPG{PATH_SELECT}", taken)
        [result] = od.restore(one, acct=BUSINESS)
        assert "is in the way at its original place" in (result.detail or "")
        lists = [u for m, u in od.sent_to() if m == "GET" and "recycleBin" in u]
        assert lists == ([LIST, PLAIN_LIST, f"{BIN}?$skiptoken=2"] if refuses else [LIST])


def test_business_a_5xx_restore_is_settled_by_the_listing(od: Harness) -> None:
    od.signed_in()
    one, two = bin_indexed(1), bin_indexed(2)
    ids = [one.item_id, two.item_id]
    od.graph("POST", f"{BIN}/restore", {}, status=500, body={"ids": ids})
    od.graph("GET", LIST, {"value": [entry(two, f"{LIBRARY}/Pictures")]})
    back = {"id": "01A", "name": "IMG_1.JPG", "createdDateTime": "2020-01-01T00:00:00Z"}
    od.graph("GET", f"{DRIVE}/Pictures/IMG_1.JPG{PATH_SELECT}", back)
    results = od.restore(one, two, acct=BUSINESS)
    assert [(r.item_id, r.outcome, r.detail) for r in results] == [
        (
            ids[0],
            RestoreOutcome.RESTORED,
            "OneDrive answered HTTP 500, but it left the recycle bin and is back at its "
            "original place",
        ),
        (
            ids[1],
            RestoreOutcome.FAILED,
            "not restored: OneDrive answered HTTP 500; it is still in the recycle bin",
        ),
    ]


def test_business_a_newer_file_at_the_place_is_not_already_restored(od: Harness) -> None:
    od.signed_in()
    one = bin_indexed(1)
    od.graph("POST", f"{BIN}/restore", {"value": []}, status=207, body={"ids": [one.item_id]})
    od.graph("GET", LIST, {"value": []})
    newer = {"id": "01B", "name": "IMG_1.JPG", "createdDateTime": "2024-06-02T00:00:00Z"}
    od.graph("GET", f"{DRIVE}/Pictures/IMG_1.JPG{PATH_SELECT}", newer)  # after NOW, the deletion
    [result] = od.restore(one, acct=BUSINESS)
    assert result.outcome is RestoreOutcome.FAILED
    assert "is a newer one (created after the deletion)" in (result.detail or "")


def test_business_restore_403_names_the_missing_permission(od: Harness) -> None:
    od.sign_in(scopes=["Files.ReadWrite.All"])
    od.discovery()
    acct = account(drive_type="business", scopes="Files.ReadWrite.All")
    one = bin_indexed(1)
    od.graph("POST", f"{BIN}/restore", {"error": {"code": "accessDenied", "message": "denied"}},
             status=403, body={"ids": [one.item_id]})  # fmt: skip
    [result] = od.restore(one, acct=acct)
    assert result.outcome is RestoreOutcome.FAILED
    assert result.detail == (
        "OneDrive refused the recycle-bin restore (HTTP 403): it needs the delegated permission "
        "Sites.ReadWrite.All, which this sign-in does not hold; add it to your app registration, "
        "then re-run `trashscan accounts add onedrive alice`"
    )
    # Only Graph was asked: no token for the SharePoint host, no other API tried.
    assert od.sent_to() == [("POST", f"{BIN}/restore")]
    assert [u for _, u in od.sent if "sharepoint.com/_api" in u] == []


def test_business_restore_403_with_the_permission_held(od: Harness) -> None:
    od.signed_in()
    one = bin_indexed(1)
    od.graph("POST", f"{BIN}/restore", {"error": {"code": "accessDenied"}}, status=403,
             body={"ids": [one.item_id]})  # fmt: skip
    [result] = od.restore(one, acct=BUSINESS)
    assert "although the sign-in holds Sites.ReadWrite.All" in (result.detail or "")


def test_business_restore_goes_in_chunks_with_one_listing(od: Harness) -> None:
    od.signed_in()
    items = [bin_indexed(n) for n in range(restore_business.CHUNK + 1)]
    ids = [i.item_id for i in items]
    first, rest = ids[: restore_business.CHUNK], ids[restore_business.CHUNK :]
    od.graph("POST", f"{BIN}/restore", {}, body={"ids": first})
    od.graph("POST", f"{BIN}/restore", {}, body={"ids": rest})
    od.graph("GET", LIST, {"value": []})
    results = od.restore(*items, acct=BUSINESS)
    assert all(r.outcome is RestoreOutcome.RESTORED for r in results)
    assert od.bodies()[0] == {"ids": first}
    assert od.bodies()[1] == {"ids": rest}
    assert [m for m, _ in od.sent_to()] == ["POST", "POST", "GET"]


def test_business_each_chunk_reaches_the_core_before_the_next_restore_is_sent(
    od: Harness,
) -> None:
    """An id the answer names as restored (its recycleBinItem in ``value``, no error) is the
    cloud's own word: it is yielded at once, before the next chunk's restore is sent; with
    nothing left in doubt, no listing of the recycle bin is needed."""
    od.signed_in()
    items = [bin_indexed(n) for n in range(2 * restore_business.CHUNK + 1)]
    ids = [i.item_id for i in items]
    chunks = [
        ids[start : start + restore_business.CHUNK]
        for start in (0, restore_business.CHUNK, 2 * restore_business.CHUNK)
    ]
    for chunk in chunks:
        named = {"value": [{"id": i, "name": "x.jpg"} for i in chunk]}
        od.graph("POST", f"{BIN}/restore", named, status=207, body={"ids": chunk})
    results = od.provider.restore(BUSINESS, items)
    first = list(itertools.islice(results, restore_business.CHUNK))
    assert [r.item_id for r in first] == chunks[0]
    assert all(r.outcome is RestoreOutcome.RESTORED for r in first)
    assert first[0].restored_path == "/Pictures/IMG_0.JPG"
    assert od.sent_to() == [("POST", f"{BIN}/restore")]  # the second chunk is not sent yet
    second = list(itertools.islice(results, restore_business.CHUNK))
    assert [r.item_id for r in second] == chunks[1]
    assert [m for m, _ in od.sent_to()] == ["POST", "POST"]
    rest = list(results)
    assert [(r.item_id, r.outcome) for r in rest] == [(chunks[2][0], RestoreOutcome.RESTORED)]
    assert od.sent_to() == [("POST", f"{BIN}/restore")] * 3  # no listing: nothing in doubt


def test_business_a_chunk_in_doubt_waits_for_the_one_listing_others_do_not(od: Harness) -> None:
    """A chunk the answer leaves open (an id not named: purged, already restored, ...; a 5xx)
    is settled after the last chunk, by the one listing; the named ids of every chunk, even
    of that one, are yielded as their chunk is answered."""
    od.signed_in()
    items = [bin_indexed(n) for n in range(restore_business.CHUNK + 2)]
    ids = [i.item_id for i in items]
    first, rest = ids[: restore_business.CHUNK], ids[restore_business.CHUNK :]
    named = {"value": [{"id": i} for i in first[1:]]}  # first[0] left out
    od.graph("POST", f"{BIN}/restore", named, status=207, body={"ids": first})
    od.graph("POST", f"{BIN}/restore", {"value": [{"id": i} for i in rest]}, status=207,
             body={"ids": rest})  # fmt: skip
    od.graph("GET", LIST, {"value": []})
    back = {"id": "01A", "name": "IMG_0.JPG", "createdDateTime": "2020-01-01T00:00:00Z"}
    od.graph("GET", f"{DRIVE}/Pictures/IMG_0.JPG{PATH_SELECT}", back)
    results = od.provider.restore(BUSINESS, items)
    early = list(itertools.islice(results, restore_business.CHUNK - 1))
    assert [r.item_id for r in early] == first[1:]
    assert od.sent_to() == [("POST", f"{BIN}/restore")]
    late = list(results)
    assert [(r.item_id, r.outcome) for r in late] == [
        (rest[0], RestoreOutcome.RESTORED),
        (rest[1], RestoreOutcome.RESTORED),
        (first[0], RestoreOutcome.ALREADY_RESTORED),
    ]
    assert [m for m, _ in od.sent_to()] == ["POST", "POST", "GET", "GET"]


def test_a_restore_with_no_sign_in_raises_for_the_account(od: Harness) -> None:
    with pytest.raises(AuthError):
        od.restore(CAT, acct=PERSONAL)
    assert od.sent == []
