"""Scanning many accounts at once into the index.

Workers (one thread per account, bounded) run each provider's ``scan`` generator and hand pages
to a queue; the calling thread is the only writer to the index. That keeps SQLite free of write
contention and lets one account fail without disturbing the others.

A worker resumes its generator only once the calling thread has acknowledged the page: committed,
or refused (then the generator is closed at its ``yield``). A plugin advances its private state
(a mirror row, a cursor) after a ``yield``, so that state never runs ahead of the index, whatever
stops the run in between: a kill, Ctrl-C, a locked index. It also keeps memory flat: at most one
page per worker is in flight. Accounts still overlap each other's network waits and commits.

The run has a deadline (:mod:`trashscan.deadline`), which the calling thread enforces itself,
since a server that drips one byte at a time defeats every per-read timeout: accounts not done by
then are abandoned. Each fails with "deadline of 30m reached", its scan row is closed, its worker
(a daemon thread, never joined) gets no acknowledgement any more, so it commits and advances
nothing, and its lock goes with the worker: released when that thread ends, or at process exit.
Ctrl-C abandons every running account the same way, as interrupted.

Each account is scanned under its file lock (:mod:`trashscan.lock`), so a cron run and a manual
one never scan the same account at once. Free accounts start at once; a busy one is retried while
the others run, and fails as "another trashscan run is scanning this account" after ``lock_wait``.
"""

from __future__ import annotations

import contextlib
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from trashscan.deadline import DaemonPool, Deadline
from trashscan.errors import TrashscanError
from trashscan.first_load import FirstLoad
from trashscan.index import Index
from trashscan.kinds import classify
from trashscan.lock import POLL_INTERVAL, FileLock, default_wait, lock_path
from trashscan.models import EXACT_SOURCES, Account, DeletedAtSource, Page, ScanOutcome
from trashscan.plugins import load_provider_class
from trashscan.provider import Provider, ProviderContext


@dataclass(slots=True)
class AccountScanResult:
    account: Account
    ok: bool = True
    items: int = 0
    swept: int = 0  # items that left the trash: reported removed, or not seen by a full listing
    # Continued from a previous scan's state, reporting changes only: 0 items is "no changes".
    incremental: bool = False
    error: str | None = None
    notice: str | None = None  # e.g. "this provider's API cannot list the trash: look at URL"
    listed: bool = True  # False when the provider cannot list at all (the notice says why)
    # A part of the trash not listed (the rest was): a warning, and the run's exit code is 1.
    partial: str | None = None
    abandoned: bool = False  # left running at the deadline (or on Ctrl-C): its service hangs
    # What the committed pages said about fetching each item's picture (``Page``), in memory only.
    thumbnail_sources: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class _PageEvent:
    account: Account
    page: Page


@dataclass(frozen=True, slots=True)
class _DoneEvent:
    account: Account
    outcome: ScanOutcome | None
    error: str | None


ProgressCallback = Callable[[Account, int, bool], None]  # account, items so far, finished
INTERRUPTED = "interrupted"
ABANDON_GRACE = 0.5  # seconds the workers get to end before the run returns without them
# Tests only: hold each page that has items or removals before its commit (see _hold_for_tests).
TEST_HOLD_ENV = "TRASHSCAN_TEST_HOLD_BEFORE_COMMIT"


def describe_error(exc: BaseException) -> str:
    """One line for the user. Our errors carry their hint; anything else gets its type name."""
    if isinstance(exc, TrashscanError):
        return exc.one_line()
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def complete_item_fields(provider: Provider, account: Account, page: Page, now: datetime) -> None:
    """Fill what the core derives: kind, the observed deletion time, the purge window.

    The purge window is the deletion window plus the retention: ``purge_at``, what alerts and
    the sort use, from the earliest plausible deletion; ``purge_latest`` from the latest. An
    estimate without a lower bound may be as old as the retention, so its earliest plausible
    purge is the latest plausible deletion itself (first seen today: any day from today).
    """
    for item in page.items:
        if item.kind is None:
            item.kind = classify(item.name, item.mime_type)
        if item.deleted_at is None:
            item.deleted_at = now
            item.deleted_at_source = DeletedAtSource.OBSERVED
        if item.deleted_after is None and item.deleted_at_source in EXACT_SOURCES:
            item.deleted_after = item.deleted_at
        if item.purge_at is None:
            days = provider.retention.days_for(account)
            if days is not None:
                keep = timedelta(days=days)
                after = item.deleted_after
                lower = item.deleted_at - keep if after is None else min(after, item.deleted_at)
                item.purge_at, item.purge_latest = lower + keep, item.deleted_at + keep
            if item.deleted_at_source is not DeletedAtSource.API:
                item.purge_is_estimate = True
        elif item.purge_latest is None and not item.purge_is_estimate:
            item.purge_latest = item.purge_at  # a stated, exact purge date


def _hold_for_tests(page: Page) -> None:
    """Tests only: with ``$TRASHSCAN_TEST_HOLD_BEFORE_COMMIT=PATH``, a page with items or removals
    that reached the committing thread creates PATH and waits, uncommitted, until PATH is deleted.

    That is the window between a plugin's ``yield`` and the page's commit, which tests kill,
    interrupt or lock the index in, and which no test could otherwise hit reliably.
    """
    path = os.environ.get(TEST_HOLD_ENV)
    if not path or not (page.items or page.removed):
        return
    Path(path).touch()
    while os.path.exists(path):
        time.sleep(0.02)


class Scanner:
    def __init__(
        self,
        index: Index,
        context: ProviderContext,
        concurrency: int = 4,
        progress: ProgressCallback | None = None,
        lock_wait: float | None = None,
        deadline: Deadline | None = None,
        building: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self.context = context
        self.concurrency = max(1, concurrency)
        self.progress = progress
        # Called when a first scan's index build starts (seconds at a million items, after
        # every account is shown done: see trashscan.first_load).
        self.building = building
        self.deadline = deadline  # None: no limit (library use; the CLI always sets one)
        # Seconds a busy account is waited for; None: $TRASHSCAN_LOCK_WAIT or 10.
        self.lock_wait = default_wait() if lock_wait is None else max(0.0, lock_wait)

    def scan(self, accounts: Sequence[Account]) -> list[AccountScanResult]:
        if not accounts:
            return []
        return _ScanRun(self, accounts).run()

    def _report(self, account: Account, items: int, finished: bool) -> None:
        if self.progress is not None:
            self.progress(account, items, finished)


@dataclass(slots=True)
class _Worker:
    """Who releases an account's lock; guarded by ``_ScanRun.handoff``."""

    state: str = "queued"  # queued, running, ended
    abandoned: bool = False


class _ScanRun:
    """One `Scanner.scan` call: the accounts' providers, locks, scan ids and the page queue."""

    def __init__(self, scanner: Scanner, accounts: Sequence[Account]) -> None:
        self.scanner = scanner
        self.index = scanner.index
        self.accounts = accounts
        self.results = {account.name: AccountScanResult(account) for account in accounts}
        # Unbounded: each worker has at most one page in flight (it waits for that page's ack).
        self.events: queue.Queue[_PageEvent | _DoneEvent] = queue.Queue()
        self.stop = threading.Event()
        self.scan_ids: dict[str, int] = {}
        self.states: dict[str, dict | None] = {}
        self.providers = self._load_providers()
        self.runnable = [a for a in accounts if a.name in self.providers]
        data_dir = scanner.context.data_dir
        self.locks = {a.name: FileLock(lock_path(data_dir, a)) for a in self.runnable}
        # Per account, the answer to its page in flight: None once committed, else why not.
        self.acks: dict[str, queue.Queue[str | None]] = {
            a.name: queue.Queue() for a in self.runnable
        }
        self.workers = {a.name: _Worker() for a in self.runnable}
        self.handoff = threading.Lock()

    def _load_providers(self) -> dict[str, Provider]:
        providers: dict[str, Provider] = {}
        for account in self.accounts:
            result = self.results[account.name]
            try:
                provider = load_provider_class(account.provider)(self.scanner.context)
            except TrashscanError as exc:
                result.ok = False
                result.error = exc.one_line()
                continue
            if not provider.capabilities.list:
                # Reported, not failed: the provider says honestly it cannot list (Google Photos).
                result.notice = provider.capabilities.unsupported_reason or "cannot list"
                result.listed = False
                continue
            providers[account.name] = provider
        return providers

    def run(self) -> list[AccountScanResult]:
        waiting = list(self.runnable)
        lock_deadline = time.monotonic() + self.scanner.lock_wait
        deadline = self.scanner.deadline
        ends = deadline.ends() if deadline is not None else None
        pool = DaemonPool(self.scanner.concurrency, "scan")
        finished = False
        first_load = FirstLoad(self.index, self.scanner.context.data_dir, self.scanner.building)
        if self.runnable:
            first_load.begin(ends)
        try:
            while True:
                if waiting:
                    waiting = self._start_locked(pool, waiting, lock_deadline)
                if not (self._running() or waiting):
                    break
                timeout = POLL_INTERVAL if waiting else None
                if ends is not None:
                    left = ends - time.monotonic()
                    if left <= 0:
                        assert deadline is not None
                        self._expire(waiting, deadline)
                        break
                    timeout = left if timeout is None else min(timeout, left)
                try:
                    event = self.events.get(timeout=timeout)
                except queue.Empty:
                    continue
                self._handle(event)
            finished = True
        finally:
            self.stop.set()
            if not finished:  # Ctrl-C or an error here: no running account is waited for
                for account in self._running():
                    self._abandon(account, INTERRUPTED)
            for acks in self.acks.values():  # a page still waiting will not be committed
                acks.put(INTERRUPTED)
            # A worker that is not blocked ends at once (its plugin closed at its yield); one
            # blocked in a socket is left behind after this short wait.
            pool.join(ABANDON_GRACE)
            self._release_locks()
            # Built only by a run that was not interrupted, and within its deadline: otherwise
            # they are left to the next scan run.
            first_load.end(finished, ends)
        return [self.results[account.name] for account in self.accounts]

    def _running(self) -> list[Account]:
        """Accounts started (their lock taken) and neither finished nor abandoned."""
        return [
            a
            for a in self.runnable
            if self.locks[a.name].held and not self.workers[a.name].abandoned
        ]

    def _expire(self, waiting: list[Account], deadline: Deadline) -> None:
        """The deadline: what already arrived is handled, every account still going fails."""
        for _ in range(self.events.qsize()):
            try:
                self._handle(self.events.get_nowait())
            except queue.Empty:
                break
        for account in waiting:  # never started: its lock was busy until now
            self.results[account.name].ok = False
            self.results[account.name].error = deadline.message
            self.scanner._report(account, 0, True)
        for account in self._running():
            self._abandon(account, deadline.message)

    def _abandon(self, account: Account, reason: str) -> None:
        """Stop waiting for an account: it fails with ``reason``; its worker is left behind."""
        result = self.results[account.name]
        result.ok = False
        result.error = reason
        result.abandoned = True
        self.acks[account.name].put(reason)  # refuses the page its worker waits with, if any
        with contextlib.suppress(Exception):  # else the next scan closes it as interrupted
            self.index.fail_scan(self.scan_ids[account.name], reason, self.scanner.context.clock())
        with self.handoff:
            worker = self.workers[account.name]
            worker.abandoned = True
            if worker.state != "running":  # not started, or gone: nobody else will release it
                self.locks[account.name].release()
        self.scanner._report(account, result.items, True)

    def _release_locks(self) -> None:
        """Every lock but those of abandoned workers still running (they release their own)."""
        with self.handoff:
            for name, lock in self.locks.items():
                worker = self.workers[name]
                if not (worker.abandoned and worker.state == "running"):
                    lock.release()

    def _work(self, account: Account) -> None:
        """Runs on a worker thread (see :meth:`_scan_account`); hands the lock over if abandoned."""
        worker = self.workers[account.name]
        with self.handoff:
            if worker.abandoned:
                worker.state = "ended"
                return
            worker.state = "running"
        try:
            self._scan_account(account)
        finally:
            with self.handoff:
                worker.state = "ended"
                if worker.abandoned:
                    self.locks[account.name].release()

    def _scan_account(self, account: Account) -> None:
        """Drives the provider's generator, never touches the index.

        After each page it waits for the page's ack, and resumes the generator only once the page
        is committed; otherwise the generator is closed at that ``yield``, having advanced nothing.
        """
        generator = self.providers[account.name].scan(account, self.states[account.name])
        acks = self.acks[account.name]
        try:
            while not self.stop.is_set():
                try:
                    page = next(generator)
                except StopIteration as finished:
                    self.events.put(_DoneEvent(account, finished.value, None))
                    return
                self.events.put(_PageEvent(account, page))
                refused = acks.get()
                if refused is not None:
                    # The cause of the failure is the refused commit, not the plugin's clean-up.
                    with contextlib.suppress(Exception):
                        generator.close()
                    self.events.put(_DoneEvent(account, None, refused))
                    return
            generator.close()
            self.events.put(_DoneEvent(account, None, INTERRUPTED))
        except BaseException as exc:  # reported per account, never fatal for the others
            self.events.put(_DoneEvent(account, None, describe_error(exc)))

    def _start_locked(
        self, pool: DaemonPool, waiting: list[Account], deadline: float
    ) -> list[Account]:
        """Start the accounts whose lock is free now; return those still waiting.

        Past the deadline the rest fail with the busy message and none is left waiting.
        """
        still_waiting = []
        for account in waiting:
            result = self.results[account.name]
            try:
                taken = self.locks[account.name].try_acquire()
            except OSError as exc:  # e.g. a read-only data dir: this account fails, not all
                result.ok = False
                result.error = f"cannot create its lock file: {exc.strerror}"
                self.scanner._report(account, 0, True)
                continue
            if not taken:
                still_waiting.append(account)
                continue
            # Read under the lock, on the writer thread; workers never touch the index.
            self.states[account.name] = self.index.scan_state(account.provider, account.name)
            self.scan_ids[account.name] = self.index.begin_scan(
                account.provider, account.name, self.scanner.context.clock()
            )
            pool.submit(self._work, account)
        if still_waiting and time.monotonic() < deadline:
            return still_waiting
        for account in still_waiting:
            self.results[account.name].ok = False
            self.results[account.name].error = self.locks[account.name].busy_message()
            self.scanner._report(account, 0, True)
        return []

    def _handle(self, event: _PageEvent | _DoneEvent) -> None:
        """On the calling thread, the index's only writer: commit a page or finish a scan.

        An abandoned account's events are dropped: it was failed already, and gets no more acks.
        """
        account = event.account
        if self.workers[account.name].abandoned:
            return
        result = self.results[account.name]
        scan_id = self.scan_ids[account.name]
        now = self.scanner.context.clock()
        if isinstance(event, _PageEvent):
            self.acks[account.name].put(self._commit(account, event.page, now))
            return
        error = event.error
        if error is None and event.outcome is None:
            error = "scan returned no outcome"
        if error is None and event.outcome is not None:
            try:
                result.swept += self.index.finish_scan(scan_id, event.outcome, now)
                complete = event.outcome.complete_listing
                result.incremental = self.states[account.name] is not None and not complete
                result.notice = event.outcome.notice
                result.partial = event.outcome.partial()
            except TrashscanError as exc:  # e.g. the index is locked: this account fails
                error = exc.one_line()
        if error is not None:
            result.ok = False
            result.error = error
            # If this fails too (still locked), the next scan closes the row as interrupted.
            with contextlib.suppress(TrashscanError):
                self.index.fail_scan(scan_id, error, now)
        self.locks[account.name].release()
        self.scanner._report(account, result.items, True)

    def _commit(self, account: Account, page: Page, now: datetime) -> str | None:
        """Commit one page: its ack, None when durable, else the one-line reason it is not."""
        result = self.results[account.name]
        complete_item_fields(self.providers[account.name], account, page, now)
        _hold_for_tests(page)
        try:
            left = self.index.write_page(
                self.scan_ids[account.name], account.provider, account.name, page, now
            )
        except TrashscanError as exc:  # e.g. another process held the write lock too long
            return exc.one_line()
        result.items += len(page.items)
        result.thumbnail_sources.update(page.thumbnail_sources)
        result.swept += left
        self.scanner._report(account, result.items, False)
        return None
