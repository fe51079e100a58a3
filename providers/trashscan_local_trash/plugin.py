"""The local desktop trash (freedesktop.org Trash specification 1.0) as a provider.

Where it looks: the account option ``trash_dirs`` (only those, each must exist), otherwise the
home trash ``$XDG_DATA_HOME/Trash`` (option ``xdg_data_home`` overrides the variable) plus, unless
``include_volumes`` is false, the per-volume trashes ``$topdir/.Trash/$uid`` and
``$topdir/.Trash-$uid`` of every mount point.

What it reports: every photo or video in the trash, one item per ``.trashinfo``. A trashed
*folder* is reported as one item per photo/video inside it (name = file name, path = original
folder path + relative path). The spec only knows how to restore the folder as a whole, so restoring
any of those items restores the whole folder, and the result detail says so; the other items of the
folder then report the same outcome. A ``.trashinfo`` that cannot be parsed is skipped with a
logged warning, one whose file is gone (an orphan) silently. A missing or unreadable
``DeletionDate`` still lists the item, without a deletion time. Names that are not valid UTF-8
cannot be stored in the index and are skipped with a warning. A trash directory that cannot be read
makes the scan report an incomplete listing, so the core does not take its items as gone.

Restoring moves the file (or folder) back to its original path, creating missing parents, and
never overwrites: a taken path gives ``name (restored).ext``, ``name (restored 2).ext``, ...
Only after the file is in place is its ``.trashinfo`` removed. Nothing else is ever deleted, except
the trash's own copy after a cross-filesystem copy (the semantics of ``mv``).
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import shutil
import stat
from collections.abc import Generator, Iterator, Sequence
from datetime import timedelta
from pathlib import PurePath
from typing import Any, ClassVar

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
from trashscan_local_trash import trashinfo
from trashscan_local_trash.trashinfo import INFO_SUFFIX, MalformedTrashInfo, TrashInfo

log = logging.getLogger(__name__)

PAGE_SIZE = 500
_INFO_MAX = 64 * 1024  # a .trashinfo is a few hundred bytes; do not slurp a stray huge file
_MAX_RENAME_ATTEMPTS = 1000


class _RestoreFailed(Exception):
    pass


class LocalTrashProvider(Provider):
    name = "local-trash"
    display_name = "Local trash (freedesktop.org)"
    capabilities = Capabilities(
        list=True, restore=True, exact_deletion_times=True, incremental=False
    )
    retention = Retention(
        default_days=None,
        description="kept until emptied; set purge_after_days to match GNOME's automatic emptying",
    )
    options_help: ClassVar[dict[str, str]] = {
        "trash_dirs": "a trash directory with info/ and files/ (repeat for more); only these",
        "xdg_data_home": "use this instead of $XDG_DATA_HOME to find the home trash",
        "include_volumes": "also read .Trash-$uid / .Trash/$uid of mounted volumes (default true)",
        "purge_after_days": "days after which the desktop empties the trash (GNOME: 30)",
    }

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
        for trash_dir in scanned:
            for item in self._scan_dir(trash_dir, unreadable):
                if days is not None and item.deleted_at is not None:
                    item.purge_at = item.deleted_at + timedelta(days=days)
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

    def _scan_dir(self, trash_dir: str, unreadable: list[str]) -> Iterator[TrashItem]:
        info_dir = os.path.join(trash_dir, "info")
        try:
            with os.scandir(info_dir) as entries:
                for entry in entries:
                    if _stored_name(entry.name) and entry.is_file(follow_symlinks=False):
                        yield from self._items_of(trash_dir, entry.name, unreadable)
        except FileNotFoundError:
            pass  # an empty trash may lack info/
        except OSError as exc:
            log.warning("cannot read trash directory %s: %s", info_dir, exc)
            unreadable.append(info_dir)

    def _items_of(
        self, trash_dir: str, info_name: str, unreadable: list[str]
    ) -> Iterator[TrashItem]:
        info_path = os.path.join(trash_dir, "info", info_name)
        try:
            with open(info_path, "rb") as fh:
                info = trashinfo.parse(fh.read(_INFO_MAX), trash_dir)
        except (OSError, MalformedTrashInfo) as exc:
            log.warning("skipping %s: %s", info_path, exc)
            return
        stored = os.path.join(trash_dir, "files", _stored_name(info_name))
        try:
            st = os.lstat(stored)
        except OSError:
            log.debug("skipping %s: the trashed file is gone", info_path)
            return
        item_id = f"{trash_dir}::{info_name}"
        if not _utf8(item_id):
            log.warning("skipping %s: its name is not valid UTF-8", info_path)
            return
        if info.deleted_at is None:
            log.warning("%s has no readable DeletionDate", info_path)
        handle = {"trash_dir": trash_dir, "info": info_name, "original_path": info.display_path}
        if not stat.S_ISDIR(st.st_mode):
            item = _item(item_id, info.display_path, st.st_size, info, handle)
            if item:
                yield item
            return

        def on_error(exc: OSError) -> None:
            log.warning("cannot read all of trashed folder %s: %s", stored, exc)
            unreadable.append(stored)

        for dirpath, dirnames, filenames in os.walk(stored, onerror=on_error):
            dirnames.sort()
            for filename in sorted(filenames):
                full = os.path.join(dirpath, filename)
                rel = os.path.relpath(full, stored)
                if not _utf8(rel):
                    log.warning("skipping %s: its name is not valid UTF-8", full)
                    continue
                try:
                    size = os.lstat(full).st_size
                except OSError:
                    continue
                path = os.path.join(info.display_path, rel)
                item = _item(f"{item_id}::{rel}", path, size, info, {**handle, "inner": rel})
                if item:
                    yield item

    # ------------------------------------------------------------------ restore

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        try:
            allowed: set[str] | None = set(self.trash_dirs(account))
            problem = None
        except AccountError as exc:
            allowed, problem = None, str(exc)
        # A folder restored for one of its inner items serves the others: (trash_dir, info) -> path.
        folders: dict[tuple[str, str], tuple[RestoreOutcome, str]] = {}
        for item in items:
            try:
                if allowed is None:
                    raise _RestoreFailed(problem)
                yield self._restore_one(item, allowed, folders)
            except (_RestoreFailed, OSError) as exc:
                yield RestoreResult(item.item_id, RestoreOutcome.FAILED, detail=str(exc))

    def _restore_one(
        self,
        item: IndexedItem,
        allowed: set[str],
        folders: dict[tuple[str, str], tuple[RestoreOutcome, str]],
    ) -> RestoreResult:
        handle: dict[str, Any] = item.restore_handle or {}
        trash_dir, info_name = handle.get("trash_dir"), handle.get("info")
        inner = handle.get("inner")
        if not isinstance(trash_dir, str) or not isinstance(info_name, str):
            raise _RestoreFailed("the index holds no restore information for this item")
        if trash_dir not in allowed:
            raise _RestoreFailed(f"trash directory {trash_dir} is not available (not mounted?)")
        stored_name = _stored_name(info_name)
        if not stored_name or not isinstance(inner, str | None):
            raise _RestoreFailed(f"bad restore information {handle!r}")

        done = folders.get((trash_dir, info_name))
        if done is not None:
            outcome, folder = done
            return RestoreResult(
                item.item_id,
                outcome,
                detail=f"restored with its trashed folder {os.path.basename(folder)}",
                restored_path=os.path.join(folder, inner) if inner else folder,
            )

        info_path = os.path.join(trash_dir, "info", info_name)
        stored = os.path.join(trash_dir, "files", stored_name)
        original = self._original_path(info_path, trash_dir, handle)
        wanted = os.path.join(original, inner) if inner else original

        if not os.path.lexists(stored):
            if os.path.lexists(wanted):
                return RestoreResult(
                    item.item_id,
                    RestoreOutcome.ALREADY_RESTORED,
                    detail="no longer in the trash; a file is at the original path",
                    restored_path=wanted,
                )
            raise _RestoreFailed("no longer in the trash")

        os.makedirs(os.path.dirname(original), exist_ok=True)
        target = _move_no_replace(stored, original)
        detail = None
        try:
            os.unlink(info_path)
        except FileNotFoundError:
            pass
        except OSError as exc:
            detail = f"restored, but could not remove {info_path}: {exc}"

        outcome = RestoreOutcome.RESTORED
        notes = [] if detail is None else [detail]
        if target != original:
            outcome = RestoreOutcome.CONFLICT_RESOLVED
            notes.insert(0, f"{original} is taken; restored as {os.path.basename(target)}")
        if inner:
            folders[(trash_dir, info_name)] = (outcome, target)
            notes.append(f"restored the whole trashed folder {os.path.basename(target)}")
        return RestoreResult(
            item.item_id,
            outcome,
            detail="; ".join(notes) or None,
            restored_path=os.path.join(target, inner) if inner else target,
        )

    @staticmethod
    def _original_path(info_path: str, trash_dir: str, handle: dict[str, Any]) -> str:
        # The .trashinfo is the truth (it keeps non-UTF-8 bytes exactly); the handle is a fallback.
        try:
            with open(info_path, "rb") as fh:
                return trashinfo.parse(fh.read(_INFO_MAX), trash_dir).original
        except FileNotFoundError:
            pass
        except MalformedTrashInfo as exc:
            raise _RestoreFailed(f"{info_path} is malformed: {exc}") from exc
        original = handle.get("original_path")
        if not isinstance(original, str) or not os.path.isabs(original):
            raise _RestoreFailed("no longer in the trash")
        return original

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
    item_id: str, path: str, size: int, info: TrashInfo, handle: dict[str, Any]
) -> TrashItem | None:
    name = os.path.basename(path)
    mime = guess_mime_type(name)
    kind = classify(name, mime)
    if kind is Kind.OTHER:
        return None
    return TrashItem(
        item_id=item_id,
        name=name,
        path=path,
        mime_type=mime,
        size=size,
        deleted_at=info.deleted_at,
        deleted_at_source=DeletedAtSource.API if info.deleted_at else DeletedAtSource.OBSERVED,
        restore_handle=handle,
        kind=kind,
    )


def _stored_name(info_name: str) -> str:
    """The name under ``files/`` that ``info/<info_name>`` describes, or "" if there is none."""
    if not info_name.endswith(INFO_SUFFIX) or "/" in info_name:
        return ""
    name = info_name[: -len(INFO_SUFFIX)]
    return "" if name in {"", ".", ".."} else name


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _candidates(original: str) -> Iterator[str]:
    yield original
    p = PurePath(original)
    stem, suffix = (p.stem, p.suffix) if p.stem else (p.name, "")
    for n in range(1, _MAX_RENAME_ATTEMPTS):
        label = "restored" if n == 1 else f"restored {n}"
        yield str(p.with_name(f"{stem} ({label}){suffix}"))


def _move_no_replace(src: str, original: str) -> str:
    """Move ``src`` to ``original`` or the first free ``(restored N)`` sibling; return the path."""
    is_dir = stat.S_ISDIR(os.lstat(src).st_mode)
    for target in _candidates(original):
        try:
            _claim_and_move(src, target, is_dir)
        except FileExistsError:
            continue
        return target
    raise _RestoreFailed(f"no free name next to {original}")


def _claim_and_move(src: str, dst: str, is_dir: bool) -> None:
    """Move without ever replacing anything: raise FileExistsError if ``dst`` is taken.

    ``os.rename`` silently replaces a file (or an empty directory), and Python has no
    ``renameat2(RENAME_NOREPLACE)``. So: for a file, ``os.link`` is an atomic "create only if
    absent"; where hard links do not work (FAT/exFAT sticks, other filesystem) the name is claimed
    with ``O_CREAT | O_EXCL`` (or ``mkdir`` for a folder) and the rename then replaces only that
    empty placeholder of ours. Across filesystems the content is copied into the placeholder and
    only then is the trash's copy removed, like ``mv``.
    """
    if not is_dir:
        try:
            os.link(src, dst, follow_symlinks=False)
        except FileExistsError:
            raise
        except OSError:
            pass  # no hard links here: fall through to the placeholder
        else:
            try:
                os.unlink(src)
            except OSError:
                os.unlink(dst)  # the same inode stays in the trash: back to where we started
                raise
            return
        os.close(os.open(dst, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600))
    else:
        os.mkdir(dst, 0o700)
    try:
        os.rename(src, dst)
        return
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            with contextlib.suppress(OSError):
                _remove(dst, is_dir)  # our empty placeholder
            raise
    try:  # another filesystem: copy into the placeholder; the trash keeps its copy until done
        if is_dir:
            shutil.copytree(src, dst, symlinks=True, dirs_exist_ok=True)
        else:
            shutil.copy2(src, dst)
    except BaseException:
        with contextlib.suppress(OSError):
            _remove(dst, is_dir)  # our placeholder or our partial copy
        raise
    try:
        _remove(src, is_dir)  # the trash's copy, now that the restored one is complete
    except OSError as exc:
        log.warning("restored %s, but could not remove the trash's copy %s: %s", dst, src, exc)


def _remove(path: str, is_dir: bool) -> None:
    if is_dir:
        shutil.rmtree(path)
    else:
        os.unlink(path)
