"""The final write of a restore: races, filesystems without hard links, failures midway."""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

import pytest

from trashscan import safe_fs
from trashscan.models import RestoreOutcome
from trashscan_local_trash.plugin import LocalTrashProvider

from .conftest import Volume, changes, indexed, scan_items, snapshot

PHOTO = b"\xff\xd8\xff" + bytes(range(256)) * 4096  # 1 MiB: a copy takes several chunks


@pytest.fixture
def volume(tmp_path: Path) -> Volume:
    return Volume(tmp_path / "stick", "private")


def _photo(provider: LocalTrashProvider, volume: Volume):
    (volume.top / "DCIM").mkdir()
    stored = volume.trash.add("DCIM/holiday.jpg", content=PHOTO)
    os.chmod(stored, 0o640)
    os.utime(stored, ns=(1_717_000_000_123_456_789, 1_717_000_000_123_456_789))
    acct = volume.named()
    item = indexed(scan_items(provider, acct)["holiday.jpg"])
    assert item.restorable
    return acct, item, stored


def _swap_before_opening(monkeypatch: pytest.MonkeyPatch, swap) -> None:
    """Run ``swap`` after the restore checked the path, just before it opens the folders."""
    real = safe_fs.open_dir

    def racing(anchor: str, parts, *, create: bool = False) -> int:
        if create:
            swap()
        return real(anchor, parts, create=create)

    monkeypatch.setattr(safe_fs, "open_dir", racing)


def test_a_folder_swapped_for_a_symlink_during_the_restore_stops_it(
    provider: LocalTrashProvider,
    volume: Volume,
    user_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acct, item, stored = _photo(provider, volume)

    def swap() -> None:
        (volume.top / "DCIM").rmdir()
        (volume.top / "DCIM").symlink_to(user_home / ".ssh")

    _swap_before_opening(monkeypatch, swap)
    before = snapshot(tmp_path)

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.FAILED
    assert "symbolic link" in (result.detail or "")
    after = snapshot(tmp_path)
    assert changes(before, after) == {"stick/DCIM": "changed"}  # the swap itself, nothing else
    assert stored.read_bytes() == PHOTO


def test_a_name_taken_by_a_symlink_during_the_restore_is_left_alone(
    provider: LocalTrashProvider,
    volume: Volume,
    user_home: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    acct, item, _ = _photo(provider, volume)
    planted = volume.top / "DCIM" / "holiday.jpg"
    _swap_before_opening(
        monkeypatch, lambda: planted.symlink_to(user_home / ".ssh" / "authorized_keys")
    )

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.CONFLICT_RESOLVED
    assert result.restored_path == str(volume.top / "DCIM" / "holiday (restored).jpg")
    assert os.readlink(planted) == str(user_home / ".ssh" / "authorized_keys")
    assert (user_home / ".ssh" / "authorized_keys").read_bytes() == b"ssh-ed25519 AAAA mine\n"


def _no_hard_links(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Hard links fail as on a FAT or exFAT stick; returns the names a link was tried for."""
    tried: list[str] = []

    def refuse(src, dst, *args, **kwargs):
        tried.append(os.fsdecode(dst))
        raise OSError(errno.EPERM, "Operation not permitted")

    monkeypatch.setattr(os, "link", refuse)
    return tried


def test_without_hard_links_the_file_is_copied_then_the_trash_copy_removed(
    provider: LocalTrashProvider, volume: Volume, monkeypatch: pytest.MonkeyPatch
) -> None:
    acct, item, stored = _photo(provider, volume)
    tried = _no_hard_links(monkeypatch)

    [result] = provider.restore(acct, [item])

    restored = volume.top / "DCIM" / "holiday.jpg"
    assert result.outcome is RestoreOutcome.RESTORED, result.detail
    assert tried  # the copy is the fallback, not the first choice
    assert restored.read_bytes() == PHOTO
    st = restored.stat()
    assert stat.S_IMODE(st.st_mode) == 0o640
    assert st.st_mtime_ns == 1_717_000_000_123_456_789
    assert not stored.exists()
    assert list((volume.trash.path / "info").iterdir()) == []


@pytest.mark.parametrize("taken", [False, True])
def test_a_copy_that_fails_midway_loses_nothing_and_leaves_nothing(
    provider: LocalTrashProvider,
    volume: Volume,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    taken: bool,
) -> None:
    acct, item, stored = _photo(provider, volume)
    if taken:
        (volume.top / "DCIM" / "holiday.jpg").write_bytes(b"another photo")
    _no_hard_links(monkeypatch)

    def disk_full(src_fd: int, dst_fd: int) -> int:
        os.write(dst_fd, PHOTO[:4096])  # part of the file made it
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(safe_fs, "_copy_data", disk_full)
    before = snapshot(tmp_path)

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.FAILED
    assert "No space left on device" in (result.detail or "")
    assert changes(before, snapshot(tmp_path)) == {}
    assert stored.read_bytes() == PHOTO


def test_a_trash_copy_that_cannot_be_removed_undoes_the_restore(
    provider: LocalTrashProvider, volume: Volume, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Otherwise the photo would be both restored and still in the trash (listed again)."""
    acct, item, stored = _photo(provider, volume)
    real_unlink = os.unlink

    def locked(path, *args, dir_fd=None, **kwargs):
        in_trash = dir_fd is not None and os.path.samestat(os.fstat(dir_fd), os.stat(stored.parent))
        if in_trash and os.fsdecode(path) == "holiday.jpg":
            raise PermissionError(errno.EACCES, "Permission denied")
        return real_unlink(path, *args, dir_fd=dir_fd, **kwargs)

    monkeypatch.setattr(os, "unlink", locked)
    before = snapshot(tmp_path)

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.FAILED
    assert "Permission denied" in (result.detail or "")
    assert changes(before, snapshot(tmp_path)) == {}


def test_restore_leaves_no_file_descriptor_open(
    provider: LocalTrashProvider, volume: Volume
) -> None:
    acct, item, _ = _photo(provider, volume)
    before = set(os.listdir("/proc/self/fd"))

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.RESTORED
    assert set(os.listdir("/proc/self/fd")) <= before


def test_a_restore_that_another_one_finished_first_is_already_restored(
    provider: LocalTrashProvider,
    volume: Volume,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Two restores of one entry at once (a second run, a file manager's "Restore"): the one that
    loses the race must say the file is back, not fail with "No such file or directory"."""
    acct, item, stored = _photo(provider, volume)
    target = volume.top / "DCIM" / "holiday.jpg"
    real = safe_fs.place_file

    def other_restore_first(*args, **kwargs):
        os.rename(stored, target)  # what a file manager's restore does ...
        (volume.trash.path / "info" / "holiday.jpg.trashinfo").unlink()  # ... then this
        return real(*args, **kwargs)

    monkeypatch.setattr(safe_fs, "place_file", other_restore_first)

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.ALREADY_RESTORED, result.detail
    assert result.restored_path == str(target)
    assert target.read_bytes() == PHOTO
    assert sorted(p.name for p in target.parent.iterdir()) == ["holiday.jpg"]  # no second copy


def test_a_restore_killed_after_the_link_is_finished_by_the_next_one(
    provider: LocalTrashProvider, volume: Volume
) -> None:
    """Killed between the new name and removing the trash's one, a restore leaves the file under
    both; the next restore completes it, instead of adding a third name "holiday (restored).jpg"
    for the same file and saying the original name was taken."""
    acct, item, stored = _photo(provider, volume)
    target = volume.top / "DCIM" / "holiday.jpg"
    os.link(stored, target)  # where a SIGKILL after os.link leaves it

    [result] = provider.restore(acct, [item])

    assert result.outcome is RestoreOutcome.RESTORED, result.detail
    assert result.restored_path == str(target)
    assert sorted(p.name for p in target.parent.iterdir()) == ["holiday.jpg"]
    assert target.read_bytes() == PHOTO and target.stat().st_nlink == 1
    assert not stored.exists()
    assert not (volume.trash.path / "info" / "holiday.jpg.trashinfo").exists()
