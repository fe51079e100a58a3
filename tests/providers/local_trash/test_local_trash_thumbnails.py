"""Pictures of the local trash: the trashed file itself, read as safely as a restore reads it."""

from __future__ import annotations

import io
import os
from pathlib import Path

import pytest
from PIL import Image

from trashscan.errors import AccountError
from trashscan.models import Kind
from trashscan_local_trash.plugin import LocalTrashProvider

from .conftest import Trash, account, indexed, scan_items


def jpeg(color: tuple[int, int, int] = (200, 0, 0)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (640, 480), color).save(out, "JPEG")
    return out.getvalue()


def test_a_trashed_photo_and_a_photo_inside_a_trashed_folder_are_read(
    provider: LocalTrashProvider, trash: Trash
) -> None:
    trash.add("/home/me/a.jpg", content=jpeg())
    trash.folder("/home/me/Album", "Album", {"sub/b.jpg": jpeg((0, 0, 200))})
    acct = account(trash_dirs=[str(trash.path)])
    items = scan_items(provider, acct)
    assert provider.capabilities.thumbnails
    for name in ("a.jpg", "b.jpg"):
        item = items[name]
        assert item.version and item.version.count(":") == 2  # inode:size:mtime
        data = provider.thumbnail(acct, indexed(item), None)
        assert (
            data
            == (
                trash.path / "files" / ("a.jpg" if name == "a.jpg" else "Album/sub/b.jpg")
            ).read_bytes()
        )


def test_a_video_has_no_picture(provider: LocalTrashProvider, trash: Trash) -> None:
    trash.add("/home/me/clip.mp4", content=b"\0\0\0\x18ftypmp42")
    acct = account(trash_dirs=[str(trash.path)])
    item = scan_items(provider, acct)["clip.mp4"]
    assert item.kind is Kind.VIDEO
    assert provider.thumbnail(acct, indexed(item), None) is None


def test_a_file_swapped_for_a_symbolic_link_after_the_scan_is_not_read(
    provider: LocalTrashProvider, trash: Trash, tmp_path: Path
) -> None:
    stored = trash.add("/home/me/a.jpg", content=jpeg())
    acct = account(trash_dirs=[str(trash.path)])
    item = indexed(scan_items(provider, acct)["a.jpg"])
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(jpeg((1, 2, 3)))
    stored.unlink()
    os.symlink(secret, stored)
    with pytest.raises(AccountError, match="not a regular file"):
        provider.thumbnail(acct, item, None)


def test_a_folder_on_the_way_swapped_for_a_link_is_not_followed(
    provider: LocalTrashProvider, trash: Trash, tmp_path: Path
) -> None:
    top = trash.folder("/home/me/Album", "Album", {"b.jpg": jpeg()})
    acct = account(trash_dirs=[str(trash.path)])
    item = indexed(scan_items(provider, acct)["b.jpg"])
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    os.rename(top / "b.jpg", elsewhere / "b.jpg")
    top.rmdir()
    os.symlink(elsewhere, top)
    with pytest.raises(AccountError, match="symbolic link"):
        provider.thumbnail(acct, item, None)


def test_a_file_replaced_since_the_scan_is_not_shown_as_the_trashed_one(
    provider: LocalTrashProvider, trash: Trash
) -> None:
    stored = trash.add("/home/me/a.jpg", content=jpeg())
    acct = account(trash_dirs=[str(trash.path)])
    item = indexed(scan_items(provider, acct)["a.jpg"])
    stored.unlink()
    stored.write_bytes(jpeg((0, 255, 0)) + b"another file")
    with pytest.raises(AccountError, match="changed since the scan"):
        provider.thumbnail(acct, item, None)


def test_only_the_account_s_own_trash_directories_are_read(
    provider: LocalTrashProvider, trash: Trash, tmp_path: Path
) -> None:
    trash.add("/home/me/a.jpg", content=jpeg())
    item = indexed(scan_items(provider, account(trash_dirs=[str(trash.path)]))["a.jpg"])
    other = Trash(tmp_path / "OtherTrash")
    with pytest.raises(AccountError, match="not available"):
        provider.thumbnail(account(trash_dirs=[str(other.path)]), item, None)
