"""Restoring: exact requests, never over an existing file, one restore at a time (the next path
read meanwhile), the answer trusted and only what is in doubt read back."""

from __future__ import annotations

import threading

from trashscan.models import RestoreOutcome

from .conftest import (
    Harness,
    file_md,
    folder_md,
    indexed,
    lookup_error,
    metadata_body,
)

PATH = "/Photos/Beach.JPG"
REV = "015f0a1b2c3d4e5f"
NEW_REV = "0160aa0000000001"
HASH = "ab" * 32


def restore_body(path: str, rev: str = REV) -> dict[str, str]:
    return {"path": path, "rev": rev}


def free(dbx: Harness, path: str) -> None:
    dbx.error("files/get_metadata", metadata_body(path), lookup_error("not_found"))


def restored(path: str, rev: str = NEW_REV) -> dict[str, object]:
    return file_md(path, rev=rev, content_hash=HASH)


def test_restore_to_a_free_path_trusts_the_answer(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.rpc("files/restore", restore_body(PATH), restored(PATH))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.RESTORED
    assert result.item_id == "/photos/beach.jpg"
    assert result.restored_path == PATH
    assert [s.call for s in dbx.sent] == [  # the answer is the deleted revision: no read-back
        ("files/get_metadata", metadata_body(PATH)),
        ("files/restore", restore_body(PATH)),
    ]


def test_taken_path_restores_to_a_free_sibling_never_over_the_file(dbx: Harness) -> None:
    other = "/Photos/Beach (restored).JPG"
    second = "/Photos/Beach (restored 2).JPG"
    dbx.rpc(
        "files/get_metadata",
        metadata_body(PATH),
        file_md(PATH, rev="0999aaaa0999", content_hash="cd" * 32),
    )
    dbx.rpc("files/get_metadata", metadata_body(other), file_md(other, rev="0998aaaa0998"))
    free(dbx, second)
    dbx.rpc("files/restore", restore_body(second), restored(second))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.CONFLICT_RESOLVED
    assert result.restored_path == second
    assert result.detail == f"{PATH} was taken: restored as {second}"
    restores = [s.body for s in dbx.sent if s.route == "files/restore"]
    assert restores == [restore_body(second)]  # the original path was never written


def test_folder_in_the_way_also_gives_a_sibling(dbx: Harness) -> None:
    other = "/Photos/Beach (restored).JPG"
    dbx.rpc("files/get_metadata", metadata_body(PATH), folder_md(PATH))
    free(dbx, other)
    dbx.rpc("files/restore", restore_body(other), restored(other))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.CONFLICT_RESOLVED


def test_same_file_already_at_the_path_is_already_restored(dbx: Harness) -> None:
    dbx.rpc(
        "files/get_metadata",
        metadata_body(PATH),
        file_md(PATH, rev="0777aaaa0777", content_hash=HASH),
    )
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.ALREADY_RESTORED
    assert len(dbx.sent) == 1


def test_dropbox_refusing_the_sibling_path_skips_with_the_reason(dbx: Harness) -> None:
    other = "/Photos/Beach (restored).JPG"
    dbx.rpc(
        "files/get_metadata",
        metadata_body(PATH),
        file_md(PATH, rev="0999aaaa0999", content_hash="cd" * 32),
    )
    free(dbx, other)
    dbx.error("files/restore", restore_body(other), {".tag": "invalid_revision"})
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.SKIPPED
    assert "refused to restore to /Photos/Beach (restored).JPG (invalid_revision)" in (
        result.detail or ""
    )
    assert "nothing was overwritten" in (result.detail or "")


def test_conflict_answer_on_the_original_path_is_skipped(dbx: Harness) -> None:
    free(dbx, PATH)
    conflict = {
        ".tag": "path_write",
        "path_write": {".tag": "conflict", "conflict": {".tag": "folder"}},
    }
    dbx.error("files/restore", restore_body(PATH), conflict)
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.SKIPPED
    assert "path_write/conflict/folder" in (result.detail or "")


def test_purged_revision_fails_with_advice(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.error("files/restore", restore_body(PATH), {".tag": "invalid_revision"})
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.FAILED
    assert "scan again" in (result.detail or "")


def test_lost_answer_is_never_resent_and_the_read_back_decides(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.rpc("files/restore", restore_body(PATH), "oops", status=500, content_type="text/plain")
    dbx.rpc("files/get_metadata", metadata_body(PATH), restored(PATH))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.RESTORED  # the content hash matches the deleted rev
    assert dbx.routes.count("files/restore") == 1
    assert dbx.sleeps == []


def test_lost_answer_and_nothing_there_fails(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.rpc("files/restore", restore_body(PATH), "oops", status=502, content_type="text/plain")
    free(dbx, PATH)
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.FAILED
    assert dbx.routes.count("files/restore") == 1


def test_an_answer_of_other_content_is_read_back_and_another_rev_fails(dbx: Harness) -> None:
    free(dbx, PATH)
    other = file_md(PATH, rev=NEW_REV, content_hash="ee" * 32)  # not the deleted revision
    dbx.rpc("files/restore", restore_body(PATH), other)
    dbx.rpc("files/get_metadata", metadata_body(PATH), restored(PATH, rev="0160aa0000000002"))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.FAILED


def test_in_progress_is_polled_until_the_file_appears(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.error("files/restore", restore_body(PATH), {".tag": "in_progress"})
    free(dbx, PATH)
    dbx.rpc("files/get_metadata", metadata_body(PATH), restored(PATH))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.RESTORED
    assert dbx.routes.count("files/restore") == 1
    assert len(dbx.sleeps) == 1


def test_too_many_write_operations_waits_and_retries(dbx: Harness) -> None:
    free(dbx, PATH)
    throttled = {
        "error_summary": "too_many_write_operations/..",
        "error": {"reason": {".tag": "too_many_write_operations"}, "retry_after": 2},
    }
    dbx.rpc("files/restore", restore_body(PATH), throttled, status=429)
    dbx.rpc("files/restore", restore_body(PATH), restored(PATH))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.RESTORED
    assert dbx.sleeps == [2.0]


def test_item_without_a_revision_is_skipped_without_requests(dbx: Harness) -> None:
    (result,) = dbx.restore(indexed(PATH, rev=None))
    assert result.outcome is RestoreOutcome.SKIPPED
    assert dbx.sent == []


def test_restores_of_one_account_run_one_at_a_time_the_next_path_read_meanwhile(
    dbx: Harness,
) -> None:
    """One write at a time (Dropbox's write limits), but the next item's path is read while a
    restore is in flight: 2 round trips per item, and one of them overlapped, so the floor of
    one round trip per item. The first restore waits (up to 10 s) for the second path's read,
    which only comes during it if the reads overlap the writes."""
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}
    second_read = threading.Event()
    read_during_first_restore: list[bool] = []

    def enter() -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        if not read_during_first_restore:
            read_during_first_restore.append(second_read.wait(10))
        with lock:
            state["now"] -= 1

    first, second, third = "/a.jpg", "/b.jpg", "/c.jpg"
    for path in (first, second, third):
        dbx.error(
            "files/get_metadata",
            metadata_body(path),
            lookup_error("not_found"),
            callback=second_read.set if path == second else None,
        )
        dbx.rpc("files/restore", restore_body(path), restored(path), callback=enter)
    results = dbx.restore(indexed(first), indexed(second), indexed(third))
    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * 3
    assert read_during_first_restore == [True]
    assert state["peak"] == 1  # never two restores at once
    restores = [s.body["path"] for s in dbx.sent if s.route == "files/restore"]
    assert restores == [first, second, third]
    assert dbx.routes.count("files/get_metadata") == 3  # no read-back


def test_a_path_read_ahead_is_read_again_when_the_restore_before_wrote_there(
    dbx: Harness,
) -> None:
    """/A.jpg is taken, so it goes to /A (restored).jpg, which is also the next item's own
    path: that path was read before the write landed, so it is read again, and the next item
    goes to a free name instead of over the file just restored."""
    first, taken_by_first = "/A.jpg", "/A (restored).jpg"
    beside = "/A (restored) (restored).jpg"
    other_hash = "cd" * 32
    in_the_way = file_md(first, rev="0999aaaa0999", content_hash="dd" * 32)
    dbx.rpc("files/get_metadata", metadata_body(first), in_the_way)
    for _ in range(2):  # the sibling probe and the read ahead, in either order: both free
        free(dbx, taken_by_first)
    dbx.rpc("files/restore", restore_body(taken_by_first), restored(taken_by_first))
    dbx.rpc(  # read again after the write: the first item's restored file
        "files/get_metadata", metadata_body(taken_by_first), restored(taken_by_first)
    )
    free(dbx, beside)
    answer = file_md(beside, rev="0170aa0000000001", content_hash=other_hash)
    dbx.rpc("files/restore", restore_body(beside, "0170bb0170bb"), answer)
    second_item = indexed(taken_by_first, rev="0170bb0170bb", content_hash=other_hash)
    results = dbx.restore(indexed(first), second_item)
    assert [(r.outcome, r.restored_path) for r in results] == [
        (RestoreOutcome.CONFLICT_RESOLVED, taken_by_first),
        (RestoreOutcome.CONFLICT_RESOLVED, beside),
    ]
    restores = [s.body["path"] for s in dbx.sent if s.route == "files/restore"]
    assert restores == [taken_by_first, beside]  # never over the file restored first
