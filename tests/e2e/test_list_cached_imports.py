"""What `trashscan list --cached` imports: only what reading the index and printing needs.

Issue 16: at a million items a filtered listing's query takes milliseconds; the rest is start-up,
so the modules a cached listing must never import are pinned here (imports, never times): no
SQLAlchemy at all for a SQLite index (trashscan.index_read reads it with the sqlite3 module),
no provider SDK or provider module (only a plugin's light options entry point, to check the
config), no scanner/restorer/thumbnails, no keyring, and no rich for a table of ASCII names
(its width tables load only for a name that needs them).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from datetime import datetime, timedelta
from pathlib import Path

import pytest

TRASHSCAN = [sys.executable, "-m", "trashscan"]

NEVER = (
    "rich", "keyring", "requests", "trustme", "cryptography", "googleapiclient", "google.auth",
    "msal", "dropbox", "pyicloud", "apprise", "PIL", "pillow_heif", "starlette", "uvicorn",
    "jinja2", "psycopg", "psycopg2", "sqlalchemy", "trashscan.index", "trashscan.scanner",
    "trashscan.restorer", "trashscan.thumbnails", "trashscan.sandbox",
    "trashscan_local_trash.plugin", "trashscan_local_trash.sandbox",
)  # fmt: skip


def _trash_config(tmp_path: Path, names: list[str]) -> Path:
    """A local trash holding ``names`` (deleted yesterday, purged after 30 days) and its config."""
    trash = tmp_path / "trash"
    (trash / "files").mkdir(parents=True)
    (trash / "info").mkdir()
    deleted = (datetime.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%S")  # local time
    for name in names:
        (trash / "files" / name).write_bytes(b"x")
        (trash / "info" / f"{name}.trashinfo").write_text(
            f"[Trash Info]\nPath=/photos/{name}\nDeletionDate={deleted}\n"
        )
    config = tmp_path / "config.toml"
    config.write_text(
        f'[index]\nurl = "sqlite:///{tmp_path / "index.db"}"\n\n[thumbnails]\nenabled = false\n\n'
        f'[[accounts]]\nname = "desk"\nprovider = "local-trash"\ntrash_dirs = ["{trash}"]\n'
        "include_volumes = false\npurge_after_days = 30\n"
    )
    scan = subprocess.run(
        [*TRASHSCAN, "--config", str(config), "scan", "--no-thumbnails"],
        capture_output=True,
        text=True,
    )
    assert scan.returncode == 0, scan.stderr
    return config


def _imported_by(config: Path, args: list[str]) -> tuple[str, list[str]]:
    """Run `list --cached ARGS` in a fresh interpreter: its output, and which of NEVER it
    imported."""
    code = textwrap.dedent(
        f"""
        import json, sys
        from trashscan.cli import run
        code = run(["--config", {str(config)!r}, "list", "--cached", *{args!r}])
        sys.stdout.flush()
        print(json.dumps([code, [m for m in {list(NEVER)!r} if m in sys.modules]]))
        """
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    *shown, last = result.stdout.splitlines()
    exit_code, imported = json.loads(last)
    assert exit_code == 0, result.stdout + result.stderr
    return "\n".join(shown), imported


@pytest.mark.parametrize(
    "args",
    [[], ["--within", "30d"], ["--account", "desk"], ["--name", "IMG_*"], ["--format", "jsonl"],
     ["--format", "json"], ["--format", "csv"], ["--all", "--sort", "name"], ["-q"]],
)  # fmt: skip
def test_a_cached_listing_imports_no_sdk_provider_dialect_or_rich(tmp_path, args):
    config = _trash_config(tmp_path, ["IMG_0001.jpg", "IMG_0002.jpg", "clip.mp4"])
    shown, imported = _imported_by(config, args)
    if args == ["-q"]:  # refs only
        assert len(shown.splitlines()) == 3
    else:
        assert "IMG_0001.jpg" in shown and "IMG_0002.jpg" in shown  # it did list the items
    assert imported == []


def test_a_wide_name_still_lays_out_through_rich(tmp_path):
    """The lazy width: a name rich counts two cells a character still lines the table up."""
    config = _trash_config(tmp_path, ["写真.jpg", "IMG_0001.jpg"])
    shown, imported = _imported_by(config, [])
    assert imported == ["rich"]  # only rich itself, for the wide name's width
    header, narrow, wide = shown.splitlines()[:3]
    assert "写真.jpg" in wide and "IMG_0001.jpg" in narrow
    # the rows line up: the two wide characters take four cells, two more than their length
    assert len(wide) + 2 == len(narrow) == len(header)
    assert wide.index("photo") + 2 == narrow.index("photo")
