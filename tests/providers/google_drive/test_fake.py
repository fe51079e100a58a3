"""The Google Drive fake, driven by the real googleapiclient + google-auth stack over HTTPS.

Every call goes through ``build("drive", "v3", ...)`` with the sandbox CA and an
``AuthorizedHttp`` whose credentials refresh against the fake's ``/token``: if a test passes
here, the same client code speaks to the fake exactly as it would to Google.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httplib2
import pytest
from google.auth.exceptions import RefreshError
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from trashscan.sandbox.server import FakeServer
from trashscan.sandbox.session import Sandbox
from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.sandbox.model import rfc3339

MEDIA_Q = "trashed = true and (mimeType contains 'image/' or mimeType contains 'video/')"
ALL_DRIVES = {"corpora": "allDrives", "includeItemsFromAllDrives": True, "supportsAllDrives": True}


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake(server: FakeServer, ca_bundle: Path, now: datetime, tmp_path: Path) -> GoogleDriveFake:
    drive_fake = GoogleDriveFake()
    drive_fake.seed(tmp_path / "gd", now, server=server, ca_bundle=ca_bundle)
    return drive_fake


def _http(fake: GoogleDriveFake, bundle: Path, account: str) -> AuthorizedHttp:
    """How a plugin would build it: the account's stored authorized_user JSON, Google's token
    URI swapped for the fake's (from_authorized_user_info always resets it), the sandbox CA."""
    table = fake.account_table(account, bundle)
    info = json.loads(table["secrets"]["authorized_user"])
    creds = Credentials.from_authorized_user_info(info).with_token_uri(table["endpoint"] + "token")
    return AuthorizedHttp(creds, http=httplib2.Http(ca_certs=str(bundle)))


def _drive(fake: GoogleDriveFake, bundle: Path, account: str = "alice") -> Any:
    assert fake.server is not None
    return build(
        "drive",
        "v3",
        http=_http(fake, bundle, account),
        static_discovery=True,
        client_options={"api_endpoint": fake.server.base_url + "/drive/v3/"},
    )


def _reason(error: HttpError) -> str:
    return error.error_details[0]["reason"]  # type: ignore[index]


def _list_all(request: Any, files: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    while request is not None:
        page = request.execute()
        found += page["files"]
        request = files.list_next(request, page)
    return found


# -- seeded data and the sandbox contract ------------------------------------------------------


def test_seed_returns_account_tables_per_the_sandbox_contract(
    server: FakeServer, ca_bundle: Path, now: datetime, tmp_path: Path
) -> None:
    seeded = GoogleDriveFake()
    tables = {t["name"]: t for t in seeded.seed(tmp_path, now, server=server, ca_bundle=ca_bundle)}
    assert set(tables) == {"alice", "bob"}
    for table in tables.values():
        assert table["provider"] == "google-drive"
        assert table["endpoint"] == server.base_url + "/"
        assert table["ca_bundle"] == str(ca_bundle)
        info = json.loads(table["secrets"]["authorized_user"])
        assert info["type"] == "authorized_user"
        assert {"client_id", "client_secret", "refresh_token", "token"} <= set(info)
    assert tables["alice"]["activity"] is True
    assert tables["bob"]["activity"] is False


def test_seeded_trash_as_documented(fake: GoogleDriveFake, ca_bundle: Path, now: datetime) -> None:
    drive = _drive(fake, ca_bundle)
    fields = "files(id,name,trashed,explicitlyTrashed,trashedTime,driveId,capabilities(canUntrash))"
    mine = drive.files().list(q=MEDIA_Q, fields=fields, pageSize=1000).execute()["files"]
    assert len(mine) == 8
    assert sum(not f["explicitlyTrashed"] for f in mine) == 3  # the Holiday 2025 photos
    assert all("trashedTime" not in f and "driveId" not in f for f in mine)  # My Drive: no date

    everything = drive.files().list(q=MEDIA_Q, fields=fields, **ALL_DRIVES).execute()["files"]
    shared = [f for f in everything if "driveId" in f]
    assert len(shared) == 5  # Family (4) and Running Club (1)
    assert all(now - timedelta(days=30) < datetime.fromisoformat(f["trashedTime"]) for f in shared)
    assert [f["capabilities"]["canUntrash"] for f in everything].count(False) == 1

    docs = (
        drive.files()
        .list(
            q="trashed = true and not mimeType contains 'image/' and not mimeType contains 'video/'"
            " and mimeType != 'application/vnd.google-apps.folder'",
            fields="files(name)",
        )
        .execute()["files"]
    )
    assert sorted(f["name"] for f in docs) == ["Packing list", "Tax return 2024.pdf"]

    bob = _drive(fake, ca_bundle, "bob")
    assert len(bob.files().list(q=MEDIA_Q).execute()["files"]) == 5


def test_sandbox_session_loads_the_fake_through_its_entry_point(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "box", only=frozenset({"google-drive"})) as box:
        assert {a["name"] for a in box.accounts} == {"alice", "bob"}
        assert all("secrets" not in a for a in box.accounts)  # moved to the secret store
        assert box.config_path is not None
        assert "activity = true" in box.config_path.read_text()


# -- files.list: q, fields, paging, corpora -------------------------------------------------------


def test_list_pages_with_next_page_token(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    drive = _drive(fake, ca_bundle, "bob")
    files = drive.files()
    pages: list[int] = []
    request = files.list(q=MEDIA_Q, pageSize=2, fields="nextPageToken,files(id)")
    seen: list[str] = []
    while request is not None:
        page = request.execute()
        pages.append(len(page["files"]))
        seen += [f["id"] for f in page["files"]]
        assert ("nextPageToken" in page) == (len(pages) < 3)
        request = files.list_next(request, page)
    assert pages == [2, 2, 1]
    assert len(set(seen)) == 5

    first = files.list(q=MEDIA_Q, pageSize=2, fields="nextPageToken").execute()
    with pytest.raises(HttpError) as foreign:  # a token is only valid for its own query
        files.list(q="trashed = false", pageToken=first["nextPageToken"]).execute()
    assert foreign.value.status_code == 400
    assert foreign.value.error_details[0]["location"] == "pageToken"  # type: ignore[index]


def test_page_size_bounds_and_order_by(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    assert len(files.list(q=MEDIA_Q, pageSize=5000).execute()["files"]) == 8  # coerced to 1000
    with pytest.raises(HttpError) as zero:
        files.list(pageSize=0).execute()
    assert zero.value.status_code == 400
    named = files.list(q=MEDIA_Q, orderBy="name desc", fields="files(name)").execute()["files"]
    names = [f["name"] for f in named]
    assert names == sorted(names, key=str.casefold, reverse=True)
    newest = files.list(q=MEDIA_Q, orderBy="modifiedTime desc,name", fields="files(modifiedTime)")
    times = [f["modifiedTime"] for f in newest.execute()["files"]]
    assert times == sorted(times, reverse=True)
    with pytest.raises(HttpError) as bad:
        files.list(orderBy="size").execute()
    assert bad.value.error_details[0]["location"] == "orderBy"  # type: ignore[index]


@pytest.mark.parametrize(
    "query",
    [
        "explicitlyTrashed = true",  # a File field, but not a search term
        "trashed = true and",
        "trashed = 'true'",
        "name contains 'IMG",
        "fullText contains 'beach'",
        "mimeType > 'image/'",
    ],
)
def test_bad_query_is_drives_400_invalid(
    fake: GoogleDriveFake, ca_bundle: Path, query: str
) -> None:
    with pytest.raises(HttpError) as error:
        _drive(fake, ca_bundle).files().list(q=query).execute()
    assert error.value.status_code == 400
    body = json.loads(error.value.content)
    assert body == {
        "error": {
            "code": 400,
            "message": "Invalid Value",
            "errors": [
                {
                    "message": "Invalid Value",
                    "domain": "global",
                    "reason": "invalid",
                    "location": "q",
                    "locationType": "parameter",
                }
            ],
        }
    }
    assert error.value.resp["content-type"] == "application/json; charset=UTF-8"


def test_query_terms_combine(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    holiday = fake.find("Holiday 2025", account="alice")
    inside = files.list(q=f"'{holiday.id}' in parents and trashed = true").execute()["files"]
    assert len(inside) == 3
    escaped = files.list(q="name = 'Tax return 2024.pdf' or name = 'it\\'s'").execute()["files"]
    assert [f["name"] for f in escaped] == ["Tax return 2024.pdf"]
    heic = files.list(q="mimeType = 'image/heic' and not trashed = true").execute()["files"]
    assert heic == []
    prefix = files.list(q="name contains 'tax'").execute()["files"]
    assert [f["name"] for f in prefix] == ["Tax return 2024.pdf"]
    assert files.list(q="name contains 'return'").execute()["files"]  # word prefix
    assert not files.list(q="name contains 'eturn'").execute()["files"]  # not a substring


def test_default_and_selected_fields(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    default = files.list(q=MEDIA_Q).execute()
    assert set(default) == {"kind", "incompleteSearch", "files"}
    assert all(
        set(f) <= {"kind", "id", "name", "mimeType", "resourceKey"} for f in default["files"]
    )

    chosen = files.list(q=MEDIA_Q, fields="files(id,capabilities/canUntrash,parents)").execute()
    assert set(chosen) == {"files"}
    assert all(set(f) == {"id", "capabilities", "parents"} for f in chosen["files"])
    assert all(set(f["capabilities"]) == {"canUntrash"} for f in chosen["files"])

    with pytest.raises(HttpError) as bad:
        files.list(fields="files(id,capabilities,canAddChildren)").execute()
    assert bad.value.status_code == 400
    assert "Invalid field selection canAddChildren" in bad.value.reason


def test_shared_drive_corpora_rules(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    family = next(d for d in fake.state.drives.values() if d.name == "Family")
    with pytest.raises(HttpError) as no_drive_id:
        files.list(
            corpora="drive", includeItemsFromAllDrives=True, supportsAllDrives=True
        ).execute()
    assert _reason(no_drive_id.value) == "teamDriveIdRequiresTeamDriveCorpora"
    with pytest.raises(HttpError) as no_include:
        files.list(corpora="drive", driveId=family.id, supportsAllDrives=True).execute()
    assert no_include.value.status_code == 403
    assert "includeItemsFromAllDrives" in no_include.value.reason
    with pytest.raises(HttpError):
        files.list(corpora="drive", driveId=family.id, includeItemsFromAllDrives=True).execute()

    in_family = files.list(
        q=MEDIA_Q,
        corpora="drive",
        driveId=family.id,
        includeItemsFromAllDrives=True,
        supportsAllDrives=True,
        fields="files(driveId,trashedTime,trashingUser(emailAddress))",
    ).execute()["files"]
    assert len(in_family) == 4
    assert all(f["driveId"] == family.id and "trashedTime" in f for f in in_family)
    assert {f["trashingUser"]["emailAddress"] for f in in_family} == {
        "alice@example.com",
        "dad@example.com",
    }
    # corpora=user only returns shared-drive files the user created or opened: not dad's upload.
    user = files.list(
        q=MEDIA_Q, includeItemsFromAllDrives=True, supportsAllDrives=True, fields="files(driveId)"
    ).execute()["files"]
    assert sum("driveId" in f for f in user) == 3
    assert sum("driveId" not in f for f in user) == 8


def test_drives_list(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    drives = _drive(fake, ca_bundle).drives()
    page = drives.list(pageSize=1).execute()
    assert set(page) == {"kind", "nextPageToken", "drives"}
    assert set(page["drives"][0]) == {"kind", "id", "name"}
    rest = drives.list(pageSize=1, pageToken=page["nextPageToken"]).execute()
    assert "nextPageToken" not in rest
    assert {page["drives"][0]["name"], rest["drives"][0]["name"]} == {"Family", "Running Club"}
    named = drives.list(
        q="name contains 'Fam'", fields="drives(name,capabilities/canTrashChildren)"
    )
    assert named.execute() == {
        "drives": [{"name": "Family", "capabilities": {"canTrashChildren": True}}]
    }
    assert _drive(fake, ca_bundle, "bob").drives().list().execute()["drives"] == []


# -- files.get / files.update ----------------------------------------------------------------


def test_get_shared_drive_item_needs_supports_all_drives(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    files = _drive(fake, ca_bundle).files()
    item = next(f for f in fake.state.files.values() if f.drive_id and not f.is_root)
    with pytest.raises(HttpError) as hidden:
        files.get(fileId=item.id).execute()
    assert hidden.value.status_code == 404
    got = files.get(fileId=item.id, supportsAllDrives=True, fields="id,driveId").execute()
    assert got == {"id": item.id, "driveId": item.drive_id}


def test_get_purged_file_is_404_not_found(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    tax = fake.find("Tax return 2024.pdf", account="alice")
    assert files.get(fileId=tax.id, fields="trashed").execute() == {"trashed": True}
    fake.purge("alice", tax.id)
    with pytest.raises(HttpError) as gone:
        files.get(fileId=tax.id).execute()
    assert gone.value.status_code == 404
    assert json.loads(gone.value.content)["error"]["errors"][0] == {
        "message": f"File not found: {tax.id}.",
        "domain": "global",
        "reason": "notFound",
        "location": "fileId",
        "locationType": "parameter",
    }


def test_untrash_a_file_and_a_folder_with_its_children(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    files = _drive(fake, ca_bundle).files()
    holiday = fake.find("Holiday 2025", account="alice")
    child = next(iter(fake.state.children[holiday.id]))
    # Restoring a child alone leaves it in its trashed folder (the documented safe path is to
    # restore the folder): the answer says so.
    answer = files.update(fileId=child, body={"trashed": False}, fields="trashed").execute()
    assert answer == {"trashed": True}
    restored = files.update(
        fileId=holiday.id,
        body={"trashed": False},
        supportsAllDrives=True,
        fields="id,trashed,explicitlyTrashed",
    ).execute()
    assert restored == {"id": holiday.id, "trashed": False, "explicitlyTrashed": False}
    inside = files.list(q=f"'{holiday.id}' in parents", fields="files(trashed)").execute()
    assert inside["files"] == [{"trashed": False}] * 3


def test_move_a_child_out_of_its_trashed_folder(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    holiday = fake.find("Holiday 2025", account="alice")
    child = sorted(fake.state.children[holiday.id])[0]
    with pytest.raises(HttpError) as two_parents:
        files.update(fileId=child, addParents="root", body={}).execute()
    assert _reason(two_parents.value) == "cannotAddParent"
    moved = files.update(
        fileId=child,
        addParents="root",
        removeParents=holiday.id,
        body={},
        fields="parents,trashed",
    ).execute()
    assert moved == {"parents": [fake.state.roots["alice@example.com"]], "trashed": False}
    assert len(files.list(q=f"'{holiday.id}' in parents").execute()["files"]) == 2


def test_untrash_without_permission_is_403(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    race = next(f for f in fake.state.files.values() if f.trashing_user == "coach@example.com")
    with pytest.raises(HttpError) as refused:
        files.update(fileId=race.id, body={"trashed": False}, supportsAllDrives=True).execute()
    assert refused.value.status_code == 403
    assert _reason(refused.value) == "insufficientFilePermissions"
    assert (
        refused.value.reason == f"The user does not have sufficient permissions for file {race.id}."
    )
    assert fake.state.is_trashed(race)


def test_update_refuses_fields_it_does_not_model(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    item = fake.find("Tax return 2024.pdf", account="alice")
    with pytest.raises(HttpError) as output_only:
        files.update(fileId=item.id, body={"explicitlyTrashed": False}).execute()
    assert _reason(output_only.value) == "fieldNotWritable"
    with pytest.raises(HttpError) as unmodelled:
        files.update(fileId=item.id, body={"description": "x"}).execute()
    assert unmodelled.value.status_code == 400
    renamed = files.update(fileId=item.id, body={"name": "Tax 2024.pdf"}, fields="name").execute()
    assert renamed == {"name": "Tax 2024.pdf"}


def test_destructive_calls_are_refused(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    files = _drive(fake, ca_bundle).files()
    item = fake.find("Tax return 2024.pdf", account="alice")
    with pytest.raises(HttpError) as deleted:
        files.delete(fileId=item.id).execute()
    with pytest.raises(HttpError) as emptied:
        files.emptyTrash().execute()
    assert deleted.value.status_code == emptied.value.status_code == 403
    assert [c.method for c in fake.refused_calls] == ["DELETE", "DELETE"]
    assert item.id in fake.state.files


# -- changes -------------------------------------------------------------------------------------


def test_changes_report_trash_and_purge_between_reads(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    changes = _drive(fake, ca_bundle).changes()
    token = changes.getStartPageToken().execute()
    assert token["kind"] == "drive#startPageToken"
    start = token["startPageToken"]
    idle = changes.list(pageToken=start).execute()
    assert idle["changes"] == [] and idle["newStartPageToken"] == start

    kept = fake.find("Budget 2025", account="alice")
    trashed_at = now + timedelta(minutes=5)
    fake.trash("alice", kept.id, trashed_at)
    fields = "nextPageToken,newStartPageToken,changes(fileId,time,removed,file(trashed))"
    after = changes.list(pageToken=start, fields=fields).execute()
    assert after["changes"] == [
        {
            "fileId": kept.id,
            "time": rfc3339(trashed_at),
            "removed": False,
            "file": {"trashed": True},
        }
    ]
    fake.purge("alice", kept.id, trashed_at + timedelta(minutes=1))
    gone = changes.list(pageToken=after["newStartPageToken"], fields=fields).execute()
    assert gone["changes"] == [
        {"fileId": kept.id, "time": rfc3339(trashed_at + timedelta(minutes=1)), "removed": True}
    ]
    hidden = changes.list(pageToken=after["newStartPageToken"], includeRemoved=False).execute()
    assert hidden["changes"] == []


def test_changes_from_the_first_token_give_the_latest_change_per_file(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    changes = _drive(fake, ca_bundle, "bob").changes()
    pages, token, found = 0, "1", []
    while True:
        page = changes.list(pageToken=token, pageSize=3, fields="*").execute()
        pages += 1
        found += page["changes"]
        if "nextPageToken" not in page:
            break
        token = page["nextPageToken"]
    trashed = [c for c in found if c["file"]["trashed"]]
    assert len(trashed) == 6  # 5 photos/videos + 1 PDF, each once, at its trash time
    assert len({c["fileId"] for c in found}) == len(found) == 8
    times = [c["time"] for c in trashed]
    assert times == sorted(times)
    assert pages == 3


def test_shared_drive_changes_need_the_drive_flags(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    changes = _drive(fake, ca_bundle).changes()
    family = next(d for d in fake.state.drives.values() if d.name == "Family")
    with pytest.raises(HttpError) as hidden:
        changes.getStartPageToken(driveId=family.id).execute()
    assert hidden.value.status_code == 404
    mine = changes.list(pageToken="1", pageSize=1000, fields="changes(driveId)").execute()
    assert all("driveId" not in c for c in mine["changes"])
    in_drive = changes.list(
        pageToken="1",
        driveId=family.id,
        includeItemsFromAllDrives=True,
        supportsAllDrives=True,
        pageSize=1000,
        fields="changes(driveId,file(trashed))",
    ).execute()["changes"]
    assert {c["driveId"] for c in in_drive} == {family.id}
    assert sum(c["file"]["trashed"] for c in in_drive) == 4


# -- batch ----------------------------------------------------------------------------------------


def _batch_untrash(
    fake: GoogleDriveFake, ca_bundle: Path, ids: list[str], account: str = "bob"
) -> dict[str, tuple[Any, HttpError | None]]:
    assert fake.server is not None
    drive = _drive(fake, ca_bundle, account)
    drive.about().get(fields="user").execute()  # refresh bob's expired token the normal way
    results: dict[str, tuple[Any, HttpError | None]] = {}

    def done(request_id: str, response: Any, exception: HttpError | None) -> None:
        results[request_id] = (response, exception)

    batch = BatchHttpRequest(callback=done, batch_uri=fake.server.base_url + "/batch/drive/v3")
    for file_id in ids:
        update = drive.files().update(
            fileId=file_id, body={"trashed": False}, supportsAllDrives=True, fields="id,trashed"
        )
        batch.add(update, request_id=file_id)
    batch.execute()
    return results


def test_batch_with_one_throttled_part(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    ids = [
        f.id
        for f in fake.state.files.values()
        if f.owner == "bob@example.com" and f.explicitly_trashed
    ][:3]
    fake.fail_next_part(status=403, reason="userRateLimitExceeded", file_id=ids[1])
    results = _batch_untrash(fake, ca_bundle, ids)
    assert results[ids[0]] == ({"id": ids[0], "trashed": False}, None)
    assert results[ids[2]] == ({"id": ids[2], "trashed": False}, None)
    response, error = results[ids[1]]
    assert response is None and error is not None
    assert error.status_code == 403
    assert _reason(error) == "userRateLimitExceeded"
    assert fake.state.is_trashed(fake.state.files[ids[1]])
    assert [r.status for r in fake.batch_log] == [200, 403, 200]
    assert fake.server is not None
    assert [(r.method, r.path) for r in fake.server.request_log if r.path.startswith("/batch")] == [
        ("POST", "/batch/drive/v3")
    ]


def test_batch_part_can_be_a_429_with_retry_after(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    ids = [
        f.id
        for f in fake.state.files.values()
        if f.owner == "bob@example.com" and f.explicitly_trashed
    ][:2]
    fake.fail_next_part(status=429, retry_after=12)
    results = _batch_untrash(fake, ca_bundle, ids)
    error = results[ids[0]][1]
    assert error is not None and error.status_code == 429
    assert error.resp.get("retry-after") == "12"
    assert results[ids[1]][1] is None


def test_batch_of_more_than_100_parts_is_refused(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    item = fake.find("Tax return 2024.pdf", account="alice")
    with pytest.raises(HttpError) as refused:
        _batch_untrash(fake, ca_bundle, [f"{item.id}{i}" for i in range(101)])
    assert refused.value.status_code == 400
    assert fake.batch_log == []


def test_batch_parts_reauthenticate_after_a_401(
    fake: GoogleDriveFake, ca_bundle: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # googleapiclient refreshes for per-part 401s through a bare httplib2.Http() (its
    # _auth.refresh_credentials), which trusts only httplib2.CA_CERTS, not our ca_certs.
    monkeypatch.setattr(httplib2, "CA_CERTS", str(ca_bundle))
    ids = [
        f.id
        for f in fake.state.files.values()
        if f.owner == "alice@example.com"
        and f.explicitly_trashed
        and f.mime_type.startswith("image/")
    ][:2]
    drive = _drive(fake, ca_bundle)
    drive.about().get(fields="user").execute()  # a valid token in hand
    fake.expire_tokens("alice")
    assert fake.server is not None
    results: dict[str, Any] = {}
    batch = BatchHttpRequest(
        callback=lambda rid, resp, exc: results.__setitem__(rid, (resp, exc)),
        batch_uri=fake.server.base_url + "/batch/drive/v3",
    )
    for file_id in ids:
        batch.add(drive.files().update(fileId=file_id, body={"trashed": False}), request_id=file_id)
    batch.execute()
    assert all(exc is None for _, exc in results.values())
    assert [r.status for r in fake.batch_log] == [401, 401, 200, 200]


# -- auth and throttling --------------------------------------------------------------------------


def test_expired_token_is_refreshed_through_the_token_endpoint(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    assert fake.server is not None
    files = _drive(fake, ca_bundle).files()
    files.list(pageSize=1).execute()
    assert fake.expire_tokens("alice") >= 1
    files.list(pageSize=1).execute()
    log = [(r.method, r.path, r.status) for r in fake.server.request_log]
    assert log[-3:] == [
        ("GET", "/drive/v3/files", 401),
        ("POST", "/token", 200),
        ("GET", "/drive/v3/files", 200),
    ]


def test_unauthenticated_answer_is_googles(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    assert fake.server is not None
    http = httplib2.Http(ca_certs=str(ca_bundle))
    response, content = http.request(
        fake.server.base_url + "/drive/v3/files", headers={"Authorization": "Bearer nope"}
    )
    assert response.status == 401
    assert response["www-authenticate"].startswith('Bearer realm="https://accounts.google.com/"')
    error = json.loads(content)["error"]
    assert error["status"] == "UNAUTHENTICATED"
    assert error["errors"][0]["reason"] == "authError"


def test_bobs_stored_token_is_expired_so_his_first_call_refreshes(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    assert fake.server is not None
    _drive(fake, ca_bundle, "bob").files().list(pageSize=1).execute()
    assert ("POST", "/token", 200) in [
        (r.method, r.path, r.status) for r in fake.server.request_log
    ]


def test_revoked_grant_raises_refresh_error(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    fake.revoke("alice")
    with pytest.raises(RefreshError) as refused:
        _drive(fake, ca_bundle).files().list().execute()
    assert "invalid_grant" in str(refused.value)


def test_injected_429_with_retry_after(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(fake.http_fault(429, retry_after=7), path="/drive/v3/files$")
    request = _drive(fake, ca_bundle).files().list(q=MEDIA_Q)
    with pytest.raises(HttpError) as throttled:
        request.execute()
    assert throttled.value.status_code == 429
    assert throttled.value.resp.get("retry-after") == "7"
    assert _reason(throttled.value) == "rateLimitExceeded"
    fake.server.faults.add(fake.http_fault(403, "userRateLimitExceeded"), path="/drive/v3/files$")
    request._sleep = lambda seconds: None  # googleapiclient retries 403 userRateLimitExceeded
    assert len(request.execute(num_retries=1)["files"]) == 8


def test_narrow_scopes_are_enforced(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    assert fake.server is not None
    readonly = "https://www.googleapis.com/auth/drive.readonly"
    fake.add_account("carol", scopes=frozenset({readonly}))
    creds = Credentials(fake.issue_token("carol"))
    http = AuthorizedHttp(creds, http=httplib2.Http(ca_certs=str(ca_bundle)))
    drive = build(
        "drive",
        "v3",
        http=http,
        static_discovery=True,
        client_options={"api_endpoint": fake.server.base_url + "/drive/v3/"},
    )
    item = fake.add_file("carol", "IMG_1.jpg", "image/jpeg", size=10)
    fake.trash("carol", item.id)
    assert len(drive.files().list(q=MEDIA_Q).execute()["files"]) == 1
    with pytest.raises(HttpError) as refused:
        drive.files().update(fileId=item.id, body={"trashed": False}).execute()
    assert refused.value.status_code == 403
    error = json.loads(refused.value.content)["error"]
    assert error["errors"][0]["reason"] == "insufficientPermissions"
    assert error["details"][0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"


# -- Drive Activity ------------------------------------------------------------------------------


def _activity(fake: GoogleDriveFake, bundle: Path, account: str) -> Any:
    assert fake.server is not None
    return build(
        "driveactivity",
        "v2",
        http=_http(fake, bundle, account),
        static_discovery=True,
        client_options={"api_endpoint": fake.server.base_url + "/"},
    )


def test_activity_lists_trash_events_newest_first(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    activity = _activity(fake, ca_bundle, "alice").activity()
    body = {"ancestorName": "items/root", "filter": "detail.action_detail_case:DELETE"}
    found = activity.query(body=body).execute()["activities"]
    assert len(found) == 8  # 5 photos/videos, the Holiday 2025 folder, 2 documents
    assert all(a["primaryActionDetail"] == {"delete": {"type": "TRASH"}} for a in found)
    stamps = [a["timestamp"] for a in found]
    assert stamps == sorted(stamps, reverse=True)
    folder = fake.find("Holiday 2025", account="alice")
    folder_event = next(
        a for a in found if a["targets"][0]["driveItem"]["name"] == f"items/{folder.id}"
    )
    assert folder_event["timestamp"] == rfc3339(now - timedelta(days=12))
    assert folder_event["targets"][0]["driveItem"]["driveFolder"] == {"type": "STANDARD_FOLDER"}
    actor = folder_event["actors"][0]["user"]["knownUser"]
    assert actor["isCurrentUser"] is True

    first = activity.query(body={**body, "pageSize": 3}).execute()
    second = activity.query(body={**body, "pageSize": 3, "pageToken": first["nextPageToken"]})
    assert [a["timestamp"] for a in first["activities"] + second.execute()["activities"]] == (
        stamps[:6]
    )
    since = rfc3339(now - timedelta(days=10))
    recent = activity.query(
        body={**body, "filter": f'detail.action_detail_case:DELETE AND time >= "{since}"'}
    ).execute()["activities"]
    assert len(recent) == 4  # 0.25, 3, 5 and 8 days ago


def test_activity_for_shared_drive_and_one_item(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    activity = _activity(fake, ca_bundle, "alice").activity()
    family = next(d for d in fake.state.drives.values() if d.name == "Family")
    in_family = activity.query(
        body={"ancestorName": f"items/{family.id}", "filter": "detail.action_detail_case:DELETE"}
    ).execute()["activities"]
    assert len(in_family) == 4
    assert in_family[0]["targets"][0]["driveItem"]["owner"]["drive"]["title"] == "Family"
    tax = fake.find("Tax return 2024.pdf", account="alice")
    history = activity.query(body={"itemName": f"items/{tax.id}"}).execute()["activities"]
    assert [next(iter(a["primaryActionDetail"])) for a in history] == ["delete", "create"]
    with pytest.raises(HttpError) as bad:
        activity.query(body={"filter": "detail.action_detail_case:TRASH"}).execute()
    assert bad.value.status_code == 400


def test_activity_api_disabled_for_bob(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    activity = _activity(fake, ca_bundle, "bob").activity()
    with pytest.raises(HttpError) as disabled:
        activity.query(body={"ancestorName": "items/root"}).execute()
    assert disabled.value.status_code == 403
    error = json.loads(disabled.value.content)["error"]
    assert error["status"] == "PERMISSION_DENIED"
    assert error["message"].startswith("Drive Activity API has not been used in project")
    assert error["details"][0]["reason"] == "SERVICE_DISABLED"


# -- auto-purge, about, thumbnails, bulk ----------------------------------------------------------


def test_trash_older_than_30_days_is_purged(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    files = _drive(fake, ca_bundle).files()
    oldest = min(
        (
            f
            for f in fake.state.files.values()
            if f.owner == "alice@example.com" and f.explicitly_trashed
        ),
        key=lambda f: f.trashed_time or now,
    )
    assert oldest.trashed_time == now - timedelta(days=28.5)
    fake.clock = lambda: now + timedelta(days=1, hours=13)
    with pytest.raises(HttpError) as gone:
        files.get(fileId=oldest.id).execute()
    assert gone.value.status_code == 404
    assert len(files.list(q=MEDIA_Q).execute()["files"]) == 7
    purge = fake.state.activities[-1]
    assert (purge.kind, purge.actor, purge.file_id) == ("purge", None, oldest.id)


def test_about_reports_trash_usage(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    about = _drive(fake, ca_bundle).about()
    with pytest.raises(HttpError):
        about.get().execute()  # fields is required for about.get
    got = about.get(fields="user(emailAddress,me),storageQuota(usageInDriveTrash)").execute()
    assert got["user"] == {"emailAddress": "alice@example.com", "me": True}
    trashed = [
        f
        for f in fake.state.files.values()
        if f.owner == "alice@example.com" and fake.state.is_trashed(f) and f.size
    ]
    assert len(trashed) >= 8  # seeded photos are small real pictures: count the bytes exactly
    assert int(got["storageQuota"]["usageInDriveTrash"]) == sum(f.size or 0 for f in trashed)


def test_thumbnail_link_is_served_to_a_credentialed_request(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    files = _drive(fake, ca_bundle).files()
    first = files.list(q=MEDIA_Q, pageSize=1, fields="files(thumbnailLink)").execute()["files"][0]
    response, content = _http(fake, ca_bundle, "alice").request(first["thumbnailLink"])
    assert response.status == 200 and content.startswith(b"\xff\xd8")


def test_trash_bulk_seeds_many_trashed_media(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    ids = fake.trash_bulk("bob", 2500, now)
    assert len(ids) == len(set(ids)) == 2500
    trashed = [fake.state.files[i] for i in ids]
    assert all(now - timedelta(days=29) <= f.trashed_time <= now for f in trashed)  # type: ignore[operator]
    files = _drive(fake, ca_bundle, "bob").files()
    request = files.list(q=MEDIA_Q, pageSize=1000, fields="nextPageToken,files(id)")
    assert len(_list_all(request, files)) == 2505
