"""trashscan.safe_fs: folders opened without following links, files placed without replacing."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from trashscan import safe_fs


def _names(fd_dir: Path) -> list[str]:
    return sorted(p.name for p in fd_dir.iterdir())


def test_open_dir_creates_missing_folders_but_never_through_a_symlink(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "top" / "a").mkdir(parents=True)
    (tmp_path / "top" / "a" / "link").symlink_to(outside)
    (tmp_path / "top" / "a" / "file").write_text("x")

    fd = safe_fs.open_dir(str(tmp_path / "top"), ["a", "new", "deeper"], create=True)
    os.close(fd)
    assert (tmp_path / "top" / "a" / "new" / "deeper").is_dir()

    with pytest.raises(safe_fs.UnsafePathError, match="is a symbolic link"):
        safe_fs.open_dir(str(tmp_path / "top"), ["a", "link", "sub"], create=True)
    with pytest.raises(safe_fs.UnsafePathError, match="is not a folder"):
        safe_fs.open_dir(str(tmp_path / "top"), ["a", "file", "sub"], create=True)
    with pytest.raises(FileNotFoundError):
        safe_fs.open_dir(str(tmp_path / "top"), ["missing"])
    assert list(outside.iterdir()) == []
    problem = safe_fs.first_unsafe(str(tmp_path / "top"), ["a", "link", "x.jpg"])
    assert problem is not None and problem.path == str(tmp_path / "top" / "a" / "link")
    assert safe_fs.first_unsafe(str(tmp_path / "top"), ["a", "gone", "link", "x"]) is None


def test_open_regular_refuses_anything_but_a_regular_file(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"photo")
    (tmp_path / "link.jpg").symlink_to(tmp_path / "photo.jpg")
    os.mkfifo(tmp_path / "fifo.jpg")
    (tmp_path / "dir.jpg").mkdir()
    fd_dir = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd, st = safe_fs.open_regular(fd_dir, "photo.jpg", "photo.jpg")
        os.close(fd)
        assert st.st_size == 5
        for name, kind in [
            ("link.jpg", "symbolic link"),
            ("fifo.jpg", "FIFO"),
            ("dir.jpg", "folder"),
        ]:
            with pytest.raises(safe_fs.NotRegularFileError, match=kind):
                safe_fs.open_regular(fd_dir, name, name)
    finally:
        os.close(fd_dir)


@pytest.mark.parametrize("hard_links", [True, False])
def test_move_file_takes_the_first_free_name_and_replaces_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    if not hard_links:
        monkeypatch.setattr(os, "link", _refuse_link)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a.jpg").write_bytes(b"new")
    (dst / "a.jpg").write_bytes(b"old")
    (dst / "b.jpg").symlink_to(tmp_path / "nowhere")  # dangling: still taken
    (dst / "c.jpg").mkdir()
    src_fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    dst_fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd, st = safe_fs.open_regular(src_fd, "a.jpg", "a.jpg")
        try:
            name = safe_fs.move_file(
                src_fd, "a.jpg", fd, st, dst_fd, ["a.jpg", "b.jpg", "c.jpg", "d.jpg"]
            )
        finally:
            os.close(fd)
    finally:
        os.close(src_fd)
        os.close(dst_fd)

    assert name == "d.jpg"
    assert (dst / "d.jpg").read_bytes() == b"new"
    assert (dst / "a.jpg").read_bytes() == b"old"
    assert not (tmp_path / "nowhere").exists()
    assert _names(src) == []


def test_remove_if_same_leaves_a_replaced_file_alone(tmp_path: Path) -> None:
    (tmp_path / "x").write_bytes(b"1")
    st = (tmp_path / "x").stat()
    (tmp_path / "x").rename(tmp_path / "y")
    (tmp_path / "x").write_bytes(b"2")
    fd = os.open(tmp_path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with pytest.raises(OSError, match="replaced"):
            safe_fs.remove_if_same(fd, "x", st)
    finally:
        os.close(fd)
    assert (tmp_path / "x").read_bytes() == b"2"


def _refuse_link(*args: object, **kwargs: object) -> None:
    raise PermissionError(1, "Operation not permitted")
