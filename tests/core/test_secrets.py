from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyring.backends import chainer, fail, null
from keyring.errors import InitError, KeyringLocked

from trashscan.config import SecretsConfig
from trashscan.errors import ConfigError, SecretStoreError
from trashscan.secrets import (
    ENV_ALLOW_INSECURE,
    FileSecretStore,
    KeyringSecretStore,
    open_secret_store,
)
from trashscan.testing import MemoryKeyring

SERVICE = "trashscan:local-trash:home"
SECRET = "s3cr3t-Value-that-must-never-leak"
LARGE = SECRET + "x" * 3000


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def memory() -> Iterator[MemoryKeyring]:
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def store(memory: MemoryKeyring, tmp_path: Path) -> KeyringSecretStore:
    return KeyringSecretStore(tmp_path / "secrets")


def no_secret_in(error: BaseException, *secrets: str) -> None:
    text = str(error) + " " + (getattr(error, "hint", None) or "")
    assert "\n" not in str(error)
    for secret in secrets or (SECRET,):
        assert secret not in text


# ---------------------------------------------------------------------------- keyring store


def test_small_secret_roundtrip(store: KeyringSecretStore, memory: MemoryKeyring) -> None:
    assert store.description == "keyring (MemoryKeyring)"
    assert store.get(SERVICE, "refresh_token") is None
    store.set(SERVICE, "refresh_token", SECRET)
    assert store.get(SERVICE, "refresh_token") == SECRET
    assert memory.entries == {(SERVICE, "refresh_token"): SECRET}
    store.delete(SERVICE, "refresh_token")
    assert store.get(SERVICE, "refresh_token") is None
    assert memory.entries == {}
    store.delete(SERVICE, "refresh_token")  # already gone: fine


def test_large_secret_goes_to_encrypted_file(
    store: KeyringSecretStore, memory: MemoryKeyring, tmp_path: Path
) -> None:
    store.set(SERVICE, "access_token", LARGE)
    assert store.get(SERVICE, "access_token") == LARGE
    assert all(len(v) <= 1024 for v in memory.entries.values())
    assert (SERVICE, "access_token#blob-key") in memory.entries
    (blob,) = (tmp_path / "secrets").iterdir()
    assert SECRET.encode() not in blob.read_bytes()
    assert mode(blob) == 0o600
    assert mode(tmp_path / "secrets") == 0o700

    store.set(SERVICE, "access_token", SECRET)  # shrinking drops the file and its key
    assert store.get(SERVICE, "access_token") == SECRET
    assert list((tmp_path / "secrets").iterdir()) == []
    assert set(memory.entries) == {(SERVICE, "access_token")}


@pytest.mark.parametrize("size", [0, 10, 700, 1024, 5000, 200_000])
def test_blob_roundtrip(store: KeyringSecretStore, tmp_path: Path, size: int) -> None:
    data = bytes(range(256)) * (size // 256) + b"\x00" * (size % 256)
    store.set_blob(SERVICE, "cookies", data)
    assert store.get_blob(SERVICE, "cookies") == data
    files = list((tmp_path / "secrets").glob("*.bin")) if (tmp_path / "secrets").exists() else []
    assert bool(files) == (size > 700)
    store.delete_blob(SERVICE, "cookies")
    assert store.get_blob(SERVICE, "cookies") is None
    assert not list((tmp_path / "secrets").glob("*")) if (tmp_path / "secrets").exists() else True


def test_large_blob_encrypted_on_disk(store: KeyringSecretStore, tmp_path: Path) -> None:
    data = (SECRET * 200).encode()
    store.set_blob(SERVICE, "cookies", data)
    (blob,) = (tmp_path / "secrets").glob("*.bin")
    assert SECRET.encode() not in blob.read_bytes()
    assert mode(blob) == 0o600
    store.set_blob(SERVICE, "cookies", data + b"more")  # rewrite reuses the key
    assert store.get_blob(SERVICE, "cookies") == data + b"more"


def test_blob_with_missing_or_wrong_key(store: KeyringSecretStore, memory: MemoryKeyring) -> None:
    data = (SECRET * 100).encode()
    store.set_blob(SERVICE, "cookies", data)
    key = memory.entries[(SERVICE, "cookies#blob-key")]

    del memory.entries[(SERVICE, "cookies#blob-key")]
    with pytest.raises(SecretStoreError) as info:
        store.get_blob(SERVICE, "cookies")
    assert SERVICE in str(info.value)
    no_secret_in(info.value)

    from cryptography.fernet import Fernet

    memory.entries[(SERVICE, "cookies#blob-key")] = Fernet.generate_key().decode()
    with pytest.raises(SecretStoreError) as info:
        store.get_blob(SERVICE, "cookies")
    no_secret_in(info.value, SECRET, key)


def test_blob_file_missing(store: KeyringSecretStore, tmp_path: Path) -> None:
    store.set_blob(SERVICE, "cookies", b"x" * 5000)
    for path in (tmp_path / "secrets").glob("*.bin"):
        path.unlink()
    with pytest.raises(SecretStoreError):
        store.get_blob(SERVICE, "cookies")


def test_get_blob_of_plain_secret(store: KeyringSecretStore) -> None:
    store.set(SERVICE, "password", SECRET)
    with pytest.raises(SecretStoreError) as info:
        store.get_blob(SERVICE, "password")
    no_secret_in(info.value)


class BrokenKeyring(MemoryKeyring):
    def get_password(self, service: str, username: str) -> str | None:
        raise InitError("cannot talk to the secret service")

    def set_password(self, service: str, username: str, password: str) -> None:
        raise KeyringLocked(f"collection locked while storing\n{password}")


def test_keyring_errors_wrapped_without_secret(tmp_path: Path) -> None:
    store = KeyringSecretStore(tmp_path, backend=BrokenKeyring())
    with pytest.raises(SecretStoreError) as info:
        store.set(SERVICE, "password", SECRET)
    assert SERVICE in str(info.value) and "KeyringLocked" in str(info.value)
    no_secret_in(info.value)
    with pytest.raises(SecretStoreError) as info:
        store.get(SERVICE, "password")
    assert "InitError" in str(info.value)
    no_secret_in(info.value)


@pytest.mark.parametrize("backend", [fail.Keyring(), null.Keyring()])
def test_unusable_backends_refused(tmp_path: Path, backend: object) -> None:
    with pytest.raises(SecretStoreError) as info:
        KeyringSecretStore(tmp_path, backend=backend, allow_insecure=True)  # type: ignore[arg-type]
    assert "\n" not in str(info.value)
    hint = info.value.hint or ""
    assert "DBUS_SESSION_BUS_ADDRESS" in hint and "PYTHON_KEYRING_BACKEND" in hint


def test_default_fail_backend_refused(tmp_path: Path) -> None:
    previous = keyring.get_keyring()
    keyring.set_keyring(fail.Keyring())
    try:
        with pytest.raises(SecretStoreError, match="no usable keyring backend"):
            KeyringSecretStore(tmp_path)
    finally:
        keyring.set_keyring(previous)


@pytest.fixture
def plaintext(tmp_path: Path) -> object:
    """The real keyrings.alt class (test extra), writing into tmp_path instead of $HOME."""
    alt_file = pytest.importorskip("keyrings.alt.file")
    backend = alt_file.PlaintextKeyring()
    backend.file_path = str(tmp_path / "plain.cfg")
    return backend


def test_plaintext_keyring_refused_without_opt_in(tmp_path: Path, plaintext: object) -> None:
    with pytest.raises(SecretStoreError) as info:
        KeyringSecretStore(tmp_path, backend=plaintext)  # type: ignore[arg-type]
    message = str(info.value)
    assert "\n" not in message
    assert "keyrings.alt.file.PlaintextKeyring" in message
    assert f"{ENV_ALLOW_INSECURE}=1" in message
    assert "allow_insecure_keyring = true" in message


def test_plaintext_keyring_accepted_with_opt_in(tmp_path: Path, plaintext: object) -> None:
    store = KeyringSecretStore(tmp_path / "b", backend=plaintext, allow_insecure=True)  # type: ignore[arg-type]
    assert "INSECURE" in store.description
    store.set(SERVICE, "password", SECRET)
    assert store.get(SERVICE, "password") == SECRET


@pytest.mark.parametrize("via", ["env", "config"])
def test_open_secret_store_insecure_opt_in(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, plaintext: object, via: str
) -> None:
    monkeypatch.setattr(keyring, "get_keyring", lambda: plaintext)
    monkeypatch.delenv(ENV_ALLOW_INSECURE, raising=False)
    with pytest.raises(SecretStoreError):
        open_secret_store(SecretsConfig(), tmp_path)
    if via == "env":
        monkeypatch.setenv(ENV_ALLOW_INSECURE, "1")
        config = SecretsConfig()
    else:
        config = SecretsConfig(allow_insecure_keyring=True)
    store = open_secret_store(config, tmp_path)
    assert isinstance(store, KeyringSecretStore)
    assert "INSECURE" in store.description


def make_chainer(*backends: object) -> object:
    # viable=False keeps this test class out of keyring's backend discovery.
    cls = type(
        "FixedChainer", (chainer.ChainerBackend,), {"backends": list(backends), "viable": False}
    )
    return cls()


def test_chainer_inspects_highest_priority_backend(tmp_path: Path, plaintext: object) -> None:
    with pytest.raises(SecretStoreError, match="unencrypted"):
        KeyringSecretStore(tmp_path, backend=make_chainer(plaintext, MemoryKeyring()))  # type: ignore[arg-type]
    store = KeyringSecretStore(tmp_path, backend=make_chainer(MemoryKeyring(), plaintext))  # type: ignore[arg-type]
    assert store.description == "keyring (chainer: MemoryKeyring)"
    with pytest.raises(SecretStoreError, match="no usable keyring backend"):
        KeyringSecretStore(tmp_path, backend=make_chainer())  # type: ignore[arg-type]


def test_open_secret_store_keyring(memory: MemoryKeyring, tmp_path: Path) -> None:
    store = open_secret_store(SecretsConfig(), tmp_path)
    store.set_blob(SERVICE, "jar", b"y" * 4000)
    assert (tmp_path / "secrets").is_dir()
    assert store.get_blob(SERVICE, "jar") == b"y" * 4000


# ------------------------------------------------------------------------------- file store


def test_file_store_requires_flag(tmp_path: Path) -> None:
    with pytest.raises(SecretStoreError) as info:
        FileSecretStore(tmp_path / "s.json", insecure_for_testing=False)
    assert "insecure_for_testing = true" in info.value.one_line()
    with pytest.raises(SecretStoreError):
        open_secret_store(SecretsConfig(backend="file", path=tmp_path / "s.json"), tmp_path)
    with pytest.raises(ConfigError):
        open_secret_store(SecretsConfig(backend="file", insecure_for_testing=True), tmp_path)


def test_file_store_roundtrip_and_sharing(tmp_path: Path) -> None:
    path = tmp_path / "sandbox" / "secrets.json"
    config = SecretsConfig(backend="file", path=path, insecure_for_testing=True)
    one = open_secret_store(config, tmp_path)
    two = FileSecretStore(path, insecure_for_testing=True)
    assert "INSECURE" in one.description
    one.set(SERVICE, "password", SECRET)
    one.set_blob(SERVICE, "jar", b"\x00\xffcookies")
    assert mode(path) == 0o600
    assert two.get(SERVICE, "password") == SECRET  # re-read on each get
    assert two.get_blob(SERVICE, "jar") == b"\x00\xffcookies"
    assert two.get(SERVICE, "jar") is None
    two.delete(SERVICE, "password")
    two.delete_blob(SERVICE, "jar")
    two.delete(SERVICE, "never-there")
    assert one.get(SERVICE, "password") is None
    assert one.get_blob(SERVICE, "jar") is None


def test_file_store_corrupt_file(tmp_path: Path) -> None:
    path = tmp_path / "s.json"
    path.write_text("{not json")
    store = FileSecretStore(path, insecure_for_testing=True)
    with pytest.raises(SecretStoreError) as info:
        store.get(SERVICE, "password")
    assert "\n" not in str(info.value)


# ------------------------------------------------------------------------------------ misc


def test_import_is_cheap() -> None:
    code = (
        "import sys, trashscan.secrets, trashscan.config\n"
        "heavy = {'keyring', 'cryptography', 'tomlkit', 'platformdirs'}\n"
        "print(sorted({m.split('.')[0] for m in sys.modules} & heavy))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "PYTHONSTARTUP"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert result.stdout.strip() == "[]"
