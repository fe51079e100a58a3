"""The core promise, checked against every provider's sandbox: a purge date is never later than
the real one.

Every fake knows when each of its items was really deleted, and so when the cloud will really
purge it. The test runs the demo's flow through the real CLI (a first scan, the clouds change, a
listing), plus a photo trashed in each Google Drive account between two scans, then compares
what trashscan says with that ground truth, item by item:

* ``purge_at`` (what ``check``, alerts and the sort use) is never later than the real purge;
* ``purge_latest``, when trashscan states one ("purged by ... at the latest"), is never earlier.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import pytest

from trashscan.sandbox.session import Sandbox
from trashscan.testing import started_sandbox
from trashscan_google_drive.sandbox.model import TRASH_RETENTION
from trashscan_local_trash.sandbox.fake import LAPTOP_FOLDER, LAPTOP_ITEMS
from trashscan_onedrive.sandbox.model import BIN_RETENTION, PERSONAL_RETENTION

Truth = Callable[[dict[str, Any]], datetime | None]
LISTABLE = {"local-trash", "google-drive", "dropbox", "onedrive", "icloud"}


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """Every installed fake (the demo's sandbox), not the local-trash-only default."""
    with started_sandbox(tmp_path / "sandbox") as box:
        yield box


def _when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def _google_drive(box: Sandbox) -> Truth:
    state = box.fakes["google-drive"].state

    def truth(item: dict[str, Any]) -> datetime | None:
        origin = state.trash_origin(state.files[item["item_id"]])
        assert origin is not None and origin.trashed_time is not None, item
        return origin.trashed_time + TRASH_RETENTION

    return truth


def _dropbox(box: Sandbox) -> Truth:
    manifests = box.fakes["dropbox"].manifest

    def truth(item: dict[str, Any]) -> datetime | None:
        manifest = manifests[item["account"]]
        return manifest.deleted_at[item["path"]] + timedelta(days=manifest.retention_days)

    return truth


def _onedrive(box: Sandbox) -> Truth:
    manifests = box.fakes["onedrive"].manifest

    def truth(item: dict[str, Any]) -> datetime | None:
        manifest = manifests[item["account"]]
        keep = PERSONAL_RETENTION if manifest.drive_type == "personal" else BIN_RETENTION
        path = PurePosixPath(item["path"])
        for candidate in (path, *path.parents):  # a photo deleted with its folder
            if str(candidate) in manifest.deleted_at:
                return manifest.deleted_at[str(candidate)] + keep
        raise AssertionError(f"the OneDrive fake never deleted {item['path']}")

    return truth


def _icloud(box: Sandbox) -> Truth:
    fake = box.fakes["icloud"]

    def truth(item: dict[str, Any]) -> datetime | None:
        kind, _, ident = item["item_id"].partition(":")
        if kind == "photo":
            return fake.find_asset(item["account"], ident).date_expunged
        expiry = {d.drivewsid: d.expires_at for d in fake.drive_trash(item["account"])}
        return expiry[ident]

    return truth


def _local_trash(box: Sandbox) -> Truth:
    """The laptop account empties after ``purge_after_days = 30`` (GNOME never earlier); the USB
    stick's trash is kept until emptied by hand."""
    seeded = box.now.replace(microsecond=0)
    roots = {a["name"]: Path(a["trash_dirs"][0]).parent for a in box.accounts if "trash_dirs" in a}
    ages = {original: days for original, _, days in LAPTOP_ITEMS}
    folder, _, folder_days, inner = LAPTOP_FOLDER
    ages.update({f"{folder}/{rel}": folder_days for rel in inner})

    def truth(item: dict[str, Any]) -> datetime | None:
        if item["account"] != "laptop":
            return None
        original = Path(item["path"]).relative_to(roots["laptop"]).as_posix()
        return seeded - timedelta(days=ages[original]) + timedelta(days=30)

    return truth


def test_no_provider_ever_shows_a_purge_later_than_the_real_one(cli, sandbox):
    truths = {
        "google-drive": _google_drive(sandbox),
        "dropbox": _dropbox(sandbox),
        "onedrive": _onedrive(sandbox),
        "icloud": _icloud(sandbox),
        "local-trash": _local_trash(sandbox),
    }
    assert cli("scan", "--all-accounts").exit_code == 0
    sandbox.between_scans()
    drive = sandbox.fakes["google-drive"]
    for account in ("alice", "bob"):  # dated by Drive Activity (alice), by the changes feed (bob)
        photo = drive.add_file(account, f"late-{account}.jpg", "image/jpeg", size=1000)
        drive.trash(account, photo.id)

    result = cli("list", "--all-accounts", "--kind", "any", "--format", "json")

    assert result.exit_code == 0, result.stderr
    items = json.loads(result.stdout)
    assert {i["provider"] for i in items} == LISTABLE
    late: list[str] = []
    early: list[str] = []
    for item in items:
        real = truths[item["provider"]](item)
        if real is None:
            continue
        shown, latest = _when(item["purge_at"]), _when(item["purge_latest"])
        where = f"{item['provider']}/{item['account']} {item['name']}"
        if shown is None or shown > real:
            late.append(f"{where}: shown {shown}, purged {real}")
        if latest is not None and latest < real.replace(microsecond=0):  # JSON has seconds
            early.append(f"{where}: purged by {latest} at the latest, really {real}")
    print("\n".join(late))
    assert late == []
    assert early == []
