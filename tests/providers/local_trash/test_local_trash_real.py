"""Against the real implementations: files trashed by gio / trash-cli, checked with trash-list."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from trashscan.models import DeletedAtSource, RestoreOutcome
from trashscan_local_trash.plugin import LocalTrashProvider

from .conftest import account, indexed, scan_items

_VENV_BIN = os.path.dirname(sys.executable)  # pip-installed trash-cli lives beside python


def _which(command: str) -> str | None:
    return shutil.which(command) or shutil.which(command, path=_VENV_BIN)


TRASHERS = {"gio": ["gio", "trash"], "trash-cli": ["trash-put"]}


@pytest.fixture
def xdg_env(tmp_path: Path) -> dict[str, str]:
    """A desktop session of our own: gio needs $HOME and $XDG_DATA_HOME to exist."""
    (tmp_path / "user").mkdir()
    (tmp_path / "xdg").mkdir()
    return {**os.environ, "HOME": str(tmp_path / "user"), "XDG_DATA_HOME": str(tmp_path / "xdg")}


def _trash_list(env: dict[str, str]) -> str | None:
    """What trash-cli's ``trash-list`` shows, or None without trash-cli (gio cannot list here)."""
    exe = _which("trash-list")
    if exe is None:
        return None
    return subprocess.run([exe], env=env, capture_output=True, text=True, check=True).stdout


@pytest.mark.parametrize("tool", sorted(TRASHERS))
def test_lists_and_restores_what_a_real_trasher_trashed(
    provider: LocalTrashProvider, tmp_path: Path, xdg_env: dict[str, str], tool: str
) -> None:
    command = TRASHERS[tool]
    exe = _which(command[0])
    if exe is None:
        pytest.skip(f"{command[0]} is not installed")
    original = tmp_path / "home" / "Pictures" / "Été 2024" / "plage #1.jpg"
    original.parent.mkdir(parents=True)
    original.write_bytes(b"\xff\xd8\xff real photo")
    (original.parent / "notes.txt").write_text("not a photo")
    for path in (original, original.parent / "notes.txt"):
        subprocess.run([exe, *command[1:], str(path)], env=xdg_env, check=True)
    assert not original.exists()
    before = _trash_list(xdg_env)
    assert before is None or str(original) in before

    acct = account(xdg_data_home=xdg_env["XDG_DATA_HOME"], include_volumes=False)
    items = scan_items(provider, acct)

    assert set(items) == {"plage #1.jpg"}
    item = items["plage #1.jpg"]
    assert item.path == str(original)
    assert item.deleted_at is not None
    assert item.deleted_at_source is DeletedAtSource.API
    now = datetime.now(UTC)
    assert now - timedelta(minutes=2) < item.deleted_at <= now  # local DeletionDate, now in UTC

    [result] = provider.restore(acct, [indexed(item)])

    assert result.outcome is RestoreOutcome.RESTORED
    assert original.read_bytes() == b"\xff\xd8\xff real photo"
    trash = Path(xdg_env["XDG_DATA_HOME"]) / "Trash"
    assert sorted(p.name for p in (trash / "info").iterdir()) == ["notes.txt.trashinfo"]
    after = _trash_list(xdg_env)  # the real implementation agrees that it left the trash
    if after is not None:
        assert str(original) not in after
        assert str(original.parent / "notes.txt") in after  # the rest stays in the trash


@pytest.mark.parametrize("tool", sorted(TRASHERS))
def test_a_photo_of_a_folder_trashed_by_a_real_trasher_comes_back_alone(
    provider: LocalTrashProvider, tmp_path: Path, xdg_env: dict[str, str], tool: str
) -> None:
    """After the photo is restored, the real implementation still sees the folder in its trash."""
    command = TRASHERS[tool]
    exe = _which(command[0])
    if exe is None:
        pytest.skip(f"{command[0]} is not installed")
    folder = tmp_path / "home" / "Trip"
    (folder / "day 2").mkdir(parents=True)
    (folder / "day 2" / "beach.jpg").write_bytes(b"\xff\xd8\xff beach")
    (folder / "notes.txt").write_text("not a photo")
    (folder / ".hidden").write_text("a dotfile")
    subprocess.run([exe, *command[1:], str(folder)], env=xdg_env, check=True)
    assert not folder.exists()

    acct = account(xdg_data_home=xdg_env["XDG_DATA_HOME"], include_volumes=False)
    items = scan_items(provider, acct)
    assert set(items) == {"beach.jpg"}
    [result] = provider.restore(acct, [indexed(items["beach.jpg"])])

    assert result.outcome is RestoreOutcome.RESTORED, result.detail
    assert (folder / "day 2" / "beach.jpg").read_bytes() == b"\xff\xd8\xff beach"
    assert sorted(p.name for p in folder.iterdir()) == ["day 2"]  # nothing else came back
    trash = Path(xdg_env["XDG_DATA_HOME"]) / "Trash"
    assert sorted(p.name for p in (trash / "files" / "Trip").iterdir()) == [
        ".hidden",
        "day 2",
        "notes.txt",
    ]
    after = _trash_list(xdg_env)
    if after is not None:
        assert str(folder) in after  # the folder is still in the trash for trash-cli
