"""A first scan into an empty index builds the items' secondary indexes once, at its end.

Keeping four indexes up to date row by row is most of a big first scan's cost: a page's rows
land all over each of them, so at a million items every commit rewrites most of their pages.
Into an empty SQLite index a scan run loads the rows without them and builds them, each sorted
in one pass, when its accounts are done (:meth:`trashscan.index.Index.defer_secondary_indexes`).
Nothing is lost or wrong meanwhile: every page still commits as it comes, and a listing run
alongside reads the same rows without the indexes, only more slowly.

One run at a time does this, the one holding the lock file ``locks/index-build.lock`` in the
data directory. Another run meanwhile (a cron scan of other accounts) writes its rows without
the indexes too, and the loading run's build covers them. A loading run killed, interrupted or
out of time leaves the deferral recorded in the index and the lock free: the next scan run to
take the lock builds the indexes before it scans.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from trashscan.deadline import DaemonPool
from trashscan.errors import TrashscanError
from trashscan.index import Index
from trashscan.lock import FileLock

log = logging.getLogger(__name__)
BUILD_POLL = 0.1  # seconds between the calling thread's looks at the build (and at Ctrl-C)


def build_lock_path(data_dir: Path) -> Path:
    return Path(data_dir) / "locks" / "index-build.lock"


class FirstLoad:
    """Around one scan run: :meth:`begin` before its first page, :meth:`end` after its last."""

    def __init__(
        self, index: Index, data_dir: Path, building: Callable[[], None] | None = None
    ) -> None:
        self.index = index
        self.lock = FileLock(build_lock_path(data_dir))
        self.deferred = False  # this run dropped the indexes and owes their build
        self.building = building  # told when a build starts (a progress display)

    def begin(self, ends: float | None = None) -> None:
        """Build what a killed load left unbuilt (by ``ends`` at the latest, as :meth:`end`),
        then defer the indexes if the index is empty.

        Any trouble here (a read-only data directory, a busy index) only means the scan keeps
        the indexes up to date as it goes; its own errors are the accounts' to report."""
        try:
            if not self.lock.try_acquire():
                return  # another run is loading without them: it builds them
        except OSError:
            return
        try:
            if self.index.secondary_indexes_deferred() and not self._build_within(ends):
                return  # a killed load's, still unbuilt: the next run tries again
            self.deferred = self.index.defer_secondary_indexes()
        except TrashscanError as exc:
            log.debug("scanning with the indexes kept up to date: %s", exc.one_line())
        finally:
            if not self.deferred:
                self.lock.release()

    def end(self, build: bool, ends: float | None = None) -> None:
        """Build the deferred indexes if ``build`` (the run was not interrupted), by the
        monotonic time ``ends`` at the latest; otherwise, out of time, or if that fails, they
        are left to the next scan run."""
        try:
            if self.deferred and build:
                self._build_within(ends)
        except TrashscanError as exc:  # e.g. locked: said already by the accounts it failed
            log.info("the index's listing indexes are left for the next scan: %s", exc.one_line())
        finally:
            self.lock.release()

    def _build_within(self, ends: float | None) -> bool:
        """Build on a worker thread, waited for in short steps, so that Ctrl-C (raised in this
        thread) is acted on at once and the run's deadline holds: at a million items the build
        takes seconds of SQLite work that no signal handler can break into. A build left behind
        either commits whole or, when the process leaves without it (as it leaves any worker
        left running: :func:`trashscan.interrupts.leave`), never: the deferral then stays.
        True once built."""
        if _out_of_time(ends):
            return False
        outcome: list[BaseException | None] = []
        if self.building is not None:
            self.building()

        def build() -> None:
            try:
                self.index.build_secondary_indexes()
            except BaseException as exc:  # raised again on the calling thread
                outcome.append(exc)
            else:
                outcome.append(None)

        worker = DaemonPool(1, "index-build")
        worker.submit(build)
        while not outcome:
            if _out_of_time(ends):
                return False
            worker.join(BUILD_POLL)
        if outcome[0] is not None:
            raise outcome[0]
        self.deferred = False
        return True


def _out_of_time(ends: float | None) -> bool:
    """Whether the run's deadline (a monotonic time; None: none) has passed, said in the log."""
    if ends is None or time.monotonic() < ends:
        return False
    log.info("the index's listing indexes are left for the next scan: out of time")
    return True
