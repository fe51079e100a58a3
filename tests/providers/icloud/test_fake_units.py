"""Pieces of the iCloud fake checked without (or with little) HTTP: SRP maths, wire helpers,
paging, seeding and bulk data, the sandbox session, and the answers pyicloud never asks for."""

from __future__ import annotations

import base64
import json
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import srp
from pyicloud.srp_password import SrpPassword, SrpProtocolType

from trashscan.sandbox.server import FakeServer, Request, Router
from trashscan.sandbox.session import Sandbox
from trashscan.sandbox.tls import SandboxCA
from trashscan_icloud.sandbox.auth import make_verifier, srp_enable
from trashscan_icloud.sandbox.cloudkit import PhotosCloudKit
from trashscan_icloud.sandbox.fake import ICloudFake
from trashscan_icloud.sandbox.model import ContentStore, PhotoLibrary
from trashscan_icloud.sandbox.wire import cookie_headers, request_cookies

from .test_fake import service_class

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


# -- SRP ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["s2k", "s2k_fo"])
def test_verifier_matches_pyicloud_client(protocol: str) -> None:
    """The stored verifier authenticates pyicloud's own SRP client (srp_password.py)."""
    srp_enable()
    salt, iterations = b"0123456789abcdef", 1000

    def exchange(stored_password: str) -> bool:
        password = SrpPassword("hunter2")
        user = srp.User("a@example.com", password, hash_alg=srp.SHA256, ng_type=srp.NG_2048)
        name, big_a = user.start_authentication()
        v = make_verifier(stored_password, salt, iterations, protocol)
        verifier = srp.Verifier(name, salt, v, big_a, hash_alg=srp.SHA256, ng_type=srp.NG_2048)
        _s, big_b = verifier.get_challenge()
        password.set_encrypt_info(salt, iterations, 32, SrpProtocolType(protocol))
        m1 = user.process_challenge(salt, big_b)
        hamk = verifier.verify_session(m1)
        return hamk is not None and hamk == user.H_AMK

    assert exchange("hunter2")
    assert not exchange("hunter3")


# -- wire -----------------------------------------------------------------------------------------


def test_cookie_headers_use_distinct_header_names() -> None:
    headers = cookie_headers([(f"C{i}", f'"v={i}"') for i in range(6)])
    assert len(headers) == 6 and len({name.lower() for name in headers}) == 1
    assert all(value.endswith("; Path=/; Secure; HttpOnly") for value in headers.values())


def test_request_cookies_strip_quotes() -> None:
    from email.message import Message

    message = Message()
    message["Cookie"] = 'X-APPLE-WEBAUTH-TOKEN="v=2:t=AQ==BST_x"; other=1'
    request = Request("POST", "/", {}, message)
    assert request_cookies(request) == {"X-APPLE-WEBAUTH-TOKEN": "v=2:t=AQ==BST_x", "other": "1"}


def test_http_fault_shapes() -> None:
    ck = ICloudFake.http_fault(retry_after=9)
    assert ck.status == 429 and ck.headers["Retry-After"] == "9"
    body = json.loads(ck.body)
    assert body["serverErrorCode"] == "THROTTLED" and body["retryAfter"] == 9
    drive = json.loads(ICloudFake.http_fault(service="drivews").body)
    assert drive["errorCode"] == 429 and "errorReason" in drive
    assert json.loads(ICloudFake.http_fault(service="setup").body)["success"] is False
    assert "serviceErrors" in json.loads(ICloudFake.http_fault(service="idmsa").body)
    with pytest.raises(ValueError):
        ICloudFake.http_fault(service="mail")


def test_content_store_serves_declared_size_with_magic() -> None:
    store = ContentStore()
    store.register("tok", 5000, "IMG_1.HEIC")
    data = store.get("tok")
    assert data is not None and len(data) == 5000 and data[4:12] == b"ftypheic"
    assert store.get("nope") is None


# -- paging ---------------------------------------------------------------------------------------


def _library(n: int) -> PhotoLibrary:
    library = PhotoLibrary(owner_record_name="_owner")
    for i in range(n):
        asset = library.new_asset(
            f"IMG_{i}.HEIC",
            "public.heic",
            size=1,
            width=1,
            height=1,
            asset_date=NOW - timedelta(days=i),
            added_date=NOW,
        )
        library.mark_deleted(asset, NOW - timedelta(hours=i))
    return library


def test_pages_follow_start_rank_in_both_directions() -> None:
    assets = _library(7).index("deleted")
    page = PhotosCloudKit._page
    assert page(assets, {"startRank": 0}, 4) == assets[0:2]
    assert page(assets, {"startRank": 5}, 200) == assets[5:7]
    assert page(assets, {"startRank": 6, "direction": "DESCENDING"}, 6) == assets[4:7][::-1]
    assert page(assets, {"startRank": 1, "direction": "DESCENDING"}, 200) == [assets[1], assets[0]]
    assert page(assets, {"startRank": 7}, 200) == []
    assert page(assets, {"startRank": 0}, 1) == assets[0:1]  # at least one pair
    assert len(page(_library(150).index("deleted"), {"startRank": 0}, 1000)) == 100


def test_deleted_index_orders_by_purge_date() -> None:
    assets = _library(5).index("deleted")
    expunged = [a.date_expunged for a in assets]
    assert expunged == sorted(expunged)
    assert all(a.expiration_time - a.deleted_at == timedelta(days=40) for a in assets)  # type: ignore[operator]


# -- seeding and bulk -----------------------------------------------------------------------------


@pytest.fixture
def attached(tmp_path: Path) -> Any:
    ca = SandboxCA()
    bundle = ca.write_ca_bundle(tmp_path / "ca.pem")
    with FakeServer(Router(), tls=ca.issue_server_context()) as server:
        fake = ICloudFake()
        fake.seed(tmp_path / "w", NOW, server=server, ca_bundle=bundle)
        yield fake, bundle


def test_bulk_deleted_5000_is_quick(attached: Any) -> None:
    fake, _bundle = attached
    fake.clock = lambda: NOW
    start = time.perf_counter()
    ids = fake.bulk_deleted("grace", 5000, NOW)
    assert time.perf_counter() - start < 3.0
    assert len(set(ids)) == 5000
    deleted = fake.deleted_assets("grace")
    assert len(deleted) == 5025
    assert all(NOW - a.deleted_at < timedelta(days=30) for a in deleted)  # type: ignore[operator]


def test_seeded_drive_layout(attached: Any) -> None:
    fake, _bundle = attached
    assert sorted(i.restore_path or "" for i in fake.drive_trash("grace")) == [
        "Camera Uploads/IMG_0420.JPG",
        "Camera Uploads/IMG_0533.HEIC",
        "Documents/Tax return 2023.pdf",
        "Videos/beach.mov",
    ]
    tree = fake.state.accounts["grace"].drive
    camera = tree.folder_at("Camera Uploads", NOW, create=False)
    assert camera is not None
    taken = tree.child_named(camera, "IMG_0420.JPG")
    assert taken is not None and not taken.in_trash
    assert fake.manifest["grace"].taken_restore_path in [i.drivewsid for i in tree.trash()]


def _post(fake: ICloudFake, bundle: Path, path: str, body: Any, cookies: dict[str, str]) -> Any:
    """A bare request (an explicit ``verify`` path is not overridden by REQUESTS_CA_BUNDLE)."""
    assert fake.server is not None
    return requests.post(
        fake.server.base_url + path,
        data=json.dumps(body),
        verify=str(bundle),
        cookies=cookies,
        timeout=10,
    )


def test_sessions_are_required(attached: Any) -> None:
    fake, bundle = attached
    assert _post(fake, bundle, "/setup/ws/1/validate", None, {}).status_code == 421
    bad = _post(fake, bundle, "/setup/ws/1/accountLogin", {"dsWebAuthToken": "x"}, {})
    assert bad.status_code == 421
    ck = "/ck/database/1/com.apple.photos.cloud/production/private/zones/list"
    assert _post(fake, bundle, ck, {}, {}).json()["serverErrorCode"] == "AUTHENTICATION_REQUIRED"
    forged = _post(fake, bundle, ck, {}, {"X-APPLE-WEBAUTH-TOKEN": "forged"})
    assert forged.status_code == 401
    assert _post(fake, bundle, "/drivews/retrieveItemDetailsInFolders", [], {}).status_code == 401


def test_unmodelled_calls_are_recorded(
    attached: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, bundle = attached
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    api = service_class(fake.server.base_url)(
        "grace@example.com",
        fake.state.accounts["grace"].password,
        cookie_directory=str(tmp_path / "c"),
    )
    client = api.photos.private_client
    with pytest.raises(Exception, match=r"BAD_REQUEST|400"):
        client._client.raw_post(
            "/records/query",
            {"query": {"recordType": "Unheard"}, "zoneID": {"zoneName": "PrimarySync"}},
        )
    with pytest.raises(Exception, match=r"ZONE_NOT_FOUND|404"):
        client._client.raw_post(
            "/records/query",
            {"query": {"recordType": "CheckIndexingState"}, "zoneID": {"zoneName": "Elsewhere"}},
        )
    with pytest.raises(Exception, match="400"):
        api.drive.rename_items("FILE::com.apple.CloudDocs::x", "1", "new")
    assert [call.route for call in fake.unmodelled_calls] == [
        "private/records/query",
        "renameItems",
    ]
    assert fake.refused_calls == []


def test_non_2fa_account_with_s2k_fo(
    attached: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    fake, bundle = attached
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    account = fake.add_account("henry", two_factor=False, protocol="s2k_fo", iterations=1500)
    api = service_class(fake.server.base_url)(
        account.apple_id, account.password, cookie_directory=str(tmp_path / "h")
    )
    assert not api.requires_2fa and api.is_trusted_session
    assert len(api.photos.albums["Recently Deleted"]) == 0
    assert api.drive.trash.get_children() == []


def test_sandbox_session_seeds_grace(tmp_path: Path) -> None:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"icloud"})) as sandbox:
        assert sandbox.broken == {}
        (table,) = sandbox.accounts
        assert table["name"] == "grace" and table["apple_id"] == "grace@example.com"
        assert table["endpoint"] == sandbox.servers["icloud"].base_url + "/"
        assert "secrets" not in table
        stored = json.loads((tmp_path / "sandbox" / "sandbox-secrets.json").read_text())
        assert "grace-sandbox-Pa55word" in json.dumps(stored)
        fake = sandbox.fakes["icloud"]
        assert isinstance(fake, ICloudFake) and len(fake.deleted_assets("grace")) == 25


def test_b64_values_are_standard() -> None:
    """filenameEnc is standard base64 of the UTF-8 name (``photos_live_photo_response.json``)."""
    library = _library(1)
    cloudkit = PhotosCloudKit(
        {},
        None,
        lambda: NOW,
        lambda: "https://127.0.0.1:1",  # type: ignore[arg-type]
        ContentStore(),
        [],
        [],
        [],
    )
    asset = next(iter(library.assets.values()))
    master = cloudkit.master_record(library, asset)
    assert base64.b64decode(master["fields"]["filenameEnc"]["value"]) == b"IMG_0.HEIC"
    assert master["fields"]["resOriginalRes"]["type"] == "ASSETID"
    record = cloudkit.asset_record(library, asset)
    assert record["fields"]["masterRef"]["value"]["recordName"] == asset.master_id
    assert record["expirationTime"] == int((asset.deleted_at + timedelta(days=40)).timestamp())  # type: ignore[operator]
