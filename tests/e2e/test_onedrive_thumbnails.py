"""OneDrive pictures through the real CLI against the sandbox's Graph fake: personal photos are
captured while alive (the thumbnail's content, a 302 to a pre-authenticated URL: two requests
each, bounded per run) and found without a request once deleted; work or school items, and a
personal photo deleted before its capture, are placeholders with no request at all."""

from __future__ import annotations

import functools
from typing import Any

import pytest

import trashscan.retry
from trashscan.config import load_config
from trashscan.index import Index, ItemFilter
from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan.thumbnails import ThumbnailCache, cache_root
from trashscan_onedrive.mirror import MIRROR_FILE, live_media
from trashscan_onedrive.sandbox.fake import OneDriveFake

PROVIDER = "onedrive"
CONTENT = "/thumbnails/0/medium/content"


pytestmark = pytest.mark.sandbox(PROVIDER)  # the sandbox, fake and log fixtures of conftest


def trashed(sandbox: Sandbox, account: str) -> list[Any]:
    assert sandbox.config_path is not None
    with Index.open(load_config(sandbox.config_path).index_url) as index:
        return [i for i in index.items(ItemFilter(), sandbox.now) if i.account == account]


def picture_calls(log: RequestLog) -> tuple[list[str], list[str]]:
    """(item ids whose thumbnail content was asked, redirect targets fetched) since the mark."""
    asked = [
        r.path.split("/items/")[1].split("/")[0] for r in log.since() if r.path.endswith(CONTENT)
    ]
    followed = [r.path for r in log.since() if r.path.startswith("/1drv-thumbs/")]
    return asked, followed


def erin_live(sandbox: Sandbox) -> list[Any]:
    """erin's live photos and videos in her mirror, newest first."""
    return list(live_media(sandbox.data_dir / "accounts" / PROVIDER / "erin" / MIRROR_FILE))


def per_run(sandbox: Sandbox, count: int) -> None:
    assert sandbox.config_path is not None
    text = sandbox.config_path.read_text()
    sandbox.config_path.write_text(text + f"\n[thumbnails]\nper_run = {count}\n")


def test_live_photos_are_captured_and_a_deleted_one_is_shown_without_a_request(
    cli: Any, sandbox: Sandbox, fake: OneDriveFake, log: RequestLog
) -> None:
    log.mark()
    first = cli("scan")  # erin enrols: her photos are alive, and captured
    assert first.exit_code == 0, first.stderr
    alive = erin_live(sandbox)
    asked, followed = picture_calls(log)
    assert sorted(asked) == sorted(photo.id for photo in alive)  # two requests per photo
    assert len(followed) == len(asked)
    assert all(photo.hash for photo in alive)  # keyed by content, as the trash item will be
    assert trashed(sandbox, "frank")  # work or school: listed, never asked about

    sandbox.between_scans()  # erin deletes photos, a video and a folder of photos
    log.mark()
    second = cli("scan")
    assert second.exit_code == 0, second.stderr
    gone = trashed(sandbox, "erin")
    assert gone
    asked, _ = picture_calls(log)
    assert not {item.item_id for item in gone} & set(asked)  # the trash costs no request
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    for item in gone:
        assert item.content_hash and cache.read(item) is not None, item.name
    for item in trashed(sandbox, "frank"):
        found = cache.lookup(item.provider, item.account, item.item_id, item.thumbnail_key)
        assert found in ("none", "picture")  # a placeholder (a video's tile is a picture)
        assert cache.read(item) is None or item.kind.value == "video"


def test_captures_are_bounded_per_run_and_never_repeated(
    cli: Any, sandbox: Sandbox, fake: OneDriveFake, log: RequestLog
) -> None:
    per_run(sandbox, 3)
    runs = []
    for _ in range(3):
        log.mark()
        assert cli("scan", "--account", "erin").exit_code == 0
        runs.append(picture_calls(log)[0])
    alive = erin_live(sandbox)
    assert [len(run) for run in runs] == [3, 3, 3]
    newest_first = [photo.id for photo in alive]
    assert [*runs[0], *runs[1], *runs[2]] == newest_first[:9]  # each photo asked once


def test_a_photo_deleted_before_its_capture_is_a_placeholder_without_a_request(
    cli: Any, sandbox: Sandbox, fake: OneDriveFake, log: RequestLog
) -> None:
    assert cli("scan", "--no-thumbnails").exit_code == 0  # enrolled, nothing captured
    sandbox.between_scans()
    log.mark()
    assert cli("scan").exit_code == 0
    asked, _ = picture_calls(log)
    assert not {i.item_id for i in trashed(sandbox, "erin")} & set(asked)  # only live ones
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    photos = [i for i in trashed(sandbox, "erin") if i.kind.value == "photo"]
    assert photos and all(cache.read(i) is None for i in photos)
    assert all(
        cache.lookup(i.provider, i.account, i.item_id, i.thumbnail_key) == "none" for i in photos
    )


def test_no_thumbnails_captures_nothing(cli: Any, sandbox: Sandbox, log: RequestLog) -> None:
    log.mark()
    assert cli("scan", "--no-thumbnails").exit_code == 0
    assert cli("list", "--no-thumbnails").exit_code == 0
    assert picture_calls(log) == ([], [])
    assert not cache_root(sandbox.data_dir).exists()


def test_a_listing_stays_whole_when_every_capture_fails(
    cli: Any, sandbox: Sandbox, fake: OneDriveFake, log: RequestLog, monkeypatch: Any
) -> None:
    policy = functools.partial(trashscan.retry.RetryPolicy, sleep=[].append)
    monkeypatch.setattr(trashscan.retry, "RetryPolicy", policy)
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(HttpFault.unavailable(), path=f"{CONTENT}$", times=None)
    result = cli("list", "--format", "json")
    assert result.exit_code == 0
    assert {i["account"] for i in result.json()} == {"frank"}  # erin just enrolled
    [note] = [line for line in result.stderr.splitlines() if "thumbnails of" in line]
    assert "erin (onedrive)" in note and "503" in note
