"""OneDrive personal's 10% rule: the quota read, the threshold and its margin, the scan state."""

from __future__ import annotations

from datetime import timedelta

import pytest

from trashscan.provider import CLOCK_MARGIN
from trashscan_onedrive.quota import BinShare

from .harness import GB, NOW, QUOTA, Harness, account
from .test_onedrive_personal import DELTA_1, DELTA_2, DELTA_3, deleted, enrol

PERSONAL = account(drive_type="personal")
LATER = NOW + timedelta(days=2)


@pytest.mark.parametrize(
    ("deleted_bytes", "total", "over", "short", "percent"),
    [
        (0, 100, False, False, "0.0%"),
        (899, 10_000, False, False, "8.9%"),
        (900, 10_000, False, True, "9.0%"),  # the margin: one point below the threshold
        (999, 10_000, False, True, "9.9%"),
        (1_000, 10_000, False, True, "10.0%"),  # "exceeds 10%": not yet, but within the margin
        (1_001, 10_000, True, True, "10.0%"),
        (1_500, 10_000, True, True, "15.0%"),
        (9_996, 100_000, False, True, "9.9%"),  # rounded down, never shown as 10.0%
    ],
)
def test_the_threshold_and_its_margin(
    deleted_bytes: int, total: int, over: bool, short: bool, percent: str
) -> None:
    share = BinShare(deleted_bytes, total)
    assert (share.known, share.over, share.short, share.percent()) == (True, over, short, percent)


@pytest.mark.parametrize(
    "share", [BinShare(None, 10), BinShare(5, None), BinShare(0, 0), BinShare(None, None)]
)
def test_an_unstated_quota_is_taken_as_over(share: BinShare) -> None:
    """Without both sizes the rule cannot be checked: the date that is never late is 3 days."""
    assert not share.known and not share.over and share.short
    assert "OneDrive did not state the sizes of the recycle bin and of your storage" in (
        share.notice()
    )


def photo_deleted(od: Harness, link: str = DELTA_1, next_link: str = DELTA_2) -> None:
    od.graph(
        "GET",
        link,
        {"value": [deleted("D1!110", "cat.jpg", "D1!102")], "@odata.deltaLink": next_link},
    )


@pytest.mark.parametrize(
    "facet",
    [
        {},  # no quota facet at all
        {"quota": {"deleted": True, "total": 5 * GB}},  # a boolean is not a size
        {"quota": {"deleted": "12", "total": 5 * GB}},
        {"quota": {"deleted": 12, "total": -1}},
    ],
)
def test_a_quota_graph_does_not_state_dates_at_3_days_and_says_why(
    od: Harness, facet: dict
) -> None:
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    photo_deleted(od)
    od.graph("GET", QUOTA, facet)
    pages, outcome = od.scan(PERSONAL, state)
    (item,) = [item for page in pages for item in page.items]
    assert item.purge_at == NOW - CLOCK_MARGIN + timedelta(days=3)
    assert item.purge_latest == LATER + CLOCK_MARGIN + timedelta(days=30)
    assert outcome.notice and "did not state the sizes" in outcome.notice
    assert outcome.state is not None and outcome.state["short_purge"] is True


def test_once_over_new_deletions_get_3_days_without_a_second_notice(od: Harness) -> None:
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    photo_deleted(od)
    od.quota(deleted=GB, total=5 * GB)  # 20%
    pages, first = od.scan(PERSONAL, state)
    assert first.notice and "over 10% of your storage" in first.notice
    assert [i.item_id for page in pages for i in page.items] == ["D1!110"]

    od.restart()
    od.now = LATER + timedelta(days=1)
    od.graph(
        "GET",
        DELTA_2,
        {"value": [deleted("D1!112", "beach.heic", "D1!103")], "@odata.deltaLink": DELTA_3},
    )
    od.quota(deleted=GB, total=5 * GB)
    pages, second = od.scan(PERSONAL, first.state)
    # only the new deletion: what the last scan dated at 3 days is not reported again
    (item,) = [i for page in pages for i in page.items]
    assert item.item_id == "D1!112"
    assert item.purge_at == LATER - CLOCK_MARGIN + timedelta(days=3)
    assert second.notice is None
    assert second.state is not None and second.state["short_purge"] is True


def test_a_shorter_retention_of_the_account_is_kept_when_shorter_than_3_days(
    od: Harness,
) -> None:
    """An account's own ``retention_days`` (a user override) is never lengthened by the rule."""
    one_day = account(drive_type="personal", retention_days=1)
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    photo_deleted(od)
    od.quota(deleted=GB, total=5 * GB)
    pages, _ = od.scan(one_day, state)
    (item,) = [i for page in pages for i in page.items]
    assert item.purge_at == NOW - CLOCK_MARGIN + timedelta(days=1)


def test_deletions_older_than_the_retention_need_no_quota(od: Harness) -> None:
    """A photo deleted more than 30 days ago is past its earliest plausible purge whatever the
    bin's size: an unchanged re-scan then costs the delta request alone."""
    od.signed_in()
    state = enrol(od)
    od.now = LATER
    photo_deleted(od)
    od.quota()
    _, outcome = od.scan(PERSONAL, state)
    od.restart()
    od.now = LATER + timedelta(days=3)
    od.graph("GET", DELTA_2, {"value": [], "@odata.deltaLink": DELTA_2})
    od.quota()
    od.scan(PERSONAL, outcome.state)
    assert od.sent_to() == [("GET", DELTA_2), ("GET", QUOTA)]  # still within the 30 days

    od.restart()
    od.now = NOW + timedelta(days=31)
    od.graph("GET", DELTA_2, {"value": [], "@odata.deltaLink": DELTA_2})
    pages, _ = od.scan(PERSONAL, outcome.state)
    assert pages == []
    assert od.sent_to() == [("GET", DELTA_2)]
