"""Restoring: a batched look (items, the folders above them, the root alias), PATCH
{"trashed": false} of every explicitly trashed node outermost first, whose answer
(``fields=id,trashed``) is the outcome; a batched listing of what came back with an untrashed
folder; a batched read-back only of what is in doubt; per-part retries.

Drive documents files.update's answer as the file itself: "If successful, the response body
contains an instance of File" [DOC reference/rest/v3/files/update], with the fields the request
names ("fields: Selector specifying which fields to include in a partial response" [DISC]). So a
part that answers ``trashed: false`` needs no read-back (issue 16: 3 round trips per 100 items
became 2)."""

from __future__ import annotations

from typing import Any

from trashscan.models import RestoreOutcome, RestoreResult
from trashscan_google_drive import restore as drive_restore

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
CHECK = "id,name,mimeType,parents,driveId,trashed,explicitlyTrashed,capabilities(canUntrash)"
VERIFY = "id,trashed"
CONTENT = "nextPageToken,files(id,name,mimeType,driveId,trashed,explicitlyTrashed)"
FOLDER = "application/vnd.google-apps.folder"
ROOT = part_ok("root", {"id": "R0", "name": "My Drive", "trashed": False})


def trashed(
    file_id: str, can_untrash: bool = True, parent: str = "R0", explicit: bool = True, **extra: Any
) -> dict:
    return {"id": file_id, "name": file_id, "mimeType": "image/jpeg", "parents": [parent],
            "trashed": True, "explicitlyTrashed": explicit,
            "capabilities": {"canUntrash": can_untrash}, **extra}  # fmt: skip


def folder(file_id: str, parent: str = "R0", explicit: bool = True) -> dict:
    return trashed(
        file_id, parent=parent, explicit=explicit, mimeType=FOLDER, name=f"{file_id}-name"
    )


def untrashed(file_id: str) -> dict:
    return {"id": file_id, "trashed": False}


def inner(file_id: str, method: str, fields: str) -> Req:
    query = {"supportsAllDrives": "true", "fields": fields, "alt": "json"}
    body = '{"trashed": false}' if method == "PATCH" else None
    return Req(method, "www.googleapis.com", f"/drive/v3/files/{file_id}", query, body)


def listing(folder_id: str, trashed: bool) -> Req:
    query = {
        "q": f"'{folder_id}' in parents and trashed = {'true' if trashed else 'false'}",
        "pageSize": "1000",
        "fields": CONTENT,
        "supportsAllDrives": "true",
        "corpora": "user",
        "alt": "json",
    }
    return Req("GET", "www.googleapis.com", "/drive/v3/files", query)


def results(gd: Harness, *items: object) -> dict[str, RestoreResult]:
    return {r.item_id: r for r in gd.provider.restore(account(), list(items))}  # type: ignore[arg-type]


def test_restore_looks_and_patches_in_one_batch_each_and_trusts_the_patch_answer(
    gd: Harness,
) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), part_ok("b", trashed("b")), ROOT),
        batch_answer(part_ok("a", untrashed("a")), part_ok("b", untrashed("b"))),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert {k: r.outcome for k, r in done.items()} == {
        "a": RestoreOutcome.RESTORED,
        "b": RestoreOutcome.RESTORED,
    }
    look, patch = gd.requests  # no read-back: the PATCH answers say trashed: false
    assert [(r.method, r.host, r.path) for r in gd.requests] == [BATCH] * 2
    assert look.headers["content-type"].startswith("multipart/mixed; boundary=")
    assert batch_parts(look) == [
        inner("a", "GET", CHECK),
        inner("b", "GET", CHECK),
        inner("root", "GET", CHECK),  # so that the My Drive root is known, never walked into
    ]
    assert batch_parts(patch) == [inner("a", "PATCH", VERIFY), inner("b", "PATCH", VERIFY)]
    assert all(p.headers["authorization"] == "Bearer ya29.valid" for p in batch_parts(patch))


def test_batches_hold_at_most_100_parts(gd: Harness) -> None:
    ids = [f"f{n:03}" for n in range(150)]
    gd.respond(batch_answer(*(part_ok(i, trashed(i)) for i in ids[:100])))
    gd.respond(batch_answer(*(part_ok(i, trashed(i)) for i in ids[100:]), ROOT))
    gd.respond(batch_answer(*(part_ok(i, untrashed(i)) for i in ids[:100])))
    gd.respond(batch_answer(*(part_ok(i, untrashed(i)) for i in ids[100:])))

    done = results(gd, *(indexed(i) for i in ids))

    # the floor: ceil(151 / 100) looks and ceil(150 / 100) PATCH batches, no read-back
    assert [len(batch_parts(r)) for r in gd.requests] == [100, 51, 100, 50]
    assert {r.outcome for r in done.values()} == {RestoreOutcome.RESTORED}
    assert len(done) == 150


def test_a_throttled_part_is_resent_alone_after_its_retry_after(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), part_ok("b", trashed("b")), ROOT),
        batch_answer(
            part_ok("a", untrashed("a")),
            part_error("b", 403, "userRateLimitExceeded", **{"Retry-After": "7"}),
        ),
        batch_answer(part_ok("b", untrashed("b"))),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert gd.sleeps == [7.0]
    assert batch_parts(gd.requests[2]) == [inner("b", "PATCH", VERIFY)]
    assert {r.outcome for r in done.values()} == {RestoreOutcome.RESTORED}


def test_a_part_throttled_past_the_budget_is_read_back_and_reported_failed(gd: Harness) -> None:
    throttled = part_error("a", 429, "rateLimitExceeded", **{"Retry-After": "600"})
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(throttled),
        batch_answer(part_ok("a", {"id": "a", "trashed": True})),
    )

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.FAILED
    assert "600" in (done["a"].detail or "")  # the real cause, not the read-back
    assert batch_parts(gd.requests[2]) == [inner("a", "GET", VERIFY)]
    assert gd.sleeps == []  # a wait longer than the policy allows is not slept through


def test_a_patch_that_failed_without_an_answer_is_read_back_and_may_have_worked(
    gd: Harness,
) -> None:
    """A 5xx (or a lost connection) past the retries says nothing of whether Drive applied the
    update: only those parts are read back, and the read decides."""
    unavailable = part_error("a", 503, "backendError", **{"Retry-After": "600"})
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), part_ok("b", trashed("b")), ROOT),
        batch_answer(unavailable, part_ok("b", untrashed("b"))),
        batch_answer(part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert batch_parts(gd.requests[2]) == [inner("a", "GET", VERIFY)]  # a alone: b is known
    assert done == {
        "a": RestoreResult("a", RestoreOutcome.RESTORED, None),
        "b": RestoreResult("b", RestoreOutcome.RESTORED, None),
    }


def test_a_patch_in_doubt_whose_read_back_fails_too_is_failed_with_both_causes(
    gd: Harness,
) -> None:
    unavailable = part_error("a", 503, "backendError", **{"Retry-After": "600"})
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(unavailable),
        batch_answer(part_error("a", 503, "backendError", **{"Retry-After": "600"})),
    )

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.FAILED
    detail = done["a"].detail or ""
    assert "may have been applied" in detail and "reading it back failed" in detail


def test_a_patch_answer_without_trashed_is_read_back(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(part_ok("a", {"id": "a"})),  # a proxy or an odd answer: not a verdict
        batch_answer(part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"))

    assert batch_parts(gd.requests[2]) == [inner("a", "GET", VERIFY)]
    assert done["a"] == RestoreResult("a", RestoreOutcome.RESTORED, None)


def test_a_part_refused_for_good_is_not_retried(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(part_error("a", 403, "insufficientFilePermissions")),
    )

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.FAILED
    assert "insufficientFilePermissions" in (done["a"].detail or "")
    assert gd.sleeps == []


def test_a_patch_answered_still_in_the_trash_is_failed_without_a_read_back(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(part_ok("a", {"id": "a", "trashed": True})),
    )

    done = results(gd, indexed("a"))

    assert done["a"] == RestoreResult(
        "a", RestoreOutcome.FAILED, "Google Drive still shows it in the trash after the restore"
    )


def test_cannot_untrash_is_skipped_without_sending_a_patch(gd: Harness) -> None:
    gd.respond(batch_answer(part_ok("a", trashed("a", can_untrash=False)), ROOT))

    done = results(gd, indexed("a"))

    assert done["a"].outcome is RestoreOutcome.SKIPPED
    assert "does not let this account restore it" in (done["a"].detail or "")
    assert len(gd.requests) == 1


def test_items_of_a_trashed_folder_come_back_with_one_patch_of_the_folder(gd: Harness) -> None:
    """...and what else came back with the folder is reported (the core records it)."""
    via = {"untrash": "F1", "folder": "Album", "above": ["F1"]}
    children = [
        {"id": i, "name": f"{i}.jpg", "mimeType": "image/jpeg", "trashed": False}
        for i in ("x", "y", "z")
    ] + [{"id": "doc", "name": "notes", "mimeType": "text/plain", "trashed": False}]
    gd.respond(
        batch_answer(
            part_ok("x", trashed("x", parent="F1", explicit=False)),
            part_ok("F1", folder("F1")),
            part_ok("y", trashed("y", parent="F1", explicit=False)),
            ROOT,
        ),
        batch_answer(part_ok("F1", untrashed("F1"))),
        batch_answer(part_ok("in:F1", {"files": children})),
    )

    done = results(gd, indexed("x", via), indexed("y", via))

    # the folder's PATCH answer says it is out; the listing of what is out of the trash in it
    # names what came back (x and y among them): nothing is read back one by one
    assert [batch_parts(r) for r in gd.requests[1:]] == [
        [inner("F1", "PATCH", VERIFY)],
        [listing("F1", trashed=False)],
    ]
    assert done == {
        "x": RestoreResult("x", RestoreOutcome.RESTORED, "restored with its folder F1-name"),
        "y": RestoreResult("y", RestoreOutcome.RESTORED, "restored with its folder F1-name"),
        "z": RestoreResult("z", RestoreOutcome.RESTORED, "restored with its folder F1-name"),
    }  # the document is not a photo: never in the index, not reported


def test_nested_trashed_folders_are_untrashed_outermost_first(gd: Harness) -> None:
    """B was trashed, then A holding it: untrashing B first could leave it in the trash (or
    move it out of A: undocumented), so A goes in one batch, B in the next."""
    gd.respond(
        batch_answer(
            part_ok("x", trashed("x", parent="B", explicit=False)),
            part_ok("root", {"id": "R0", "trashed": False}),
        ),
        batch_answer(part_ok("B", folder("B", parent="A"))),
        batch_answer(part_ok("A", folder("A"))),
        batch_answer(part_ok("A", untrashed("A"))),
        batch_answer(part_ok("B", untrashed("B"))),
        batch_answer(
            part_ok("in:A", {"files": [{"id": "B", "mimeType": FOLDER, "trashed": False}]}),
            part_ok("in:B", {"files": [{"id": "x", "mimeType": "image/jpeg", "trashed": False}]}),
        ),
    )  # B is listed once, though A holds it

    done = results(gd, indexed("x", {"untrash": "x"}))  # an old handle: no hints

    patches = [batch_parts(r) for r in gd.requests[3:5]]
    assert patches == [[inner("A", "PATCH", VERIFY)], [inner("B", "PATCH", VERIFY)]]
    assert batch_parts(gd.requests[5]) == [listing("A", trashed=False), listing("B", trashed=False)]
    assert done == {
        "x": RestoreResult("x", RestoreOutcome.RESTORED, "restored with its folders A-name, B-name")
    }


def test_the_plan_counts_what_comes_back_with_a_folder(gd: Harness) -> None:
    via = {"untrash": "F1", "folder": "Album", "above": ["F1"]}
    contents = [
        {"id": "x", "mimeType": "image/jpeg", "explicitlyTrashed": False},
        {"id": "y", "mimeType": "image/jpeg", "explicitlyTrashed": False},
        {"id": "own", "mimeType": "image/jpeg", "explicitlyTrashed": True},  # stays in the trash
        {"id": "S", "mimeType": FOLDER, "explicitlyTrashed": False},
    ]
    gd.respond(
        batch_answer(
            part_ok("x", trashed("x", parent="F1", explicit=False)),
            part_ok("F1", {**folder("F1"), "name": "Album"}),
            ROOT,
        ),
        batch_answer(part_ok("in:F1", {"files": contents})),
        batch_answer(
            part_ok(
                "in:S", {"files": [{"id": "s1", "mimeType": "video/mp4"}], "nextPageToken": "p2"}
            )
        ),
        ({"status": "200"}, '{"files": [{"id": "s2", "mimeType": "text/plain"}]}'),
    )

    notes = drive_restore.plan_notes(gd.provider.session(account()), [indexed("x", via)])

    assert notes == {
        "x": "restored by untrashing its folder 'Album', which also restores 3 other items of "
        "'Album'"
    }  # y, and s1 and s2 of its subfolder; not x itself, nor "own"
    assert batch_parts(gd.requests[1]) == [listing("F1", trashed=True)]
    assert gd.requests[3].query["pageToken"] == "p2"
    assert all(r.method == "GET" for req in gd.requests[:3] for r in batch_parts(req))


def test_already_restored_and_purged_items_are_reported_without_a_patch(gd: Harness) -> None:
    gd.respond(
        batch_answer(part_ok("a", untrashed("a")), part_error("b", 404, "notFound"), ROOT),
    )

    done = results(gd, indexed("a"), indexed("b"))

    assert done["a"].outcome is RestoreOutcome.ALREADY_RESTORED
    assert done["b"].outcome is RestoreOutcome.FAILED
    assert done["b"].detail == "no longer in Google Drive (purged or deleted for good)"
    assert len(gd.requests) == 1


def test_a_throttled_whole_batch_is_retried(gd: Harness) -> None:
    gd.respond(
        ({"status": "503", "retry-after": "2"}, "unavailable"),
        batch_answer(part_ok("a", trashed("a")), ROOT),
        batch_answer(part_ok("a", untrashed("a"))),
    )

    done = results(gd, indexed("a"))

    assert gd.sleeps == [2.0]
    assert done["a"].outcome is RestoreOutcome.RESTORED


def test_batches_go_to_the_configured_endpoint(gd: Harness) -> None:
    gd.respond(batch_answer(part_ok("a", untrashed("a")), ROOT))

    acct = account("https://127.0.0.1:8443")
    list(gd.provider.restore(acct, [indexed("a")]))

    assert gd.requests[0].host == "127.0.0.1:8443"
    assert gd.requests[0].path == "/batch/drive/v3"
    assert batch_parts(gd.requests[0])[0].path == "/drive/v3/files/a"


def test_a_folder_answered_still_in_the_trash_stops_its_chain(gd: Harness) -> None:
    """Wedding went to the trash after grandma did, and its PATCH answer says it is still in
    the trash (a folder above it was trashed meanwhile): grandma is not untrashed under it (what
    Drive does then is undocumented, google.md open point 1), and nothing is claimed."""
    hints = {"untrash": "g", "above": ["W"], "trashed_folders": [["W", "Wedding"]]}
    gd.respond(
        batch_answer(
            part_ok("g", trashed("g", parent="W")),
            part_ok("W", {**folder("W"), "name": "Wedding"}),
            ROOT,
        ),
        batch_answer(part_ok("W", {"id": "W", "trashed": True})),
    )

    done = results(gd, indexed("g", hints))

    still = "its folder 'Wedding' is still in the trash after the restore"
    assert done == {"g": RestoreResult("g", RestoreOutcome.FAILED, still)}
    assert [p.method for r in gd.requests for p in batch_parts(r)] == ["GET"] * 3 + ["PATCH"]


def test_an_item_its_folder_listing_did_not_show_is_read_back(gd: Harness) -> None:
    """x came back through F1 (PATCH answer: out of the trash), but the listing of F1 does not
    show it: only x is read back, and Drive's answer decides."""
    via = {"untrash": "F1", "folder": "Album", "above": ["F1"]}
    gd.respond(
        batch_answer(
            part_ok("x", trashed("x", parent="F1", explicit=False)),
            part_ok("F1", folder("F1")),
            ROOT,
        ),
        batch_answer(part_ok("F1", untrashed("F1"))),
        batch_answer(part_ok("in:F1", {"files": []})),
        batch_answer(part_ok("x", {"id": "x", "trashed": True})),
    )

    done = results(gd, indexed("x", via))

    assert batch_parts(gd.requests[3]) == [inner("x", "GET", VERIFY)]
    assert done == {
        "x": RestoreResult(
            "x", RestoreOutcome.FAILED, "Google Drive still shows it in the trash after the restore"
        )
    }
