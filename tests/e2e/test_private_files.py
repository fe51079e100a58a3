"""trashscan's files are private whatever the umask, and a failed `accounts add` leaves nothing.

The data dir holds the index (names and paths of every trashed photo, the restore log), lock
files and per-account session files: every directory trashscan makes there is 0700 and every file
0600, under umask 022 (the common default) and 000 (some service managers), and a data dir or
index left looser by an older trashscan is tightened when it is next opened.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from trashscan.config import load_config
from trashscan.sandbox.session import Sandbox
from trashscan.testing import started_sandbox
from trashscan_icloud.sandbox.fake import ICloudFake
from trashscan_icloud.sandbox.seed import GRACE


@pytest.fixture(params=[0o022, 0o000], ids=["umask-022", "umask-000"])
def umask(request: pytest.FixtureRequest) -> Iterator[int]:
    previous = os.umask(request.param)
    yield request.param
    os.umask(previous)


@pytest.fixture
def home() -> Path:
    """The data dir (TRASHSCAN_HOME, not created yet: the conftest only names it)."""
    path = Path(os.environ["TRASHSCAN_HOME"])
    assert not path.exists()
    return path


@pytest.fixture
def laptop(bare_cli: Any, sandbox: Sandbox, tmp_path: Path) -> Path:
    """A config of its own (the sandbox's has an [index] url) with the seeded laptop trash."""
    assert sandbox.config_path is not None
    trash_dirs = load_config(sandbox.config_path).account("laptop").options["trash_dirs"]
    config = tmp_path / "config" / "config.toml"
    options = [f"trash_dirs={d}" for d in trash_dirs]
    added = bare_cli("--config", str(config), "accounts", "add", "local-trash", "laptop",
                     *[arg for option in options for arg in ("--option", option)])  # fmt: skip
    assert added.exit_code == 0, added.stderr
    return config


def _modes(root: Path) -> dict[str, int]:
    """Permission bits of root and of everything under it, by path relative to root."""
    found = {".": stat.S_IMODE(root.stat().st_mode)}
    for path in root.rglob("*"):
        found[str(path.relative_to(root))] = stat.S_IMODE(path.lstat().st_mode)
    return found


def _loose(root: Path) -> dict[str, str]:
    """What under root is not exactly 0700 (directories) or 0600 (files)."""
    wrong = {}
    for name, mode in _modes(root).items():
        want = 0o700 if (root / name).is_dir() else 0o600
        if mode != want:
            wrong[name] = oct(mode)
    return wrong


def test_a_fresh_install_makes_only_private_files(umask, home, laptop, bare_cli, tmp_path):
    listed = bare_cli("--config", str(laptop), "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    assert listed.json()  # the seeded trash was scanned into the index
    # A reader keeps the index's -wal and -shm in place during the next scan, as a second
    # trashscan run would: SQLite creates them, and they must be as private as the index.
    reader = sqlite3.connect(home / "index.db")
    try:
        reader.execute("SELECT count(*) FROM items").fetchone()
        scanned = bare_cli("--config", str(laptop), "scan")
        assert scanned.exit_code == 0, scanned.stderr
        names = set(_modes(home))
        assert {
            "index.db",
            "index.db-wal",
            "index.db-shm",
            "locks/local-trash/laptop.lock",
        } <= names
        assert _loose(home) == {}
    finally:
        reader.close()
    assert _loose(laptop.parent) == {}  # the config file and its directory


def test_an_existing_loose_data_dir_and_index_are_tightened(home, laptop, bare_cli):
    assert bare_cli("--config", str(laptop), "scan").exit_code == 0
    reader = sqlite3.connect(home / "index.db")  # keeps a -wal and -shm, as after a crash
    try:
        reader.execute("SELECT count(*) FROM items").fetchone()
        for path in [home, *home.rglob("*")]:  # what an older trashscan left under umask 022
            path.chmod(0o755 if path.is_dir() else 0o644)
        assert {"index.db-wal", "index.db-shm"} <= set(_modes(home))

        listed = bare_cli("--config", str(laptop), "list", "--cached")
        assert listed.exit_code == 0, listed.stderr
        modes = _modes(home)
        assert modes["."] == 0o700
        assert [modes[n] for n in ("index.db", "index.db-wal", "index.db-shm")] == [0o600] * 3

        assert bare_cli("--config", str(laptop), "scan").exit_code == 0  # takes the lock again
        assert _loose(home) == {}
    finally:
        reader.close()


def test_a_read_only_index_is_tightened_without_becoming_writable(home, laptop, bare_cli):
    assert bare_cli("--config", str(laptop), "scan").exit_code == 0
    (home / "index.db").chmod(0o444)
    assert bare_cli("--config", str(laptop), "list", "--cached").exit_code == 0
    assert stat.S_IMODE((home / "index.db").stat().st_mode) == 0o400


# ----------------------------------------------------------------------- a failed `accounts add`

ICLOUD = "icloud"


@pytest.fixture
def icloud(tmp_path: Path) -> Iterator[Sandbox]:
    with started_sandbox(tmp_path / "icloud-sandbox", ICLOUD) as box:
        yield box


def _secrets(box: Sandbox) -> dict[str, dict[str, str]]:
    """The sandbox config's (plaintext, testing-only) secret store."""
    return json.loads((box.workdir / "sandbox-secrets.json").read_text())


def _add_icloud(
    cli: Any, box: Sandbox, name: str, stdin: str, monkeypatch: pytest.MonkeyPatch
) -> tuple[int, str]:
    assert box.config_path is not None
    grace = load_config(box.config_path).account("grace")
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    result = cli(
        "--config", str(box.config_path), "accounts", "add", ICLOUD, name,
        "--option", f"apple_id={GRACE['apple_id']}",
        "--option", f"endpoint={grace.endpoint}", "--option", f"ca_bundle={grace.ca_bundle}",
    )  # fmt: skip
    return result.exit_code, result.stderr


def test_a_wrong_icloud_password_leaves_nothing_behind(icloud, bare_cli, home, umask, monkeypatch):
    assert icloud.config_path is not None
    config_before = icloud.config_path.read_text()
    secrets_before = _secrets(icloud)

    code, stderr = _add_icloud(bare_cli, icloud, "mallory", "not-her-password\n", monkeypatch)

    assert code == 1
    assert "Apple refused the password of iCloud account 'mallory'" in stderr
    assert icloud.config_path.read_text() == config_before
    assert _secrets(icloud) == secrets_before
    assert not (icloud.data_dir / "accounts" / ICLOUD / "mallory").exists()  # 0644 or not
    assert not (icloud.data_dir / "accounts").exists()
    assert not home.exists() or _loose(home) == {}


def test_a_failed_sign_in_again_keeps_the_existing_account(icloud, bare_cli, home, monkeypatch):
    """The clean-up is for what a failed add created: a known account keeps its credentials."""

    def cli(*args: str) -> Any:
        return bare_cli("--config", str(icloud.config_path), *args)

    fake: ICloudFake = icloud.fakes[ICLOUD]
    assert cli("scan").exit_code == 0  # grace signs in with her stored password
    session_dir = icloud.data_dir / "accounts" / ICLOUD / "grace"
    assert list(session_dir.glob("*.session"))
    config_before = icloud.config_path.read_text()
    secrets_before = _secrets(icloud)
    fake.expire_trust("grace")
    fake.expire_session("grace")
    fake.require_2fa("grace")

    code = fake.two_factor_code("grace")
    wrong = [f"{(int(code) + n) % 1_000_000:06d}" for n in (1, 2, 3)]
    monkeypatch.setattr("sys.stdin", io.StringIO("".join(f"{w}\n" for w in wrong)))
    again = cli("accounts", "add", ICLOUD, "grace")

    assert again.exit_code == 1
    assert "Apple did not accept the two-factor code" in again.stderr
    assert icloud.config_path.read_text() == config_before
    assert _secrets(icloud) == secrets_before
    assert list(session_dir.glob("*.session"))


def test_an_add_refused_after_a_good_sign_in_deletes_what_the_sign_in_stored(
    icloud, bare_cli, home, monkeypatch
):
    """The password is right (no code asked: her browser counts as trusted), so the sign-in
    stores it and pyicloud's session; then the config refuses the entry. Both must go."""
    assert icloud.config_path is not None
    config_before = icloud.config_path.read_text()
    secrets_before = _secrets(icloud)
    monkeypatch.setattr("sys.stdin", io.StringIO(GRACE["password"] + "\n"))
    grace = load_config(icloud.config_path).account("grace")

    added = bare_cli(
        "--config", str(icloud.config_path), "accounts", "add", ICLOUD, "grace2",
        "--option", f"apple_id={GRACE['apple_id']}", "--option", f"endpoint={grace.endpoint}",
        "--option", f"ca_bundle={grace.ca_bundle}", "--option", "retention_days=-1",
    )  # fmt: skip

    assert added.exit_code == 2
    errors = [line for line in added.stderr.splitlines() if line.startswith("trashscan:")]
    assert errors == [
        f"trashscan: error: {icloud.config_path}: accounts[{_count(config_before) + 1}] "
        "('grace2'): retention_days must be a non-negative integer"
    ]
    assert icloud.config_path.read_text() == config_before
    assert _secrets(icloud) == secrets_before
    assert not (icloud.data_dir / "accounts" / ICLOUD / "grace2").exists()


def _count(config_text: str) -> int:
    return config_text.count("[[accounts]]")
