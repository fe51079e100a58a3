"""Scanning: Photos' Recently Deleted page by page, iCloud Drive's trash, and the errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
import responses

from trashscan import pagination
from trashscan.errors import AccountError, AuthError, ProviderUnavailableError
from trashscan.models import DeletedAtSource, Kind, ScanOutcome
from trashscan.pagination import PaginationError
from trashscan_icloud import photos as photos_module

from .conftest import (
    AUTH,
    BASE_QUERY,
    DRIVEWS,
    NOW,
    PHOTOS_DB,
    PHOTOS_QUERY,
    SETUP,
    TRASH_ID,
    WEB_ACCESS_OK,
    ZONE,
    Apple,
    account,
    asset,
    deleted_query,
    drive_file,
    drive_folder_item,
    items_of,
    master,
    pair,
)

WEB_ACCESS_OFF = (
    "iCloud web access is off (Advanced Data Protection): trashscan cannot read this account; "
    "turn on 'Access iCloud Data on the Web' to use it"
)
EXPUNGED = NOW + timedelta(days=3, hours=4)


def _records(first: int, count: int) -> list[dict]:
    out: list[dict] = []
    for index in range(first, first + count):
        out.extend(pair(index, EXPUNGED + timedelta(minutes=index)))
    return out


def _signed_in_photos(apple: Apple) -> None:
    """A cached session and the Photos service: no album list (Recently Deleted is a smart
    album, built without it)."""
    apple.write_session()
    apple.validate()
    apple.photos_service()


# ------------------------------------------------------------------------------ listing


def test_cached_session_scan_lists_photos_by_start_rank_then_drive(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.deleted_page(0, _records(0, 100))
    apple.deleted_page(100, _records(100, 3))
    apple.drive_trash([drive_file("beach", "jpg"), drive_file("notes", "pdf", ident="P1")])

    pages, outcome = apple.scan()

    assert outcome == ScanOutcome(state=None, complete_listing=True)
    assert apple.calls == [
        ("POST", f"{SETUP}/validate"),  # the cached session: no SRP, no accountLogin
        ("POST", f"{SETUP}/requestWebAccessState"),  # once: Photos and Drive share it
        ("POST", f"{PHOTOS_DB}/records/query"),  # CheckIndexingState
        ("POST", f"{PHOTOS_DB}/records/query"),  # startRank 0 (no album list)
        ("POST", f"{PHOTOS_DB}/records/query"),  # startRank 100: 6 records, the last page
        ("POST", f"{DRIVEWS}/retrieveItemDetailsInFolders"),
    ]
    sent = apple.sent
    assert sent[1].query == BASE_QUERY
    assert [s.body for s in sent[3:5]] == [deleted_query(0), deleted_query(100)]
    assert all(s.query == PHOTOS_QUERY for s in sent[2:5])
    assert sent[5].body == [{"drivewsid": TRASH_ID, "partialData": False}]
    assert sent[5].query == PHOTOS_QUERY  # pyicloud shares one params dict between services

    found = items_of(pages)
    assert len(found) == 104
    photo = found["photo:A7"]
    assert photo.name == "IMG_0007.HEIC"
    assert photo.size == 2_345_678
    assert photo.kind is Kind.PHOTO
    assert photo.mime_type == "image/heic"
    expunged = EXPUNGED + timedelta(minutes=7)
    assert photo.purge_at == expunged.replace(microsecond=0)
    assert photo.purge_is_estimate is False
    assert photo.deleted_at == photo.purge_at - timedelta(days=30)
    assert photo.deleted_at_source is DeletedAtSource.API
    assert photo.restore_handle == {
        "kind": "photo",
        "record_name": "A7",
        "record_type": "CPLAsset",
        "zone": ZONE,
        "record_change_tag": "tag-1",
        "master_record_name": "M7",
        "dimensions": [4032, 3024],
        "server_expiry": (expunged + timedelta(days=10)).replace(microsecond=0).isoformat(),
    }
    beach = found["drive:FILE::com.apple.CloudDocs::C2AD01E4"]
    assert beach.name == "beach.jpg"
    assert beach.path == "Pictures/beach.jpg"
    assert "drive:FILE::com.apple.CloudDocs::P1" not in found  # not a photo or video


def test_a_server_that_ignores_start_rank_ends_the_listing(apple: Apple) -> None:
    """startRank 100 answered with the records of startRank 0 again: without a stop, the
    listing would ask for ever higher ranks and get the same page forever."""
    _signed_in_photos(apple)
    apple.deleted_page(0, _records(0, 100))
    apple.deleted_page(100, _records(0, 100))

    with pytest.raises(PaginationError) as raised:
        apple.scan()

    assert str(raised.value) == (
        "iCloud Photos' Recently Deleted listing sent the same records again after 2 page(s); "
        "stopped instead of looping"
    )
    assert apple.calls.count(("POST", f"{PHOTOS_DB}/records/query")) == 3  # 1 set-up, 2 pages


def test_a_listing_without_end_stops_at_the_page_cap(
    apple: Apple, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pagination, "MAX_PAGES", 2)
    _signed_in_photos(apple)
    apple.deleted_page(0, _records(0, 100))
    apple.deleted_page(100, _records(100, 100))

    with pytest.raises(PaginationError, match="did not end after 2 pages; stopped at that cap"):
        apple.scan()

    assert apple.calls.count(("POST", f"{PHOTOS_DB}/records/query")) == 3


def test_a_page_short_of_results_limit_ends_the_listing(apple: Apple) -> None:
    """60 assets (120 records of the 200 asked) and no continuationMarker: nothing more matches,
    so no further page is read, although pyicloud's own rule (fewer than 50) would read one."""
    _signed_in_photos(apple)
    apple.deleted_page(0, _records(0, 60))
    pages, _ = apple.scan(account(include_drive=False))
    assert len(items_of(pages)) == 60
    assert apple.calls.count(("POST", f"{PHOTOS_DB}/records/query")) == 2  # indexing, 1 page


def test_a_short_page_with_a_continuation_marker_is_not_the_last(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.query(deleted_query(0), {"records": _records(0, 60), "continuationMarker": "more"})
    apple.deleted_page(60, _records(60, 10))
    pages, _ = apple.scan(account(include_drive=False))
    assert len(items_of(pages)) == 70
    assert apple.calls.count(("POST", f"{PHOTOS_DB}/records/query")) == 3


def test_videos_and_the_soonest_purge_first_order(apple: Apple) -> None:
    _signed_in_photos(apple)
    records = [
        master("M1", "clip.MOV", uti="com.apple.quicktime-movie"),
        asset("A1", "M1", EXPUNGED),
        *pair(2, EXPUNGED + timedelta(days=1)),
    ]
    apple.deleted_page(0, records)
    pages, _ = apple.scan(account(include_drive=False))
    items = [item for page in pages for item in page.items]
    assert [i.item_id for i in items] == ["photo:A1", "photo:A2"]
    assert (items[0].kind, items[0].mime_type) == (Kind.VIDEO, "video/quicktime")


def test_pages_are_streamed_not_collected(apple: Apple, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(photos_module, "PAGE_ITEMS", 60)
    _signed_in_photos(apple)
    apple.deleted_page(0, _records(0, 100))
    apple.deleted_page(100, _records(100, 10))
    scan = apple.provider.scan(account(include_drive=False), None)
    first = next(scan)
    assert len(first.items) == 60
    assert len(apple.calls) == 4  # the second listing request has not been sent yet
    rest = list(scan)
    assert [len(page.items) for page in rest] == [50]
    assert len(apple.calls) == 5


def test_no_drive_when_include_drive_is_false(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.deleted_page(0, [])
    pages, outcome = apple.scan(account(include_drive=False))
    assert pages == []
    assert outcome.complete_listing
    assert all("drivews" not in url for _, url in apple.calls)


def test_drive_dates_and_what_is_listed(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.deleted_page(0, [])
    no_change = drive_file("clip", "MOV", ident="V1", changed="")
    no_path = drive_file("old", "png", ident="N1", restore_path="")
    offset = drive_file(
        "sunset", "heic", ident="S1", changed="2026-11-12T02:17:55-07:00",
        expires="2026-12-12T09:17:55Z",
    )  # fmt: skip
    apple.drive_trash([no_change, no_path, offset, drive_folder_item("Holiday")])
    pages, _ = apple.scan()
    found = items_of(pages)
    assert set(found) == {
        "drive:FILE::com.apple.CloudDocs::V1",
        "drive:FILE::com.apple.CloudDocs::N1",
        "drive:FILE::com.apple.CloudDocs::S1",
    }
    clip = found["drive:FILE::com.apple.CloudDocs::V1"]
    assert clip.purge_at is not None and clip.purge_at.isoformat() == "2026-12-12T02:17:55+00:00"
    assert clip.purge_is_estimate is False
    assert clip.deleted_at == clip.purge_at - timedelta(days=30)
    assert clip.deleted_at_source is DeletedAtSource.OBSERVED  # derived: shown as an estimate
    sunset = found["drive:FILE::com.apple.CloudDocs::S1"]
    assert sunset.deleted_at is not None
    assert sunset.deleted_at.isoformat() == "2026-11-12T09:17:55+00:00"
    assert sunset.deleted_at_source is DeletedAtSource.API
    assert sunset.restore_handle == {
        "kind": "drive",
        "drivewsid": "FILE::com.apple.CloudDocs::S1",
        "docwsid": "S1",
        "etag": "o72::o6y",
        "zone": "com.apple.CloudDocs",
        "restore_path": "Pictures/sunset.heic",
    }
    old = found["drive:FILE::com.apple.CloudDocs::N1"]
    assert (old.restorable, old.not_restorable_reason) == (
        False,
        "iCloud Drive gives no original location for it",
    )


# ------------------------------------------------------------------------------ throttling


def test_a_429_on_a_listing_page_waits_as_asked_then_continues(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.deleted_page(0, [], status=429, headers={"Retry-After": "7"})
    apple.deleted_page(0, _records(0, 2))
    pages, _ = apple.scan(account(include_drive=False))
    assert apple.sleeps == [7.0]
    assert len(items_of(pages)) == 2


def test_a_throttled_sign_in_is_retried_not_reported_as_a_wrong_password(apple: Apple) -> None:
    apple.add(responses.GET, f"{AUTH}/authorize/signin", "<html/>", content_type="text/html")
    apple.add(
        responses.POST,
        f"{AUTH}/signin/init",
        "slow down",
        status=429,
        headers={"Retry-After": "3"},
        content_type="text/plain",
    )
    apple.srp_sign_in()
    apple.account_login()
    apple.photos_service()
    apple.deleted_page(0, [])
    apple.scan(account(include_drive=False))
    assert apple.sleeps == [3.0]


def test_throttling_beyond_the_budget_fails_the_account_in_one_line(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.deleted_page(0, [], status=503, headers={"Retry-After": "3600"})
    with pytest.raises(ProviderUnavailableError, match="3600 s") as raised:
        apple.scan(account(include_drive=False))
    assert apple.sleeps == []
    assert "\n" not in raised.value.one_line()


# ------------------------------------------------------------------------------ ADP, auth


def test_web_access_off_is_one_clear_line_without_waiting(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.web_access({**WEB_ACCESS_OK, "isWebAccessAllowed": False, "isICDRSDisabled": True})
    with pytest.raises(AccountError) as raised:
        apple.scan()
    assert str(raised.value) == WEB_ACCESS_OFF
    assert apple.sleeps == []
    assert len(apple.calls) == 2


def test_adp_without_approval_fails_at_once_and_prompts_no_device(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.web_access({**WEB_ACCESS_OK, "isICDRSDisabled": True, "isDeviceConsentedForPCS": False})
    with pytest.raises(AccountError, match="Advanced Data Protection is on") as raised:
        apple.scan()
    assert "approve the request on your device" in (raised.value.hint or "")
    assert apple.sleeps == []
    assert ("POST", f"{SETUP}/enableDeviceConsentForPCS") not in apple.calls


def test_pcs_polling_is_bounded_by_pcs_wait_seconds(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.web_access({**WEB_ACCESS_OK, "isICDRSDisabled": True})
    pending = {"status": "failure", "message": "Cookies not available yet on server."}
    apple.add(
        responses.POST,
        f"{SETUP}/requestPCS",
        pending,
        body={"appName": "photos", "derivedFromUserAction": True},
    )
    apple.add(
        responses.POST,
        f"{SETUP}/requestPCS",
        pending,
        body={"appName": "photos", "derivedFromUserAction": False},
    )
    with pytest.raises(AccountError, match="not granted within 10 s"):
        apple.scan()
    assert apple.sleeps == [5.0, 5.0]  # pyicloud alone would poll for about 100 s
    assert apple.calls.count(("POST", f"{SETUP}/requestPCS")) == 3


def test_private_db_access_disabled_is_the_web_access_line(apple: Apple) -> None:
    apple.write_session()
    apple.validate()
    apple.web_access()
    apple.query(
        {"query": {"recordType": "CheckIndexingState"}, "zoneID": {"zoneName": "PrimarySync",
         "zoneType": "REGULAR_CUSTOM_ZONE"}, "resultsLimit": 1},
        {"serverErrorCode": "ACCESS_DENIED",
         "reason": "private db access disabled for this account"},
        status=403,
    )  # fmt: skip
    with pytest.raises(AccountError) as raised:
        apple.scan()
    assert str(raised.value) == WEB_ACCESS_OFF
    assert apple.sleeps == []


def test_drive_missing_pcs_cookies_is_the_web_access_line(apple: Apple) -> None:
    _signed_in_photos(apple)
    apple.deleted_page(0, [])
    apple.add(
        responses.POST,
        f"{DRIVEWS}/retrieveItemDetailsInFolders",
        {"error": "Missing PCS cookies from the request"},
        status=423,
    )
    with pytest.raises(AccountError) as raised:
        apple.scan()
    assert str(raised.value) == WEB_ACCESS_OFF


def test_scan_needing_2fa_says_so(apple: Apple) -> None:
    apple.write_session(session_token=None, cookie=False)
    apple.srp_sign_in(trust_tokens=["trust-token-1"], outcome="2fa")
    apple.add(responses.GET, AUTH, {})
    apple.add(responses.GET, AUTH, {})
    with pytest.raises(AuthError) as raised:
        apple.scan()
    assert str(raised.value) == "iCloud account family needs a new 2FA sign-in"
    assert raised.value.hint == "run `trashscan accounts add icloud family`"


def test_scan_without_a_password_says_how_to_add_the_account(apple: Apple) -> None:
    apple.secrets.values.clear()
    with pytest.raises(AuthError) as raised:
        apple.scan()
    assert str(raised.value) == "no stored password for iCloud account 'family'"
    assert raised.value.hint == (
        "run `trashscan accounts add icloud family --option apple_id=alice@example.org`"
    )
    assert apple.calls == []
