"""Restore outcomes that match the cloud (issue 12 §2): the real CLI against the OneDrive fake.

Business (``frank``): the restore action's documented answer is trusted (200: every id restored;
207: the ids it lists), and what it did not restore is explained with documented calls only: one
listing of the recycle bin per restore batch, then a read of the original path (and folder) of
each id left out: already restored (by another run, or by hand), its folder gone or in the bin,
its name taken, or purged. The undocumented ``GET .../recycleBin/items/{id}`` is never sent; the
fake refuses it with Graph's 400 (its default), as a server may.

Personal (``erin``): a photo whose folder was deleted after it (so the folder is in the recycle
bin) comes back into that folder, restored first, whatever the order of the refs; only a folder
gone for good sends the photo to the root folder, and the plan says so before asking.

Each test states the fake's own record of why an id was not restored (``restore_seen``) next to
what trashscan said, and counts the Graph requests of the restore run.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from typing import Any
from urllib.parse import unquote

import pytest
import requests

from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import ItemState
from trashscan.output import MOVED_WORDS, OUTCOME_WORDS
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan_onedrive.plugin import OneDriveProvider
from trashscan_onedrive.sandbox.fake import OneDriveFake

PROVIDER = "onedrive"
ROLL = "/Pictures/Camera Roll"
OPENID = "/common/v2.0/.well-known/openid-configuration"
BIN = re.compile(r"^/beta/sites/[^/]+/recycleBin/items$")
BIN_RESTORE = re.compile(r"^/beta/sites/[^/]+/recycleBin/items/restore$")
BIN_ENTRY = re.compile(r"^/beta/sites/[^/]+/recycleBin/items/(?!restore$)[^/]+$")
SITE_PATH = re.compile(r"^/v1\.0/sites/[^/]+/drive/root:(?P<path>/.*)$")


pytestmark = pytest.mark.sandbox(PROVIDER)


@pytest.fixture
def log(sandbox: Sandbox) -> GraphLog:
    return GraphLog(sandbox.servers[PROVIDER])


class GraphLog(RequestLog):
    def graph(self) -> list[tuple[str, str, int | None]]:
        """(method, route, status) of the Graph requests (not the sign-in server's)."""
        return [
            (r.method, _route(r.path), r.status)
            for r in self.since()
            if not r.path.startswith("/common/")
        ]


def _route(path: str) -> str:
    if BIN.match(path):
        return "BIN"
    if BIN_RESTORE.match(path):
        return "BIN_RESTORE"
    if BIN_ENTRY.match(path):
        return "BIN_ENTRY"
    found = SITE_PATH.match(path)
    if found is not None:
        return "PATH " + unquote(found["path"])
    return path


def _outcome_lines(stdout: str) -> list[str]:
    words = (*OUTCOME_WORDS.values(), MOVED_WORDS)
    return [line for line in stdout.splitlines() if line.startswith(words)]


def _line(lines: list[str], ref: str) -> str:
    (found,) = [line for line in lines if f" {ref} " in line]
    return found


def _listed(cli: Any, account: str) -> dict[str, dict]:
    result = cli("list", "--account", account, "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {item["path"]: item for item in result.json()}


def _index(sandbox: Sandbox) -> Index:
    assert sandbox.config_path is not None
    return Index.open(load_config(sandbox.config_path).index_url)


def _state(sandbox: Sandbox, account: str, item_id: str) -> ItemState:
    stored = _index(sandbox).get(PROVIDER, account, item_id)
    assert stored is not None
    return stored.state


class Graph:
    """Another client of the same account (another device, the web UI, another run)."""

    def __init__(self, fake: OneDriveFake, sandbox: Sandbox, account: str) -> None:
        assert fake.server is not None
        self.base = fake.server.base_url
        self.http = requests.Session()
        self.http.trust_env = False
        self.http.verify = str(sandbox.ca_bundle) if sandbox.ca_bundle else True
        self.http.headers["Authorization"] = f"Bearer {fake.access_token(account)}"

    def site(self) -> str:
        ids = self.http.get(
            f"{self.base}/v1.0/me/drive", params={"$select": "sharePointIds"}
        ).json()["sharePointIds"]
        return f"{ids['siteUrl'].split('/')[2]},{ids['siteId']},{ids['webId']}"

    def restore_bin(self, *ids: str) -> requests.Response:
        url = f"{self.base}/beta/sites/{self.site()}/recycleBin/items/restore"
        return self.http.post(url, json={"ids": list(ids)})


# ----------------------------------------------------------------------------------- business


@pytest.mark.parametrize("ok_status", [207, 200])
def test_business_restore_trusts_the_answer_that_names_each_id(cli, sandbox, fake, log, ok_status):
    """The undocumented per-id GET is refused (400) by this server; restores still report
    restored and exit 0, with one POST for all 7 photos and videos: the answer names each
    restored id, so nothing is in doubt and the recycle bin is not listed."""
    fake.graph.site_restore_ok_status = ok_status
    items = _listed(cli, "frank")
    assert len(items) == 7  # the second-stage one included
    drive = fake.graph.drives["frank"]
    log.mark()

    result = cli("restore", *(i["ref"] for i in items.values()), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    lines = _outcome_lines(result.stdout)
    assert sorted(lines) == sorted(
        f"restored           {i['ref']} frank: {i['name']} -> {i['path']}" for i in items.values()
    )
    assert "7 restored, 0 not restored" in result.stdout
    assert Counter(log.graph()) == {("POST", "BIN_RESTORE", ok_status): 1}
    (record,) = fake.restore_seen
    assert set(record.restored) == {i["item_id"] for i in items.values()}
    assert not {i["item_id"] for i in items.values()} & set(drive.bin)
    for item in items.values():
        assert fake.find("frank", item["path"]).live
        assert _state(sandbox, "frank", item["item_id"]) is ItemState.RESTORED


def test_business_each_chunk_reaches_the_core_as_it_is_answered(
    cli, sandbox, fake, log, monkeypatch
):
    """45 photos, three restore calls of 20, 20 and 5 ids, every id named in its answer: each
    chunk's results reach the core (so the index and the progress) before the next chunk's
    restore is sent, and no recycle-bin listing is needed. Counts, never times: at each result
    handed to the core, how many restore calls the fake has seen."""
    now = fake.clock()
    for n in range(45):
        fake.add_file("frank", f"/Pictures/Bulk/IMG_{n:02}.jpg", at=now - timedelta(hours=1))
        fake.delete("frank", f"/Pictures/Bulk/IMG_{n:02}.jpg", at=now - timedelta(minutes=1))
    bulk = {p: i for p, i in _listed(cli, "frank").items() if p.startswith("/Pictures/Bulk/")}
    assert len(bulk) == 45
    fake.restore_seen.clear()
    seen_at_result: list[int] = []
    original = OneDriveProvider.restore

    def counting(self, account, items):
        for result in original(self, account, items):
            seen_at_result.append(len(fake.restore_seen))
            yield result

    monkeypatch.setattr(OneDriveProvider, "restore", counting)
    log.mark()

    result = cli("restore", *(i["ref"] for i in bulk.values()), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "45 restored, 0 not restored" in result.stdout
    assert seen_at_result == [1] * 20 + [2] * 20 + [3] * 5
    assert [len(r.ids) for r in fake.restore_seen] == [20, 20, 5]
    assert Counter(log.graph()) == {("POST", "BIN_RESTORE", 207): 3}
    for item in bulk.values():
        assert fake.find("frank", item["path"]).live
        assert _state(sandbox, "frank", item["item_id"]) is ItemState.RESTORED


def test_business_207_says_why_each_id_was_not_restored(cli, sandbox, fake, log):
    """One restore, six ids: restored; name taken; folder gone for good; folder in the bin;
    restored meanwhile by another client; purged meanwhile. One POST, one bin listing, and at
    most two path reads per id left out; each reason matches the fake's own record."""
    now = fake.clock()
    for path in ("/Pictures/Party/cake.jpg", "/Pictures/Party/candles.jpg"):
        fake.add_file("frank", path, at=now - timedelta(hours=1))
    fake.add_file("frank", "/Pictures/Picnic/ham.jpg", at=now - timedelta(hours=1))
    fake.delete("frank", "/Pictures/Party/cake.jpg", at=now - timedelta(minutes=5))
    party = fake.delete("frank", "/Pictures/Party", at=now - timedelta(minutes=4))
    fake.delete("frank", "/Pictures/Picnic/ham.jpg", at=now - timedelta(minutes=3))
    fake.delete("frank", "/Pictures/Picnic", at=now - timedelta(minutes=2))
    assert party is not None
    items = _listed(cli, "frank")
    ok = items[f"{ROLL}/IMG_2001.jpg"]
    taken = items[f"{ROLL}/IMG_2002.heic"]
    gone = items["/Pictures/Party/cake.jpg"]
    binned = items["/Pictures/Picnic/ham.jpg"]
    elsewhere = items[f"{ROLL}/IMG_2003.jpg"]
    purged = items[f"{ROLL}/IMG_2004.png"]
    # after the listing: a new file takes a name, the folder Party is emptied from the bin,
    # another client restores one photo, and one entry is purged
    occupant = fake.add_file("frank", taken["path"])
    fake.purge_bin_entry("frank", party.id)
    assert Graph(fake, sandbox, "frank").restore_bin(elsewhere["item_id"]).status_code == 207
    fake.purge_bin_entry("frank", purged["item_id"])
    chosen = [ok, taken, gone, binned, elsewhere, purged]
    fake.restore_seen.clear()
    log.mark()

    result = cli("restore", *(i["ref"] for i in chosen), "--yes")

    assert result.exit_code == 1, result.stdout + result.stderr
    lines = _outcome_lines(result.stdout)
    assert len(lines) == 6
    assert _line(lines, ok["ref"]) == (
        f"restored           {ok['ref']} frank: IMG_2001.jpg -> {ok['path']}"
    )
    assert _line(lines, taken["ref"]) == (
        f"failed             {taken['ref']} frank: IMG_2002.heic (not restored: a file named "
        f"IMG_2002.heic is in the way at its original place {ROLL}, and OneDrive for Business "
        "restores only to the original place: move or rename that file, then restore again)"
    )
    assert _line(lines, gone["ref"]) == (
        f"failed             {gone['ref']} frank: cake.jpg (not restored: its original folder "
        "/Pictures/Party is no longer there (deleted for good, moved or renamed), and OneDrive "
        "for Business restores only to the original place: restore it by hand from the "
        "OneDrive recycle bin)"
    )
    assert _line(lines, binned["ref"]) == (
        f"failed             {binned['ref']} frank: ham.jpg (not restored: its original folder "
        "/Pictures/Picnic is in the recycle bin: restore that folder first, then this item)"
    )
    assert _line(lines, elsewhere["ref"]) == (
        f"was already restored {elsewhere['ref']} frank: IMG_2003.jpg -> {elsewhere['path']} "
        "(no longer in the recycle bin, and back at its original place)"
    )
    assert _line(lines, purged["ref"]) == (
        f"failed             {purged['ref']} frank: IMG_2004.png (no longer in the recycle bin, "
        "and not at its original place: purged, or restored and moved since)"
    )
    assert "2 restored, 4 not restored" in result.stdout
    # the fake's truth for each id it left out
    (record,) = fake.restore_seen
    assert record.status == 207 and record.restored == (ok["item_id"],)
    assert dict(record.not_restored) == {
        taken["item_id"]: "name_taken",
        gone["item_id"]: "parent_missing",
        binned["item_id"]: "parent_missing",
        elsewhere["item_id"]: "not_in_bin",
        purged["item_id"]: "not_in_bin",
    }
    # nothing renamed, nothing overwritten
    assert fake.find("frank", taken["path"]).id == occupant.id
    # requests: one restore, one listing, then the original path (and folder) of each left out
    assert Counter(log.graph()) == {
        ("POST", "BIN_RESTORE", 207): 1,
        ("GET", "BIN", 200): 1,
        ("GET", f"PATH {taken['path']}", 200): 1,
        ("GET", f"PATH {gone['path']}", 404): 1,
        ("GET", "PATH /Pictures/Party", 404): 1,
        ("GET", f"PATH {binned['path']}", 404): 1,
        ("GET", "PATH /Pictures/Picnic", 404): 1,
        ("GET", f"PATH {elsewhere['path']}", 200): 1,
        ("GET", f"PATH {purged['path']}", 404): 1,
    }
    states = {i["item_id"]: _state(sandbox, "frank", i["item_id"]) for i in chosen}
    assert states == {
        ok["item_id"]: ItemState.RESTORED,
        taken["item_id"]: ItemState.TRASHED,
        gone["item_id"]: ItemState.TRASHED,
        binned["item_id"]: ItemState.TRASHED,
        elsewhere["item_id"]: ItemState.RESTORED,
        purged["item_id"]: ItemState.TRASHED,
    }


def test_business_restored_meanwhile_is_already_restored_and_exits_0(cli, sandbox, fake, log):
    items = _listed(cli, "frank")
    target = items[f"{ROLL}/VID_2001.mp4"]
    assert Graph(fake, sandbox, "frank").restore_bin(target["item_id"]).status_code == 207
    fake.restore_seen.clear()
    log.mark()

    result = cli("restore", target["ref"], "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert _outcome_lines(result.stdout) == [
        f"was already restored {target['ref']} frank: VID_2001.mp4 -> {target['path']} "
        "(no longer in the recycle bin, and back at its original place)"
    ]
    (record,) = fake.restore_seen
    assert record.not_restored == ((target["item_id"], "not_in_bin"),)
    assert Counter(log.graph()) == {
        ("POST", "BIN_RESTORE", 207): 1,
        ("GET", "BIN", 200): 1,
        ("GET", f"PATH {target['path']}", 200): 1,
    }
    assert _state(sandbox, "frank", target["item_id"]) is ItemState.RESTORED


def test_two_racing_business_runs_both_exit_0(cli, sandbox, fake):
    """Two trashscan processes plan the same restore (both read the item as trashed), then are
    confirmed together: one restores it, the other finds it already restored."""
    items = _listed(cli, "frank")
    target = items[f"{ROLL}/IMG_2003.jpg"]
    fake.restore_seen.clear()
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200"}
    env.pop("REQUESTS_CA_BUNDLE", None)
    command = [sys.executable, "-m", "trashscan", "--config", str(sandbox.config_path)]
    terminals = [os.openpty() for _ in range(2)]  # restore asks only on a terminal
    runs = [
        subprocess.Popen(
            [*command, "restore", target["ref"]],
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        for _, terminal in terminals
    ]
    for _, terminal in terminals:
        os.close(terminal)
    try:
        for run in runs:  # both have planned (read the index) and wait for the answer
            assert run.stderr is not None
            prompt = ""
            while "Restore 1 item(s)?" not in prompt:
                char = run.stderr.read(1)
                assert char, prompt
                prompt += char
        outputs = []
        for controller, _ in terminals:
            os.write(controller, b"y\n")
        for run in runs:
            out, err = run.communicate(timeout=120)
            outputs.append((run.returncode, out, err))
    finally:
        for run in runs:
            if run.poll() is None:
                run.kill()
        for controller, _ in terminals:
            os.close(controller)
    for code, out, err in outputs:
        assert code == 0, out + err
    words = sorted(_outcome_lines(out)[0].split(f" {target['ref']} ")[0] for _, out, _ in outputs)
    assert words == ["restored          ", "was already restored"]
    assert fake.find("frank", target["path"]).live
    assert [r.restored for r in fake.restore_seen if r.restored] == [(target["item_id"],)]
    assert _state(sandbox, "frank", target["item_id"]) is ItemState.RESTORED


# ----------------------------------------------------------------------------------- personal


def _erin_wedding(cli: Any, fake: OneDriveFake, *, separate_scans: bool) -> dict[str, dict]:
    """Enrol erin; add /Pictures/Wedding with grandma.jpg and wedding.mp4; delete grandma.jpg,
    then (after a scan, or not) the folder with wedding.mp4 in it; list."""
    assert cli("list", "--account", "erin").exit_code == 0  # the enrolment
    now = fake.clock()
    fake.add_file("erin", "/Pictures/Wedding/grandma.jpg", at=now - timedelta(hours=1))
    fake.add_file("erin", "/Pictures/Wedding/wedding.mp4", at=now - timedelta(hours=1))
    assert cli("list", "--account", "erin").exit_code == 0  # the mirror learns them
    fake.delete("erin", "/Pictures/Wedding/grandma.jpg")
    if separate_scans:
        assert cli("list", "--account", "erin").exit_code == 0
    fake.delete("erin", "/Pictures/Wedding")
    return _listed(cli, "erin")


@pytest.mark.parametrize("separate_scans", [True, False], ids=["scan-between", "same-scan"])
@pytest.mark.parametrize("video_first", [False, True], ids=["grandma-first", "video-first"])
def test_personal_photo_whose_folder_was_deleted_later_in_either_order(
    cli, sandbox, fake, log, separate_scans, video_first
):
    """``restore grandma.jpg wedding.mp4`` and the reverse give the same result (the same
    lines, the same requests): the folder is restored first, bringing wedding.mp4 back, then
    grandma.jpg into it; never the root folder. The plan says so before asking."""
    items = _erin_wedding(cli, fake, separate_scans=separate_scans)
    grandma = items["/Pictures/Wedding/grandma.jpg"]
    video = items["/Pictures/Wedding/wedding.mp4"]
    folder = fake.find("erin", grandma["item_id"]).parent_id
    refs = [video["ref"], grandma["ref"]] if video_first else [grandma["ref"], video["ref"]]
    fake.restore_seen.clear()

    result = cli("restore", *refs, "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    lines = _outcome_lines(result.stdout)
    for item in (grandma, video):
        note = (
            f"{item['ref']} {item['name']}: its folder /Pictures/Wedding is in the recycle bin: "
            "it is restored first (with whatever was deleted with it)"
        )
        assert note in result.stdout
        assert result.stdout.index(note) < result.stdout.index(lines[0])  # in the plan
    assert _line(lines, grandma["ref"]) == (
        f"restored           {grandma['ref']} erin: grandma.jpg -> "
        "/Pictures/Wedding/grandma.jpg (its folder Wedding was in the recycle bin: restored it "
        "first)"
    )
    assert _line(lines, video["ref"]) == (
        f"restored           {video['ref']} erin: wedding.mp4 -> /Pictures/Wedding/wedding.mp4 "
        "(restored with its folder Wedding)"
    )
    assert len(lines) == 2
    assert "2 restored, 0 not restored" in result.stdout
    # the folder first, then the photo; nothing sent elsewhere nor renamed
    assert [(r.ids, r.status, r.parent_id, r.name) for r in fake.restore_seen] == [
        ((folder,), 200, None, None),
        ((grandma["item_id"],), 200, None, None),
    ]
    for item in (grandma, video):
        assert fake.find("erin", item["path"]).id == item["item_id"]
        assert _state(sandbox, "erin", item["item_id"]) is ItemState.RESTORED
    with pytest.raises(KeyError):
        fake.find("erin", "/grandma.jpg")


def test_personal_folder_gone_for_good_goes_to_the_root_and_the_plan_says_so(
    cli, sandbox, fake, log
):
    assert cli("list", "--account", "erin").exit_code == 0  # the enrolment
    now = fake.clock()
    photo = fake.add_file("erin", "/Pictures/Lost/pic.jpg", at=now - timedelta(hours=1))
    assert cli("list", "--account", "erin").exit_code == 0
    fake.delete("erin", photo.id)
    fake.delete("erin", "/Pictures/Lost")
    folder = fake.find("erin", photo.id).parent_id
    assert folder is not None
    # the user then deleted the folder from the recycle bin for good (the model's flag: no
    # personal seam exists for it, and purged items are 404 even with includeDeletedItems)
    fake.find("erin", folder).purged = True
    item = _listed(cli, "erin")["/Pictures/Lost/pic.jpg"]
    fake.restore_seen.clear()

    dry = cli("restore", item["ref"], "--dry-run")
    result = cli("restore", item["ref"], "--yes")

    note = (
        f"{item['ref']} pic.jpg: its original folder /Pictures/Lost is gone (deleted for good): "
        "it will be restored into the root folder"
    )
    assert dry.exit_code == 0 and note in dry.stdout
    assert result.exit_code == 0, result.stdout + result.stderr
    assert result.stdout.index(note) < result.stdout.index(
        "restored to another folder "
    )  # the plan
    assert _outcome_lines(result.stdout) == [
        f"restored to another folder {item['ref']} erin: pic.jpg -> /pic.jpg (its original folder "
        "is gone: restored into the root folder)"
    ]
    root = fake.graph.drives["erin"].root_id
    assert [(r.ids, r.status, r.parent_id) for r in fake.restore_seen] == [((photo.id,), 200, root)]
    assert fake.find("erin", "/pic.jpg").id == photo.id


def test_personal_plan_is_silent_when_the_folder_is_there(cli, sandbox, fake):
    assert cli("list", "--account", "erin").exit_code == 0
    sandbox.between_scans()
    item = _listed(cli, "erin")[f"{ROLL}/IMG_0007.heic"]

    dry = cli("restore", item["ref"], "--dry-run")

    assert dry.exit_code == 0, dry.stderr
    assert f"{item['ref']} IMG_0007.heic:" not in dry.stdout
    assert fake.restore_seen == []


def test_personal_mass_restore_reads_in_json_batches(cli, sandbox, fake, log):
    """25 photos of one folder: each looked at for the plan and again before restoring, 20 to
    a Graph JSON batch (the fake answers each batch in a shuffled order: paired by id, each
    photo comes back under its own name); one look throttled (429 with its own Retry-After) is
    asked again in a batch of its own; the names ahead are checked in batches too; one
    restore each, sent alone."""
    assert cli("list", "--account", "erin").exit_code == 0  # the enrolment
    now = fake.clock()
    paths = [f"/Pictures/Batch/IMG_{n:02}.jpg" for n in range(25)]
    for path in paths:
        fake.add_file("erin", path, at=now - timedelta(hours=1))
    assert cli("list", "--account", "erin").exit_code == 0  # the mirror learns them
    for path in paths:
        fake.delete("erin", path)
    items = {p: i for p, i in _listed(cli, "erin").items() if p.startswith("/Pictures/Batch/")}
    assert sorted(items) == paths
    throttled = items[paths[7]]["item_id"]
    assert fake.server is not None
    fake.server.faults.add(fake.http_fault(429, 0), path=f"/items/{re.escape(throttled)}$")
    log.mark()

    result = cli("restore", *(items[p]["ref"] for p in paths), "--yes")

    assert result.exit_code == 0, result.stdout + result.stderr
    assert "25 restored, 0 not restored" in result.stdout
    for path in paths:
        assert fake.find("erin", path).live
        assert _state(sandbox, "erin", items[path]["item_id"]) is ItemState.RESTORED
    graph = [r for r in log.since() if not r.path.startswith("/common/")]
    batches = [r for r in graph if r.path == "/v1.0/$batch"]
    looks = [[p for p in r.parts if "includeDeletedItems" in p.query] for r in batches if r.parts]
    # plan: 20 + 5, the throttled one again alone; restore: 20 + 5
    assert sorted(len(parts) for parts in looks if parts) == [1, 5, 5, 20, 20]
    again = [parts for parts in looks if len(parts) == 1]
    assert again[0][0].path.endswith(f"/items/{throttled}")
    assert [p.status for p in again[0]] == [200]
    assert fake.server.faults.pending() == 0
    restores = [r for r in graph if r.method == "POST" and r.path.endswith("/restore")]
    assert len(restores) == 25 and all(not r.parts for r in restores)
    direct = Counter("look" if "includeDeletedItems" in r.query else "name" for r in graph
                     if r.method == "GET")  # fmt: skip
    assert direct == {"look": 2, "name": 2}  # the folder, for the plan and the restore
    names = [[p for p in r.parts if ":/" in p.path] for r in batches]
    assert [len(parts) for parts in names if parts] == [20, 3]  # photos 3 to 25
    assert len(batches) == 7  # 5 of looks, 2 of names
