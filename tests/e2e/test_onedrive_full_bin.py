"""OneDrive personal's 10% rule, through the real CLI against the sandbox's fake (erin).

OneDrive personal keeps recycle-bin items 30 days, but when the bin grows past 10% of the
storage it may purge them sooner, after 3 days at the least (onedrive.md §3). Graph states the
bin's size and the storage on the drive's ``quota`` facet (``deleted``, ``total``; onedrive.md
§1.1, resources/quota.md). The fake computes ``deleted`` from what is in its bin and takes
``total`` from the drive (``Drive.quota_total``, 1 TB as seeded), which these tests set (and,
when the bin is too small for the share, delete a large document too) to put the bin at a chosen
share of the storage.

The fake does not purge early (Microsoft does not say which items go, or when): the truth these
tests hold trashscan to is the documented rule, "never later than deletion + 3 days" once the
bin is over the threshold.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta

import pytest

from trashscan.provider import CLOCK_MARGIN
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan_onedrive.sandbox.fake import OneDriveFake

PROVIDER = "onedrive"
DELTA = "/v1.0/me/drive/root/delta"
DRIVE = "/v1.0/me/drive"
SHORT, LONG = timedelta(days=3), timedelta(days=30)
OVER_NOTE = "the recycle bin is over 10% of your storage: OneDrive may purge items after 3 days"
CLOSE_NOTE = "close to the 10% over which OneDrive may purge items after 3 days"


pytestmark = pytest.mark.sandbox(PROVIDER)


def graph_calls(log: RequestLog) -> list[tuple[str, str, int | None]]:
    """Graph requests since the mark (not the sign-in server's)."""
    return [c for c in log.calls() if not c[1].startswith("/common/")]


def bin_share(fake: OneDriveFake, percent: float) -> None:
    """Make erin's recycle bin ``percent`` % of her storage: the storage is set to at least four
    times what her live files take (a plausible drive: used never over total), and a large
    document is deleted when the bin needs more bytes than her deleted photos hold."""
    drive = fake.graph.drives["erin"]
    quota = drive.quota(fake.clock())
    live = quota["used"] - quota["deleted"]
    total = max(int(quota["deleted"] * 100 / percent), 4 * live)
    missing = int(total * percent / 100) - quota["deleted"]
    if missing > 0:
        fake.add_file("erin", "/Documents/old backup.zip", size=missing)
        fake.delete("erin", "/Documents/old backup.zip")
    drive.quota_total = total
    quota = drive.quota(fake.clock())
    assert quota["used"] <= quota["total"]
    assert abs(quota["deleted"] * 100 / quota["total"] - percent) < 0.01


def notes(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("trashscan: note: erin")]


def erin(cli) -> list[dict]:
    result = cli("list", "--account", "erin", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return result.json()


def when(item: dict, key: str) -> datetime:
    return datetime.fromisoformat(item[key])


def enrol_then_delete(cli, sandbox: Sandbox) -> None:
    first = cli("list", "--account", "erin", "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert first.json() == []
    sandbox.between_scans()


def assert_purge_after(items: list[dict], keep: timedelta) -> None:
    """Every item's earliest plausible purge is its earliest plausible deletion + ``keep``; its
    latest stays 30 days after the latest deletion (the 10% rule only ever purges sooner)."""
    assert items
    for item in items:
        after = when(item, "deleted_after")
        assert after == when(item, "deleted_at") - CLOCK_MARGIN
        assert when(item, "purge_at") == after + keep, item
        assert when(item, "purge_latest") >= when(item, "deleted_at") + LONG
        assert item["purge_is_estimate"] is True


def due_within_a_week(cli) -> list[str]:
    result = cli("check", "--account", "erin", "--within", "7d", "--format", "json")
    report = json.loads(result.stdout)
    return sorted(i["name"] for i in report["items"])


def test_a_bin_over_10_percent_of_the_storage_dates_purges_3_days_after_deletion(
    cli, sandbox, fake, log
):
    enrol_then_delete(cli, sandbox)
    bin_share(fake, 15)
    log.mark()

    # the scan's own requests (a new photo's picture capture is test_onedrive_thumbnails')
    result = cli("list", "--account", "erin", "--format", "json", "--no-thumbnails")

    assert result.exit_code == 0, result.stderr
    items = result.json()
    assert len(items) == 8  # 3 photos and a video, and the deleted folder's 4 photos
    assert_purge_after(items, SHORT)
    (note,) = notes(result.stderr)  # said once, why the dates are short
    assert OVER_NOTE in note
    # one delta page and one read of the drive's quota: nothing more
    assert sorted(graph_calls(log)) == sorted([("GET", DELTA, 200), ("GET", DRIVE, 200)])
    (drive_call,) = [r for r in log.since() if r.path == DRIVE]
    assert drive_call.query == {"$select": ["quota"]}
    # check takes them by the earlier date: all due within a week
    assert due_within_a_week(cli) == sorted(i["name"] for i in items)

    # an unchanged re-scan: the same dates, no second notice, the floor plus the quota read
    log.mark()
    again = cli("list", "--account", "erin", "--format", "json", "--no-thumbnails")
    assert again.exit_code == 0, again.stderr
    assert notes(again.stderr) == []
    assert {(i["item_id"], i["purge_at"]) for i in again.json()} == {
        (i["item_id"], i["purge_at"]) for i in items
    }
    assert sorted(graph_calls(log)) == sorted([("GET", DELTA, 200), ("GET", DRIVE, 200)])


def test_items_already_listed_are_dated_again_when_the_bin_goes_over_10_percent(
    cli, sandbox, fake, log
):
    enrol_then_delete(cli, sandbox)
    before = erin(cli)  # a bin of a few MB in 1 TB: 30 days
    assert_purge_after(before, LONG)
    assert due_within_a_week(cli) == []

    bin_share(fake, 15)
    log.mark()
    result = cli("list", "--account", "erin", "--format", "json")

    assert result.exit_code == 0, result.stderr
    (note,) = notes(result.stderr)
    assert OVER_NOTE in note
    after = result.json()
    assert {i["item_id"] for i in after} == {i["item_id"] for i in before}
    assert_purge_after(after, SHORT)
    old = {i["item_id"]: i for i in before}
    for item in after:  # the same deletion window; only the earliest purge came closer
        was = old[item["item_id"]]
        assert (item["deleted_at"], item["deleted_after"]) == (
            was["deleted_at"],
            was["deleted_after"],
        )
        assert item["purge_latest"] == was["purge_latest"]
    assert sorted(graph_calls(log)) == sorted([("GET", DELTA, 200), ("GET", DRIVE, 200)])
    assert due_within_a_week(cli) == sorted(i["name"] for i in after)

    # the bin back under 10%: what may have been purged early keeps its early date, a new
    # deletion gets 30 days again
    listed = {i["path"] for i in after}
    photo = next(p for p in fake.manifest["erin"].live if p.endswith(".jpg") and p not in listed)
    fake.delete("erin", photo)
    bin_share(fake, 1)
    log.mark()
    later = cli("list", "--account", "erin", "--format", "json")
    assert later.exit_code == 0, later.stderr
    assert notes(later.stderr) == []
    by_id = {i["item_id"]: i for i in later.json()}
    new = by_id.pop(fake.manifest["erin"].ids[photo])
    assert_purge_after([new], LONG)
    assert {i: by_id[i]["purge_at"] for i in by_id} == {i["item_id"]: i["purge_at"] for i in after}


@pytest.mark.parametrize(
    ("percent", "keep", "note"),
    [
        (8.5, LONG, None),  # under the threshold and its margin: 30 days, as before
        (9.5, SHORT, CLOSE_NOTE),  # within a point of 10%: taken as over (see the README)
        (10.5, SHORT, OVER_NOTE),
    ],
)
def test_the_threshold_and_its_safety_margin(cli, sandbox, fake, percent, keep, note):
    enrol_then_delete(cli, sandbox)
    bin_share(fake, percent)

    result = cli("list", "--account", "erin", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert_purge_after(result.json(), keep)
    said = notes(result.stderr)
    if note is None:
        assert said == []
    else:
        assert len(said) == 1 and note in said[0], said


def test_an_account_with_nothing_in_its_bin_does_not_read_the_quota(cli, sandbox, fake, log):
    """The quota only dates items: a drive whose photos are all live costs no extra request."""
    first = cli("list", "--account", "erin", "--format", "json")
    assert first.exit_code == 0, first.stderr
    log.mark()

    again = cli("list", "--account", "erin", "--format", "json")

    assert again.exit_code == 0, again.stderr
    assert again.json() == []
    assert graph_calls(log) == [("GET", DELTA, 200)]
