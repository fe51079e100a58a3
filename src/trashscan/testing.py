"""Helpers for tests of trashscan and of provider plugins."""

from __future__ import annotations

from typing import Any

import keyring.backend
from keyring.errors import PasswordDeleteError


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that forgets everything at exit: ``keyring.set_keyring(MemoryKeyring())``.

    ``viable`` is False so keyring's own discovery (and the chainer) never picks it up just
    because a test imported this module; only an explicit ``set_keyring`` uses it.
    """

    priority = 1  # type: ignore[assignment]
    viable = False  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.entries: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.entries.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.entries[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        try:
            del self.entries[(service, username)]
        except KeyError:
            raise PasswordDeleteError("password not found") from None


class MemorySecretStore:
    """The SecretStore protocol over two dicts, for provider tests that need no keyring at all.

    ``values`` and ``blobs`` are keyed by ``(service, key)`` so tests can seed and inspect them;
    ``writes`` records which method stored which key, to show where a secret went.
    """

    description = "memory (tests)"

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], str] = {}
        self.blobs: dict[tuple[str, str], bytes] = {}
        self.writes: list[tuple[str, str]] = []  # (method, key)

    def get(self, service: str, key: str) -> str | None:
        return self.values.get((service, key))

    def set(self, service: str, key: str, value: str) -> None:
        self.writes.append(("set", key))
        self.values[(service, key)] = value

    def delete(self, service: str, key: str) -> None:
        self.values.pop((service, key), None)

    def get_blob(self, service: str, key: str) -> bytes | None:
        return self.blobs.get((service, key))

    def set_blob(self, service: str, key: str, data: bytes) -> None:
        self.writes.append(("set_blob", key))
        self.blobs[(service, key)] = data

    def delete_blob(self, service: str, key: str) -> None:
        self.blobs.pop((service, key), None)


class RequestLog:
    """A sandbox server's request log, read from a mark on: ``mark()``, then ``since()``.

    Tests and benchmarks count round trips with it ("an unchanged re-scan costs one request").
    """

    def __init__(self, server: Any) -> None:
        self.server = server
        self._mark = 0

    def mark(self) -> None:
        self._mark = len(self.server.request_log)

    def since(self) -> list[Any]:
        return self.server.request_log[self._mark :]

    def calls(self) -> list[tuple[str, str, int | None]]:
        """(method, path, status) of each request since the mark."""
        return [(r.method, r.path, r.status) for r in self.since()]
