"""The real CLI against the sandbox's Dropbox fake (carol: basic, dave: business).

Seed (see ``trashscan_dropbox.sandbox.seed``, whose ``fake.manifest`` the tests assert against):
each account has deleted photos/videos (one of them no longer restorable), the deleted folder
"/Camera Uploads/2025 Trip" with 3 photos, deleted documents that must never be listed,
/Photos/a.jpg moved to /Archive/a.jpg (not lost: not listed) and /Photos/beach.jpg
deleted and then uploaded again (a live file: not listed). carol deleted within 27 days,
dave within 175; Dropbox keeps deleted files 30 (basic) or 180 (business) days.

Throttling faults carry ``Retry-After: 1``, so a test waits at most that second per fault, and
nothing else sleeps in the tests; no timing is asserted (the restore test gives the fake a
small ``write_latency`` so that overlapping restores would collide, which it reports).
"""

from __future__ import annotations

import functools
import json
import math
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from datetime import datetime, timedelta
from pathlib import PurePosixPath
from typing import Any

import pytest

import trashscan.retry
from trashscan.config import add_account, load_config, remove_account
from trashscan.index import Index
from trashscan.models import ItemState
from trashscan.output import MOVED_WORDS, OUTCOME_WORDS
from trashscan.sandbox.session import Sandbox
from trashscan.timeparse import iso
from trashscan_dropbox.options import DEFAULT_EXTENSIONS
from trashscan_dropbox.sandbox.fake import DropboxFake

PROVIDER = "dropbox"
ACCOUNTS = ("carol", "dave")
RETENTION = {"carol": 30, "dave": 180}  # basic, business: the lowest plan of each type
TRIP = "/Camera Uploads/2025 Trip"
MOVED = "/Photos/a.jpg"
OCCUPIED = "/Photos/beach.jpg"
VIDEO_SUFFIXES = (".mp4", ".mov")
LIST_FOLDER = "/2/files/list_folder"
CONTINUE = "/2/files/list_folder/continue"
RESTORE = "/2/files/restore"
REVISIONS = "/2/files/list_revisions"
TOKEN = "/oauth2/token"

pytestmark = pytest.mark.sandbox(PROVIDER)


# ----------------------------------------------------------------------------------- helpers


def _stored_tokens(sandbox: Sandbox) -> dict[str, dict[str, str]]:
    """Every credential in the sandbox's secret store: refresh and cached access tokens."""
    stored = json.loads((sandbox.workdir / "sandbox-secrets.json").read_text())["secrets"]
    tokens: dict[str, dict[str, str]] = {}
    for account in ACCOUNTS:
        values = stored[f"trashscan:{PROVIDER}:{account}"]
        tokens[account] = {"refresh_token": values["refresh_token"]}
        if "access_token" in values:
            tokens[account]["access_token"] = json.loads(values["access_token"])["token"]
    return tokens


def _by_account(items: list[dict]) -> dict[str, list[dict]]:
    grouped: dict[str, list[dict]] = {}
    for item in items:
        grouped.setdefault(item["account"], []).append(item)
    return grouped


def _paths(items: list[dict], account: str) -> set[str]:
    return {i["path"] for i in items if i["account"] == account}


def _keys(items: list[dict]) -> set[tuple[str, str]]:
    """Item ids are paths, unique per account only (carol and dave share some)."""
    return {(i["account"], i["item_id"]) for i in items}


def _pick(items: list[dict], **where: Any) -> dict:
    return next(i for i in items if all(i[k] == v for k, v in where.items()))


def _problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _outcome_lines(stdout: str) -> list[str]:
    """The per-item result lines of `restore` (not its "Will restore" table)."""
    words = (*OUTCOME_WORDS.values(), MOVED_WORDS)
    return [line for line in stdout.splitlines() if line.startswith(words)]


def _lost(fake: DropboxFake, account: str) -> set[str]:
    """What should be listed: deleted photos/videos that are not elsewhere (moved)."""
    return set(fake.manifest[account].deleted_media)


def _index(sandbox: Sandbox) -> Index:
    assert sandbox.config_path is not None
    return Index.open(load_config(sandbox.config_path).index_url)


# ----------------------------------------------------------------------------------- listing


def test_list_all_accounts_shows_each_lost_photo_and_video_dated_by_the_api(cli, fake):
    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    items = result.json()
    assert set(_by_account(items)) == set(ACCOUNTS)
    assert {i["provider"] for i in items} == {PROVIDER}
    for account in ACCOUNTS:
        manifest = fake.manifest[account]
        # every lost photo/video, and nothing else (not the moved file)
        assert _paths(items, account) == _lost(fake, account), account
        for item in (i for i in items if i["account"] == account):
            path = item["path"]
            assert item["item_id"] == path.lower()
            assert item["name"] == PurePosixPath(path).name
            assert item["kind"] == ("video" if path.endswith(VIDEO_SUFFIXES) else "photo")
            # the deletion time is Dropbox's server_deleted (whole seconds), not an estimate
            assert item["deleted_at_source"] == "api"
            assert item["deleted_at"] == iso(manifest.deleted_at[path])
            deleted, purge = (datetime.fromisoformat(item[k]) for k in ("deleted_at", "purge_at"))
            assert purge - deleted == timedelta(days=RETENTION[account]), item
            # the API names the account type, not the plan: the purge date is a guess
            assert item["purge_is_estimate"] is True
            assert item["size"] == fake.revisions(account, path)[-1].size
            assert item["restorable"] is (path not in manifest.not_restorable), item
            assert item["state"] == "trashed"
        # the deleted folder: its 3 photos, each dated by the folder's deletion
        in_trip = [i for i in items if i["account"] == account and i["path"].startswith(TRIP)]
        assert sorted(i["path"] for i in in_trip) == sorted(manifest.in_deleted_folder)
        assert {i["deleted_at"] for i in in_trip} == {iso(manifest.deleted_at[TRIP])}
        assert all(i["restorable"] for i in in_trip)
        # the one Dropbox says it can no longer restore is listed all the same
        (unrestorable,) = manifest.not_restorable
        assert _pick(items, account=account, path=unrestorable)["restorable"] is False
        # deleted, then uploaded again: a live file, not a lost one
        assert manifest.occupied == [OCCUPIED]
        assert OCCUPIED not in _paths(items, account)
        assert fake.find(account, OCCUPIED).live
        # documents are never listed
        assert not set(manifest.deleted_documents) & _paths(items, account)
    assert all(PurePosixPath(i["name"]).suffix.lower() in DEFAULT_EXTENSIONS for i in items)


def test_documents_are_not_indexed_at_all(cli, fake):
    """Not a display filter: even ``--kind any`` (documents included) lists none."""
    photos_and_videos = cli("list", "--all-accounts", "--format", "json")
    assert photos_and_videos.exit_code == 0, photos_and_videos.stderr

    anything = cli("list", "--cached", "--kind", "any", "--format", "json")

    assert anything.exit_code == 0, anything.stderr
    assert _keys(anything.json()) == _keys(photos_and_videos.json())
    assert {i["kind"] for i in anything.json()} == {"photo", "video"}
    names = {i["name"] for i in anything.json()}
    assert not {n for n in names if n.endswith((".pdf", ".docx"))}


def test_a_moved_file_is_not_listed(cli, fake, log):
    """The old path answers list_revisions(mode=path) with is_deleted and a server_deleted date
    ("either deleted or moved"); its newest revision's id is a live file's id of the same
    listing: moved, not listed, and no id call is needed to say so."""
    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    for account in ACCOUNTS:
        assert fake.manifest[account].moved == {MOVED: "/Archive/a.jpg"}
        assert fake.find(account, "/Archive/a.jpg").live
        assert MOVED not in _paths(result.json(), account)
    # a first scan asks each deleted photo/video's path once, all answered
    tombstones = sum(len(fake.manifest[account].media_tombstones) for account in ACCOUNTS)
    revisions = [s for _, p, s in log.calls() if p == REVISIONS]
    assert revisions == [200] * tombstones


def _listing_entries(fake: DropboxFake, account: str) -> int:
    """How many entries a full recursive listing of ``account`` returns (live and deleted)."""
    ns = fake.accounts[account].namespace
    with ns.lock:
        return sum(1 for _ in ns.keys_under("", True))


def test_a_first_scan_costs_its_floor_and_tells_moves_from_the_listing(cli, fake, log):
    """The floor of a first scan: the listing's pages, one ``list_revisions`` per deleted
    photo/video (its date and the revision to restore), a token refresh (the sandbox stores no
    access token) and ``get_current_account`` (the account type). Moves are told by the ids of
    the live files of the same listing, even when the new path is listed pages later, or
    renamed to a document; a real deletion is still listed."""
    fake.add_file("carol", "/Aaa/late.jpg")  # listed first; moved to the listing's last page
    fake.move("carol", "/Aaa/late.jpg", "/Zzz/late.jpg")
    fake.add_file("carol", "/Aaa/scan.png")  # renamed to a document: it lives on all the same
    fake.move("carol", "/Aaa/scan.png", "/Aaa/scan.pdf")
    lost = set(fake.bulk("carol", 4500, 300)) | _lost(fake, "carol")
    tombstones = len(lost) + len(fake.manifest["carol"].moved) + 2
    pages = math.ceil(_listing_entries(fake, "carol") / 2000)
    assert pages == 3

    # The scan's own floor; what pictures cost is counted in test_dropbox_thumbnails.py.
    result = cli("list", "--account", "carol", "--format", "json", "--no-thumbnails")

    assert result.exit_code == 0, result.stderr
    assert _paths(result.json(), "carol") == lost
    assert Counter(path for _, path, _ in log.calls()) == {
        TOKEN: 1,
        "/2/users/get_current_account": 1,
        LIST_FOLDER: 1,
        CONTINUE: pages - 1,
        REVISIONS: tombstones,
    }
    floor = pages + tombstones + 2
    assert len(log.calls()) == floor
    assert {status for _, _, status in log.calls()} == {200}


def test_retention_days_in_the_config_replaces_the_plan_estimate(cli, sandbox, fake):
    assert sandbox.config_path is not None
    dave = next(dict(t) for t in sandbox.accounts if t["name"] == "dave")
    remove_account(sandbox.config_path, "dave")
    add_account(sandbox.config_path, {**dave, "retention_days": 365})  # an Advanced plan
    assert load_config(sandbox.config_path).account("dave").retention_days == 365

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    accounts = _by_account(result.json())
    assert accounts["dave"] and accounts["carol"]
    for account, days, estimate in (("dave", 365, False), ("carol", 30, True)):
        for item in accounts[account]:
            deleted, purge = (datetime.fromisoformat(item[k]) for k in ("deleted_at", "purge_at"))
            assert purge - deleted == timedelta(days=days), item
            assert item["purge_is_estimate"] is estimate, item
            assert item["deleted_at_source"] == "api"


# ----------------------------------------------------------------------------------- restore


def test_restore_a_photo_a_video_and_a_photo_of_the_deleted_folder(cli, sandbox, fake, log):
    items = cli("list", "--all-accounts", "--format", "json").json()
    chosen = [
        _pick(items, account="carol", path="/Photos/dog.jpg"),  # 2 revisions: the newest
        _pick(items, account="dave", path="/Videos/launch.mp4"),  # 3 revisions
        _pick(items, account="carol", path=f"{TRIP}/IMG_0001.jpg"),  # its folder is deleted
    ]
    deleted_revision = {
        (i["account"], i["path"]): fake.revisions(i["account"], i["path"])[-1] for i in chosen
    }
    log.mark()

    result = cli("restore", *(i["ref"] for i in chosen), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert sorted(_outcome_lines(result.stdout)) == sorted(
        f"restored           {i['ref']} {i['account']}: {i['name']} -> {i['path']}" for i in chosen
    )
    assert "3 restored, 0 not restored" in result.stdout
    # per item: is the path free (no), restore; the restore's answer is the deleted content,
    # so nothing is read back (the floor: one write per item); nothing retried, nothing else
    assert Counter(log.calls()) == {
        ("POST", "/2/files/get_metadata", 409): 3,
        ("POST", RESTORE, 200): 3,
    }
    # the fake: each file is live again, with the rev the restore wrote, of the deleted content
    records = {(r.account, r.path): r for r in fake.restores}
    assert set(records) == set(deleted_revision)
    for (account, path), revision in deleted_revision.items():
        record = records[(account, path)]
        assert record.rev == revision.rev  # the newest revision before the deletion
        node = fake.find(account, path)
        assert node.live and node.revision is not None
        assert node.revision.rev == record.new_rev != revision.rev
        assert node.revision.content_hash == revision.content_hash
    assert fake.find("carol", TRIP).live  # re-created to hold the restored photo

    after = cli("list", "--all-accounts", "--format", "json")
    assert after.exit_code == 0, after.stderr
    left = _keys(after.json())
    assert not left & _keys(chosen)
    assert left == _keys(items) - _keys(chosen)
    # the trip's two other photos are still lost: only the restored one came back
    assert {
        ("carol", f"{TRIP}/IMG_0002.heic".lower()),
        ("carol", f"{TRIP}/IMG_0003.jpg".lower()),
    } <= left
    index = _index(sandbox)
    for item in chosen:
        stored = index.get(PROVIDER, item["account"], item["item_id"])
        assert stored is not None and stored.state is ItemState.RESTORED


def test_restore_onto_a_path_taken_after_the_scan_keeps_the_new_file(cli, sandbox, fake, log):
    path = "/Photos/sunset.jpg"  # live in the seed
    fake.delete("carol", path)
    deleted = fake.revisions("carol", path)[-1]
    items = cli("list", "--account", "carol", "--format", "json").json()
    target = _pick(items, path=path)
    assert target["restorable"] is True
    # after the scan, the user uploads another file at that path
    occupant = fake.add_file("carol", path, b"another sunset, taken later")
    history = [r.rev for r in fake.revisions("carol", path)]
    log.mark()

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    sibling = "/Photos/sunset (restored).jpg"
    assert _outcome_lines(result.stdout) == [
        f"restored under a new name {target['ref']} carol: sunset.jpg -> {sibling} "
        f"({path} was taken: restored as {sibling})"
    ]
    assert "1 restored, 0 not restored" in result.stdout
    # the file now at the path is untouched: same rev, same content, no new revision
    current = fake.find("carol", path)
    assert current.live and current.revision is not None
    assert current.revision.rev == occupant.rev
    assert current.revision.content_hash == occupant.content_hash != deleted.content_hash
    assert [r.rev for r in fake.revisions("carol", path)] == history
    # the deleted photo is back next to it
    restored = fake.find("carol", sibling)
    assert restored.live and restored.revision is not None
    assert restored.revision.content_hash == deleted.content_hash
    assert [(r.path, r.rev) for r in fake.restores] == [(sibling, deleted.rev)]
    assert ("POST", RESTORE, 200) in log.calls()

    after = cli("list", "--account", "carol", "--format", "json")
    assert after.exit_code == 0, after.stderr
    assert target["item_id"] not in {i["item_id"] for i in after.json()}
    stored = _index(sandbox).get(PROVIDER, "carol", target["item_id"])
    assert stored is not None and stored.state is ItemState.RESTORED


def test_restore_by_filter_is_sequential_per_account_and_concurrent_across(
    cli, fake, log, monkeypatch
):
    """Restores are writes: Dropbox answers two at once in one account with 429
    ``too_many_write_operations``. The fake holds the account's write lock for
    ``write_latency`` per restore, so overlapping restores would show as 429s; and the first
    restore of each account waits (inside the lock) until the other account's first restore
    has started, which only happens if the two accounts run at the same time."""
    items = cli("list", "--all-accounts", "--format", "json").json()
    videos = {
        account: {i["path"] for i in items if i["account"] == account and i["kind"] == "video"}
        for account in ACCOUNTS
    }
    assert len(videos["carol"]) == 2 and len(videos["dave"]) == 3
    fake.write_latency = 0.1
    both_started = threading.Barrier(len(ACCOUNTS), timeout=30)
    first: set[str] = set()
    met: list[bool] = []
    guard = threading.Lock()
    original = fake.api._do_restore

    def do_restore(account: Any, arg: Any) -> Any:
        with guard:
            is_first = account.name not in first
            first.add(account.name)
        if is_first:
            try:
                both_started.wait()
                met.append(True)
            except threading.BrokenBarrierError:  # accounts ran one after the other
                met.append(False)
        return original(account, arg)

    monkeypatch.setattr(fake.api, "_do_restore", do_restore)
    log.mark()

    result = cli("restore", "--account", "carol", "--account", "dave", "--kind", "video", "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "5 restored, 0 not restored" in result.stdout
    assert Counter(line.split()[0] for line in _outcome_lines(result.stdout)) == {"restored": 5}
    assert met == [True, True]  # carol and dave were restoring at the same time
    # one at a time within each account: every restore sent once and accepted, no 429
    assert [s for _, p, s in log.calls() if p == RESTORE] == [200] * 5
    assert 429 not in {s for _, _, s in log.calls()}
    done = {
        account: [r.path for r in fake.restores if r.account == account] for account in ACCOUNTS
    }
    for account in ACCOUNTS:
        assert sorted(done[account]) == sorted(videos[account])
        assert all(fake.find(account, path).live for path in videos[account])
    # photos were not restored
    assert not fake.find("carol", "/Photos/dog.jpg").live


def test_the_not_restorable_photo_is_left_out_without_a_request(cli, fake, log):
    items = cli("list", "--account", "carol", "--format", "json").json()
    (path,) = fake.manifest["carol"].not_restorable
    target = _pick(items, path=path)
    log.mark()

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0  # never part of the plan: nothing planned failed
    assert _outcome_lines(result.stdout) == []
    assert "Left out 1 item(s) this account cannot restore:" in result.stdout
    (line,) = [x for x in result.stdout.splitlines() if x.startswith(f"  {target['ref']} ")]
    assert line.startswith(f"  {target['ref']} carol: {target['name']} (")
    assert "can no longer be restored" in line
    assert "nothing to restore" in result.stderr
    assert log.since() == []
    assert fake.restores == []
    assert not fake.find("carol", path).live


# ----------------------------------------------------------------------------------- throttling


@pytest.mark.parametrize("json_body", [True, False], ids=["json-429", "plain-text-429"])
def test_a_429_storm_on_list_folder_is_waited_out(cli, fake, log, monkeypatch, json_body):
    """Three 429s (Retry-After: 1) on the first listing call: the list completes, and each
    retry waited exactly what Dropbox asked. The sleeps are real and recorded."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(
        trashscan.retry,
        "RetryPolicy",
        functools.partial(trashscan.retry.RetryPolicy, sleep=sleep),
    )
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(
        DropboxFake.http_fault("too_many_requests", retry_after=1, json_body=json_body),
        path=f"{LIST_FOLDER}$",
        times=3,
    )

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    assert fake.server.faults.pending() == 0
    for account in ACCOUNTS:
        assert _paths(result.json(), account) == _lost(fake, account)
    listings = [s for _, p, s in log.calls() if p == LIST_FOLDER]
    assert sorted(listings) == [200, 200, 429, 429, 429]  # 3 throttled, 1 answered per account
    assert waits == [1.0, 1.0, 1.0]  # Retry-After honoured: no less, no more


# ----------------------------------------------------------------------------------- credentials


def test_an_expired_access_token_is_refreshed_on_the_fly(cli, sandbox, fake, log):
    first = cli("list", "--all-accounts", "--format", "json")
    assert first.exit_code == 0, first.stderr
    before = _stored_tokens(sandbox)
    assert fake.expire_tokens("carol") >= 1
    log.mark()

    second = cli("list", "--all-accounts", "--format", "json")

    assert second.exit_code == 0, second.stderr
    assert _problems(second.stderr) == []
    assert _keys(second.json()) == _keys(first.json())
    calls = log.calls()
    # carol: 401 expired_access_token, a refresh, the same call again; dave: one call
    assert Counter(calls) == {
        ("POST", CONTINUE, 401): 1,
        ("POST", TOKEN, 200): 1,
        ("POST", CONTINUE, 200): 2,
    }
    refused, refreshed = calls.index(("POST", CONTINUE, 401)), calls.index(("POST", TOKEN, 200))
    assert refused < refreshed < max(i for i, c in enumerate(calls) if c == ("POST", CONTINUE, 200))
    after = _stored_tokens(sandbox)
    assert after["carol"]["access_token"] != before["carol"]["access_token"]  # kept for next run
    assert after["dave"] == before["dave"]

    log.mark()
    third = cli("list", "--account", "carol", "--format", "json")
    assert third.exit_code == 0, third.stderr
    assert log.calls() == [("POST", CONTINUE, 200)]  # the refreshed token was stored and used


@pytest.mark.parametrize("scanned_before", [False, True], ids=["first-scan", "after-a-scan"])
def test_a_revoked_grant_fails_that_account_only_and_leaks_no_secret(
    cli, sandbox, fake, scanned_before
):
    if scanned_before:
        assert cli("list", "--all-accounts", "--format", "json").exit_code == 0
    fake.revoke("carol")

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 1
    (problem,) = _problems(result.stderr)
    assert problem.startswith("trashscan: account 'carol' (dropbox) failed: ")
    assert "revoked" in problem
    # what the token endpoint said, not the 401 the SDK turns it into
    assert "(HTTP 400 invalid_grant)" in problem and "401" not in problem
    app_key = next(t["app_key"] for t in sandbox.accounts if t["name"] == "carol")
    assert f"run `trashscan accounts add dropbox carol --option app_key={app_key}`" in problem
    assert "Traceback" not in result.stderr
    assert _paths(result.json(), "dave") == _lost(fake, "dave")  # dave is listed
    if scanned_before:  # carol's items are kept from the index
        assert _paths(result.json(), "carol") == _lost(fake, "carol")
    else:
        assert _paths(result.json(), "carol") == set()
    output = result.stdout + result.stderr
    secrets = [value for tokens in _stored_tokens(sandbox).values() for value in tokens.values()]
    assert len(secrets) == (4 if scanned_before else 3)  # carol never got an access token
    for secret in secrets:
        assert secret not in output
    assert "sl.u." not in output  # the fake's access token prefix, like Dropbox's


# ----------------------------------------------------------------------------------- incremental


def test_an_unchanged_rescan_costs_one_request_per_account(cli, log):
    assert cli("list", "--all-accounts", "--format", "json").exit_code == 0
    for account in ACCOUNTS:
        log.mark()
        result = cli("list", "--account", account, "--format", "json")
        assert result.exit_code == 0, result.stderr
        assert log.calls() == [("POST", CONTINUE, 200)], account

    log.mark()
    both = cli("list", "--all-accounts", "--format", "json")
    assert both.exit_code == 0, both.stderr
    assert log.calls() == [("POST", CONTINUE, 200)] * 2


# ----------------------------------------------------------------------------------- demo


def test_demo_still_runs_and_shows_dropbox():
    result = subprocess.run(
        [sys.executable, "-m", "trashscan", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    scan, _, rest = result.stdout.partition("Meanwhile, in the clouds")
    totals = rest.partition("\ntotal: ")[2]  # under the list of the most urgent items
    for account in ACCOUNTS:
        assert re.search(rf"^{account}: \d+ items scanned$", scan, re.M), account
        assert re.search(rf"^  {account} +\d+ items ", totals, re.M), account
