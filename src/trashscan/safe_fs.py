"""Putting a file in place where a hostile filesystem cannot redirect the write.

A path that was checked can be changed before it is used: a folder on the way swapped for a
symbolic link, or the final name created as a link to ``~/.ssh/authorized_keys``. So nothing here
works on path strings after the check. Folders are opened one component at a time, relative to
the previous one, with ``O_NOFOLLOW | O_DIRECTORY``; the file is opened the same way and checked to
be a regular file on the open descriptor; the new name is created only if absent (a hard link of
that descriptor, or ``O_CREAT | O_EXCL | O_NOFOLLOW``). A swap then makes the operation fail, it
cannot make it write elsewhere, and an existing name is never replaced.

Only the ``anchor`` handed to :func:`open_dir` is opened by its path, symbolic links included: it
is the caller's trusted starting point (a volume's mount point, the user's home).

POSIX only (``O_NOFOLLOW``, ``*at`` calls); hard links of an open file use ``/proc/self/fd``
(Linux) and fall back to a verified copy where that, or hard links, are unavailable; the copy gets
its name only once complete and synced.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import itertools
import os
import secrets
import stat
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

_DIR_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
# O_NONBLOCK: a FIFO swapped in for the file must not hang the open; O_NOCTTY: nor a terminal.
_READ_FLAGS = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
# A hard link cannot be made here (FAT/exFAT, another filesystem, protected_hardlinks, ...).
_NO_LINK = frozenset(
    {errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}
)
_CHUNK = 1024 * 1024
_TMPFILE = getattr(os, "O_TMPFILE", 0)
# O_TMPFILE is not supported by this filesystem (FAT/exFAT, older kernels).
_NO_TMPFILE = frozenset({errno.EOPNOTSUPP, errno.ENOTSUP, errno.EISDIR, errno.EINVAL})
_RENAME_NOREPLACE = 1


def _load_renameat2() -> object:
    """libc's ``renameat2`` (for ``RENAME_NOREPLACE``), or None where libc lacks it."""
    try:
        fn = ctypes.CDLL(None, use_errno=True).renameat2
    except (OSError, AttributeError):
        return None
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    fn.restype = ctypes.c_int
    return fn


_renameat2: Any = _load_renameat2()


class UnsafePathError(OSError):
    """A path that a write must not go through (a symbolic link, or not a folder)."""

    def __init__(self, path: str, why: str) -> None:
        super().__init__(errno.ELOOP, f"{path} {why}")
        self.path = path
        self.why = why

    def __str__(self) -> str:
        return f"{self.path} {self.why}"


class NotRegularFileError(OSError):
    """The entry is a symbolic link, a folder, a FIFO or a device: never moved or copied."""

    def __init__(self, path: str, kind: str) -> None:
        super().__init__(errno.EINVAL, f"{path} is not a regular file ({kind})")
        self.path = path

    def __str__(self) -> str:
        return self.args[1]


def kind_of(mode: int) -> str:
    """A file type in words, for messages."""
    for test, word in (
        (stat.S_ISLNK, "a symbolic link"),
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISFIFO, "a FIFO"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISSOCK, "a socket"),
        (stat.S_ISREG, "a regular file"),
    ):
        if test(mode):
            return word
    return "of an unknown type"


def first_unsafe(anchor: str, parts: Sequence[str]) -> UnsafePathError | None:
    """Why ``anchor/parts[:-1]`` cannot be opened by :func:`open_dir`, checked by path.

    For listing (a hint before any write); :func:`open_dir` is what enforces it. The walk stops at
    the first missing folder, since :func:`open_dir` creates the rest.
    """
    path = anchor
    for part in parts[:-1]:
        path = os.path.join(path, part)
        try:
            mode = os.lstat(path).st_mode
        except FileNotFoundError:
            return None
        if stat.S_ISLNK(mode):
            return UnsafePathError(path, "is a symbolic link")
        if not stat.S_ISDIR(mode):
            return UnsafePathError(path, "is not a folder")
    return None


def open_dir(anchor: str, parts: Sequence[str], *, create: bool = False) -> int:
    """Open the folder ``anchor/parts...`` without following a symbolic link below ``anchor``.

    With ``create``, missing folders are made (mode 0777 less the umask, like ``mkdir -p``),
    each inside the descriptor of its parent. Returns a descriptor the caller closes.
    Raises :class:`UnsafePathError` for a symbolic link or a non-folder on the way.
    """
    fd = os.open(anchor, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    path = anchor
    try:
        for part in parts:
            _check_name(part)
            path = os.path.join(path, part)
            try:
                child = _open_child_dir(fd, part, path)
            except FileNotFoundError:
                if not create:
                    raise
                with contextlib.suppress(FileExistsError):  # made meanwhile: opened below
                    os.mkdir(part, 0o777, dir_fd=fd)
                child = _open_child_dir(fd, part, path)
            os.close(fd)
            fd = child
    except BaseException:
        os.close(fd)
        raise
    return fd


def _open_child_dir(parent: int, name: str, path: str) -> int:
    try:
        return os.open(name, _DIR_FLAGS, dir_fd=parent)
    except OSError as exc:
        if exc.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        try:
            mode = os.stat(name, dir_fd=parent, follow_symlinks=False).st_mode
        except OSError:
            mode = stat.S_IFLNK if exc.errno == errno.ELOOP else 0
        if stat.S_ISLNK(mode):
            raise UnsafePathError(path, "is a symbolic link") from None
        raise UnsafePathError(path, "is not a folder") from None


def _check_name(name: str) -> None:
    if not name or name in {".", ".."} or "/" in name or "\0" in name:
        raise ValueError(f"not a single path component: {name!r}")


def open_regular(dir_fd: int, name: str, path: str) -> tuple[int, os.stat_result]:
    """Open ``name`` in ``dir_fd`` for reading, only if it is a regular file (not followed).

    Checked before opening (so a device is never opened) and again on the descriptor (so a swap
    after the first check is caught). ``path`` is for messages. Raises FileNotFoundError or
    :class:`NotRegularFileError`.
    """
    _check_name(name)
    mode = os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    if not stat.S_ISREG(mode):
        raise NotRegularFileError(path, kind_of(mode))
    try:
        fd = os.open(name, _READ_FLAGS, dir_fd=dir_fd)
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise NotRegularFileError(path, "a symbolic link") from None
        raise
    st = os.fstat(fd)
    if not stat.S_ISREG(st.st_mode):
        os.close(fd)
        raise NotRegularFileError(path, kind_of(st.st_mode))
    return fd, st


@dataclass(frozen=True, slots=True)
class Placed:
    """A file given its new name by :func:`place_file`, its old name not removed yet."""

    name: str
    st: os.stat_result  # the file under the new name
    created: bool  # False: the name already was this very file (a restore killed after the link)
    copied: int  # bytes copied (0: a hard link)


def move_file(
    src_dir: int, src_name: str, src_fd: int, src_st: os.stat_result, dst_dir: int,
    names: Iterable[str],
) -> str:  # fmt: skip
    """Move the regular file open at ``src_fd`` to the first free name of ``names`` in ``dst_dir``.

    Never replaces anything: a taken name (even a dangling symbolic link) moves on to the next,
    unless it already is this very file (a restore killed before removing the trash's name).
    Within one filesystem the file gets a hard link of the open descriptor, so exactly the inode
    that was checked lands there; otherwise (or without hard links, as on FAT sticks) the file is
    copied, checked complete and synced before it gets the name (see :func:`_copy_new`). The
    folder is synced, so the new name is durable, and only then is ``src_name`` removed from
    ``src_dir``, and only if it still is the same file. If that removal fails, the new name is
    removed again: the file is then where it was, never in two places, never lost.
    Returns the chosen name. Raises FileExistsError when every name is taken.

    The three steps are :func:`place_file`, :func:`sync_dir` and :func:`finish_move`; a restore of
    many files takes each step for a whole batch, so that a folder is synced once for all the
    files placed in it, before any of their old names is removed.
    """
    placed = place_file(src_fd, src_st, dst_dir, names)
    try:
        sync_dir(dst_dir)  # the new name is durable before the old one goes
    except BaseException:
        undo_place(dst_dir, placed)
        raise
    finish_move(src_dir, src_name, src_st, dst_dir, placed)
    return placed.name


def place_file(src_fd: int, src_st: os.stat_result, dst_dir: int, names: Iterable[str]) -> Placed:
    """The first step of :func:`move_file`: the file open at ``src_fd`` under the first free name
    of ``names`` in ``dst_dir`` (a hard link, else a complete, synced copy); nothing is removed.
    The caller syncs ``dst_dir`` (:func:`sync_dir`) before :func:`finish_move`, or undoes it
    (:func:`undo_place`). Raises FileExistsError when every name is taken."""
    names = iter(names)  # taken one at a time: a restore's candidates go up to "(restored 999)"
    linkable = os.path.lexists(f"/proc/self/fd/{src_fd}")  # /proc is mounted
    for name in names:
        _check_name(name)
        try:
            if linkable:
                try:
                    os.link(f"/proc/self/fd/{src_fd}", name, dst_dir_fd=dst_dir)
                    return Placed(name, src_st, True, 0)  # the very inode that was checked
                except OSError as exc:
                    if exc.errno not in _NO_LINK:
                        raise
                    linkable = False
            name, new = _copy_new(src_fd, src_st, dst_dir, itertools.chain([name], names))
            return Placed(name, new, True, new.st_size)
        except FileExistsError:
            if linkable and _is_file(dst_dir, name, src_st):
                # The name already is this very file: a restore killed after linking it, or
                # another one moving it there now. Finish the move; that name was not ours to undo.
                return Placed(name, src_st, False, 0)
            if linkable:
                continue
            raise  # the copy already tried every remaining name
    raise FileExistsError(errno.EEXIST, "every candidate name is taken")


def finish_move(
    src_dir: int, src_name: str, src_st: os.stat_result, dst_dir: int, placed: Placed
) -> None:
    """The last step of :func:`move_file`, once ``dst_dir`` is synced: remove ``src_name`` if it
    still is the same file; if that fails, remove the new name again (the file is where it was)."""
    try:
        remove_if_same(src_dir, src_name, src_st)
    except BaseException:
        undo_place(dst_dir, placed)
        raise


def undo_place(dst_dir: int, placed: Placed) -> None:
    """Remove the name :func:`place_file` made (not one that already was the file), if it still
    is that file; the file keeps its old name."""
    if placed.created:
        with contextlib.suppress(OSError):
            remove_if_same(dst_dir, placed.name, placed.st)


def _is_file(dir_fd: int, name: str, st: os.stat_result) -> bool:
    try:
        return os.path.samestat(os.stat(name, dir_fd=dir_fd, follow_symlinks=False), st)
    except OSError:
        return False


def sync_dir(fd: int) -> None:
    """Make a folder's new entry durable; a filesystem that cannot sync folders is let be."""
    try:
        os.fsync(fd)
    except OSError as exc:
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EBADF):
            raise


def _copy_new(
    src_fd: int, src_st: os.stat_result, dst_dir: int, names: Iterable[str]
) -> tuple[str, os.stat_result]:
    """Copy the file to the first free name of ``names``; nothing bears that name until complete.

    An interrupted copy (Ctrl-C, SIGKILL, power loss) must not leave a truncated photo under its
    real name, where it looks restored. So the copy is made into an unnamed file (``O_TMPFILE``)
    of ``dst_dir``, or where that is unsupported (FAT/exFAT) into a hidden ``.part`` name there,
    checked complete and synced, and only then given the final name, never replacing one.
    Returns the chosen name and the new file's status. Raises FileExistsError when all are taken.
    """
    names = list(names)
    for name in names:
        _check_name(name)
    if _TMPFILE:
        try:
            fd = os.open(".", _TMPFILE | os.O_WRONLY | os.O_CLOEXEC, 0o600, dir_fd=dst_dir)
        except OSError as exc:
            if exc.errno not in _NO_TMPFILE:
                raise
        else:
            try:
                new = _fill(src_fd, src_st, fd)
                for name in names:
                    try:
                        os.link(
                            f"/proc/self/fd/{fd}", name, dst_dir_fd=dst_dir
                        )  # AT_SYMLINK_FOLLOW
                        return name, new
                    except FileExistsError:
                        continue
                    except OSError as exc:
                        if exc.errno not in _NO_LINK:
                            raise
                        break  # no links here after all: name a hidden copy instead
                else:
                    raise FileExistsError(errno.EEXIST, "every candidate name is taken")
            finally:
                os.close(fd)
    return _copy_via_hidden_name(src_fd, src_st, dst_dir, names)


def _copy_via_hidden_name(
    src_fd: int, src_st: os.stat_result, dst_dir: int, names: list[str]
) -> tuple[str, os.stat_result]:
    """The ``O_TMPFILE``-less way: copy into a hidden ``.part`` name, then rename without replacing.

    A ``.part`` left by a killed run is only a hidden leftover beside the photo, never a photo
    under its name, and never listed (it is not in the trash); it is left for the user to remove.
    """
    tmp = f".trashscan-restore-{secrets.token_hex(8)}.part"
    fd = os.open(tmp, _CREATE_FLAGS, 0o600, dir_fd=dst_dir)
    try:
        new = _fill(src_fd, src_st, fd)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp, dir_fd=dst_dir)
        raise
    finally:
        os.close(fd)
    try:
        for name in names:
            if _rename_noreplace(dst_dir, tmp, name):
                return name, new
        raise FileExistsError(errno.EEXIST, "every candidate name is taken")
    finally:
        with contextlib.suppress(OSError):
            remove_if_same(dst_dir, tmp, new)  # still there: every name taken, or an error


def _rename_noreplace(dir_fd: int, old: str, new: str) -> bool:
    """Give ``old`` the name ``new`` in ``dir_fd`` unless ``new`` exists; False if it does."""
    try:
        os.link(old, new, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
        os.unlink(old, dir_fd=dir_fd)
        return True
    except FileExistsError:
        return False
    except OSError as exc:
        if exc.errno not in _NO_LINK:
            raise
    # No hard links (FAT/exFAT): renameat2(RENAME_NOREPLACE) is the atomic no-replace rename.
    if _renameat2 is not None:
        if _renameat2(dir_fd, old.encode(), dir_fd, new.encode(), _RENAME_NOREPLACE) == 0:
            return True
        err = ctypes.get_errno()
        if err == errno.EEXIST:
            return False
        if err not in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
            raise OSError(err, os.strerror(err), new)
    # Neither (an old kernel or libc, a FUSE filesystem): check, then rename. A file created under
    # ``new`` in the instant between the two would be replaced; no call can close that window here.
    try:
        os.stat(new, dir_fd=dir_fd, follow_symlinks=False)
        return False
    except FileNotFoundError:
        pass
    os.rename(old, new, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
    return True


def _fill(src_fd: int, src_st: os.stat_result, fd: int) -> os.stat_result:
    """Copy into ``fd``, check it complete, give it the source's mode and times, and sync it."""
    copied = _copy_data(src_fd, fd)
    now = os.fstat(src_fd)
    if not copied == now.st_size == src_st.st_size or now.st_mtime_ns != src_st.st_mtime_ns:
        raise OSError(errno.EIO, "the file changed while it was being copied")
    os.fchmod(fd, stat.S_IMODE(src_st.st_mode) & 0o777)
    os.utime(fd, ns=(src_st.st_atime_ns, src_st.st_mtime_ns))
    os.fsync(fd)
    return os.fstat(fd)


def _copy_data(src_fd: int, dst_fd: int) -> int:
    """Copy everything from ``src_fd`` (from its start) to ``dst_fd``; return the byte count."""
    offset = 0
    while chunk := os.pread(src_fd, _CHUNK, offset):
        view = memoryview(chunk)
        while view:
            written = os.write(dst_fd, view)
            view = view[written:]
        offset += len(chunk)
    return offset


def remove_if_same(dir_fd: int, name: str, st: os.stat_result) -> None:
    """Remove ``name`` from ``dir_fd`` if it still is the file ``st`` describes; else raise."""
    now = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    if not os.path.samestat(now, st):
        raise OSError(errno.ESTALE, f"{name} was replaced by another file; left in place")
    os.unlink(name, dir_fd=dir_fd)
