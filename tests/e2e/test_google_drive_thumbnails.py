"""Pictures of trashed Drive photos through the real CLI against the sandbox's Drive fake:
the thumbnailLink the listing gave (never stored), a batched files.get for items the scan did not
list, a download for a photo without a thumbnail, and a listing whole when every picture fails."""

from __future__ import annotations

import functools
import io
from collections import Counter
from typing import Any

import pytest
from PIL import Image

import trashscan.retry
from trashscan.config import load_config
from trashscan.index import Index, ItemFilter
from trashscan.models import Account
from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan.thumbnails import ThumbnailCache, cache_root
from trashscan_google_drive.client import DriveSession
from trashscan_google_drive.sandbox.fake import GoogleDriveFake
from trashscan_google_drive.thumbnails import trusted

PROVIDER = "google-drive"
LINK = "/drive-storage/"


pytestmark = pytest.mark.sandbox(PROVIDER)


def trashed(sandbox: Sandbox) -> list[Any]:
    assert sandbox.config_path is not None
    with Index.open(load_config(sandbox.config_path).index_url) as index:
        return index.items(ItemFilter(), sandbox.now)


def kinds_of_calls(log: RequestLog) -> Counter[str]:
    """Picture requests since the mark: link GETs, downloads, batched reads."""
    counted: Counter[str] = Counter()
    for method, path, _status in log.calls():
        if path.startswith(LINK):
            counted["link"] += 1
        elif method == "GET" and path.startswith("/drive/v3/files/"):
            counted["download"] += 1
        elif path == "/batch/drive/v3":
            counted["batch"] += 1
    return counted


def downloads(log: RequestLog) -> list[Any]:
    return [
        r
        for r in log.since()
        if r.path.startswith("/drive/v3/files/") and r.query.get("alt") == ["media"]
    ]


def test_the_listing_s_link_is_fetched_once_per_item_and_a_rescan_asks_nothing(
    cli: Any, sandbox: Sandbox, fake: GoogleDriveFake, log: RequestLog
) -> None:
    log.mark()
    result = cli("scan")
    assert result.exit_code == 0 and result.stderr == ""
    items = trashed(sandbox)
    scanned = kinds_of_calls(log)
    assert scanned["link"] == len(items) and scanned["download"] == 0
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    for item in items:
        assert item.content_hash and item.content_hash.split(":")[0] in ("sha256", "md5")
        with Image.open(io.BytesIO(cache.read(item) or b"")) as image:
            assert image.format == "JPEG" and max(image.size) <= 256
    log.mark()
    parts_before = len(fake.batch_log)
    assert cli("scan").exit_code == 0
    # one batch: alice's change logs (hers and her 2 shared drives'), read together; no picture
    assert kinds_of_calls(log) == {"batch": 1}
    assert {(p.method, p.path) for p in fake.batch_log[parts_before:]} == {
        ("GET", "/drive/v3/changes")
    }


def test_items_the_scan_did_not_list_get_fresh_links_in_batches(
    cli: Any, sandbox: Sandbox, log: RequestLog
) -> None:
    assert cli("scan", "--no-thumbnails").exit_code == 0  # indexed, no pictures yet
    log.mark()
    assert cli("scan").exit_code == 0  # nothing changed: this scan lists no item
    items = trashed(sandbox)
    per_account = Counter(i.account for i in items)
    feeds = 1  # alice's change logs (hers and her 2 shared drives'), in one batch
    assert kinds_of_calls(log) == {"batch": len(per_account) + feeds, "link": len(items)}
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    assert all(cache.read(i) is not None for i in items)


def test_a_photo_without_a_thumbnail_is_downloaded_and_a_video_gets_a_placeholder(
    cli: Any, sandbox: Sandbox, fake: GoogleDriveFake, log: RequestLog
) -> None:
    out = io.BytesIO()
    Image.new("RGB", (1600, 1200), (10, 160, 200)).save(out, "PNG")
    photo = fake.add_file("alice", "scan.png", "image/png", content=out.getvalue())
    clip = fake.add_file("alice", "clip.mp4", "video/mp4", size=10_000)
    fake.trash("alice", photo.id)
    fake.trash("alice", clip.id)
    log.mark()
    assert cli("scan", "--account", "alice").exit_code == 0
    items = {i.item_id: i for i in trashed(sandbox)}
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    shown = cache.read(items[photo.id])
    assert shown is not None
    with Image.open(io.BytesIO(shown)) as image:
        assert image.size == (256, 192)
        assert image.convert("RGB").getpixel((128, 96))[2] > 150
    got = {r.path.rsplit("/", 1)[1] for r in downloads(log)}
    assert photo.id in got
    assert clip.id not in got  # a video is never downloaded for a picture
    assert cache.read(items[clip.id]) is not None  # its placeholder tile


def test_no_thumbnails_makes_no_picture_request(
    cli: Any, sandbox: Sandbox, log: RequestLog
) -> None:
    log.mark()
    assert cli("scan", "--no-thumbnails").exit_code == 0
    assert cli("list", "--no-thumbnails").exit_code == 0
    assert kinds_of_calls(log)["link"] == 0 and downloads(log) == []
    assert not cache_root(sandbox.data_dir).exists()


def test_a_listing_stays_whole_when_every_picture_fails(
    cli: Any, sandbox: Sandbox, fake: GoogleDriveFake, log: RequestLog, monkeypatch: Any
) -> None:
    monkeypatch.setattr(
        trashscan.retry,
        "RetryPolicy",
        functools.partial(trashscan.retry.RetryPolicy, sleep=[].append),
    )
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(HttpFault.server_error(503), path=f"^{LINK}", times=None)
    log.mark()
    result = cli("list", "--format", "json")
    assert result.exit_code == 0
    assert len(result.json()) == len(trashed(sandbox))
    notes = [line for line in result.stderr.splitlines() if "thumbnails of" in line]
    assert {n.split("thumbnails of ")[1].split(" ")[0] for n in notes} == {"alice", "bob"}
    attempts = trashscan.retry.RetryPolicy().max_attempts
    assert kinds_of_calls(log)["link"] == len(trashed(sandbox)) * attempts
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    assert all(cache.read(i) is None for i in trashed(sandbox))


def test_the_token_goes_only_to_google_or_the_account_s_own_endpoint() -> None:
    def session(endpoint: str | None) -> DriveSession:
        fake = object.__new__(DriveSession)
        fake.account = Account("a", PROVIDER, endpoint=endpoint)
        return fake

    google = session(None)
    assert trusted("https://lh3.googleusercontent.com/drive-storage/x=s220", google)
    assert trusted("https://drive.google.com/thumbnail?id=x", google)
    assert not trusted("http://lh3.googleusercontent.com/x", google)  # not over plain HTTP
    assert not trusted("https://googleusercontent.com.evil.example/x", google)
    assert not trusted("https://127.0.0.1:8443/drive-storage/x", google)
    box = session("https://127.0.0.1:8443/")
    assert trusted("https://127.0.0.1:8443/drive-storage/x", box)
    assert not trusted("https://lh3.googleusercontent.com/x", box)
    assert not trusted("https://127.0.0.1:9999/drive-storage/x", box)
