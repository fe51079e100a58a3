"""Per-account file locks, so two runs (cron and a manual ``list``) never scan one account at once.

Two scans of the same account would interleave their pages and each would sweep what the other
wrote as "left the trash". The lock is an advisory ``flock`` on ``<data dir>/locks/<provider>/
<account>.lock``: the kernel drops it when the process dies, so a crashed or killed run never
leaves a stale lock behind, and the files themselves are never deleted (deleting a lock file that
another process is about to open is the classic race). The holder writes its pid into the file so
that the message shown to the one who waits can say who is scanning.

The lock is per machine and per data dir: two machines sharing one PostgreSQL index do not see
each other's locks.
"""

from __future__ import annotations

import contextlib
import os
import re
import time
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from types import TracebackType

from trashscan.errors import AccountError
from trashscan.files import PRIVATE_FILE, make_private_dirs
from trashscan.models import Account

LOCK_WAIT_ENV = "TRASHSCAN_LOCK_WAIT"
DEFAULT_WAIT = 10.0  # seconds: long enough to ride out a quick overlapping run, short for cron
BUSY_MESSAGE = "another trashscan run is scanning this account"
POLL_INTERVAL = 0.1

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


class LockBusyError(AccountError):
    """The account's lock was still held when the bounded wait ran out."""


def is_busy_message(text: str | None) -> bool:
    """Whether a scan error is this module's "someone else is scanning" (transient, not news)."""
    return bool(text) and str(text).startswith(BUSY_MESSAGE.split(" run", 1)[0] + " run")


def default_wait() -> float:
    """Seconds to wait for a busy account: ``$TRASHSCAN_LOCK_WAIT`` (tests set it low) or 10."""
    raw = os.environ.get(LOCK_WAIT_ENV, "").strip()
    if not raw:
        return DEFAULT_WAIT
    try:
        value = float(raw)
    except ValueError:
        return DEFAULT_WAIT
    return max(0.0, value)


def _safe(part: str) -> str:
    cleaned = _UNSAFE.sub("_", part)
    return cleaned if cleaned.strip(".") else "_"


def lock_path(data_dir: Path, account: Account) -> Path:
    """One file per (provider, account): a directory per provider avoids name collisions."""
    return Path(data_dir) / "locks" / _safe(account.provider) / f"{_safe(account.name)}.lock"


def _try_lock(fd: int) -> bool:
    try:
        import fcntl
    except ImportError:  # Windows: lock the first byte instead
        import msvcrt

        try:
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)  # type: ignore[attr-defined]
        except OSError:
            return False
        return True
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except PermissionError:  # some systems report EACCES for a held lock
        return False
    return True


class FileLock:
    """A non-reentrant exclusive lock on one file; two instances conflict even in one process."""

    def __init__(
        self,
        path: Path,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.path = Path(path)
        self._fd: int | None = None
        self._sleep = sleep
        self._monotonic = monotonic

    @property
    def held(self) -> bool:
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free, without waiting."""
        if self._fd is not None:
            raise RuntimeError(f"{self.path} is already held by this FileLock")
        make_private_dirs(self.path.parent)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, PRIVATE_FILE)
        if not _try_lock(fd):
            os.close(fd)
            return False
        with contextlib.suppress(OSError):  # the pid is informative only
            os.ftruncate(fd, 0)
            os.write(fd, f"{os.getpid()}\n".encode())
        self._fd = fd
        return True

    def acquire(self, wait: float) -> bool:
        """Poll until the lock is free or ``wait`` seconds have passed; True when taken."""
        deadline = self._monotonic() + max(0.0, wait)
        while True:
            if self.try_acquire():
                return True
            remaining = deadline - self._monotonic()
            if remaining <= 0:
                return False
            self._sleep(min(POLL_INTERVAL, remaining))

    def release(self) -> None:
        """Closing the descriptor drops the lock; the file stays (see the module docstring)."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def holder(self) -> int | None:
        """The pid the current holder wrote, if readable."""
        try:
            text = self.path.read_text(encoding="ascii").strip()
        except (OSError, UnicodeDecodeError):
            return None
        return int(text) if text.isdigit() else None

    def busy_message(self) -> str:
        pid = self.holder()
        who = f" (pid {pid})" if pid is not None and pid != os.getpid() else ""
        return BUSY_MESSAGE.replace("run", f"run{who}", 1)

    def __enter__(self) -> FileLock:
        if not self.acquire(default_wait()):
            raise LockBusyError(self.busy_message(), hint="try again when it has finished")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()

    def __del__(self) -> None:  # a lock object dropped without release must not leak its fd
        with contextlib.suppress(Exception):
            self.release()


@contextlib.contextmanager
def released_at_exit(locks: Iterable[FileLock]) -> Iterator[None]:
    """Release every lock of ``locks`` that is still held when the block ends, however it ends."""
    try:
        yield
    finally:
        for lock in locks:
            lock.release()
