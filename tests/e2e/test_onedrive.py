"""The real CLI against the sandbox's OneDrive fake (erin: personal, frank: business).

Seed (see ``trashscan_onedrive.sandbox.seed``, whose ``fake.manifest`` the tests assert against):

* erin, OneDrive personal: no API lists its recycle bin, so her first scan enrols her (a delta
  pass into the local mirror) and lists nothing, not even the two photos/videos she deleted
  before. ``sandbox.between_scans()`` then deletes 3 photos and 1 video of her Camera Roll, the
  folder "/Pictures/2025 Trip" with its 4 photos and a document, and uploads a new
  IMG_0003.jpg where the deleted one was. The next scan reads the delta feed: each photo/video
  is dated by the scan before (source "changes", the earliest plausible deletion time) and
  purged 30 days later at the earliest (an estimate).
* frank, OneDrive for Business: the recycle bin of his OneDrive site, listed in full every scan,
  with exact ``deletedDateTime`` (source "api") and a purge 93 days later; one entry is in the
  second stage, documents and a deleted folder are in the bin too, and a photo deleted 100 days
  ago is purged.

Throttling faults carry ``Retry-After: 1``, so a test waits at most that second per fault, and
nothing else sleeps; no timing is asserted. Every test ends by checking that no destructive call
(delete, upload, ...), no unknown Graph route and no undocumented one reached the fake.

About request counts: every run builds one msal app per account, and msal reads the authority's
OpenID configuration (``GET /common/v2.0/.well-known/openid-configuration``) when the app is
constructed, even with instance discovery off (which only spares the call to Microsoft's global
instance-discovery endpoint). So each account costs that one sign-in-server GET per run on top
of its Graph requests; a token request only happens when the cached access token is refused.
"""

from __future__ import annotations

import base64
import functools
import json
import logging
import math
import re
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

import pytest

import trashscan.retry
from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import ItemState
from trashscan.output import MOVED_WORDS, OUTCOME_WORDS
from trashscan.provider import CLOCK_MARGIN
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan.timeparse import iso
from trashscan_onedrive.sandbox.fake import OneDriveFake

PROVIDER = "onedrive"
ACCOUNTS = ("erin", "frank")
PERSONAL_DAYS, BUSINESS_DAYS = 30, 93
TRIP = "/Pictures/2025 Trip"
ROLL = "/Pictures/Camera Roll"
VIDEO_SUFFIXES = (".mp4", ".mov")
OPENID = "/common/v2.0/.well-known/openid-configuration"
TOKEN = "/common/oauth2/v2.0/token"
DELTA = "/v1.0/me/drive/root/delta"
QUOTA = "/v1.0/me/drive"  # ?$select=quota: the recycle bin's share of the storage (10% rule)
BIN = re.compile(r"^/beta/sites/[^/]+/recycleBin/items$")
BIN_RESTORE = re.compile(r"^/beta/sites/[^/]+/recycleBin/items/restore$")
BIN_ENTRY = re.compile(r"^/beta/sites/[^/]+/recycleBin/items/(?!restore$)[^/]+$")


pytestmark = pytest.mark.sandbox(PROVIDER)


@pytest.fixture
def log(sandbox: Sandbox) -> GraphLog:
    return GraphLog(sandbox.servers[PROVIDER])


class GraphLog(RequestLog):
    """The request log, with recycle-bin paths shortened and the sign-in server set apart."""

    def calls(self) -> list[tuple[str, str, int | None]]:
        """(method, route, status); recycle-bin paths are shortened to a route name."""
        return [(r.method, _route(r.path), r.status) for r in self.since()]

    def graph(self) -> list[tuple[str, str, int | None]]:
        """Only the Graph requests (not the sign-in server's)."""
        return [c for c in self.calls() if not c[1].startswith("/common/")]


def _route(path: str) -> str:
    if BIN.match(path):
        return "BIN"
    if BIN_RESTORE.match(path):
        return "BIN_RESTORE"
    if BIN_ENTRY.match(path):
        return "BIN_ENTRY"
    return path


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every retry wait of the run's RetryPolicy; the sleeps are real (and at most 1 s each)."""
    recorded: list[float] = []

    def sleep(seconds: float) -> None:
        recorded.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(
        trashscan.retry,
        "RetryPolicy",
        functools.partial(trashscan.retry.RetryPolicy, sleep=sleep),
    )
    return recorded


# ----------------------------------------------------------------------------------- helpers


def _by_account(items: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {account: [] for account in ACCOUNTS}
    for item in items:
        grouped.setdefault(item["account"], []).append(item)
    return grouped


def _paths(items: list[dict], account: str) -> set[str]:
    return {i["path"] for i in items if i["account"] == account}


def _keys(items: list[dict]) -> set[tuple[str, str]]:
    return {(i["account"], i["item_id"]) for i in items}


def _pick(items: list[dict], **where: Any) -> dict:
    return next(i for i in items if all(i[k] == v for k, v in where.items()))


def _problems(stderr: str) -> list[str]:
    return [
        line
        for line in stderr.splitlines()
        if line.strip() and not line.startswith("trashscan: note:")
    ]


def _outcome_lines(stdout: str) -> list[str]:
    """The per-item result lines of `restore` (not its "Will restore" table)."""
    words = (*OUTCOME_WORDS.values(), MOVED_WORDS)
    return [line for line in stdout.splitlines() if line.startswith(words)]


def _index(sandbox: Sandbox) -> Index:
    assert sandbox.config_path is not None
    return Index.open(load_config(sandbox.config_path).index_url)


def _erin_lost(fake: OneDriveFake) -> set[str]:
    """What erin's scan after ``between_scans`` must list: the deleted photos and videos, the
    deleted folder's photos included; not the document, the folder, nor what was deleted before
    her enrolment (invisible to a delta feed)."""
    manifest = fake.manifest["erin"]
    return set(manifest.scan_deleted_media) | set(manifest.scan_folder_photos)


def _frank_lost(fake: OneDriveFake) -> set[str]:
    """frank's recycle-bin photos and videos, second stage included. The deleted folder
    "/Pictures/Offsite" is one bin entry (a folder, not a photo): its 3 photos are not listed,
    since the bin does not show what a deleted folder holds."""
    return set(fake.manifest["frank"].bin_media)


def _enrol_then_delete(cli: Any, sandbox: Sandbox) -> datetime:
    """The first scan (erin enrols), then the between-scans deletions; the scan's start time."""
    started = datetime.now(UTC)
    first = cli("list", "--all-accounts", "--format", "json")
    assert first.exit_code == 0, first.stderr
    assert _paths(first.json(), "erin") == set()
    sandbox.between_scans()
    return started


def _erin_scanned_at(sandbox: Sandbox) -> datetime:
    state = _index(sandbox).scan_state(PROVIDER, "erin")
    assert state is not None and state["drive_type"] == "personal"
    return datetime.fromisoformat(state["scanned_at"].replace("Z", "+00:00"))


def _stored_tokens(sandbox: Sandbox) -> dict[str, list[str]]:
    """Every token in each account's msal cache, as stored (base64) in the sandbox's secrets."""
    stored = json.loads((sandbox.workdir / "sandbox-secrets.json").read_text())["blobs"]
    tokens: dict[str, list[str]] = {}
    for account in ACCOUNTS:
        blob = base64.b64decode(stored[f"trashscan:{PROVIDER}:{account}"]["msal_cache"])
        cache = json.loads(blob)
        tokens[account] = [
            entry["secret"]
            for kind in ("RefreshToken", "AccessToken", "IdToken")
            for entry in cache.get(kind, {}).values()
        ]
    return tokens


def _resync_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "trashscan_onedrive.personal" and r.levelno >= logging.WARNING
    ]


def _kind(path: str) -> str:
    return "video" if path.lower().endswith(VIDEO_SUFFIXES) else "photo"


# ----------------------------------------------------------------------------------- listing


def test_erin_enrols_first_then_lists_what_was_deleted_after(cli, sandbox, fake, log):
    manifest = fake.manifest["erin"]
    before = datetime.now(UTC).replace(microsecond=0)
    first = cli("list", "--all-accounts", "--format", "json")
    after = datetime.now(UTC)

    # The first scan enrols erin: it exits 0, lists nothing for her (not even the photo and
    # video she deleted before: no API shows them) and says so in one note, not as a problem.
    assert first.exit_code == 0, first.stderr
    assert _problems(first.stderr) == []
    notes = [line for line in first.stderr.splitlines() if line.startswith("trashscan: note:")]
    assert len(notes) == 1 and "erin" in notes[0] and "enrolled" in notes[0]
    assert _paths(first.json(), "erin") == set()
    assert _paths(first.json(), "frank") == _frank_lost(fake)
    scanned_at = _erin_scanned_at(sandbox)
    assert before <= scanned_at <= after
    # the enrolment was one delta page (the seeded drive is far below the 1000 a page holds)
    assert log.graph().count(("GET", DELTA, 200)) == 1

    # the fake's clock started at the sandbox's seed time: it runs behind the wall clock
    # trashscan dates scans by, by the sandbox's start-up time
    skew = datetime.now(UTC) - fake.clock()
    sandbox.between_scans()
    log.mark()
    # the scan's own requests; the pictures it captures: test_onedrive_thumbnails.py
    second = cli("list", "--all-accounts", "--format", "json", "--no-thumbnails")

    assert second.exit_code == 0, second.stderr
    assert _problems(second.stderr) == []
    items = _by_account(second.json())
    assert _paths(items["erin"], "erin") == _erin_lost(fake)
    for item in items["erin"]:
        path = item["path"]
        assert item["provider"] == PROVIDER
        assert item["item_id"] == manifest.ids[path]
        assert item["name"] == PurePosixPath(path).name
        assert item["kind"] == _kind(path)
        assert item["size"] == fake.find("erin", item["item_id"]).size
        # the delta feed has no time: the earliest plausible one is the scan before
        assert item["deleted_at_source"] == "changes"
        assert item["deleted_at"] == iso(scanned_at)
        deleted, purge = (datetime.fromisoformat(item[k]) for k in ("deleted_at", "purge_at"))
        folder_or_file = TRIP if path.startswith(TRIP + "/") else path
        assert deleted <= manifest.deleted_at[folder_or_file] + skew  # never later than truth
        # the earliest plausible purge, less what our clock may be off by; the latest: 30 days
        # after this scan
        assert purge - deleted == timedelta(days=PERSONAL_DAYS) - CLOCK_MARGIN, item
        assert datetime.fromisoformat(item["deleted_after"]) == deleted - CLOCK_MARGIN
        latest = datetime.fromisoformat(item["purge_latest"])
        assert latest >= manifest.deleted_at[folder_or_file] + timedelta(days=PERSONAL_DAYS)
        assert item["purge_is_estimate"] is True
        assert item["restorable"] is True
        assert item["state"] == "trashed"
    # the deleted folder is reported alone by the feed: its photos come from the mirror
    in_trip = sorted(i["path"] for i in items["erin"] if i["path"].startswith(TRIP + "/"))
    assert in_trip == sorted(manifest.scan_folder_photos)
    assert len(in_trip) == 4
    # not listed: the document, the folder itself, and what was deleted before the enrolment
    unlisted = {*manifest.scan_deleted_documents, TRIP, *manifest.pre_enrolment_deleted}
    assert not unlisted & _paths(items["erin"], "erin")
    # the new IMG_0003.jpg is live, the listed one is the deleted one
    assert manifest.reused_name is not None
    assert fake.find("erin", manifest.reused_name).id != manifest.ids[manifest.reused_name]
    # one delta page and one quota read for erin, one recycle-bin page for frank
    assert sorted(log.graph()) == sorted(
        [("GET", DELTA, 200), ("GET", QUOTA, 200), ("GET", "BIN", 200)]
    )

    # listed once, kept: a third scan (nothing changed) still lists them, dated the same
    third = cli("list", "--account", "erin", "--format", "json")
    assert third.exit_code == 0, third.stderr
    assert {(i["item_id"], i["deleted_at"]) for i in third.json()} == {
        (i["item_id"], i["deleted_at"]) for i in items["erin"]
    }


def test_frank_lists_the_recycle_bin_with_exact_times(cli, fake):
    manifest = fake.manifest["frank"]
    entries = {e.id: e for e in fake.graph.drives["frank"].bin.values()}

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    items = _by_account(result.json())["frank"]
    assert _paths(items, "frank") == _frank_lost(fake)
    for item in items:
        path = item["path"]
        entry = entries[item["item_id"]]  # the recycle-bin entry id, not the driveItem id
        assert entry.item_id == manifest.ids[path]
        assert item["name"] == entry.name == PurePosixPath(path).name
        assert item["kind"] == _kind(path)
        assert item["size"] == entry.size
        assert item["deleted_at_source"] == "api"
        assert item["deleted_at"] == iso(manifest.deleted_at[path])
        deleted, purge = (datetime.fromisoformat(item[k]) for k in ("deleted_at", "purge_at"))
        assert purge - deleted == timedelta(days=BUSINESS_DAYS), item
        assert item["purge_is_estimate"] is False
        assert item["restorable"] is True
        assert item["state"] == "trashed"
    listed = _paths(items, "frank")
    assert set(manifest.second_stage) <= listed  # emptied from the first stage: still there
    assert not set(manifest.bin_documents) & listed
    assert not set(manifest.purged) & listed  # deleted 100 days ago: gone for good
    assert not set(manifest.bin_folders) & listed
    assert not set(manifest.bin_folder_photos) & listed  # see _frank_lost


def test_documents_are_not_indexed_at_all(cli, sandbox, fake):
    """Not a display filter: even ``--kind any`` (documents included) lists none."""
    _enrol_then_delete(cli, sandbox)
    photos_and_videos = cli("list", "--all-accounts", "--format", "json")
    assert photos_and_videos.exit_code == 0, photos_and_videos.stderr

    anything = cli("list", "--cached", "--kind", "any", "--format", "json")

    assert anything.exit_code == 0, anything.stderr
    assert _keys(anything.json()) == _keys(photos_and_videos.json())
    assert {i["kind"] for i in anything.json()} == {"photo", "video"}
    suffixes = {PurePosixPath(i["name"]).suffix.lower() for i in anything.json()}
    assert not suffixes & {".pdf", ".docx", ".xlsx", ".pptx", ".txt"}


# ----------------------------------------------------------------------------------- restore


def test_restore_erin_free_name_taken_name_and_folder_photo(cli, sandbox, fake, log):
    manifest = fake.manifest["erin"]
    _enrol_then_delete(cli, sandbox)
    items = cli("list", "--all-accounts", "--format", "json").json()
    free = _pick(items, account="erin", path=f"{ROLL}/IMG_0007.heic")
    assert manifest.reused_name is not None
    taken = _pick(items, account="erin", path=manifest.reused_name)
    in_folder = _pick(items, account="erin", path=f"{TRIP}/Beach.jpg")
    occupant = fake.find("erin", manifest.reused_name)
    occupant_before = (occupant.id, occupant.size, occupant.version, occupant.modified)
    log.mark()

    result = cli("restore", free["ref"], taken["ref"], in_folder["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    sibling = f"{ROLL}/IMG_0003 (restored).jpg"
    lines = _outcome_lines(result.stdout)
    assert lines[0] == f"restored           {free['ref']} erin: IMG_0007.heic -> {free['path']}"
    assert lines[1].startswith(
        f"restored under a new name {taken['ref']} erin: IMG_0003.jpg -> {sibling} "
        f"(IMG_0003.jpg was taken: restored as IMG_0003 (restored).jpg"
    )
    assert lines[2].startswith(
        f"restored           {in_folder['ref']} erin: Beach.jpg -> {in_folder['path']} "
        f"(restored with its folder 2025 Trip"
    )
    assert len(lines) == 3
    assert "3 restored, 0 not restored" in result.stdout
    # the fake: the free one is back at its path, same id
    assert fake.find("erin", free["path"]).id == free["item_id"]
    # the taken name: the deleted photo is back beside it; the new file is untouched
    assert fake.find("erin", sibling).id == taken["item_id"]
    current = fake.find("erin", manifest.reused_name)
    assert (current.id, current.size, current.version, current.modified) == occupant_before
    # the folder photo: its folder was restored, and with it all 4 photos
    assert fake.find("erin", TRIP).live
    assert fake.find("erin", in_folder["path"]).id == in_folder["item_id"]
    assert all(fake.find("erin", path).live for path in manifest.scan_folder_photos)
    # three driveItem restores, each accepted; the folder's id was sent, not the photo's
    records = fake.restore_seen
    assert [(r.kind, r.ids, r.status, r.name) for r in records] == [
        ("driveItem", (free["item_id"],), 200, None),
        ("driveItem", (taken["item_id"],), 200, "IMG_0003 (restored).jpg"),
        ("driveItem", (fake.find("erin", TRIP).id,), 200, None),
    ]
    assert all(r.parent_id is None for r in records)  # every original folder was there
    # nothing was ever refused for a taken name: the plugin looked first
    assert not [c for c in log.calls() if c[2] == 409]

    after = cli("list", "--all-accounts", "--format", "json")
    assert after.exit_code == 0, after.stderr
    erin_left = _paths(after.json(), "erin")
    assert erin_left == {f"{ROLL}/IMG_0012.jpg", f"{ROLL}/VID_0002.mp4"}  # the trip came back
    assert _paths(after.json(), "frank") == _frank_lost(fake)
    index = _index(sandbox)
    for item in (free, taken, in_folder):
        stored = index.get(PROVIDER, "erin", item["item_id"])
        assert stored is not None and stored.state is ItemState.RESTORED


def test_restore_erin_two_photos_one_restore_each_and_no_read_back(cli, sandbox, fake, log):
    """Requests of a personal restore, counted: each photo looked at for the plan and again
    before restoring (reads: the two photos in one JSON batch each time), its folder once per
    look-ahead, its name in that folder checked, one restore each; the restore's answer is the
    restored driveItem, so nothing is read back."""
    _enrol_then_delete(cli, sandbox)
    items = cli("list", "--all-accounts", "--format", "json").json()
    chosen = [
        _pick(items, account="erin", path=f"{ROLL}/IMG_0007.heic"),
        _pick(items, account="erin", path=f"{ROLL}/IMG_0012.jpg"),
    ]
    log.mark()

    result = cli("restore", *(i["ref"] for i in chosen), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "2 restored, 0 not restored" in result.stdout

    def kind(r: Any) -> str:
        if r.path.endswith("/$batch"):
            return "batch"
        if r.path.endswith("/restore"):
            return "restore"
        if "includeDeletedItems" in r.query:
            return "look"
        if ":/" in r.path:
            return "name"
        return "read back" if r.path.startswith("/v1.0/me/drive/items/") else "other"

    graph = [r for r in log.since() if not r.path.startswith("/common/")]
    # looks: 2 photos + their folder, for the plan and again for the restore
    assert Counter(kind(q) for r in graph for q in (r.parts or (r,))) == {
        "look": 6,
        "name": 2,
        "restore": 2,
    }
    # round trips: the two photos' looks in one batch, for the plan and for the restore
    assert Counter(kind(r) for r in graph) == {"batch": 2, "look": 2, "name": 2, "restore": 2}
    assert all(len(r.parts) == 2 for r in graph if r.parts)


def test_restore_frank_photo_and_video_through_the_recycle_bin(cli, sandbox, fake, log):
    items = cli("list", "--all-accounts", "--format", "json").json()
    chosen = [
        _pick(items, account="frank", path=f"{ROLL}/IMG_2001.jpg"),
        _pick(items, account="frank", path=f"{ROLL}/VID_2001.mp4"),
    ]
    bin_ids = tuple(i["item_id"] for i in chosen)
    drive = fake.graph.drives["frank"]
    assert set(bin_ids) <= set(drive.bin)
    log.mark()

    result = cli("restore", *(i["ref"] for i in chosen), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert sorted(_outcome_lines(result.stdout)) == sorted(
        f"restored           {i['ref']} frank: {i['name']} -> {i['path']}" for i in chosen
    )
    assert "2 restored, 0 not restored" in result.stdout
    # one restore of both ids, whose answer names both: nothing in doubt, so no listing of the
    # bin (and never the undocumented per-id GET)
    assert Counter(log.graph()) == {("POST", "BIN_RESTORE", 207): 1}
    assert fake.undocumented_calls == []
    (record,) = fake.restore_seen
    assert (record.account, record.kind, set(record.ids)) == ("frank", "recycleBin", set(bin_ids))
    assert set(record.restored) == set(bin_ids)
    # the fake: out of the bin, back in the drive at the same place
    assert not set(bin_ids) & set(drive.bin)
    for item in chosen:
        assert fake.find("frank", item["path"]).live

    after = cli("list", "--all-accounts", "--format", "json")
    assert after.exit_code == 0, after.stderr
    assert _keys(after.json()) == _keys(items) - _keys(chosen)
    index = _index(sandbox)
    for item in chosen:
        stored = index.get(PROVIDER, "frank", item["item_id"])
        assert stored is not None and stored.state is ItemState.RESTORED


def test_a_refused_business_restore_names_the_missing_permission(cli, sandbox, fake):
    items = cli("list", "--account", "frank", "--format", "json").json()
    target = _pick(items, path=f"{ROLL}/IMG_2003.jpg")
    fake.deny_restore("frank")

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 1
    (line,) = _outcome_lines(result.stdout)
    assert line.startswith(f"failed             {target['ref']} frank: IMG_2003.jpg (")
    assert "it needs the delegated permission Sites.ReadWrite.All" in line
    assert "re-run `trashscan accounts add onedrive frank`" in line
    assert "0 restored, 1 not restored" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr
    (record,) = fake.restore_seen
    assert (record.kind, record.ids, record.restored, record.status) == (
        "recycleBin",
        (target["item_id"],),
        (),
        403,
    )
    assert target["item_id"] in fake.graph.drives["frank"].bin
    assert not fake.find("frank", fake.manifest["frank"].ids[target["path"]]).live

    after = cli("list", "--account", "frank", "--format", "json")
    assert after.exit_code == 0, after.stderr
    assert target["item_id"] in {i["item_id"] for i in after.json()}
    stored = _index(sandbox).get(PROVIDER, "frank", target["item_id"])
    assert stored is not None and stored.state is ItemState.TRASHED


# ----------------------------------------------------------------------------------- throttling


@pytest.mark.parametrize("status", [429, 503])
def test_throttled_delta_and_recycle_bin_requests_are_waited_out(
    cli, sandbox, fake, log, waits, status
):
    """A 429 (activityLimitReached) or 503 (serviceNotAvailable) with ``Retry-After: 1`` on
    erin's delta call and on frank's recycle-bin listing: each is retried after exactly the
    second asked for, and the list completes."""
    _enrol_then_delete(cli, sandbox)
    assert fake.server is not None and fake.server.faults is not None
    fault = OneDriveFake.http_fault(status, retry_after=1)
    fake.server.faults.add(fault, path=f"{re.escape(DELTA)}$", times=1)
    fake.server.faults.add(fault, path=r"/recycleBin/items$", times=1)
    log.mark()

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    assert fake.server.faults.pending() == 0
    assert _paths(result.json(), "erin") == _erin_lost(fake)
    assert _paths(result.json(), "frank") == _frank_lost(fake)
    assert [s for _, p, s in log.graph() if p == DELTA] == [status, 200]
    assert [s for _, p, s in log.graph() if p == "BIN"] == [status, 200]
    assert waits == [1.0, 1.0]  # Retry-After honoured: no less, no more


# ----------------------------------------------------------------------------------- credentials


def test_an_expired_access_token_is_refreshed_on_the_fly(cli, sandbox, fake, log):
    _enrol_then_delete(cli, sandbox)
    before = _stored_tokens(sandbox)
    assert fake.expire_tokens("erin") >= 1
    log.mark()

    result = cli("list", "--all-accounts", "--format", "json", "--no-thumbnails")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    assert _paths(result.json(), "erin") == _erin_lost(fake)
    assert _paths(result.json(), "frank") == _frank_lost(fake)
    calls = log.calls()
    # erin: 401 (expired), a refresh at the token endpoint, the same call again; frank: one
    # call with his still valid token; and each account's msal app read the OpenID config
    assert Counter(calls) == {
        ("GET", OPENID, 200): 2,
        ("GET", DELTA, 401): 1,
        ("POST", TOKEN, 200): 1,
        ("GET", DELTA, 200): 1,
        ("GET", QUOTA, 200): 1,
        ("GET", "BIN", 200): 1,
    }
    refused = calls.index(("GET", DELTA, 401))
    refreshed = calls.index(("POST", TOKEN, 200))
    assert refused < refreshed < calls.index(("GET", DELTA, 200))
    after = _stored_tokens(sandbox)
    assert after["erin"] != before["erin"]  # the new tokens are kept for the next run
    assert after["frank"] == before["frank"]

    log.mark()
    again = cli("list", "--account", "erin", "--format", "json", "--no-thumbnails")
    assert again.exit_code == 0, again.stderr
    assert log.calls() == [
        ("GET", OPENID, 200),
        ("GET", DELTA, 200),
        ("GET", QUOTA, 200),
    ]  # no refresh needed


@pytest.mark.parametrize("scanned_before", [False, True], ids=["enrolment", "after-a-scan"])
def test_a_revoked_grant_fails_that_account_only_and_leaks_no_secret(
    cli, sandbox, fake, log, scanned_before
):
    if scanned_before:
        _enrol_then_delete(cli, sandbox)
        assert _paths(cli("list", "--all-accounts", "--format", "json").json(), "erin")
    fake.revoke("erin")
    log.mark()

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 1
    (problem,) = _problems(result.stderr)
    assert problem.startswith("trashscan: account 'erin' (onedrive) failed: ")
    assert "invalid_grant" in problem
    assert "re-run `trashscan accounts add onedrive erin`" in problem
    assert "Traceback" not in result.stderr
    assert _paths(result.json(), "frank") == _frank_lost(fake)  # frank is listed
    if scanned_before:  # erin's items are kept from the index
        assert _paths(result.json(), "erin") == _erin_lost(fake)
    else:
        assert _paths(result.json(), "erin") == set()
    # erin: the delta call is refused, the refresh too, and nothing is retried after that
    erin = [c for c in log.calls() if c[1] in (DELTA, TOKEN)]
    assert erin == [("GET", DELTA, 401), ("POST", TOKEN, 400)]
    output = result.stdout + result.stderr
    secrets = [token for tokens in _stored_tokens(sandbox).values() for token in tokens]
    assert len(secrets) >= 6  # a refresh, an access and an id token per account
    for secret in secrets:
        assert secret not in output


# ----------------------------------------------------------------------------------- incremental


def test_a_410_resync_enrols_again_and_loses_nothing(cli, sandbox, fake, log, caplog):
    """The resync is reported as a warning of the plugin's logger. The CLI configures no
    logging, so a user sees it on stderr through Python's last-resort handler; under pytest
    the log capture takes it instead, hence ``caplog``."""
    _enrol_then_delete(cli, sandbox)
    first_scan = _erin_scanned_at(sandbox)
    fake.expire_delta_tokens("erin")
    log.mark()

    # the stored delta link is void (410 resyncRequired): a full pass from the Location Graph
    # gives, compared with the mirror: the deletions since the previous scan are all found
    result = cli("list", "--account", "erin", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    assert _resync_warnings(caplog) == [
        "erin: OneDrive needs a full resync (resyncRequired): listing the whole drive again "
        "and comparing it with the mirror"
    ]
    assert _paths(result.json(), "erin") == _erin_lost(fake)
    assert {i["deleted_at"] for i in result.json()} == {iso(first_scan)}
    delta = [r for r in log.since() if r.path == DELTA]
    assert [r.status for r in delta] == [410, 200]
    assert "token" in delta[0].query and "token" not in delta[1].query  # started over
    second_scan = _erin_scanned_at(sandbox)

    # once more, with one more deletion: what was listed stays, the new one is found
    extra = f"{ROLL}/IMG_0005.jpg"
    fake.delete("erin", extra)
    fake.expire_delta_tokens("erin")
    caplog.clear()
    again = cli("list", "--account", "erin", "--format", "json")

    assert again.exit_code == 0, again.stderr
    assert len(_resync_warnings(caplog)) == 1
    assert _paths(again.json(), "erin") == _erin_lost(fake) | {extra}
    dates = {i["path"]: i["deleted_at"] for i in again.json()}
    assert dates.pop(extra) == iso(second_scan)
    assert set(dates.values()) == {iso(first_scan)}


def test_a_410_resync_reads_the_drive_in_the_largest_pages(cli, sandbox, fake, log):
    """Graph's ``Location`` after a 410 is a bare delta URL (see the fake); the resync asks
    ``$select`` and ``$top=1000`` again: the 410, then ceil(live items / 1000) pages."""
    fake.bulk_personal("erin", 2500)
    assert cli("scan", "--account", "erin").exit_code == 0
    live = len(fake.graph.drives["erin"].walk())
    fake.expire_delta_tokens("erin")
    log.mark()

    result = cli("scan", "--account", "erin", "--no-thumbnails")  # the resync's own floor

    assert result.exit_code == 0, result.stderr
    delta = [r for r in log.since() if r.path == DELTA]
    assert [r.status for r in delta] == [410] + [200] * math.ceil(live / 1000)
    for record in delta[1:]:
        assert record.query["$top"] == ["1000"]
        assert "deleted" in record.query["$select"][0].split(",")
    assert len(log.graph()) == 1 + math.ceil(live / 1000)  # the floor: nothing else


def _bin_media(fake: OneDriveFake) -> set[str]:
    """The ids of frank's recycle-bin entries that are photos or videos (by extension)."""
    from trashscan_onedrive.options import DEFAULT_EXTENSIONS

    entries = fake.graph.drives["frank"].bin_entries(fake.clock())
    return {
        e.id
        for e in entries
        if not e.folder and PurePosixPath(e.name).suffix.lower() in DEFAULT_EXTENSIONS
    }


def test_a_big_recycle_bin_is_read_in_pages_of_1000(cli, fake, log):
    fake.bulk_recycle_bin("frank", 5000)
    entries = len(fake.graph.drives["frank"].bin_entries(fake.clock()))
    log.mark()

    result = cli("list", "--account", "frank", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert {i["item_id"] for i in result.json()} == _bin_media(fake)
    assert log.graph() == [("GET", "/v1.0/me/drive", 200)] + [("GET", "BIN", 200)] * math.ceil(
        entries / 1000
    )
    bin_requests = [r for r in log.since() if BIN.match(r.path)]
    assert bin_requests[0].query["$top"] == ["1000"]


def test_a_recycle_bin_that_refuses_top_is_read_without_it(cli, fake, log):
    fake.graph.bin_top_supported = False
    fake.bulk_recycle_bin("frank", 500)
    entries = len(fake.graph.drives["frank"].bin_entries(fake.clock()))
    log.mark()

    result = cli("list", "--account", "frank", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    assert {i["item_id"] for i in result.json()} == _bin_media(fake)
    bin_requests = [r for r in log.since() if BIN.match(r.path)]
    # refused once with $top, then the service's own page size (200 here), links as given
    assert [r.status for r in bin_requests] == [400] + [200] * math.ceil(entries / 200)
    assert "$top" in bin_requests[0].query
    assert all("$top" not in r.query for r in bin_requests[1:])


def test_an_unchanged_rescan_of_erin_costs_two_graph_requests(cli, sandbox, fake, log):
    """The delta feed, and the drive's quota (her bin holds deleted photos, whose purge date
    depends on the bin's share of the storage), plus the OpenID-configuration GET msal makes
    for each app it builds (module docstring): 3 requests in all, no token request (the
    cached access token is still valid)."""
    _enrol_then_delete(cli, sandbox)
    assert cli("list", "--all-accounts", "--format", "json").exit_code == 0

    log.mark()
    result = cli("list", "--account", "erin", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert log.graph() == [("GET", DELTA, 200), ("GET", QUOTA, 200)]
    assert log.calls() == [("GET", OPENID, 200), ("GET", DELTA, 200), ("GET", QUOTA, 200)]
    assert _paths(result.json(), "erin") == _erin_lost(fake)

    # frank lists his whole (small) bin again: one page
    log.mark()
    frank = cli("list", "--account", "frank", "--format", "json")
    assert frank.exit_code == 0, frank.stderr
    assert log.calls() == [("GET", OPENID, 200), ("GET", "BIN", 200)]


# ----------------------------------------------------------------------------------- demo


def test_demo_runs_and_shows_erins_deletions_after_the_between_scans_step():
    result = subprocess.run(
        [sys.executable, "-m", "trashscan", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    scan, _, rest = result.stdout.partition("Meanwhile, in the clouds")
    assert rest, result.stdout
    listing = rest.split("$ trashscan restore", 1)[0]
    assert "erin: 0 items scanned" in scan  # enrolled by the first scan, nothing listed yet
    names = {
        PurePosixPath(p).name
        for p in (
            f"{ROLL}/IMG_0003.jpg",
            f"{ROLL}/IMG_0007.heic",
            f"{ROLL}/IMG_0012.jpg",
            f"{ROLL}/VID_0002.mp4",
            *(f"{TRIP}/{stem}.jpg" for stem in ("Beach", "Harbour", "Old Town", "Sunset")),
        )
    }
    # the demo lists the most urgent items only; its totals count every one of erin's
    totals = listing.partition("\ntotal: ")[2]
    assert re.search(rf"^  erin +{len(names)} items ", totals, re.M), totals
