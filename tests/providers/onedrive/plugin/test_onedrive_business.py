"""OneDrive for Business: site discovery, recycle-bin paging and filtering, throttling."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trashscan.errors import AccountError, ProviderUnavailableError
from trashscan.models import DeletedAtSource, TrashItem
from trashscan_onedrive import business

from .harness import BETA, GRAPH, SITE, SITE_GUID, V1, WEB_GUID, Harness, account

LIBRARY = "personal/alice_contoso_com/Documents"
DRIVE = f"{V1}me/drive?$select=driveType,webUrl,sharePointIds"
BIN = f"{BETA}sites/{SITE}/recycleBin/items"
BIN_1 = f"{BIN}?$top=1000"  # the first page: the largest page asked (business.BIN_TOP)
BIN_2 = f"{BIN}?$skiptoken=Paged%3DTRUE%26p_ID%3D42"  # sent verbatim
STATE = {"drive_type": "business", "site_id": SITE, "library_path": LIBRARY}
BUSINESS = account(drive_type="business")

DRIVE_ANSWER = {
    "driveType": "business",
    "webUrl": f"https://contoso-my.sharepoint.com/{LIBRARY}",
    "sharePointIds": {
        "listId": "0f0f0f0f-0000-4000-8000-000000000003",
        "siteId": SITE_GUID,
        "siteUrl": "https://contoso-my.sharepoint.com/personal/alice_contoso_com",
        "tenantId": "72f988bf-0000-4000-8000-000000000004",
        "webId": WEB_GUID,
    },
}


def bin_item(item_id: str, name: str, folder: str, when: str, size: int = 4096, **extra: Any):
    return {
        "id": item_id,
        "name": name,
        "size": size,
        "deletedDateTime": when,
        "deletedFromLocation": f"{LIBRARY}/{folder}" if folder else LIBRARY,
        "deletedBy": {"user": {"displayName": "Alice", "email": "alice@contoso.com"}},
        **extra,
    }


def test_the_recycle_bin_api_version_is_beta() -> None:
    """v1.0 documents the list call but its metadata has no site.recycleBin: beta, one constant."""
    assert business.RECYCLE_BIN_API_VERSION == "beta"
    settings = business.Settings.from_account(BUSINESS)
    assert business.recycle_bin_url(settings, SITE) == BIN
    assert business.recycle_bin_url(settings, SITE, "restore") == BIN + "/restore"


def test_first_scan_finds_the_site_then_pages_through_the_bin(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", DRIVE, DRIVE_ANSWER)
    od.graph(
        "GET",
        BIN_1,
        {
            "value": [
                bin_item("b-1", "IMG_0001.JPG", "Pictures/Camera Roll", "2024-05-20T08:30:00Z"),
                bin_item("b-2", "report.docx", "Work", "2024-05-21T09:00:00Z"),
            ],
            "@odata.nextLink": BIN_2,
        },
    )
    od.graph(
        "GET",
        BIN_2,
        {
            "value": [
                # Real answers carry `title` too; here only the title has the extension.
                bin_item("b-3", "holiday", "", "2024-05-22T10:15:30.1234567Z", title="holiday.MOV"),
                bin_item("b-4", "notes.txt", "", "2024-05-22T10:16:00Z"),
            ]
        },
    )
    pages, outcome = od.scan(BUSINESS)
    assert od.sent_to() == [("GET", DRIVE), ("GET", BIN_1), ("GET", BIN_2)]
    items = [item for page in pages for item in page.items]
    first = datetime(2024, 5, 20, 8, 30, tzinfo=UTC)
    third = datetime(2024, 5, 22, 10, 15, 30, 123456, tzinfo=UTC)
    assert items == [
        TrashItem(
            item_id="b-1",
            name="IMG_0001.JPG",
            path="/Pictures/Camera Roll/IMG_0001.JPG",
            mime_type="image/jpeg",
            size=4096,
            deleted_at=first,
            deleted_at_source=DeletedAtSource.API,
            purge_at=first + timedelta(days=93),
            purge_is_estimate=False,
            restore_handle={
                "site_id": SITE,
                "id": "b-1",
                "path": "/Pictures/Camera Roll/IMG_0001.JPG",
            },
        ),
        TrashItem(
            item_id="b-3",
            name="holiday.MOV",
            path="/holiday.MOV",
            mime_type="video/quicktime",
            size=4096,
            deleted_at=third,
            deleted_at_source=DeletedAtSource.API,
            purge_at=third + timedelta(days=93),
            purge_is_estimate=False,
            restore_handle={"site_id": SITE, "id": "b-3", "path": "/holiday.MOV"},
        ),
    ]
    assert outcome.complete_listing is True
    assert outcome.state == STATE


def test_later_scans_reuse_the_site_from_the_state(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", BIN_1, {"value": []})
    pages, outcome = od.scan(BUSINESS, STATE)
    assert pages == []
    assert od.sent_to() == [("GET", BIN_1)]  # one request for an unchanged, empty bin
    assert outcome.state == STATE


def test_detected_business_kind_needs_no_second_drive_call(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", DRIVE, DRIVE_ANSWER)
    od.graph("GET", BIN_1, {"value": []})
    _, outcome = od.scan(account())  # no drive_type option: detected on the first scan
    assert od.sent_to() == [("GET", DRIVE), ("GET", BIN_1)]
    assert outcome.state == STATE


def test_retention_days_overrides_the_93_days(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", BIN_1, {"value": [bin_item("b-1", "a.png", "", "2024-05-20T00:00:00Z")]})
    pages, _ = od.scan(account(drive_type="business", retention_days=120), STATE)
    item = pages[0].items[0]
    assert item.purge_at == datetime(2024, 9, 17, tzinfo=UTC)


def test_a_first_page_refused_with_400_is_asked_again_without_top(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", BIN_1, {"error": {"code": "invalidRequest"}}, status=400)
    od.graph("GET", BIN, {"value": [bin_item("b-1", "a.png", "", "2024-05-20T00:00:00Z")]})
    pages, _ = od.scan(BUSINESS, STATE)
    assert od.sent_to() == [("GET", BIN_1), ("GET", BIN)]
    assert [item.item_id for page in pages for item in page.items] == ["b-1"]


def test_a_400_without_top_too_fails_the_account(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", BIN_1, {"error": {"code": "BadRequest"}}, status=400)
    od.graph("GET", BIN, {"error": {"code": "BadRequest"}}, status=400)
    with pytest.raises(AccountError, match=r"HTTP 400 \(BadRequest\)"):
        od.scan(BUSINESS, STATE)
    assert od.sent_to() == [("GET", BIN_1), ("GET", BIN)]  # once each, not more


def test_a_403_on_listing_names_the_permissions(od: Harness) -> None:
    od.signed_in()
    od.graph(
        "GET", BIN_1, {"error": {"code": "accessDenied", "message": "Access denied"}}, status=403
    )
    with pytest.raises(AccountError) as caught:
        od.scan(BUSINESS, STATE)
    assert "Files.Read" in str(caught.value)
    assert caught.value.hint and "accounts add onedrive alice" in caught.value.hint


def test_a_drive_without_sharepoint_ids_is_an_account_error(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", DRIVE, {"driveType": "business", "webUrl": "https://x/"})
    with pytest.raises(AccountError, match="cannot find the OneDrive for Business site"):
        od.scan(BUSINESS)


# ------------------------------------------------------------------------------------ throttling


def test_429_retry_after_and_503_are_retried_through_the_policy(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", BIN_1, {"error": {"code": "activityLimitReached"}}, status=429,
             headers={"Retry-After": "7"})  # fmt: skip
    od.graph("GET", BIN_1, {"error": {"code": "serviceNotAvailable"}}, status=503)
    od.graph("GET", BIN_1, {"value": []})
    _, outcome = od.scan(BUSINESS, STATE)
    assert outcome.complete_listing
    assert od.sent_to() == [("GET", BIN_1)] * 3
    # 7 s as asked; then the policy's own backoff (attempt 2: 1 s step, half plus half-jitter).
    assert od.sleeps == [7.0, 0.75]


def test_a_retry_after_beyond_the_budget_fails_this_account(od: Harness) -> None:
    od.signed_in()
    od.graph("GET", BIN_1, {}, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(ProviderUnavailableError, match="3600"):
        od.scan(BUSINESS, STATE)
    assert od.sleeps == []


def test_graph_root_comes_from_the_endpoint(od: Harness) -> None:
    settings = business.Settings.from_account(account(endpoint="https://graph.microsoft.us"))
    assert business.recycle_bin_url(settings, SITE).startswith("https://graph.microsoft.us/beta/")
    assert settings.v1("me/drive") == "https://graph.microsoft.us/v1.0/me/drive"
    assert GRAPH == "https://graph.microsoft.com/"
