"""Restoring: batched check, PATCH {"trashed": false} and read-back, with per-part retries."""

from __future__ import annotations

from trashscan.models import RestoreOutcome, RestoreResult

from .conftest import (
    Harness,
    Req,
    account,
    batch_answer,
    batch_parts,
    indexed,
    part_error,
    part_ok,
)

BATCH = ("POST", "www.googleapis.com", "/batch/drive/v3")
CHECK = "id,name,trashed,capabilities(canUntrash)"
VERIFY = "id,trashed"


def trashed(file_id: str, can_untrash: bool = True) -> dict:
    return {"id": file_id, "name": file_id, "trashed": True,
            "capabilities": {"canUntrash": can_untrash}}  # fmt: skip


def untrashed(file_id: str) -> dict:
    return {"id": file_id, "trashed": False}


def inner(file_id: str, method: str, fields: str) -> Req:
    query = {"supportsAllDrives": "true", "fields": fields, "alt": "json"}
    body = '{"trashed": false}' if method == "PATCH" else None
    return Req(method, "www.googleapis.com", f"/drive/v3/files/{file_id}", query, body)


def results(gd: Harness, *items: object) -> dict[str, RestoreResult]:
    return {r.item_id: r for r in gd.provider.restore(account(), list(items))}  # type: ignore[arg-type]


def test_restore_checks_patches_and_reads_back_in_one_batch_each(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), part_ok("b", trashed("b"))),
        batch_answer(part_ok("a", untrashed("a")), part_ok("b", untrashed("b"))),
        batch_answer(part_ok("b", untrashed("b")), part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert {k: r.outcome for k, r in done.items()} == {
        "a": RestoreOutcome.RESTORED,
        "b": RestoreOutcome.RESTORED,
    }
    check, patch, verify = gd.requests
    assert [(r.method, r.host, r.path) for r in gd.requests] == [BATCH] * 3
    assert check.headers["content-type"].startswith("multipart/mixed; boundary=")
    assert batch_parts(check) == [inner("a", "GET", CHECK), inner("b", "GET", CHECK)]
    assert batch_parts(patch) == [inner("a", "PATCH", VERIFY), inner("b", "PATCH", VERIFY)]
    assert batch_parts(verify) == [inner("a", "GET", VERIFY), inner("b", "GET", VERIFY)]
    assert all(p.headers["authorization"] == "Bearer ya29.valid" for p in batch_parts(patch))


def test_batches_hold_at_most_100_parts(gd: Harness) -> None:
    ids = [f"f{n:03}" for n in range(150)]
    for answer in (trashed, untrashed, untrashed):
        gd.respond(batch_answer(*(part_ok(i, answer(i)) for i in ids[:100])))
        gd.respond(batch_answer(*(part_ok(i, answer(i)) for i in ids[100:])))

    done = results(gd, *(indexed(i) for i in ids))

    assert [len(batch_parts(r)) for r in gd.requests] == [100, 50] * 3
    assert {r.outcome for r in done.values()} == {RestoreOutcome.RESTORED}
    assert len(done) == 150


def test_a_throttled_part_is_resent_alone_after_its_retry_after(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), part_ok("b", trashed("b"))),
        batch_answer(
            part_ok("a", untrashed("a")),
            part_error("b", 403, "userRateLimitExceeded", **{"Retry-After": "7"}),
        ),
        batch_answer(part_ok("b", untrashed("b"))),
        batch_answer(part_ok("a", untrashed("a")), part_ok("b", untrashed("b"))),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert gd.sleeps == [7.0]
    assert batch_parts(gd.requests[2]) == [inner("b", "PATCH", VERIFY)]
    assert {r.outcome for r in done.values()} == {RestoreOutcome.RESTORED}


def test_a_part_throttled_past_the_budget_is_reported_failed(gd: Harness) -> None:
    throttled = part_error("a", 429, "rateLimitExceeded", **{"Retry-After": "600"})
    gd.respond(batch_answer(part_ok("a", trashed("a"))), batch_answer(throttled))

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.FAILED
    assert "600" in (done["a"].detail or "")
    assert gd.sleeps == []  # a wait longer than the policy allows is not slept through


def test_a_part_refused_for_good_is_not_retried(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a"))),
        batch_answer(part_error("a", 403, "insufficientFilePermissions")),
    )

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.FAILED
    assert "insufficientFilePermissions" in (done["a"].detail or "")
    assert gd.sleeps == []


def test_read_back_catches_an_item_still_in_the_trash(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a"))),
        batch_answer(part_ok("a", untrashed("a"))),
        batch_answer(part_ok("a", {"id": "a", "trashed": True})),
    )

    done = results(gd, indexed("a"))

    assert done["a"] == RestoreResult(
        "a", RestoreOutcome.FAILED, "Google Drive still shows it in the trash after the restore"
    )


def test_cannot_untrash_is_skipped_without_sending_a_patch(gd: Harness) -> None:
    gd.respond(batch_answer(part_ok("a", trashed("a", can_untrash=False))))

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.SKIPPED
    assert "does not let this account restore it" in (done["a"].detail or "")
    assert len(gd.requests) == 1


def test_items_of_a_trashed_folder_are_restored_with_one_patch_of_the_folder(
    gd: Harness,
) -> None:
    via = {"untrash": "F1", "folder": "Album"}
    gd.respond(
        batch_answer(part_ok("F1", trashed("F1"))),
        batch_answer(part_ok("F1", untrashed("F1"))),
        batch_answer(part_ok("F1", untrashed("F1"))),
    )

    done = results(gd, indexed("x", via), indexed("y", via))

    assert [batch_parts(r) for r in gd.requests] == [
        [inner("F1", "GET", CHECK)],
        [inner("F1", "PATCH", VERIFY)],
        [inner("F1", "GET", VERIFY)],
    ]
    assert done == {
        "x": RestoreResult("x", RestoreOutcome.RESTORED, "restored with its folder Album"),
        "y": RestoreResult("y", RestoreOutcome.RESTORED, "restored with its folder Album"),
    }


def test_already_restored_and_purged_items_are_reported_without_a_patch(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", untrashed("a")), part_error("b", 404, "notFound")),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert done["a"].outcome is RestoreOutcome.ALREADY_RESTORED
    assert done["b"].outcome is RestoreOutcome.FAILED
    assert done["b"].detail == "no longer in Google Drive (purged or deleted for good)"
    assert len(gd.requests) == 1


def test_a_throttled_whole_batch_is_retried(gd: Harness) -> None:
    gd.respond(
        ({"status": "503", "retry-after": "2"}, "unavailable"),
        batch_answer(part_ok("a", trashed("a"))),
        batch_answer(part_ok("a", untrashed("a"))),
        batch_answer(part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"))

    assert gd.sleeps == [2.0]
    assert done["a"].outcome is RestoreOutcome.RESTORED


def test_batches_go_to_the_configured_endpoint(gd: Harness) -> None:
    gd.respond(batch_answer(part_ok("a", untrashed("a"))))

    acct = account("https://127.0.0.1:8443")
    list(gd.provider.restore(acct, [indexed("a")]))

    assert gd.requests[0].host == "127.0.0.1:8443"
    assert gd.requests[0].path == "/batch/drive/v3"
    assert batch_parts(gd.requests[0])[0].path == "/drive/v3/files/a"
