"""The Google Drive fake's change logs, checked against Drive's documentation (not a plugin).

developers.google.com/drive/api/guides/about-changes: "Each shared drive has its own change log.
Even though a user may be a member of a shared drive, certain changes are only reflected in the
shared drive change log and never in the user's change log"; the user log carries "The user
becomes a member of a shared drive. The user is no longer a member of a shared drive. ... The
shared drive is renamed"; "When a user becomes a member of a shared drive, a single change event
for the shared drive appears on the user's change log". The Change resource (discovery document):
``drive`` is "Present if the changeType is drive, the user is still a member of the shared drive,
and the shared drive has not been deleted"; ``removed`` "Whether the file or shared drive has
been removed from this list of changes, for example by deletion or loss of access".
Driven by the real googleapiclient over HTTPS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build

from trashscan.sandbox.server import FakeServer
from trashscan_google_drive.sandbox.fake import GoogleDriveFake

JPEG = "image/jpeg"
SHARED = {"includeItemsFromAllDrives": True, "supportsAllDrives": True}
FIELDS = (
    "newStartPageToken,nextPageToken,"
    "changes(changeType,removed,fileId,driveId,drive(id,name),file(id,trashed))"
)


@pytest.fixture
def fake(server: FakeServer) -> GoogleDriveFake:
    """Ann, member (organizer) of "Team"; "Club" exists without her; a photo in each."""
    drive_fake = GoogleDriveFake()
    drive_fake.attach(server, datetime.now(UTC).replace(microsecond=0))
    drive_fake.add_account("ann")
    drive_fake.add_person("zed@example.com", "Zed")
    drive_fake.add_shared_drive("Team", {"ann": "organizer"})
    drive_fake.add_shared_drive("Club", {"zed@example.com": "organizer"})
    drive_fake.add_file("Team", "team.jpg", JPEG, size=10, by="ann")
    drive_fake.add_file("Club", "club.jpg", JPEG, size=10, by="zed@example.com")
    drive_fake.add_file("ann", "mine.jpg", JPEG, size=10)
    return drive_fake


def _drive(fake: GoogleDriveFake, bundle: Path) -> Any:
    assert fake.server is not None
    info = json.loads(fake.account_table("ann", bundle)["secrets"]["authorized_user"])
    creds = Credentials.from_authorized_user_info(info).with_token_uri(
        fake.server.base_url + "/token"
    )
    return build(
        "drive",
        "v3",
        http=AuthorizedHttp(creds, http=httplib2.Http(ca_certs=str(bundle))),
        static_discovery=True,
        client_options={"api_endpoint": fake.server.base_url + "/drive/v3/"},
    )


def _token(drive: Any, **kwargs: Any) -> str:
    return drive.changes().getStartPageToken(**kwargs).execute()["startPageToken"]


def _changes(drive: Any, token: str, **kwargs: Any) -> list[dict[str, Any]]:
    return drive.changes().list(pageToken=token, fields=FIELDS, **kwargs).execute()["changes"]


def _drive_id(fake: GoogleDriveFake, name: str) -> str:
    return next(d.id for d in fake.state.drives.values() if d.name == name)


# -- shared-drive items in the user log (state.user_log_shared_items) -----------------------------


def test_lenient_user_log_carries_a_members_shared_drive_item_changes(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    fake.state.user_log_shared_items = "all"
    drive = _drive(fake, ca_bundle)
    token = _token(drive)
    photo = fake.find("team.jpg", drive="Team")
    fake.trash("ann", photo.id)
    assert [c["fileId"] for c in _changes(drive, token, **SHARED)] == [photo.id]
    assert _changes(drive, token, restrictToMyDrive=True, **SHARED) == []
    assert _changes(drive, token) == []  # without includeItemsFromAllDrives: My Drive only


def test_by_default_a_shared_drive_trashing_is_only_in_that_drives_own_log(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    assert fake.state.user_log_shared_items == "none"
    drive = _drive(fake, ca_bundle)
    team = _drive_id(fake, "Team")
    token = _token(drive)
    photo, mine = fake.find("team.jpg", drive="Team"), fake.find("mine.jpg", account="ann")
    fake.trash("ann", photo.id)
    fake.trash("ann", mine.id)
    user_log = _changes(drive, token, **SHARED)
    assert [c["fileId"] for c in user_log] == [mine.id]  # My Drive items stay in the user log
    own_log = _changes(drive, token, driveId=team, **SHARED)
    assert [(c["fileId"], c["driveId"], c["file"]["trashed"]) for c in own_log] == [
        (photo.id, team, True)
    ]


def test_a_new_member_gets_no_change_for_the_drives_older_items(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    fake.state.user_log_shared_items = "all"
    drive = _drive(fake, ca_bundle)
    token = _token(drive)
    club = fake.find("club.jpg", drive="Club")
    fake.trash("zed@example.com", club.id)  # before ann joins
    fake.add_drive_member("Club", "ann", "fileOrganizer")
    changes = _changes(drive, token, **SHARED)
    assert [(c["changeType"], c.get("fileId")) for c in changes] == [("drive", None)]
    # Once a member, the drive's own log is hers to read, older changes included.
    own = _changes(drive, token, driveId=_drive_id(fake, "Club"), **SHARED)
    assert [c["fileId"] for c in own] == [club.id]


# -- changeType "drive" ---------------------------------------------------------------------------


def test_joining_a_shared_drive_is_one_drive_change_in_the_user_log(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    drive = _drive(fake, ca_bundle)
    token = _token(drive)
    fake.add_drive_member("Club", "ann", "reader")
    club = _drive_id(fake, "Club")
    assert _changes(drive, token, **SHARED) == [
        {
            "changeType": "drive",
            "removed": False,
            "driveId": club,
            "drive": {"id": club, "name": "Club"},
        }
    ]
    # Only her log: the other member's log gets nothing.
    assert fake.state.changes[-1].audience == {"ann@example.com"}


def test_leaving_a_shared_drive_is_a_removed_drive_change_without_the_drive(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    drive = _drive(fake, ca_bundle)
    team = _drive_id(fake, "Team")
    token = _token(drive)
    fake.remove_drive_member("Team", "ann")
    assert _changes(drive, token, **SHARED) == [
        {"changeType": "drive", "removed": True, "driveId": team}
    ]
    assert _changes(drive, token, includeRemoved=False, **SHARED) == []
    names = [d["name"] for d in drive.drives().list().execute()["drives"]]
    assert names == []  # no longer a member: the drive is gone from her list


def test_a_rename_is_a_drive_change_for_every_member(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    drive = _drive(fake, ca_bundle)
    team = _drive_id(fake, "Team")
    token = _token(drive)
    fake.rename_drive("Team", "Team 2026")
    changes = _changes(drive, token, **SHARED)
    assert changes == [
        {
            "changeType": "drive",
            "removed": False,
            "driveId": team,
            "drive": {"id": team, "name": "Team 2026"},
        }
    ]
    entry = fake.state.changes[-1]
    assert entry.change_type == "drive" and entry.audience == {"ann@example.com"}


def test_a_role_change_is_a_drive_change_and_only_the_latest_drive_change_is_listed(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    drive = _drive(fake, ca_bundle)
    token = _token(drive)
    fake.add_drive_member("Club", "ann", "reader")
    fake.add_drive_member("Club", "ann", "reader")  # no change: same role
    fake.add_drive_member("Club", "ann", "writer")
    fake.remove_drive_member("Club", "ann")
    club = _drive_id(fake, "Club")
    assert _changes(drive, token, **SHARED) == [
        {"changeType": "drive", "removed": True, "driveId": club}
    ]
    assert sum(e.change_type == "drive" for e in fake.state.changes) == 3


def test_drive_changes_are_in_the_user_log_only(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    drive = _drive(fake, ca_bundle)
    team = _drive_id(fake, "Team")
    token = _token(drive)
    fake.rename_drive("Team", "Renamed")
    assert _changes(drive, token, driveId=team, **SHARED) == []
    assert _changes(drive, token, restrictToMyDrive=True, **SHARED) == []
