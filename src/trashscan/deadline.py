"""The overall deadline of a scan or restore, and worker threads that can be left behind.

Timeouts in the HTTP clients are per socket read: a server that sends one byte every few seconds
never trips them, and a cron ``trashscan check`` stuck on it would run forever (and, under
systemd, silence every later run). So the thread that waits for the workers enforces a deadline
itself: every account not done by then fails with "deadline of 30m reached", the others keep
their results, and the command ends. A worker still blocked in a socket is abandoned.

An abandoned worker must neither keep the process alive nor write anything. The first is why the
workers are daemon threads (:class:`DaemonPool`), never ``ThreadPoolExecutor`` threads, which the
interpreter joins at exit; plugins' own pools are not daemon threads, so :func:`main` of the CLI
ends the process with ``os._exit`` when :func:`abandoned_workers` says some are still running.
The second is the callers' duty: the scanner ignores an abandoned account's pages and refuses its
commit acknowledgements; the restorer records nothing that arrives after the deadline.

The deadline counts from the start of the scan (or restore) and is shared by every account of
the run, so that a run's length has one bound, however many accounts wait for a worker.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from trashscan.errors import UsageError

DEFAULT_DEADLINE = "30m"
MAX_DEADLINE = timedelta(days=7)  # longer would outlast any sensible schedule interval
_HINT = "raise it with --deadline or [scan] deadline in the config"


@dataclass(frozen=True, slots=True)
class Deadline:
    """How long a run's accounts may take; ``text`` is the duration as the user wrote it."""

    seconds: float
    text: str = DEFAULT_DEADLINE

    @classmethod
    def parse(cls, text: str, what: str = "--deadline") -> Deadline:
        """``30m``, ``2h``, ``90s`` (a bare number is days, as for every duration)."""
        from trashscan.timeparse import parse_duration

        span = parse_duration(text)
        if span <= timedelta(0):
            raise UsageError(f"{what} {text.strip()!r} must be longer than zero")
        if span > MAX_DEADLINE:
            raise UsageError(f"{what} {text.strip()!r} is longer than a week")
        return cls(span.total_seconds(), text.strip())

    @property
    def message(self) -> str:
        """The one line an account that ran out of time fails with."""
        return f"deadline of {self.text} reached ({_HINT})"

    def ends(self, now: Callable[[], float] = time.monotonic) -> float:
        """The monotonic time at which a run starting now must be over."""
        return now() + self.seconds


# ------------------------------------------------------------------------------- workers

_all_threads: list[threading.Thread] = []
_registry_lock = threading.Lock()


class DaemonPool:
    """At most ``max_workers`` tasks at once, each on a daemon thread; closing it lets running
    tasks finish (or hang) on their own, and starts no waiting task any more.

    Unlike ``ThreadPoolExecutor``, nothing here is joined: neither when the pool is left nor at
    interpreter exit.
    """

    def __init__(self, max_workers: int, name: str) -> None:
        self._slots = threading.Semaphore(max(1, max_workers))
        self._closed = threading.Event()
        self._name = name
        self._count = 0
        self._threads: list[threading.Thread] = []

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        def run() -> None:
            with self._slots:
                if not self._closed.is_set():
                    fn(*args)

        self._count += 1
        thread = threading.Thread(target=run, name=f"{self._name}-{self._count}", daemon=True)
        with _registry_lock:
            _all_threads[:] = [t for t in _all_threads if t.is_alive()]
            _all_threads.append(thread)
        self._threads.append(thread)
        thread.start()

    def close(self) -> None:
        """Start no task that has not started yet."""
        self._closed.set()

    def join(self, timeout: float) -> None:
        """Give the pool's threads up to ``timeout`` seconds in all to end; never longer."""
        ends = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, ends - time.monotonic()))


def abandoned_workers() -> list[threading.Thread]:
    """Worker threads of any :class:`DaemonPool` still running (so, left behind by a deadline or
    an interruption, as every command waits for its live workers otherwise)."""
    with _registry_lock:
        return [t for t in _all_threads if t.is_alive()]
