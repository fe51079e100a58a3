"""Scanning: the exact requests of a first scan and of re-scans, and what becomes an item.

A deleted photo or video costs its path's ``list_revisions``. When that answer looks like a
deletion (dated, newest revision at that path), its file id tells a deletion from a move: an id
a live file of the listing (or feed) carries was moved; any other id is a deletion in the full
listing of a home-rooted account, and is asked in ``id`` mode elsewhere (a change feed, a
team-space member's listing). ``Harness.lost`` registers the path's call, and the id's unless
``by_id=False``.
"""

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
    file_id,
    file_md,
    folder_md,
    full_account,
    id_revisions_body,
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
                deleted("/Photos/a.jpg"),  # moved to /Archive: only its id tells
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
                file_md("/Zed/a.jpg", ident=file_id("/Photos/a.jpg")),  # a.jpg, moved
            ],
            cursor="c2",
        ),
    )
    dbx.lost("/Photos/Beach.JPG", rev="0a1b2c3d4e", size=2048, by_id=False)  # deleted
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
    # dated and last at its path like a deletion, but a live file of the listing (on a later
    # page) has its id: moved
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/a.jpg"),
        revisions([revision("/Photos/a.jpg")]),
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
    assert routes.index("files/list_folder/continue") == 6  # after page 1's 4 path calls
    # the floor: the pages, one list_revisions per deleted photo/video, the account
    assert Counter(routes) == {
        "users/get_current_account": 1,
        "files/list_folder": 1,
        "files/list_folder/continue": 1,
        "files/list_revisions": 8,
    }
    revised = [s.body for s in dbx.sent if s.route == "files/list_revisions"]
    assert all(b["mode"] == {".tag": "path"} for b in revised)  # no id call: the listing told
    by_path = {b["path"] for b in revised}
    assert len(by_path) == 8
    assert "/photos/report.pdf" not in by_path
    for sent in dbx.sent:
        assert sent.host == "api.dropboxapi.com"
        assert sent.headers["Authorization"] == "Bearer sl.cached"
        assert sent.headers["User-Agent"].startswith("trashscan/0.1.0/OfficialDropboxPythonSDKv2/")

    # page 1 told nothing yet; page 2 the undeletable clip; then those told at the end
    assert [sorted(item.item_id for item in page.items) for page in pages] == [
        ["/videos/clip.mov"],
        ["/photos/beach.jpg", "/trip.jpg/inside.heic"],
    ]
    items = items_of(pages)
    # not moved.jpg, renamed.mp4 nor a.jpg (moved), trip.jpg (a folder), back.png (back)
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
    assert inside.deleted_at == DELETED_AT_DT
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
    dbx.lost("/a.jpg", by_id=False)
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
    dbx.lost("/New.jpg")
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "business"})
    assert dbx.routes == ["files/list_folder/continue", *["files/list_revisions"] * 2]
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
    assert len(dbx.sent) == 2  # no server_deleted: no id check needed
    assert items_of(pages) == {}
    assert sorted(removed_of(pages)) == ["/album/old.jpg", "/old.jpg"]


def test_moved_file_whose_path_answer_looks_deleted_is_told_by_its_id(dbx: Harness) -> None:
    # What Dropbox's spec allows and the sandbox fake answers: the old path is_deleted, dated,
    # newest revision there. The feed does not show where it went (it moved in an earlier
    # change, or out of the listed folders); the id (entries[0].id) says it lives on.
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/Photos/a.jpg"), file_md("/Archive/b.jpg")], cursor="c2"),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/a.jpg"),
        revisions([revision("/Photos/a.jpg")]),
    )
    dbx.rpc(
        "files/list_revisions",
        id_revisions_body("/Photos/a.jpg"),
        revisions(
            [revision("/Archive/a.jpg", rev="016f0a1b2c3d4e5f", ident=file_id("/Photos/a.jpg"))],
            deleted_at=None,
            is_deleted=False,
        ),
    )
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert [s.call for s in dbx.sent] == [
        ("files/list_folder/continue", {"cursor": "c1"}),
        ("files/list_revisions", revisions_body("/photos/a.jpg")),
        ("files/list_revisions", id_revisions_body("/Photos/a.jpg")),
    ]
    assert items_of(pages) == {}
    # the old path leaves the index (it may hold it from an earlier scan)
    assert sorted(removed_of(pages)) == ["/archive/b.jpg", "/photos/a.jpg"]
    assert outcome.state == {"cursor": "c2", "account_type": "basic"}


def test_feed_tells_a_move_by_the_id_of_a_live_file_on_a_later_page(dbx: Harness) -> None:
    # /Photos/a.jpg moved to /Zed/a.jpg: the feed shows the old path deleted on its first page
    # and the file, with the same id, on its second. No id call.
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/Photos/a.jpg"), deleted("/Photos/b.jpg")], cursor="c2", has_more=True),
    )
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c2"},
        listing([file_md("/Zed/a.jpg", ident=file_id("/Photos/a.jpg"))], cursor="c3"),
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/a.jpg"),
        revisions([revision("/Photos/a.jpg")]),
    )
    dbx.lost("/Photos/b.jpg")  # not in the feed: asked by id, deleted
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert Counter(s.call[0] for s in dbx.sent) == {
        "files/list_folder/continue": 2,
        "files/list_revisions": 3,
    }
    ids = [s.body["path"] for s in dbx.sent if s.body.get("mode") == {".tag": "id"}]
    assert ids == [file_id("/Photos/b.jpg")]
    assert set(items_of(pages)) == {"/photos/b.jpg"}
    assert sorted(removed_of(pages)) == ["/photos/a.jpg", "/zed/a.jpg"]
    assert outcome.state == {"cursor": "c3", "account_type": "basic"}


def test_a_path_deleted_then_live_again_in_one_feed_is_not_listed(dbx: Harness) -> None:
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/a.jpg")], cursor="c2", has_more=True),
    )
    dbx.rpc("files/list_folder/continue", {"cursor": "c2"}, listing([file_md("/a.jpg")], "c3"))
    dbx.rpc("files/list_revisions", revisions_body("/a.jpg"), revisions([revision("/a.jpg")]))
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert len(dbx.sent) == 3  # the feed's two pages, the path's answer: nothing left to tell
    assert items_of(pages) == {}
    assert removed_of(pages) == ["/a.jpg"]


def test_a_file_moved_where_it_is_not_mounted_is_not_listed(dbx: Harness) -> None:
    # "path_lower ... null if the file or folder is not mounted": the file lives on all the same
    unmounted = file_md("/Shared/a.jpg", ident=file_id("/a.jpg"))
    del unmounted["path_lower"], unmounted["path_display"]
    dbx.rpc("users/get_current_account", None, full_account())
    dbx.rpc("files/list_folder", LIST_BODY, listing([deleted("/a.jpg"), unmounted], "c1"))
    dbx.rpc("files/list_revisions", revisions_body("/a.jpg"), revisions([revision("/a.jpg")]))
    pages, _ = dbx.scan()
    assert items_of(pages) == {}
    assert dbx.routes.count("files/list_revisions") == 1


def test_team_space_listing_asks_ids_no_live_file_of_it_carries(dbx: Harness) -> None:
    # A team-space member's listing shows their home folder only: a file moved to a team
    # folder is out of its sight, so an id no listed file carries is asked in id mode.
    dbx.rpc("users/get_current_account", None, full_account("business", home_namespace="77"))
    dbx.rpc(
        "files/list_folder",
        LIST_BODY,
        listing(
            [
                deleted("/a.jpg"),  # lost
                deleted("/b.jpg"),  # moved to a team folder
                deleted("/c.jpg"),  # moved within home: the listing tells
                file_md("/Albums/c.jpg", ident=file_id("/c.jpg")),
            ],
            cursor="c1",
        ),
    )
    dbx.lost("/a.jpg")
    for path in ("/b.jpg", "/c.jpg"):
        dbx.rpc("files/list_revisions", revisions_body(path), revisions([revision(path)]))
    dbx.rpc(
        "files/list_revisions",
        id_revisions_body("/b.jpg"),
        revisions(
            [revision("/Team/b.jpg", ident=file_id("/b.jpg"))], deleted_at=None, is_deleted=False
        ),
    )
    pages, outcome = dbx.scan()
    ids = sorted(
        s.body["path"] for s in dbx.sent if s.body and s.body.get("mode") == {".tag": "id"}
    )
    assert ids == [file_id("/a.jpg"), file_id("/b.jpg")]
    assert set(items_of(pages)) == {"/a.jpg"}
    assert outcome.complete_listing is True


def test_real_deletion_is_listed_when_its_id_says_deleted_too(dbx: Harness) -> None:
    dbx.rpc(
        "files/list_folder/continue", {"cursor": "c1"}, listing([deleted("/Photos/a.jpg")], "c2")
    )
    dbx.rpc(
        "files/list_revisions",
        revisions_body("/photos/a.jpg"),
        revisions([revision("/Photos/a.jpg", rev="0c1b2c3d4e")]),
    )
    # id mode follows the file across moves: here it was never moved, and is deleted
    dbx.rpc(
        "files/list_revisions",
        id_revisions_body("/Photos/a.jpg"),
        revisions([revision("/Photos/a.jpg", rev="0c1b2c3d4e")]),
    )
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert [s.call for s in dbx.sent] == [
        ("files/list_folder/continue", {"cursor": "c1"}),
        ("files/list_revisions", revisions_body("/photos/a.jpg")),
        ("files/list_revisions", id_revisions_body("/Photos/a.jpg")),
    ]
    item = items_of(pages)["/photos/a.jpg"]
    assert item.deleted_at == DELETED_AT_DT  # from the path's answer
    assert item.restorable is True
    assert item.restore_handle == {
        "path": "/Photos/a.jpg",
        "rev": "0c1b2c3d4e",
        "content_hash": "ab" * 32,
    }
    assert removed_of(pages) == []


def test_id_check_refused_lists_the_file_as_deleted(dbx: Harness) -> None:
    # Conservative: a move Dropbox will not confirm is listed (dated, restorable), not hidden.
    dbx.rpc("files/list_folder/continue", {"cursor": "c1"}, listing([deleted("/x.jpg")], "c2"))
    dbx.rpc("files/list_revisions", revisions_body("/x.jpg"), revisions([revision("/x.jpg")]))
    dbx.error(
        "files/list_revisions", id_revisions_body("/x.jpg"), lookup_error("restricted_content")
    )
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert dbx.routes == ["files/list_folder/continue", *["files/list_revisions"] * 2]
    item = items_of(pages)["/x.jpg"]
    assert item.deleted_at == DELETED_AT_DT
    assert item.restorable is True
    assert removed_of(pages) == []


def test_reset_cursor_starts_a_full_listing(dbx: Harness) -> None:
    dbx.error("files/list_folder/continue", {"cursor": "stale"}, {".tag": "reset"})
    dbx.rpc("users/get_current_account", None, full_account("pro"))
    dbx.rpc("files/list_folder", LIST_BODY, listing([deleted("/a.jpg")], cursor="fresh"))
    dbx.lost("/a.jpg", by_id=False)
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
    dbx.lost("/scan.PDF", by_id=False)
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
    # a document: asked only whether it is a folder, so no id check
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
    dbx.lost("/Albums/2019/a.jpg")
    pages, outcome = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert Counter(dbx.routes) == {
        "files/list_folder/continue": 1,
        "files/list_revisions": 4,  # the folder, the document, a.jpg's path and id
        "files/list_folder": 1,
    }
    assert set(items_of(pages)) == {"/albums/2019/a.jpg"}
    assert outcome.state == {"cursor": "c2", "account_type": "basic"}
    assert outcome.complete_listing is False


def test_feed_that_lists_a_deleted_folders_files_costs_no_extra_request(dbx: Harness) -> None:
    dbx.rpc(
        "files/list_folder/continue",
        {"cursor": "c1"},
        listing([deleted("/Albums/2019"), deleted("/Albums/2019/a.jpg")], cursor="c2"),
    )
    dbx.lost("/Albums/2019/a.jpg")
    pages, _ = dbx.scan(state={"cursor": "c1", "account_type": "basic"})
    assert set(items_of(pages)) == {"/albums/2019/a.jpg"}
    assert len(dbx.sent) == 3  # the feed, a.jpg's path and id: no relisting


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
    import functools
    import threading

    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    barriers = {mode: threading.Barrier(3, timeout=5) for mode in ("path", "id")}

    def in_flight(mode: str) -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        barriers[mode].wait()  # all three calls of a mode must be in flight at once to pass
        with lock:
            state["now"] -= 1

    names = ["/a.jpg", "/b.jpg", "/c.jpg"]
    dbx.rpc(
        "files/list_folder/continue", {"cursor": "c1"}, listing([deleted(n) for n in names], "c2")
    )
    for name in names:
        for body, mode in ((revisions_body(name), "path"), (id_revisions_body(name), "id")):
            dbx.rpc(
                "files/list_revisions",
                body,
                revisions([revision(name)]),
                callback=functools.partial(in_flight, mode),
            )
    pages, _ = dbx.scan(
        account(revision_workers=3), state={"cursor": "c1", "account_type": "basic"}
    )
    # the path calls of a page run together, and so do the id calls the feed left to ask
    assert state["peak"] == 3
    assert dbx.routes.count("files/list_revisions") == 6
    assert set(items_of(pages)) == set(names)
