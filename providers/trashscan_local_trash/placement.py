"""Where an entry of a trash may be restored to, and why not when it may not.

A per-volume trash (``$topdir/.Trash-$uid``, ``$topdir/.Trash/$uid``) is written by whoever
prepared the drive, so its ``Path=`` values are claims, not facts. Its entries are restorable only
to a place inside the volume's top directory: the path, normalised (so ``../`` cannot leave), must
lie under the top directory, and no existing folder between the top directory and the file may be
a symbolic link (one could lead anywhere, and its target can change after any check).

The home trash (``$XDG_DATA_HOME/Trash``) is the user's own, so its entries may go anywhere, under
the same rule: no symbolic link is followed below the starting point. That starting point is the
user's home folder for paths inside it (so a home reached through a symbolic link, like
``/home -> /var/home``, works), the root folder otherwise.

A trash directory named in ``trash_dirs`` that is not the home trash counts as a per-volume trash
of the folder holding it (the parent of ``.Trash`` for ``.Trash/$uid``), whatever its name.

The checks here are made on the real filesystem for the listing; the restore repeats them, and
:mod:`trashscan.safe_fs` enforces them race-free while it writes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from trashscan import safe_fs
from trashscan_local_trash.trashinfo import topdir_of


class NotRestorableError(Exception):
    """The entry cannot be restored where it claims to belong; the message says why."""


@dataclass(frozen=True, slots=True)
class TrashLocation:
    """One trash directory and what its entries may write."""

    trash_dir: str
    topdir: str  # what relative Path= values are relative to
    home: bool  # the user's own home trash (else: a per-volume trash, confined to topdir)

    @classmethod
    def of(cls, trash_dir: str, home_trash: str) -> TrashLocation:
        home = _real(trash_dir) == _real(home_trash)
        return cls(trash_dir=trash_dir, topdir=topdir_of(trash_dir), home=home)


@dataclass(frozen=True, slots=True)
class Destination:
    """A restore target: the trusted folder to start from, and the components below it."""

    anchor: str
    parts: tuple[str, ...]  # the last one is the file name

    @property
    def path(self) -> str:
        return os.path.join(self.anchor, *self.parts)


def roots_of(location: TrashLocation) -> list[str]:
    """Where ``location``'s entries may start: home (as written and its real path) for the home
    trash, else the volume's top directory (likewise)."""
    if location.home:
        home = os.path.expanduser("~")
        return [r for r in (os.path.normpath(home), _real(home)) if r != os.sep]
    return [os.path.normpath(location.topdir), _real(location.topdir)]


def destination(location: TrashLocation, path: str, roots: list[str] | None = None) -> Destination:
    """Where ``path`` (absolute, normalised) would be written, or NotRestorableError;
    ``roots``: :func:`roots_of`, when the caller has them already."""
    path = os.path.normpath(path)
    for root in roots_of(location) if roots is None else roots:
        if _inside(path, root):
            return Destination(root, _parts(path, root))
    if location.home and path != os.sep:
        return Destination(os.sep, _parts(path, os.sep))
    if location.home:
        raise NotRestorableError("its original path is the root folder")
    raise NotRestorableError(
        f"its original path {_shown(path)} is outside the volume {_shown(location.topdir)}"
    )


class Checker:
    """:func:`why_not` for the many entries of one trash in one scan, with what they share
    looked up once: the starting points (the real path of the top directory or home) and, per
    folder, the walk along its existing folders (a trash of a million photos has them in a few
    thousand folders). A scan's answer is a hint for the listing, as :func:`why_not`'s; the
    restore checks again. Holds at most :data:`FOLDERS_HELD` folders' answers."""

    FOLDERS_HELD = 10_000

    def __init__(self, location: TrashLocation) -> None:
        self.location = location
        self.roots = roots_of(location)
        self.folders: dict[str, str | None] = {}

    def why_not(self, path: str) -> str | None:
        """:func:`why_not`. Entries of one folder share their answer, unless it names the
        entry (outside the volume) or the entry is a starting point itself."""
        path = os.path.normpath(path)
        folder = os.path.dirname(path)
        if folder in self.folders:
            return self.folders[folder]
        try:
            target = destination(self.location, path, self.roots)
        except NotRestorableError as exc:
            return str(exc)
        problem = safe_fs.first_unsafe(target.anchor, target.parts)
        reason = None if problem is None else describe(self.location, problem)
        if path not in self.roots:
            if len(self.folders) >= self.FOLDERS_HELD:
                self.folders.clear()
            self.folders[folder] = reason
        return reason


def why_not(location: TrashLocation, path: str) -> str | None:
    """Why restoring to ``path`` is refused, checked now on the filesystem; None if it is not."""
    try:
        target = destination(location, path)
    except NotRestorableError as exc:
        return str(exc)
    problem = safe_fs.first_unsafe(target.anchor, target.parts)
    if problem is None:
        return None
    return describe(location, problem)


def describe(location: TrashLocation, problem: safe_fs.UnsafePathError) -> str:
    """A refusal in words; a symbolic link says whether it leaves the volume."""
    where = _shown(problem.path)
    if problem.why != "is a symbolic link":
        return f"{where} {problem.why}"
    leaves = ""
    if not location.home:
        target, top = _real(problem.path), _real(location.topdir)
        if target != top and not _inside(target, top):
            leaves = f" out of the volume (to {_shown(target)})"
    return f"{where} is a symbolic link{leaves}; a restore never goes through one"


def _inside(path: str, root: str) -> bool:
    return path != root and os.path.commonpath([path, root]) == root


def _parts(path: str, root: str) -> tuple[str, ...]:
    return tuple(os.path.relpath(path, root).split(os.sep))


def _real(path: str) -> str:
    return os.path.realpath(path)


def _shown(path: str) -> str:
    """A path as text that is always valid UTF-8 (messages go to the index and the terminal)."""
    return os.fsencode(path).decode("utf-8", "replace")
