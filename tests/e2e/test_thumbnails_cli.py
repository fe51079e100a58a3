"""The thumbnail cache through the real CLI, on a local trash of real pictures: `scan` and `list`
fill it, `--no-thumbnails` and `[thumbnails] enabled = false` leave it alone, a failing picture
never fails the listing, `accounts remove` forgets an account's pictures."""

from __future__ import annotations

import io
import json
import stat
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from trashscan.errors import ProviderUnavailableError
from trashscan_local_trash.plugin import LocalTrashProvider


def picture(color: tuple[int, int, int], size: tuple[int, int] = (1200, 900)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def trash(root: Path, name: str, data: bytes, when: str = "2026-11-20T10:00:00") -> Path:
    (root / "files").mkdir(parents=True, exist_ok=True)
    (root / "info").mkdir(exist_ok=True)
    stored = root / "files" / name
    stored.write_bytes(data)
    (root / "info" / f"{name}.trashinfo").write_text(
        f"[Trash Info]\nPath=/home/me/Pictures/{name}\nDeletionDate={when}\n"
    )
    return stored


@pytest.fixture
def config(tmp_path: Path) -> Path:
    box = tmp_path / "Trash"
    trash(box, "red.jpg", picture((220, 20, 20)))
    trash(box, "blue.jpg", picture((20, 20, 220), (900, 1600)))
    trash(box, "clip.mp4", b"\x00\x00\x00\x18ftypmp42")
    config = tmp_path / "config.toml"
    config.write_text(
        f'[[accounts]]\nname = "desk"\nprovider = "local-trash"\ntrash_dirs = "{box}"\n'
        "include_volumes = false\n"
    )
    return config


@pytest.fixture
def desk(bare_cli: Any, config: Path) -> Callable[..., Any]:
    """`trashscan --config CONFIG ARGS...` in this process."""
    return lambda *args: bare_cli("--config", str(config), *args)


def cache_files(tmp_path: Path) -> list[Path]:
    root = tmp_path / "trashscan-home" / "cache" / "thumbnails"
    return sorted(p for p in root.rglob("*") if p.is_file()) if root.exists() else []


def shown_size(path: Path) -> tuple[int, int]:
    with Image.open(path) as image:
        return image.size


def test_scan_fills_the_cache_with_small_private_pictures(desk: Any, tmp_path: Path) -> None:
    result = desk("scan")
    assert result.exit_code == 0, result.stderr
    files = cache_files(tmp_path)
    assert len(files) == 3 and all(f.suffix == ".jpg" for f in files)
    sizes = sorted(shown_size(f) for f in files)
    assert sizes == [(144, 256), (256, 144), (256, 192)]  # blue portrait, the video tile, red
    for path in files:
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
        assert path.stat().st_size < 20_000


def test_no_thumbnails_and_the_config_switch_fetch_nothing(desk: Any, tmp_path: Path) -> None:
    assert desk("scan", "--no-thumbnails").exit_code == 0
    assert desk("list", "--no-thumbnails", "--format", "json").exit_code == 0
    assert cache_files(tmp_path) == []
    config = tmp_path / "config.toml"
    config.write_text(config.read_text() + "\n[thumbnails]\nenabled = false\n")
    assert desk("scan").exit_code == 0 and desk("list").exit_code == 0
    assert cache_files(tmp_path) == []
    assert desk("list", "--cached").exit_code == 0
    assert cache_files(tmp_path) == []


def test_list_fetches_after_the_listing_and_cached_lists_fetch_nothing(
    desk: Any, tmp_path: Path
) -> None:
    cached = desk("list", "--cached", "--format", "json")
    assert cached.exit_code == 0 and cache_files(tmp_path) == []
    listed = desk("list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert {i["name"] for i in listed.json()} == {"red.jpg", "blue.jpg", "clip.mp4"}
    assert "thumbnail" not in json.dumps(listed.json())  # no link of any kind in the output
    assert len(cache_files(tmp_path)) == 3


def test_a_listing_succeeds_when_every_picture_fails(
    desk: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    asked: list[str] = []

    def unavailable(self, account, item, source):  # type: ignore[no-untyped-def]
        asked.append(item.name)
        raise ProviderUnavailableError("HTTP 503 from thumbnails.example after 5 attempts")

    original = LocalTrashProvider.thumbnail
    monkeypatch.setattr(LocalTrashProvider, "thumbnail", unavailable)
    result = desk("list", "--format", "json")
    assert result.exit_code == 0
    assert len(result.json()) == 3
    assert sorted(asked) == ["blue.jpg", "clip.mp4", "red.jpg"]
    assert result.stderr.count("\n") == 1
    assert "thumbnails of desk (local-trash): 3 failed: HTTP 503" in result.stderr
    assert "placeholders, tried again next run" in result.stderr
    assert cache_files(tmp_path) == []
    monkeypatch.setattr(LocalTrashProvider, "thumbnail", original)  # not undo(): that would
    # also undo the isolation of the user's home and cache (tests/conftest.py)
    assert desk("scan").exit_code == 0
    assert len(cache_files(tmp_path)) == 3


def test_a_changed_file_gets_a_new_picture_and_an_emptied_one_loses_its_own(
    desk: Any, tmp_path: Path
) -> None:
    assert desk("scan").exit_code == 0
    before = set(cache_files(tmp_path))
    red = tmp_path / "Trash" / "files" / "red.jpg"
    red.unlink()  # a new file under the same trash name (the trash was emptied, then refilled)
    red.write_bytes(picture((20, 200, 20)))
    (tmp_path / "Trash" / "files" / "blue.jpg").unlink()
    (tmp_path / "Trash" / "info" / "blue.jpg.trashinfo").unlink()
    assert desk("scan").exit_code == 0
    after = set(cache_files(tmp_path))
    assert len(after) == 2 and len(after & before) == 1  # the video tile stays
    [green] = after - before
    with Image.open(green) as image:
        assert image.convert("RGB").getpixel((5, 5))[1] > 150


def test_accounts_remove_forgets_the_account_s_pictures(desk: Any, tmp_path: Path) -> None:
    assert desk("scan").exit_code == 0
    assert cache_files(tmp_path)
    assert desk("accounts", "remove", "desk", "--yes").exit_code == 0
    assert cache_files(tmp_path) == []
