"""Restore outcomes that match the cloud (issue 12 §2): the real CLI against the Drive fake.

* A photo trashed with its folder comes back by untrashing the folder, which brings back the
  folder's other items: the plan says so before asking, and the restore records them as
  restored (index and audit log), not as gone.
* A photo trashed on its own in a folder trashed later comes back with that folder (the folder
  first, then the photo), under both readings of Drive's undocumented answer to untrashing an item
  whose folder is still in the trash (the fake's ``untrash_under_trashed_folder`` knob), and also
  when the folder was trashed after the last scan; a folder this account may not untrash is
  named.
* Items Drive says this account may not untrash (``canUntrash: false``) are left out of plans.

Each test counts the batched requests of the restore run where the count is the point; a mass
restore costs its looks and its PATCH batches, nothing more (issue 16).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import ItemState, RestoreOutcome
from trashscan.sandbox.session import Sandbox
from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.scan import NOT_UNTRASHABLE

PROVIDER = "google-drive"
HOLIDAY = "Holiday 2025"
IN_HOLIDAY = f"Photos/{HOLIDAY}/"  # the seed's trashed folder lives in the live folder Photos
RESTORED = "restored          "  # an outcome column, as the CLI aligns it
CANNOT_UNTRASH_WEDDING = (
    "its folder 'Wedding' is in the trash and Google Drive does not let this account restore "
    "it (only the owner, or a content manager of the shared drive, can)"
)


pytestmark = pytest.mark.sandbox(PROVIDER)


def _index(sandbox: Sandbox) -> Index:
    return Index.open(load_config(sandbox.config_path).index_url)


def _outcome_lines(stdout: str) -> list[str]:
    words = {outcome.value for outcome in RestoreOutcome}
    return [line for line in stdout.splitlines() if line.split(" ", 1)[0] in words]


def _pick(items: list[dict], **where: Any) -> dict:
    return next(i for i in items if all(i[k] == v for k, v in where.items()))


def _list(cli: Any, account: str = "alice") -> dict[str, dict]:
    result = cli("list", "--account", account, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {i["item_id"]: i for i in result.json()}


def _wedding(fake: GoogleDriveFake) -> tuple[Any, Any, list[Any]]:
    """Photos/Wedding holding grandma.jpg, cake.jpg and toast.mp4 (nothing trashed yet)."""
    photos = fake.find("Photos", account="alice")
    wedding = fake.add_folder("alice", "Wedding", parent=photos.id)
    grandma = fake.add_file("alice", "grandma.jpg", "image/jpeg", parent=wedding.id)
    others = [
        fake.add_file("alice", "cake.jpg", "image/jpeg", parent=wedding.id),
        fake.add_file("alice", "toast.mp4", "video/mp4", parent=wedding.id),
    ]
    return wedding, grandma, others


# ----------------------------------------------------------------------------------- folders


def test_a_photo_of_a_trashed_folder_brings_the_folders_other_items_back_and_says_so(
    cli, sandbox, fake, log
):
    items = list(_list(cli).values())
    photo = _pick(items, path=None, kind="photo")
    video = _pick(items, path=None, kind="video")
    in_folder = [i for i in items if (i["path"] or "").startswith(IN_HOLIDAY)]
    chosen, siblings = in_folder[0], in_folder[1:]
    assert len(siblings) == 2
    refs = (photo["ref"], video["ref"], chosen["ref"])
    note = (
        f"  {chosen['ref']} {chosen['name']}: restored by untrashing its folder '{HOLIDAY}', "
        f"which also restores 2 other items of '{HOLIDAY}'"
    )

    plan = cli("restore", *refs, "--dry-run")

    assert plan.exit_code == 0, plan.stderr
    assert "Would restore 3 item(s):" in plan.stdout
    assert note in plan.stdout.splitlines()
    assert "dry run: nothing was changed" in plan.stdout
    assert all(fake.state.is_trashed(fake.state.files[i["item_id"]]) for i in in_folder)
    log.mark()
    parts_before = len(fake.batch_log)

    result = cli("restore", *refs, "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert note in result.stdout.splitlines()  # said before restoring, with --yes too
    assert result.stdout.index(note) < result.stdout.index(RESTORED)
    with_folder = f"(restored with its folder {HOLIDAY})"
    assert sorted(_outcome_lines(result.stdout)) == sorted(
        [
            f"{RESTORED} {photo['ref']} alice: {photo['name']}",
            f"{RESTORED} {video['ref']} alice: {video['name']}",
            f"{RESTORED} {chosen['ref']} alice: {chosen['name']} {with_folder}",
            # what came back with the folder, read back from Drive
            *(f"{RESTORED} {s['ref']} alice: {s['name']} {with_folder}" for s in siblings),
        ]
    )
    assert "5 restored, 0 not restored" in result.stdout
    # the plan: a batched look and a listing of the folder; the restore: a batched look, one
    # batch of PATCHes (their answers say the photo, the video and the folder are out), and a
    # listing of what came back with the folder; nothing read back one by one
    assert log.calls() == [("POST", "/batch/drive/v3", 200)] * 5
    holiday = fake.find(HOLIDAY, account="alice")
    patched = [r.path for r in fake.batch_log[parts_before:] if r.method == "PATCH"]
    assert sorted(patched) == sorted(
        f"/drive/v3/files/{file_id}" for file_id in (photo["item_id"], video["item_id"], holiday.id)
    )
    for file_id in (
        photo["item_id"],
        video["item_id"],
        holiday.id,
        *(i["item_id"] for i in in_folder),
    ):
        assert not fake.state.is_trashed(fake.state.files[file_id])

    # the index and its audit log: every one of them restored, the siblings too (not "gone")
    index = _index(sandbox)
    for item in (photo, video, *in_folder):
        assert index.get(PROVIDER, "alice", item["item_id"]).state is ItemState.RESTORED
    audit = {entry["item_id"]: entry for entry in index.restore_log()}
    for item in (chosen, *siblings):
        assert audit[item["item_id"]]["outcome"] == "restored"
        assert audit[item["item_id"]]["detail"] == f"restored with its folder {HOLIDAY}"
    after = _list(cli)
    assert not {i["item_id"] for i in (photo, video, *in_folder)} & set(after)
    for item in siblings:  # a later scan does not turn them into "gone"
        assert index.get(PROVIDER, "alice", item["item_id"]).state is ItemState.RESTORED
    assert fake.refused_calls == []


@pytest.mark.parametrize("policy", ["stays", "root"])
@pytest.mark.parametrize("scanned", ["listed", "folder-trashed-after-the-scan"])
def test_a_photo_trashed_before_its_folder_comes_back_with_the_folder(
    cli, sandbox, fake, policy, scanned
):
    """grandma.jpg went to the trash on its own, then its folder Wedding did. Untrashing the
    photo alone is not enough, and what Drive does to it while the folder is in the trash is
    undocumented (the fake's knob plays both readings), so the folder is untrashed first, then
    the photo, and the plan says so. Also when the folder went after the last scan."""
    fake.state.untrash_under_trashed_folder = policy
    wedding, grandma, others = _wedding(fake)
    now = fake.clock()
    fake.trash("alice", grandma.id, now - timedelta(days=2))
    if scanned == "listed":
        fake.trash("alice", wedding.id, now - timedelta(days=1))
    items = _list(cli)
    if scanned != "listed":
        fake.trash("alice", wedding.id, now - timedelta(days=1))  # the index does not know
    target = items[grandma.id]
    assert target["path"] == "Photos/Wedding/grandma.jpg"
    note = (
        f"  {target['ref']} grandma.jpg: its folder 'Wedding' went to the trash after it: "
        "restoring it untrashes that folder too, which also restores 2 other items of 'Wedding'"
    )

    plan = cli("restore", target["ref"], "--dry-run")

    assert plan.exit_code == 0, plan.stderr
    assert note in plan.stdout.splitlines()
    parts_before = len(fake.batch_log)

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert note in result.stdout.splitlines()
    assert (
        f"{RESTORED} {target['ref']} alice: grandma.jpg "
        "(restored, and its folder Wedding (trashed after it) too)"
    ) in result.stdout.splitlines()
    patches = [r for r in fake.batch_log[parts_before:] if r.method == "PATCH"]
    assert [r.path.rsplit("/", 1)[1] for r in patches] == [wedding.id, grandma.id]
    for item in (wedding, grandma, *others):
        assert not fake.state.is_trashed(fake.state.files[item.id])
    assert fake.state.files[grandma.id].parent_id == wedding.id  # back where it was
    index = _index(sandbox)
    assert index.get(PROVIDER, "alice", grandma.id).state is ItemState.RESTORED
    for other in others:  # recorded as restored when the scan had seen them in the trash
        row = index.get(PROVIDER, "alice", other.id)
        assert (row.state if row else None) is (ItemState.RESTORED if scanned == "listed" else None)
    count = 3 if scanned == "listed" else 1
    assert f"{count} restored, 0 not restored" in result.stdout
    assert fake.refused_calls == []


def test_a_photo_whose_trashed_folder_this_account_may_not_restore_names_the_folder(
    cli, sandbox, fake
):
    wedding, grandma, _ = _wedding(fake)
    fake.trash("alice", grandma.id, fake.clock() - timedelta(days=2))
    target = _list(cli)[grandma.id]
    fake.trash("alice", wedding.id)  # after the scan: the index still says restorable
    fake.deny_untrash(wedding.id)

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert f"  {target['ref']} grandma.jpg: will not be restored: {CANNOT_UNTRASH_WEDDING}" in lines
    assert f"skipped            {target['ref']} alice: grandma.jpg ({CANNOT_UNTRASH_WEDDING})" in (
        lines
    )
    assert not [r for r in fake.batch_log if r.method == "PATCH"]
    assert fake.state.is_trashed(fake.state.files[grandma.id])

    # the next scan knows: the photo is listed as not restorable, and left out of plans
    again = _list(cli)[grandma.id]
    assert (again["restorable"], again["not_restorable_reason"]) == (False, CANNOT_UNTRASH_WEDDING)
    left = cli("restore", target["ref"], "--yes")
    assert left.exit_code == 0
    assert f"  {target['ref']} alice: grandma.jpg ({CANNOT_UNTRASH_WEDDING})" in left.stdout
    assert "nothing to restore" in left.stderr


# ----------------------------------------------------------------------------------- canUntrash


def test_items_this_account_may_not_untrash_are_left_out_of_the_plan(cli, sandbox, fake):
    root = fake.state.roots[fake.accounts["alice"].email]
    video = next(
        f
        for f in fake.state.files.values()
        if f.parent_id == root and f.mime_type.startswith("video/") and f.explicitly_trashed
    )
    fake.deny_untrash(video.id)  # canUntrash false for an item of her own
    items = list(_list(cli).values())
    race = _pick(items, restorable=False, kind="photo")
    assert race["path"].startswith("Running Club/")
    photo = _pick(items, path=None, kind="photo")
    denied = _pick(items, item_id=video.id)
    assert denied["restorable"] is False
    parts_before = len(fake.batch_log)

    result = cli("restore", race["ref"], photo["ref"], denied["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr  # everything planned came back
    lines = result.stdout.splitlines()
    assert "Will restore 1 item(s):" in lines
    assert "Left out 2 item(s) this account cannot restore:" in lines
    assert f"  {race['ref']} alice: {race['name']} ({NOT_UNTRASHABLE})" in lines
    assert f"  {denied['ref']} alice: {denied['name']} ({NOT_UNTRASHABLE})" in lines
    assert _outcome_lines(result.stdout) == [f"{RESTORED} {photo['ref']} alice: {photo['name']}"]
    assert "1 restored, 0 not restored" in result.stdout
    sent = {r.path.rsplit("/", 1)[1] for r in fake.batch_log[parts_before:]}
    assert not {race["item_id"], denied["item_id"]} & sent  # never sent to Drive
    assert fake.state.is_trashed(fake.state.files[race["item_id"]])
    audit = {e["item_id"] for e in _index(sandbox).restore_log()}
    assert not {race["item_id"], denied["item_id"]} & audit  # not attempted, so not logged

    alone = cli("restore", race["ref"], "--yes")
    assert alone.exit_code == 0
    assert "nothing to restore" in alone.stderr
    assert fake.refused_calls == []


# ----------------------------------------------------------------------------------- round trips


def test_a_mass_restore_costs_the_looks_and_the_patches_and_no_read_back(cli, fake, log):
    """250 photos trashed one by one (issue 16). Floor, in batches of 100 (Drive's limit): the
    plan's look and the restore's own look, each ceil((250 + the root alias) / 100) = 3 (the
    restore looks again: the person may have waited at the prompt, and which folders come back
    is decided on Drive's state then), and ceil(250 / 100) = 3 batches of PATCH. Nothing is read
    back: files.update answers the updated file with the fields asked (``fields=id,trashed``),
    and ``trashed: false`` there is the restore's outcome. Before: 12 (a read-back per 100)."""
    bulk = set(fake.trash_bulk("bob", 250))
    items = [i for i in _list(cli, "bob").values() if i["item_id"] in bulk]
    assert len(items) == 250
    log.mark()
    parts_before = len(fake.batch_log)

    result = cli("restore", *(i["ref"] for i in items), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "250 restored, 0 not restored" in result.stdout
    floor = 3 + 3 + 3
    assert log.calls() == [("POST", "/batch/drive/v3", 200)] * floor
    parts = fake.batch_log[parts_before:]
    assert sum(p.method == "PATCH" for p in parts) == 250
    assert sum(p.method == "GET" for p in parts) == 2 * 251  # the two looks, nothing after
    assert all(p.query.get("fields") == ["id,trashed"] for p in parts if p.method == "PATCH")
    assert not any(fake.state.is_trashed(fake.state.files[i]) for i in bulk)
    assert fake.refused_calls == []
