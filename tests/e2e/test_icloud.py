"""The real CLI against the sandbox's Apple iCloud fake (grace), over loopback HTTPS.

Seed (``trashscan_icloud.sandbox.seed``; tests read the fake's state, not copies of it): grace has
2FA on, and her first password sign-in counts as coming from a browser trusted earlier (it
returns a trust token, no code asked). Photos' Recently Deleted holds 25 photos/videos (two share
a file name); iCloud Drive's Recently Deleted holds 4 items: 3 photos/videos and a PDF, and the
restore path of one of them (``Camera Uploads/IMG_0420.JPG``) is taken by a file imported since.

Every test ends by asserting that the fake never saw a destructive write (``isDeleted: 1``,
``isExpunged: 1``, a CloudKit delete, Drive's ``deleteItems``/``moveItemsToTrash``) nor a call
it does not model. The one throttling fault carries ``Retry-After: 1``, the only real wait in
this file; the Advanced Data Protection handshake's 5-second steps are recorded, not slept.
No timing is asserted.
"""

from __future__ import annotations

import builtins
import functools
import http.cookiejar
import io
import json
import os
import re
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

import trashscan.retry
from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import ItemState, RestoreOutcome
from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan.timeparse import iso
from trashscan_icloud.sandbox.fake import ICloudFake
from trashscan_icloud.sandbox.model import DriveRestore
from trashscan_icloud.service import PCS_STEP

PROVIDER = "icloud"
ACCOUNT = "grace"
CK = "/ck/database/1/com.apple.photos.cloud/production/private"
QUERY = f"{CK}/records/query"
LOOKUP = f"{CK}/records/lookup"
MODIFY = f"{CK}/records/modify"
RETRIEVE = "/drivews/retrieveItemDetailsInFolders"
PUT_BACK = "/drivews/putBackItemsFromTrash"
IDMSA = "/idmsa/appleauth/auth"
SETUP = "/setup/ws/1"
VALIDATE = f"{SETUP}/validate"
ACCOUNT_LOGIN = f"{SETUP}/accountLogin"
WEB_ACCESS_STATE = f"{SETUP}/requestWebAccessState"
REQUEST_PCS = f"{SETUP}/requestPCS"
CONSENT = f"{SETUP}/enableDeviceConsentForPCS"
RECENTLY_DELETED = "CPLAssetAndMasterDeletedByExpungedDate"
PASSWORD_SIGN_IN = [
    ("GET", f"{IDMSA}/authorize/signin", 200),
    ("POST", f"{IDMSA}/signin/init", 200),
    ("POST", f"{IDMSA}/signin/complete", 200),
    ("POST", ACCOUNT_LOGIN, 200),
]
NEEDS_2FA = (
    "trashscan: account 'grace' (icloud) failed: iCloud account grace needs a new 2FA sign-in "
    "(run `trashscan accounts add icloud grace`)"
)
WEB_ACCESS_OFF = (
    "trashscan: account 'grace' (icloud) failed: iCloud web access is off (Advanced Data "
    "Protection): trashscan cannot read this account; turn on 'Access iCloud Data on the Web' "
    "to use it"
)
MIME = {  # Photos' itemType (the fake's UTI) -> the mime type listed
    "public.heic": "image/heic",
    "public.jpeg": "image/jpeg",
    "public.png": "image/png",
    "com.apple.quicktime-movie": "video/quicktime",
    "public.mpeg-4": "video/mp4",
}
DRIVE_MEDIA = {"jpg", "heic", "mov"}  # the seeded trash's photo/video extensions


pytestmark = pytest.mark.sandbox(PROVIDER)


@pytest.fixture
def log(sandbox: Sandbox) -> AppleLog:
    return AppleLog(sandbox.servers[PROVIDER])


@pytest.fixture
def queries(sandbox: Sandbox, monkeypatch: pytest.MonkeyPatch) -> QueryTap:
    server = sandbox.servers[PROVIDER]
    tap = QueryTap(server.faults)
    monkeypatch.setattr(server, "faults", tap)
    return tap


@pytest.fixture
def home(sandbox: Sandbox) -> Path:
    """The sandbox config's data dir, where the plugin keeps pyicloud's session files."""
    return sandbox.data_dir


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait of the CLI's retry policy (Retry-After, and the PCS handshake's steps, which
    use the same sleep), recorded and not slept."""
    recorded: list[float] = []
    monkeypatch.setattr(
        trashscan.retry,
        "RetryPolicy",
        functools.partial(trashscan.retry.RetryPolicy, sleep=recorded.append),
    )
    return recorded


class AppleLog(RequestLog):
    """The request log, with the sign-in requests set apart."""

    def auth(self) -> list[tuple[str, str, int | None]]:
        """Sign-in requests: idmsa (SRP, 2FA, trust), setup's accountLogin and validate."""
        return [c for c in self.calls() if _is_auth(c[1])]

    def count(self, path: str) -> int:
        return sum(1 for _, p, _ in self.calls() if p == path)


def _is_auth(path: str) -> bool:
    return path.startswith(IDMSA) or path in (VALIDATE, ACCOUNT_LOGIN)


class QueryTap:
    """Stands in for the server's fault injector, which sees each request's body: the request log
    keeps only method, path and status, and every CloudKit query shares one path. Records each
    query's ``recordType`` and ``startRank``, can throttle one Recently Deleted page, and hands
    every request on to the real injector."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.seen: list[tuple[str | None, int | None]] = []
        self.throttle: dict[int, HttpFault] = {}  # startRank -> the fault for its next request

    def match(self, request: Any) -> Any:
        if request.path == QUERY:
            query = json.loads(request.body).get("query") or {}
            record_type = query.get("recordType")
            rank = next(
                (
                    f["fieldValue"]["value"]
                    for f in query.get("filterBy") or []
                    if f.get("fieldName") == "startRank"
                ),
                None,
            )
            self.seen.append((record_type, rank))
            if record_type == RECENTLY_DELETED and rank in self.throttle:
                return self.throttle.pop(rank)
        return self.inner.match(request)

    def pending(self) -> int:
        return self.inner.pending() + len(self.throttle)

    def pages(self) -> list[int | None]:
        return [rank for record_type, rank in self.seen if record_type == RECENTLY_DELETED]


# ----------------------------------------------------------------------------------- helpers


def _problems(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.strip()]


def _outcome_lines(stdout: str) -> list[str]:
    """The per-item result lines of `restore` (not its "Will restore" table)."""
    words = {outcome.value for outcome in RestoreOutcome}
    return [line for line in stdout.splitlines() if line.split(" ", 1)[0] in words]


def _ids(items: list[dict]) -> set[str]:
    return {i["item_id"] for i in items}


def _by_id(items: list[dict]) -> dict[str, dict]:
    return {i["item_id"]: i for i in items}


def _expected_ids(fake: ICloudFake) -> set[str]:
    """What grace's Recently Deleted albums hold now that trashscan lists: every deleted
    photo/video, and the photos/videos of iCloud Drive's trash."""
    photos = {f"photo:{a.asset_id}" for a in fake.deleted_assets(ACCOUNT)}
    drive = {
        f"drive:{d.drivewsid}"
        for d in fake.drive_trash(ACCOUNT)
        if (d.extension or "").lower() in DRIVE_MEDIA
    }
    return photos | drive


def _index(sandbox: Sandbox) -> Index:
    assert sandbox.config_path is not None
    return Index.open(load_config(sandbox.config_path).index_url)


def _list(cli: Any, *extra: str) -> list[dict]:
    result = cli("list", "--all-accounts", "--format", "json", *extra)
    assert result.exit_code == 0, result.stderr
    assert _problems(result.stderr) == []
    return result.json()


def _restore_body(record_name: str, tag: str) -> dict[str, Any]:
    """The one operation a photo restore may send: the captured web delete, flag back at 0."""
    return {
        "operationType": "update",
        "record": {
            "recordName": record_name,
            "recordChangeTag": tag,
            "recordType": "CPLAsset",
            "fields": {"isDeleted": {"value": 0}},
        },
    }


def _account_dir(home: Path) -> Path:
    return home / "accounts" / PROVIDER / ACCOUNT


def _stored_secrets(sandbox: Sandbox, home: Path) -> set[str]:
    """grace's password (the sandbox's secret store) and every value pyicloud keeps in her
    account dir: the session file's tokens and ids, and the cookie jar's values."""
    stored = json.loads((sandbox.workdir / "sandbox-secrets.json").read_text())["secrets"]
    values = {stored[f"trashscan:{PROVIDER}:{ACCOUNT}"]["password"]}
    folder = _account_dir(home)
    (session,) = folder.glob("*.session")
    data = json.loads(session.read_text())
    for key in ("session_token", "trust_token", "scnt", "session_id"):
        if data.get(key):
            values.add(data[key])
    (jar_file,) = folder.glob("*.cookiejar")
    jar = http.cookiejar.LWPCookieJar()
    jar.load(str(jar_file), ignore_discard=True, ignore_expires=True)
    cookies = {(c.value or "").replace('\\"', "").strip('"') for c in jar}
    assert any(c.startswith("v=2:t=") for c in cookies)  # the X-APPLE-WEBAUTH-TOKEN was read
    return values | {c for c in cookies if len(c) >= 16}


# ----------------------------------------------------------------------------------- listing


def test_list_shows_photos_videos_and_drive_items_with_exact_purge_dates(cli, fake):
    items = _list(cli)

    assert {(i["provider"], i["account"]) for i in items} == {(PROVIDER, ACCOUNT)}
    assert _ids(items) == _expected_ids(fake)
    assert all(i["state"] == "trashed" and i["restorable"] is True for i in items)
    listed = _by_id(items)
    # Photos: 25 deleted assets, two of them with one file name; dates from dateExpunged
    deleted = fake.deleted_assets(ACCOUNT)
    assert len(deleted) == 25
    for asset in deleted:
        item = listed[f"photo:{asset.asset_id}"]
        assert asset.date_expunged is not None and asset.deleted_at is not None
        assert item["purge_at"] == iso(asset.date_expunged), item  # to the second
        assert item["purge_is_estimate"] is False
        assert item["deleted_at"] == iso(asset.deleted_at)  # dateExpunged - 30 days
        assert item["deleted_at_source"] == "api"
        assert item["name"] == asset.filename
        assert item["size"] == asset.size
        assert item["kind"] == ("video" if asset.kind == "movie" else "photo")
        assert item["mime_type"] == MIME[asset.uti]
        assert item["path"] is None
    photo_names = [i["name"] for i in items if i["item_id"].startswith("photo:")]
    assert len(photo_names) == 25 and len(set(photo_names)) == 24  # the duplicate name: both
    assert {i["kind"] for i in items if i["item_id"].startswith("photo:")} == {"photo", "video"}
    # iCloud Drive: 3 photos/videos of 4 trashed items; dates from dateChanged/dateExpiration
    trash = {f"drive:{d.drivewsid}": d for d in fake.drive_trash(ACCOUNT)}
    drive_items = [i for i in items if i["item_id"].startswith("drive:")]
    assert sorted(i["name"] for i in drive_items) == ["IMG_0420.JPG", "IMG_0533.HEIC", "beach.mov"]
    for item in drive_items:
        node = trash[item["item_id"]]
        assert node.expires_at is not None and node.trashed_at is not None
        assert item["purge_at"] == iso(node.expires_at), item
        assert item["purge_is_estimate"] is False
        assert item["deleted_at"] == iso(node.trashed_at)
        assert item["deleted_at_source"] == "api"
        assert item["path"] == node.restore_path
        assert item["name"] == node.full_name
        assert item["size"] == node.size
        assert item["kind"] == ("video" if node.extension == "mov" else "photo")
    # the document in the drive trash is not listed
    (document,) = [d for d in trash.values() if d.extension == "pdf"]
    assert document.full_name == "Tax return 2023.pdf"
    assert f"drive:{document.drivewsid}" not in listed


def test_documents_are_not_indexed_at_all(cli, fake):
    """Not a display filter: even ``--kind any`` (documents included) lists none."""
    photos_and_videos = _list(cli)

    anything = cli("list", "--cached", "--kind", "any", "--format", "json")

    assert anything.exit_code == 0, anything.stderr
    assert _ids(anything.json()) == _ids(photos_and_videos)
    assert {i["kind"] for i in anything.json()} == {"photo", "video"}
    assert "Tax return 2023.pdf" not in {i["name"] for i in anything.json()}


# ----------------------------------------------------------------------------------- restore


def test_restore_a_photo_a_video_and_drive_items_without_overwriting(cli, sandbox, fake, log):
    items = _list(cli)
    manifest = fake.manifest[ACCOUNT]
    listed = _by_id(items)
    assets = [a for a in fake.deleted_assets(ACCOUNT) if not a.is_live_photo]
    photo_asset = next(a for a in assets if a.kind == "image")
    video_asset = next(a for a in assets if a.kind == "movie")
    photo = listed[f"photo:{photo_asset.asset_id}"]
    video = listed[f"photo:{video_asset.asset_id}"]
    free = next(
        i for i in items if i["item_id"].startswith("drive:") and i["name"] == "IMG_0533.HEIC"
    )
    taken = listed[f"drive:{manifest.taken_restore_path}"]
    tags = {a.asset_id: (a.asset_tag, a.master_tag) for a in (photo_asset, video_asset)}
    occupant_id = manifest.drive_files[-1]  # IMG_0420.JPG, imported again after the deletion
    occupant = fake.state.accounts[ACCOUNT].drive.by_drivewsid(occupant_id)
    assert occupant is not None and fake.drive_path(ACCOUNT, occupant_id) == taken["path"]
    occupant_before = (occupant.etag, occupant.size, occupant.docwsid)
    log.mark()

    result = cli("restore", photo["ref"], video["ref"], free["ref"], taken["ref"], "--yes")

    assert result.exit_code == 1, result.stdout + result.stderr  # one was not restored
    note = "experimental: check it in iCloud Photos"
    assert sorted(_outcome_lines(result.stdout)) == sorted(
        [
            f"restored           {photo['ref']} grace: {photo['name']} ({note})",
            f"restored           {video['ref']} grace: {video['name']} ({note})",
            f"restored           {free['ref']} grace: IMG_0533.HEIC -> {free['path']}",
            f"skipped            {taken['ref']} grace: IMG_0420.JPG ({taken['path']} is taken "
            f"by another file: move or rename the file at {taken['path']} in iCloud Drive, then "
            "recover IMG_0420.JPG by hand in iCloud Drive › Recently Deleted)",
        ]
    )
    assert "3 restored, 1 not restored" in result.stdout
    # Photos: one isDeleted: 0 update per asset with its current change tag, and nothing else
    assert [(e.account, e.atomic, e.operations, e.outcomes) for e in fake.modify_log] == [
        (ACCOUNT, True, [_restore_body(asset_id, tag)], ["OK"])
        for asset_id, (tag, _master) in tags.items()
    ]
    for asset_id, (_tag, master_tag) in tags.items():
        asset = fake.find_asset(ACCOUNT, asset_id)
        assert not asset.is_deleted
        assert asset.master_tag == master_tag  # the CPLMaster was not written
        assert asset.extra_fields == {} and not asset.favorite and not asset.hidden
    assert not {a.asset_id for a in fake.deleted_assets(ACCOUNT)} & set(tags)
    # Drive: back at its restorePath; the taken path's file untouched, the trashed one left
    assert fake.drive_restores == [
        DriveRestore(
            ACCOUNT,
            fake.drive_restores[0].at,
            free["item_id"].removeprefix("drive:"),
            "OK",
            free["path"],
            free["path"],
        )
    ]
    assert fake.drive_path(ACCOUNT, free["item_id"].removeprefix("drive:")) == free["path"]
    assert fake.drive_path(ACCOUNT, occupant_id) == taken["path"]
    assert (occupant.etag, occupant.size, occupant.docwsid) == occupant_before
    assert manifest.taken_restore_path in {d.drivewsid for d in fake.drive_trash(ACCOUNT)}
    # the only writes: two records/modify and one put-back
    writes = [c for c in log.calls() if c[1] in (MODIFY, PUT_BACK)]
    assert Counter(writes) == {("POST", MODIFY, 200): 2, ("POST", PUT_BACK, 200): 1}

    after = _list(cli)
    chosen = {photo["item_id"], video["item_id"], free["item_id"]}
    assert not _ids(after) & chosen
    assert _ids(after) == _ids(items) - chosen
    assert taken["item_id"] in _ids(after)
    index = _index(sandbox)
    for item in (photo, video, free):
        stored = index.get(PROVIDER, ACCOUNT, item["item_id"])
        assert stored is not None and stored.state is ItemState.RESTORED
    stored = index.get(PROVIDER, ACCOUNT, taken["item_id"])
    assert stored is not None and stored.state is ItemState.TRASHED


def test_a_photo_edited_since_the_scan_is_read_again_and_restored_on_one_retry(cli, fake, log):
    items = _list(cli)
    asset = next(a for a in fake.deleted_assets(ACCOUNT) if a.kind == "image")
    target = _by_id(items)[f"photo:{asset.asset_id}"]
    scanned_tag = asset.asset_tag
    # another device edits the photo (a caption, a keyword): its change tag moves on
    current_tag = fake.touch_asset(ACCOUNT, asset.asset_id)
    assert current_tag != scanned_tag
    log.mark()

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert _outcome_lines(result.stdout) == [
        f"restored           {target['ref']} grace: {target['name']} "
        "(experimental: check it in iCloud Photos)"
    ]
    # the scanned tag is refused (CONFLICT), the record read again, sent once more with its tag
    assert [(e.operations, e.outcomes) for e in fake.modify_log] == [
        ([_restore_body(asset.asset_id, scanned_tag)], ["CONFLICT"]),
        ([_restore_body(asset.asset_id, current_tag)], ["OK"]),
    ]
    cloudkit_records = [c for c in log.calls() if c[1] in (MODIFY, LOOKUP)]
    assert cloudkit_records == [
        ("POST", MODIFY, 200),  # CONFLICT comes as a per-record error in a 200
        ("POST", LOOKUP, 200),  # the current change tag
        ("POST", MODIFY, 200),  # its answer, the record as saved, says isDeleted is 0
    ]
    assert not fake.find_asset(ACCOUNT, asset.asset_id).is_deleted
    assert target["item_id"] not in _ids(_list(cli))


@pytest.mark.parametrize(
    ("added", "pages"),
    [
        (0, 1),  # 25 deleted: one short page
        (50, 1),  # 75: a page short of resultsLimit ends the listing (pyicloud's rule read 2)
        (75, 2),  # 100: a full page cannot say it is the last: one more, empty, page
        (150, 2),  # 175: a full page, then one short of resultsLimit (pyicloud's rule read 3)
    ],
)
def test_a_cached_scan_costs_its_floor(cli, fake, log, queries, added, pages):
    """What a scan with a cached session needs: ``validate``, the web-access state once
    (Photos and iCloud Drive share it), ``CheckIndexingState`` (pyicloud's Photos refuses a
    library still indexing), the Recently Deleted pages (not the album list: Recently Deleted
    is a smart album) and iCloud Drive's trash."""
    _list(cli)  # signs in; the session is cached from now on
    fake.bulk_deleted(ACCOUNT, added)
    log.mark()
    seen = len(queries.seen)

    items = _list(cli, "--no-thumbnails")  # the scan's floor; pictures: test_icloud_thumbnails

    assert _ids(items) == _expected_ids(fake)
    assert Counter(path for _, path, _ in log.calls()) == {
        VALIDATE: 1,
        WEB_ACCESS_STATE: 1,
        QUERY: 1 + pages,
        RETRIEVE: 1,
    }
    assert [record_type for record_type, _ in queries.seen[seen:]] == [
        "CheckIndexingState",
        *[RECENTLY_DELETED] * pages,
    ]
    assert queries.pages()[-pages:] == [100 * page for page in range(pages)]


# ----------------------------------------------------------------------------------- sessions


def test_a_cached_session_costs_one_validate_and_an_expired_one_only_the_password(cli, fake, log):
    first = _list(cli)
    # no session files yet: the password over SRP; grace's browser was trusted earlier (no 2FA)
    assert log.auth() == PASSWORD_SIGN_IN

    log.mark()
    second = _list(cli)
    assert _ids(second) == _ids(first)
    assert log.auth() == [("POST", VALIDATE, 200)]
    assert log.calls()[0] == ("POST", VALIDATE, 200)  # before any data request

    assert fake.expire_session(ACCOUNT) >= 2
    log.mark()
    third = _list(cli)
    assert _ids(third) == _ids(first)
    # the cached session is refused; the stored trust token spares the 2FA code
    assert log.auth() == [
        ("POST", VALIDATE, 421),
        ("POST", ACCOUNT_LOGIN, 421),
        *PASSWORD_SIGN_IN,
    ]

    log.mark()
    assert _ids(_list(cli)) == _ids(first)
    assert log.auth() == [("POST", VALIDATE, 200)]


@pytest.mark.parametrize("when", ["trust-lapsed", "first-sign-in"])
def test_a_needed_2fa_sign_in_is_one_line_then_no_more_sign_in_attempts(cli, fake, log, home, when):
    scanned: set[str] = set()
    if when == "trust-lapsed":
        scanned = _ids(_list(cli))
        healthy = cli("check", "--format", "json")
        report = json.loads(healthy.stdout)
        (account,) = report["accounts"]
        assert (account["auth_ok"], account["needs_attention"]) == (True, False)
        # her soonest purge is a few hours away (the seed): critical, but no account problem
        assert healthy.exit_code == report["exit_code"] == 2
        # about two months later: the trust token lapsed, and so did the session
        fake.expire_trust(ACCOUNT)
        assert fake.expire_session(ACCOUNT) >= 2
    else:
        fake.require_2fa(ACCOUNT)  # no browser of hers was ever trusted
    log.mark()

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 1
    assert _problems(result.stderr) == [NEEDS_2FA]
    assert _ids(result.json()) == scanned  # kept from the index, if scanned before
    # Apple answered the password with a 2FA challenge; no code was asked for or sent
    calls = log.calls()
    completes = [c for c in calls if c[1] == f"{IDMSA}/signin/complete"]
    assert completes == [("POST", f"{IDMSA}/signin/complete", 409)]  # one attempt, challenged
    assert all(_is_auth(path) for _, path, _ in calls)
    assert not [c for c in calls if "/verify/" in c[1] or c[1].endswith("/2sv/trust")]
    marker = _account_dir(home) / "needs-2fa"
    assert marker.read_text(encoding="utf-8").strip()

    log.mark()
    again = cli("list", "--all-accounts", "--format", "json")
    assert again.exit_code == 1
    assert _problems(again.stderr) == [NEEDS_2FA]
    assert log.calls() == []  # the marker: not even a validate

    check = cli("check")
    assert check.exit_code == 3, check  # the only account, and it failed
    assert check.stdout.splitlines()[0].startswith(
        "UNKNOWN: no account could be scanned (1 account checked, 1 failed)"
    )
    assert (
        "  failed    grace (icloud): scan failed: iCloud account grace needs a new 2FA sign-in "
        "(run `trashscan accounts add icloud grace`)"
    ) in check.stdout.splitlines()
    as_json = cli("check", "--format", "json")
    report = json.loads(as_json.stdout)
    assert as_json.exit_code == report["exit_code"] == 3
    (account,) = report["accounts"]
    assert account["needs_attention"] is True
    assert (account["auth_ok"], account["auth_detail"]) == (False, "needs a new 2FA sign-in")
    assert account["hint"] == "run `trashscan accounts add icloud grace`"
    assert log.calls() == []  # check, twice: no request either

    # the hint's command: a code from one of her devices, then scans work unattended again
    log.mark()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr("sys.stdin", io.StringIO(fake.two_factor_code(ACCOUNT) + "\n"))
        added = cli("accounts", "add", PROVIDER, ACCOUNT)
    assert added.exit_code == 0, added.stderr
    assert "signed in again to icloud account 'grace'" in added.stdout
    assert fake.two_factor_code(ACCOUNT) not in added.stdout + added.stderr
    assert ("GET", f"{IDMSA}/2sv/trust", 204) in log.calls()
    assert not marker.exists()
    assert fake.expire_session(ACCOUNT) >= 1
    log.mark()
    assert _ids(_list(cli)) == _expected_ids(fake)
    # the password and her new trust token: signed in without a challenge or a code
    assert ("POST", f"{IDMSA}/signin/complete", 200) in log.auth()
    assert log.auth()[-1] == ("POST", ACCOUNT_LOGIN, 200)
    assert not [c for c in log.calls() if "/verify/" in c[1]]


# ----------------------------------------------------------------------------------- ADP


@pytest.mark.parametrize("scanned_before", [False, True], ids=["first-scan", "after-a-scan"])
@pytest.mark.parametrize("blocked", ["adp", "web-access-off"])
def test_blocked_web_access_is_one_line_at_once_without_polling(
    cli, fake, log, waits, scanned_before, blocked
):
    scanned = _ids(_list(cli)) if scanned_before else set()
    if blocked == "adp":
        # Advanced Data Protection; no trusted device has approved web access, none will
        fake.enable_adp(ACCOUNT, device_approves=False)
    else:
        fake.disable_web_access(ACCOUNT)
    log.mark()

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 1
    (problem,) = _problems(result.stderr)
    if blocked == "adp":
        assert problem.startswith(
            "trashscan: account 'grace' (icloud) failed: iCloud Advanced Data Protection is on "
            "and web access was not granted"
        )
        assert "cannot read this account unattended" in problem
        assert "run `trashscan accounts add icloud grace` and approve the request" in problem
    else:
        assert problem == WEB_ACCESS_OFF
    assert "Traceback" not in result.stderr
    assert _ids(result.json()) == scanned
    # bounded: one look at the web access state, no PCS polling, no prompt on her devices
    assert log.count(WEB_ACCESS_STATE) == 1
    assert log.count(REQUEST_PCS) == 0
    assert log.count(CONSENT) == 0
    assert fake.state.accounts[ACCOUNT].consent_requests == 0
    assert waits == []
    assert not [c for c in log.calls() if c[1].startswith(("/ck/", "/drivews/"))]


def test_adp_with_web_access_approved_on_a_device_scans_within_the_bounded_wait(
    cli, fake, log, waits
):
    fake.enable_adp(ACCOUNT, device_approves=False)
    fake.approve_web_access(ACCOUNT)  # she tapped "Allow" on her iPhone within the hour
    log.mark()

    items = _list(cli)

    assert _ids(items) == _expected_ids(fake)
    # per service (Photos, then iCloud Drive): "Requested the device to upload cookies.", one
    # step's wait, then the PCS cookies
    assert log.count(REQUEST_PCS) == 4
    assert waits == [PCS_STEP, PCS_STEP]
    assert log.count(CONSENT) == 0


# ----------------------------------------------------------------------------------- throttling


def test_a_429_on_a_recently_deleted_page_is_waited_out(cli, fake, log, queries, monkeypatch):
    """Three pages of Recently Deleted; the second answers CloudKit's 429 THROTTLED with
    Retry-After: 1. That page alone is asked again, after exactly that second (slept)."""
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    monkeypatch.setattr(
        trashscan.retry, "RetryPolicy", functools.partial(trashscan.retry.RetryPolicy, sleep=sleep)
    )
    fake.bulk_deleted(ACCOUNT, 200)  # 225 deleted: pages at startRank 0, 100 and 200
    queries.throttle[100] = ICloudFake.http_fault(429, retry_after=1, service="ck")
    log.mark()

    items = _list(cli)

    assert queries.pending() == 0
    assert _ids(items) == _expected_ids(fake)
    assert sum(1 for i in items if i["item_id"].startswith("photo:")) == 225
    assert queries.pages() == [0, 100, 100, 200]
    statuses = [s for _, p, s in log.calls() if p == QUERY]
    assert statuses.count(429) == 1
    assert waits == [1.0]  # Retry-After honoured: no less, no more


def _drive_trash_listings(log: AppleLog) -> list[int | None]:
    """Statuses of the Drive listings sent (the trash's, and the restore's folder walks)."""
    return [status for _, path, status in log.calls() if path == RETRIEVE]


def test_a_throttled_drive_trash_is_waited_out_and_listed(cli, fake, log, waits):
    """Drive's Recently Deleted answers 429 with Retry-After: 30 twice: waited, then listed."""
    fake.fail_drive_trash(429, retry_after=30, times=2)
    log.mark()

    items = _list(cli)

    assert _ids(items) == _expected_ids(fake)
    assert _drive_trash_listings(log) == [429, 429, 200]
    assert waits == [30.0, 30.0]


def test_a_failing_drive_trash_costs_the_photos_nothing_and_keeps_drive_items(
    cli, sandbox, fake, log, waits
):
    """Drive's Recently Deleted fails (503) past the retries: the photos are listed and swept
    as usual, Drive's items stay as last listed, one warning names the Drive part, exit 1."""
    first = _list(cli)
    drive_ids = {i for i in _ids(first) if i.startswith("drive:")}
    assert len(drive_ids) == 3
    # meanwhile: a photo is purged for good, another is deleted
    purged = fake.deleted_assets(ACCOUNT)[-1]
    fake.expunge(ACCOUNT, purged.asset_id)
    fresh = fake.add_photo(ACCOUNT, "IMG_9001.HEIC", deleted_at=fake.clock())
    fake.fail_drive_trash(503, retry_after=None, times=None)
    log.mark()

    result = cli("list", "--all-accounts", "--format", "json")

    assert result.exit_code == 1, result.stderr
    assert _problems(result.stderr) == [
        "trashscan: warning: account 'grace' (icloud) partly listed: iCloud Drive › Recently "
        "Deleted not listed: iCloud Drive Recently Deleted listing unavailable after 5 attempts "
        "(the provider is throttling or unavailable; try again later); its items there are kept "
        "as last listed"
    ]
    assert _ids(result.json()) == (_ids(first) - {f"photo:{purged.asset_id}"}) | {
        f"photo:{fresh.asset_id}"
    }
    assert _drive_trash_listings(log) == [503] * 5
    index = _index(sandbox)
    gone = index.get(PROVIDER, ACCOUNT, f"photo:{purged.asset_id}")
    assert gone is not None and gone.state is ItemState.GONE  # Photos' listing was complete
    for item_id in drive_ids:
        kept = index.get(PROVIDER, ACCOUNT, item_id)
        assert kept is not None and kept.state is ItemState.TRASHED
    scanned = cli("scan")
    assert scanned.exit_code == 1
    listed_now = len(fake.deleted_assets(ACCOUNT))  # the photos; Drive was not listed
    assert scanned.stdout.splitlines() == [f"grace: {listed_now} items scanned"]
    accounts = cli("accounts", "list")
    assert "ok (iCloud Drive › Recently Deleted not listed: " in accounts.stdout
    check = cli("check", "--no-notify", "--format", "json")
    (account,) = json.loads(check.stdout)["accounts"]
    assert account["needs_attention"] is True
    assert account["partial"].startswith("iCloud Drive › Recently Deleted not listed: ")
    text = cli("check", "--no-notify")
    assert any(
        line.startswith("  attention grace (icloud): partly listed: iCloud Drive › Recently")
        for line in text.stdout.splitlines()
    ), text.stdout

    fake.fail_drive_trash(times=0)  # Drive answers again: all of it listed, no warning
    assert _ids(_list(cli)) == _expected_ids(fake)


# ----------------------------------------------------------------------------------- secrets


def test_no_password_token_or_cookie_value_is_ever_printed(cli, sandbox, fake, home):
    outputs: list[str] = []

    def run(*args: str) -> Any:
        result = cli(*args)
        outputs.append(result.stdout + result.stderr)
        return result

    items = run("list", "--all-accounts", "--format", "json").json()
    secrets = _stored_secrets(sandbox, home)
    run("list", "--all-accounts")  # the table, cached session
    assert run("restore", items[0]["ref"], "--yes").exit_code == 0
    fake.expire_session(ACCOUNT)
    run("list", "--all-accounts", "--format", "json")  # password sign-in
    secrets |= _stored_secrets(sandbox, home)
    run("check")
    run("accounts", "list")
    fake.expire_trust(ACCOUNT)
    fake.expire_session(ACCOUNT)
    assert run("list", "--all-accounts").exit_code == 1  # 2FA needed
    run("check", "--format", "json")
    secrets |= _stored_secrets(sandbox, home)
    # and everything the fake ever issued: session tokens, web-auth cookies, trust tokens
    auth = fake.state.auth
    issued = {s.token for s in auth.idmsa_sessions.values()}
    issued |= {s.token for s in auth.web_sessions.values()}
    issued |= {s.trust_token for s in auth.idmsa_sessions.values() if s.trust_token}

    output = "\n".join(outputs)
    assert "IMG_" in output and "needs a new 2FA sign-in" in output  # the runs printed things
    assert len(secrets) >= 8
    for secret in secrets | issued:
        assert secret not in output
    for prefix in ("AAAABLwIAAAAAG", "HSARMTKN", "v=2:t=AQ=="):  # the fake's token shapes
        assert prefix not in output


class FileWrites:
    """Counts the writes of pyicloud's two files in the account dir (``NAME.session``, written
    with ``open``, and ``NAME.cookiejar``, written by ``LWPCookieJar.save`` through ``os.open``)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.paths: list[str] = []
        real_open, real_os_open = builtins.open, os.open

        def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
            if any(c in mode for c in "wax+"):
                self._note(file)
            return real_open(file, mode, *args, **kwargs)

        def counting_os_open(path: Any, flags: int, *args: Any, **kwargs: Any) -> Any:
            if flags & (os.O_WRONLY | os.O_RDWR):
                self._note(path)
            return real_os_open(path, flags, *args, **kwargs)

        monkeypatch.setattr(builtins, "open", counting_open)
        monkeypatch.setattr(os, "open", counting_os_open)

    def _note(self, path: Any) -> None:
        name = os.fspath(path) if isinstance(path, str | os.PathLike) else ""
        if name.endswith((".session", ".cookiejar")):
            self.paths.append(name)


def test_a_mass_restore_rewrites_the_session_files_only_when_they_change(
    cli, fake, log, home, monkeypatch
):
    """pyicloud saves its session data and its whole cookie jar after every request; a restore's
    CloudKit answers change neither, so they must not cost a file write each."""
    photos = [i for i in _list(cli) if i["item_id"].startswith("photo:")]
    assert len(photos) >= 20
    log.mark()
    writes = FileWrites(monkeypatch)

    result = cli("restore", *(p["ref"] for p in photos), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert log.count(MODIFY) == len(photos)
    requests_sent = len(log.calls())
    # at most the sign-in's few changes (the cached session's validate), never one per request
    assert len(writes.paths) <= 4, (len(writes.paths), requests_sent)
    for path in {Path(p) for p in writes.paths}:
        assert path.parent == _account_dir(home)
        assert path.stat().st_mode & 0o777 == 0o600


# ----------------------------------------------------------------------------------- demo


def test_demo_still_runs_and_shows_icloud():
    result = subprocess.run(
        [sys.executable, "-m", "trashscan", "demo"],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Tax return" not in result.stdout
    assert f"{ACCOUNT}: 28 items scanned" in result.stdout
    # the list's totals: the seed's trash, and the 3 photos "meanwhile, in the clouds" deleted
    totals = result.stdout.partition("\ntotal: ")[2]
    assert re.search(rf"^  {ACCOUNT} +31 items ", totals, re.M), totals
