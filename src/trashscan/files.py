"""Private files and directories: trashscan's own files are 0600 and its directories 0700.

They name every trashed photo, hold the restore log and session files, so no other local user may
read them, whatever the umask the user runs trashscan with (022 is common, 000 happens under some
service managers). ``mkdir(parents=True, mode=0o700)`` is not enough: the umask still applies, and
only to the last component the mode applies at all, so a fresh data dir used to come out 0755.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def make_private_dirs(path: Path) -> Path:
    """Create ``path`` and every missing parent 0700 whatever the umask; existing ones are kept.

    Existing directories are not changed: a parent may be shared (``~/.local/share``), and the
    callers that own ``path`` itself :func:`tighten` it.
    """
    path = Path(path)
    missing = []
    for candidate in (path, *path.parents):
        if os.path.isdir(candidate):
            break
        missing.append(candidate)
    for directory in reversed(missing):
        try:
            os.mkdir(directory, PRIVATE_DIR)
        except FileExistsError:
            if not os.path.isdir(directory):  # a file in the way: let the caller's open fail
                raise
            continue  # created meanwhile by another process; tighten() is the caller's part
        os.chmod(directory, PRIVATE_DIR)  # the umask may have taken owner bits too
    return path


def tighten(path: Path) -> None:
    """Take the group and other permission bits off an existing file or directory of ours.

    Never adds a bit (a directory the user made read-only stays read-only), and gives up quietly
    where the mode cannot change (a read-only mount, a file owned by someone else): the files work
    as before, they are only less private than they should be.
    """
    try:
        mode = stat.S_IMODE(os.stat(path).st_mode)
        if mode & 0o077:
            os.chmod(path, mode & ~0o077)
    except OSError:
        pass


def tighten_tree(root: Path) -> None:
    """:func:`tighten` ``root`` and everything under it; symbolic links are neither followed nor
    changed (chmod would act on their target)."""
    if os.path.islink(root) or not os.path.isdir(root):
        return
    tighten(root)
    for folder, dirs, files in os.walk(root):  # does not descend into linked directories
        for name in (*dirs, *files):
            path = os.path.join(folder, name)
            if not os.path.islink(path):
                tighten(Path(path))


def private_dir(path: Path) -> Path:
    """A directory that is trashscan's own (data dir, account dir, lock dir): made or tightened."""
    make_private_dirs(path)
    tighten(path)
    return Path(path)


def atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` with mode 0600, all or nothing.

    The temp file lives next to the target so ``os.replace`` stays atomic; a reader never sees a
    half-written file, and a crash leaves the old one. Missing parents are created 0700.
    """
    parent = path.parent
    make_private_dirs(parent)
    fd, tmp = tempfile.mkstemp(dir=parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, PRIVATE_FILE)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
