"""Photos already in a My Drive trash when the account is added, with no Drive Activity API.

bob's Cloud project has not enabled Drive Activity (the fake answers 403 SERVICE_DISABLED), and
his five photos and videos were trashed 2, 7, 13, 21 and 27 days before his first scan. Nothing
Drive says dates them: each may be purged any day, and by 30 days after it was first seen at the
latest. That is what trashscan must say, in `list` and in `check`, without crying wolf.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
import tomlkit

from trashscan.sandbox.session import Sandbox
from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.sandbox.model import TRASH_RETENTION

PROVIDER = "google-drive"
BOB_TRASHED_DAYS_AGO = (2, 7, 13, 21, 27)


pytestmark = pytest.mark.sandbox(PROVIDER)


@pytest.fixture
def sandbox(sandbox: Sandbox) -> Sandbox:
    """The Drive fake only, with bob's account set to use Drive Activity (the new default)."""
    assert sandbox.config_path is not None
    config = tomlkit.parse(sandbox.config_path.read_text())
    for table in config["accounts"]:  # type: ignore[union-attr]
        table["activity"] = True
    sandbox.config_path.write_text(tomlkit.dumps(config))
    return sandbox


def _true_purge(fake: GoogleDriveFake, item_id: str) -> datetime:
    origin = fake.state.trash_origin(fake.state.files[item_id])
    assert origin is not None and origin.trashed_time is not None
    return origin.trashed_time + TRASH_RETENTION


def test_list_says_bob_s_photos_may_be_purged_any_day_and_by_when(cli, fake):
    before = datetime.now(UTC).replace(microsecond=0)
    result = cli("list", "--account", "bob", "--format", "json")
    assert result.exit_code == 0, result.stderr
    items = result.json()
    assert len(items) == len(BOB_TRASHED_DAYS_AGO)
    for item in items:
        seen = datetime.fromisoformat(item["deleted_at"])
        assert seen >= before  # first seen now: the latest it can have been trashed
        assert (item["age_unknown"], item["deleted_after"]) == (True, None)
        assert item["purge_at"] == item["deleted_at"]  # the earliest plausible purge: now
        assert datetime.fromisoformat(item["purge_latest"]) == seen + TRASH_RETENTION
        real = _true_purge(fake, item["item_id"])
        assert datetime.fromisoformat(item["purge_at"]) <= real
        assert datetime.fromisoformat(item["purge_latest"]) >= real

    table = cli("list", "--account", "bob", "--cached")
    latest = (before + TRASH_RETENTION).strftime("%Y-%m-%d")
    rows = [line for line in table.stdout.splitlines() if " bob " in line]
    assert len(rows) == len(BOB_TRASHED_DAYS_AGO)
    for row in rows:  # deleted on or before today; purged by 30 days from now at the latest
        assert f"≤{before:%Y-%m-%d}" in row and f"≤{latest}" in row
        assert "≤29d" in row or "≤30d" in row


def test_check_reports_them_once_as_a_warning_not_an_alarm(cli, fake):
    first = cli("check", "--account", "bob", "--within", "7d")

    assert first.exit_code == 1, first.stdout + first.stderr  # WARNING, not CRITICAL
    lines = first.stdout.splitlines()
    assert lines[0] == (
        "WARNING: 5 trashed items of unknown age may be purged any day; 1 account checked"
    )
    latest = (datetime.now(UTC) + TRASH_RETENTION).strftime("%Y-%m-%d")
    reported = [line for line in lines if "age unknown" in line]
    assert len(reported) == len(BOB_TRASHED_DAYS_AGO)
    assert all(f"age unknown, purged by {latest} at the latest" in line for line in reported)
    assert all(line.startswith("  warn ") for line in reported)
    # the one truly due within 7 days (trashed 27 days ago) is among them: nothing due is missed
    due = {
        f.name
        for f in fake.state.files.values()
        if f.owner == fake.accounts["bob"].email
        and f.mime_type.split("/")[0] in {"image", "video"}
        and fake.state.is_trashed(f)
        and _true_purge(fake, f.id) <= datetime.now(UTC) + timedelta(days=7)
    }
    assert len(due) == 1
    assert all(any(name in line for line in reported) for name in due)

    again = cli("check", "--account", "bob", "--within", "7d", "--format", "json")
    assert again.exit_code == 1
    report = json.loads(again.stdout)
    assert report["status"] == "warning"
    assert [i["age_unknown"] for i in report["items"]] == [True] * len(BOB_TRASHED_DAYS_AGO)
    assert not any(i["critical"] for i in report["items"])


def test_a_disabled_activity_api_is_said_once(cli, fake):
    first = cli("scan", "--account", "bob")
    assert first.exit_code == 0, first.stderr
    notes = [line for line in first.stderr.splitlines() if "Drive Activity" in line]
    assert len(notes) == 1
    assert notes[0].startswith(
        "trashscan: note: bob (google-drive): the Drive Activity API is not enabled in your "
        "Google Cloud project"
    )
    assert "https://console.cloud.google.com/apis/library/driveactivity.googleapis.com" in notes[0]

    photo = fake.add_file("bob", "later.jpg", "image/jpeg", size=1000)
    fake.trash("bob", photo.id)  # something to date: the next scan asks Drive Activity again
    for _ in range(2):
        again = cli("list", "--account", "bob", "--format", "json")
        assert again.exit_code == 0, again.stderr
        assert "Drive Activity" not in again.stderr
    dated = {i["name"]: i for i in again.json()}["later.jpg"]
    assert (dated["deleted_at_source"], dated["age_unknown"]) == ("changes", False)


def test_activity_refused_or_enabled_later_is_followed(cli, fake):
    assert cli("scan").exit_code == 0  # bob's project has no Drive Activity: said once
    fake.set_scopes("alice", {"https://www.googleapis.com/auth/drive"})  # consent narrowed
    fake.set_api_enabled("bob", "driveactivity.googleapis.com")  # bob enabled it meanwhile
    for account in ("alice", "bob"):
        photo = fake.add_file(account, f"new-{account}.jpg", "image/jpeg", size=1000)
        fake.trash(account, photo.id)

    result = cli("list", "--format", "json")

    assert result.exit_code == 0, result.stderr
    notes = [line for line in result.stderr.splitlines() if "Drive Activity" in line]
    assert len(notes) == 1
    assert notes[0].startswith(
        "trashscan: note: alice (google-drive): this account's sign-in lacks the Drive Activity "
        "permission"
    )
    assert "re-run `trashscan accounts add google-drive alice`" in notes[0]
    items = {i["name"]: i for i in result.json()}
    assert items["new-alice.jpg"]["deleted_at_source"] == "changes"  # the fallback
    assert items["new-bob.jpg"]["deleted_at_source"] == "activity"  # dated again
