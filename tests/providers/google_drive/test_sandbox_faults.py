"""Batch part faults of the Google Drive fake, checked against Drive's documented behaviour.

Drive's batch guide: each call of a batch counts separately, so one part can fail while the
others succeed; the error guide lists the throttling answers (403 ``userRateLimitExceeded``, 429
``rateLimitExceeded``) and the server errors ("500, 502, 503, 504 - Server Errors: Unexpected
error arises while processing the request", reason ``backendError``) without saying whether a
5xx call took effect. The fake can target one part by file, method and query parameter, and can
fail a part either before or after applying it. Driven by the real googleapiclient over HTTPS.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from trashscan.sandbox.server import FakeServer
from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.sandbox.model import DriveFile, SharedDrive

JPEG = "image/jpeg"
Outcome = tuple[Any, HttpError | None]


@pytest.fixture
def fake(server: FakeServer) -> GoogleDriveFake:
    """Ann with two shared drives and two trashed photos in her My Drive; nothing else."""
    drive_fake = GoogleDriveFake()
    now = datetime.now(UTC).replace(microsecond=0)
    drive_fake.attach(server, now)
    drive_fake.add_account("ann")
    drive_fake.add_shared_drive("D1", {"ann": "organizer"})
    drive_fake.add_shared_drive("D2", {"ann": "organizer"})
    for name in ("a.jpg", "b.jpg"):
        item = drive_fake.add_file("ann", name, JPEG, size=10, created=now - timedelta(days=3))
        drive_fake.trash("ann", item.id, now - timedelta(days=1))
    return drive_fake


def _drive(fake: GoogleDriveFake, bundle: Path) -> Any:
    assert fake.server is not None
    info = json.loads(fake.account_table("ann", bundle)["secrets"]["authorized_user"])
    creds = Credentials.from_authorized_user_info(info).with_token_uri(
        fake.server.base_url + "/token"
    )
    http = AuthorizedHttp(creds, http=httplib2.Http(ca_certs=str(bundle)))
    return build(
        "drive",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": fake.server.base_url + "/drive/v3/"},
    )


def _batch(fake: GoogleDriveFake, calls: list[tuple[str, Any]]) -> dict[str, Outcome]:
    assert fake.server is not None
    results: dict[str, Outcome] = {}

    def done(request_id: str, response: Any, exception: HttpError | None) -> None:
        results[request_id] = (response, exception)

    batch = BatchHttpRequest(callback=done, batch_uri=fake.server.base_url + "/batch/drive/v3")
    for request_id, request in calls:
        batch.add(request, request_id=request_id)
    batch.execute()
    return results


def _reason(error: HttpError | None) -> str:
    assert error is not None
    return error.error_details[0]["reason"]  # type: ignore[index]


def _photo(fake: GoogleDriveFake, name: str) -> DriveFile:
    return fake.find(name, account="ann")


def _shared(fake: GoogleDriveFake, name: str) -> SharedDrive:
    return next(d for d in fake.state.drives.values() if d.name == name)


def _get_then_untrash(drive: Any, item: DriveFile) -> list[tuple[str, Any]]:
    files = drive.files()
    return [
        ("get", files.get(fileId=item.id, fields="id,trashed")),
        ("patch", files.update(fileId=item.id, body={"trashed": False}, fields="id,trashed")),
    ]


def test_a_fault_by_method_skips_the_get_of_the_same_file_and_hits_its_patch(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    photo = _photo(fake, "a.jpg")
    fake.fail_next_part(status=403, file_id=photo.id, method="PATCH")
    results = _batch(fake, _get_then_untrash(_drive(fake, ca_bundle), photo))
    assert results["get"] == ({"id": photo.id, "trashed": True}, None)
    response, error = results["patch"]
    assert response is None and error is not None and error.status_code == 403
    assert _reason(error) == "userRateLimitExceeded"
    assert fake.state.is_trashed(photo)  # a throttled call is not applied
    assert [(r.method, r.status) for r in fake.batch_log] == [("GET", 200), ("PATCH", 403)]


def test_without_a_method_the_first_part_on_the_file_takes_the_fault(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    photo = _photo(fake, "a.jpg")
    fake.fail_next_part(status=429, file_id=photo.id)
    results = _batch(fake, _get_then_untrash(_drive(fake, ca_bundle), photo))
    assert results["get"][1] is not None and results["get"][1].status_code == 429
    assert results["patch"] == ({"id": photo.id, "trashed": False}, None)


def _changes_of(drive: Any, drive_id: str) -> Any:
    return drive.changes().list(
        pageToken="1",
        driveId=drive_id,
        includeItemsFromAllDrives=True,
        supportsAllDrives=True,
        fields="newStartPageToken,changes(fileId)",
    )


def test_a_fault_by_query_parameter_hits_one_shared_drives_changes_list(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    d1, d2 = _shared(fake, "D1"), _shared(fake, "D2")
    drive = _drive(fake, ca_bundle)
    fake.fail_next_part(status=429, query={"driveId": d2.id})
    results = _batch(fake, [("d1", _changes_of(drive, d1.id)), ("d2", _changes_of(drive, d2.id))])
    assert results["d1"][1] is None and "newStartPageToken" in results["d1"][0]
    assert results["d2"][1] is not None and results["d2"][1].status_code == 429
    assert _reason(results["d2"][1]) == "rateLimitExceeded"


def test_a_fault_whose_criteria_match_no_part_stays_queued(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    d1, d2 = _shared(fake, "D1"), _shared(fake, "D2")
    drive = _drive(fake, ca_bundle)
    fake.fail_next_part(status=429, method="GET", query={"driveId": d2.id})
    first = _batch(fake, [("d1", _changes_of(drive, d1.id))])
    assert first["d1"][1] is None
    second = _batch(fake, [("d1", _changes_of(drive, d1.id)), ("d2", _changes_of(drive, d2.id))])
    assert second["d1"][1] is None
    assert second["d2"][1] is not None and second["d2"][1].status_code == 429


@pytest.mark.parametrize("status", [500, 503])
def test_a_server_error_by_default_is_answered_without_applying_the_call(
    fake: GoogleDriveFake, ca_bundle: Path, status: int
) -> None:
    photo = _photo(fake, "a.jpg")
    version = photo.version
    fake.fail_next_part(status=status, method="PATCH")
    _, error = _batch(fake, _get_then_untrash(_drive(fake, ca_bundle), photo))["patch"]
    assert error is not None and error.status_code == status
    assert _reason(error) == "backendError"
    assert fake.state.is_trashed(photo) and photo.version == version


def test_a_server_error_after_applying_leaves_the_update_done(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    photo, other = _photo(fake, "a.jpg"), _photo(fake, "b.jpg")
    drive = _drive(fake, ca_bundle)
    fake.fail_next_part(status=500, file_id=photo.id, method="PATCH", apply=True)
    files = drive.files()
    results = _batch(
        fake,
        [
            ("a", files.update(fileId=photo.id, body={"trashed": False}, fields="id,trashed")),
            ("b", files.update(fileId=other.id, body={"trashed": False}, fields="id,trashed")),
        ],
    )
    response, error = results["a"]
    assert response is None and error is not None and error.status_code == 500
    assert _reason(error) == "backendError"
    assert results["b"] == ({"id": other.id, "trashed": False}, None)
    # The write happened: reading the file back is how a client learns it.
    assert drive.files().get(fileId=photo.id, fields="trashed").execute() == {"trashed": False}
    assert not fake.state.is_trashed(photo)


def test_a_server_error_may_carry_retry_after_and_a_custom_reason(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    photo = _photo(fake, "a.jpg")
    fake.fail_next_part(status=503, reason="serviceUnavailable", retry_after=3, method="PATCH")
    _, error = _batch(fake, _get_then_untrash(_drive(fake, ca_bundle), photo))["patch"]
    assert error is not None and error.status_code == 503
    assert _reason(error) == "serviceUnavailable"
    assert error.resp.get("retry-after") == "3"


def test_times_repeats_a_fault_on_successive_matching_parts(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    drive = _drive(fake, ca_bundle)
    fake.fail_next_part(status=500, method="PATCH", times=2, apply=True)
    photos = [_photo(fake, "a.jpg"), _photo(fake, "b.jpg")]
    calls = [
        (p.id, drive.files().update(fileId=p.id, body={"trashed": False}, fields="id"))
        for p in photos
    ]
    results = _batch(fake, calls)
    assert all(error is not None and error.status_code == 500 for _, error in results.values())
    assert not any(fake.state.is_trashed(p) for p in photos)
