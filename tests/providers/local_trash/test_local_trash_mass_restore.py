"""A mass restore (a whole library trashed by a sync mishap): the filesystem work per file.

Counts, never times: folder syncs, opens and status calls per restored file. Each file is still
moved the safe way (the new name made durable before the trash's name goes, folders opened
without following symbolic links); what several files share is done once for them.
"""

from __future__ import annotations

import errno
import os
from collections import Counter
from pathlib import Path

import pytest

from trashscan import safe_fs
from trashscan.models import RestoreOutcome
from trashscan_local_trash.plugin import RESTORE_CHUNK, LocalTrashProvider

from .conftest import Trash, account, indexed, scan_pages

PER_FOLDER = 125


def _count(monkeypatch: pytest.MonkeyPatch, names: tuple[str, ...]) -> Counter[str]:
    calls: Counter[str] = Counter()
    for name in names:
        real = getattr(os, name)

        def counting(*args, _real=real, _name=name, **kwargs):
            calls[_name] += 1
            return _real(*args, **kwargs)

        monkeypatch.setattr(os, name, counting)
    return calls


def test_a_mass_restore_syncs_each_folder_once_per_chunk_and_opens_little_per_file(
    provider: LocalTrashProvider, trash: Trash, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    folders = [home / "Pictures" / "2019", home / "Pictures" / "2020"]
    for folder in folders:
        for n in range(PER_FOLDER):
            trash.add(str(folder / f"IMG_{n:04}.jpg"), stored=f"{folder.name}-{n}.jpg")
    acct = account(trash_dirs=[str(trash.path)])
    pages, _ = scan_pages(provider, acct)
    items = sorted((indexed(i) for p in pages for i in p.items), key=lambda i: i.path)
    assert len(items) == 2 * PER_FOLDER
    calls = _count(monkeypatch, ("fsync", "open", "stat", "lstat", "fstat"))

    results = list(provider.restore(acct, items))

    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * len(items)
    for folder in folders:
        assert len(list(folder.iterdir())) == PER_FOLDER
    assert list((trash.path / "files").iterdir()) == []
    assert list((trash.path / "info").iterdir()) == []
    chunks = -(-len(items) // RESTORE_CHUNK)
    # one sync per destination folder a chunk moved files into (a chunk spans at most both)
    assert calls["fsync"] <= 2 * chunks, calls
    # per file: its .trashinfo and the file itself; the folders once per chunk
    assert calls["open"] <= 2 * len(items) + 20 * chunks, calls
    # per file: the walk to its folder (4 folders below the anchor), and a few checks of the
    # file itself; never the real path of every folder again for each file
    stats = calls["stat"] + calls["lstat"] + calls["fstat"]
    assert stats <= 10 * len(items), calls


def _two_photos(provider: LocalTrashProvider, trash: Trash, home: Path):
    folder = home / "Pictures"
    for name in ("a.jpg", "b.jpg"):
        trash.add(str(folder / name), content=f"photo {name}".encode())
    acct = account(trash_dirs=[str(trash.path)])
    pages, _ = scan_pages(provider, acct)
    items = sorted((indexed(i) for p in pages for i in p.items), key=lambda i: i.name)
    return acct, items, folder


def _after_first_placed(monkeypatch: pytest.MonkeyPatch, then) -> None:
    real = safe_fs.place_file
    placed: list[safe_fs.Placed] = []

    def placing(*args, **kwargs):
        placed.append(real(*args, **kwargs))
        if len(placed) == 1:
            then()
        return placed[-1]

    monkeypatch.setattr(safe_fs, "place_file", placing)


def test_a_folder_swapped_for_another_during_a_chunk_gets_no_file_through_the_old_one(
    provider: LocalTrashProvider, trash: Trash, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The folder held open for the chunk is used only while its path still leads to it."""
    acct, items, folder = _two_photos(provider, trash, home)
    moved = home / "elsewhere"

    def swap() -> None:
        folder.rename(moved)
        folder.mkdir()

    _after_first_placed(monkeypatch, swap)

    results = list(provider.restore(acct, items))

    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * 2
    assert sorted(p.name for p in moved.iterdir()) == ["a.jpg"]  # placed before the swap
    assert sorted(p.name for p in folder.iterdir()) == ["b.jpg"]  # the folder at the path now


def test_a_folder_swapped_for_a_symlink_during_a_chunk_is_refused(
    provider: LocalTrashProvider,
    trash: Trash,
    home: Path,
    user_home: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acct, items, folder = _two_photos(provider, trash, home)
    moved = home / "elsewhere"

    def swap() -> None:
        folder.rename(moved)
        folder.symlink_to(user_home / ".ssh")

    _after_first_placed(monkeypatch, swap)

    results = list(provider.restore(acct, items))

    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED, RestoreOutcome.FAILED]
    assert "symbolic link" in (results[1].detail or "")
    assert sorted(p.name for p in moved.iterdir()) == ["a.jpg"]
    assert sorted(p.name for p in (user_home / ".ssh").iterdir()) == ["authorized_keys"]
    assert (trash.path / "files" / "b.jpg").read_bytes() == b"photo b.jpg"


def test_a_restore_closed_midway_leaves_the_files_not_reported_in_the_trash(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    """An abandoned restore (deadline, Ctrl-C) closes the generator: the files of the chunk
    whose result was not given yet lose their new name again and stay in the trash whole."""
    acct, items, folder = _two_photos(provider, trash, home)

    results = provider.restore(acct, items)
    first = next(results)
    results.close()

    assert first.outcome is RestoreOutcome.RESTORED
    assert sorted(p.name for p in folder.iterdir()) == ["a.jpg"]
    assert (trash.path / "files" / "b.jpg").read_bytes() == b"photo b.jpg"
    assert (trash.path / "info" / "b.jpg.trashinfo").exists()
    assert os.stat(trash.path / "files" / "b.jpg").st_nlink == 1


def test_a_folder_that_cannot_be_synced_gets_none_of_its_files_reported_restored(
    provider: LocalTrashProvider, trash: Trash, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct, items, folder = _two_photos(provider, trash, home)

    def failing(fd: int) -> None:
        raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(os, "fsync", failing)

    results = list(provider.restore(acct, items))

    assert [r.outcome for r in results] == [RestoreOutcome.FAILED] * 2
    assert all("Input/output error" in (r.detail or "") for r in results)
    assert all(str(folder) in (r.detail or "") for r in results), results  # which folder
    assert list(folder.iterdir()) == []
    assert sorted(p.name for p in (trash.path / "files").iterdir()) == ["a.jpg", "b.jpg"]
