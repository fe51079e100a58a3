"""Restoring out of real trash directories: never overwrite, never delete user files."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from trashscan.models import IndexedItem, RestoreOutcome, RestoreResult
from trashscan_local_trash.plugin import LocalTrashProvider

from .conftest import Trash, account, indexed, scan_items, scan_pages


def restore_all(
    provider: LocalTrashProvider, trash: Trash, names: list[str] | None = None
) -> tuple[list[RestoreResult], list[IndexedItem]]:
    """Scan ``trash`` and restore its items (those named, in that order, or all)."""
    acct = account(trash_dirs=[str(trash.path)])
    pages, _ = scan_pages(provider, acct)
    items = sorted((i for p in pages for i in p.items), key=lambda i: i.item_id)
    if names is not None:
        items = sorted((i for i in items if i.name in names), key=lambda i: names.index(i.name))
    chosen = [indexed(i) for i in items]
    return list(provider.restore(acct, chosen)), chosen


def test_restore_to_the_original_path_creating_parents(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    original = home / "Pictures" / "2024" / "Mai été" / "IMG 1.jpg"
    stored = trash.add(str(original), content=b"photo bytes")

    [result], [item] = restore_all(provider, trash)

    assert result == RestoreResult(item.item_id, RestoreOutcome.RESTORED, None, str(original))
    assert original.read_bytes() == b"photo bytes"
    assert not stored.exists()
    assert not (trash.path / "info" / "IMG 1.jpg.trashinfo").exists()
    assert scan_items(provider, account(trash_dirs=[str(trash.path)])) == {}


def test_restore_never_overwrites_a_taken_path(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    original = home / "cover.jpg"
    trash.add(str(original), content=b"old cover")
    trash.add(str(original), stored="cover.2.jpg", content=b"older cover")
    original.write_bytes(b"new cover")

    results, _ = restore_all(provider, trash)  # cover.2.jpg first (sorted by item id)

    assert original.read_bytes() == b"new cover"
    assert [r.outcome for r in results] == [RestoreOutcome.CONFLICT_RESOLVED] * 2
    assert [r.restored_path for r in results] == [
        str(home / "cover (restored).jpg"),
        str(home / "cover (restored 2).jpg"),
    ]
    assert (home / "cover (restored).jpg").read_bytes() == b"older cover"
    assert (home / "cover (restored 2).jpg").read_bytes() == b"old cover"
    assert all("is taken" in (r.detail or "") for r in results)


def test_a_dangling_symlink_counts_as_taken(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    original = home / "a.jpg"
    trash.add(str(original), content=b"photo")
    original.symlink_to(home / "nowhere")

    [result], _ = restore_all(provider, trash)

    assert result.outcome is RestoreOutcome.CONFLICT_RESOLVED
    assert os.readlink(original) == str(home / "nowhere")
    assert (home / "a (restored).jpg").read_bytes() == b"photo"


def test_already_restored_and_gone(provider: LocalTrashProvider, trash: Trash, home: Path) -> None:
    back = trash.add(str(home / "back.jpg"), content=b"1")
    gone = trash.add(str(home / "gone.jpg"), content=b"2")
    acct = account(trash_dirs=[str(trash.path)])
    items = [indexed(i) for i in scan_items(provider, acct).values()]
    back.rename(home / "back.jpg")  # restored by the file manager meanwhile (info removed too)
    (trash.path / "info" / "back.jpg.trashinfo").unlink()
    gone.unlink()  # emptied (this one kept its info: an orphan)

    results = {Path(r.item_id).name: r for r in provider.restore(acct, items)}

    already = results["Trash::back.jpg.trashinfo"]
    assert already.outcome is RestoreOutcome.ALREADY_RESTORED
    assert already.restored_path == str(home / "back.jpg")
    failed = results["Trash::gone.jpg.trashinfo"]
    assert failed.outcome is RestoreOutcome.FAILED
    assert failed.detail == "no longer in the trash"
    assert (home / "back.jpg").read_bytes() == b"1"


def test_items_inside_a_trashed_folder_come_back_one_by_one(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.info("Album", f"[Trash Info]\nPath={home}/Album\nDeletionDate=2024-05-01T00:00:00\n")
    folder = trash.path / "files" / "Album"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(b"a")
    (folder / "sub" / "b.png").write_bytes(b"b")
    (folder / "notes.txt").write_bytes(b"n")
    (home / "Album").mkdir()  # the folder exists again: the photos go into it

    results, _ = restore_all(provider, trash, ["a.jpg", "b.png"])

    target = home / "Album"
    assert [r.outcome for r in results] == [RestoreOutcome.RESTORED] * 2
    assert [r.restored_path for r in results] == [str(target / "a.jpg"), str(target / "sub/b.png")]
    assert all("stays in the trash" in (r.detail or "") for r in results)
    assert (target / "sub" / "b.png").read_bytes() == b"b"
    assert not (target / "notes.txt").exists()  # never the folder's other contents
    assert (folder / "notes.txt").read_bytes() == b"n"
    assert (trash.path / "info" / "Album.trashinfo").exists()  # the folder is still trashed


def test_an_item_of_a_trashed_folder_restored_twice_is_restored_once(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.info("Album", f"[Trash Info]\nPath={home}/Album\n")
    (trash.path / "files" / "Album").mkdir()
    (trash.path / "files" / "Album" / "a.jpg").write_bytes(b"a")
    (trash.path / "files" / "Album" / "b.jpg").write_bytes(b"b")
    acct = account(trash_dirs=[str(trash.path)])
    items = scan_items(provider, acct)

    [first] = provider.restore(acct, [indexed(items["a.jpg"])])
    [again] = provider.restore(acct, [indexed(items["a.jpg"])])  # e.g. from an older index

    assert first.outcome is RestoreOutcome.RESTORED
    assert again.outcome is RestoreOutcome.ALREADY_RESTORED  # the same inode is there now
    assert again.restored_path == str(home / "Album" / "a.jpg")
    assert set(scan_items(provider, acct)) == {"b.jpg"}


def test_one_bad_item_does_not_stop_the_others(
    provider: LocalTrashProvider, trash: Trash, home: Path, tmp_path: Path
) -> None:
    trash.add(str(home / "ok.jpg"))
    acct = account(trash_dirs=[str(trash.path)])
    good = indexed(scan_items(provider, acct)["ok.jpg"])
    no_handle = replace(good, item_id="x", restore_handle={})
    foreign = replace(good, item_id="y", restore_handle={**good.restore_handle, "trash_dir": "/"})
    sneaky = replace(good, item_id="z", restore_handle={**good.restore_handle, "info": "../x"})

    results = {r.item_id: r for r in provider.restore(acct, [no_handle, foreign, sneaky, good])}

    assert results[good.item_id].outcome is RestoreOutcome.RESTORED
    for bad in "xyz":
        assert results[bad].outcome is RestoreOutcome.FAILED
        assert results[bad].detail
    assert "not available" in (results["y"].detail or "")


def test_restore_for_a_missing_trash_dir_fails_per_item(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.add(str(home / "ok.jpg"))
    item = indexed(scan_items(provider, account(trash_dirs=[str(trash.path)]))["ok.jpg"])
    missing = account(trash_dirs=[str(trash.path.parent / "unplugged")])

    [result] = provider.restore(missing, [item])

    assert result.outcome is RestoreOutcome.FAILED
    assert "does not exist" in (result.detail or "")


def _other_filesystem(path: Path) -> Path | None:
    shm = Path("/dev/shm")
    if not shm.is_dir() or not os.access(shm, os.W_OK):
        return None
    return shm if shm.stat().st_dev != path.stat().st_dev else None


def test_restore_across_filesystems_copies_then_removes_the_trash_copy(
    provider: LocalTrashProvider, tmp_path: Path
) -> None:
    """The home trash may hold files of another filesystem (gio copies them there)."""
    other = _other_filesystem(tmp_path)
    if other is None:
        pytest.skip("no second writable filesystem (/dev/shm) here")
    trash = Trash(tmp_path / "xdg" / "Trash")
    acct = account(xdg_data_home=str(tmp_path / "xdg"), include_volumes=False)
    base = other / f"trashscan-test-{os.getpid()}-{tmp_path.name}"
    try:
        base.mkdir()
        trash.add(str(base / "clip.mp4"), content=b"video")
        trash.add(str(base / "taken.jpg"), content=b"photo")
        (base / "taken.jpg").write_bytes(b"keep me")
        trash.info("Album", f"[Trash Info]\nPath={base}/Album\n")
        (trash.path / "files" / "Album").mkdir()
        (trash.path / "files" / "Album" / "in.jpg").write_bytes(b"inner")
        items = sorted(scan_items(provider, acct).values(), key=lambda i: i.item_id)

        results = {
            Path(r.restored_path or "").name: r
            for r in provider.restore(acct, [indexed(i) for i in items])
        }

        assert results["clip.mp4"].outcome is RestoreOutcome.RESTORED
        assert (base / "clip.mp4").read_bytes() == b"video"
        assert results["taken (restored).jpg"].outcome is RestoreOutcome.CONFLICT_RESOLVED
        assert (base / "taken.jpg").read_bytes() == b"keep me"
        assert (base / "taken (restored).jpg").read_bytes() == b"photo"
        assert (base / "Album" / "in.jpg").read_bytes() == b"inner"
        assert [p.name for p in (trash.path / "files").iterdir()] == ["Album"]
        assert list((trash.path / "files" / "Album").iterdir()) == []
        assert [p.name for p in (trash.path / "info").iterdir()] == ["Album.trashinfo"]
    finally:
        shutil.rmtree(base, ignore_errors=True)
