"""The iCloud fake, driven by the real ``pyicloud`` client over HTTPS with the sandbox CA.

pyicloud hard-codes Apple's hosts, so :func:`service_class` subclasses ``PyiCloudService`` and
overrides ``_setup_endpoints`` to the sandbox's layout (``{base}/idmsa``, ``{base}/home``,
``{base}/setup/ws/1``); every other URL comes from the fake's ``accountLogin`` answer. TLS trust
goes through ``REQUESTS_CA_BUNDLE`` because requests lets that variable override the client's
``verify`` (icloud.md §5.2). Each test gets its own cookie directory, i.e. its own "browser".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyicloud.base
import pytest
from pyicloud import PyiCloudService
from pyicloud.common.cloudkit import (
    CKModifyOperation,
    CKRecord,
    CKWriteRecord,
    CKZoneID,
    CKZoneIDReq,
)
from pyicloud.exceptions import (
    PyiCloudAPIResponseException,
    PyiCloudFailedLoginException,
    PyiCloudServiceUnavailable,
)
from pyicloud.services.photos import DirectionEnum, ListTypeEnum, PhotoAsset
from pyicloud.services.photos_cloudkit.queries import list_query

from trashscan.sandbox.server import FakeServer
from trashscan_icloud.sandbox.fake import ICloudFake

GRACE = "grace@example.com"
AUTH = "/idmsa/appleauth/auth"
SETUP = "/setup/ws/1"
CK_PHOTOS = "/ck/database/1/com.apple.photos.cloud/production/private"


def service_class(base: str) -> type[PyiCloudService]:
    """``PyiCloudService`` with Apple's three hard-coded roots redirected to the sandbox."""

    class SandboxICloudService(PyiCloudService):
        def _setup_endpoints(self) -> None:
            self._idmsa_endpoint = f"{base}/idmsa"
            self._auth_endpoint = f"{self._idmsa_endpoint}/appleauth/auth"
            self._home_endpoint = f"{base}/home"
            self._setup_endpoint = f"{base}/setup/ws/1"

    return SandboxICloudService


@pytest.fixture
def now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


@pytest.fixture
def fake(
    server: FakeServer,
    ca_bundle: Path,
    now: datetime,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> ICloudFake:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(ca_bundle))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    monkeypatch.setattr(pyicloud.base, "PCS_SLEEP_TIME", 0)  # ADP polling, 5 s per try
    icloud = ICloudFake()
    icloud.seed(tmp_path / "icloud", now, server=server, ca_bundle=ca_bundle)
    return icloud


@pytest.fixture
def login(fake: ICloudFake, tmp_path: Path) -> Callable[..., PyiCloudService]:
    """Sign in like the plugin would: a persistent cookie dir per "browser"."""
    cls = service_class(fake.server.base_url)  # type: ignore[union-attr]
    password = fake.state.accounts["grace"].password

    def sign_in(
        browser: str = "browser", apple_id: str = GRACE, password: str = password
    ) -> PyiCloudService:
        return cls(apple_id, password, cookie_directory=str(tmp_path / browser))

    return sign_in


def mark(fake: ICloudFake) -> int:
    assert fake.server is not None
    return len(fake.server.request_log)


def calls(fake: ICloudFake, since: int = 0) -> list[tuple[str, str, int | None]]:
    assert fake.server is not None
    return [(r.method, r.path, r.status) for r in fake.server.request_log[since:]]


def session_file(tmp_path: Path, browser: str = "browser") -> dict[str, Any]:
    """pyicloud's session file: ``<apple id without non-word characters>.session``."""
    return json.loads((tmp_path / browser / "graceexamplecom.session").read_text())


def recently_deleted(api: PyiCloudService) -> Any:
    return api.photos.albums["Recently Deleted"]


def restore_op(asset: PhotoAsset, tag: str | None = None) -> CKModifyOperation:
    """The un-delete icloud.md §2 proposes: the mirror of the captured delete."""
    zone = asset.asset_record.zoneID
    assert zone is not None
    return CKModifyOperation(
        operationType="update",
        record=CKWriteRecord(
            recordName=asset.id,
            recordType="CPLAsset",
            recordChangeTag=tag or asset.asset_record.recordChangeTag,
            fields={"isDeleted": {"type": "INT64", "value": 0}},
            zoneID=CKZoneID(**zone.model_dump(exclude_none=True)),
        ),
    )


def modify(api: PyiCloudService, asset: PhotoAsset, *ops: CKModifyOperation) -> Any:
    zone = asset.asset_record.zoneID
    assert zone is not None
    return api.photos.private_client.modify(
        operations=list(ops),
        zone_id=CKZoneIDReq(**zone.model_dump(exclude_none=True)),
        atomic=True,
    )


# -- seed -----------------------------------------------------------------------------------------


def test_seed_returns_grace_table_and_counts(fake: ICloudFake, ca_bundle: Path) -> None:
    table = fake.account_table("grace", ca_bundle)
    assert table == {
        "name": "grace",
        "provider": "icloud",
        "endpoint": fake.server.base_url + "/",  # type: ignore[union-attr]
        "ca_bundle": str(ca_bundle),
        "apple_id": GRACE,
        "secrets": {"password": fake.state.accounts["grace"].password},
    }
    manifest = fake.manifest["grace"]
    assert len(manifest.deleted_assets) == 25
    assert len(manifest.live_assets) == 8
    assert len(manifest.drive_trash) == 4
    deleted = fake.deleted_assets("grace")
    assert {a.asset_id for a in deleted} == set(manifest.deleted_assets)
    assert sum(a.kind == "movie" for a in deleted) == 7
    assert sum(a.is_live_photo for a in deleted) == 4
    assert len({a.filename for a in deleted}) == 24  # one re-imported duplicate name
    ages = [a.deleted_at for a in deleted]
    assert all(timedelta(0) < fake.clock() - at < timedelta(days=30) for at in ages)


# -- sign-in --------------------------------------------------------------------------------------


def test_first_login_of_trusted_device_needs_only_the_password(
    fake: ICloudFake, login: Callable[..., PyiCloudService], tmp_path: Path
) -> None:
    api = login()
    assert not api.requires_2fa
    assert api.is_trusted_session
    assert api.data["dsInfo"]["hsaVersion"] == 2
    assert [(m, p) for m, p, _ in calls(fake)] == [
        ("GET", AUTH + "/authorize/signin"),
        ("POST", AUTH + "/signin/init"),
        ("POST", AUTH + "/signin/complete"),
        ("POST", SETUP + "/accountLogin"),
    ]
    stored = session_file(tmp_path)
    assert fake.state.accounts["grace"].trust_valid(stored["trust_token"], fake.clock())
    assert stored["session_token"] and stored["account_country"] == "USA"
    assert api.session.cookies.get("X-APPLE-WEBAUTH-TOKEN")


def test_wrong_password_is_a_failed_login(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    with pytest.raises(PyiCloudFailedLoginException):
        login(password="not-her-password")
    assert ("POST", AUTH + "/signin/complete", 401) in calls(fake)
    assert fake.state.accounts["grace"].trust_on_first_login  # not consumed by a failure
    with pytest.raises(PyiCloudFailedLoginException):
        login(apple_id="nobody@example.com")


def test_two_factor_flow(
    fake: ICloudFake, login: Callable[..., PyiCloudService], tmp_path: Path
) -> None:
    fake.require_2fa("grace")
    api = login()
    assert api.requires_2fa
    assert ("POST", AUTH + "/signin/complete", 409) in calls(fake)
    assert "trust_token" not in session_file(tmp_path)
    code = fake.two_factor_code("grace")
    wrong = "000000" if code != "000000" else "111111"
    assert api.validate_2fa_code(wrong) is False
    since = mark(fake)
    assert api.validate_2fa_code(code) is True
    assert [(m, p, s) for m, p, s in calls(fake, since)] == [
        ("POST", AUTH + "/verify/trusteddevice/securitycode", 204),
        ("GET", AUTH + "/2sv/trust", 204),
        ("POST", SETUP + "/accountLogin", 200),
    ]
    assert not api.requires_2fa and api.is_trusted_session
    token = session_file(tmp_path)["trust_token"]
    assert fake.state.accounts["grace"].trust_valid(token, fake.clock())
    assert len(recently_deleted(api)) == 25


def test_cached_session_only_validates(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    login()
    since = mark(fake)
    again = login()
    assert calls(fake, since) == [("POST", SETUP + "/validate", 200)]
    assert again.is_trusted_session and not again.requires_2fa


def test_expired_session_needs_only_the_password_while_trusted(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    login()
    assert fake.expire_session("grace") == 2
    since = mark(fake)
    api = login()
    assert not api.requires_2fa
    assert calls(fake, since) == [
        ("POST", SETUP + "/validate", 421),
        ("POST", SETUP + "/accountLogin", 421),
        ("GET", AUTH + "/authorize/signin", 200),
        ("POST", AUTH + "/signin/init", 200),
        ("POST", AUTH + "/signin/complete", 200),
        ("POST", SETUP + "/accountLogin", 200),
    ]


def test_expired_trust_requires_2fa_again(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    login()
    fake.expire_trust("grace")
    api = login()
    assert api.requires_2fa
    assert api.validate_2fa_code(fake.two_factor_code("grace"))
    assert not login().requires_2fa  # the new trust token carries the next run


def test_trust_lifetime_runs_out_on_the_clock(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    login()
    fake.expire_session("grace")
    start = fake.clock()
    fake.clock = lambda: start + timedelta(days=61)
    assert login().requires_2fa


def test_issued_trust_token_skips_2fa(
    fake: ICloudFake, login: Callable[..., PyiCloudService], tmp_path: Path
) -> None:
    fake.require_2fa("grace")
    browser = tmp_path / "seeded"
    browser.mkdir()
    (browser / "graceexamplecom.session").write_text(
        json.dumps({"trust_token": fake.trust_token("grace")})
    )
    api = login("seeded")
    assert not api.requires_2fa and api.is_trusted_session


# -- Photos: Recently Deleted ----------------------------------------------------------------------


def test_recently_deleted_lists_every_asset_with_its_purge_date(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    album = recently_deleted(api)
    assert len(album) == 25
    assets = list(album)
    expected = fake.deleted_assets("grace")
    assert [a.id for a in assets] == [e.asset_id for e in expected]  # soonest purge first
    for asset, model in zip(assets, expected, strict=True):
        assert asset.master_id == model.master_id
        assert asset.filename == model.filename
        assert asset.size == model.size
        assert asset.dimensions == (model.width, model.height)
        assert asset.item_type == model.kind
        assert asset.is_live_photo == model.is_live_photo
        assert model.deleted_at is not None
        fields = asset.asset_record.fields
        assert fields.get_value("isDeleted") == 1
        expunged = fields.get_value("dateExpunged")
        assert abs(expunged - (model.deleted_at + timedelta(days=30))) < timedelta(seconds=1)
        expiry = asset.asset_record.expirationTime
        assert abs(expiry - (model.deleted_at + timedelta(days=40))) < timedelta(seconds=1)
        assert abs(asset.asset_date - model.asset_date) < timedelta(seconds=1)
    dates = [a.asset_record.fields.get_value("dateExpunged") for a in assets]
    assert dates == sorted(dates)
    assert api.photos.all.__len__() == 8


def test_downloads_serve_the_declared_bytes(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    photo = next(a for a in recently_deleted(api) if a.filename.endswith(".JPG"))
    data = photo.download()
    assert data is not None and len(data) == photo.size and data.startswith(b"\xff\xd8\xff")
    thumb = photo.download("thumb")
    assert thumb is not None and len(thumb) == photo.versions["thumb"]["size"]


def test_recently_deleted_pages_by_start_rank(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    fake.bulk_deleted("grace", 230)
    api = login()
    album = recently_deleted(api)
    since = mark(fake)
    ids = [asset.id for asset in album]
    assert len(ids) == len(set(ids)) == 255
    assert ids == [a.asset_id for a in fake.deleted_assets("grace")]
    queries = [c for c in calls(fake, since) if c[1] == CK_PHOTOS + "/records/query"]
    assert len(queries) == 4  # 100 + 100 + 55 pairs, then an empty page ends it
    client = api.photos.private_client
    query = list_query(
        list_type=ListTypeEnum.DELETED, direction=DirectionEnum.DESCENDING, offset=254
    )
    page = client.query(query=query, zone_id=CKZoneIDReq(zoneName="PrimarySync"), results_limit=4)
    names = [r.recordName for r in page.records if r.recordType == "CPLAsset"]
    assert names == [ids[254], ids[253]]
    assert page.syncToken


# -- Photos: restore ------------------------------------------------------------------------------


def test_undelete_with_current_tag_leaves_recently_deleted(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    asset = next(iter(recently_deleted(api)))
    old_tag = asset.asset_record.recordChangeTag
    response = modify(api, asset, restore_op(asset))
    (record,) = response.records
    assert isinstance(record, CKRecord)
    assert record.recordName == asset.id
    assert record.fields.get_value("isDeleted") == 0
    assert record.recordChangeTag and record.recordChangeTag != old_tag
    assert record.expirationTime is None
    assert not fake.find_asset("grace", asset.id).is_deleted
    assert asset.id not in [a.id for a in recently_deleted(api)]
    assert len(recently_deleted(api)) == 24
    assert api.photos.all.get(asset.id) is not None
    looked_up = api.photos.private_client.lookup(
        record_names=[asset.id], zone_id=CKZoneIDReq(zoneName="PrimarySync")
    )
    assert looked_up.records[0].fields.get_value("isDeleted") == 0  # type: ignore[union-attr]
    assert [entry.outcomes for entry in fake.modify_log] == [["OK"]]
    assert fake.refused_calls == []


def test_undelete_with_stale_tag_is_a_conflict(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    first, second = list(recently_deleted(api))[:2]
    fake.touch_asset("grace", first.id)  # edited on another device since the listing
    with pytest.raises(PyiCloudAPIResponseException, match="CONFLICT"):
        modify(api, first, restore_op(first))
    assert fake.find_asset("grace", first.id).is_deleted
    with pytest.raises(PyiCloudAPIResponseException, match="ATOMIC_ERROR"):
        modify(api, first, restore_op(first), restore_op(second))
    assert fake.find_asset("grace", second.id).is_deleted  # atomic: nothing was written
    assert [entry.outcomes for entry in fake.modify_log] == [
        ["CONFLICT"],
        ["CONFLICT", "ATOMIC_ERROR"],
    ]
    fresh = recently_deleted(api).get(first.id)
    assert fresh is not None
    modify(api, fresh, restore_op(fresh))  # re-read, retry: works
    assert not fake.find_asset("grace", first.id).is_deleted


def test_undelete_of_purged_asset_is_not_found(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    asset = next(iter(recently_deleted(api)))
    fake.expunge("grace", asset.id)
    with pytest.raises(PyiCloudAPIResponseException, match="NOT_FOUND"):
        modify(api, asset, restore_op(asset))


def test_assets_disappear_at_their_purge_date(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    soonest = fake.deleted_assets("grace")[0]
    assert soonest.date_expunged is not None
    fake.clock = lambda: soonest.date_expunged + timedelta(seconds=1)  # type: ignore[operator]
    ids = [a.id for a in recently_deleted(api)]
    assert len(ids) == 24 and soonest.asset_id not in ids


def test_destructive_photo_writes_are_refused(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    live = api.photos.all.photos.__next__()
    with pytest.raises(PyiCloudAPIResponseException):
        live.delete()  # isDeleted: 1
    deleted = next(iter(recently_deleted(api)))
    zone = CKZoneID(zoneName="PrimarySync")
    expunge = CKModifyOperation(
        operationType="update",
        record=CKWriteRecord(
            recordName=deleted.id,
            recordType="CPLAsset",
            recordChangeTag=deleted.asset_record.recordChangeTag,
            fields={"isExpunged": {"type": "INT64", "value": 1}},
            zoneID=zone,
        ),
    )
    remove = CKModifyOperation(
        operationType="forceDelete",
        record=CKWriteRecord(recordName=deleted.id, recordType="CPLAsset", zoneID=zone),
    )
    for op in (expunge, remove):
        with pytest.raises(PyiCloudAPIResponseException):
            modify(api, deleted, op)
    assert [call.route for call in fake.refused_calls] == ["private/records/modify"] * 3
    assert "isDeleted: 1" in fake.refused_calls[0].reason
    assert "isExpunged" in fake.refused_calls[1].reason
    assert "forceDelete" in fake.refused_calls[2].reason
    assert not fake.find_asset("grace", live.id).is_deleted
    assert fake.find_asset("grace", deleted.id).is_deleted
    assert fake.modify_log == []


def test_indexing_not_finished_makes_photos_unavailable(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    fake.set_indexing_state("grace")
    api = login()
    with pytest.raises(PyiCloudServiceUnavailable):
        _ = api.photos


# -- iCloud Drive ---------------------------------------------------------------------------------


def test_drive_trash_lists_items_with_restore_path_and_expiry(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    nodes = {node.name: node for node in api.drive.trash.get_children()}
    assert set(nodes) == {"IMG_0420.JPG", "IMG_0533.HEIC", "beach.mov", "Tax return 2023.pdf"}
    beach = nodes["beach.mov"].data
    assert beach["restorePath"] == "Videos/beach.mov"
    assert beach["parentId"] == "TRASH_ROOT"
    assert beach["drivewsid"] == "FILE::com.apple.CloudDocs::" + beach["docwsid"]
    assert beach["size"] == 48_200_331 and beach["etag"] and beach["extension"] == "mov"
    changed = datetime.strptime(beach["dateChanged"], "%Y-%m-%dT%H:%M:%SZ")
    expires = datetime.strptime(beach["dateExpiration"], "%Y-%m-%dT%H:%M:%SZ")
    assert expires - changed == timedelta(days=30)
    assert nodes["beach.mov"].date_changed == changed


def test_drive_recover_puts_the_item_back(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    node = next(n for n in api.drive.trash.get_children() if n.name == "IMG_0533.HEIC")
    answer = node.recover()
    (item,) = answer["items"]
    assert item["status"] == "OK" and item["etag"] != node.data["etag"]
    camera = api.drive["Camera Uploads"]
    assert item["parentId"] == camera.data["drivewsid"]
    assert "IMG_0533.HEIC" in camera.dir()
    api.drive.refresh_trash()
    assert len(api.drive.trash.get_children()) == 3
    assert fake.drive_restores[-1].status == "OK"
    assert fake.drive_restores[-1].restored_as == "Camera Uploads/IMG_0533.HEIC"


def test_drive_recover_onto_a_taken_path(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    taken = fake.manifest["grace"].taken_restore_path
    assert taken is not None
    fake.drive_restore_conflict = "error"
    node = next(n for n in api.drive.trash.get_children() if n.data["drivewsid"] == taken)
    assert node.recover()["items"][0]["status"] == "NAME_CONFLICT"
    assert taken in [item.drivewsid for item in fake.drive_trash("grace")]
    fake.drive_restore_conflict = "rename"
    (item,) = node.recover()["items"]
    assert item["status"] == "OK" and item["name"] == "IMG_0420 2"
    assert fake.drive_path("grace", taken) == "Camera Uploads/IMG_0420 2.JPG"
    assert sorted(api.drive["Camera Uploads"].dir()) == [
        "IMG_0420 2.JPG",
        "IMG_0420.JPG",
        "IMG_0500.JPG",
    ]


def test_drive_recover_with_stale_etag(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    node = api.drive.trash.get_children()[0]
    answer = api.drive.recover_items_from_trash(node.data["drivewsid"], "stale::etag")
    assert answer["items"][0]["status"] == "ETAG_CONFLICT"
    assert len(fake.drive_trash("grace")) == 4


def test_destructive_drive_calls_are_refused(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    trashed = api.drive.trash.get_children()[0]
    with pytest.raises(PyiCloudAPIResponseException):
        trashed.delete_forever()
    live = api.drive["Documents"]["notes.txt"]
    with pytest.raises(PyiCloudAPIResponseException):
        live.move_to_trash()
    with pytest.raises(PyiCloudAPIResponseException):
        live.delete()
    assert [call.route for call in fake.refused_calls] == [
        "deleteItems",
        "moveItemsToTrash",
        "deleteItems",
    ]
    assert len(fake.drive_trash("grace")) == 4
    assert "notes.txt" in api.drive["Documents"].dir()


def test_drive_download(fake: ICloudFake, login: Callable[..., PyiCloudService]) -> None:
    api = login()
    notes = api.drive["Documents"]["notes.txt"]
    assert len(notes.open().content) == notes.data["size"] == 4_211


# -- Advanced Data Protection ---------------------------------------------------------------------


def test_adp_blocks_unattended_access(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    fake.enable_adp("grace")
    api = login()
    with pytest.raises(PyiCloudAPIResponseException, match="Unable to request PCS access"):
        _ = api.photos
    assert fake.state.accounts["grace"].consent_requests == 1
    with pytest.raises(PyiCloudAPIResponseException) as denied:
        api.session.post(fake.server.base_url + CK_PHOTOS + "/zones/list", json={})  # type: ignore[union-attr]
    assert denied.value.code == 403
    assert denied.value.response is not None
    assert denied.value.response.json()["serverErrorCode"] == "ACCESS_DENIED"
    with pytest.raises(PyiCloudAPIResponseException) as locked:
        api.session.post(
            fake.server.base_url + "/drivews/retrieveItemDetailsInFolders",  # type: ignore[union-attr]
            json=[{"drivewsid": "FOLDER::com.apple.CloudDocs::TRASH_ROOT", "partialData": False}],
        )
    assert locked.value.code == 423


def test_adp_after_device_approval(fake: ICloudFake, login: Callable[..., PyiCloudService]) -> None:
    fake.enable_adp("grace")
    api = login()
    state = api.session.post(api._setup_endpoint + "/requestWebAccessState").json()
    assert state["isICDRSDisabled"] is True and state["isDeviceConsentedForPCS"] is False
    fake.approve_web_access("grace")
    since = mark(fake)
    photos = api.photos
    pcs = [c for c in calls(fake, since) if c[1] == SETUP + "/requestPCS"]
    assert len(pcs) == 2  # "Requested the device to upload cookies.", then success
    assert len(photos.albums["Recently Deleted"]) == 25
    assert len(api.drive.trash.get_children()) == 4


def test_adp_with_a_device_that_approves_at_once(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    fake.enable_adp("grace", device_approves=True)
    api = login()
    assert len(recently_deleted(api)) == 25


def test_web_access_off_denies_data(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    fake.disable_web_access("grace")
    api = login()
    assert api.data["dsInfo"]["isWebAccessAllowed"] is False
    with pytest.raises(PyiCloudServiceUnavailable):
        _ = api.photos


# -- throttling -----------------------------------------------------------------------------------


def test_rate_limit_with_retry_after(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    album = recently_deleted(api)
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(ICloudFake.http_fault(retry_after=7), path="/records/query")
    with pytest.raises(PyiCloudAPIResponseException) as throttled:
        list(album)
    assert throttled.value.code == 429
    assert throttled.value.response is not None
    assert throttled.value.response.headers["Retry-After"] == "7"
    assert throttled.value.response.json()["serverErrorCode"] == "THROTTLED"
    assert fake.server.faults.pending() == 0
    assert len(list(album)) == 25  # the next try goes through
    fake.server.faults.add(ICloudFake.http_fault(503, 3, service="drivews"), path="/drivews/")
    with pytest.raises(PyiCloudAPIResponseException) as busy:
        api.drive.trash.get_children()
    assert busy.value.code == 503


# -- logout and the demo step ---------------------------------------------------------------------


def test_logout_without_keeping_trust_means_2fa_next_time(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    api = login()
    result = api.logout(keep_trusted=False)
    assert result["remote_logout_confirmed"] is True
    assert fake.state.accounts["grace"].trust_tokens == {}
    assert login().requires_2fa


def test_between_scans_deletes_more(
    fake: ICloudFake, login: Callable[..., PyiCloudService]
) -> None:
    fake.between_scans()
    fake.between_scans()  # once only
    api = login()
    assert len(recently_deleted(api)) == 27
    assert len(api.drive.trash.get_children()) == 5
