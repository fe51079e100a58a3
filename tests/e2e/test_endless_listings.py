"""Listings that would never end: a page token that comes back, or pages without end.

A server answers every page request with a link (token, cursor) to a page the scan already read:
each request succeeds, so neither timeouts nor the retry budget stop it. Today's main followed a
self-linking OneDrive ``@odata.nextLink`` forever. Each case here queues that answer as a fault on
the provider's sandbox fake, runs the real CLI, and asserts that the scan of that account ends
with one line naming it, after a counted, small number of requests, while the others still list.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

import trashscan.pagination
import trashscan_onedrive.sandbox.graph
from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog

JSON = {"Content-Type": "application/json"}
DELTA = "/v1.0/me/drive/root/delta"
BIN = re.compile(r"^/beta/sites/[^/]+/recycleBin/items$")


HINT = "(the next scan tries again; if this persists, the provider's service is misbehaving)"


def _failures(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " failed: " in line]


def _page(body: dict) -> HttpFault:
    return HttpFault(200, json.dumps(body).encode(), dict(JSON))


@pytest.fixture
def onedrive(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"onedrive"})) as box:
        assert box.broken == {}
        yield box


def test_a_self_linking_onedrive_next_link_ends_the_scan_of_that_account(capsys, onedrive):
    """erin's delta feed (her enrolment) links to itself; frank's recycle bin is fine."""
    from trashscan.cli import run

    server = onedrive.servers["onedrive"]
    loop = server.url(f"{DELTA}?token=loop")
    looping = _page({"value": [], "@odata.nextLink": loop})
    server.faults.add(looping, path=f"{re.escape(DELTA)}$", times=None)
    log = RequestLog(server)

    code = run(["--config", str(onedrive.config_path), "list", "--format", "json"])

    out, err = capsys.readouterr()
    assert code == 1
    assert _failures(err) == [
        "trashscan: account 'erin' (onedrive) failed: OneDrive's delta feed sent the same next "
        "link again after 2 page(s); stopped instead of looping (the next scan tries again; if "
        "this persists, the provider's service is misbehaving)"
    ]
    # the first page, the page it linked to, and no third request for the same link
    assert [r.path for r in log.since()].count(DELTA) == 2
    assert {item["account"] for item in json.loads(out)} == {"frank"}


def test_a_self_linking_recycle_bin_next_link_ends_the_business_scan(capsys, onedrive):
    from trashscan.cli import run

    server = onedrive.servers["onedrive"]
    log = RequestLog(server)
    assert run(["--config", str(onedrive.config_path), "scan", "--account", "frank"]) == 0
    first = next(r for r in log.since() if BIN.match(r.path))
    loop = server.url(f"{first.path}?$skiptoken=loop")
    looping = _page({"value": [], "@odata.nextLink": loop})
    server.faults.add(looping, path=r"/recycleBin/items$", times=None)
    capsys.readouterr()
    log.mark()

    code = run(["--config", str(onedrive.config_path), "scan", "--account", "frank"])

    assert code == 1
    assert _failures(capsys.readouterr().err) == [
        "trashscan: account 'frank' (onedrive) failed: OneDrive's recycle bin sent the same next "
        "link again after 2 page(s); stopped instead of looping (the next scan tries again; if "
        "this persists, the provider's service is misbehaving)"
    ]
    assert sum(1 for r in log.since() if BIN.match(r.path)) == 2


def test_pages_without_end_stop_at_the_page_cap(capsys, onedrive, monkeypatch):
    """Every link is new (the fake pages erin's drive one item at a time), so only the cap stops
    the listing: lowered to 3 here, it ends after exactly 3 delta requests."""
    from trashscan.cli import run

    monkeypatch.setattr(trashscan.pagination, "MAX_PAGES", 3)
    monkeypatch.setattr(trashscan_onedrive.sandbox.graph, "MAX_TOP", 1)  # Graph may page smaller
    log = RequestLog(onedrive.servers["onedrive"])

    code = run(["--config", str(onedrive.config_path), "scan", "--account", "erin"])

    assert code == 1
    assert _failures(capsys.readouterr().err) == [
        "trashscan: account 'erin' (onedrive) failed: OneDrive's delta feed did not end after 3 "
        "pages; stopped at that cap (the next scan tries again; if this persists, the provider's "
        "service is misbehaving)"
    ]
    assert [r.path for r in log.since()].count(DELTA) == 3


# ----------------------------------------------------------------------------- Google Drive


@pytest.fixture
def drive(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"google-drive"})) as box:
        assert box.broken == {}
        yield box


def test_a_repeated_drive_page_token_ends_the_trash_listing(capsys, drive):
    from trashscan.cli import run

    server = drive.servers["google-drive"]
    looping = _page({"files": [], "nextPageToken": "loop"})
    server.faults.add(looping, path=r"/drive/v3/files$", times=None)
    log = RequestLog(server)

    code = run(["--config", str(drive.config_path), "scan", "--account", "bob"])

    assert code == 1
    assert _failures(capsys.readouterr().err) == [
        "trashscan: account 'bob' (google-drive) failed: Google Drive's trash listing sent the "
        f"same page token again after 2 page(s); stopped instead of looping {HINT}"
    ]
    assert [r.path for r in log.since()].count("/drive/v3/files") == 2


def test_a_repeated_changes_page_token_ends_the_incremental_scan(capsys, drive):
    from trashscan.cli import run

    server = drive.servers["google-drive"]
    assert run(["--config", str(drive.config_path), "scan", "--account", "bob"]) == 0
    looping = _page({"changes": [], "nextPageToken": "loop"})
    server.faults.add(looping, path=r"/drive/v3/changes$", times=None)
    capsys.readouterr()
    log = RequestLog(server)
    log.mark()

    code = run(["--config", str(drive.config_path), "scan", "--account", "bob"])

    assert code == 1
    assert _failures(capsys.readouterr().err) == [
        "trashscan: account 'bob' (google-drive) failed: Google Drive's changes feed sent the "
        f"same page token again after 2 page(s); stopped instead of looping {HINT}"
    ]
    assert [r.path for r in log.since()].count("/drive/v3/changes") == 2


# ----------------------------------------------------------------------------------- Dropbox


@pytest.fixture
def dropbox(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"dropbox"})) as box:
        assert box.broken == {}
        yield box


LOOPING_CURSOR = {"entries": [], "cursor": "loop", "has_more": True}


def test_a_repeated_dropbox_cursor_ends_the_full_listing(capsys, dropbox):
    from trashscan.cli import run

    server = dropbox.servers["dropbox"]
    server.faults.add(_page(LOOPING_CURSOR), path=r"^/2/files/list_folder(/continue)?$", times=None)
    log = RequestLog(server)

    code = run(["--config", str(dropbox.config_path), "scan", "--account", "carol"])

    assert code == 1
    assert _failures(capsys.readouterr().err) == [
        "trashscan: account 'carol' (dropbox) failed: Dropbox's listing sent the same cursor "
        f"again after 2 page(s); stopped instead of looping {HINT}"
    ]
    paths = [r.path for r in log.since()]
    assert paths.count("/2/files/list_folder") == 1
    assert paths.count("/2/files/list_folder/continue") == 1


def test_a_repeated_dropbox_cursor_ends_the_change_feed(capsys, dropbox):
    from trashscan.cli import run

    server = dropbox.servers["dropbox"]
    assert run(["--config", str(dropbox.config_path), "scan", "--account", "carol"]) == 0
    server.faults.add(_page(LOOPING_CURSOR), path=r"^/2/files/list_folder/continue$", times=None)
    capsys.readouterr()
    log = RequestLog(server)
    log.mark()

    code = run(["--config", str(dropbox.config_path), "scan", "--account", "carol"])

    assert code == 1
    assert _failures(capsys.readouterr().err) == [
        "trashscan: account 'carol' (dropbox) failed: Dropbox's change feed sent the same cursor "
        f"again after 2 page(s); stopped instead of looping {HINT}"
    ]
    assert [r.path for r in log.since()].count("/2/files/list_folder/continue") == 2
