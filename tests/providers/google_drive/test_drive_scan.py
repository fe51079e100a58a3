"""Listing the Drive trash: the exact requests of full and incremental scans."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

import pytest

from trashscan.errors import AccountError
from trashscan.models import DeletedAtSource, ScanOutcome

from .conftest import (
    CREDENTIALS,
    SERVICE,
    Harness,
    Req,
    account,
    batch_answer,
    batch_parts,
    error,
    get,
    items_of,
    ok,
    part_error,
    part_ok,
    removed_of,
)

MEDIA = "trashed = true and (mimeType contains 'image/' or mimeType contains 'video/')"
FILE = (
    "id,name,mimeType,size,parents,driveId,trashed,explicitlyTrashed,trashedTime,"
    "capabilities(canUntrash),md5Checksum,sha256Checksum,"
    "thumbnailLink,hasThumbnail,videoMediaMetadata(durationMillis)"
)
LIST = f"nextPageToken,incompleteSearch,files({FILE})"
CHANGES = (
    "nextPageToken,newStartPageToken,"
    f"changes(changeType,removed,fileId,driveId,time,drive(id,name),file({FILE}))"
)
FOLDER = "id,name,parents,driveId,trashed,explicitlyTrashed,trashedTime,capabilities(canUntrash)"
MY_DRIVE = {"id": "R0", "name": "My Drive", "trashed": False, "explicitlyTrashed": False}
ACTIVITY_SCOPE = "https://www.googleapis.com/auth/drive.activity.readonly"


def photo(file_id: str, **extra: Any) -> dict[str, Any]:
    """A trashed photo; without ``parents`` (as for a file shared with the user) unless a test
    is about folders, so that no folder read is due."""
    return {
        "id": file_id,
        "name": f"{file_id}.jpg",
        "mimeType": "image/jpeg",
        "size": "2048",
        "trashed": True,
        "explicitlyTrashed": True,
        "capabilities": {"canUntrash": True},
        **extra,
    }


def video(file_id: str, **extra: Any) -> dict[str, Any]:
    return photo(file_id, name=f"{file_id}.mp4", mimeType="video/mp4", **extra)


def folder(file_id: str, name: str, parent: str, explicit: bool) -> dict[str, Any]:
    return {
        "id": file_id,
        "name": name,
        "mimeType": "application/vnd.google-apps.folder",
        "parents": [parent],
        "trashed": True,
        "explicitlyTrashed": explicit,
    }


def folder_get(file_id: str) -> Req:
    return Req(
        "GET",
        "www.googleapis.com",
        f"/drive/v3/files/{file_id}",
        {"fields": FOLDER, "supportsAllDrives": "true", "alt": "json"},
    )


def list_user(**extra: Any) -> Req:
    params = dict(q=MEDIA, pageSize=1000, fields=LIST, supportsAllDrives=True, corpora="user")
    return get("files", **params, **extra)


def list_drive(drive_id: str) -> Req:
    return get(
        "files",
        q=MEDIA,
        pageSize=1000,
        fields=LIST,
        supportsAllDrives=True,
        corpora="drive",
        driveId=drive_id,
        includeItemsFromAllDrives=True,
    )


def changes(token: str, **extra: Any) -> Req:
    params = dict(
        pageToken=token,
        pageSize=1000,
        includeRemoved=True,
        includeItemsFromAllDrives=True,
        supportsAllDrives=True,
        fields=CHANGES,
    )
    return get("changes", **params, **extra)


def change(file_id: str, time: str, file: dict | None = None, **extra: Any) -> dict[str, Any]:
    entry = {"changeType": "file", "fileId": file_id, "time": time, "removed": file is None}
    return {**entry, **({"file": file} if file else {}), **extra}


def feed(*entries: dict[str, Any], next_page: str = "", new_start: str = "") -> Any:
    body: dict[str, Any] = {"changes": list(entries)}
    if next_page:
        body["nextPageToken"] = next_page
    if new_start:
        body["newStartPageToken"] = new_start
    return ok(body)


START = get("changes/startPageToken", supportsAllDrives=True)
DRIVES = get("drives", pageSize=100, fields="nextPageToken,drives(id,name)")


def state(user: str = "100", drives: dict[str, Any] | None = None, at: str = "") -> dict:
    return {
        "version": 1,
        "user": user,
        "drives": drives if drives is not None else {"D1": {"name": "Team", "token": "7"}},
        "scanned_at": at or "2024-05-31T12:00:00Z",
    }


# ---------------------------------------------------------------------------- full listing


def test_first_scan_takes_tokens_first_then_lists_my_drive_and_each_shared_drive(
    gd: Harness,
) -> None:
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({"drives": [{"id": "D1", "name": "Team"}]}),
        ok({"startPageToken": "7"}),
        ok({"files": [photo("a")], "nextPageToken": "p2", "incompleteSearch": False}),
        ok({"files": [video("b")], "incompleteSearch": False}),
        ok({"files": [photo("s", driveId="D1", trashedTime="2024-05-20T08:00:00.123456789Z")]}),
    )

    pages, outcome = gd.scan()

    assert gd.requests == [
        START,
        DRIVES,
        get("changes/startPageToken", supportsAllDrives=True, driveId="D1"),
        list_user(),
        list_user(pageToken="p2"),
        list_drive("D1"),
    ]
    assert outcome == ScanOutcome(
        state={
            "version": 1,
            "user": "100",
            "drives": {"D1": {"name": "Team", "token": "7"}},
            "scanned_at": "2024-06-01T12:00:00Z",
        },
        complete_listing=True,
    )
    assert [[i.item_id for i in p.items] for p in pages] == [["a"], ["b"], ["s"]]
    items = items_of(pages)
    mine = items["a"]
    assert (mine.name, mine.path, mine.mime_type, mine.size) == ("a.jpg", None, "image/jpeg", 2048)
    assert (mine.deleted_at, mine.deleted_at_source) == (None, DeletedAtSource.OBSERVED)
    assert mine.purge_is_estimate and mine.restorable
    assert mine.restore_handle == {"untrash": "a"}
    shared = items["s"]
    assert shared.deleted_at == datetime(2024, 5, 20, 8, 0, 0, 123456, tzinfo=UTC)
    assert shared.deleted_at_source is DeletedAtSource.API
    assert not shared.purge_is_estimate
    assert shared.path == "Team/s.jpg"
    assert gd.provider.retention.purge_date(account(), shared.deleted_at) == datetime(
        2024, 6, 19, 8, 0, 0, 123456, tzinfo=UTC
    )


def test_first_scan_takes_the_shared_drives_start_tokens_in_one_batch(gd: Harness) -> None:
    drives = [{"id": d, "name": d} for d in ("D1", "D2", "D3")]
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({"drives": drives}),
        batch_answer(*(part_ok(d["id"], {"startPageToken": f"t{d['id']}"}) for d in drives)),
        ok({"files": []}),
        ok({"files": []}),
        ok({"files": []}),
        ok({"files": []}),
    )

    _, outcome = gd.scan()

    assert batch_parts(gd.requests[2]) == [
        get("changes/startPageToken", supportsAllDrives=True, driveId=d["id"]) for d in drives
    ]
    assert gd.requests[3:] == [list_user(), *(list_drive(d["id"]) for d in drives)]
    assert outcome.state is not None
    assert {d: i["token"] for d, i in outcome.state["drives"].items()} == {
        "D1": "tD1",
        "D2": "tD2",
        "D3": "tD3",
    }


def test_a_start_token_refused_in_the_batch_fails_the_scan(gd: Harness) -> None:
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({"drives": [{"id": "D1", "name": "A"}, {"id": "D2", "name": "B"}]}),
        batch_answer(part_ok("D1", {"startPageToken": "7"}), part_error("D2", 404, "notFound")),
    )

    with pytest.raises(AccountError, match="HTTP 404"):
        gd.scan()


def test_incomplete_search_claims_nothing_and_lists_everything_next_time(gd: Harness) -> None:
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("a")], "incompleteSearch": True}),
    )

    pages, outcome = gd.scan()

    assert [r.path for r in gd.requests][-1] == "/drive/v3/files"
    assert list(items_of(pages)) == ["a"]  # what was found is still indexed
    assert outcome == ScanOutcome(state=None, complete_listing=False)


def test_not_untrashable_items_are_listed_as_not_restorable(gd: Harness) -> None:
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("a", capabilities={"canUntrash": False})]}),
    )

    item = items_of(gd.scan()[0])["a"]

    assert not item.restorable
    assert "owner" in (item.not_restorable_reason or "")


# ---------------------------------------------------------------------------- changes feeds


def feeds(*parts: tuple[str, dict[str, Any]]) -> Any:
    """One batch answering changes.list for several logs: ("feed:" user, "feed:D1" ...)."""
    return batch_answer(*(part_ok(key, body) for key, body in parts))


def test_unchanged_rescan_reads_every_change_log_in_one_batch(gd: Harness) -> None:
    """Google: "To track changes for all items visible to a user, both the user change log
    and the change logs for all shared drives the user is a member of need to be replayed"
    [DOC guides/about-changes]; every log is read, all of them in one round trip."""
    gd.respond(
        feeds(("feed:", {"newStartPageToken": "100"}), ("feed:D1", {"newStartPageToken": "7"}))
    )

    pages, outcome = gd.scan(state=state())

    assert len(gd.requests) == 1
    assert batch_parts(gd.requests[0]) == [changes("100"), changes("7", driveId="D1")]
    assert pages == []
    assert outcome == ScanOutcome(state=state(at="2024-06-01T12:00:00Z"), complete_listing=False)


def test_only_the_logs_with_more_pages_are_read_again(gd: Harness) -> None:
    drives = {d: {"name": d, "token": "7"} for d in ("D1", "D2")}
    gd.respond(
        feeds(
            ("feed:", {"changes": [], "newStartPageToken": "100"}),
            ("feed:D1", {"changes": [], "nextPageToken": "8"}),
            ("feed:D2", {"changes": [], "newStartPageToken": "7"}),
        ),
        feed(new_start="9"),  # D1's second page, alone: no batch of one
    )

    _, outcome = gd.scan(state=state(drives=drives))

    assert gd.requests[1] == changes("8", driveId="D1")
    assert outcome.state is not None
    assert {d: i["token"] for d, i in outcome.state["drives"].items()} == {"D1": "9", "D2": "7"}


def test_a_shared_drive_log_refused_in_the_batch_falls_back_to_a_full_listing(
    gd: Harness,
) -> None:
    gd.respond(
        batch_answer(
            part_ok("feed:", {"changes": [], "newStartPageToken": "100"}),
            part_error("feed:D1", 404, "notFound"),
        ),
        ok({"startPageToken": "200"}),
        ok({}),
        ok({"files": []}),
    )

    _, outcome = gd.scan(state=state())

    assert gd.requests[1:] == [START, DRIVES, list_user()]
    assert outcome.complete_listing


def test_unchanged_rescan_without_shared_drives_is_one_request(gd: Harness) -> None:
    gd.respond(feed(new_start="100"))

    pages, outcome = gd.scan(state=state(drives={}))

    assert gd.requests == [changes("100")]
    assert (pages, outcome.complete_listing) == ([], False)


def test_changes_report_trashed_untrashed_and_removed_items(gd: Harness) -> None:
    untrashed = photo("b", trashed=False, explicitlyTrashed=False)
    document = photo("d", name="d.pdf", mimeType="application/pdf")
    gd.respond(
        feed(
            change("a", "2024-06-01T10:00:00Z", photo("a")),
            change("b", "2024-06-01T10:05:00Z", untrashed),
            change("c", "2024-06-01T10:06:00Z"),  # removed: purged, emptied or access lost
            change("d", "2024-06-01T10:07:00Z", document),
            next_page="101",
        ),
        feed(change("e", "2024-06-01T11:00:00Z", video("e")), new_start="105"),
    )

    pages, outcome = gd.scan(state=state(drives={}))

    assert gd.requests == [changes("100"), changes("101")]
    assert [[i.item_id for i in p.items] for p in pages] == [["a"], ["e"]]
    assert removed_of(pages) == ["b", "c"]
    a = items_of(pages)["a"]
    assert a.deleted_at == datetime(2024, 6, 1, 10, 0, tzinfo=UTC)  # at the latest
    # first reported by the feed read from the previous scan's position: trashed after that
    # scan began (less 5 minutes against a skewed clock), so its purge is no sooner than that
    assert a.deleted_after == datetime(2024, 5, 31, 11, 55, tzinfo=UTC)
    assert (a.deleted_at_source, a.purge_is_estimate) == (DeletedAtSource.CHANGES, True)
    assert outcome.state is not None and outcome.state["user"] == "105"
    assert not outcome.complete_listing


def test_shared_drive_changes_carry_the_exact_trash_time(gd: Harness) -> None:
    trashed = photo("s", driveId="D1", trashedTime="2024-06-01T09:00:00Z")
    shared = change("s", "2024-06-01T09:00:01Z", trashed, driveId="D1")
    gd.respond(
        feeds(
            ("feed:", {"changes": [], "newStartPageToken": "100"}),
            ("feed:D1", {"changes": [shared], "newStartPageToken": "8"}),
        )
    )

    pages, outcome = gd.scan(state=state())

    item = items_of(pages)["s"]
    assert (item.deleted_at_source, item.purge_is_estimate) == (DeletedAtSource.API, False)
    assert item.path == "Team/s.jpg"
    assert outcome.state is not None and outcome.state["drives"]["D1"]["token"] == "8"


def test_rejected_token_falls_back_to_a_full_listing(gd: Harness) -> None:
    gd.respond(
        error(400, "invalid", "Invalid Value"),
        ok({"startPageToken": "200"}),
        ok({}),
        ok({"files": [photo("a")]}),
    )

    pages, outcome = gd.scan(state=state(drives={}))

    assert gd.requests == [changes("100"), START, DRIVES, list_user()]
    assert list(items_of(pages)) == ["a"]
    assert outcome.complete_listing
    assert outcome.state is not None and outcome.state["user"] == "200"


def test_a_shared_drive_joined_since_is_listed_and_tracked(gd: Harness) -> None:
    joined = {"changeType": "drive", "driveId": "D2", "drive": {"id": "D2", "name": "New"}}
    gd.respond(
        feed(joined, new_start="101"),
        ok({"startPageToken": "1"}),
        ok({"files": [photo("n", driveId="D2", trashedTime="2024-05-30T00:00:00Z")]}),
    )

    pages, outcome = gd.scan(state=state(drives={}))

    assert gd.requests == [
        changes("100"),
        get("changes/startPageToken", supportsAllDrives=True, driveId="D2"),
        list_drive("D2"),
    ]
    assert items_of(pages)["n"].path == "New/n.jpg"
    assert outcome.state is not None
    assert outcome.state["drives"] == {"D2": {"name": "New", "token": "1"}}


def test_leaving_a_shared_drive_triggers_a_full_listing(gd: Harness) -> None:
    left = {"changeType": "drive", "driveId": "D1", "removed": True}
    gd.respond(
        batch_answer(
            part_ok("feed:", {"changes": [left], "newStartPageToken": "101"}),
            part_error("feed:D1", 404, "notFound"),  # its log, read in the same batch
        ),
        ok({"startPageToken": "200"}),
        ok({}),
        ok({"files": []}),
    )

    _, outcome = gd.scan(state=state())

    assert gd.requests[1:] == [START, DRIVES, list_user()]
    assert outcome.complete_listing


def test_item_trashed_with_its_folder_names_the_folder(gd: Harness) -> None:
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok(
            {
                "files": [
                    photo("x", explicitlyTrashed=False, parents=["F2"]),
                    photo("y", explicitlyTrashed=False, parents=["F2"]),
                ]
            }
        ),
        batch_answer(
            part_ok("F2", folder("F2", "sub", parent="F1", explicit=False)),
            part_ok("root", MY_DRIVE),
        ),
        batch_answer(part_ok("F1", folder("F1", "Album", parent="R0", explicit=True))),
    )

    items = items_of(gd.scan()[0])

    # one read per folder, however many items it holds, a batch per level; the root alias
    # comes with the first, so that the My Drive root is never read as a folder of the path
    assert [batch_parts(r) for r in gd.requests[3:]] == [
        [folder_get("F2"), folder_get("root")],
        [folder_get("F1")],
    ]
    assert items["x"].path == "Album/sub/x.jpg"
    handle = {
        "untrash": "F1",
        "folder": "Album",
        "above": ["F2", "F1"],
        "trashed_folders": [["F1", "Album"]],
    }
    assert items["x"].restore_handle == handle
    assert items["y"].restore_handle == handle


def test_a_photo_trashed_from_a_live_folder_has_it_in_its_path(gd: Harness) -> None:
    live = {**folder("F1", "Album", parent="R0", explicit=False), "trashed": False}
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("x", parents=["F1"]), photo("y", parents=["R0"])]}),
        batch_answer(part_ok("F1", live), part_ok("R0", MY_DRIVE), part_ok("root", MY_DRIVE)),
    )

    items = items_of(gd.scan()[0])

    assert len(gd.requests) == 4
    assert (items["x"].path, items["y"].path) == ("Album/x.jpg", None)
    assert items["x"].restore_handle == {"untrash": "x", "above": ["F1"]}


def test_a_folder_trashed_since_the_last_scan_relists_that_trash(gd: Harness) -> None:
    album = folder("F1", "Album", parent="root", explicit=True)
    gd.respond(
        feed(change("F1", "2024-06-01T07:00:00Z", album), new_start="101"),
        ok({"files": [photo("x", explicitlyTrashed=False, parents=["F1"])]}),
        batch_answer(part_ok("root", {**MY_DRIVE, "id": "root"})),
    )

    pages, _ = gd.scan(state=state(drives={}))

    # the folder itself needs no files.get, nor its parent: the My Drive root, asked once
    assert gd.requests[:2] == [changes("100"), list_user()]
    assert [batch_parts(r) for r in gd.requests[2:]] == [[folder_get("root")]]
    item = items_of(pages)["x"]
    assert item.restore_handle == {
        "untrash": "F1",
        "folder": "Album",
        "above": ["F1"],
        "trashed_folders": [["F1", "Album"]],
    }
    assert item.deleted_at == datetime(2024, 6, 1, 7, 0, tzinfo=UTC)
    assert item.deleted_at_source is DeletedAtSource.CHANGES


# ---------------------------------------------------------------------------- Drive Activity


def _with_activity_scope(gd: Harness) -> None:
    scopes = ["https://www.googleapis.com/auth/drive", ACTIVITY_SCOPE]
    gd.secrets.set(SERVICE, "authorized_user", json.dumps({**CREDENTIALS, "scopes": scopes}))


def _trash(target: str, type_: str = "TRASH", **when: Any) -> dict[str, Any]:
    return {
        "primaryActionDetail": {"delete": {"type": type_}},
        "actions": [{"detail": {"delete": {"type": type_}}}],
        "targets": [{"driveItem": {"name": f"items/{target}", "title": f"{target}.jpg"}}],
        **when,
    }


def test_activity_api_dates_my_drive_items(gd: Harness) -> None:
    _with_activity_scope(gd)
    span = {"startTime": "2024-05-01T00:00:00Z", "endTime": "2024-05-02T00:00:00Z"}
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("a"), photo("b"), photo("c")]}),
        ok(
            {
                "activities": [
                    _trash("a", timestamp="2024-05-25T09:30:00.500Z"),
                    _trash("b", "PERMANENT_DELETE", timestamp="2024-05-26T00:00:00Z"),
                ],
                "nextPageToken": "act2",
            }
        ),
        ok({"activities": [_trash("c", timeRange=span)]}),
    )

    pages, outcome = gd.scan(account("https://127.0.0.1:8443", activity=True))

    reqs = gd.requests
    assert {r.host for r in reqs} == {"127.0.0.1:8443"}
    assert [(r.method, r.path) for r in reqs] == [
        ("GET", "/drive/v3/changes/startPageToken"),
        ("GET", "/drive/v3/drives"),
        ("GET", "/drive/v3/files"),
        ("POST", "/v2/activity:query"),
        ("POST", "/v2/activity:query"),
    ]
    wanted = {
        "ancestorName": "items/root",
        "pageSize": 1000,
        "filter": 'time >= "2024-05-01T12:00:00Z" AND detail.action_detail_case:DELETE',
    }
    assert reqs[3].json == wanted
    assert reqs[4].json == {**wanted, "pageToken": "act2"}
    items = items_of(pages)
    assert items["a"].deleted_at == datetime(2024, 5, 25, 9, 30, 0, 500000, tzinfo=UTC)
    assert items["a"].deleted_at_source is DeletedAtSource.ACTIVITY
    assert items["a"].purge_is_estimate
    assert items["b"].deleted_at_source is DeletedAtSource.OBSERVED  # not a trash event
    assert items["c"].deleted_at == datetime(2024, 5, 2, tzinfo=UTC)  # a consolidated range:
    assert items["c"].deleted_after == datetime(2024, 5, 1, tzinfo=UTC)  # its start and end
    assert items["a"].deleted_after == items["a"].deleted_at  # an event: the deletion itself
    assert outcome.complete_listing and outcome.notice is None


def test_activity_window_of_an_incremental_scan_starts_at_the_previous_scan(
    gd: Harness,
) -> None:
    _with_activity_scope(gd)
    gd.respond(
        feed(change("a", "2024-06-01T10:00:00Z", photo("a")), new_start="101"),
        ok({"activities": [_trash("a", timestamp="2024-06-01T09:59:58Z")]}),
    )

    pages, _ = gd.scan(account(activity=True), state(drives={}))

    assert gd.requests[1].json["filter"].startswith('time >= "2024-05-31T11:55:00Z"')
    item = items_of(pages)["a"]
    assert (item.deleted_at, item.deleted_at_source) == (
        datetime(2024, 6, 1, 9, 59, 58, tzinfo=UTC),
        DeletedAtSource.ACTIVITY,
    )


DISABLED = error(
    403,
    "accessNotConfigured",
    "Drive Activity API has not been used in project 123 before or it is disabled.",
)


def test_activity_api_disabled_is_said_once_and_falls_back_to_estimates(gd: Harness) -> None:
    _with_activity_scope(gd)
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("a"), photo("b")]}),
        DISABLED,
    )

    pages, outcome = gd.scan(account(activity=True))

    assert len(gd.requests) == 4  # asked once, not once per item
    assert {i.deleted_at_source for i in items_of(pages).values()} == {DeletedAtSource.OBSERVED}
    assert {i.deleted_after for i in items_of(pages).values()} == {None}  # age unknown
    assert outcome.complete_listing
    assert outcome.notice is not None
    assert outcome.notice.startswith("the Drive Activity API is not enabled")
    assert "https://console.cloud.google.com/apis/library/driveactivity.googleapis.com" in (
        outcome.notice
    )
    assert outcome.state is not None and outcome.state["activity_refused"] == "disabled"

    # the next scan asks again (it may have been enabled meanwhile) but says nothing new
    gd.http.request_sequence.clear()
    gd.respond(feed(change("c", "2024-06-01T10:00:00Z", photo("c")), new_start="101"), DISABLED)
    pages, again = gd.scan(account(activity=True), outcome.state)
    assert [r.path for r in gd.requests] == ["/drive/v3/changes", "/v2/activity:query"]
    assert items_of(pages)["c"].deleted_at_source is DeletedAtSource.CHANGES
    assert again.notice is None
    assert again.state is not None and again.state["activity_refused"] == "disabled"

    # once enabled, it dates items again and forgets the refusal
    gd.http.request_sequence.clear()
    gd.respond(
        feed(change("d", "2024-06-01T11:00:00Z", photo("d")), new_start="102"),
        ok({"activities": [_trash("d", timestamp="2024-06-01T10:59:00Z")]}),
    )
    pages, enabled = gd.scan(account(activity=True), again.state)
    assert items_of(pages)["d"].deleted_at_source is DeletedAtSource.ACTIVITY
    assert enabled.notice is None and enabled.state is not None
    assert "activity_refused" not in enabled.state


def test_an_unchanged_rescan_keeps_the_refusal_without_asking(gd: Harness) -> None:
    _with_activity_scope(gd)
    gd.respond(feed(new_start="101"))
    earlier = {**state(drives={}), "activity_refused": "disabled"}
    _, outcome = gd.scan(account(activity=True), earlier)
    assert len(gd.requests) == 1  # nothing to date: Drive Activity not asked
    assert outcome.notice is None
    assert outcome.state is not None and outcome.state["activity_refused"] == "disabled"


def test_a_token_without_the_activity_scope_is_refused_like_a_missing_grant(gd: Harness) -> None:
    _with_activity_scope(gd)  # the stored grant lists it, but Google says the token lacks it
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("a")]}),
        error(403, "insufficientPermissions", "Request had insufficient authentication scopes."),
    )
    _, outcome = gd.scan(account(activity=True))
    assert outcome.notice is not None
    assert "re-run `trashscan accounts add google-drive alice`" in outcome.notice
    assert outcome.state is not None and outcome.state["activity_refused"] == "scope"


def test_another_activity_failure_falls_back_without_a_notice(
    gd: Harness, caplog: pytest.LogCaptureFixture
) -> None:
    _with_activity_scope(gd)
    gd.respond(
        ok({"startPageToken": "100"}),
        ok({}),
        ok({"files": [photo("a")]}),
        error(400, "badRequest"),
    )
    with caplog.at_level(logging.WARNING):
        pages, outcome = gd.scan(account(activity=True))
    assert items_of(pages)["a"].deleted_at_source is DeletedAtSource.OBSERVED
    assert outcome.notice is None
    assert "Drive Activity API unavailable" in caplog.text


def test_activity_without_its_scope_is_not_queried(gd: Harness) -> None:
    gd.respond(ok({"startPageToken": "100"}), ok({}), ok({"files": [photo("a")]}))

    _, outcome = gd.scan(account(activity=True))

    assert len(gd.requests) == 3
    assert outcome.notice is not None
    assert outcome.notice.startswith("this account's sign-in lacks the Drive Activity permission")
    assert "re-run `trashscan accounts add google-drive alice`" in outcome.notice
