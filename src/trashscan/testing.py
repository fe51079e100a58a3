"""Helpers for tests of trashscan and of provider plugins."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import keyring.backend
from keyring.errors import PasswordDeleteError

from trashscan.provider import ProviderContext
from trashscan.retry import RetryPolicy
from trashscan.sandbox.session import Sandbox
from trashscan.secrets import FileSecretStore

# What a fake records that a faithful client never sends: destructive calls it refused, routes it
# does not model, routes the provider does not document. A fake keeps the lists it can tell.
FAKE_MISCALLS = ("refused_calls", "unmodelled_calls", "undocumented_calls")


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

    def parts(self) -> list[tuple[str, str, int | None]]:
        """(method, path, status) of each sub-request that batches since the mark carried (a
        batch is one entry of :meth:`calls`, one round trip; its parts are listed here)."""
        return [(p.method, p.path, p.status) for r in self.since() for p in r.parts]

    def operations(self) -> list[tuple[str, str, int | None]]:
        """(method, path, status) of each operation since the mark: a plain request, or each
        part of a batch in place of the batch itself."""
        return [(q.method, q.path, q.status) for r in self.since() for q in (r.parts or (r,))]


class RecordingOptions(dict[str, Any]):
    """An account's options that note which module reads which key (``get``, ``[]``, ``in``).

    For a plugin's test that its declared options are exactly what its code reads: give an
    account these options, run the code that reads them, compare :meth:`read_by` with the
    declaration. Only reads by the plugin's own modules count (the core may look at keys too).
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.reads: set[tuple[str, str]] = set()  # (key, reading module)

    def _note(self, key: object) -> None:
        import sys

        self.reads.add((str(key), sys._getframe(2).f_globals.get("__name__", "?")))

    def get(self, key: str, default: Any = None) -> Any:
        self._note(key)
        return super().get(key, default)

    def __getitem__(self, key: str) -> Any:
        self._note(key)
        return super().__getitem__(key)

    def __contains__(self, key: object) -> bool:
        self._note(key)
        return super().__contains__(key)

    def items(self) -> Any:  # a whole-mapping read (the core's resolve): every key counts
        for key in self:
            self._note(key)
        return super().items()

    def read_by(self, package: str) -> set[str]:
        """The keys modules of ``package`` (e.g. ``trashscan_icloud``) read."""
        return {key for key, module in self.reads if module.split(".")[0] == package}


@contextmanager
def started_sandbox(workdir: Path, *providers: str) -> Iterator[Sandbox]:
    """A sandbox of these providers' fakes (every installed one when none is named), all started.

    A fake that fails to start leaves the sandbox up without it (for ``trashscan demo``); a test
    must fail on that instead of passing against fewer accounts.
    """
    with Sandbox(workdir, only=frozenset(providers) if providers else None) as box:
        assert box.broken == {}
        yield box


def assert_no_miscalls(fake: Any) -> None:
    """The fake saw none of :data:`FAKE_MISCALLS` (each of those lists it keeps is empty)."""
    for name in FAKE_MISCALLS:
        calls = getattr(fake, name, [])
        assert calls == [], f"{name}: {calls}"


def decoded_picture(data: bytes | None) -> Any:
    """``data`` opened and fully decoded with Pillow (a ``PIL.Image.Image``).

    ``Image.open`` reads only the header: ``load()`` is what proves a fake served a whole,
    valid picture and not just the right first bytes.
    """
    import io

    from PIL import Image

    assert data is not None, "no picture: the body is missing"
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


def file_context(root: Path, now: datetime) -> ProviderContext:
    """A provider context as a run has one, in ``root``: secrets in a file there (allowed
    insecure: tests only), the data directory ``root/data``, the clock stopped at ``now``."""
    return ProviderContext(
        secrets=FileSecretStore(root / "s.json", insecure_for_testing=True),
        retry=RetryPolicy(),
        clock=lambda: now,
        data_dir=root / "data",
    )
