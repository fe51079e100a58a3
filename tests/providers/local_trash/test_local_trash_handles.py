"""The restore handle: what a scan stores in the index, and what restore and thumbnails read.

A scan stores only what the row cannot tell: the trash directory, and the path inside a trashed
folder. The rest is the row's own: item_id is ``trash_dir::info[::inner]``, path is the original
path as shown (``/inner`` appended), version is ``inode:size:mtime_ns``. Indexes written by an
older trashscan hold handles with all of it (``info``, ``original_path``, ``file_id``); both
forms must restore, tell an already restored file and read pictures alike, with names that
hold what an item id, JSON or percent-decoding could trip on.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from pathlib import Path
from urllib.parse import quote

import pytest

from trashscan.errors import AccountError
from trashscan.models import IndexedItem, RestoreOutcome, TrashItem
from trashscan_local_trash import plugin
from trashscan_local_trash.plugin import LocalTrashProvider

from .conftest import Volume, indexed, scan_items

ODD = "::%41\n%"  # an item id's separator, a percent escape, a newline, a lone percent sign
FORMS = ["now", "older"]  # what a scan stores now; what an older trashscan stored


@dataclass(frozen=True)
class Entry:
    """One trashed photo of the odd trash and where it belongs."""

    info: str  # the .trashinfo's name
    original: str  # the original path of the trashed file or folder (surrogate escapes kept)
    inner: str | None  # the photo's path inside a trashed folder
    stored: Path  # the photo in files/

    @property
    def target(self) -> str:
        """Where a restore puts it: its real original path."""
        return f"{self.original}/{self.inner}" if self.inner else self.original


def shown(path: str) -> str:
    return os.fsencode(path).decode("utf-8", "replace")


def odd_trash(top: Path) -> tuple[Volume, dict[str, Entry]]:
    """A drive's trash, itself under a folder with an odd name, holding odd names: a photo, one
    whose original path is not UTF-8, and a photo inside each of two trashed folders (one of
    them from a folder whose name is not UTF-8). Keyed by the listed name."""
    volume = Volume(top / f"stick{ODD}", "private")
    trash = volume.trash
    volume_top = os.fsdecode(bytes(volume.top))
    entries: dict[str, Entry] = {}

    def add(stored: str, path_value: str, original: str, inner: str | None = None) -> None:
        trash.info(stored, f"[Trash Info]\nPath={path_value}\nDeletionDate=2024-05-30T10:00:00\n")
        files = trash.path / "files" / stored
        if inner:
            (files / inner).parent.mkdir(parents=True)
        photo = files / inner if inner else files
        photo.write_bytes(b"\xff\xd8\xff photo of " + os.fsencode(str(photo)))
        entry = Entry(f"{stored}.trashinfo", original, inner, photo)
        entries[(inner or shown(original)).rpartition("/")[2]] = entry

    add(f"a{ODD}.jpg", quote(f"DCIM{ODD}/a{ODD}.jpg"), f"{volume_top}/DCIM{ODD}/a{ODD}.jpg")
    add(
        f"b{ODD}.jpg",
        f"DCIM/b%FF{quote(ODD)}.jpg",
        os.fsdecode(os.fsencode(f"{volume_top}/DCIM/b") + b"\xff" + os.fsencode(f"{ODD}.jpg")),
    )
    add(f"Album{ODD}", quote(f"Album{ODD}"), f"{volume_top}/Album{ODD}", f"s{ODD}/c{ODD}.jpg")
    add(
        f"Bad{ODD}",
        f"Bad%FE%80{quote(ODD)}",
        os.fsdecode(os.fsencode(f"{volume_top}/Bad") + b"\xfe\x80" + os.fsencode(ODD)),
        f"d{ODD}.jpg",
    )
    return volume, entries


def older_handle(volume: Volume, entry: Entry) -> dict[str, object]:
    """The handle an older trashscan stored for ``entry``, built from the trash itself."""
    st = entry.stored.stat()
    handle: dict[str, object] = {
        "trash_dir": str(volume.trash.path),
        "info": entry.info,
        "original_path": shown(entry.original),
        "file_id": {"inode": st.st_ino, "size": st.st_size, "mtime_ns": st.st_mtime_ns},
    }
    if entry.inner:
        handle["inner"] = entry.inner
    return handle


def rows(
    provider: LocalTrashProvider, volume: Volume, entries: dict[str, Entry], form: str
) -> dict[str, IndexedItem]:
    """The index rows of a scan of the odd trash, by name, as trashscan now or before wrote them."""
    items = scan_items(provider, volume.named())
    assert set(items) == set(entries)
    found = {name: indexed(item) for name, item in items.items()}
    if form == "older":
        found = {
            n: replace(r, restore_handle=older_handle(volume, entries[n])) for n, r in found.items()
        }
    return found


@pytest.fixture
def odd(tmp_path: Path) -> tuple[Volume, dict[str, Entry]]:
    return odd_trash(tmp_path)


# --------------------------------------------------------------------------- what a scan stores


def test_a_scan_stores_the_trash_directory_and_the_inner_path_only(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]]
) -> None:
    volume, entries = odd
    items = scan_items(provider, volume.named())

    for name, entry in entries.items():
        item = items[name]
        expected: dict[str, object] = {"trash_dir": str(volume.trash.path)}
        if entry.inner:
            expected["inner"] = entry.inner
        assert item.restore_handle == expected
        # ... and the rest is the row's own: what an older trashscan stored, exactly
        assert plugin._full_handle(indexed(item)) == older_handle(volume, entry)


def test_an_older_handle_is_read_as_the_index_holds_it(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]]
) -> None:
    volume, entries = odd
    for name, row in rows(provider, volume, entries, "older").items():
        assert plugin._full_handle(row) == older_handle(volume, entries[name])
    partial = {"trash_dir": str(volume.trash.path), "info": "x.jpg.trashinfo"}  # no file_id
    assert plugin._full_handle(replace(row, restore_handle=partial)) == partial


# --------------------------------------------------------------------------- restore, either form


@pytest.mark.parametrize("form", FORMS)
def test_restore_puts_each_photo_back_in_either_form(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]], form: str
) -> None:
    volume, entries = odd
    found = rows(provider, volume, entries, form)
    contents = {name: entry.stored.read_bytes() for name, entry in entries.items()}

    results = {r.item_id: r for r in provider.restore(volume.named(), list(found.values()))}

    for name, entry in entries.items():
        result = results[found[name].item_id]
        assert result.outcome is RestoreOutcome.RESTORED, result.detail
        assert result.restored_path == shown(entry.target)
        assert Path(entry.target).read_bytes() == contents[name]
        assert not entry.stored.exists()
        info = volume.trash.path / "info" / entry.info
        assert info.exists() == bool(entry.inner)  # a folder's other files stay trashed


@pytest.mark.parametrize("form", FORMS)
def test_without_its_trashinfo_a_photo_goes_where_the_index_says_in_either_form(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]], form: str
) -> None:
    """The .trashinfo gone, the index's original path is all there is: it is the path as
    shown, so a path that is not UTF-8 comes back under its shown name (U+FFFD)."""
    volume, entries = odd
    found = rows(provider, volume, entries, form)
    for entry in entries.values():
        (volume.trash.path / "info" / entry.info).unlink()

    results = {r.item_id: r for r in provider.restore(volume.named(), list(found.values()))}

    for name, entry in entries.items():
        result = results[found[name].item_id]
        assert result.outcome is RestoreOutcome.RESTORED, result.detail
        assert result.restored_path == shown(entry.target)
        assert Path(shown(entry.target)).is_file()


@pytest.mark.parametrize("form", FORMS)
def test_a_photo_put_back_by_hand_is_already_restored_in_either_form(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]], form: str
) -> None:
    volume, entries = odd
    found = rows(provider, volume, entries, form)
    for entry in entries.values():  # a file manager put each back (the same inode) ...
        os.makedirs(os.path.dirname(entry.target), exist_ok=True)
        os.rename(entry.stored, entry.target)
        with_info = volume.trash.path / "info" / entry.info
        with_info.unlink(missing_ok=True)  # ... and removed its .trashinfo

    results = {r.item_id: r for r in provider.restore(volume.named(), list(found.values()))}

    for name, entry in entries.items():
        result = results[found[name].item_id]
        if shown(entry.target) == entry.target:
            assert result.outcome is RestoreOutcome.ALREADY_RESTORED, result.detail
            assert result.restored_path == entry.target
        else:  # looked for under its shown name, which is not where it is
            assert (result.outcome, result.detail) == (
                RestoreOutcome.FAILED,
                "no longer in the trash",
            )


@pytest.mark.parametrize("form", FORMS)
def test_another_file_at_the_original_path_is_told_apart_in_either_form(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]], form: str
) -> None:
    volume, entries = odd
    found = rows(provider, volume, entries, form)
    utf8 = {n: e for n, e in entries.items() if shown(e.target) == e.target}
    for entry in utf8.values():
        os.makedirs(os.path.dirname(entry.target), exist_ok=True)
        Path(entry.target).write_bytes(b"another photo, another size")
        entry.stored.unlink()
        (volume.trash.path / "info" / entry.info).unlink(missing_ok=True)

    results = list(provider.restore(volume.named(), [found[n] for n in utf8]))

    assert [(r.outcome, r.detail) for r in results] == [
        (
            RestoreOutcome.FAILED,
            f"no longer in the trash; the file now at {e.target} is a different file",
        )
        for e in utf8.values()
    ]


# --------------------------------------------------------------------------- pictures, either form


@pytest.mark.parametrize("form", FORMS)
def test_a_picture_is_read_in_either_form(
    provider: LocalTrashProvider, odd: tuple[Volume, dict[str, Entry]], form: str
) -> None:
    volume, entries = odd
    found = rows(provider, volume, entries, form)
    acct = volume.named()
    for name, entry in entries.items():
        assert provider.thumbnail(acct, found[name], None) == entry.stored.read_bytes()
        entry.stored.unlink()
        entry.stored.write_bytes(b"another file")
        with pytest.raises(AccountError, match="changed since the scan"):
            provider.thumbnail(acct, found[name], None)


# ------------------------------------------------------------------ rows that do not add up


def _slim(tmp_path: Path, provider: LocalTrashProvider) -> tuple[Volume, dict[str, IndexedItem]]:
    volume, entries = odd_trash(tmp_path)
    return volume, rows(provider, volume, entries, "now")


def _mismatched(row: IndexedItem, trash_dir: str) -> list[IndexedItem]:
    """Rows whose item_id or path does not fit their handle."""
    inner = row.restore_handle.get("inner")
    bad = [
        replace(row, item_id=row.item_id.replace("::", ":", 1)),  # not trash_dir + "::"
        replace(row, item_id=row.item_id[1:]),
        replace(row, item_id=f"{trash_dir}::"),  # no .trashinfo named
        replace(row, restore_handle={**row.restore_handle, "inner": "elsewhere.jpg"}),
        replace(row, restore_handle={**row.restore_handle, "inner": 5}),
        replace(row, path=None),
        replace(row, path=""),
        replace(row, path=str(row.path).lstrip("/")),  # not absolute
    ]
    if inner:
        bad += [
            replace(row, path=row.path.replace(f"/{inner}", "/other.jpg")),  # type: ignore[union-attr]
            replace(row, restore_handle={"trash_dir": trash_dir}),  # inner dropped
            replace(row, item_id=f"{trash_dir}::{inner}::{inner}"),
        ]
    return bad


def test_a_row_whose_item_id_or_path_does_not_fit_its_handle_is_not_restored(
    provider: LocalTrashProvider, tmp_path: Path
) -> None:
    volume, found = _slim(tmp_path, provider)
    trash_dir = str(volume.trash.path)
    before = sorted(str(p) for p in tmp_path.rglob("*"))
    for row in found.values():
        for bad in _mismatched(row, trash_dir):
            [result] = provider.restore(volume.named(), [bad])
            assert result.outcome is RestoreOutcome.FAILED
            assert (result.detail or "").startswith("bad restore information"), bad
            with pytest.raises(AccountError, match="no trash location known"):
                provider.thumbnail(volume.named(), bad, None)
    assert sorted(str(p) for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    "version",
    [None, "", "1:2", "1:2:3:4", "a:b:c", "+{0}:{1}:{2}", " {0}:{1}:{2}", "{0}:{1}:{2} ",
     "0{0}:{1}:{2}", "{0}:{1}:{2}\n", "{0}:{1}:1_{2}", "{0}:{1}:\u0663"],
)  # fmt: skip
def test_a_version_that_is_not_inode_size_mtime_tells_nothing(
    provider: LocalTrashProvider, tmp_path: Path, version: str | None
) -> None:
    volume, found = _slim(tmp_path, provider)
    row = found[f"c{ODD}.jpg"]  # in a trashed folder whose path is UTF-8
    assert row.version
    ino, size, mtime = row.version.split(":")
    bad = replace(row, version=None if version is None else version.format(ino, size, mtime))
    assert "file_id" not in plugin._full_handle(bad)

    with pytest.raises(AccountError, match="changed since the scan"):
        provider.thumbnail(volume.named(), bad, None)
    _put_back(volume, row)  # by hand: the same file, but the row cannot say so
    [result] = provider.restore(volume.named(), [bad])
    assert (result.outcome, result.detail) == (
        RestoreOutcome.FAILED,
        f"no longer in the trash; cannot tell whether the file now at {row.path} is the "
        "trashed one",
    )
    [same] = provider.restore(volume.named(), [row])  # the row as the scan wrote it can
    assert same.outcome is RestoreOutcome.ALREADY_RESTORED


def _put_back(volume: Volume, row: IndexedItem) -> None:
    """Move a trashed folder back to its original path and remove its .trashinfo."""
    full = plugin._full_handle(row)
    stored = str(full["info"]).removesuffix(".trashinfo")
    os.rename(volume.trash.path / "files" / stored, str(full["original_path"]))
    (volume.trash.path / "info" / str(full["info"])).unlink()


def test_a_folder_trashed_from_the_root_lists_its_files_under_the_root() -> None:
    row = replace(
        _any_row(),
        item_id="/T::root.trashinfo::a::b.jpg",
        path="/a::b.jpg",
        restore_handle={"inner": "a::b.jpg", "trash_dir": "/T"},
        version="1:2:-3",  # a file dated before 1970
    )
    assert plugin._full_handle(row) == {
        "trash_dir": "/T",
        "inner": "a::b.jpg",
        "info": "root.trashinfo",
        "original_path": "/",
        "file_id": {"inode": 1, "size": 2, "mtime_ns": -3},
    }


def _any_row() -> IndexedItem:
    return indexed(TrashItem(item_id="x", name="x.jpg"))
