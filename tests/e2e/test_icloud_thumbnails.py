"""Pictures of iCloud Photos' Recently Deleted through the real CLI against the sandbox's iCloud
fake: one GET of the asset's thumbnail resource per photo or video (the URL came with the
listing, never stored), none for iCloud Drive, none with --no-thumbnails, and a listing whole when
every picture fails."""

from __future__ import annotations

import functools
import io
from typing import Any

import pytest
from PIL import Image

import trashscan.retry
from trashscan.config import load_config
from trashscan.index import Index, ItemFilter
from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan.thumbnails import ThumbnailCache, cache_root
from trashscan_icloud.sandbox.fake import ICloudFake

PROVIDER = "icloud"
CONTENT = "/cvws/"


pytestmark = pytest.mark.sandbox(PROVIDER)  # the sandbox, fake and log fixtures of conftest


def trashed(sandbox: Sandbox) -> list[Any]:
    assert sandbox.config_path is not None
    with Index.open(load_config(sandbox.config_path).index_url) as index:
        return index.items(ItemFilter(), sandbox.now)


def content_calls(log: RequestLog) -> list[tuple[str, str, int | None]]:
    return [call for call in log.calls() if call[1].startswith(CONTENT)]


def test_one_request_per_deleted_photo_none_for_drive_and_none_on_a_rescan(
    cli: Any, sandbox: Sandbox, fake: ICloudFake, log: RequestLog
) -> None:
    log.mark()
    result = cli("scan")
    assert result.exit_code == 0 and result.stderr == ""
    items = trashed(sandbox)
    photos = [i for i in items if i.item_id.startswith("photo:")]
    drive = [i for i in items if not i.item_id.startswith("photo:")]
    assert photos and drive
    calls = content_calls(log)
    assert len(calls) == len(photos) and {c[0] for c in calls} == {"GET"}
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    for item in photos:
        assert item.content_hash and item.content_hash.startswith("icloud:")
        with Image.open(io.BytesIO(cache.read(item) or b"")) as image:
            assert image.format == "JPEG" and max(image.size) <= 256
    for item in drive:
        assert cache.lookup(item.provider, item.account, item.item_id, item.thumbnail_key) in (
            "none",
            "picture",  # a video of iCloud Drive: the placeholder tile
        )
    log.mark()
    assert cli("scan").exit_code == 0
    assert content_calls(log) == []


def test_no_thumbnails_makes_no_picture_request(
    cli: Any, sandbox: Sandbox, log: RequestLog
) -> None:
    log.mark()
    assert cli("scan", "--no-thumbnails").exit_code == 0
    assert cli("list", "--no-thumbnails").exit_code == 0
    assert content_calls(log) == []
    assert not cache_root(sandbox.data_dir).exists()


def test_a_listing_stays_whole_when_every_picture_fails_and_the_next_run_asks_again(
    cli: Any, sandbox: Sandbox, fake: ICloudFake, log: RequestLog, monkeypatch: Any
) -> None:
    waits: list[float] = []
    policy = functools.partial(trashscan.retry.RetryPolicy, sleep=waits.append)
    monkeypatch.setattr(trashscan.retry, "RetryPolicy", policy)
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(HttpFault(410, b"", {}), path=f"^{CONTENT}", times=None)
    log.mark()
    result = cli("list", "--format", "json")
    assert result.exit_code == 0
    assert len(result.json()) == len(trashed(sandbox))
    [note] = result.stderr.splitlines()
    assert "thumbnails of grace (icloud)" in note and "HTTP 410" in note
    photos = [i for i in trashed(sandbox) if i.item_id.startswith("photo:")]
    assert len(content_calls(log)) == len(photos)  # a 410 (link expired) is not retried at once
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    assert all(cache.read(i) is None for i in photos)
    fake.server.faults = type(fake.server.faults)()  # iCloud is fine again
    log.mark()
    assert cli("scan").exit_code == 0
    assert len(content_calls(log)) == len(photos)
    assert all(cache.read(i) is not None for i in photos)
