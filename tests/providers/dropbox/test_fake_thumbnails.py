"""The Dropbox fake serves thumbnails and downloads as the spec documents, to the real SDK.

``files/get_thumbnail_v2`` and ``files/download`` are content-download routes whose ``ReadPath``
accepts ``rev:<rev>`` [files.stone], which is how a deleted photo's last revision (from
``list_revisions``) is read; thumbnails exist only for the documented image extensions. Every
picture is decoded with Pillow and every download checked against its ``content_hash``, computed
here with Dropbox's documented algorithm (SHA-256 of the SHA-256s of 4 MiB blocks).
"""

from __future__ import annotations

import base64
import functools
import hashlib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dropbox
import pytest
from dropbox import files
from dropbox.exceptions import ApiError, AuthError
from dropbox.session import HOST_API, HOST_CONTENT, HOST_NOTIFY

from trashscan.sandbox.server import FakeServer
from trashscan.testing import decoded_picture as picture
from trashscan_dropbox.sandbox.fake import DropboxFake

PHOTOS = (".jpg", ".jpeg", ".png")


@pytest.fixture
def fake(server: FakeServer, ca_bundle: Path, tmp_path: Path) -> DropboxFake:
    dropbox_fake = DropboxFake()
    now = datetime.now(UTC).replace(microsecond=0)
    dropbox_fake.seed(tmp_path / "dbx", now, server=server, ca_bundle=ca_bundle)
    return dropbox_fake


def _client(fake: DropboxFake, bundle: Path, account: str = "carol") -> dropbox.Dropbox:
    """The plugin's way: the stored refresh token, the fake's host for api/content/notify."""
    assert fake.server is not None
    hostport = fake.server.base_url.removeprefix("https://")
    table = fake.account_table(account, bundle)
    session = dropbox.create_session(ca_certs=str(bundle))
    session.trust_env = False
    dbx = dropbox.Dropbox(
        oauth2_refresh_token=table["secrets"]["refresh_token"],
        app_key=table["app_key"],
        session=session,
        max_retries_on_rate_limit=0,
        max_retries_on_error=0,
    )
    dbx._host_map = {HOST_API: hostport, HOST_CONTENT: hostport, HOST_NOTIFY: hostport}
    dbx.refresh_access_token = functools.partial(  # type: ignore[method-assign]
        dropbox.Dropbox.refresh_access_token, dbx, hostport
    )
    return dbx


def _content_hash(data: bytes) -> str:
    """www.dropbox.com/developers/reference/content-hash."""
    blocks = [data[i : i + 4 * 1024 * 1024] for i in range(0, len(data), 4 * 1024 * 1024)]
    return hashlib.sha256(b"".join(hashlib.sha256(b).digest() for b in blocks)).hexdigest()


def _last_rev(dbx: dropbox.Dropbox, path: str) -> files.FileMetadata:
    result = dbx.files_list_revisions(path, limit=1)
    assert result.is_deleted
    return result.entries[0]


def _thumb(dbx: dropbox.Dropbox, path: str, **kwargs: Any) -> tuple[Any, bytes]:
    result, response = dbx.files_get_thumbnail_v2(files.PathOrLink.path(path), **kwargs)
    return result, response.content


def _tag(error: ApiError) -> str:
    value = error.error
    return value.get_path()._tag if value.is_path() else value._tag  # type: ignore[no-any-return]


def test_deleted_photos_last_revisions_have_thumbnails(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    photos = [p for p in fake.manifest["carol"].restorable_media if p.lower().endswith(PHOTOS)]
    assert len(photos) >= 3
    for path in photos:
        last = _last_rev(dbx, path)
        result, body = _thumb(dbx, f"rev:{last.rev}", size=files.ThumbnailSize.w256h256)
        assert result.file_metadata.rev == last.rev
        assert result.file_metadata.content_hash == last.content_hash
        image = picture(body)
        assert (image.format, image.size) == ("JPEG", (256, 192))


def test_thumbnails_only_for_documented_image_extensions(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    dbx = _client(fake, ca_bundle)
    others = [p for p in fake.manifest["carol"].restorable_media if not p.lower().endswith(PHOTOS)]
    assert {p.rsplit(".", 1)[1] for p in others} >= {"heic", "mp4", "mov"}
    for path in others:
        with pytest.raises(ApiError) as caught:
            _thumb(dbx, f"rev:{_last_rev(dbx, path).rev}")
        assert caught.value.error.is_unsupported_extension()


def test_deleted_revisions_download_as_their_content_hash_says(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    dbx = _client(fake, ca_bundle)
    for path in fake.manifest["carol"].restorable_media:
        last = _last_rev(dbx, path)
        metadata, response = dbx.files_download(f"rev:{last.rev}")
        data = response.content
        assert metadata.rev == last.rev and len(data) == last.size
        assert _content_hash(data) == last.content_hash
        if path.lower().endswith((".jpg", ".heic")):  # HEIC names carry a JPEG body
            assert picture(data).size == (320, 240)
        else:
            assert data[4:8] == b"ftyp"


@pytest.mark.parametrize(
    ("kwargs", "fmt", "size"),
    [
        ({"size": files.ThumbnailSize.w32h32}, "JPEG", (32, 24)),
        ({}, "JPEG", (64, 48)),  # the defaults: w64h64, strict, jpeg
        ({"mode": files.ThumbnailMode.fitone_bestfit}, "JPEG", (85, 64)),
        ({"size": files.ThumbnailSize.w1024h768}, "JPEG", (320, 240)),  # never enlarged
        ({"mode": files.ThumbnailMode.original}, "JPEG", (320, 240)),
        ({"format": files.ThumbnailFormat.png}, "PNG", (64, 48)),
        ({"format": files.ThumbnailFormat.webp}, "WEBP", (64, 48)),
    ],
)
def test_size_mode_and_format(
    fake: DropboxFake, ca_bundle: Path, kwargs: dict[str, Any], fmt: str, size: tuple[int, int]
) -> None:
    _, body = _thumb(_client(fake, ca_bundle), "/Photos/sunset.jpg", **kwargs)
    image = picture(body)
    assert (image.format, image.size) == (fmt, size)


def test_refusals_are_the_documented_errors(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    cases = {
        "/Photos/dog.jpg": "not_found",  # a deleted path: only its rev: is readable
        "/Photos": "not_file",
        "rev:" + _last_rev(dbx, "/Photos/old-scan.jpg").rev: "not_found",  # not restorable
        "rev:0123456789abcdef": "not_found",
    }
    for path, tag in cases.items():
        with pytest.raises(ApiError) as caught:
            _thumb(dbx, path)
        assert _tag(caught.value) == tag, path
    with pytest.raises(ApiError) as caught:
        _thumb(dbx, "/Photos/sunset.jpg", preserve_transparency=True)
    assert caught.value.error.is_unsupported_output_format()


def test_a_seam_makes_deleted_revisions_unreadable(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    deleted = _last_rev(dbx, "/Photos/dog.jpg").rev
    live = dbx.files_get_metadata("/Photos/sunset.jpg").rev
    fake.api.content.deleted_revisions = "not_found"
    with pytest.raises(ApiError) as caught:
        _thumb(dbx, f"rev:{deleted}")
    assert _tag(caught.value) == "not_found"
    with pytest.raises(ApiError):
        dbx.files_download(f"rev:{deleted}")
    assert picture(_thumb(dbx, f"rev:{live}")[1]).format == "JPEG"


def test_thumbnail_v1_and_batch(fake: DropboxFake, ca_bundle: Path) -> None:
    dbx = _client(fake, ca_bundle)
    dog = _last_rev(dbx, "/Photos/dog.jpg").rev
    metadata, response = dbx.files_get_thumbnail(f"rev:{dog}", size=files.ThumbnailSize.w128h128)
    assert metadata.rev == dog and picture(response.content).size == (128, 96)
    cat = _last_rev(dbx, "/Photos/cat.heic").rev
    batch = dbx.files_get_thumbnail_batch(
        [files.ThumbnailArg(f"rev:{dog}"), files.ThumbnailArg(f"rev:{cat}")]
    )
    first, second = batch.entries
    assert first.is_success() and first.get_success().metadata.rev == dog
    assert picture(base64.b64decode(first.get_success().thumbnail)).size == (64, 48)
    assert second.is_failure() and second.get_failure().is_unsupported_extension()
    with pytest.raises(ApiError) as caught:
        dbx.files_get_thumbnail_batch([files.ThumbnailArg(f"rev:{dog}")] * 26)
    assert caught.value.error.is_too_many_files()


def test_content_reads_need_the_content_scope(fake: DropboxFake, ca_bundle: Path) -> None:
    fake.add_account("meta", scopes=frozenset({"files.metadata.read", "account_info.read"}))
    fake.add_file("meta", "/a.jpg", b"not read")
    with pytest.raises(AuthError):
        _thumb(_client(fake, ca_bundle, "meta"), "/a.jpg")


def test_the_trip_photos_are_the_same_pictures_in_both_accounts(
    fake: DropboxFake, ca_bundle: Path
) -> None:
    path = "/Camera Uploads/2025 Trip/IMG_0001.jpg"
    carol = _last_rev(_client(fake, ca_bundle), path).content_hash
    dave = _last_rev(_client(fake, ca_bundle, "dave"), path).content_hash
    assert carol == dave
