"""Reading ``.trashinfo`` files and finding trash directories.

Follows the freedesktop.org Trash specification 1.0: a ``.trashinfo`` file is a tiny
desktop-entry style file with a ``[Trash Info]`` group holding ``Path=`` (percent-encoded as in
RFC 2396; absolute, or relative to the volume's top directory) and ``DeletionDate=``
(``YYYY-MM-DDThh:mm:ss`` in local time, without a zone).
"""

from __future__ import annotations

import functools
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import unquote_to_bytes

log = logging.getLogger(__name__)

INFO_SUFFIX = ".trashinfo"

# Kernel pseudo filesystems never hold a trash; autofs is skipped so a scan does not mount things.
_PSEUDO_FS = frozenset(
    {
        "proc", "sysfs", "cgroup", "cgroup2", "devpts", "devtmpfs", "securityfs", "debugfs",
        "tracefs", "pstore", "bpf", "mqueue", "hugetlbfs", "configfs", "fusectl", "autofs",
        "binfmt_misc", "efivarfs", "nsfs", "rpc_pipefs",
    }
)  # fmt: skip


class MalformedTrashInfo(ValueError):
    """The file is not a usable ``.trashinfo``; the message says why."""


@dataclass(frozen=True, slots=True)
class TrashInfo:
    original: str  # absolute, in the filesystem encoding (may carry surrogate escapes)
    deleted_at: datetime | None  # UTC; None when DeletionDate is missing or unreadable

    @property
    def display_path(self) -> str:
        """The original path as text that is always valid UTF-8 (for the index and the CLI)."""
        try:
            self.original.encode("utf-8")  # no surrogate escapes: fsencode would round-trip it
        except UnicodeEncodeError:
            return os.fsencode(self.original).decode("utf-8", "replace")
        return self.original


@functools.lru_cache(maxsize=64)
def topdir_of(trash_dir: str) -> str:
    """The directory that relative ``Path=`` values are relative to.

    ``$topdir/.Trash/$uid`` and ``$topdir/.Trash-$uid`` per the spec; for the home trash
    (``$XDG_DATA_HOME/Trash``) the directory it resides in, by the same rule.
    """
    parent = os.path.dirname(trash_dir)
    return os.path.dirname(parent) if os.path.basename(parent) == ".Trash" else parent


# The shape every desktop writes ("[Trash Info]", "Path=", "DeletionDate=", one a line), with
# values of printable ASCII without spaces (a Path= is percent-encoded): read with one match.
# Anything else (CRLF, a BOM, comments, blank lines, other keys or groups, spaces, non-ASCII)
# goes through the full reader, _parse_any; both give the same result for what they both read.
_USUAL = re.compile(rb"\[Trash Info\]\nPath=([!-~]+)\nDeletionDate=([!-~]*)\n?")


def parse(data: bytes, trash_dir: str) -> TrashInfo:
    usual = _USUAL.fullmatch(data)
    if usual is None:
        return _parse_any(data, trash_dir)
    raw_path = usual[1]
    name = raw_path.rpartition(b"/")[2]
    # A plain last component (not ".", "..", nothing, nor percent-encoded) is appended to its
    # folder as it is: the folder, shared by many entries, is decoded and normalised once.
    if name and b"%" not in name and name != b"." and name != b"..":
        folder = _folder(raw_path[: len(raw_path) - len(name)], trash_dir)
        original = None if folder is None else f"{folder}{name.decode('ascii')}"
        if original is not None and original != topdir_of(trash_dir):  # that one is refused
            return TrashInfo(original, parse_deletion_date(usual[2].decode("ascii")))
    return _info(raw_path.decode("ascii"), usual[2].decode("ascii"), trash_dir)


@functools.lru_cache(maxsize=4096)
def _folder(raw_folder: bytes, trash_dir: str) -> str | None:
    """What :func:`_info` makes of ``raw_folder`` (a ``Path=`` value up to and including its
    last ``/``, or nothing) followed by a plain name: the folder, normalised, ending with ``/``;
    None where the whole path must go through :func:`_info` (a NUL: it says why it is refused).
    A plain name cannot undo what normalising the folder did, so the two give the same path."""
    if b"%" in raw_folder:
        text = os.fsdecode(unquote_to_bytes(raw_folder))
    else:
        text = raw_folder.decode("ascii")
    if "\0" in text:
        return None
    if text.startswith("/"):
        folder = os.path.normpath("/" + text.lstrip("/"))
    else:
        folder = os.path.normpath(os.path.join(topdir_of(trash_dir), text))
    return folder if folder.endswith("/") else folder + "/"


def _parse_any(data: bytes, trash_dir: str) -> TrashInfo:
    """:func:`parse` for any text: what the specification allows, and what is refused."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedTrashInfo("not UTF-8 text") from exc
    # One pass over the lines (blank lines and comments skipped): the first must be the group
    # header, the values are read up to the next group.
    values: dict[str, str] = {}
    started = False
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line[0] == "#":
            continue
        if not started:
            if line != "[Trash Info]":
                break
            started = True
        elif line[0] == "[":
            break  # another group: not ours
        else:
            key, sep, value = line.partition("=")
            if sep:
                values.setdefault(key.strip(), value.strip())
    if not started:
        raise MalformedTrashInfo("does not start with [Trash Info]")
    return _info(values.get("Path"), values.get("DeletionDate"), trash_dir)


def _info(raw_path: str | None, deletion_date: str | None, trash_dir: str) -> TrashInfo:
    """The entry of a ``.trashinfo`` whose ``Path=`` and ``DeletionDate=`` values are these."""
    if not raw_path:
        raise MalformedTrashInfo("no Path=")
    if "%" in raw_path or not raw_path.isascii():
        original = os.fsdecode(unquote_to_bytes(raw_path))
    else:
        original = raw_path  # what unquoting and decoding would give back
    if "\0" in original:
        raise MalformedTrashInfo("Path= contains a NUL byte")
    # Normalised, so ``..`` cannot hide where the path leads; whether the entry may be restored
    # there is placement's decision (a Path= leaving its volume is listed, as not restorable).
    if not original.startswith("/"):  # os.path.isabs
        top = topdir_of(trash_dir)
        original = os.path.normpath(os.path.join(top, original))
        if original == top:
            raise MalformedTrashInfo(f"Path= names the top directory itself: {raw_path}")
    else:
        original = os.path.normpath("/" + original.lstrip("/"))  # POSIX keeps a leading "//"
    return TrashInfo(original=original, deleted_at=parse_deletion_date(deletion_date))


def parse_deletion_date(value: str | None) -> datetime | None:
    """DeletionDate is local time of the machine that trashed the file; returned in UTC."""
    if not value:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        return None
    # astimezone() on a naive datetime takes it as local time, which is what the spec says it is.
    return when.astimezone(UTC)


def home_trash(xdg_data_home: str | None = None) -> str:
    base = xdg_data_home or os.environ.get("XDG_DATA_HOME") or os.path.expanduser("~/.local/share")
    return os.path.join(os.path.abspath(os.path.expanduser(base)), "Trash")


def volume_trashes(uid: int, mounts_file: str = "/proc/self/mounts") -> Iterator[str]:
    """Existing per-volume trash directories of ``uid``; unreadable or odd ones are skipped."""
    try:
        with open(mounts_file, "rb") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return
    seen: set[str] = set()
    for line in lines:
        fields = line.split()
        if len(fields) < 3 or os.fsdecode(fields[2]) in _PSEUDO_FS:
            continue
        # /proc/mounts writes space, tab, newline and backslash as \ooo octal escapes.
        mount = os.fsdecode(re.sub(rb"\\([0-7]{3})", lambda m: bytes([int(m[1], 8)]), fields[1]))
        if mount in seen:
            continue
        seen.add(mount)
        shared = os.path.join(mount, ".Trash")
        try:
            st = os.lstat(shared)
        except OSError:
            st = None
        # The spec's checks: a real directory (not a symlink) with the sticky bit set.
        if st and stat.S_ISDIR(st.st_mode) and st.st_mode & stat.S_ISVTX:
            yield from _if_dir(os.path.join(shared, str(uid)))
        elif st:
            log.info("ignoring %s: not a sticky directory (Trash specification)", shared)
        yield from _if_dir(os.path.join(mount, f".Trash-{uid}"))


def _if_dir(path: str) -> Iterator[str]:
    try:
        if stat.S_ISDIR(os.lstat(path).st_mode) and os.access(path, os.R_OK | os.X_OK):
            yield path
    except OSError:
        pass
