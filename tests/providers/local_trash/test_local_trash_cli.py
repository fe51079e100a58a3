"""End to end through the real `trashscan` command: a crafted USB stick named in trash_dirs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import Volume, changes, snapshot

TRASHSCAN = [sys.executable, "-m", "trashscan"]


def trashscan(config: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*TRASHSCAN, "--config", str(config), *args], capture_output=True, text=True, check=False
    )


@pytest.fixture
def stick(tmp_path: Path, user_home: Path) -> tuple[Path, Volume, Volume]:
    """Two crafted volumes (both layouts) and a config naming their trashes."""
    first = Volume(tmp_path / "stick", "private")
    second = Volume(tmp_path / "card", "shared")
    trash = first.trash
    trash.folder(  # the only legitimate entry: a folder of the stick with dotfiles in it
        "Photos/Trip",
        "Trip",
        {"trip.jpg": b"trip", "authorized_keys": b"attacker", ".bashrc": b"evil"},
    )
    trash.folder(str(user_home / ".ssh"), ".ssh", {"ssh.jpg": b"x", "authorized_keys": b"evil"})
    escape = os.path.relpath(user_home / ".config" / "autostart", first.top)
    trash.folder(escape, "autostart", {"autostart.jpg": b"x", "evil.desktop": b"evil"})
    trash.info("passwd.jpg", "[Trash Info]\nPath=passwd.jpg\n")
    (trash.path / "files" / "passwd.jpg").symlink_to("/etc/passwd")
    (first.top / "DCIM").symlink_to(user_home / ".ssh")
    trash.add("DCIM/dcim.jpg", content=b"x")
    second.trash.add(str(user_home / "Pictures" / "card.jpg"), content=b"x")
    config = tmp_path / "config.toml"
    config.write_text(
        '[[accounts]]\nname = "stick"\nprovider = "local-trash"\n'
        f"trash_dirs = [{json.dumps(str(trash.path))}, {json.dumps(str(second.trash.path))}]\n"
        "include_volumes = false\n"
    )
    return config, first, second


def test_list_then_restore_everything_writes_only_inside_the_stick(
    stick: tuple[Path, Volume, Volume], tmp_path: Path
) -> None:
    config, first, _ = stick

    listed = trashscan(config, "list", "--format", "json")

    assert listed.returncode == 0, listed.stderr
    items = {i["name"]: i for i in json.loads(listed.stdout)}
    assert set(items) == {"trip.jpg", "ssh.jpg", "autostart.jpg", "dcim.jpg", "card.jpg"}
    assert items["trip.jpg"]["restorable"] is True
    assert items["trip.jpg"]["not_restorable_reason"] is None
    for name in ("ssh.jpg", "autostart.jpg", "card.jpg"):
        assert items[name]["restorable"] is False
        assert "outside the volume" in items[name]["not_restorable_reason"]
    assert items["dcim.jpg"]["restorable"] is False
    assert "symbolic link" in items["dcim.jpg"]["not_restorable_reason"]
    before = snapshot(tmp_path, skip=(os.environ["TRASHSCAN_HOME"],))

    restored = trashscan(config, "restore", "--account", "stick", "--yes")

    # the four that cannot be restored are left out of the plan, with the reason: not failures
    assert restored.returncode == 0, restored.stderr
    assert "Left out 4 item(s) this account cannot restore:" in restored.stdout
    assert "1 restored, 0 not restored" in restored.stdout
    assert "outside the volume" in restored.stdout
    assert "Traceback" not in restored.stderr
    trip = first.top / "Photos" / "Trip" / "trip.jpg"
    assert trip.read_bytes() == b"trip"
    trash_rel = first.trash.path.relative_to(tmp_path)
    assert changes(before, snapshot(tmp_path, skip=(os.environ["TRASHSCAN_HOME"],))) == {
        "stick/Photos": "added",
        "stick/Photos/Trip": "added",
        "stick/Photos/Trip/trip.jpg": "added",
        f"{trash_rel}/files/Trip/trip.jpg": "removed",
    }


def test_a_new_file_where_an_emptied_photo_was_is_not_reported_restored(
    stick: tuple[Path, Volume, Volume],
) -> None:
    config, first, _ = stick
    items = {i["name"]: i for i in json.loads(trashscan(config, "list", "--format", "json").stdout)}
    folder = first.trash.path / "files" / "Trip"
    for path in folder.iterdir():  # the trash is emptied ...
        path.unlink()
    folder.rmdir()
    (first.trash.path / "info" / "Trip.trashinfo").unlink()
    (first.top / "Photos" / "Trip").mkdir(parents=True)
    (first.top / "Photos" / "Trip" / "trip.jpg").write_bytes(b"a new photo")  # ... and reused

    result = trashscan(config, "restore", items["trip.jpg"]["ref"], "--yes")

    assert result.returncode == 1
    assert "failed" in result.stdout
    assert "is a different file" in result.stdout
    assert "already restored" not in result.stdout
    assert (first.top / "Photos" / "Trip" / "trip.jpg").read_bytes() == b"a new photo"
