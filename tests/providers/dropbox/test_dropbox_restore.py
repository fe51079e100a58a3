"""Restoring: exact requests, never over an existing file, one at a time, each read back."""

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


def test_restore_to_a_free_path_and_read_it_back(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.rpc("files/restore", restore_body(PATH), restored(PATH))
    dbx.rpc("files/get_metadata", metadata_body(PATH), restored(PATH))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.RESTORED
    assert result.item_id == "/photos/beach.jpg"
    assert result.restored_path == PATH
    assert [s.call for s in dbx.sent] == [
        ("files/get_metadata", metadata_body(PATH)),
        ("files/restore", restore_body(PATH)),
        ("files/get_metadata", metadata_body(PATH)),
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
    dbx.rpc("files/get_metadata", metadata_body(second), restored(second))
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
    dbx.rpc("files/get_metadata", metadata_body(other), restored(other))
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


def test_read_back_with_another_rev_fails(dbx: Harness) -> None:
    free(dbx, PATH)
    dbx.rpc("files/restore", restore_body(PATH), restored(PATH))
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
    dbx.rpc("files/get_metadata", metadata_body(PATH), restored(PATH))
    (result,) = dbx.restore(indexed(PATH))
    assert result.outcome is RestoreOutcome.RESTORED
    assert dbx.sleeps == [2.0]


def test_item_without_a_revision_is_skipped_without_requests(dbx: Harness) -> None:
    (result,) = dbx.restore(indexed(PATH, rev=None))
    assert result.outcome is RestoreOutcome.SKIPPED
    assert dbx.sent == []


def test_restores_of_one_account_run_one_at_a_time(dbx: Harness) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def enter() -> None:
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        with lock:
            state["now"] -= 1

    first, second = "/a.jpg", "/b.jpg"
    for path in (first, second):
        free(dbx, path)
        dbx.rpc("files/restore", restore_body(path), restored(path), callback=enter)
        dbx.rpc("files/get_metadata", metadata_body(path), restored(path))
    results = dbx.restore(indexed(first), indexed(second))
    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * 2
    assert [(s.route, s.body["path"]) for s in dbx.sent] == [
        ("files/get_metadata", first),
        ("files/restore", first),
        ("files/get_metadata", first),
        ("files/get_metadata", second),
        ("files/restore", second),
        ("files/get_metadata", second),
    ]
    assert state["peak"] == 1
