"""Scanning: the exact requests of a first scan and of re-scans, and what becomes an item."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest

from trashscan.models import DeletedAtSource
from trashscan_dropbox.scan import NO_REVISION, NOT_RESTORABLE

from .conftest import (
    DELETED_AT_DT,
    LIST_BODY,
    Harness,
    account,
    deleted,
    file_md,
    folder_md,
    full_account,
    items_of,
    listing,
    lookup_error,
    removed_of,
    revision,
    revisions,
    revisions_body,
)


def first_scan_answers(dbx: Harness, account_type: str = "basic") -> None:
    dbx.rpc("users/get_current_account", None, full_account(account_type))
    dbx.rpc(
        "files/list_folder",
        LIST_BODY,
        listing(
            [
                folder_md("/Photos"),
                file_md("/Photos/live.jpg"),
                deleted("/Photos/Beach.JPG"),
                deleted("/Photos/report.pdf"),  # a document: no revisions call
                deleted("/Photos/moved.jpg"),  # moved away: no server_deleted
                deleted("/Photos/renamed.mp4"),  # newest revision lives elsewhere
            ],
            cursor="c1",
            has_more=True,
        ),
    )
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing(
            [
                deleted("/Trip.jpg"),  # a deleted folder with a photo's name: not_file
                deleted("/Trip.jpg/inside.heic", restorable=False),  # past its recovery period
                deleted("/Videos/clip.mov"),  # no revision left to restore
                deleted("/back.png"),  # a file is at this path again
            ],
            cursor="c2",
        ),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/beach.jpg"),
        revisions([revision("/Photos/Beach.JPG", rev="0a1b2c3d4e", size=2048)]),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/moved.jpg"),
        revisions([revision("/Photos/moved.jpg")], deleted_at=None),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/renamed.mp4"),
        revisions([revision("/Elsewhere/renamed.mp4")]),
    )
    dbx.error("files/list_revisions", revisions_body("/trip.jpg"), lookup_error("not_file"))
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/trip.jpg/inside.heic"),
        revisions([revision("/Trip.jpg/inside.heic", rev="0b1b2c3d4e")]),
    )
    dbx.rpc("files/list_revisions", revisions_body("/videos/clip.mov"), revisions([]))
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/back.png"),
        revisions([revision("/back.png")], deleted_at=None, is_deleted=False),
    )


def test_first_scan_requests_and_items(dbx: Harness) -> None:
    first_scan_answers(dbx)
    pages, outcome = dbx.scan()

    # Order: the account type, the listing pages; revisions of one page in any order.
    routes = dbx.routes
    assert routes[:2] == ["users/get_current_account", "files/list_folder"]
    assert routes.index("files/list_folder/continue") == 5  # after the 3 revisions of page 1
    assert Counter(routes) == {
        "users/get_current_account": 1,
        "files/list_folder": 1,
        "files/list_folder/continue": 1,
        "files/list_revisions": 7,
    }
    revised = {s.body["path"] for s in dbx.sent if s.route == "files/list_revisions"}
    assert "/photos/report.pdf" not in revised
    for sent in dbx.sent:
        assert sent.host == "api.dropboxapi.com"
        assert sent.headers["Authorization"] == "Bearer sl.cached"
        assert sent.headers["User-Agent"].startswith("trashscan/0.1.0/OfficialDropboxPythonSDKv2/")

    assert len(pages) == 2  # one per listing page, yielded as it is read
    items = items_of(pages)
    assert set(items) == {"/photos/beach.jpg", "/trip.jpg/inside.heic", "/videos/clip.mov"}
    beach = items["/photos/beach.jpg"]
    assert beach.name == "Beach.JPG"
    assert beach.path == "/Photos/Beach.JPG"
    assert beach.mime_type == "image/jpeg"
    assert beach.size == 2048
    assert beach.deleted_at == DELETED_AT_DT
    assert beach.deleted_at_source is DeletedAtSource.API
    assert beach.purge_at == DELETED_AT_DT + timedelta(days=30)
    assert beach.purge_is_estimate is True
    assert beach.restorable is True
    assert beach.restore_handle == {
        "path": "/Photos/Beach.JPG",
        "rev": "0a1b2c3d4e",
        "content_hash": "ab" * 32,
    }
    inside = items["/trip.jpg/inside.heic"]
    assert inside.restorable is False
    assert inside.not_restorable_reason == NOT_RESTORABLE
    clip = items["/videos/clip.mov"]
    assert clip.restorable is False
    assert clip.not_restorable_reason == NO_REVISION
    assert clip.deleted_at == DELETED_AT_DT

    assert outcome.complete_listing is True
    assert outcome.state == {"cursor": "c2", "account_type": "basic"}
    assert removed_of(pages) == []
    assert dbx.sleeps == []


@pytest.mark.parametrize(
    ("account_type", "retention_days", "days", "estimate"),
    [
        ("basic", None, 30, True),
        ("pro", None, 30, True),
        ("business", None, 180, True),
        ("basic", 365, 365, False),
        ("business", 30, 30, False),
    ],
)
def test_purge_date_follows_account_type_or_config(
    dbx: Harness, account_type: str, retention_days: int | None, days: int, estimate: bool
) -> None:
    dbx.rpc("users/get_current_account", None, full_account(account_type))
    dbx.rpc("files/list_folder", LIST_BODY, listing([deleted("/a.jpg")], cursor="c1"))
    dbx.rpc("files/list_revisions", revisions_body("/a.jpg"), revisions([revision("/a.jpg")]))
    pages, outcome = dbx.scan(account(retention_days=retention_days))
    item = items_of(pages)["/a.jpg"]
    assert item.purge_at == DELETED_AT_DT + timedelta(days=days)
    assert item.purge_is_estimate is estimate
    assert outcome.state == {"cursor": "c1", "account_type": account_type}


def test_unchanged_account_costs_exactly_one_request(dbx: Harness) -> None:
    dbx.rpc("files/list_folder/continue", {"cursor": "c1"}, listing([], cursor="c2"))
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "pro"})
    assert len(dbx.sent) == 1
    assert pages == []
    assert outcome.complete_listing is False
    assert outcome.state == {"cursor": "c2", "account_type": "pro"}


def test_incremental_scan_asks_revisions_only_for_new_deleted_media(dbx: Harness) -> None:
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing(
            [
                deleted("/New.jpg"),
                file_md("/Back.heic"),  # restored or re-created: leaves the trash
                file_md("/notes.txt"),
                folder_md("/Albums"),
            ],
            cursor="c2",
        ),
    )
    dbx.rpc("files/list_revisions", revisions_body("/new.jpg"), revisions([revision("/New.jpg")]))
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "business"})
    assert dbx.routes == ["files/list_folder/continue", "files/list_revisions"]
    item = items_of(pages)["/new.jpg"]
    assert item.purge_at == DELETED_AT_DT + timedelta(days=180)
    assert removed_of(pages) == ["/back.heic"]
    assert outcome.complete_listing is False
    assert outcome.state == {"cursor": "c2", "account_type": "business"}


def test_incremental_moved_file_is_reported_gone_not_lost(dbx: Harness) -> None:
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/old.jpg"), file_md("/Album/old.jpg")], cursor="c2"),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/old.jpg"),
        revisions([revision("/old.jpg")], deleted_at=None),
    )
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert items_of(pages) == {}
    assert sorted(removed_of(pages)) == ["/album/old.jpg", "/old.jpg"]


def test_reset_cursor_starts_a_full_listing(dbx: Harness) -> None:
    dbx.error("files/list_folder/continue", {"cursor": "stale"}, {".tag": "reset"})
    dbx.rpc("users/get_current_account", None, full_account("pro"))
    dbx.rpc("files/list_folder", LIST_BODY, listing([deleted("/a.jpg")], cursor="fresh"))
    dbx.rpc("files/list_revisions", revisions_body("/a.jpg"), revisions([revision("/a.jpg")]))
    pages, outcome = dbx.scan(state={"cursor": "stale", "account_type": "basic"})
    assert dbx.routes == [
        "files/list_folder/continue",
        "users/get_current_account",
        "files/list_folder",
        "files/list_revisions",
    ]
    assert set(items_of(pages)) == {"/a.jpg"}
    assert outcome.complete_listing is True
    assert outcome.state == {"cursor": "fresh", "account_type": "pro"}


def test_unreadable_state_means_a_full_scan(dbx: Harness) -> None:
    dbx.rpc("users/get_current_account", None, full_account())
    dbx.rpc("files/list_folder", LIST_BODY, listing([], cursor="c1"))
    _, outcome = dbx.scan(state={"cursor": 42})
    assert outcome.complete_listing is True


def test_extensions_option_replaces_the_media_list(dbx: Harness) -> None:
    dbx.rpc("users/get_current_account", None, full_account())
    dbx.rpc(
        "files/list_folder",
        LIST_BODY,
        listing([deleted("/a.jpg"), deleted("/scan.PDF")], cursor="c1"),
    )
    dbx.rpc("files/list_revisions", revisions_body("/scan.pdf"), revisions([revision("/scan.PDF")]))
    pages, _ = dbx.scan(account(extensions=["pdf", ".tiff"]))
    assert set(items_of(pages)) == {"/scan.pdf"}


def test_folder_deleted_as_a_whole_in_the_feed_is_listed_through_its_parent(
    dbx: Harness,
) -> None:
    # The feed names the deleted folder only; its photos are found by listing its parent.
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/Albums/2019"), deleted("/notes.txt")], cursor="c2"),
    )
    dbx.error("files/list_revisions", revisions_body("/albums/2019"), lookup_error("not_file"))
    dbx.rpc(
        "files/list_revisions", revisions_body("/notes.txt"), revisions([revision("/notes.txt")])
    )
    dbx.rpc(
        "files/list_folder",
        {**LIST_BODY, "path": "/albums"},
        listing(
            [
                file_md("/Albums/keep.jpg"),
                deleted("/Albums/2019"),
                deleted("/Albums/2019/a.jpg"),
                deleted("/Albums/2019-other.jpg"),  # beside the folder, not in it
            ],
            cursor="sub",
        ),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/albums/2019/a.jpg"),
        revisions([revision("/Albums/2019/a.jpg")]),
    )
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert set(items_of(pages)) == {"/albums/2019/a.jpg"}
    assert outcome.state == {"cursor": "c2", "account_type": "basic"}
    assert outcome.complete_listing is False


def test_feed_that_lists_a_deleted_folders_files_costs_no_extra_request(dbx: Harness) -> None:
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/Albums/2019"), deleted("/Albums/2019/a.jpg")], cursor="c2"),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/albums/2019/a.jpg"),
        revisions([revision("/Albums/2019/a.jpg")]),
    )
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert set(items_of(pages)) == {"/albums/2019/a.jpg"}
    assert len(dbx.sent) == 2


def test_purged_entry_in_feed_leaves_the_index(dbx: Harness) -> None:
    dbx.rpc("files/list_folder/continue", {"cursor": "c1"}, listing([deleted("/x.jpg")], "c2"))
    dbx.error("files/list_revisions", revisions_body("/x.jpg"), lookup_error("not_found"))
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert removed_of(pages) == ["/x.jpg"]


def test_revisions_refused_lists_the_item_undated_and_not_restorable(dbx: Harness) -> None:
    dbx.rpc("files/list_folder/continue", {"cursor": "c1"}, listing([deleted("/x.jpg")], "c2"))
    dbx.error("files/list_revisions", revisions_body("/x.jpg"), lookup_error("restricted_content"))
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    item = items_of(pages)["/x.jpg"]
    assert item.deleted_at is None  # the core records the first sighting
    assert item.restorable is False
    assert "path/restricted_content" in (item.not_restorable_reason or "")


def test_revision_calls_run_concurrently_within_the_pool(dbx: Harness) -> None:
    import threading

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    release = threading.Barrier(3, timeout=5)

    def in_flight() -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        release.wait()  # all three calls must be in flight at once to pass
        with lock:
            state["now"] -= 1

    names = ["/a.jpg", "/b.jpg", "/c.jpg"]
    dbx.rpc(
        "files/list_folder/continue", {"cursor": "c1"}, listing([deleted(n) for n in names], "c2")
    )
    for name in names:
        dbx.rpc(
            "files/list_revisions",
            revisions_body(name),
            revisions([revision(name)]),
            callback=in_flight,
        )
    pages, _ = dbx.scan(
        account(revision_workers=3), state={"cursor": "c1", "account_type": "basic"}
    )
    assert state["peak"] == 3
    assert set(items_of(pages)) == set(names)
