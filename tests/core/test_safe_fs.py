"""trashscan.safe_fs: folders opened without following links, files placed without replacing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
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


@pytest.mark.parametrize("hard_links", [True, False])
def test_move_file_takes_only_the_candidate_names_it_needs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, hard_links: bool
) -> None:
    """A restore offers up to a thousand names (``a (restored 999).jpg``); a free first name
    must not cost the other 999 (10,000 files: ten million names made, seconds of work)."""
    if not hard_links:
        monkeypatch.setattr(os, "link", _refuse_link)
    src, dst = tmp_path / "src", tmp_path / "dst"
    src.mkdir()
    dst.mkdir()
    (src / "a.jpg").write_bytes(b"new")
    (dst / "a.jpg").write_bytes(b"old")
    made: list[str] = []

    def candidates():
        for n in range(1000):
            made.append(f"a ({n}).jpg" if n else "a.jpg")
            yield made[-1]

    src_fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    dst_fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd, st = safe_fs.open_regular(src_fd, "a.jpg", "a.jpg")
        try:
            name = safe_fs.move_file(src_fd, "a.jpg", fd, st, dst_fd, candidates())
        finally:
            os.close(fd)
    finally:
        os.close(src_fd)
        os.close(dst_fd)

    assert name == "a (1).jpg"
    assert (dst / "a (1).jpg").read_bytes() == b"new"
    if hard_links:  # (a copy checks every name before it starts)
        assert len(made) == 2


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


# Run in a child: move src/a.jpg to dst/ by copying (links of the source refused), and stop for
# good after the first chunk written, telling the parent so; the parent then kills it.
_KILLED_COPY = textwrap.dedent(
    """
    import errno, os, sys, time
    from trashscan import safe_fs
    src, dst, ready, mode = sys.argv[1:]
    real_link, real_write = os.link, os.write
    def link(a, b, **kw):
        if mode == "no-links" or a == f"/proc/self/fd/{fd}":
            raise OSError(errno.EXDEV, "cross-device")
        return real_link(a, b, **kw)
    def write(f, data):
        n = real_write(f, data)
        open(ready, "w").close()
        time.sleep(3600)
        return n
    os.link, os.write = link, write
    if mode != "tmpfile":
        safe_fs._TMPFILE = 0
    src_fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    dst_fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
    fd, st = safe_fs.open_regular(src_fd, "a.jpg", "a.jpg")
    safe_fs.move_file(src_fd, "a.jpg", fd, st, dst_fd, ["a.jpg", "a (restored).jpg"])
    """
)


@pytest.mark.parametrize("mode", ["tmpfile", "hidden-name", "no-links"])
def test_a_copy_killed_midway_leaves_nothing_under_the_real_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, mode: str
) -> None:
    src, dst, ready = tmp_path / "src", tmp_path / "dst", tmp_path / "ready"
    src.mkdir()
    dst.mkdir()
    photo = os.urandom(3 * 1024 * 1024 + 5)
    (src / "a.jpg").write_bytes(photo)
    os.chmod(src / "a.jpg", 0o640)
    os.utime(src / "a.jpg", ns=(1_600_000_000_000_000_000, 1_500_000_000_000_000_000))
    child = subprocess.Popen(
        [sys.executable, "-c", _KILLED_COPY, str(src), str(dst), str(ready), mode]
    )
    try:
        for _ in range(6000):  # until the child has written its first chunk (at most 60 s)
            if ready.exists() or child.poll() is not None:
                break
            time.sleep(0.01)
        assert ready.exists(), "the child never started copying"
        child.send_signal(signal.SIGKILL)
    finally:
        child.kill()
        child.wait()

    # No truncated photo under its name; at most a hidden leftover; the trash's copy intact.
    leftovers = _names(dst)
    assert all(n.startswith(".trashscan-restore-") and n.endswith(".part") for n in leftovers)
    assert (src / "a.jpg").read_bytes() == photo
    if mode == "tmpfile":
        assert leftovers == []  # an unnamed file vanishes with the process

    # A normal restore then puts the photo under its own name.
    if mode != "tmpfile":
        monkeypatch.setattr(safe_fs, "_TMPFILE", 0)
    if mode == "no-links":
        monkeypatch.setattr(os, "link", _refuse_link)
    src_fd = os.open(src, os.O_RDONLY | os.O_DIRECTORY)
    dst_fd = os.open(dst, os.O_RDONLY | os.O_DIRECTORY)
    try:
        fd, st = safe_fs.open_regular(src_fd, "a.jpg", "a.jpg")
        try:
            name = safe_fs.move_file(src_fd, "a.jpg", fd, st, dst_fd, ["a.jpg", "a (2).jpg"])
        finally:
            os.close(fd)
    finally:
        os.close(src_fd)
        os.close(dst_fd)
    assert name == "a.jpg"
    assert (dst / "a.jpg").read_bytes() == photo
    assert _names(dst) == sorted([*leftovers, "a.jpg"])
    assert _names(src) == []
    restored = (dst / "a.jpg").stat()
    assert (restored.st_mode & 0o777, restored.st_mtime_ns) == (0o640, 1_500_000_000_000_000_000)


def _refuse_link(*args: object, **kwargs: object) -> None:
    raise PermissionError(1, "Operation not permitted")
