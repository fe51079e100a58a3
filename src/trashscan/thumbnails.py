"""The local thumbnail cache: one small picture per trashed photo or video, and how it is filled.

Why a cache of our own: a provider's thumbnail link expires within hours (Drive: hours, iCloud:
about one, Dropbox's temporary links: four) and some work only with the account's credentials,
so nothing that shows pictures later (the UI, the alerts) can use them. Nothing here stores or
serves a provider's URL: only image bytes this module re-encoded itself, a JPEG of at most
256 px (a few KB).

Where: ``<data dir>/cache/thumbnails`` when the config names its data dir (``[data] dir``: the
sandbox's does), else ``$TRASHSCAN_HOME/cache/thumbnails`` when ``TRASHSCAN_HOME`` is set (the
tests never touch the user's real cache), else the platform's user cache dir. Every folder is
0700 and every file 0600, whatever the umask: the pictures show what the user threw away.

Layout::

    v1/<provider>/<account>/<item>-<version>.jpg        a trashed item's picture
    v1/<provider>/<account>/<item>-<version>.none       the provider has none: not asked again
    v1/<provider>/<account>/live/<item>-<version>.jpg   captured before the item was deleted

``<item>`` is a hash of the item id and ``<version>`` a hash of ``IndexedItem.thumbnail_key``
(the provider's content hash, else its version: a Dropbox revision, a file's inode and mtime),
so a new version of an item gets a new picture. A live capture (OneDrive personal, whose API
shows no picture of a deleted item) is moved beside the others, without a request, once its item
shows up in the trash with the same version.

Eviction, after every fetch: pictures of items no longer trashed go (and the folders of accounts
no longer configured); past ``[thumbnails] max_mb``, live captures go first (oldest first), then
the least recently used pictures (reading one touches it).

When pictures are fetched: at the end of ``scan`` and ``list`` (after the listing is printed and
committed), and by ``check`` before it notifies (a scheduled user runs only ``check``, and the
alerts carry pictures: :mod:`trashscan.alert_pictures`), for the accounts just scanned, soonest
purge first, at most ``[thumbnails] per_run`` per account and run (and as many live captures),
accounts in parallel up to ``[scan] concurrency``, one request at a time per account, within two
minutes (or what is left of the run's deadline). A failed picture is a placeholder and is asked
again next run; it never fails the listing or changes the exit code. ``--no-thumbnails`` or
``[thumbnails] enabled = false`` turn fetching off (pictures already cached are still shown).

Pillow (and pillow-heif, for HEIC) is imported only here, and only when a picture is made.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import queue
import re
import stat
import tempfile
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from trashscan.files import PRIVATE_FILE, make_private_dirs, tighten, tighten_tree
from trashscan.models import Account, IndexedItem, ItemState, Kind, Thumbnail

if TYPE_CHECKING:
    from trashscan.index import Index
    from trashscan.provider import Provider, ProviderContext

log = logging.getLogger(__name__)

LAYOUT = "v1"
MAX_SIDE = 256  # pixels, the longest side of a cached picture
JPEG_QUALITY = 78
MAX_INPUT_BYTES = 64 * 1024 * 1024  # a provider's answer larger than this is not decoded
MAX_PIXELS = 120_000_000  # a bigger image (a decompression bomb, or a panorama) is refused
PHASE_SECONDS = 120.0  # the longest a run spends fetching pictures
PICTURE, MARKER = ".jpg", ".none"
LIVE = "live"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# What Pillow may decode: photo formats only (no EPS, which runs Ghostscript, nor rarer parsers).
_FORMATS = ("JPEG", "MPO", "PNG", "GIF", "WEBP", "TIFF", "BMP", "PPM", "HEIF", "AVIF")

Found = Literal["picture", "none", "missing"]


class ThumbnailError(Exception):
    """A picture could not be made from what the provider sent (one line, no traceback)."""


# ------------------------------------------------------------------------------------- where


def cache_root(configured_data_dir: Path | None = None) -> Path:
    """In the config's own data dir if it names one (eviction drops the folders of accounts a
    config does not list: a shared cache would lose the real accounts' pictures to a sandbox
    run), else ``$TRASHSCAN_HOME/cache/thumbnails``, else the user cache dir's; not created."""
    from trashscan.config import ENV_HOME, _env_path

    home = configured_data_dir or _env_path(ENV_HOME)
    if home is not None:
        return home / "cache" / "thumbnails"
    import platformdirs

    return Path(platformdirs.user_cache_dir("trashscan", appauthor=False)) / "thumbnails"


def _digest(text: str, length: int) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()[:length]


def _folder_name(name: str) -> str:
    """A provider or account name as a folder: itself when plainly safe, else a hash of it."""
    return name if _SAFE_NAME.fullmatch(name) else "h-" + _digest(name, 24)


def _write_private(path: Path, data: bytes) -> None:
    """All or nothing, 0600; no fsync: a picture lost in a crash is fetched again."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


# ------------------------------------------------------------------------------------- cache


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    size: int
    used: float  # mtime: when written or last read
    live: bool


class ThumbnailCache:
    """The files of the cache; safe to read from several threads, written by one."""

    def __init__(self, root: Path, max_bytes: int) -> None:
        self.root = Path(root)
        self.base = self.root / LAYOUT
        self.max_bytes = max_bytes

    @classmethod
    def open(cls, max_mb: int, configured_data_dir: Path | None = None) -> ThumbnailCache:
        """The config's cache (:func:`cache_root`); what an older run left readable by others
        is tightened first."""
        root = cache_root(configured_data_dir)
        if root.is_dir():
            tighten(root.parent)  # ours too: $TRASHSCAN_HOME/cache, ~/.cache/trashscan
            tighten_tree(root)
        return cls(root, max_mb * 1024 * 1024)

    # -- names

    def _account_dir(self, provider: str, account: str) -> Path:
        return self.base / _folder_name(provider) / _folder_name(account)

    @staticmethod
    def _stem(item_id: str, key: str) -> str:
        return f"{_digest(item_id, 32)}-{_digest(key, 16)}"

    def _paths(self, provider: str, account: str, item_id: str, key: str, live: bool) -> Path:
        folder = self._account_dir(provider, account)
        return (folder / LIVE if live else folder) / self._stem(item_id, key)

    # -- reading

    def lookup(
        self, provider: str, account: str, item_id: str, key: str, *, live: bool = False
    ) -> Found:
        stem = self._paths(provider, account, item_id, key, live)
        if os.path.isfile(f"{stem}{PICTURE}"):
            return "picture"
        if os.path.isfile(f"{stem}{MARKER}"):
            return "none"
        return "missing"

    def known(self, provider: str, account: str, item_id: str, key: str) -> bool:
        """Whether a picture or a "none" is held for this version, trashed or captured live."""
        return any(
            self.lookup(provider, account, item_id, key, live=live) != "missing"
            for live in (False, True)
        )

    def read(self, item: IndexedItem) -> bytes | None:
        """The item's cached picture (JPEG), or None; a read counts as a use (LRU)."""
        stem = self._paths(item.provider, item.account, item.item_id, item.thumbnail_key, False)
        path = Path(f"{stem}{PICTURE}")
        try:
            fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return None
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                return None
            with os.fdopen(os.dup(fd), "rb") as handle:
                data = handle.read(MAX_INPUT_BYTES)
            with contextlib.suppress(OSError):
                os.utime(fd)
            return data
        finally:
            os.close(fd)

    def picture(self, item: IndexedItem) -> bytes:
        """What to show for an item: its picture, else a placeholder for its kind (JPEG)."""
        data = self.read(item)
        return data if data is not None else placeholder(item.kind)

    # -- writing (one thread)

    def _folder(self, provider: str, account: str, live: bool) -> Path:
        folder = self._account_dir(provider, account)
        folder = folder / LIVE if live else folder
        make_private_dirs(folder)
        tighten(self.root)
        return folder

    def store(
        self,
        provider: str,
        account: str,
        item_id: str,
        key: str,
        picture: bytes | None,
        *,
        live: bool = False,
    ) -> None:
        """Keep ``picture`` (a JPEG made by :func:`render`) for this version, or, with None,
        remember that the provider has none. A live capture replaces the item's older ones."""
        folder = self._folder(provider, account, live)
        stem = self._stem(item_id, key)
        if live:  # trashed pictures of older versions go with the next prune
            prefix = stem.split("-", 1)[0] + "-"
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.name.startswith(prefix) and not entry.name.startswith(stem):
                        with contextlib.suppress(OSError):
                            os.unlink(entry.path)
        target = folder / f"{stem}{PICTURE if picture is not None else MARKER}"
        other = folder / f"{stem}{MARKER if picture is not None else PICTURE}"
        _write_private(target, picture or b"")
        with contextlib.suppress(FileNotFoundError):
            other.unlink()

    def adopt(self, provider: str, account: str, item_id: str, key: str) -> bool:
        """Move a live capture of this version beside the trashed pictures; True if one was."""
        source = self._paths(provider, account, item_id, key, True)
        target = self._paths(provider, account, item_id, key, False)
        for suffix in (PICTURE, MARKER):
            if os.path.isfile(f"{source}{suffix}"):
                self._folder(provider, account, False)
                try:
                    os.replace(f"{source}{suffix}", f"{target}{suffix}")
                except OSError as exc:
                    log.debug("could not move a captured picture: %s", exc)
                    return False
                return True
        return False

    def forget_account(self, provider: str, account: str) -> None:
        """Delete every picture of an account (``accounts remove``)."""
        import shutil

        folder = self._account_dir(provider, account)
        if folder.is_dir() and not folder.is_symlink():
            shutil.rmtree(folder, ignore_errors=True)

    # -- eviction

    def _files(self) -> Iterable[tuple[str, str, _File]]:
        """(provider folder, account folder, file) for every file of the layout."""
        if not self.base.is_dir():
            return
        for provider in os.scandir(self.base):
            if not provider.is_dir(follow_symlinks=False):
                continue
            for account in os.scandir(provider.path):
                if not account.is_dir(follow_symlinks=False):
                    continue
                for folder, live in (
                    (account.path, False),
                    (os.path.join(account.path, LIVE), True),
                ):
                    try:
                        entries = list(os.scandir(folder))
                    except OSError:
                        continue
                    for entry in entries:
                        if not entry.is_file(follow_symlinks=False):
                            continue
                        st = entry.stat(follow_symlinks=False)
                        found = _File(Path(entry.path), st.st_size, st.st_mtime, live)
                        yield provider.name, account.name, found

    def prune(self, trashed: Iterable[IndexedItem], accounts: Iterable[tuple[str, str]]) -> int:
        """Evict (see the module docstring); returns how many files were deleted.

        ``trashed``: every trashed photo and video of the index, whose pictures are kept;
        ``accounts``: every configured (provider, account), whose live captures are kept.
        """
        keep: set[tuple[str, str, str]] = set()
        for item in trashed:
            folder = (_folder_name(item.provider), _folder_name(item.account))
            keep.add((*folder, self._stem(item.item_id, item.thumbnail_key)))
        configured = {(_folder_name(p), _folder_name(a)) for p, a in accounts}
        deleted = 0
        kept: list[_File] = []
        for provider, account, found in list(self._files()):
            stem = found.path.name.rsplit(".", 1)[0]
            if found.path.name.startswith("."):  # a temp file a killed run left
                doomed = time.time() - found.used > 3600
            elif found.live:  # captures of an account no longer configured are never used
                doomed = (provider, account) not in configured
            else:  # the index says what is trashed, whichever config this run read
                doomed = (provider, account, stem) not in keep
            if doomed:
                deleted += _unlink(found.path)
            else:
                kept.append(found)
        total = sum(f.size for f in kept)
        for found in sorted(kept, key=lambda f: (not f.live, f.used)):
            if total <= self.max_bytes:
                break
            if found.size:
                deleted += _unlink(found.path)
                total -= found.size
        self._remove_empty_folders()
        return deleted

    def _remove_empty_folders(self) -> None:
        if not self.base.is_dir():
            return
        for folder, _dirs, _files in os.walk(self.base, topdown=False):
            if folder != str(self.base):
                with contextlib.suppress(OSError):  # not empty: kept
                    os.rmdir(folder)

    def size(self) -> int:
        """Bytes held (pictures and markers)."""
        return sum(found.size for _p, _a, found in self._files())


def _unlink(path: Path) -> int:
    try:
        path.unlink()
    except OSError:
        return 0
    return 1


# ------------------------------------------------------------------------------------- images

_heif_lock = threading.Lock()
_heif_state: list[bool] = []


def heic_supported() -> bool:
    """Whether HEIC/HEIF can be decoded (pillow-heif installed); registers it once."""
    with _heif_lock:
        if not _heif_state:
            try:
                import pillow_heif

                pillow_heif.register_heif_opener()
                _heif_state.append(True)
            except ImportError:
                _heif_state.append(False)
        return _heif_state[0]


@lru_cache(maxsize=1)
def _quiet_bomb_warning() -> None:
    """Pillow warns (on stderr) past 89 megapixels; :data:`MAX_PIXELS` is the limit here."""
    import warnings

    from PIL import Image

    warnings.filterwarnings("ignore", category=Image.DecompressionBombWarning)


def render(data: bytes) -> bytes:
    """A JPEG of at most :data:`MAX_SIDE` pixels made from any photo format Pillow reads.

    The EXIF orientation is applied, transparency goes onto white, and an image larger than
    :data:`MAX_PIXELS` is refused before it is decoded. Raises :class:`ThumbnailError`.
    """
    if len(data) > MAX_INPUT_BYTES:
        raise ThumbnailError(f"the picture is larger than {MAX_INPUT_BYTES // 2**20} MB")
    from PIL import Image, ImageOps

    heic_supported()
    _quiet_bomb_warning()
    Image.init()
    formats = [name for name in _FORMATS if name in Image.OPEN]  # AVIF: only where built in
    try:
        with Image.open(io.BytesIO(data), formats=formats) as image:
            width, height = image.size
            if width * height > MAX_PIXELS:
                raise ThumbnailError(f"the picture is too large to decode ({width}x{height})")
            image.draft("RGB", (MAX_SIDE, MAX_SIDE))  # JPEG: decode at a reduced scale
            picture = ImageOps.exif_transpose(image)
            picture.thumbnail((MAX_SIDE, MAX_SIDE))
            if picture.mode in ("RGBA", "LA", "PA") or "transparency" in picture.info:
                rgba = picture.convert("RGBA")
                picture = Image.new("RGB", rgba.size, (255, 255, 255))
                picture.paste(rgba, mask=rgba.getchannel("A"))
            elif picture.mode not in ("RGB", "L"):
                picture = picture.convert("RGB")
            out = io.BytesIO()
            picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
            return out.getvalue()
    except ThumbnailError:
        raise
    except Image.DecompressionBombError:
        raise ThumbnailError("the picture is too large to decode") from None
    except Exception as exc:  # UnidentifiedImageError, a truncated file, a decoder error
        detail = "not a picture format trashscan reads" if "identify" in str(exc) else None
        raise ThumbnailError(f"cannot read the picture ({detail or type(exc).__name__})") from None


def _duration_text(seconds: float) -> str:
    whole = max(0, round(seconds))
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


@lru_cache(maxsize=64)
def video_placeholder(duration: float | None = None) -> bytes:
    """A dark tile with a play symbol, and the length when known (a video without a frame)."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = MAX_SIDE, MAX_SIDE * 9 // 16
    image = Image.new("RGB", (width, height), (44, 46, 56))
    draw = ImageDraw.Draw(image)
    cx, cy, r = width // 2, height // 2, height // 5
    draw.ellipse(
        (cx - r - 12, cy - r - 12, cx + r + 12, cy + r + 12), outline=(230, 230, 235), width=3
    )
    draw.polygon([(cx - r // 2, cy - r), (cx - r // 2, cy + r), (cx + r, cy)], fill=(230, 230, 235))
    if duration is not None and duration >= 0:
        text = _duration_text(duration)
        try:
            font: Any = ImageFont.load_default(size=18)
        except TypeError:  # a Pillow without FreeType
            font = ImageFont.load_default()
        left, top, right, bottom = draw.textbbox((0, 0), text, font=font)
        x, y = width - (right - left) - 10, height - (bottom - top) - 10
        draw.rectangle((x - 5, y - 4, x + right - left + 5, y + bottom - top + 6), fill=(0, 0, 0))
        draw.text((x - left, y - top), text, fill=(255, 255, 255), font=font)
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


@lru_cache(maxsize=4)
def placeholder(kind: Kind) -> bytes:
    """What stands for a picture not (yet) in the cache: a video tile, or a plain photo tile."""
    if kind is Kind.VIDEO:
        return video_placeholder(None)
    from PIL import Image, ImageDraw

    image = Image.new("RGB", (MAX_SIDE, MAX_SIDE * 3 // 4), (226, 228, 233))
    draw = ImageDraw.Draw(image)
    w, h = image.size
    draw.rectangle((w * 0.3, h * 0.3, w * 0.7, h * 0.7), outline=(150, 153, 163), width=3)
    hills = [(0.33, 0.66), (0.45, 0.48), (0.55, 0.6), (0.6, 0.53), (0.67, 0.66)]
    draw.polygon([(w * x, h * y) for x, y in hills], fill=(150, 153, 163))
    out = io.BytesIO()
    image.save(out, "JPEG", quality=JPEG_QUALITY)
    return out.getvalue()


# ------------------------------------------------------------------------------------- fetching


@dataclass(slots=True)
class AccountThumbnails:
    """What one run's fetch did for one account."""

    account: Account
    fetched: int = 0  # pictures made and cached
    missing: int = 0  # the provider has none (placeholder; not asked again)
    failed: int = 0  # failed this run (placeholder; asked again next run)
    captured: int = 0  # live captures cached
    adopted: int = 0  # live captures found for newly trashed items (no request)
    error: str | None = None  # why the account stopped early (a refused sign-in, the deadline)
    problems: list[str] = field(default_factory=list)  # a few of the failures, for the note


@dataclass(frozen=True, slots=True)
class _Answer:
    account: Account
    item_id: str
    key: str
    picture: bytes | None  # None: the provider has none (a marker)
    error: str | None = None
    live: bool = False
    stand_in: bool = False  # the picture is a placeholder (a video without a frame)


@dataclass(frozen=True, slots=True)
class _Done:
    account: Account
    error: str | None


def _prepare(answer: Thumbnail, kind: Kind) -> tuple[bytes | None, str | None, bool]:
    """(picture to store, or None for "none"; this run's error; whether it stands in for a
    missing picture), on the worker. Bytes that make no picture are final for this version: a
    placeholder, not asked again."""
    if answer.error is not None:
        return None, answer.error, False
    if answer.data is not None:
        try:
            return render(answer.data), None, False
        except ThumbnailError as exc:
            log.info("no thumbnail of %s: %s", answer.item_id, exc)
    if kind is Kind.VIDEO:  # no frame: the video tile, with its length when known, is its picture
        return video_placeholder(answer.duration), None, True
    return None, None, True


def wanted_items(
    cache: ThumbnailCache, items: Sequence[IndexedItem], limit: int
) -> tuple[list[IndexedItem], int]:
    """The items to ask the provider about (at most ``limit``), and how many live captures were
    adopted instead. ``items`` come soonest purge first."""
    todo: list[IndexedItem] = []
    adopted = 0
    for item in items:
        args = (item.provider, item.account, item.item_id, item.thumbnail_key)
        if cache.lookup(*args) != "missing":
            continue
        if cache.adopt(*args):
            adopted += 1
            continue
        if len(todo) < limit:
            todo.append(item)
    return todo, adopted


class ThumbnailFetch:
    """One run's fetch: workers (one per account, up to ``concurrency`` at once) ask the
    providers; this thread alone writes the cache, until every worker is done or time is up.

    A worker left at the deadline (blocked on a silent server) is abandoned like a scan's: it is
    a daemon thread, and nothing it sends afterwards is written.
    """

    def __init__(
        self,
        index: Index,
        context: ProviderContext,
        cache: ThumbnailCache,
        *,
        per_run: int,
        concurrency: int,
        seconds: float = PHASE_SECONDS,
        load: Callable[[str], type[Provider]] | None = None,
    ) -> None:
        self.index = index
        self.context = context
        self.cache = cache
        self.per_run = per_run
        self.concurrency = max(1, concurrency)
        self.seconds = seconds
        if load is None:
            from trashscan.plugins import load_provider_class

            load = load_provider_class
        self.load = load
        self.events: queue.Queue[_Answer | _Done] = queue.Queue()
        self.stop = threading.Event()

    def run(
        self,
        accounts: Sequence[Account],
        sources: Mapping[str, Mapping[str, Any]],
        now: datetime,
        configured: Sequence[Account],
    ) -> list[AccountThumbnails]:
        """Fetch for ``accounts`` (``sources`` by account name), then prune the cache of every
        ``configured`` account (an account not among them loses its pictures)."""
        from trashscan.deadline import DaemonPool

        reports = {a.name: AccountThumbnails(a) for a in accounts}
        ends = time.monotonic() + self.seconds
        pool = DaemonPool(self.concurrency, "thumbnails")
        running: set[str] = set()
        try:
            for account in accounts:
                job = self._job(account, reports[account.name], now)
                if job is not None:
                    provider, todo = job
                    running.add(account.name)
                    pool.submit(self._work, provider, account, todo, sources.get(account.name, {}))
            while running:
                left = ends - time.monotonic()
                if left <= 0:
                    for name in running:
                        reports[name].error = "not finished in time; the rest next run"
                    break
                try:
                    event = self.events.get(timeout=left)
                except queue.Empty:
                    continue
                if isinstance(event, _Done):
                    running.discard(event.account.name)
                    if event.error:
                        reports[event.account.name].error = event.error
                    continue
                self._keep(event, reports[event.account.name])
        finally:
            self.stop.set()
            pool.close()
            pool.join(0.2)
        self._prune(configured, now)
        return [reports[a.name] for a in accounts]

    def _job(
        self, account: Account, report: AccountThumbnails, now: datetime
    ) -> tuple[Provider, list[IndexedItem]] | None:
        from trashscan.errors import TrashscanError
        from trashscan.index import ItemFilter

        try:
            provider = self.load(account.provider)(self.context)
        except TrashscanError as exc:
            report.error = exc.one_line()
            return None
        if not provider.capabilities.thumbnails:
            return None
        trashed = self.index.items(ItemFilter(accounts=((account.provider, account.name),)), now)
        todo, report.adopted = wanted_items(self.cache, trashed, self.per_run)
        return provider, todo

    def _work(
        self,
        provider: Provider,
        account: Account,
        todo: list[IndexedItem],
        sources: Mapping[str, Any],
    ) -> None:
        """On a worker thread: ask the provider, make the pictures, hand them over."""
        from trashscan.scanner import describe_error

        error = None
        try:
            if todo:
                self._trashed(provider, account, todo, sources)
            if not self.stop.is_set() and self.per_run > 0:
                self._live(provider, account)
        except BaseException as exc:  # reported for this account, never fatal for the others
            error = describe_error(exc)
        self.events.put(_Done(account, error))

    def _trashed(
        self,
        provider: Provider,
        account: Account,
        todo: list[IndexedItem],
        sources: Mapping[str, Any],
    ) -> None:
        by_id = {item.item_id: item for item in todo}
        answered: set[str] = set()
        answers = provider.thumbnails(account, todo, sources)
        try:
            for answer in answers:
                item = by_id.get(answer.item_id)
                if item is None or item.item_id in answered:
                    continue
                answered.add(item.item_id)
                picture, error, stand_in = _prepare(answer, item.kind)
                key = item.thumbnail_key
                self.events.put(
                    _Answer(account, item.item_id, key, picture, error, False, stand_in)
                )
                if self.stop.is_set():
                    return
        finally:
            close = getattr(answers, "close", None)
            if close is not None:
                close()

    def _live(self, provider: Provider, account: Account) -> None:
        def wanted(item_id: str, key: str) -> bool:
            return not self.cache.known(account.provider, account.name, item_id, key)

        answers = provider.live_thumbnails(account, wanted, self.per_run)
        try:
            for count, answer in enumerate(answers, start=1):
                if answer.version_key is None or count > self.per_run:
                    break
                picture, error, _ = _prepare(answer, Kind.PHOTO)
                item_id, key = answer.item_id, answer.version_key
                self.events.put(_Answer(account, item_id, key, picture, error, live=True))
                if self.stop.is_set():
                    return
        finally:
            close = getattr(answers, "close", None)
            if close is not None:
                close()

    def _keep(self, answer: _Answer, report: AccountThumbnails) -> None:
        """On this thread: write one answer to the cache."""
        account = answer.account
        if answer.error is not None:
            report.failed += 1
            if len(report.problems) < 3 and answer.error not in report.problems:
                report.problems.append(answer.error)
            return
        try:
            self.cache.store(
                account.provider,
                account.name,
                answer.item_id,
                answer.key,
                answer.picture,
                live=answer.live,
            )
        except OSError as exc:
            report.failed += 1
            if len(report.problems) < 3:
                report.problems.append(f"cannot write the thumbnail cache: {exc.strerror or exc}")
            return
        if answer.live:
            report.captured += answer.picture is not None
        elif answer.picture is None or answer.stand_in:
            report.missing += 1
        else:
            report.fetched += 1

    def _prune(self, accounts: Sequence[Account], now: datetime) -> None:
        from trashscan.errors import TrashscanError
        from trashscan.index import ItemFilter

        try:
            trashed = self.index.items(ItemFilter(states=frozenset({ItemState.TRASHED})), now)
            self.cache.prune(trashed, [(a.provider, a.name) for a in accounts])
        except (OSError, TrashscanError) as exc:
            log.warning("could not prune the thumbnail cache: %s", exc)
