"""Where credentials live: the OS keyring, and nowhere else.

Tokens, passwords and cookie jars never go into the config, the index, logs or error messages.
:class:`KeyringSecretStore` refuses keyring backends that would silently lose secrets (``fail``,
``null``) or write them in clear text (``keyrings.alt`` plaintext files) unless the user opts in.

Some keyrings cap a value's size (Windows Credential Manager: 2560 bytes of UTF-16), so large
values go to a Fernet-encrypted file whose key is kept in the keyring instead.

``keyring`` and ``cryptography`` are imported lazily so that importing this module (and so
``trashscan --help``) costs nothing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, TypeVar

from trashscan.errors import ConfigError, SecretStoreError
from trashscan.files import atomic_write, private_dir

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

ENV_ALLOW_INSECURE = "TRASHSCAN_ALLOW_INSECURE_KEYRING"

# Largest value written to the keyring as is. 1024 characters stays well inside the smallest caps
# seen in practice (Windows: 1280 UTF-16 characters).
INLINE_LIMIT = 1024
# Markers for values that are not stored as plain text. A real secret starting with "\0trashscan:"
# is not a concern; the NUL keeps them from colliding with anything a user could type.
_B64_MARKER = "\0trashscan:b64:"
_FILE_MARKER = "\0trashscan:file:v1"
_BLOB_KEY_SUFFIX = "#blob-key"

_NO_BACKEND_HINT = (
    "install and unlock a Secret Service (gnome-keyring, KWallet) or the OS keychain; "
    "under cron export DBUS_SESSION_BUS_ADDRESS; or pick a backend with PYTHON_KEYRING_BACKEND"
)

T = TypeVar("T")


class SecretStore(Protocol):
    """What providers and the CLI use; ``service`` is :attr:`Account.secret_service`."""

    description: str

    def get(self, service: str, key: str) -> str | None: ...
    def set(self, service: str, key: str, value: str) -> None: ...
    def delete(self, service: str, key: str) -> None: ...
    def get_blob(self, service: str, key: str) -> bytes | None: ...
    def set_blob(self, service: str, key: str, data: bytes) -> None: ...
    def delete_blob(self, service: str, key: str) -> None: ...


def _one_line(text: str) -> str:
    return " ".join(text.split())


# ----------------------------------------------------------------------------- backend checking


def _backend_label(backend: Any) -> str:
    cls = type(backend)
    return f"{cls.__module__}.{cls.__name__}"


def _short_name(backend: Any) -> str:
    """For classes named just ``Keyring`` the module (SecretService, macOS, Windows) says more."""
    cls = type(backend)
    if cls.__name__ == "Keyring":
        return cls.__module__.rsplit(".", 1)[-1]
    return cls.__name__


def _priority(backend: Any) -> float | None:
    try:
        return float(backend.priority)
    except Exception:  # a backend's priority raises when it is not viable here
        return None


def _is_insecure(backend: Any) -> bool:
    """keyrings.alt's plaintext (or low-priority file) backends write secrets readable on disk."""
    module = type(backend).__module__
    if not module.startswith("keyrings.alt"):
        return False
    if "Plaintext" in type(backend).__name__:
        return True
    priority = _priority(backend)
    return module == "keyrings.alt.file" and (priority is None or priority < 1)


def _check_backend(backend: Any, allow_insecure: bool) -> str:
    """Refuse backends that lose or expose secrets; return the description for ``doctor``."""
    from keyring.backends import chainer, fail, null

    if isinstance(backend, chainer.ChainerBackend):
        try:
            chained = list(backend.backends)
        except Exception as exc:
            raise SecretStoreError(
                f"no usable keyring backend (chainer failed: {type(exc).__name__})",
                hint=_NO_BACKEND_HINT,
            ) from None
        if not chained:
            raise SecretStoreError(
                "no usable keyring backend (the chainer found none)", hint=_NO_BACKEND_HINT
            )
        # The chainer tries backends by priority; the first one is where secrets get written.
        inner = _check_backend(chained[0], allow_insecure)
        return inner.replace("keyring (", "keyring (chainer: ", 1)
    if isinstance(backend, fail.Keyring):
        raise SecretStoreError(
            "no usable keyring backend (keyring found none; secrets cannot be stored)",
            hint=_NO_BACKEND_HINT,
        )
    if isinstance(backend, null.Keyring):
        raise SecretStoreError(
            "keyring backend is the null keyring, which discards secrets; refusing",
            hint=_NO_BACKEND_HINT,
        )
    if _is_insecure(backend):
        if not allow_insecure:
            raise SecretStoreError(
                f"keyring backend {_backend_label(backend)} stores secrets unencrypted on disk; "
                f"refusing. To accept this knowingly set {ENV_ALLOW_INSECURE}=1 or put "
                "`allow_insecure_keyring = true` under [secrets] in the config",
                hint=_NO_BACKEND_HINT,
            )
        return f"keyring ({_short_name(backend)}, INSECURE: allowed by opt-in)"
    return f"keyring ({_short_name(backend)})"


# ------------------------------------------------------------------------------ keyring store


class KeyringSecretStore:
    """Secrets in the OS keyring; large values encrypted in ``blob_dir`` with a keyring-held key."""

    def __init__(
        self,
        blob_dir: Path,
        *,
        allow_insecure: bool = False,
        backend: KeyringBackend | None = None,
    ) -> None:
        if backend is None:
            import keyring

            try:
                backend = keyring.get_keyring()
            except Exception as exc:
                raise SecretStoreError(
                    f"no usable keyring backend ({type(exc).__name__}: {_one_line(str(exc))})",
                    hint=_NO_BACKEND_HINT,
                ) from None
        self.description = _check_backend(backend, allow_insecure)
        self._backend = backend
        self._blob_dir = Path(blob_dir)

    # -- keyring access, with every backend failure turned into one safe line

    def _call(self, action: str, service: str, fn: Callable[[], T], secret: str | None = None) -> T:
        try:
            return fn()
        except Exception as exc:
            detail = _one_line(str(exc))
            if secret:
                detail = detail.replace(secret, "***")
            message = f"keyring {action} failed for {service!r}: {type(exc).__name__}"
            raise SecretStoreError(
                f"{message}: {detail}" if detail else message,
                hint="unlock the keyring (or check it is running) and try again",
            ) from None

    def _get_raw(self, service: str, key: str) -> str | None:
        return self._call("read", service, lambda: self._backend.get_password(service, key))

    def _set_raw(self, service: str, key: str, value: str) -> None:
        self._call(
            "write", service, lambda: self._backend.set_password(service, key, value), secret=value
        )

    def _delete_raw(self, service: str, key: str) -> None:
        from keyring.errors import PasswordDeleteError

        def delete() -> None:
            # Backends disagree on "not there": some raise, some return. Both mean done.
            with contextlib.suppress(PasswordDeleteError):
                self._backend.delete_password(service, key)

        self._call("delete", service, delete)

    # -- blob files

    def _blob_path(self, service: str, key: str) -> Path:
        digest = hashlib.sha256(f"{service}\0{key}".encode()).hexdigest()
        return self._blob_dir / f"{digest}.bin"

    def _write_file_value(self, service: str, key: str, data: bytes) -> None:
        """Key first, then file, then marker: a crash at any point leaves a readable state."""
        from cryptography.fernet import Fernet

        blob_key = self._get_raw(service, key + _BLOB_KEY_SUFFIX)
        if blob_key is None:
            blob_key = Fernet.generate_key().decode("ascii")
            self._set_raw(service, key + _BLOB_KEY_SUFFIX, blob_key)
        token = Fernet(blob_key.encode("ascii")).encrypt(data)
        private_dir(self._blob_dir)
        atomic_write(self._blob_path(service, key), token)
        self._set_raw(service, key, _FILE_MARKER)

    def _read_file_value(self, service: str, key: str) -> bytes:
        from cryptography.fernet import Fernet, InvalidToken

        path = self._blob_path(service, key)
        blob_key = self._get_raw(service, key + _BLOB_KEY_SUFFIX)
        try:
            token = path.read_bytes()
        except OSError as exc:
            raise SecretStoreError(
                f"secret file for {service!r} ({key}) is unreadable: "
                f"{exc.strerror or type(exc).__name__}",
                hint="log in to the account again",
            ) from None
        if blob_key is None:
            raise SecretStoreError(
                f"secret file for {service!r} ({key}) has no key in the keyring",
                hint="log in to the account again",
            )
        try:
            return Fernet(blob_key.encode("ascii")).decrypt(token)
        except (InvalidToken, ValueError):
            raise SecretStoreError(
                f"secret file for {service!r} ({key}) does not match its key in the keyring",
                hint="log in to the account again",
            ) from None

    def _drop_file_value(self, service: str, key: str) -> None:
        self._delete_raw(service, key + _BLOB_KEY_SUFFIX)
        with contextlib.suppress(FileNotFoundError):
            self._blob_path(service, key).unlink()

    # -- public API

    def get(self, service: str, key: str) -> str | None:
        raw = self._get_raw(service, key)
        if raw == _FILE_MARKER:
            return self._read_file_value(service, key).decode("utf-8")
        return raw

    def set(self, service: str, key: str, value: str) -> None:
        """Long strings (JWT access tokens easily exceed 1280 characters) go to a file too."""
        if len(value) > INLINE_LIMIT or value.startswith("\0trashscan:"):
            self._write_file_value(service, key, value.encode("utf-8"))
        else:
            self._set_raw(service, key, value)
            self._drop_file_value(service, key)

    def delete(self, service: str, key: str) -> None:
        self._delete_raw(service, key)
        self._drop_file_value(service, key)

    def get_blob(self, service: str, key: str) -> bytes | None:
        raw = self._get_raw(service, key)
        if raw is None:
            return None
        if raw == _FILE_MARKER:
            return self._read_file_value(service, key)
        if raw.startswith(_B64_MARKER):
            try:
                return base64.b64decode(raw[len(_B64_MARKER) :], validate=True)
            except ValueError:
                pass
        raise SecretStoreError(
            f"keyring entry for {service!r} ({key}) is not a trashscan blob",
            hint="log in to the account again",
        )

    def set_blob(self, service: str, key: str, data: bytes) -> None:
        encoded = _B64_MARKER + base64.b64encode(data).decode("ascii")
        if len(encoded) > INLINE_LIMIT:
            self._write_file_value(service, key, data)
        else:
            self._set_raw(service, key, encoded)
            self._drop_file_value(service, key)

    def delete_blob(self, service: str, key: str) -> None:
        self.delete(service, key)


# -------------------------------------------------------------------------------- file store


class FileSecretStore:
    """Plaintext JSON secrets, for the sandbox and tests only.

    It exists so end-to-end tests and the sandbox run without a desktop keyring; the constructor
    flag makes sure nobody ends up with it by accident.
    """

    def __init__(self, path: Path, *, insecure_for_testing: bool) -> None:
        if not insecure_for_testing:
            raise SecretStoreError(
                "the file secret store keeps secrets in plain text and is for tests only",
                hint="set `insecure_for_testing = true` under [secrets] if this is a sandbox",
            )
        self._path = Path(path)
        self.description = f"file ({self._path}, INSECURE: testing only)"

    def _load(self) -> dict[str, dict[str, dict[str, str]]]:
        try:
            data = json.loads(self._path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            data = {}
        except (OSError, ValueError) as exc:
            raise SecretStoreError(
                f"secret file {self._path} is unreadable ({type(exc).__name__})"
            ) from None
        data.setdefault("secrets", {})
        data.setdefault("blobs", {})
        return data

    @contextlib.contextmanager
    def _update(self) -> Iterator[dict[str, dict[str, dict[str, str]]]]:
        """Read-modify-write under a lock file, so parallel sandbox processes don't lose writes."""
        self._path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        lock_path = self._path.with_name(self._path.name + ".lock")
        with open(lock_path, "a+b") as lock:
            with contextlib.suppress(ImportError):
                import fcntl

                fcntl.flock(lock.fileno(), fcntl.LOCK_EX)
            data = self._load()
            yield data
            atomic_write(self._path, json.dumps(data, indent=1, sort_keys=True).encode("utf-8"))

    def _lookup(self, section: str, service: str, key: str) -> str | None:
        return self._load()[section].get(service, {}).get(key)

    def _store(self, section: str, service: str, key: str, value: str) -> None:
        with self._update() as data:
            data[section].setdefault(service, {})[key] = value

    def _remove(self, section: str, service: str, key: str) -> None:
        with self._update() as data:
            entries = data[section].get(service, {})
            entries.pop(key, None)
            if not entries:
                data[section].pop(service, None)

    def get(self, service: str, key: str) -> str | None:
        return self._lookup("secrets", service, key)

    def set(self, service: str, key: str, value: str) -> None:
        self._store("secrets", service, key, value)

    def delete(self, service: str, key: str) -> None:
        self._remove("secrets", service, key)

    def get_blob(self, service: str, key: str) -> bytes | None:
        value = self._lookup("blobs", service, key)
        return None if value is None else base64.b64decode(value)

    def set_blob(self, service: str, key: str, data: bytes) -> None:
        self._store("blobs", service, key, base64.b64encode(data).decode("ascii"))

    def delete_blob(self, service: str, key: str) -> None:
        self._remove("blobs", service, key)


# ------------------------------------------------------------------------------------ helpers


@dataclass(frozen=True)
class SecretsConfig:
    """The config's ``[secrets]`` table (read by :mod:`trashscan.config`, which re-exports it)."""

    backend: Literal["keyring", "file"] = "keyring"
    path: Path | None = None  # only for backend "file"
    insecure_for_testing: bool = False
    allow_insecure_keyring: bool = False


def open_secret_store(config: SecretsConfig, data_dir: Path) -> SecretStore:
    """The store the config asks for; the env var lets a one-off run accept an insecure keyring."""
    if config.backend == "file":
        if config.path is None:
            raise ConfigError(
                '[secrets] backend = "file" needs a path',
                hint='add `path = "secrets.json"` under [secrets]',
            )
        return FileSecretStore(config.path, insecure_for_testing=config.insecure_for_testing)
    allow = config.allow_insecure_keyring or os.environ.get(ENV_ALLOW_INSECURE) == "1"
    return KeyringSecretStore(Path(data_dir) / "secrets", allow_insecure=allow)


class DeferredSecretStore:
    """Opens the real store on first use.

    Accounts that need no secrets (local-trash) must keep working on a machine whose keyring is
    missing or refused; only a provider that actually reads a secret meets that error.
    """

    def __init__(self, factory: Callable[[], SecretStore]) -> None:
        self._factory = factory
        self._store: SecretStore | None = None

    @property
    def store(self) -> SecretStore:
        if self._store is None:
            self._store = self._factory()
        return self._store

    @property
    def description(self) -> str:
        return self.store.description

    def get(self, service: str, key: str) -> str | None:
        return self.store.get(service, key)

    def set(self, service: str, key: str, value: str) -> None:
        self.store.set(service, key, value)

    def delete(self, service: str, key: str) -> None:
        self.store.delete(service, key)

    def get_blob(self, service: str, key: str) -> bytes | None:
        return self.store.get_blob(service, key)

    def set_blob(self, service: str, key: str, data: bytes) -> None:
        self.store.set_blob(service, key, data)

    def delete_blob(self, service: str, key: str) -> None:
        self.store.delete_blob(service, key)
