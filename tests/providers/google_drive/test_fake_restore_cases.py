"""The Google Drive fake's issue-12 cases, through the real googleapiclient stack over HTTPS.

Items trashed with their folder, a photo trashed on its own inside a folder trashed later
(untrashed alone under both ``untrash_under_trashed_folder`` policies), items whose
``capabilities.canUntrash`` is false on demand, a photo trashed from a live folder, Drive
Activity's trash events by ancestor and item, the Activity API disabled or its scope missing,
and access tokens rejected before their expiry.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from googleapiclient.errors import HttpError

from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.sandbox.model import FOLDER_MIME, DriveFile

from . import test_fake as base

# The fixtures and helpers of the fake's main test module, bound here so pytest finds them.
fake, now = base.fake, base.now
_activity, _drive, _reason = base._activity, base._drive, base._reason

ALICE = "alice@example.com"
FIELDS = "id,name,parents,trashed,explicitlyTrashed,capabilities(canUntrash)"


def _wedding(fake: GoogleDriveFake, now: datetime) -> tuple[DriveFile, DriveFile, DriveFile]:
    """``Wedding`` with grandma.jpg trashed on its own 5 days ago, then the folder (holding
    cake.jpg) trashed 2 days ago: both grandma.jpg and the folder are explicitly trashed."""
    old = now - timedelta(days=60)
    folder = fake.add_folder("alice", "Wedding", created=old)
    grandma = fake.add_file("alice", "grandma.jpg", "image/jpeg", parent=folder.id, created=old)
    cake = fake.add_file("alice", "cake.jpg", "image/jpeg", parent=folder.id, created=old)
    fake.trash("alice", grandma.id, at=now - timedelta(days=5))
    fake.trash("alice", folder.id, at=now - timedelta(days=2))
    return folder, grandma, cake


def test_photos_trashed_with_their_folder_are_implicitly_trashed(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    folder, grandma, cake = _wedding(fake, now)
    files = _drive(fake, ca_bundle).files()
    got = {i.id: files.get(fileId=i.id, fields=FIELDS).execute() for i in (folder, grandma, cake)}
    assert got[folder.id]["explicitlyTrashed"] is True and got[folder.id]["trashed"] is True
    assert got[grandma.id]["explicitlyTrashed"] is True  # trashed on its own, first
    assert got[cake.id] == {**got[cake.id], "trashed": True, "explicitlyTrashed": False}
    assert got[cake.id]["parents"] == [folder.id] == got[grandma.id]["parents"]


def test_untrashing_a_photo_alone_under_a_trashed_folder_leaves_it_in_the_trash(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    folder, grandma, cake = _wedding(fake, now)
    files = _drive(fake, ca_bundle).files()
    assert fake.state.untrash_under_trashed_folder == "stays"  # the default policy
    alone = files.update(fileId=grandma.id, body={"trashed": False}, fields=FIELDS).execute()
    assert (alone["trashed"], alone["explicitlyTrashed"]) == (True, False)
    assert alone["parents"] == [folder.id]
    # untrashing the folder now brings back both photos; the other order needs both calls
    files.update(fileId=folder.id, body={"trashed": False}).execute()
    for item in (grandma, cake):
        assert files.get(fileId=item.id, fields="trashed").execute() == {"trashed": False}


def test_untrashing_the_folder_first_keeps_the_separately_trashed_photo_in_the_trash(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    folder, grandma, cake = _wedding(fake, now)
    files = _drive(fake, ca_bundle).files()
    files.update(fileId=folder.id, body={"trashed": False}).execute()
    assert files.get(fileId=cake.id, fields="trashed").execute() == {"trashed": False}
    assert files.get(fileId=grandma.id, fields="trashed").execute() == {"trashed": True}
    back = files.update(fileId=grandma.id, body={"trashed": False}, fields=FIELDS).execute()
    assert (back["trashed"], back["parents"]) == (False, [folder.id])


def test_untrash_policy_root_moves_the_photo_out_of_its_trashed_folder(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    folder, grandma, cake = _wedding(fake, now)
    fake.state.untrash_under_trashed_folder = "root"
    files = _drive(fake, ca_bundle).files()
    root = fake.state.roots[ALICE]
    alone = files.update(fileId=grandma.id, body={"trashed": False}, fields=FIELDS).execute()
    assert (alone["trashed"], alone["explicitlyTrashed"], alone["parents"]) == (
        False,
        False,
        [root],
    )
    implicit = files.update(fileId=cake.id, body={"trashed": False}, fields=FIELDS).execute()
    assert (implicit["trashed"], implicit["parents"]) == (False, [root])
    assert files.get(fileId=folder.id, fields="trashed").execute() == {"trashed": True}


def test_can_untrash_false_on_demand(fake: GoogleDriveFake, ca_bundle: Path, now: datetime) -> None:
    photo = fake.add_file("alice", "locked.jpg", "image/jpeg", created=now - timedelta(days=40))
    fake.trash("alice", photo.id, at=now - timedelta(days=1))
    fake.deny_untrash(photo.id)
    files = _drive(fake, ca_bundle).files()
    listed = files.list(q="name = 'locked.jpg'", fields=f"files({FIELDS})").execute()["files"]
    assert listed[0]["capabilities"]["canUntrash"] is False
    with pytest.raises(HttpError) as refused:
        files.update(fileId=photo.id, body={"trashed": False}).execute()
    assert refused.value.status_code == 403
    assert _reason(refused.value) == "insufficientFilePermissions"
    assert fake.state.is_trashed(fake.state.files[photo.id])
    fake.deny_untrash(photo.id, denied=False)
    assert files.update(fileId=photo.id, body={"trashed": False}).execute()["id"] == photo.id


def test_a_photo_trashed_from_a_live_folder_points_at_it(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    old = now - timedelta(days=90)
    album = fake.add_folder("alice", "Birthday", created=old)
    photo = fake.add_file("alice", "candles.jpg", "image/jpeg", parent=album.id, created=old)
    fake.trash("alice", photo.id, at=now - timedelta(hours=3))
    files = _drive(fake, ca_bundle).files()
    trashed = files.get(fileId=photo.id, fields=FIELDS).execute()
    assert (trashed["trashed"], trashed["explicitlyTrashed"]) == (True, True)
    parent = files.get(fileId=trashed["parents"][0], fields="id,name,mimeType,trashed,parents")
    assert parent.execute() == {
        "id": album.id,
        "name": "Birthday",
        "mimeType": FOLDER_MIME,
        "trashed": False,
        "parents": [fake.state.roots[ALICE]],
    }


def test_activity_trash_events_by_ancestor_and_item(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    folder, grandma, cake = _wedding(fake, now)
    activity = _activity(fake, ca_bundle, "alice").activity()
    trashes = {"filter": "detail.action_detail_case:DELETE"}
    under = activity.query(body={**trashes, "ancestorName": f"items/{folder.id}"}).execute()
    events = [(a["targets"][0]["driveItem"]["name"], a["timestamp"]) for a in under["activities"]]
    assert events == [  # newest first; cake.jpg went with its folder: no event of its own
        (f"items/{folder.id}", base.rfc3339(now - timedelta(days=2))),
        (f"items/{grandma.id}", base.rfc3339(now - timedelta(days=5))),
    ]
    one = activity.query(body={**trashes, "itemName": f"items/{grandma.id}"}).execute()
    assert [a["primaryActionDetail"] for a in one["activities"]] == [{"delete": {"type": "TRASH"}}]
    creates = activity.query(
        body={"itemName": f"items/{cake.id}", "filter": "-detail.action_detail_case:DELETE"}
    ).execute()["activities"]
    assert [next(iter(a["primaryActionDetail"])) for a in creates] == ["create"]


def test_activity_api_disabled_or_scope_missing_on_demand(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    activity = _activity(fake, ca_bundle, "alice").activity()
    body = {"ancestorName": "items/root", "filter": "detail.action_detail_case:DELETE"}
    fake.set_api_enabled("alice", "driveactivity.googleapis.com", False)
    with pytest.raises(HttpError) as disabled:
        activity.query(body=body).execute()
    error = json.loads(disabled.value.content)["error"]
    assert (disabled.value.status_code, error["status"]) == (403, "PERMISSION_DENIED")
    project = fake.accounts["alice"].client.project_number
    assert error["message"].startswith(
        f"Drive Activity API has not been used in project {project} before or it is disabled."
    )
    assert error["details"][0]["reason"] == "SERVICE_DISABLED"
    assert error["details"][0]["metadata"]["service"] == "driveactivity.googleapis.com"
    fake.set_api_enabled("alice", "driveactivity.googleapis.com", True)
    assert activity.query(body=body).execute()["activities"]

    fake.set_scopes("alice", {"https://www.googleapis.com/auth/drive"})
    with pytest.raises(HttpError) as narrow:
        activity.query(body=body).execute()
    error = json.loads(narrow.value.content)["error"]
    assert (narrow.value.status_code, error["status"]) == (403, "PERMISSION_DENIED")
    assert error["message"] == "Request had insufficient authentication scopes."
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"
    # Drive itself still works with the narrower grant, refreshes included
    assert fake.reject_tokens("alice") >= 1
    assert _drive(fake, ca_bundle).files().list(pageSize=1).execute()["files"]


def test_reject_tokens_refuses_an_unexpired_token_so_the_client_refreshes(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    assert fake.server is not None
    files = _drive(fake, ca_bundle).files()
    files.list(pageSize=1).execute()
    stored = json.loads(fake.account_table("alice", ca_bundle)["secrets"]["authorized_user"])
    assert fake.reject_tokens("alice") >= 1
    expiry = datetime.fromisoformat(stored["expiry"].replace("Z", "+00:00")).replace(tzinfo=UTC)
    assert expiry > datetime.now(UTC)  # the client still thinks its token is good
    files.list(pageSize=1).execute()
    log = [(r.method, r.path, r.status) for r in fake.server.request_log]
    assert log[-3:] == [
        ("GET", "/drive/v3/files", 401),
        ("POST", "/token", 200),
        ("GET", "/drive/v3/files", 200),
    ]
