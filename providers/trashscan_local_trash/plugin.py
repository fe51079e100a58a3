"""The local desktop trash (freedesktop.org Trash specification 1.0) as a provider.

Where it looks: the account option ``trash_dirs`` (only those, each must exist), otherwise the
home trash ``$XDG_DATA_HOME/Trash`` (option ``xdg_data_home`` overrides the variable) plus, unless
``include_volumes`` is false, the per-volume trashes ``$topdir/.Trash/$uid`` and
``$topdir/.Trash-$uid`` of every mount point.

What it reports: every photo or video in the trash, one item per ``.trashinfo``. A trashed
*folder* is reported as one item per photo/video inside it (name = file name, path = original
folder path + relative path). Only regular files count: a symbolic link, FIFO or device in the
trash is never a photo, and links inside a trashed folder are not followed. A ``.trashinfo`` that
cannot be parsed is skipped with a logged warning, one whose file is gone (an orphan) silently. A
missing or unreadable ``DeletionDate`` still lists the item, without a deletion time. Names that
are not valid UTF-8 cannot be stored in the index and are skipped with a warning. A trash
directory that cannot be read makes the scan report an incomplete listing, so the core does not
take its items as gone.

Where a restore may write is :mod:`trashscan_local_trash.placement`'s rule (a per-volume trash is
written by whoever prepared the drive, so its entries stay inside the volume); an entry that breaks
it is listed as not restorable, with the reason.

Restoring moves one regular file back to its original path, re-creating missing folders, through
:mod:`trashscan.safe_fs` (no symbolic link followed, nothing replaced): a taken path gives
``name (restored).ext``, ``name (restored 2).ext``, ... A file of a trashed folder comes back
alone; the folder, with the rest of its contents, stays in the trash. Only after the file is in
place is the trash's copy removed, and then its ``.trashinfo``. Nothing else is ever deleted.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import queue
import stat
import threading
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import PurePath
from typing import Any, NamedTuple

from trashscan import safe_fs
from trashscan.errors import AccountError
from trashscan.kinds import classify, guess_mime_type
from trashscan.models import (
    Account,
    AuthStatus,
    DeletedAtSource,
    IndexedItem,
    Kind,
    Page,
    RestoreOutcome,
    RestoreResult,
    ScanOutcome,
    TrashItem,
)
from trashscan.provider import Capabilities, Provider, Retention
from trashscan_local_trash import placement, trashinfo
from trashscan_local_trash.options import OPTIONS
from trashscan_local_trash.placement import TrashLocation
from trashscan_local_trash.trashinfo import INFO_SUFFIX, MalformedTrashInfo, TrashInfo

log = logging.getLogger(__name__)

# Items a page holds: a page is one transaction, and a local trash is read far faster than a
# commit of 500 rows took, so pages are big (about 20 MB in flight, a page more read ahead; see
# trashscan.scanner). A commit writes every index page its rows touched, and in a big index
# each row touches a page of its own in each index: more rows a commit share more of them.
# SQLite's CPU for 100,000 rows in pages of 5,000 / 10,000: 3.3 / 2.9 s; for 400,000 rows in
# pages of 10,000 / 20,000: 21 / 16 s.
PAGE_SIZE = 20_000
_INFO_MAX = 64 * 1024  # a .trashinfo is a few hundred bytes; do not slurp a stray huge file
_MAX_RENAME_ATTEMPTS = 1000
THUMBNAIL_SOURCE_MAX = 64 * 1024 * 1024  # larger photos get a placeholder
_INFO_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
# A folder entries are looked up in: O_PATH needs only its search (x) permission, as a path did.
_DIR_FLAGS = getattr(os, "O_PATH", os.O_RDONLY) | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


class _RestoreFailed(Exception):
    pass


class LocalTrashProvider(Provider):
    name = "local-trash"
    display_name = "Local trash (freedesktop.org)"
    capabilities = Capabilities(
        list=True,
        restore=True,
        exact_deletion_times=True,
        incremental=False,
        thumbnails=True,
        thumbnails_note="photos: the trashed file itself, resized here (HEIC too); videos: a "
        "placeholder (no frame is decoded)",
    )
    retention = Retention(
        default_days=None,
        description="kept until emptied; set purge_after_days to match GNOME's automatic emptying",
    )
    options = OPTIONS

    # ------------------------------------------------------------------ discovery

    def trash_dirs(self, account: Account) -> list[str]:
        """The trash directories of ``account``, absolute and without duplicates."""
        opts = account.options
        configured = opts.get("trash_dirs")
        if configured:
            dirs = [configured] if isinstance(configured, str) else list(configured)
            found = [os.path.abspath(os.path.expanduser(str(d))) for d in dirs]
            for path in found:
                if not os.path.isdir(path):
                    raise AccountError(
                        f"trash directory {path} does not exist",
                        hint=f"fix trash_dirs of account {account.name!r}",
                    )
            return list(dict.fromkeys(found))
        found = []
        home = trashinfo.home_trash(opts.get("xdg_data_home"))
        if os.path.isdir(home):
            found.append(home)
        if opts.get("include_volumes", True):
            found.extend(trashinfo.volume_trashes(os.getuid()))
        unique: dict[str, str] = {}
        for path in found:
            unique.setdefault(os.path.realpath(path), path)
        return list(unique.values())

    def _purge_days(self, account: Account) -> int | None:
        days = self.retention.days_for(account)
        if days is None:
            days = account.options.get("purge_after_days")
        if days is None:
            return None
        if isinstance(days, bool) or not isinstance(days, int) or days < 0:
            raise AccountError(f"purge_after_days must be a whole number of days, not {days!r}")
        return days

    # ------------------------------------------------------------------ scan

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        days = self._purge_days(account)
        unreadable: list[str] = []  # a partial listing must not make the core think items left
        batch: list[TrashItem] = []
        scanned = list(self.trash_dirs(account))
        home_trash = trashinfo.home_trash(account.options.get("xdg_data_home"))
        for trash_dir in scanned:
            location = TrashLocation.of(trash_dir, home_trash)
            keep = timedelta(days=days) if days is not None else None
            entries = self._scan_dir(placement.Checker(location), unreadable)
            for item in _read_ahead(entries):
                if keep is not None and item.deleted_at is not None:
                    item.purge_at = item.deleted_at + keep
                    item.purge_is_estimate = True  # the desktop empties on its own schedule
                batch.append(item)
                if len(batch) >= PAGE_SIZE:
                    yield Page(items=batch)
                    batch = []
        if batch:
            yield Page(items=batch)
        # A volume seen before but not mounted now (an unplugged USB stick) still holds its trash:
        # the listing is then partial, so the core must not mark that volume's items as gone.
        missing = set((state or {}).get("trash_dirs", ())) - set(scanned)
        return ScanOutcome(
            state={"trash_dirs": sorted(set(scanned) | missing)},
            complete_listing=not unreadable and not missing,
        )

    def _scan_dir(
        self, checker: placement.Checker, unreadable: list[str]
    ) -> Generator[TrashItem, None, None]:
        trash_dir = checker.location.trash_dir
        for sub in ("files", "info"):
            # A files/ that is a symbolic link (to ~/Pictures, say) would make a restore move the
            # user's own files; such a trash is not read at all.
            path = os.path.join(trash_dir, sub)
            try:
                mode = os.lstat(path).st_mode
            except FileNotFoundError:
                continue  # an empty trash may lack info/ or files/
            except OSError as exc:
                mode, problem = 0, str(exc)
            else:
                problem = f"it is {safe_fs.kind_of(mode)}, not a folder"
            if not stat.S_ISDIR(mode):
                log.warning("ignoring trash directory %s: %s: %s", trash_dir, path, problem)
                unreadable.append(path)
                return
        info_dir = os.path.join(trash_dir, "info")
        # Entries are read relative to info/ and files/ opened once (neither a symbolic link):
        # no path walk per entry, and a folder swapped for a link meanwhile is not followed.
        folders: tuple[int, int] | None = None
        try:
            info_fd = os.open(info_dir, _DIR_FLAGS)
            try:
                folders = info_fd, os.open(os.path.join(trash_dir, "files"), _DIR_FLAGS)
            finally:
                if folders is None:
                    os.close(info_fd)
            # In name order, which is the index's key order (item ids share the trash's prefix):
            # each page's rows then extend the primary key where the last page's ended, instead
            # of landing all over it in directory (hash) order, which at a million items made
            # every commit rewrite most of the key's pages (1M items: 119 -> 70 s of CPU). The
            # names cost about 80 bytes an entry while the trash is read.
            with os.scandir(info_dir) as entries:
                names = sorted(e.name for e in entries if e.is_file(follow_symlinks=False))
            for name in names:
                stored_name = _stored_name(name)
                if stored_name:
                    yield from self._items_of(checker, folders, name, stored_name, unreadable)
        except FileNotFoundError:
            pass  # an empty trash may lack info/ (or files/: then nothing is listed)
        except OSError as exc:
            log.warning("cannot read trash directory %s: %s", info_dir, exc)
            unreadable.append(info_dir)
        finally:
            for fd in folders or ():
                os.close(fd)

    def _items_of(
        self,
        checker: placement.Checker,
        folders: tuple[int, int],
        info_name: str,
        stored_name: str,
        unreadable: list[str],
    ) -> Iterable[TrashItem]:
        """The photos and videos of one entry: ``info/<info_name>`` and ``files/<stored_name>``
        (a tuple for a file, a generator for a folder's files)."""
        trash_dir = checker.location.trash_dir
        info_fd, files_fd = folders
        try:
            info = trashinfo.parse(_read_no_follow(info_name, info_fd), trash_dir)
        except (OSError, MalformedTrashInfo) as exc:
            log.warning("skipping %s: %s", _info_path(trash_dir, info_name), exc)
            return ()
        try:
            st = os.stat(stored_name, dir_fd=files_fd, follow_symlinks=False)
        except OSError:
            log.debug("skipping %s: the trashed file is gone", _info_path(trash_dir, info_name))
            return ()
        item_id = f"{trash_dir}::{info_name}"
        if not _utf8(item_id):
            log.warning(
                "skipping %s: its name is not valid UTF-8", _info_path(trash_dir, info_name)
            )
            return ()
        if info.deleted_at is None:
            log.warning("%s has no readable DeletionDate", _info_path(trash_dir, info_name))
        if stat.S_ISREG(st.st_mode):
            item = _item(checker, item_id, info.original, st, info, {"trash_dir": trash_dir})
            return (item,) if item else ()
        stored = f"{trash_dir}/files/{stored_name}"  # trash_dir is absolute, no trailing /
        if not stat.S_ISDIR(st.st_mode):
            # A symbolic link (to /etc/passwd, to a folder), a FIFO, a device: never a photo.
            log.info("skipping %s: %s", stored, safe_fs.kind_of(st.st_mode))
            return ()
        return self._folder_items(checker, stored, item_id, info, unreadable)

    def _folder_items(
        self,
        checker: placement.Checker,
        stored: str,
        item_id: str,
        info: TrashInfo,
        unreadable: list[str],
    ) -> Iterator[TrashItem]:
        """The photos and videos inside the trashed folder ``stored`` (links not followed)."""
        trash_dir = checker.location.trash_dir

        def on_error(exc: OSError) -> None:
            log.warning("cannot read all of trashed folder %s: %s", stored, exc)
            unreadable.append(stored)

        for rel, inner_st in _regular_files(stored, on_error):
            if not _utf8(rel):
                log.warning("skipping %s: its name is not valid UTF-8", os.path.join(stored, rel))
                continue
            original = os.path.join(info.original, rel)
            handle = {"trash_dir": trash_dir, "inner": rel}
            item = _item(checker, f"{item_id}::{rel}", original, inner_st, info, handle)
            if item:
                yield item

    # ------------------------------------------------------------------ thumbnails

    def thumbnail(self, account: Account, item: IndexedItem, source: Any) -> bytes | None:
        """The trashed photo's own bytes (the core resizes them); None for a video.

        Read like a restore reads: only inside one of the account's trash directories, no
        symbolic link followed on the way, a regular file only, and only the file the scan
        listed (same inode, size and modification time).
        """
        if item.kind is Kind.VIDEO:
            return None
        handle = _full_handle(item)
        trash_dir, info_name = handle.get("trash_dir"), handle.get("info")
        stored = _stored_name(info_name) if isinstance(info_name, str) else ""
        parts = _inner_parts(handle.get("inner"))
        if not isinstance(trash_dir, str) or not stored or parts is None:
            raise AccountError("no trash location known for it; scan again")
        if trash_dir not in self._readable_trashes(account):
            raise AccountError(f"trash directory {trash_dir} is not available (not mounted?)")
        src_parts = ("files", stored, *parts)
        shown = os.path.join(trash_dir, *src_parts)
        try:
            folder = safe_fs.open_dir(trash_dir, src_parts[:-1])
            try:
                fd, st = safe_fs.open_regular(folder, src_parts[-1], shown)
            finally:
                os.close(folder)
        except OSError as exc:
            raise AccountError(f"cannot read {_shown(shown)}: {exc}") from None
        try:
            file_id = handle.get("file_id") or {}
            seen = (file_id.get("inode"), file_id.get("size"), file_id.get("mtime_ns"))
            if seen != (st.st_ino, st.st_size, st.st_mtime_ns):
                raise AccountError(f"{_shown(shown)} changed since the scan; scan again")
            if st.st_size > THUMBNAIL_SOURCE_MAX:
                return None  # a huge file is not decoded for a 256 px picture
            with os.fdopen(os.dup(fd), "rb") as source_file:
                return source_file.read(THUMBNAIL_SOURCE_MAX)
        finally:
            os.close(fd)

    def _readable_trashes(self, account: Account) -> list[str]:
        """The account's trash directories, looked up once per instance (one per fetch run)."""
        known = getattr(self, "_trashes", None)
        if known is None or known[0] != account.name:
            known = self._trashes = (account.name, self.trash_dirs(account))
        return known[1]

    # ------------------------------------------------------------------ restore

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        """Each item's result, a chunk at a time (see :class:`_Chunk`)."""
        try:
            allowed: set[str] | None = set(self.trash_dirs(account))
            problem = None
        except AccountError as exc:
            allowed, problem = None, str(exc)
        home_trash = trashinfo.home_trash(account.options.get("xdg_data_home"))
        pending = iter(items)
        while True:
            chunk = _Chunk(home_trash)
            try:
                staged = self._stage_chunk(pending, chunk, allowed, problem)
                if not staged:
                    return
                yield from chunk.finish(staged)
            finally:
                chunk.close()

    def _stage_chunk(
        self,
        pending: Iterator[IndexedItem],
        chunk: _Chunk,
        allowed: set[str] | None,
        problem: str | None,
    ) -> list[tuple[IndexedItem, RestoreResult | _Staged]]:
        """The next chunk's items, each placed at its destination (or its result, if it failed or
        needs no move), until :data:`RESTORE_CHUNK` items or :data:`CHUNK_COPY_BYTES` copied."""
        staged: list[tuple[IndexedItem, RestoreResult | _Staged]] = []
        copied = 0
        try:
            for item in pending:
                step: RestoreResult | _Staged
                try:
                    if allowed is None:
                        raise _RestoreFailed(problem)
                    step = self._stage(item, allowed, chunk)
                except (_RestoreFailed, OSError) as exc:
                    step = RestoreResult(item.item_id, RestoreOutcome.FAILED, detail=str(exc))
                staged.append((item, step))
                if isinstance(step, _Staged):
                    copied += step.placed.copied
                if len(staged) >= RESTORE_CHUNK or copied >= CHUNK_COPY_BYTES:
                    break
        except BaseException:
            chunk.undo(staged)
            raise
        return staged

    def _stage(
        self, item: IndexedItem, allowed: set[str], chunk: _Chunk
    ) -> RestoreResult | _Staged:
        """Give one regular file of the trash its original place (or a free name beside) as a
        new name; the trash's name goes once the folder is synced (:meth:`_Chunk.finish`).

        A file inside a trashed folder comes back alone: the folder, and everything else in it,
        stays in the trash. Every folder on the way is opened without following symbolic links.
        Returns the item's result instead when there is nothing to move (it left the trash).
        """
        handle = _full_handle(item)
        trash_dir, info_name = handle.get("trash_dir"), handle.get("info")
        inner = handle.get("inner")
        if not isinstance(trash_dir, str) or not isinstance(info_name, str):
            raise _RestoreFailed("the index holds no restore information for this item")
        if trash_dir not in allowed:
            raise _RestoreFailed(f"trash directory {trash_dir} is not available (not mounted?)")
        stored_name = _stored_name(info_name)
        inner_parts = _inner_parts(inner)
        if not stored_name or inner_parts is None:
            raise _RestoreFailed(f"bad restore information {item.restore_handle or {}!r}")
        location, roots = chunk.location(trash_dir)

        info = _read_info(location, info_name, chunk)
        if info is not None:
            original = info.original
        else:  # the .trashinfo is gone: the handle says where the file was
            original = handle.get("original_path")
            if not isinstance(original, str) or not os.path.isabs(original):
                raise _RestoreFailed("no longer in the trash")
        target = os.path.join(original, *inner_parts)

        src_parts = ("files", stored_name, *inner_parts)
        try:
            src_dir = chunk.trash_folder(trash_dir, src_parts[:-1])
        except FileNotFoundError:
            return _gone(item, target, handle)
        except safe_fs.UnsafePathError as exc:
            raise _RestoreFailed(placement.describe(location, exc)) from None
        src_name = src_parts[-1]
        try:
            src_fd, src_st = safe_fs.open_regular(
                src_dir, src_name, os.path.join(trash_dir, *src_parts)
            )
        except FileNotFoundError:
            return _gone(item, target, handle)
        try:
            dest, dst_dir = _destination(location, roots, target, chunk)
            try:
                placed = safe_fs.place_file(src_fd, src_st, dst_dir, _candidates(dest.parts[-1]))
            except FileExistsError:
                raise _RestoreFailed(f"no free name next to {_shown(target)}") from None
            except OSError as exc:  # linked through /proc/self/fd/N: name the folder instead
                if isinstance(exc, FileNotFoundError):
                    raise
                folder = _shown(os.path.dirname(dest.path))
                raise _RestoreFailed(f"cannot write in {folder}: {exc.strerror or exc}") from None
        except FileNotFoundError:
            if _exists(src_dir, src_name):
                raise
            # Another restore (a second run, a file manager) took it out meanwhile: say what
            # is at the original place now, not "No such file or directory".
            return _gone(item, target, handle)
        finally:
            os.close(src_fd)
        folder = os.path.dirname(dest.path)
        return _Staged(
            trash_dir, info_name, info, original, target, inner_parts, src_dir, src_name, src_st,
            dst_dir, os.path.join(folder, placed.name), placed,
        )  # fmt: skip

    # ------------------------------------------------------------------ auth

    def check_auth(self, account: Account) -> AuthStatus:
        try:
            dirs = self.trash_dirs(account)
        except AccountError as exc:
            return AuthStatus(ok=False, detail=str(exc), hint=exc.hint)
        unreadable = [d for d in dirs if not os.access(d, os.R_OK | os.X_OK)]
        if unreadable:
            return AuthStatus(ok=False, detail=f"cannot read {', '.join(unreadable)}")
        if not dirs:
            return AuthStatus(ok=True, detail="no trash directory yet (nothing trashed)")
        return AuthStatus(ok=True, detail=f"trash readable: {', '.join(dirs)}")


def _item(
    checker: placement.Checker,
    item_id: str,
    original: str,
    st: os.stat_result,
    info: TrashInfo,
    handle: dict[str, Any],
) -> TrashItem | None:
    """A photo or video (by name) of the trash, with whether and why not it can be restored.

    ``handle`` is what the row cannot tell (:func:`_full_handle`): the trash directory, and
    ``inner``, the path inside a trashed folder. The version, ``inode:size:mtime_ns``, is also
    what "the same file" means if the entry has left the trash by the time it is restored."""
    path = _shown(original)
    name = path.rpartition("/")[2]  # os.path.basename, without its per-call overhead
    mime, kind = _type_of(name)
    if kind is Kind.OTHER:
        return None
    reason = checker.why_not(original)
    deleted_at = info.deleted_at
    # TrashItem's fields in their order: positional arguments cost a third of keywords here
    # (1.0 against 2.6 us an item); tests/providers/local_trash/test_local_trash_scan.py
    # compares the result with the same item made with keywords.
    return TrashItem(
        item_id, name, path, mime, st.st_size, deleted_at,
        DeletedAtSource.API if deleted_at else DeletedAtSource.OBSERVED,
        None, True,  # purge_at, purge_is_estimate: the scan's (see LocalTrashProvider.scan)
        reason is None, reason,
        handle,  # the rest is item_id, path and version (see _full_handle)
        kind, None, None, None,  # kind, deleted_after, purge_latest, content_hash
        f"{st.st_ino}:{st.st_size}:{st.st_mtime_ns}",
    )  # fmt: skip


class _ReadFailed(NamedTuple):
    error: BaseException


_READ_END = object()
_AHEAD_CHUNK = 500  # items the reading thread hands over at a time
_AHEAD_POLL = 0.1  # seconds between the reading thread's looks at whether the scan was closed


def _read_ahead(entries: Generator[TrashItem, None, None]) -> Iterator[TrashItem]:
    """``entries`` as they come, read by a thread of their own up to a page ahead.

    Reading a trash changes nothing anywhere (directory entries, ``.trashinfo`` files, lstat),
    so the next page may be read while the core commits this one: on two cores the filesystem's
    work overlaps SQLite's, both outside the GIL. What the scan yields, and when, is unchanged:
    the generator still yields a page only once the previous one is committed, and the core
    still resumes it only then; this plugin keeps no state of its own to run ahead. At most a
    page of items waits here, so memory stays flat. Closing the scan (a refused commit, the
    deadline, Ctrl-C) stops the thread at its next hand-over; an error it meets is raised here,
    where it would have been raised without it.
    """
    handoff: queue.Queue[list[TrashItem] | _ReadFailed | object] = queue.Queue(
        maxsize=max(1, PAGE_SIZE // _AHEAD_CHUNK)
    )
    closed = threading.Event()

    def hand(value: list[TrashItem] | _ReadFailed | object) -> bool:
        while not closed.is_set():
            try:
                handoff.put(value, timeout=_AHEAD_POLL)
            except queue.Full:
                continue
            return True
        return False

    def read() -> None:
        chunk: list[TrashItem] = []
        try:
            for item in entries:
                chunk.append(item)
                if len(chunk) >= _AHEAD_CHUNK:
                    if not hand(chunk):
                        return
                    chunk = []
            if hand(chunk):
                hand(_READ_END)
        except BaseException as exc:  # raised again in the scan's own thread
            hand(_ReadFailed(exc))
        finally:
            entries.close()  # its scandir, on this thread

    threading.Thread(target=read, name="local-trash-read", daemon=True).start()
    try:
        while True:
            got = handoff.get()
            if got is _READ_END:
                return
            if isinstance(got, _ReadFailed):
                raise got.error
            yield from got  # type: ignore[misc]
    finally:
        closed.set()


_TYPES: dict[str, tuple[str | None, Kind]] = {}


def _type_of(name: str) -> tuple[str | None, Kind]:
    """``guess_mime_type`` and ``classify`` of ``name``, which depend on its suffix alone (as
    ``PurePosixPath.suffix`` finds it, reproduced here), looked up once per suffix."""
    dot = name.rfind(".")
    suffix = name[dot:].lower() if 0 < dot < len(name) - 1 else ""
    known = _TYPES.get(suffix)
    if known is None:
        mime = guess_mime_type(name)
        known = _TYPES[suffix] = (mime, classify(name, mime))
    return known


def _regular_files(
    folder: str, on_error: Callable[[OSError], None]
) -> Iterator[tuple[str, os.stat_result]]:
    """The regular files under ``folder``: (relative path, lstat), sorted by path.

    Symbolic links are never followed (a link to ``~/.ssh`` inside a trashed folder is not
    that folder's content), and only regular files are reported (no FIFOs, devices or links).
    """
    pending = [""]
    while pending:
        rel = pending.pop()
        try:
            with os.scandir(os.path.join(folder, rel) if rel else folder) as it:
                entries = sorted(it, key=lambda e: e.name)
        except OSError as exc:
            on_error(exc)
            continue
        subfolders = []
        for entry in entries:
            path = f"{rel}/{entry.name}" if rel else entry.name
            try:
                if entry.is_dir(follow_symlinks=False):
                    subfolders.append(path)
                elif entry.is_file(follow_symlinks=False):
                    yield path, entry.stat(follow_symlinks=False)
            except OSError as exc:
                on_error(exc)
        pending.extend(reversed(subfolders))


def _read_no_follow(path: str, dir_fd: int | None = None) -> bytes:
    fd = os.open(path, _INFO_FLAGS, dir_fd=dir_fd)
    try:
        return os.read(fd, _INFO_MAX)
    finally:
        os.close(fd)


def _read_info(location: TrashLocation, info_name: str, chunk: _Chunk) -> TrashInfo | None:
    """The entry's ``.trashinfo`` (the truth: it keeps non-UTF-8 bytes exactly), None if gone."""
    info_path = os.path.join(location.trash_dir, "info", info_name)
    try:
        info_dir = chunk.trash_folder(location.trash_dir, ("info",))
    except FileNotFoundError:
        return None
    except safe_fs.UnsafePathError as exc:
        raise _RestoreFailed(placement.describe(location, exc)) from None
    try:
        data = _read_no_follow(info_name, info_dir)
    except FileNotFoundError:
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise _RestoreFailed(f"{info_path} is a symbolic link") from None
        raise
    try:
        return trashinfo.parse(data, location.trash_dir)
    except MalformedTrashInfo as exc:
        raise _RestoreFailed(f"{info_path} is malformed: {exc}") from exc


def _destination(
    location: TrashLocation, roots: list[str], target: str, chunk: _Chunk
) -> tuple[placement.Destination, int]:
    """Where ``target`` goes, and its folder opened (made if missing) without following a
    symbolic link; or _RestoreFailed with the reason."""
    try:
        dest = placement.destination(location, target, roots)
    except placement.NotRestorableError as exc:
        raise _RestoreFailed(str(exc)) from None
    problem = safe_fs.first_unsafe(dest.anchor, dest.parts)  # checked again now, for a clear
    if problem is not None:  # message ...
        raise _RestoreFailed(placement.describe(location, problem))
    try:  # ... and enforced here, where a swap since the check makes it fail
        return dest, chunk.destination_folder(dest)
    except safe_fs.UnsafePathError as exc:
        raise _RestoreFailed(placement.describe(location, exc)) from None


# A restore moves files a chunk at a time (see _Chunk): each destination folder is synced once
# per chunk instead of once per file (a folder's fsync costs milliseconds, a link microseconds).
RESTORE_CHUNK = 100
CHUNK_COPY_BYTES = 256 * 1024 * 1024  # copies (no hard links) end a chunk sooner


@dataclass(frozen=True, slots=True)
class _Staged:
    """A file of the trash that has its new name, its trash name not removed yet."""

    trash_dir: str
    info_name: str
    info: TrashInfo | None
    original: str
    target: str
    inner_parts: tuple[str, ...]
    src_dir: int
    src_name: str
    src_st: os.stat_result
    dst_dir: int
    restored: str  # the new name's path
    placed: safe_fs.Placed


class _Chunk:
    """Up to :data:`RESTORE_CHUNK` files of a restore, moved together in three steps: each gets
    its new name (:func:`safe_fs.place_file`); each folder given new names is synced once; then
    each file's trash name is removed (:func:`safe_fs.finish_move`), its ``.trashinfo`` too, and
    its result is given. As for a single file (:func:`safe_fs.move_file`), a file's new name is
    durable before its old one goes, and its result comes only after both: a crash in between
    leaves a file under both names (the same inode), which the next restore completes.

    What the chunk's files share is looked up once for them: each trash's starting points (real
    paths), its ``files/`` and ``info/`` folders, and each destination folder, opened without
    following a symbolic link. A destination folder is checked again for each file (the walk of
    :func:`safe_fs.first_unsafe`, then that the path still leads to the folder held open), so a
    folder swapped during the chunk is refused or opened again, as it would be file by file.
    """

    def __init__(self, home_trash: str) -> None:
        self.home_trash = home_trash
        self.locations: dict[str, tuple[TrashLocation, list[str]]] = {}
        self.trash_folders: dict[tuple[str, tuple[str, ...]], int] = {}
        self.destinations: dict[str, tuple[int, os.stat_result]] = {}
        self.fds: list[int] = []  # every folder opened, closed with the chunk

    def location(self, trash_dir: str) -> tuple[TrashLocation, list[str]]:
        known = self.locations.get(trash_dir)
        if known is None:
            location = TrashLocation.of(trash_dir, self.home_trash)
            known = self.locations[trash_dir] = (location, placement.roots_of(location))
        return known

    def trash_folder(self, trash_dir: str, parts: tuple[str, ...]) -> int:
        """``trash_dir/parts`` opened (:func:`safe_fs.open_dir`), once per chunk."""
        fd = self.trash_folders.get((trash_dir, parts))
        if fd is None:
            fd = safe_fs.open_dir(trash_dir, parts)
            self.fds.append(fd)
            self.trash_folders[(trash_dir, parts)] = fd
        return fd

    def destination_folder(self, dest: placement.Destination) -> int:
        """``dest``'s folder opened, made if missing (:func:`safe_fs.open_dir`); the one held
        open if its path still leads to it."""
        folder = os.path.dirname(dest.path)
        known = self.destinations.get(folder)
        if known is not None:
            fd, st = known
            try:
                if os.path.samestat(os.stat(folder, follow_symlinks=False), st):
                    return fd
            except OSError:
                pass
        fd = safe_fs.open_dir(dest.anchor, dest.parts[:-1], create=True)
        self.fds.append(fd)
        self.destinations[folder] = (fd, os.fstat(fd))
        return fd

    def finish(
        self, staged: list[tuple[IndexedItem, RestoreResult | _Staged]]
    ) -> Iterator[RestoreResult]:
        """Sync the folders given new names, then remove each trash name and give each result."""
        unsynced: dict[int, OSError] = {}
        for fd in dict.fromkeys(s.dst_dir for _, s in staged if isinstance(s, _Staged)):
            try:
                safe_fs.sync_dir(fd)
            except OSError as exc:
                unsynced[fd] = exc
        left = list(reversed(staged))
        try:
            while left:
                item, step = left[-1]
                if isinstance(step, _Staged):
                    try:
                        result = self._finish_one(item, step, unsynced.get(step.dst_dir))
                    except (_RestoreFailed, OSError) as exc:
                        result = RestoreResult(item.item_id, RestoreOutcome.FAILED, str(exc))
                else:
                    result = step
                left.pop()
                yield result
        finally:
            self.undo(left)  # closed early (an abandoned restore): those stay in the trash

    def _finish_one(
        self, item: IndexedItem, step: _Staged, unsynced: OSError | None
    ) -> RestoreResult:
        if unsynced is not None:
            safe_fs.undo_place(step.dst_dir, step.placed)
            folder = _shown(os.path.dirname(step.restored))
            reason = unsynced.strerror or unsynced
            raise _RestoreFailed(f"could not sync {folder} after the new name: {reason}")
        try:
            safe_fs.finish_move(step.src_dir, step.src_name, step.src_st, step.dst_dir, step.placed)
        except FileNotFoundError:
            if _exists(step.src_dir, step.src_name):
                raise
            # Another restore (a second run, a file manager) took it out meanwhile: say what
            # is at the original place now, not "No such file or directory".
            return _gone(item, step.target, _full_handle(item))
        notes = []
        outcome = RestoreOutcome.RESTORED
        if os.path.basename(step.restored) != os.path.basename(step.target):
            outcome = RestoreOutcome.CONFLICT_RESOLVED
            notes.append(f"{_shown(step.target)} is taken; restored as {_shown(step.placed.name)}")
        if step.inner_parts:
            notes.append(
                f"the rest of the trashed folder {_shown(step.original)} stays in the trash"
            )
        elif step.info is not None:
            try:
                info_dir = self.trash_folder(step.trash_dir, ("info",))
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(step.info_name, dir_fd=info_dir)
            except OSError as exc:
                notes.append(f"restored, but could not remove its .trashinfo: {exc}")
        return RestoreResult(
            item.item_id,
            outcome,
            detail="; ".join(notes) or None,
            restored_path=_shown(step.restored),
        )

    def undo(self, staged: list[tuple[IndexedItem, RestoreResult | _Staged]]) -> None:
        """The new names of files not finished, removed: they stay in the trash, untouched."""
        for _, step in staged:
            if isinstance(step, _Staged):
                safe_fs.undo_place(step.dst_dir, step.placed)

    def close(self) -> None:
        while self.fds:
            os.close(self.fds.pop())


def _gone(item: IndexedItem, target: str, handle: dict[str, Any]) -> RestoreResult:
    """The entry left the trash: already restored only if the file at ``target`` is that file.

    Same file means same inode, size and modification time as when it was listed. A file that
    only shares the name (the trash was emptied, a new photo took the name) is not.
    """
    shown = _shown(target)
    try:
        st = os.lstat(target)
    except FileNotFoundError:
        raise _RestoreFailed("no longer in the trash") from None
    except OSError as exc:
        raise _RestoreFailed(f"no longer in the trash; cannot read {shown}: {exc}") from None
    if not stat.S_ISREG(st.st_mode):
        raise _RestoreFailed(
            f"no longer in the trash; {shown} is now {safe_fs.kind_of(st.st_mode)}"
        )
    file_id = handle.get("file_id")
    if not isinstance(file_id, dict):
        file_id = {}
    same_content_clues = (
        file_id.get("size") == st.st_size and file_id.get("mtime_ns") == st.st_mtime_ns
    )
    if same_content_clues and file_id.get("inode") == st.st_ino:
        return RestoreResult(
            item.item_id,
            RestoreOutcome.ALREADY_RESTORED,
            detail="no longer in the trash; the file at the original path is the trashed one",
            restored_path=shown,
        )
    if file_id and not same_content_clues:
        raise _RestoreFailed(f"no longer in the trash; the file now at {shown} is a different file")
    raise _RestoreFailed(
        f"no longer in the trash; cannot tell whether the file now at {shown} is the trashed one"
    )


def _full_handle(item: IndexedItem) -> dict[str, Any]:
    """``item``'s restore handle with every key restore, :func:`_gone` and thumbnails read:
    ``trash_dir``, ``info`` (the ``.trashinfo``'s name), ``original_path`` (the original path as
    shown), ``file_id`` (the trashed file's inode, size and mtime_ns), and ``inner`` for a file
    inside a trashed folder.

    Older scans stored them all: such a handle (it has ``info``) is given as the index holds it.
    A scan now stores ``trash_dir`` (and ``inner``) only; the rest is the row's own, taken back
    strictly: ``item_id`` is ``trash_dir::info`` (``::inner`` appended), ``path`` is
    ``original_path`` (``/inner`` appended), ``version`` is ``inode:size:mtime_ns``. Where
    ``item_id`` or ``path`` does not read so, ``info`` is "" (bad restore information); where
    ``version`` does not, ``file_id`` is left out (whether a file is the trashed one cannot be
    told). Nothing is guessed.
    """
    handle: dict[str, Any] = item.restore_handle or {}
    trash_dir, inner = handle.get("trash_dir"), handle.get("inner")
    if "info" in handle or not isinstance(trash_dir, str):
        return handle
    full = {**handle, "info": ""}
    if inner is None or isinstance(inner, str):
        id_tail, path_tail = ("", "") if inner is None else (f"::{inner}", f"/{inner}")
        info_name = _between(item.item_id, f"{trash_dir}::", id_tail)
        original = _between(item.path, "", path_tail)
        if original == "" and inner is not None:
            original = "/"  # a folder trashed from "/" lists its files as "/" + inner
        if info_name and original and original.startswith("/"):
            full.update(info=info_name, original_path=original)
    file_id = _file_id(item.version)
    if file_id is not None:
        full["file_id"] = file_id
    return full


def _between(text: str | None, head: str, tail: str) -> str | None:
    """``text`` without ``head`` and ``tail``; None unless it is ``head`` + something + ``tail``."""
    if not isinstance(text, str) or len(text) < len(head) + len(tail):
        return None
    if not text.startswith(head) or not text.endswith(tail):
        return None
    return text[len(head) : len(text) - len(tail)]


def _file_id(version: object) -> dict[str, int] | None:
    """inode, size and mtime_ns from ``version`` as :func:`_item` writes it; None from any
    other text (no sign, space, leading zero or other digits: it must read back the same)."""
    if not isinstance(version, str):
        return None
    parts = version.split(":")
    if len(parts) != 3:
        return None
    try:
        inode, size, mtime_ns = (int(p) for p in parts)
    except ValueError:
        return None
    if f"{inode}:{size}:{mtime_ns}" != version:
        return None
    return {"inode": inode, "size": size, "mtime_ns": mtime_ns}


def _exists(dir_fd: int, name: str) -> bool:
    try:
        os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return False
    return True


def _stored_name(info_name: str) -> str:
    """The name under ``files/`` that ``info/<info_name>`` describes, or "" if there is none."""
    if not info_name.endswith(INFO_SUFFIX) or "/" in info_name:
        return ""
    name = info_name[: -len(INFO_SUFFIX)]
    return "" if name in {"", ".", ".."} else name


def _inner_parts(inner: object) -> tuple[str, ...] | None:
    """The components of a file's path inside its trashed folder; None if it is not one."""
    if inner is None:
        return ()
    if not isinstance(inner, str):
        return None
    parts = tuple(inner.split("/"))
    if any(p in {"", ".", ".."} or "\0" in p for p in parts):
        return None
    return parts


def _info_path(trash_dir: str, info_name: str) -> str:
    """Where the ``.trashinfo`` is, for messages (trash_dir is absolute, no trailing /)."""
    return f"{trash_dir}/info/{info_name}"


def _utf8(text: str) -> bool:
    if text.isascii():
        return True
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(path: str) -> str:
    """A path as text that is always valid UTF-8 (for the index and the terminal)."""
    if path.isascii():
        return path
    try:
        path.encode("utf-8")  # no surrogate escapes: already the text fsencode would round-trip
    except UnicodeEncodeError:
        return os.fsencode(path).decode("utf-8", "replace")
    return path


def _candidates(name: str) -> Iterator[str]:
    """``name``, then ``stem (restored).ext``, ``stem (restored 2).ext``, ..."""
    yield name
    p = PurePath(name)
    stem, suffix = (p.stem, p.suffix) if p.stem else (p.name, "")
    for n in range(1, _MAX_RENAME_ATTEMPTS):
        label = "restored" if n == 1 else f"restored {n}"
        yield f"{stem} ({label}){suffix}"
