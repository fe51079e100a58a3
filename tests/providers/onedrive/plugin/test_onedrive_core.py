"""The plugin through the core's Scanner and Index: enrolment, a deletion, its return; business."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from trashscan.index import Index, ItemFilter
from trashscan.models import DeletedAtSource, ItemState, Kind
from trashscan.provider import CLOCK_MARGIN
from trashscan.scanner import Scanner

from .harness import BETA, GB, NOW, SITE, V1, Harness, account
from .test_onedrive_personal import CAT, DELTA_1, DELTA_2, DELTA_3, ENROL, PICTURES, ROOT, deleted

ALL_STATES = ItemFilter(states=frozenset(ItemState))


def test_personal_account_through_the_index(od: Harness, tmp_path: Path) -> None:
    index = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    scanner = Scanner(index, od.context, lock_wait=0)
    acct = account(drive_type="personal")
    od.signed_in()
    od.graph("GET", ENROL, {"value": [ROOT, PICTURES, CAT], "@odata.deltaLink": DELTA_1})
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    assert result.items == 0
    assert index.scan_state("onedrive", acct.name)["delta_link"] == DELTA_1

    od.restart()
    od.now = NOW + timedelta(hours=6)
    cat_gone = deleted("D1!110", "cat.jpg", "D1!102")
    od.graph("GET", DELTA_1, {"value": [cat_gone], "@odata.deltaLink": DELTA_2})
    od.quota()
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    [row] = index.items(ItemFilter(), od.now)
    assert (row.item_id, row.kind, row.path) == ("D1!110", Kind.PHOTO, "/Pictures/cat.jpg")
    assert row.deleted_at == NOW and row.deleted_at_source is DeletedAtSource.CHANGES
    assert row.purge_at == NOW - CLOCK_MARGIN + timedelta(days=30) and row.purge_is_estimate
    assert row.purge_latest == od.now + CLOCK_MARGIN + timedelta(days=30)
    assert not row.age_unknown

    od.restart()
    od.now = NOW + timedelta(hours=12)
    od.graph("GET", DELTA_2, {"value": [CAT], "@odata.deltaLink": DELTA_3})
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    states = {i.item_id: i.state for i in index.items(ALL_STATES, od.now)}
    assert states == {"D1!110": ItemState.GONE}


def test_a_bin_over_10_percent_dates_a_listed_photo_again_in_the_index(
    od: Harness, tmp_path: Path
) -> None:
    """Listed at 30 days; the bin then grows past 10% of the storage: the next scan, with no
    new deletion, reports it again at 3 days, and the index takes the earlier date. The bin
    shrinking again changes nothing: OneDrive may have started purging."""
    index = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    scanner = Scanner(index, od.context, lock_wait=0)
    acct = account(drive_type="personal")
    od.signed_in()
    od.graph("GET", ENROL, {"value": [ROOT, PICTURES, CAT], "@odata.deltaLink": DELTA_1})
    scanner.scan([acct])
    od.restart()
    od.now = NOW + timedelta(hours=6)
    od.graph("GET", DELTA_1, {"value": [deleted("D1!110", "cat.jpg", "D1!102")],
                              "@odata.deltaLink": DELTA_2})  # fmt: skip
    od.quota(deleted=GB // 100, total=5 * GB)  # 0.2%
    (result,) = scanner.scan([acct])
    assert result.ok and result.notice is None, result.error
    listed = index.get("onedrive", acct.name, "D1!110")
    assert listed and listed.purge_at == NOW - CLOCK_MARGIN + timedelta(days=30)

    od.restart()
    od.now = NOW + timedelta(hours=12)
    od.graph("GET", DELTA_2, {"value": [], "@odata.deltaLink": DELTA_3})
    od.quota(deleted=GB * 3 // 4, total=5 * GB)  # 15%
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    assert result.notice and "the recycle bin is over 10% of your storage" in result.notice
    row = index.get("onedrive", acct.name, "D1!110")
    assert row and row.state is ItemState.TRASHED
    assert row.purge_at == NOW - CLOCK_MARGIN + timedelta(days=3)
    assert (row.deleted_at, row.deleted_after, row.purge_latest) == (
        listed.deleted_at, listed.deleted_after, listed.purge_latest,
    )  # fmt: skip
    assert index.scan_state("onedrive", acct.name)["short_purge"] is True

    od.restart()
    od.now = NOW + timedelta(hours=18)
    od.graph("GET", DELTA_3, {"value": [], "@odata.deltaLink": DELTA_3})
    od.quota(deleted=GB // 100, total=5 * GB)
    (result,) = scanner.scan([acct])
    assert result.ok and result.notice is None, result.error
    kept = index.get("onedrive", acct.name, "D1!110")
    assert kept and kept.purge_at == row.purge_at
    assert index.scan_state("onedrive", acct.name)["short_purge"] is False


def test_business_account_through_the_index_sweeps_what_left_the_bin(
    od: Harness, tmp_path: Path
) -> None:
    index = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    scanner = Scanner(index, od.context, lock_wait=0)
    acct = account(drive_type="business")
    od.signed_in()
    bin_url = f"{BETA}sites/{SITE}/recycleBin/items?$top=1000"
    photo = {"id": "b-1", "name": "a.jpg", "deletedDateTime": "2024-05-30T00:00:00Z"}
    od.graph(
        "GET",
        f"{V1}me/drive?$select=driveType,webUrl,sharePointIds",
        {
            "driveType": "business",
            "webUrl": "https://contoso-my.sharepoint.com/personal/a/Documents",
            "sharePointIds": {
                "siteId": SITE.split(",")[1],
                "webId": SITE.split(",")[2],
                "siteUrl": "https://contoso-my.sharepoint.com/personal/a",
            },
        },
    )
    od.graph("GET", bin_url, {"value": [photo]})
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    assert index.scan_state("onedrive", acct.name) == {
        "drive_type": "business",
        "site_id": SITE,
        "library_path": "personal/a/Documents",
    }
    [row] = index.items(ItemFilter(), NOW)
    assert row.purge_is_estimate is False

    od.restart()
    od.graph("GET", bin_url, {"value": []})
    (result,) = scanner.scan([acct])
    assert result.ok and result.swept == 1
    assert {i.item_id: i.state for i in index.items(ALL_STATES, NOW)} == {"b-1": ItemState.GONE}
