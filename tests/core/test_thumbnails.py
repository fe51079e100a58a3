"""The thumbnail cache (versions, cap, eviction, privacy), picture making, and the fetch phase
against a provider written for the test (request counts, bounds, failures, live captures)."""

from __future__ import annotations

import io
import os
import stat
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from PIL import Image

from trashscan import thumbnails
from trashscan.index import Index
from trashscan.models import (
    Account,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    ScanOutcome,
    Thumbnail,
    TrashItem,
)
from trashscan.provider import Capabilities, Provider, ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore
from trashscan.thumbnails import ThumbnailCache, ThumbnailError, ThumbnailFetch, render

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


def jpeg(width: int = 800, height: int = 600, color: tuple[int, int, int] = (200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), color).save(out, "JPEG")
    return out.getvalue()


def size_of(data: bytes) -> tuple[int, int]:
    with Image.open(io.BytesIO(data)) as image:
        return image.size


def indexed(item_id: str, *, provider: str = "fake", account: str = "a", **kw: Any) -> IndexedItem:
    values: dict[str, Any] = dict(
        ref=item_id.ljust(40, "0")[:40], provider=provider, account=account, item_id=item_id,
        name=f"{item_id}.jpg", path=None, kind=Kind.PHOTO, mime_type="image/jpeg", size=None,
        deleted_at=NOW, deleted_at_source="api", purge_at=None, purge_is_estimate=False,
        restorable=True, not_restorable_reason=None, restore_handle={}, first_seen=NOW,
        last_seen=NOW, state=ItemState.TRASHED,
    )  # fmt: skip
    values.update(kw)
    return IndexedItem(**values)


@pytest.fixture
def cache(tmp_path: Path) -> ThumbnailCache:
    return ThumbnailCache(tmp_path / "thumbs", max_bytes=10 * 1024 * 1024)


# --- where ---------------------------------------------------------------------------------------


def test_the_cache_lives_under_trashscan_home_when_set(tmp_path: Path) -> None:
    assert thumbnails.cache_root() == tmp_path / "trashscan-home" / "cache" / "thumbnails"


def test_without_trashscan_home_the_cache_is_the_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TRASHSCAN_HOME")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg-cache"))
    assert thumbnails.cache_root() == tmp_path / "xdg-cache" / "trashscan" / "thumbnails"


# --- versions, eviction, cap, privacy -------------------------------------------------------------


def test_a_new_version_of_an_item_gets_a_new_picture(cache: ThumbnailCache) -> None:
    old = indexed("x", content_hash="md5:aaa")
    new = indexed("x", content_hash="md5:bbb")
    cache.store("fake", "a", "x", old.thumbnail_key, render(jpeg(color=(255, 0, 0))))
    assert cache.read(old) is not None
    assert cache.read(new) is None  # the old picture is never shown for the new content
    assert cache.lookup("fake", "a", "x", new.thumbnail_key) == "missing"
    cache.store("fake", "a", "x", new.thumbnail_key, render(jpeg(color=(0, 0, 255))))
    cache.prune([new], [("fake", "a")])
    assert cache.read(old) is None and cache.read(new) is not None


def test_the_version_falls_back_from_the_hash_to_the_version_field() -> None:
    assert indexed("x", content_hash="md5:1", version="r2").thumbnail_key == "md5:1"
    assert indexed("x", version="r2").thumbnail_key == "r2"
    assert indexed("x").thumbnail_key == ""


def test_pictures_of_items_no_longer_trashed_and_of_removed_accounts_are_evicted(
    cache: ThumbnailCache,
) -> None:
    keep, gone, other = indexed("keep"), indexed("gone"), indexed("o", account="removed")
    for item in (keep, gone, other):
        cache.store(item.provider, item.account, item.item_id, "", render(jpeg()))
    cache.store("fake", "a", "live-photo", "h1", render(jpeg()), live=True)
    cache.store("fake", "removed", "live-photo", "h2", render(jpeg()), live=True)
    deleted = cache.prune([keep], [("fake", "a")])
    assert deleted == 3
    assert cache.read(keep) is not None
    assert cache.read(gone) is None and cache.read(other) is None
    assert cache.known("fake", "a", "live-photo", "h1")  # a live capture is kept
    assert not (cache.base / "fake" / "removed").exists()


def test_a_picture_of_a_trashed_item_is_kept_whichever_config_the_run_read(
    cache: ThumbnailCache,
) -> None:
    other = indexed("o", account="in-another-config")
    cache.store("fake", other.account, "o", "", render(jpeg()))
    cache.prune([other], [("fake", "a")])  # the index holds it trashed: still shown
    assert cache.read(other) is not None


def test_past_the_cap_live_captures_go_first_then_the_least_recently_used(
    tmp_path: Path,
) -> None:
    picture = render(jpeg())
    cache = ThumbnailCache(tmp_path / "thumbs", max_bytes=len(picture) * 3)
    items = [indexed(f"p{n}") for n in range(3)]
    for number, item in enumerate(items):
        cache.store("fake", "a", item.item_id, "", picture)
        path = Path(f"{cache._paths('fake', 'a', item.item_id, '', False)}.jpg")
        os.utime(path, (1000 + number, 1000 + number))
    cache.store("fake", "a", "live", "k", picture, live=True)
    cache.read(items[0])  # the oldest picture is used: it becomes the most recent
    cache.prune(items, [("fake", "a")])
    assert not cache.known("fake", "a", "live", "k")
    assert all(cache.lookup("fake", "a", i.item_id, "") == "picture" for i in items)
    cache.store("fake", "a", "p3", "", picture)
    cache.prune([*items, indexed("p3")], [("fake", "a")])
    assert cache.size() <= cache.max_bytes
    found = {i: cache.lookup("fake", "a", i, "") for i in ("p0", "p1", "p2", "p3")}
    assert found == {"p0": "picture", "p1": "missing", "p2": "picture", "p3": "picture"}


def test_cache_folders_are_0700_and_pictures_0600_whatever_the_umask(
    cache: ThumbnailCache,
) -> None:
    previous = os.umask(0o000)
    try:
        cache.store("fake", "a", "x", "", render(jpeg()))
        cache.store("fake", "a", "y", "", None)
        cache.store("fake", "a", "z", "k", render(jpeg()), live=True)
    finally:
        os.umask(previous)
    for folder, _dirs, files in os.walk(cache.root):
        assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700, folder
        for name in files:
            assert stat.S_IMODE(os.stat(os.path.join(folder, name)).st_mode) == 0o600, name


def test_a_marker_means_none_and_a_placeholder_is_shown(cache: ThumbnailCache) -> None:
    video = indexed("v", kind=Kind.VIDEO)
    cache.store("fake", "a", "v", "", None)
    assert cache.lookup("fake", "a", "v", "") == "none"
    assert cache.read(video) is None
    assert cache.picture(video) == thumbnails.placeholder(Kind.VIDEO)
    assert size_of(cache.picture(indexed("p")))[0] == thumbnails.MAX_SIDE


def test_a_symbolic_link_in_the_cache_is_not_read(cache: ThumbnailCache, tmp_path: Path) -> None:
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg())
    cache.store("fake", "a", "x", "", render(jpeg()))
    path = Path(f"{cache._paths('fake', 'a', 'x', '', False)}.jpg")
    path.unlink()
    path.symlink_to(secret)
    assert cache.read(indexed("x")) is None


# --- pictures ------------------------------------------------------------------------------------


def test_render_makes_a_small_jpeg_of_at_most_256_pixels() -> None:
    out = render(jpeg(4000, 3000))
    assert out.startswith(b"\xff\xd8") and size_of(out) == (256, 192)
    assert len(out) < 20_000


def test_render_applies_the_exif_orientation() -> None:
    image = Image.new("RGB", (400, 200), (10, 200, 10))
    exif = image.getexif()
    exif[0x0112] = 6  # rotated 90° clockwise: shown portrait
    out = io.BytesIO()
    image.save(out, "JPEG", exif=exif.tobytes())
    assert size_of(render(out.getvalue())) == (128, 256)


def test_render_reads_heic_through_pillow_heif() -> None:
    import pillow_heif

    pillow_heif.register_heif_opener()
    out = io.BytesIO()
    Image.new("RGB", (600, 400), (20, 20, 200)).save(out, "HEIF")
    assert thumbnails.heic_supported()
    assert size_of(render(out.getvalue())) == (256, 171)


def test_render_puts_transparency_on_white() -> None:
    out = io.BytesIO()
    Image.new("RGBA", (64, 64), (0, 0, 0, 0)).save(out, "PNG")
    with Image.open(io.BytesIO(render(out.getvalue()))) as image:
        assert image.getpixel((10, 10)) == (255, 255, 255)


@pytest.mark.parametrize(
    "data",
    [b"not a picture", b"%!PS-Adobe-3.0 EPSF-3.0\n", jpeg()[:200]],
    ids=["garbage", "eps", "truncated"],
)
def test_render_refuses_what_is_not_a_photo(data: bytes) -> None:
    with pytest.raises(ThumbnailError):
        render(data)


def test_render_refuses_a_decompression_bomb_before_decoding_it() -> None:
    out = io.BytesIO()
    Image.new("1", (20000, 20000)).save(out, "PNG")  # a few KB, 400 megapixels
    with pytest.raises(ThumbnailError, match="too large"):
        render(out.getvalue())


def test_a_video_placeholder_shows_its_length() -> None:
    plain, timed = thumbnails.video_placeholder(None), thumbnails.video_placeholder(83.0)
    assert plain != timed and size_of(timed) == (256, 144)
    assert thumbnails._duration_text(83.0) == "1:23"
    assert thumbnails._duration_text(3723.0) == "1:02:03"


# --- fetching ------------------------------------------------------------------------------------


class Recorder:
    """What the test provider was asked, shared by every instance."""

    def __init__(self) -> None:
        self.asked: list[str] = []
        self.live_asked: list[str] = []
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()
        self.answers: dict[str, Callable[[IndexedItem], Thumbnail]] = {}
        self.gate: threading.Event | None = None
        self.live: list[tuple[str, str]] = []
        self.sources: dict[str, Any] = {}


class PictureProvider(Provider):
    name = "fake"
    display_name = "Fake"
    capabilities = Capabilities(thumbnails=True)
    recorder: ClassVar[Recorder]

    def scan(self, account, state):  # pragma: no cover - never scanned here
        return ScanOutcome(None, True)
        yield Page()

    def thumbnails(
        self, account: Account, items: Sequence[IndexedItem], sources: Mapping[str, Any]
    ) -> Iterator[Thumbnail]:
        rec = self.recorder
        for item in items:
            with rec.lock:
                rec.asked.append(item.item_id)
                rec.in_flight += 1
                rec.most_in_flight = max(rec.most_in_flight, rec.in_flight)
                rec.sources.update({k: v for k, v in sources.items() if k == item.item_id})
            try:
                if rec.gate is not None:
                    rec.gate.wait(10)
                answer = rec.answers.get(item.item_id)
                yield answer(item) if answer else Thumbnail(item.item_id, data=jpeg())
            finally:
                with rec.lock:
                    rec.in_flight -= 1

    def live_thumbnails(self, account, wanted, limit):
        for item_id, key in self.recorder.live:
            if wanted(item_id, key):
                self.recorder.live_asked.append(item_id)
                yield Thumbnail(item_id, data=jpeg(), version_key=key)


class NoPictures(PictureProvider):
    capabilities = Capabilities(thumbnails=False)


@pytest.fixture
def recorder() -> Recorder:
    PictureProvider.recorder = Recorder()
    return PictureProvider.recorder


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    ix = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    yield ix
    ix.close()


def fill(index: Index, account: str, items: list[TrashItem], provider: str = "fake") -> None:
    scan_id = index.begin_scan(provider, account, NOW)
    index.write_page(scan_id, provider, account, Page(items=items), NOW)
    index.finish_scan(scan_id, ScanOutcome(None, complete_listing=True), NOW)


def photos(count: int, prefix: str = "p", **kw: Any) -> list[TrashItem]:
    return [
        TrashItem(
            item_id=f"{prefix}{n}",
            name=f"{prefix}{n}.jpg",
            purge_at=NOW + timedelta(days=n),
            purge_is_estimate=False,
            **kw,
        )
        for n in range(count)
    ]


def fetcher(
    index: Index, cache: ThumbnailCache, *, per_run: int = 50, concurrency: int = 4, **kw: Any
) -> ThumbnailFetch:
    context = ProviderContext(MemorySecretStore(), RetryPolicy(), lambda: NOW, cache.root)  # type: ignore[arg-type]
    classes = {"fake": PictureProvider, "none": NoPictures}
    return ThumbnailFetch(
        index, context, cache, per_run=per_run, concurrency=concurrency,
        load=classes.__getitem__, **kw,
    )  # fmt: skip


def test_fetch_asks_once_per_missing_picture_soonest_purge_first_and_bounded_per_run(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    fill(index, "a", photos(7))
    account = Account("a", "fake")
    [done] = fetcher(index, cache, per_run=5).run([account], {}, NOW, [account])
    assert recorder.asked == ["p0", "p1", "p2", "p3", "p4"]
    assert (done.fetched, done.failed, done.error) == (5, 0, None)
    fetcher(index, cache, per_run=5).run([account], {}, NOW, [account])
    assert recorder.asked[5:] == ["p5", "p6"]  # cached ones are never asked again
    fetcher(index, cache, per_run=5).run([account], {}, NOW, [account])
    assert len(recorder.asked) == 7
    assert all(size_of(cache.picture(i))[0] == 256 for i in index.items(_all(), NOW))


def _all() -> Any:
    from trashscan.index import ItemFilter

    return ItemFilter()


def test_a_failed_picture_is_retried_next_run_and_a_missing_one_is_not(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    fill(index, "a", photos(3))
    recorder.answers = {
        "p0": lambda i: Thumbnail(i.item_id, error="HTTP 503 after 5 attempts"),
        "p1": lambda i: Thumbnail(i.item_id, missing="no picture"),
        "p2": lambda i: Thumbnail(i.item_id, data=b"not an image"),
    }
    account = Account("a", "fake")
    [done] = fetcher(index, cache).run([account], {}, NOW, [account])
    assert (done.fetched, done.missing, done.failed) == (0, 2, 1)
    assert done.problems == ["HTTP 503 after 5 attempts"]
    fetcher(index, cache).run([account], {}, NOW, [account])
    assert recorder.asked == ["p0", "p1", "p2", "p0"]


def test_a_video_without_a_frame_gets_the_video_tile_with_its_length(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    fill(index, "a", [TrashItem(item_id="v", name="v.mp4", kind=Kind.VIDEO)])
    recorder.answers = {"v": lambda i: Thumbnail(i.item_id, missing="none", duration=83.0)}
    account = Account("a", "fake")
    fetcher(index, cache).run([account], {}, NOW, [account])
    [video] = index.items(_all(), NOW)
    assert cache.read(video) == thumbnails.video_placeholder(83.0)


def test_accounts_fetch_in_parallel_up_to_the_bound_one_request_at_a_time_each(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    names = [f"acct{n}" for n in range(5)]
    for name in names:
        fill(index, name, photos(3, prefix=f"{name}-"))
    recorder.gate = threading.Event()
    accounts = [Account(name, "fake") for name in names]
    timer = threading.Timer(0.3, recorder.gate.set)
    timer.start()
    fetcher(index, cache, concurrency=2).run(accounts, {}, NOW, accounts)
    timer.cancel()
    assert recorder.most_in_flight == 2
    assert len(recorder.asked) == 15


def test_a_provider_that_hangs_is_left_at_the_deadline_and_the_rest_is_kept(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    fill(index, "a", photos(2))
    recorder.gate = threading.Event()  # never set: the provider hangs on its first item
    account = Account("a", "fake")
    [done] = fetcher(index, cache, seconds=0.3).run([account], {}, NOW, [account])
    recorder.gate.set()
    assert done.error == "not finished in time; the rest next run"
    assert done.fetched == 0


def test_an_account_whose_provider_raises_keeps_what_came_before(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    from trashscan.errors import AuthError

    fill(index, "a", photos(3))

    def refuse(item: IndexedItem) -> Thumbnail:
        raise AuthError("the sign-in was refused", hint="sign in again")

    recorder.answers = {"p1": refuse}
    account = Account("a", "fake")
    [done] = fetcher(index, cache).run([account], {}, NOW, [account])
    assert done.fetched == 1 and done.error == "the sign-in was refused (sign in again)"


def test_a_provider_without_pictures_is_never_asked(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    fill(index, "n", photos(3), provider="none")
    account = Account("n", "none")
    [done] = fetcher(index, cache).run([account], {}, NOW, [account])
    assert recorder.asked == [] and (done.fetched, done.missing, done.failed) == (0, 0, 0)


def test_sources_from_the_scan_reach_the_provider(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    fill(index, "a", photos(1))
    account = Account("a", "fake")
    fetcher(index, cache).run([account], {"a": {"p0": "fresh-link"}}, NOW, [account])
    assert recorder.sources == {"p0": "fresh-link"}


def test_a_live_capture_is_found_when_its_item_is_trashed_without_a_request(
    index: Index, cache: ThumbnailCache, recorder: Recorder
) -> None:
    account = Account("a", "fake")
    recorder.live = [("alive", "quickxor:AAA"), ("other", "quickxor:BBB")]
    [done] = fetcher(index, cache).run([account], {}, NOW, [account])
    assert done.captured == 2 and recorder.live_asked == ["alive", "other"]
    fetcher(index, cache).run([account], {}, NOW, [account])
    assert recorder.live_asked == ["alive", "other"]  # captured once
    fill(index, "a", [TrashItem(item_id="alive", name="a.jpg", content_hash="quickxor:AAA")])
    [done] = fetcher(index, cache).run([account], {}, NOW, [account])
    assert done.adopted == 1 and recorder.asked == []
    [item] = index.items(_all(), NOW)
    assert cache.read(item) is not None
