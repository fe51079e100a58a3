"""Scanning many accounts at once into the index.

Workers (one thread per account, bounded) run each provider's ``scan`` generator and hand pages
to a bounded queue; the calling thread is the only writer to the index. That keeps SQLite free of
write contention, keeps memory flat (at most ``2 x concurrency`` pages in flight), and lets one
account fail without disturbing the others.

Each account is scanned under its file lock (:mod:`trashscan.lock`), so a cron run and a manual
one never scan the same account at once. Free accounts start at once; a busy one is retried while
the others run, and fails as "another trashscan run is scanning this account" after ``lock_wait``.
"""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime

from trashscan.errors import TrashscanError
from trashscan.index import Index
from trashscan.kinds import classify
from trashscan.lock import POLL_INTERVAL, FileLock, default_wait, lock_path, released_at_exit
from trashscan.models import Account, DeletedAtSource, Page, ScanOutcome
from trashscan.plugins import load_provider_class
from trashscan.provider import Provider, ProviderContext


@dataclass(slots=True)
class AccountScanResult:
    account: Account
    ok: bool = True
    items: int = 0
    swept: int = 0
    error: str | None = None
    notice: str | None = None  # e.g. "this provider's API cannot list the trash: look at URL"
    listed: bool = True  # False when the provider cannot list at all (the notice says why)


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


def describe_error(exc: BaseException) -> str:
    """One line for the user. Our errors carry their hint; anything else gets its type name."""
    if isinstance(exc, TrashscanError):
        return exc.one_line()
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def complete_item_fields(provider: Provider, account: Account, page: Page, now: datetime) -> None:
    """Fill what the core derives: kind, the observed deletion time, the purge date."""
    for item in page.items:
        if item.kind is None:
            item.kind = classify(item.name, item.mime_type)
        if item.deleted_at is None:
            item.deleted_at = now
            item.deleted_at_source = DeletedAtSource.OBSERVED
        if item.purge_at is None:
            item.purge_at = provider.retention.purge_date(account, item.deleted_at)
            if item.deleted_at_source is not DeletedAtSource.API:
                item.purge_is_estimate = True


class Scanner:
    def __init__(
        self,
        index: Index,
        context: ProviderContext,
        concurrency: int = 4,
        progress: ProgressCallback | None = None,
        lock_wait: float | None = None,
    ) -> None:
        self.index = index
        self.context = context
        self.concurrency = max(1, concurrency)
        self.progress = progress
        # Seconds a busy account is waited for; None: $TRASHSCAN_LOCK_WAIT or 10.
        self.lock_wait = default_wait() if lock_wait is None else max(0.0, lock_wait)

    def scan(self, accounts: Sequence[Account]) -> list[AccountScanResult]:
        results = {account.name: AccountScanResult(account) for account in accounts}
        if not accounts:
            return []
        events: queue.Queue[_PageEvent | _DoneEvent] = queue.Queue(maxsize=2 * self.concurrency)
        stop = threading.Event()
        scan_ids: dict[str, int] = {}
        providers: dict[str, Provider] = {}
        states: dict[str, dict | None] = {}
        for account in accounts:
            try:
                providers[account.name] = load_provider_class(account.provider)(self.context)
            except TrashscanError as exc:
                results[account.name].ok = False
                results[account.name].error = exc.one_line()
        for name, provider in list(providers.items()):
            if not provider.capabilities.list:
                # Reported, not failed: the provider says honestly it cannot list (Google Photos).
                results[name].notice = provider.capabilities.unsupported_reason or "cannot list"
                results[name].listed = False
                del providers[name]
        runnable = [a for a in accounts if a.name in providers]
        locks = {a.name: FileLock(lock_path(self.context.data_dir, a)) for a in runnable}

        def work(account: Account) -> None:
            provider = providers[account.name]
            generator = provider.scan(account, states[account.name])
            try:
                while not stop.is_set():
                    try:
                        page = next(generator)
                    except StopIteration as finished:
                        events.put(_DoneEvent(account, finished.value, None))
                        return
                    events.put(_PageEvent(account, page))
                generator.close()
                events.put(_DoneEvent(account, None, "interrupted"))
            except BaseException as exc:  # reported per account, never fatal for the others
                events.put(_DoneEvent(account, None, describe_error(exc)))

        def start_locked(pool: ThreadPoolExecutor, waiting: list[Account]) -> list[Account]:
            """Start the accounts whose lock is free now; return those still waiting.

            Past the deadline the rest fail with the busy message and none is left waiting.
            """
            still_waiting = []
            for account in waiting:
                try:
                    taken = locks[account.name].try_acquire()
                except OSError as exc:  # e.g. a read-only data dir: this account fails, not all
                    results[account.name].ok = False
                    results[account.name].error = f"cannot create its lock file: {exc.strerror}"
                    self._report(account, 0, True)
                    continue
                if not taken:
                    still_waiting.append(account)
                    continue
                # Read under the lock, on the writer thread; workers never touch the index.
                states[account.name] = self.index.scan_state(account.provider, account.name)
                scan_ids[account.name] = self.index.begin_scan(
                    account.provider, account.name, self.context.clock()
                )
                pool.submit(work, account)
            if still_waiting and time.monotonic() < deadline:
                return still_waiting
            for account in still_waiting:
                results[account.name].ok = False
                results[account.name].error = locks[account.name].busy_message()
                self._report(account, 0, True)
            return []

        waiting = list(runnable)
        deadline = time.monotonic() + self.lock_wait
        # Locks are released after the pool has shut down, when no worker scans any more.
        with (
            released_at_exit(locks.values()),
            ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="scan") as pool,
        ):
            try:
                while True:
                    if waiting:
                        waiting = start_locked(pool, waiting)
                    pending = sum(1 for a in runnable if locks[a.name].held)
                    if not (pending or waiting):
                        break
                    try:
                        event = events.get(timeout=POLL_INTERVAL if waiting else None)
                    except queue.Empty:
                        continue
                    result = results[event.account.name]
                    scan_id = scan_ids[event.account.name]
                    now = self.context.clock()
                    if isinstance(event, _PageEvent):
                        provider = providers[event.account.name]
                        complete_item_fields(provider, event.account, event.page, now)
                        self.index.write_page(
                            scan_id, event.account.provider, event.account.name, event.page, now
                        )
                        result.items += len(event.page.items)
                        self._report(event.account, result.items, False)
                        continue
                    if event.error is None and event.outcome is not None:
                        result.swept = self.index.finish_scan(scan_id, event.outcome, now)
                        result.notice = event.outcome.notice
                    else:
                        result.ok = False
                        result.error = event.error or "scan returned no outcome"
                        self.index.fail_scan(scan_id, result.error, now)
                    locks[event.account.name].release()
                    self._report(event.account, result.items, True)
            finally:
                stop.set()
                while not events.empty():  # unblock workers stuck on a full queue
                    events.get_nowait()
        return [results[account.name] for account in accounts]

    def _report(self, account: Account, items: int, finished: bool) -> None:
        if self.progress is not None:
            self.progress(account, items, finished)
