"""The iCloud fake serves Recently Deleted assets' thumbnails and originals as pyicloud reads them.

pyicloud's ``PhotoAsset.versions`` / ``download(version)`` take the CPLMaster's ``res*Res``
``downloadURL``s: ``thumb`` is ``resJPEGThumb`` for photos, ``thumb_image`` for videos (whose
``thumb`` is the small video), ``original`` is ``resOriginal`` (next-wave.md §1, icloud.md §2).
The client is the real ``PyiCloudService`` over loopback HTTPS; pictures are decoded with Pillow.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pyicloud.base
import pytest
from pyicloud import PyiCloudService

from trashscan.sandbox.server import FakeServer
from trashscan.testing import decoded_picture as picture
from trashscan_icloud.sandbox.fake import ICloudFake
from trashscan_icloud.sandbox.model import content_checksum

GRACE = "grace@example.com"


def _service_class(base: str) -> type[PyiCloudService]:
    class SandboxICloudService(PyiCloudService):
        def _setup_endpoints(self) -> None:
            self._idmsa_endpoint = f"{base}/idmsa"
            self._auth_endpoint = f"{self._idmsa_endpoint}/appleauth/auth"
            self._home_endpoint = f"{base}/home"
            self._setup_endpoint = f"{base}/setup/ws/1"

    return SandboxICloudService


@pytest.fixture
def fake(
    server: FakeServer, ca_bundle: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> ICloudFake:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setattr(pyicloud.base, "PCS_SLEEP_TIME", 0)
    icloud = ICloudFake()
    icloud.seed(tmp_path / "icloud", datetime.now(UTC), server=server, ca_bundle=ca_bundle)
    return icloud


@pytest.fixture
def api(fake: ICloudFake, tmp_path: Path) -> PyiCloudService:
    cls = _service_class(fake.server.base_url)  # type: ignore[union-attr]
    password = fake.state.accounts["grace"].password
    return cls(GRACE, password, cookie_directory=str(tmp_path / "browser"))


def _deleted(api: PyiCloudService) -> list[Any]:
    return list(api.photos.albums["Recently Deleted"])


def test_every_recently_deleted_asset_has_a_real_jpeg_thumbnail(api: PyiCloudService) -> None:
    assets = _deleted(api)
    assert len(assets) == 25
    for asset in assets:
        version = "thumb_image" if asset.item_type == "movie" else "thumb"
        declared = asset.versions[version]
        data = asset.download(version)
        assert data is not None and len(data) == declared["size"]
        image = picture(data)
        assert image.format == "JPEG"
        assert image.size == (declared["width"], declared["height"])
        assert image.size in {(360, 270), (270, 360)}


def test_originals_download_as_their_declared_size_and_checksum(
    fake: ICloudFake, api: PyiCloudService
) -> None:
    kinds = set()
    for asset in _deleted(api):
        data = asset.download()
        assert data is not None and len(data) == asset.size
        fields = asset._master_record.fields  # the record pyicloud parsed
        checksum = fields.get_value("resOriginalRes").fileChecksum
        assert checksum == content_checksum(data)  # the fake's checksum of the bytes served
        if asset.item_type == "movie":
            assert data[4:8] == b"ftyp"
            kinds.add("movie")
        else:
            image = picture(data)  # HEIC names carry a JPEG body in the fake
            kinds.add((image.width > image.height) == (asset.dimensions[0] > asset.dimensions[1]))
    assert kinds == {"movie", True}  # pictures keep the asset's orientation


def test_bulk_assets_serve_pictures_padded_to_their_declared_sizes(
    fake: ICloudFake, api: PyiCloudService
) -> None:
    fake.bulk_deleted("grace", 3, datetime.now(UTC))
    bulk = [a for a in _deleted(api) if a.filename.startswith("IMG_1000")]
    assert bulk
    for asset in bulk:
        version = "thumb_image" if asset.item_type == "movie" else "thumb"
        thumb = asset.download(version)
        assert thumb is not None and len(thumb) == asset.versions[version]["size"]
        assert picture(thumb).format == "JPEG"
        original = asset.download()
        assert original is not None and len(original) == asset.size
