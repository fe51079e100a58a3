"""Every test runs isolated from the user's real config, data dir, trash and keyring."""

from __future__ import annotations

from pathlib import Path

import keyring
import pytest

from trashscan.testing import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    home = tmp_path / "user-home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("TRASHSCAN_HOME", str(tmp_path / "trashscan-home"))
    monkeypatch.delenv("TRASHSCAN_CONFIG", raising=False)
    monkeypatch.delenv("TRASHSCAN_ALLOW_INSECURE_KEYRING", raising=False)
    monkeypatch.delenv("TRASHSCAN_DEBUG", raising=False)
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)
