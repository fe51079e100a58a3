"""Listing real trash directories."""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.errors import AccountError
from trashscan.models import Account, DeletedAtSource, Kind, ScanOutcome, TrashItem
from trashscan_local_trash import plugin, trashinfo
from trashscan_local_trash.plugin import LocalTrashProvider, _full_handle

from .conftest import Trash, account, indexed, scan_items, scan_pages

PAGE = 50  # a page size small enough that a few pages take little to build


def test_lists_photos_and_videos_but_not_documents(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.add(f"{home}/Pictures/IMG_1.jpg", content=b"\xff\xd8\xff" + bytes(97))
    trash.add(f"{home}/Videos/clip.mp4")
    trash.add(f"{home}/Documents/notes.txt")
    trash.add(f"{home}/Documents/report.pdf")

    pages, outcome = scan_pages(provider, account(trash_dirs=[str(trash.path)]))

    assert outcome == ScanOutcome(state={"trash_dirs": [str(trash.path)]}, complete_listing=True)
    items = {i.name: i for page in pages for i in page.items}
    assert set(items) == {"IMG_1.jpg", "clip.mp4"}
    photo = items["IMG_1.jpg"]
    assert photo.item_id == f"{trash.path}::IMG_1.jpg.trashinfo"
    assert photo.path == f"{home}/Pictures/IMG_1.jpg"
    assert (photo.kind, photo.mime_type, photo.size) == (Kind.PHOTO, "image/jpeg", 100)
    assert photo.deleted_at_source is DeletedAtSource.API
    assert photo.purge_at is None  # kept until emptied
    assert photo.restorable
    stored = (trash.path / "files" / "IMG_1.jpg").stat()
    assert photo.version == f"{stored.st_ino}:100:{stored.st_mtime_ns}"
    assert photo.restore_handle == {"trash_dir": str(trash.path)}  # the rest is the row's own:
    assert _full_handle(indexed(photo)) == {
        "trash_dir": str(trash.path),
        "info": "IMG_1.jpg.trashinfo",
        "original_path": f"{home}/Pictures/IMG_1.jpg",
        "file_id": {"inode": stored.st_ino, "size": 100, "mtime_ns": stored.st_mtime_ns},
    }
    assert items["clip.mp4"].kind is Kind.VIDEO


def test_each_item_holds_what_its_fields_say(
    provider: LocalTrashProvider, trash: Trash, home: Path, tmp_path: Path
) -> None:
    """The plugin makes its items positionally (for speed): each field must still be its own."""
    trash.add(f"{home}/Pictures/IMG_1.jpg", content=b"12345")
    trash.add(f"{home}/Videos/clip.mp4", date="")
    (home / "Link").symlink_to(tmp_path)
    trash.add(f"{home}/Link/IMG_2.png", content=b"123")

    items = scan_items(provider, account(trash_dirs=[str(trash.path)]))

    def expected(name: str, path: str, mime: str, kind: Kind, reason: str | None) -> TrashItem:
        stored = (trash.path / "files" / name).stat()
        date = None if kind is Kind.VIDEO else datetime(2024, 5, 30, 10).astimezone(UTC)
        return TrashItem(
            item_id=f"{trash.path}::{name}.trashinfo",
            name=name,
            path=path,
            mime_type=mime,
            size=stored.st_size,
            deleted_at=date,
            deleted_at_source=DeletedAtSource.API if date else DeletedAtSource.OBSERVED,
            purge_at=None,
            purge_is_estimate=True,
            restorable=reason is None,
            not_restorable_reason=reason,
            restore_handle={"trash_dir": str(trash.path)},
            kind=kind,
            version=f"{stored.st_ino}:{stored.st_size}:{stored.st_mtime_ns}",
        )

    photo = expected("IMG_1.jpg", f"{home}/Pictures/IMG_1.jpg", "image/jpeg", Kind.PHOTO, None)
    video = expected("clip.mp4", f"{home}/Videos/clip.mp4", "video/mp4", Kind.VIDEO, None)
    linked = f"{home}/Link is a symbolic link; a restore never goes through one"
    png = expected("IMG_2.png", f"{home}/Link/IMG_2.png", "image/png", Kind.PHOTO, linked)
    assert items == {"IMG_1.jpg": photo, "clip.mp4": video, "IMG_2.png": png}


def test_name_is_the_original_name_not_the_trash_copy_name(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.add(f"{home}/a/IMG.jpg")
    trash.add(f"{home}/b/IMG.jpg", stored="IMG.2.jpg")

    pages, _ = scan_pages(provider, account(trash_dirs=[str(trash.path)]))

    items = sorted((i.name, i.path) for p in pages for i in p.items)
    assert items == [("IMG.jpg", f"{home}/a/IMG.jpg"), ("IMG.jpg", f"{home}/b/IMG.jpg")]


def test_malformed_trashinfo_is_skipped_with_a_warning(
    provider: LocalTrashProvider, trash: Trash, home: Path, caplog: pytest.LogCaptureFixture
) -> None:
    trash.add(f"{home}/good.jpg")
    bad = {
        "noheader.jpg": f"Path={home}/noheader.jpg\nDeletionDate=2024-05-01T00:00:00\n",
        "nopath.jpg": "[Trash Info]\nDeletionDate=2024-05-01T00:00:00\n",
        "top.jpg": "[Trash Info]\nPath=.\n",
        "empty.jpg": "",
    }
    for stored, text in bad.items():
        trash.info(stored, text)
        (trash.path / "files" / stored).write_bytes(b"x")
    trash.add("../" * 40 + "etc/escape.jpg")  # more ../ than there are folders
    (trash.path / "info" / "binary.jpg.trashinfo").write_bytes(b"\xff\xfe[Trash Info]\x00")
    (trash.path / "files" / "binary.jpg").write_bytes(b"x")

    with caplog.at_level(logging.WARNING):
        items = scan_items(provider, account(trash_dirs=[str(trash.path)]))

    assert set(items) == {"good.jpg", "escape.jpg"}
    escape = items["escape.jpg"]  # listed, so that the user sees it, but never restored
    assert escape.path == "/etc/escape.jpg"
    assert escape.restorable is False
    assert escape.not_restorable_reason == (
        f"its original path /etc/escape.jpg is outside the volume {trash.path.parent}"
    )
    warned = "\n".join(r.getMessage() for r in caplog.records)
    for stored in [*bad, "binary.jpg"]:
        assert f"{stored}.trashinfo" in warned


def test_orphan_info_and_foreign_files_are_skipped(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.add(f"{home}/kept.jpg")
    trash.info("orphan.jpg", f"[Trash Info]\nPath={home}/orphan.jpg\n")  # its file is gone
    (trash.path / "info" / "README").write_text("not a trashinfo")
    (trash.path / "files" / "no-info.jpg").write_bytes(b"x")  # a file without info
    for odd in ("", ".", ".."):  # would name files/ itself, or the trash directory
        trash.info(odd, f"[Trash Info]\nPath={home}/odd\n")

    assert set(scan_items(provider, account(trash_dirs=[str(trash.path)]))) == {"kept.jpg"}


def test_percent_encoded_path_with_spaces_and_unicode(
    provider: LocalTrashProvider, trash: Trash
) -> None:
    trash.info(
        "été 1.jpg",
        "[Trash Info]\nPath=/home/u/My%20Photos/%C3%A9t%C3%A9%201%20%23%25.jpg\n"
        "DeletionDate=2024-05-01T00:00:00\n",
    )
    (trash.path / "files" / "été 1.jpg").write_bytes(b"x")

    item = scan_items(provider, account(trash_dirs=[str(trash.path)]))["été 1 #%.jpg"]

    assert item.path == "/home/u/My Photos/été 1 #%.jpg"
    assert item.item_id == f"{trash.path}::été 1.jpg.trashinfo"


def test_per_volume_trash_paths_are_relative_to_the_volume(
    provider: LocalTrashProvider, tmp_path: Path
) -> None:
    volume = tmp_path / "stick"
    private = Trash(volume / ".Trash-1000")
    private.add("DCIM/100CANON/IMG_1.JPG")
    shared = Trash(volume / ".Trash" / "1000")
    shared.add("DCIM/100CANON/MVI_2.MOV")

    dirs = [str(private.path), str(shared.path)]
    items = scan_items(provider, account(trash_dirs=dirs))

    assert items["IMG_1.JPG"].path == f"{volume}/DCIM/100CANON/IMG_1.JPG"
    assert items["MVI_2.MOV"].path == f"{volume}/DCIM/100CANON/MVI_2.MOV"
    assert items["MVI_2.MOV"].kind is Kind.VIDEO


@pytest.mark.usefixtures("tokyo")
def test_deletion_date_is_local_time_converted_to_utc(
    provider: LocalTrashProvider, trash: Trash
) -> None:
    trash.add("/p/a.jpg", date="2024-05-01T08:30:15")

    item = scan_items(provider, account(trash_dirs=[str(trash.path)]))["a.jpg"]

    assert item.deleted_at == datetime(2024, 4, 30, 23, 30, 15, tzinfo=UTC)


def test_missing_or_bad_deletion_date_still_lists_the_item(
    provider: LocalTrashProvider, trash: Trash
) -> None:
    trash.info("a.jpg", "[Trash Info]\nPath=/p/a.jpg\n")
    trash.info("b.jpg", "[Trash Info]\nPath=/p/b.jpg\nDeletionDate=yesterday\n")
    for name in ("a.jpg", "b.jpg"):
        (trash.path / "files" / name).write_bytes(b"x")

    items = scan_items(provider, account(trash_dirs=[str(trash.path)], purge_after_days=30))

    for item in items.values():
        assert item.deleted_at is None
        assert item.deleted_at_source is DeletedAtSource.OBSERVED
        assert item.purge_at is None


@pytest.mark.usefixtures("tokyo")
def test_purge_after_days(provider: LocalTrashProvider, trash: Trash) -> None:
    trash.add("/p/a.jpg", date="2024-05-01T09:00:00")
    deleted = datetime(2024, 5, 1, 0, 0, tzinfo=UTC)

    item = scan_items(provider, account(trash_dirs=[str(trash.path)], purge_after_days=30))["a.jpg"]
    assert item.purge_at == deleted + timedelta(days=30)
    assert item.purge_is_estimate

    override = Account(
        name="a",
        provider="local-trash",
        options={"trash_dirs": [str(trash.path)], "purge_after_days": 30},
        retention_days=7,
    )
    assert scan_items(provider, override)["a.jpg"].purge_at == deleted + timedelta(days=7)


@pytest.mark.parametrize("days", ["30", -1, True, 2.5])
def test_bad_purge_after_days_is_an_account_error(
    provider: LocalTrashProvider, trash: Trash, days: object
) -> None:
    with pytest.raises(AccountError, match="purge_after_days"):
        scan_pages(provider, account(trash_dirs=[str(trash.path)], purge_after_days=days))


def test_many_items_come_in_several_pages(
    provider: LocalTrashProvider, trash: Trash, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugin, "PAGE_SIZE", PAGE)
    total = 2 * PAGE + 17
    for n in range(total):
        trash.add(f"/p/IMG_{n:05}.jpg", content=b"")
    for n in range(30):
        trash.add(f"/p/doc_{n}.txt", content=b"")

    gen = provider.scan(account(trash_dirs=[str(trash.path)]), None)
    first = next(gen)  # the first page arrives before the rest of the trash is read
    assert len(first.items) == PAGE
    pages = [first, *gen]

    assert [len(p.items) for p in pages] == [PAGE, PAGE, 17]
    ids = {i.item_id for p in pages for i in p.items}
    assert len(ids) == total


def test_a_trash_is_read_in_name_order(
    provider: LocalTrashProvider, trash: Trash, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Item ids then come in the index's key order, page after page: each page's rows extend
    the primary key instead of landing all over it (a directory lists in hash or creation
    order)."""
    monkeypatch.setattr(plugin, "PAGE_SIZE", PAGE)
    names = [f"IMG_{(n * 7919) % 1000:04}.jpg" for n in range(3 * PAGE)]  # created out of order
    for name in names:
        trash.add(f"/p/{name}", content=b"")

    pages, _ = scan_pages(provider, account(trash_dirs=[str(trash.path)]))

    ids = [i.item_id for p in pages for i in p.items]
    assert ids == sorted(f"{trash.path}::{name}.trashinfo" for name in names)


def test_trashed_folder_lists_the_media_inside(
    provider: LocalTrashProvider, trash: Trash, home: Path
) -> None:
    trash.info("Album", f"[Trash Info]\nPath={home}/Album\nDeletionDate=2024-05-01T00:00:00\n")
    folder = trash.path / "files" / "Album"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.jpg").write_bytes(b"12345")
    (folder / "sub" / "b.mp4").write_bytes(b"123")
    (folder / "readme.txt").write_bytes(b"not media")

    items = scan_items(provider, account(trash_dirs=[str(trash.path)]))

    assert set(items) == {"a.jpg", "b.mp4"}
    inner = items["b.mp4"]
    assert inner.path == f"{home}/Album/sub/b.mp4"
    assert inner.size == 3
    assert inner.item_id == f"{trash.path}::Album.trashinfo::sub/b.mp4"
    assert inner.restore_handle == {"trash_dir": str(trash.path), "inner": "sub/b.mp4"}
    full = _full_handle(indexed(inner))
    assert (full["info"], full["original_path"]) == ("Album.trashinfo", f"{home}/Album")


def test_an_unreadable_trash_makes_the_listing_incomplete(
    provider: LocalTrashProvider, tmp_path: Path, trash: Trash
) -> None:
    trash.add("/p/a.jpg")
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "info").write_text("a file where the info/ directory should be")

    pages, outcome = scan_pages(provider, account(trash_dirs=[str(trash.path), str(broken)]))

    assert [i.name for p in pages for i in p.items] == ["a.jpg"]
    assert outcome.complete_listing is False


def test_missing_configured_trash_dir_is_an_account_error(
    provider: LocalTrashProvider, tmp_path: Path
) -> None:
    missing = tmp_path / "nope" / "Trash"
    acct = account(trash_dirs=[str(missing)])

    with pytest.raises(AccountError, match=str(missing)):
        scan_pages(provider, acct)
    status = provider.check_auth(acct)
    assert not status.ok
    assert str(missing) in status.detail


def test_check_auth_ok_for_readable_trash(provider: LocalTrashProvider, trash: Trash) -> None:
    assert provider.check_auth(account(trash_dirs=[str(trash.path)])).ok


def test_home_trash_from_option_or_environment(
    provider: LocalTrashProvider, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    data = tmp_path / "xdg"
    Trash(data / "Trash").add("/p/a.jpg")

    by_option = scan_items(provider, account(xdg_data_home=str(data), include_volumes=False))
    assert set(by_option) == {"a.jpg"}

    monkeypatch.setenv("XDG_DATA_HOME", str(data))
    assert set(scan_items(provider, account(include_volumes=False))) == {"a.jpg"}

    empty = tmp_path / "empty-xdg"  # no Trash yet: nothing trashed, not an error
    assert scan_items(provider, account(xdg_data_home=str(empty), include_volumes=False)) == {}


def test_volume_trashes_follow_the_spec_checks(tmp_path: Path) -> None:
    uid = os.getuid()
    good = tmp_path / "mnt" / "my stick"
    (good / f".Trash-{uid}").mkdir(parents=True)
    (good / ".Trash" / str(uid)).mkdir(parents=True)
    (good / ".Trash").chmod(0o1777)
    no_sticky = tmp_path / "mnt" / "nosticky"
    (no_sticky / ".Trash" / str(uid)).mkdir(parents=True)
    (no_sticky / ".Trash").chmod(0o777)
    linked = tmp_path / "mnt" / "linked"
    linked.mkdir()
    (linked / ".Trash").symlink_to(good / ".Trash")
    mounts = tmp_path / "mounts"
    escaped = str(good).replace(" ", "\\040")
    mounts.write_text(
        f"/dev/sdb1 {escaped} vfat rw 0 0\n"
        f"/dev/sdc1 {no_sticky} ext4 rw 0 0\n"
        f"/dev/sdd1 {linked} ext4 rw 0 0\n"
        f"proc {tmp_path} proc rw 0 0\n"
        f"/dev/sde1 {tmp_path / 'unmounted'} ext4 rw 0 0\n"
    )

    found = list(trashinfo.volume_trashes(uid, str(mounts)))

    assert found == [str(good / ".Trash" / str(uid)), str(good / f".Trash-{uid}")]


def test_include_volumes_reads_this_machines_mounts_without_error(
    provider: LocalTrashProvider, tmp_path: Path
) -> None:
    acct = account(xdg_data_home=str(tmp_path / "xdg"))
    dirs = provider.trash_dirs(acct)
    assert all(os.path.isdir(d) for d in dirs)
    scan_pages(provider, acct)  # whatever this machine's volumes hold, the scan completes


def test_an_unplugged_volume_makes_the_listing_incomplete(
    provider: LocalTrashProvider, tmp_path: Path, trash: Trash
) -> None:
    """A stick seen last time but absent now still holds its trash: nothing may be swept."""
    trash.add("/p/a.jpg")
    stick = tmp_path / "stick" / ".Trash-1000"
    acct = account(trash_dirs=[str(trash.path)])
    seen_before = {"trash_dirs": [str(stick), str(trash.path)]}

    gen = provider.scan(acct, seen_before)
    pages = list(_drain(gen))
    outcome = pages.pop()

    assert [i.name for p in pages for i in p.items] == ["a.jpg"]
    assert outcome.complete_listing is False
    assert set(outcome.state["trash_dirs"]) == {str(stick), str(trash.path)}


def _drain(gen):
    """Every page, then the outcome as the last element."""
    while True:
        try:
            yield next(gen)
        except StopIteration as done:
            yield done.value
            return


def _counting_parse(monkeypatch: pytest.MonkeyPatch, fail_on: str | None = None) -> list[str]:
    """Count the ``.trashinfo`` files the scan has read (and parsed), in order."""
    read: list[str] = []
    parse = trashinfo.parse

    def counted(data: bytes, trash_dir: str) -> trashinfo.TrashInfo:
        info = parse(data, trash_dir)
        read.append(info.original)
        if fail_on is not None and info.original.endswith(fail_on):
            raise RuntimeError(f"cannot parse {fail_on}")
        return info

    monkeypatch.setattr(trashinfo, "parse", counted)
    return read


def _reader_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "local-trash-read"]


def _wait_for(condition: object, what: str) -> None:
    """Until ``condition()`` holds (the reading thread is another thread), or fail."""
    give_up = time.monotonic() + 10
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < give_up, what
        time.sleep(0.01)


def test_the_trash_is_read_at_most_a_page_ahead_of_the_page_in_flight(
    provider: LocalTrashProvider, trash: Trash, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugin, "PAGE_SIZE", PAGE)
    monkeypatch.setattr(plugin, "_AHEAD_CHUNK", 10)
    for n in range(10 * PAGE):
        trash.add(f"/p/IMG_{n:05}.jpg", content=b"")
    read = _counting_parse(monkeypatch)

    gen = provider.scan(account(trash_dirs=[str(trash.path)]), None)
    first = next(gen)
    # While the core commits this page, the next one is read (pure reading), and no more: the
    # queue holds a page of chunks, the thread one more chunk, blocked on the full queue.
    ahead = PAGE + PAGE + 10
    _wait_for(lambda: len(read) >= ahead, "the next page is read while this one is committed")
    time.sleep(0.2)  # it would go on now, were it not bounded
    assert len(read) == ahead
    pages = [first, *gen]
    assert [len(p.items) for p in pages] == [PAGE] * 10
    assert len({i.item_id for p in pages for i in p.items}) == 10 * PAGE
    _wait_for(lambda: not _reader_threads(), "the reading thread ends with the scan")


def test_closing_the_scan_stops_the_reading_thread(
    provider: LocalTrashProvider, trash: Trash, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused commit, the deadline or Ctrl-C closes the generator at its yield: the thread
    reading ahead stops too, having read no more than its bound."""
    monkeypatch.setattr(plugin, "PAGE_SIZE", PAGE)
    monkeypatch.setattr(plugin, "_AHEAD_CHUNK", 10)
    for n in range(10 * PAGE):
        trash.add(f"/p/IMG_{n:05}.jpg", content=b"")
    read = _counting_parse(monkeypatch)

    gen = provider.scan(account(trash_dirs=[str(trash.path)]), None)
    next(gen)
    gen.close()
    _wait_for(lambda: not _reader_threads(), "the reading thread stops when the scan is closed")
    assert len(read) <= PAGE + PAGE + 10


def test_an_error_met_while_reading_ahead_is_raised_by_the_scan(
    provider: LocalTrashProvider, trash: Trash, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(plugin, "PAGE_SIZE", PAGE)
    for n in range(3 * PAGE):
        trash.add(f"/p/IMG_{n:05}.jpg", content=b"")
    _counting_parse(monkeypatch, fail_on=f"IMG_{2 * PAGE:05}.jpg")

    with pytest.raises(RuntimeError, match="cannot parse"):
        scan_pages(provider, account(trash_dirs=[str(trash.path)]))
    _wait_for(lambda: not _reader_threads(), "the reading thread ends with its error")
