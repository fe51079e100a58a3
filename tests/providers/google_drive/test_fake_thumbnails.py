"""The Drive fake serves thumbnails and content as Drive documents them, to a real client.

``thumbnailLink`` is "short-lived", "only populated when the requesting app can access the
file's content", and "must be fetched using a credentialed request" [DISC File.thumbnailLink];
``files.get?alt=media`` returns the content, trashed files included [DISC files.get, File.trashed].
The client here is google-api-python-client / google-auth-httplib2 over loopback HTTPS, and every
picture is decoded with Pillow.
"""

from __future__ import annotations

import hashlib
import io
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
from googleapiclient.http import MediaIoBaseDownload

from trashscan.sandbox.server import FakeServer
from trashscan.testing import decoded_picture as picture
from trashscan_google_drive.sandbox.fake import GoogleDriveFake

MEDIA_Q = "trashed = true and (mimeType contains 'image/' or mimeType contains 'video/')"
FIELDS = (
    "files(id,name,mimeType,size,trashed,hasThumbnail,thumbnailLink,thumbnailVersion,"
    "md5Checksum,sha1Checksum,sha256Checksum,driveId)"
)
METADATA_ONLY = "https://www.googleapis.com/auth/drive.metadata.readonly"


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake(server: FakeServer, ca_bundle: Path, now: datetime, tmp_path: Path) -> GoogleDriveFake:
    drive_fake = GoogleDriveFake()
    drive_fake.seed(tmp_path / "gd", now, server=server, ca_bundle=ca_bundle)
    return drive_fake


def _http(fake: GoogleDriveFake, bundle: Path, account: str = "alice") -> AuthorizedHttp:
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


def _trashed(fake: GoogleDriveFake, bundle: Path, account: str = "alice") -> list[dict[str, Any]]:
    request = (
        _drive(fake, bundle, account)
        .files()
        .list(
            q=MEDIA_Q,
            pageSize=1000,
            fields=FIELDS,
            corpora="allDrives",
            includeItemsFromAllDrives=True,
            supportsAllDrives=True,
        )
    )
    return request.execute()["files"]


def _download(fake: GoogleDriveFake, bundle: Path, file_id: str, chunk: int) -> bytes:
    request = _drive(fake, bundle).files().get_media(fileId=file_id, supportsAllDrives=True)
    buffer = io.BytesIO()
    downloader = MediaIoBaseDownload(buffer, request, chunksize=chunk)
    done = False
    while not done:
        _, done = downloader.next_chunk()
    return buffer.getvalue()


def test_every_trashed_photo_and_video_has_a_thumbnail_a_credentialed_client_can_fetch(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    files = _trashed(fake, ca_bundle)
    assert len(files) >= 12 and {f["mimeType"].split("/")[0] for f in files} == {"image", "video"}
    assert any("driveId" in f for f in files)  # shared-drive items too
    http = _http(fake, ca_bundle)
    for item in files:
        assert item["trashed"] and item["hasThumbnail"] and item["thumbnailVersion"]
        link = item["thumbnailLink"]
        assert link.startswith(fake.server.base_url + "/drive-storage/")  # type: ignore[union-attr]
        response, body = http.request(link)
        assert response.status == 200 and response["content-type"] == "image/jpeg"
        image = picture(body)
        assert image.format == "JPEG" and max(image.size) <= 220


def test_thumbnail_size_options_bound_the_picture(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    link = _trashed(fake, ca_bundle)[0]["thumbnailLink"]
    base = link.rsplit("=", 1)[0]
    http = _http(fake, ca_bundle)
    sizes = {}
    for options in ("s64", "w100-h50-c", "w120"):
        response, body = http.request(f"{base}={options}")
        assert response.status == 200
        sizes[options] = picture(body).size
    assert max(sizes["s64"]) == 64
    assert sizes["w100-h50-c"] == (100, 50)
    assert sizes["w120"][0] == 120


def test_thumbnail_links_need_credentials_of_someone_who_sees_the_file(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    link = _trashed(fake, ca_bundle)[0]["thumbnailLink"]
    plain = httplib2.Http(ca_certs=str(ca_bundle))
    assert plain.request(link)[0].status == 403  # no credentials
    assert _http(fake, ca_bundle, "bob").request(link)[0].status == 403  # not his file
    forged = link.replace("/drive-storage/", "/drive-storage/A")
    assert _http(fake, ca_bundle).request(forged)[0].status == 404


def test_thumbnail_links_are_short_lived(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    link = _trashed(fake, ca_bundle)[0]["thumbnailLink"]
    fake.clock = lambda: now + timedelta(hours=5)  # "on the order of hours"
    token = fake.issue_token("alice")  # valid credentials at that time
    http = httplib2.Http(ca_certs=str(ca_bundle))
    response, _ = http.request(link, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 403
    fresh = _trashed(fake, ca_bundle)[0]["thumbnailLink"]
    response, _ = http.request(fresh, headers={"Authorization": f"Bearer {token}"})
    assert response.status == 200


def test_a_link_to_a_file_deleted_for_good_is_gone(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    item = next(f for f in _trashed(fake, ca_bundle) if "driveId" not in f)
    fake.purge("alice", item["id"])
    assert _http(fake, ca_bundle).request(item["thumbnailLink"])[0].status == 404


def test_metadata_only_scopes_get_no_thumbnail_link_and_no_content(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    fake.set_scopes("alice", {METADATA_ONLY})
    files = _trashed(fake, ca_bundle)
    assert files and all(f["hasThumbnail"] and "thumbnailLink" not in f for f in files)
    with pytest.raises(HttpError) as caught:
        _drive(fake, ca_bundle).files().get_media(fileId=files[0]["id"]).execute()
    assert caught.value.status_code == 403
    assert caught.value.error_details[0]["reason"] == "ACCESS_TOKEN_SCOPE_INSUFFICIENT"  # type: ignore[index]


def test_trashed_files_download_as_the_bytes_their_checksums_describe(
    fake: GoogleDriveFake, ca_bundle: Path
) -> None:
    for item in _trashed(fake, ca_bundle):
        data = _download(fake, ca_bundle, item["id"], chunk=4096)  # several ranged requests
        assert len(data) == int(item["size"])
        assert hashlib.md5(data, usedforsecurity=False).hexdigest() == item["md5Checksum"]
        assert hashlib.sha1(data, usedforsecurity=False).hexdigest() == item["sha1Checksum"]
        assert hashlib.sha256(data).hexdigest() == item["sha256Checksum"]
        if item["mimeType"].startswith("image/"):
            assert picture(data).size == (320, 240)
        else:
            assert data[4:8] == b"ftyp"  # a placeholder video holding its poster


def test_docs_editors_files_cannot_be_downloaded(fake: GoogleDriveFake, ca_bundle: Path) -> None:
    packing = fake.find("Packing list", account="alice")
    with pytest.raises(HttpError) as caught:
        _drive(fake, ca_bundle).files().get_media(fileId=packing.id).execute()
    assert caught.value.status_code == 403
    assert caught.value.error_details[0]["reason"] == "fileNotDownloadable"  # type: ignore[index]


def test_bulk_items_download_at_their_declared_size(
    fake: GoogleDriveFake, ca_bundle: Path, now: datetime
) -> None:
    file_id = fake.trash_bulk("alice", 1, now)[0]
    item = fake.state.files[file_id]
    data = _drive(fake, ca_bundle).files().get_media(fileId=file_id).execute()
    assert len(data) == item.size
    if item.mime_type.startswith("image/"):
        picture(data)  # a real picture, padded to the size the metadata states
