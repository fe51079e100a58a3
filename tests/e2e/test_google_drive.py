"""The real CLI against the sandbox's Google Drive fake (alice, bob) and Google Photos account.

Seed (see ``trashscan_google_drive.sandbox.seed``): alice has 8 trashed photos/videos in My Drive
(3 of them trashed only through the folder "Holiday 2025"), 4 in the shared drive "Family" and 1
in "Running Club" that she may not untrash, with Drive Activity on; bob has 5 in My Drive, no
Activity API and an expired stored access token. Both have trashed documents that must never be
listed. The Google Photos account has no API and only gets a notice.

Throttling faults carry ``Retry-After: 1``, so a test waits at most that second; nothing else
sleeps and no timing is asserted.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import RestoreOutcome
from trashscan.sandbox.session import Sandbox
from trashscan.timeparse import iso
from trashscan_google_drive.sandbox.fake import GoogleDriveFake

ALICE_MY_DRIVE = 8
ALICE_FAMILY = 4
ALICE_RUNNING_CLUB = 1
ALICE = ALICE_MY_DRIVE + ALICE_FAMILY + ALICE_RUNNING_CLUB
BOB = 5
HOLIDAY = "Holiday 2025"
IN_HOLIDAY = f"Photos/{HOLIDAY}/"  # the seed's trashed folder lives in the live folder Photos
RETENTION = timedelta(days=30)
PROVIDER = "google-drive"


pytestmark = pytest.mark.sandbox(PROVIDER, "google-photos")


def _secrets(sandbox: Sandbox, account: str) -> dict[str, str]:
    stored = json.loads((sandbox.workdir / "sandbox-secrets.json").read_text())
    return json.loads(stored["secrets"][f"trashscan:{PROVIDER}:{account}"]["authorized_user"])


def _by_account(items: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for item in items:
        grouped.setdefault(item["account"], []).append(item)
    return grouped


def _problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if not line.startswith("trashscan: note:")]


def _photos_notices(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "photos-alice" in line]


def _trashed_ids(fake: GoogleDriveFake) -> set[str]:
    """The photos and videos in every trash of the fake (the seed's and any the test made)."""
    return {
        f.id
        for f in fake.state.files.values()
        if fake.state.is_trashed(f) and f.mime_type.split("/")[0] in {"image", "video"}
    }


def _kept_photo(fake: GoogleDriveFake, account: str) -> Any:
    email = fake.accounts[account].email
    return next(
        f
        for f in fake.state.files.values()
        if f.owner == email and f.mime_type.startswith("image/") and not fake.state.is_trashed(f)
    )


def _outcome_lines(stdout: str) -> list[str]:
    """The per-item result lines of `restore` (not its "Will restore" table)."""
    words = {outcome.value for outcome in RestoreOutcome}
    return [line for line in stdout.splitlines() if line.split(" ", 1)[0] in words]


def _pick(items: list[dict], **where: Any) -> dict:
    return next(i for i in items if all(i[k] == v for k, v in where.items()))


# ----------------------------------------------------------------------------------- listing


def test_list_all_accounts_has_both_drive_accounts_with_their_sources_and_purge_dates(
    cli, sandbox, fake
):
    before = datetime.now(UTC).replace(microsecond=0)
    result = cli("list", "--all-accounts", "--format", "json")
    after = datetime.now(UTC)
    assert result.exit_code == 0, result.stderr
    items = result.json()
    accounts = _by_account(items)
    assert set(accounts) == {"alice", "bob"}  # nothing from the Google Photos account
    assert len(accounts["alice"]) == ALICE and len(accounts["bob"]) == BOB
    assert {item["provider"] for item in items} == {PROVIDER}
    # exactly the fake's trashed media, documents never: no PDF, no Google Doc
    assert {i["item_id"] for i in items} == _trashed_ids(fake)
    assert {i["kind"] for i in items} == {"photo", "video"}
    assert all(i["mime_type"].split("/")[0] in {"image", "video"} for i in items)
    assert not any(i["name"].endswith(".pdf") for i in items)
    assert not {"Budget 2025", "Packing list", "Tax return 2024.pdf"} & {i["name"] for i in items}
    for item in items:  # the latest plausible purge: the (latest) deletion plus Drive's 30 days
        deleted, latest = (datetime.fromisoformat(item[k]) for k in ("deleted_at", "purge_latest"))
        assert latest - deleted == RETENTION, item

    # shared drives: Drive states trashedTime, so the dates are exact
    drive_names = {d.name for d in fake.state.drives.values()}
    shared = [i for i in accounts["alice"] if (i["path"] or "").split("/")[0] in drive_names]
    assert Counter(i["path"].split("/")[0] for i in shared) == {
        "Family": ALICE_FAMILY,
        "Running Club": ALICE_RUNNING_CLUB,
    }
    for item in shared:
        source = fake.state.files[item["item_id"]]
        assert item["path"] == f"{fake.state.drives[source.drive_id].name}/{item['name']}"
        assert item["deleted_at_source"] == "api"
        assert item["purge_is_estimate"] is False
        assert item["deleted_at"] == iso(source.trashed_time)
        assert item["purge_at"] == iso(source.trashed_time + RETENTION)
    # the Family video dad uploaded is listed too (corpora=drive finds it, corpora=user would not)
    creators = {fake.state.files[i["item_id"]].created_by for i in shared}
    assert "dad@example.com" in creators

    # alice's My Drive: dated by her Drive Activity TRASH events, an estimate all the same
    my_drive = [i for i in accounts["alice"] if i not in shared]
    assert len(my_drive) == ALICE_MY_DRIVE
    holiday = fake.find(HOLIDAY, account="alice")
    for item in my_drive:
        source = fake.state.files[item["item_id"]]
        assert item["deleted_at_source"] == "activity"
        assert item["purge_is_estimate"] is True
        trashed = source if source.explicitly_trashed else holiday
        assert item["deleted_at"] == item["deleted_after"] == iso(trashed.trashed_time)
        assert item["purge_at"] == item["purge_latest"] and not item["age_unknown"]
    # the three photos trashed only through their folder name it in their path
    in_folder = [i for i in my_drive if not fake.state.files[i["item_id"]].explicitly_trashed]
    assert len(in_folder) == 3
    assert all(i["path"] == f"{IN_HOLIDAY}{i['name']}" for i in in_folder)
    assert all(i["restorable"] for i in in_folder)

    # bob: no Activity API and a first scan, so the time trashscan first saw them is the latest
    # they can have been trashed; nothing says how long before: any day now, 30 days at most
    for item in accounts["bob"]:
        assert item["deleted_at_source"] == "observed"
        assert item["purge_is_estimate"] is True and item["age_unknown"] is True
        assert item["deleted_after"] is None and item["purge_at"] == item["deleted_at"]
        assert before <= datetime.fromisoformat(item["deleted_at"]) <= after

    # the Running Club photo alice may not untrash is listed, marked not restorable
    race = next(i for i in shared if i["path"].startswith("Running Club/"))
    assert [i for i in items if not i["restorable"]] == [race]

    # Google Photos: one notice line for its one account, and the run still succeeds
    notices = _photos_notices(result.stderr)
    assert len(notices) == 1
    assert notices[0].startswith("trashscan: note: photos-alice (google-photos):")
    assert "https://photos.google.com/trash" in notices[0]
    assert _problems(result.stderr) == []


def test_scan_says_google_photos_cannot_be_listed(cli):
    result = cli("scan")
    assert result.exit_code == 0, result.stderr
    assert "photos-alice: cannot be listed (`trashscan providers` says why)" in result.stdout
    assert len(_photos_notices(result.stderr)) == 1
    again = cli("scan")  # the same day: the reminder is not repeated, the line is
    assert "photos-alice: cannot be listed" in again.stdout
    assert _photos_notices(again.stderr) == []


def test_table_shows_the_photos_notice_once_and_exits_0(cli):
    result = cli("list")
    assert result.exit_code == 0, result.stderr
    assert len(_photos_notices(result.stderr)) == 1
    assert f"total: {ALICE + BOB} items, " in result.stdout
    assert "Budget 2025" not in result.stdout and ".pdf" not in result.stdout


# ----------------------------------------------------------------------------------- restore


def test_restore_refreshes_an_expired_stored_token_first(cli, sandbox, fake, log):
    """An hour after the last scan the stored access token has expired: the restore's first
    batch needs a fresh one, fetched through the account's transport (its sandbox CA bundle)."""
    secrets = sandbox.workdir / "sandbox-secrets.json"
    seeded = secrets.read_text()  # bob's seeded access token expired two hours ago
    items = cli("list", "--account", "bob", "--format", "json").json()
    secrets.write_text(seeded)
    log.mark()

    result = cli("restore", items[0]["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "1 restored, 0 not restored" in result.stdout
    assert log.calls()[0] == ("POST", "/token", 200)
    # the refresh, then batches: the plan's look, and the restore's look and PATCH (whose
    # answer says the photo is out of the trash: no read-back)
    assert [s for _, _, s in log.calls()] == [200] * 4
    assert not fake.state.is_trashed(fake.state.files[items[0]["item_id"]])


# ----------------------------------------------------------------------------------- throttling


def test_a_throttled_list_page_is_retried_and_nothing_is_missing(cli, fake, log):
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(
        GoogleDriveFake.http_fault(429, retry_after=1), path=r"/drive/v3/files$", times=1
    )

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert len(result.json()) == ALICE + BOB
    assert {i["item_id"] for i in result.json()} == _trashed_ids(fake)
    assert fake.server.faults.pending() == 0
    listings = [r for r in log.since() if r.path == "/drive/v3/files"]
    throttled = [n for n, r in enumerate(listings) if r.status == 429]
    assert len(throttled) == 1
    refused = listings[throttled[0]]
    # the very same page was asked again, and answered
    assert any(
        r.status == 200 and r.method == refused.method and r.query == refused.query
        for r in listings[throttled[0] + 1 :]
    )
    assert all(r.status == 200 for n, r in enumerate(listings) if n != throttled[0])


def test_a_throttled_batch_part_is_sent_again_and_the_item_restored(cli, fake, log):
    items = cli("list", "--account", "bob", "--format", "json").json()
    target = _pick(items, kind="photo")
    fake.fail_next_part(status=429, reason="rateLimitExceeded", retry_after=1)
    log.mark()
    parts_before = len(fake.batch_log)

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"restored           {target['ref']} bob: {target['name']}" in result.stdout
    path = f"/drive/v3/files/{target['item_id']}"
    parts = [(r.method, r.status) for r in fake.batch_log[parts_before:] if r.path == path]
    assert parts == [
        ("GET", 429),  # the plan's look: throttled, sent again alone
        ("GET", 200),
        ("GET", 200),  # the restore's look
        ("PATCH", 200),  # its answer says trashed: false, so nothing is read back
    ]
    assert log.calls() == [("POST", "/batch/drive/v3", 200)] * 4
    assert not fake.state.is_trashed(fake.state.files[target["item_id"]])
    assert fake.refused_calls == []


# ----------------------------------------------------------------------------------- credentials


def test_an_expired_access_token_is_refreshed_on_the_fly(cli, sandbox, fake, log):
    seeded_token = _secrets(sandbox, "bob")["token"]

    first = cli("list", "--account", "bob", "--format", "json")

    assert first.exit_code == 0, first.stderr
    assert len(first.json()) == BOB
    # the stored token had expired: refreshed before the first Drive call, not after a 401
    assert log.calls()[0] == ("POST", "/token", 200)
    assert 401 not in [status for _, _, status in log.calls()]
    refreshed = _secrets(sandbox, "bob")["token"]
    assert refreshed != seeded_token  # kept for the next run

    log.mark()
    again = cli("list", "--account", "bob", "--format", "json")
    assert again.exit_code == 0, again.stderr
    assert ("POST", "/token", 200) not in log.calls()  # the stored token is still good

    assert fake.expire_tokens("bob") >= 1  # Google invalidates it before its expiry
    log.mark()
    third = cli("list", "--account", "bob", "--format", "json")
    assert third.exit_code == 0, third.stderr
    assert {i["item_id"] for i in third.json()} == {i["item_id"] for i in first.json()}
    calls = log.calls()
    assert calls[:3] == [
        ("GET", "/drive/v3/changes", 401),
        ("POST", "/token", 200),
        ("GET", "/drive/v3/changes", 200),
    ]
    assert _secrets(sandbox, "bob")["token"] not in {seeded_token, refreshed}


@pytest.mark.parametrize("scanned_before", [False, True], ids=["first-scan", "after-a-scan"])
def test_a_revoked_grant_fails_that_account_only_and_leaks_no_secret(
    cli, sandbox, fake, scanned_before
):
    if scanned_before:
        assert cli("list", "--all-accounts", "--format", "json").exit_code == 0
    credentials = _secrets(sandbox, "bob")
    fake.revoke("bob")

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 1
    problems = _problems(result.stderr)
    assert len(problems) == 1
    assert "'bob'" in problems[0] and "expired or was revoked" in problems[0]
    assert "re-run `trashscan accounts add google-drive bob`" in problems[0]
    assert "Traceback" not in result.stderr
    assert len(_photos_notices(result.stderr)) == (0 if scanned_before else 1)  # once a day
    items = _by_account(result.json())
    assert len(items["alice"]) == ALICE  # the other account is listed all the same
    assert len(items.get("bob", [])) == (BOB if scanned_before else 0)  # kept from the index
    for key in ("refresh_token", "token", "client_secret"):
        assert credentials[key] not in result.stdout + result.stderr, key
    assert "ya29." not in result.stderr and "1//" not in result.stderr


# ----------------------------------------------------------------------------------- incremental


def test_an_unchanged_rescan_reads_only_the_changes_feeds(cli, fake, log):
    """Google: "To track changes for all items visible to a user, both the user change log and
    the change logs for all shared drives the user is a member of need to be replayed", as
    "certain changes are only reflected in the shared drive change log and never in the user's
    change log" [DOC guides/about-changes]. So every log is read, the user's and one per shared
    drive, all in one batch: one round trip for up to 100 logs."""
    assert cli("list", "--all-accounts", "--format", "json").exit_code == 0
    shared_drives = {d.id for d in fake.state.drives.values()}
    assert len(shared_drives) == 2  # the seed's Family and Running Club, both alice's
    for account, drives in (("alice", len(shared_drives)), ("bob", 0)):
        log.mark()
        parts_before = len(fake.batch_log)
        result = cli("list", "--account", account, "--format", "json")
        assert result.exit_code == 0, result.stderr
        requests = log.since()
        feeds = [
            (r.method, r.path, r.status, r.query.get("driveId", [None])[0])
            for r in (fake.batch_log[parts_before:] if drives else requests)
        ]
        expected = "/batch/drive/v3" if drives else "/drive/v3/changes"  # no batch of one
        assert [(r.method, r.path, r.status) for r in requests] == [
            ("POST" if drives else "GET", expected, 200)
        ]
        assert sorted(feeds, key=str) == sorted(
            [
                ("GET", "/drive/v3/changes", 200, d)
                for d in (None, *(shared_drives if drives else ()))
            ],
            key=str,
        )


def test_an_unchanged_rescan_with_many_shared_drives_costs_a_batch_per_100_logs(cli, fake, log):
    """alice is a member of 2 + 120 shared drives: an unchanged re-scan reads the 123 change
    logs Google says must be replayed in ceil(123 / 100) = 2 round trips (before: 123), and
    the first scan takes their start tokens in batches too."""
    for n in range(120):
        fake.add_shared_drive(f"Club {n:03}", {"alice": "reader"})
    log.mark()
    parts_before = len(fake.batch_log)
    assert cli("list", "--account", "alice", "--format", "json").exit_code == 0
    # the first scan takes every log's start position before listing: the user's alone, the
    # 122 shared drives' in ceil(122 / 100) = 2 batches (before: 122 requests)
    token = "/drive/v3/changes/startPageToken"
    assert [r.path for r in log.since()].count(token) == 1
    assert [p.path for p in fake.batch_log[parts_before:]].count(token) == 122
    log.mark()
    parts_before = len(fake.batch_log)

    result = cli("list", "--account", "alice", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert log.calls() == [("POST", "/batch/drive/v3", 200)] * 2
    parts = fake.batch_log[parts_before:]
    assert [(p.method, p.path, p.status) for p in parts] == [
        ("GET", "/drive/v3/changes", 200)
    ] * 123
    per_log = Counter(p.query.get("driveId", [None])[0] for p in parts)
    assert per_log == Counter({None: 1, **{d: 1 for d in fake.state.drives}})


def _scanned_at(sandbox: Sandbox, account: str) -> datetime:
    """When the account's last scan began, as the plugin noted it in its state."""
    index = Index.open(load_config(sandbox.config_path).index_url)
    try:
        state = index.scan_state(PROVIDER, account)
    finally:
        index.close()
    assert state is not None
    return datetime.fromisoformat(state["scanned_at"])


def test_an_item_trashed_between_two_scans_shows_up_dated(cli, sandbox, fake, log):
    first = cli("list", "--all-accounts", "--format", "json")
    assert first.exit_code == 0
    first_scan = _scanned_at(sandbox, "bob")
    trashed = {account: _kept_photo(fake, account) for account in ("alice", "bob")}
    at = fake.clock() - timedelta(seconds=5)
    for account, photo in trashed.items():
        fake.trash(account, photo.id, at)
    log.mark()

    second = cli("list", "--all-accounts", "--format", "json")

    assert second.exit_code == 0, second.stderr
    items = {i["item_id"]: i for i in second.json()}
    assert len(items) == ALICE + BOB + 2
    alice, bob = items[trashed["alice"].id], items[trashed["bob"].id]
    # alice has Drive Activity (its TRASH event dates it), bob only has the change's time
    assert (alice["deleted_at_source"], bob["deleted_at_source"]) == ("activity", "changes")
    for item in (alice, bob):
        assert item["deleted_at"] == iso(at)
        assert item["purge_latest"] == iso(at + RETENTION)
        assert item["purge_is_estimate"] is True and item["age_unknown"] is False
    assert alice["purge_at"] == iso(at + RETENTION)
    # bob's change came after the first scan's feed position: trashed after that scan began
    # (less 5 minutes against clock skew), so the earliest plausible purge is 30 days after
    assert bob["deleted_after"] == iso(first_scan - timedelta(minutes=5))
    assert bob["purge_at"] == iso(first_scan - timedelta(minutes=5) + RETENTION)
    paths = Counter(r.path for r in log.since())
    assert paths["/drive/v3/files"] == 0  # no full listing: the feeds were enough
    assert paths["/v2/activity:query"] == 1  # alice's only
    # the items listed before keep their dates
    before = {i["item_id"]: i for i in first.json()}
    assert all(items[k]["deleted_at"] == v["deleted_at"] for k, v in before.items())


# ----------------------------------------------------------------------------------- demo


def test_demo_still_runs_with_drive_and_photos():
    result = subprocess.run(
        [sys.executable, "-m", "trashscan", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    totals = result.stdout.partition("\ntotal: ")[2]  # under the list of the most urgent items
    for account in ("alice", "bob"):
        assert re.search(rf"^  {account} +\d+ items ", totals, re.M), account
    assert "https://photos.google.com/trash" in result.stderr
    assert "no longer in the trash." in result.stdout


def test_a_token_rejected_before_its_expiry_is_refreshed_through_the_accounts_tls(
    cli, sandbox, fake, log
):
    """Google may stop accepting an access token before the expiry stored with it: every part
    of the restore's batch answers 401. The refresh must go through the account's transport
    (its ca_bundle, the sandbox CA), not the bare ``httplib2.Http()`` googleapiclient's batch
    would use, which does not trust that CA."""
    items = cli("list", "--account", "alice", "--format", "json").json()
    target = _pick(items, path=None, kind="photo")
    stored = _secrets(sandbox, "alice")
    assert datetime.fromisoformat(stored["expiry"].replace("Z", "+00:00")).replace(
        tzinfo=UTC
    ) > datetime.now(UTC)  # the stored expiry is still ahead
    assert fake.reject_tokens("alice") >= 1
    log.mark()
    parts_before = len(fake.batch_log)

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert f"restored           {target['ref']} alice: {target['name']}" in result.stdout
    assert "TLS" not in result.stderr and "SSL" not in result.stderr
    calls = log.calls()
    assert calls[:3] == [
        ("POST", "/batch/drive/v3", 200),  # its parts answered 401
        ("POST", "/token", 200),  # refreshed once, through the sandbox CA
        ("POST", "/batch/drive/v3", 200),  # the refused parts again
    ]
    assert [r.status for r in fake.batch_log[parts_before:]][:1] == [401]
    assert not fake.state.is_trashed(fake.state.files[target["item_id"]])
    assert _secrets(sandbox, "alice")["token"] != stored["token"]  # kept for the next run


# ----------------------------------------------------------------------------------- paths


def test_photos_trashed_from_live_folders_have_those_folders_in_their_path(cli, fake, log):
    """Every trashed photo is listed under its folders (here up to three live levels), and
    photos sharing folders share the lookups: one batched read per folder level, each folder
    read once per scan, never a request per photo."""
    trips = fake.add_folder("alice", "Trips")
    year = fake.add_folder("alice", "2024", parent=trips.id)
    rome = fake.add_folder("alice", "Rome", parent=year.id)
    paris = fake.add_folder("alice", "Paris", parent=year.id)
    expected: dict[str, str] = {}
    for folder, count, where in ((rome, 40, "Trips/2024/Rome"), (paris, 20, "Trips/2024/Paris")):
        for n in range(count):
            photo = fake.add_file(
                "alice", f"{folder.name}-{n:02}.jpg", "image/jpeg", parent=folder.id
            )
            fake.trash("alice", photo.id)
            expected[photo.id] = f"{where}/{photo.name}"
    photos = fake.find("Photos", account="alice")  # the seed's live folder of two trashed items
    for item in fake.state.files.values():
        if item.parent_id == photos.id and item.explicitly_trashed and not item.is_folder:
            expected[item.id] = f"Photos/{item.name}"
    holiday = fake.find(HOLIDAY, account="alice")  # trashed itself, inside Photos
    for item in fake.state.files.values():
        if item.parent_id == holiday.id:
            expected[item.id] = f"Photos/{HOLIDAY}/{item.name}"
    log.mark()
    parts_before = len(fake.batch_log)

    # What the scan itself costs; pictures: test_google_drive_thumbnails.py.
    result = cli("list", "--account", "alice", "--format", "json", "--no-thumbnails")

    assert result.exit_code == 0, result.stderr
    paths = {i["item_id"]: i["path"] for i in result.json()}
    assert {k: paths[k] for k in expected} == expected
    assert len(expected) == 60 + 2 + 3
    # a photo trashed at the top of My Drive has no folder to show
    top = [i for i in result.json() if i["path"] is None]
    assert top and all(fake.state.files[i["item_id"]].parent_id in fake.state.roots.values()
                       for i in top)  # fmt: skip
    folder_reads = [
        p
        for p in fake.batch_log[parts_before:]
        if p.method == "GET" and p.path.startswith("/drive/v3/files/")
    ]
    read_ids = [p.path.rsplit("/", 1)[1] for p in folder_reads]
    assert len(read_ids) == len(set(read_ids))  # each folder read once
    assert set(read_ids) >= {trips.id, year.id, rome.id, paris.id, photos.id, holiday.id}
    batches = [c for c in log.calls() if c[1] == "/batch/drive/v3"]
    # one batch per level: {Rome, Paris, Photos, Holiday 2025, the root}, {2024}, {Trips}; 60
    # photos in 2 folders cost 8 folder reads in 3 round trips, not a request per photo (and
    # one more batch: the start tokens of alice's 2 shared drives)
    assert len(batches) == 3 + 1, log.calls()
    assert len(read_ids) == 8
    assert [c for c in log.calls() if c[1].startswith("/drive/v3/files/")] == []


def test_a_photo_trashed_between_scans_from_a_live_folder_has_its_path(cli, fake):
    assert cli("list", "--account", "alice", "--format", "json").exit_code == 0
    album = fake.add_folder("alice", "Birthday", parent=fake.find("Photos", account="alice").id)
    photo = fake.add_file("alice", "cake.jpg", "image/jpeg", parent=album.id)
    fake.trash("alice", photo.id)

    result = cli("list", "--account", "alice", "--format", "json")

    assert result.exit_code == 0, result.stderr
    item = next(i for i in result.json() if i["item_id"] == photo.id)
    assert item["path"] == "Photos/Birthday/cake.jpg"
    assert item["deleted_at_source"] == "activity"
