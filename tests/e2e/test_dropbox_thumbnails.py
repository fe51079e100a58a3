"""Pictures of deleted Dropbox photos through the real CLI against the sandbox's Dropbox fake:
the requests they cost, one at a time per account, none with --no-thumbnails, and a listing that
stays whole when every picture fails."""

from __future__ import annotations

import functools
import io
import threading
from collections import Counter
from pathlib import PurePosixPath
from typing import Any

import pytest
from PIL import Image

import trashscan.retry
from trashscan.config import load_config
from trashscan.index import Index
from trashscan.models import Kind
from trashscan.sandbox.faults import HttpFault
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog
from trashscan.thumbnails import ThumbnailCache, cache_root
from trashscan_dropbox.sandbox.fake import DropboxFake
from trashscan_dropbox.thumbnails import THUMBNAIL_EXTENSIONS

PROVIDER = "dropbox"
THUMBNAIL = "/2/files/get_thumbnail_v2"
DOWNLOAD = "/2/files/download"
PICTURES = (THUMBNAIL, DOWNLOAD)


pytestmark = pytest.mark.sandbox(PROVIDER)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every RetryPolicy the CLI builds records its waits instead of sleeping."""
    waits: list[float] = []
    policy = functools.partial(trashscan.retry.RetryPolicy, sleep=waits.append)
    monkeypatch.setattr(trashscan.retry, "RetryPolicy", policy)
    return waits


def trashed(sandbox: Sandbox) -> list[Any]:
    assert sandbox.config_path is not None
    with Index.open(load_config(sandbox.config_path).index_url) as index:
        from trashscan.index import ItemFilter

        return index.items(ItemFilter(), sandbox.now)


def picture_calls(log: RequestLog) -> Counter[str]:
    return Counter(path for _, path, _ in log.calls() if path in PICTURES)


def test_each_deleted_photo_costs_one_request_videos_none_and_a_rescan_none(
    cli: Any, sandbox: Sandbox, fake: DropboxFake, log: RequestLog
) -> None:
    log.mark()
    result = cli("scan")
    assert result.exit_code == 0, result.stderr
    assert result.stderr == ""
    items = trashed(sandbox)
    photos = [i for i in items if i.kind is Kind.PHOTO]
    rendered = [i for i in photos if PurePosixPath(i.name).suffix.lower() in THUMBNAIL_EXTENSIONS]
    assert rendered and len(rendered) < len(photos)  # the seed has HEIC photos too
    assert any(i.kind is Kind.VIDEO for i in items)
    assert picture_calls(log) == {THUMBNAIL: len(rendered), DOWNLOAD: len(photos) - len(rendered)}
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    for item in items:
        assert item.content_hash and item.content_hash.startswith("dropbox:")
        assert item.version and item.thumbnail_key == item.content_hash
        found = cache.lookup(item.provider, item.account, item.item_id, item.thumbnail_key)
        assert found in ("picture", "none"), item.name
        if found == "picture":
            with Image.open(io.BytesIO(cache.read(item) or b"")) as image:
                assert max(image.size) <= 256 and image.format == "JPEG"
    log.mark()
    assert cli("scan").exit_code == 0
    assert picture_calls(log) == {}


def test_no_thumbnails_makes_no_picture_request(
    cli: Any, sandbox: Sandbox, fake: DropboxFake, log: RequestLog
) -> None:
    log.mark()
    assert cli("scan", "--no-thumbnails").exit_code == 0
    assert cli("list", "--no-thumbnails").exit_code == 0
    assert picture_calls(log) == {}
    assert not cache_root(sandbox.data_dir).exists()


def test_pictures_are_asked_one_at_a_time_per_account(
    cli: Any, sandbox: Sandbox, fake: DropboxFake, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = sandbox.servers[PROVIDER]
    server.latency = 0.02  # each answer takes a moment, so overlapping requests would overlap
    router = server.router
    dispatch = router.dispatch
    lock = threading.Lock()
    in_flight: Counter[str] = Counter()
    peak: Counter[str] = Counter()
    total_peak = [0]

    def counting(request: Any) -> Any:
        if request.path not in PICTURES:
            return dispatch(request)
        who = request.headers.get("Authorization", "")
        with lock:
            in_flight[who] += 1
            peak[who] = max(peak[who], in_flight[who])
            total_peak[0] = max(total_peak[0], sum(in_flight.values()))
        try:
            return dispatch(request)
        finally:
            with lock:
                in_flight[who] -= 1

    monkeypatch.setattr(router, "dispatch", counting)
    assert cli("scan").exit_code == 0
    assert len(peak) == 2 and set(peak.values()) == {1}  # two accounts, one request each at most
    assert total_peak[0] <= 2


def test_a_listing_stays_whole_when_every_picture_fails(
    cli: Any, sandbox: Sandbox, fake: DropboxFake, log: RequestLog, no_sleep: list[float]
) -> None:
    assert fake.server is not None and fake.server.faults is not None
    fake.server.faults.add(
        HttpFault.server_error(503), path="/2/files/(get_thumbnail_v2|download)$", times=None
    )
    log.mark()
    result = cli("list", "--format", "json")
    assert result.exit_code == 0
    listed = result.json()
    assert {i["account"] for i in listed} == {"carol", "dave"}
    notes = [line for line in result.stderr.splitlines() if "thumbnails of" in line]
    assert len(notes) == 2 and all("tried again next run" in n for n in notes)
    photos = [i for i in trashed(sandbox) if i.kind is Kind.PHOTO]
    attempts = trashscan.retry.RetryPolicy().max_attempts
    assert sum(picture_calls(log).values()) == len(photos) * attempts
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    assert all(cache.read(i) is None for i in photos)


def test_a_revision_dropbox_will_not_render_is_a_placeholder_not_asked_again(
    cli: Any, sandbox: Sandbox, fake: DropboxFake, log: RequestLog
) -> None:
    fake.api.content.deleted_revisions = "not_found"
    log.mark()
    assert cli("scan").exit_code == 0
    first = picture_calls(log)
    assert sum(first.values()) == len([i for i in trashed(sandbox) if i.kind is Kind.PHOTO])
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    assert all(cache.read(i) is None for i in trashed(sandbox) if i.kind is Kind.PHOTO)
    log.mark()
    assert cli("scan").exit_code == 0
    assert picture_calls(log) == {}


def test_an_account_signed_in_without_content_read_is_told_once_and_asked_once(
    cli: Any, sandbox: Sandbox, fake: DropboxFake, log: RequestLog
) -> None:
    grant = fake.auth.grants[fake.accounts["carol"].refresh_token]
    grant.scopes = grant.scopes - {"files.content.read"}  # signed in before it was asked for
    log.mark()
    result = cli("scan")
    assert result.exit_code == 0
    [note] = result.stderr.splitlines()
    assert note.startswith("trashscan: note: thumbnails of carol (dropbox): stopped: ")
    assert "files.content.read" in note and "accounts add dropbox carol" in note
    refused = [s for _, p, s in log.calls() if p in PICTURES and s == 401]
    assert refused == [401]  # the first picture's refusal stops the account's pictures
    cache = ThumbnailCache(cache_root(sandbox.data_dir), 10**9)
    dave = [i for i in trashed(sandbox) if i.account == "dave" and i.kind is Kind.PHOTO]
    assert any(cache.read(i) is not None for i in dave)
