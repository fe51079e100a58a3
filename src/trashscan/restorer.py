"""Restoring selected index items through their providers.

Items are grouped by account. Each account's batch goes to its provider in one ``restore`` call
(providers batch and serialise as their API requires); different accounts run concurrently. Every
attempt lands in the index's audit log, except in a dry run, which changes nothing anywhere.
A result is reported once the index holds it; if the index cannot be written (another process
holds its write lock past the busy timeout), the results are reported all the same, since they
happened, recorded with a later batch if the lock is freed by then, and
:meth:`Restorer.unrecorded_error` says how many were not.

A restore is bounded by the run's deadline (:mod:`trashscan.deadline`): no item is started after
it, and each item left is reported with its true outcome: not attempted, or, when its account's
request was in flight, possibly restored.
"""

from __future__ import annotations

import getpass
import queue
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from trashscan.config import Config
from trashscan.deadline import DaemonPool, Deadline
from trashscan.errors import EXIT_PARTIAL, IndexStoreError, TrashscanError
from trashscan.index import Index
from trashscan.models import Account, IndexedItem, ItemState, RestoreOutcome, RestoreResult
from trashscan.plugins import load_provider_class
from trashscan.provider import ProviderContext
from trashscan.scanner import describe_error


@dataclass(frozen=True, slots=True)
class ItemRestore:
    item: IndexedItem
    result: RestoreResult


def left_out(item: IndexedItem) -> str | None:
    """Why an item is never part of a restore plan, if it is not: its provider said this account
    cannot restore it (Drive's ``canUntrash: false``, Dropbox's ``is_restorable: false``, ...).
    The plan lists it with that reason; it is never sent, and not a failure of the restore."""
    if item.state is ItemState.TRASHED and not item.restorable:
        return item.not_restorable_reason or "cannot be restored by this account"
    return None


def split_left_out(
    items: Sequence[IndexedItem],
) -> tuple[list[IndexedItem], list[tuple[IndexedItem, str]]]:
    """A plan's two lists: the items to send, and those left out with why (:func:`left_out`);
    ``trashscan restore`` and the UI's "Restore selected" both plan with it."""
    left = [(item, reason) for item in items if (reason := left_out(item))]
    return [item for item in items if not left_out(item)], left


@dataclass(frozen=True, slots=True)
class Summary:
    """What a finished restore says last: the count line, and every item not back and why."""

    line: str  # "3 restored, 1 not restored, 2 left out"
    not_back: list[tuple[IndexedItem, str]]  # in the plan's order
    failed: int


def summarize(
    planned: Sequence[IndexedItem],
    left: Sequence[tuple[IndexedItem, str]],
    done: Sequence[ItemRestore],
) -> Summary:
    """The end of a restore, the same for the CLI and the UI: failures in the plan's order,
    then the items left out, each with its reason (:func:`why`)."""
    position = {item.ref: n for n, item in enumerate(planned)}
    failed = sorted(
        (entry for entry in done if not entry.result.ok),
        key=lambda entry: position.get(entry.item.ref, len(planned)),
    )
    not_back = [(entry.item, why(entry.result)) for entry in failed]
    not_back += [(item, f"left out: {reason}") for item, reason in left]
    line = f"{len(done) - len(failed)} restored, {len(failed)} not restored"
    line += f", {len(left)} left out" if left else ""
    return Summary(line, not_back, len(failed))


def why(result: RestoreResult) -> str:
    """Why an item is not back: its outcome and the provider's or the deadline's reason."""
    from trashscan.output import OUTCOME_WORDS

    words = OUTCOME_WORDS[result.outcome]
    return f"{words}: {result.detail}" if result.detail else words


def plan_skip(item: IndexedItem) -> RestoreResult | None:
    """Why an item will not be sent to its provider at all, if it will not."""
    if item.state is ItemState.RESTORED:
        return RestoreResult(item.item_id, RestoreOutcome.ALREADY_RESTORED, "restored earlier")
    if item.state is not ItemState.TRASHED:
        return RestoreResult(
            item.item_id, RestoreOutcome.SKIPPED, f"no longer in the trash ({item.state})"
        )
    if not item.restorable:
        return RestoreResult(
            item.item_id, RestoreOutcome.SKIPPED, item.not_restorable_reason or "not restorable"
        )
    return None


class Restorer:
    def __init__(
        self,
        index: Index,
        config: Config,
        context: ProviderContext,
        concurrency: int = 4,
        on_result: Callable[[ItemRestore], None] | None = None,
        deadline: Deadline | None = None,
        on_batch: Callable[[], None] | None = None,
    ) -> None:
        self.index = index
        self.config = config
        self.context = context
        self.concurrency = max(1, concurrency)
        self.on_result = on_result
        self.on_batch = on_batch  # after the results of one recorded batch (to flush output)
        self.deadline = deadline
        self._recorded: set[str] = set()  # refs of the results recorded (done), for look-ups
        self._unrecorded: list[ItemRestore] = []  # reported, but the index refused them so far
        self._refusal: IndexStoreError | None = None  # why, the last time

    def restore(self, items: Sequence[IndexedItem], dry_run: bool = False) -> list[ItemRestore]:
        if not dry_run:
            self.index.require_writable()  # every attempt is recorded, or none is made
        done: list[ItemRestore] = []
        by_account: dict[str, list[IndexedItem]] = {}
        settled: list[ItemRestore] = []  # known without asking a provider: recorded together
        for item in items:
            skip = plan_skip(item)
            if skip is not None:
                settled.append(ItemRestore(item, skip))
            elif dry_run:
                dry = RestoreResult(item.item_id, RestoreOutcome.SKIPPED, "dry run")
                settled.append(ItemRestore(item, dry))
            else:
                by_account.setdefault(item.account, []).append(item)
        self._emit_many(done, settled, dry_run)
        if by_account:
            _RestoreRun(self, by_account, done).run()
        if self._unrecorded:  # a last try: the lock may be free by now
            self._record([])
        return done

    def unrecorded_error(self) -> TrashscanError | None:
        """The error a run ends with when results it reported could not be written to the
        index, which then still holds those items as they were (trashed) and has no audit
        entry for them; None when every result was recorded."""
        if not self._unrecorded or self._refusal is None:
            return None
        error = TrashscanError(
            f"{len(self._unrecorded)} restore results above are not in the index: {self._refusal}",
            hint="they did happen: the next `trashscan scan` sees those items gone from the "
            "trash; `trashscan history` will not list them",
        )
        error.exit_code = EXIT_PARTIAL
        return error

    def _along(
        self,
        pending: list[ItemRestore],
        account: Account,
        result: RestoreResult,
    ) -> ItemRestore | None:
        """An item a restore brought back without being asked (a folder's other photos), to be
        recorded as restored, in the index and the audit log, when the index holds it as
        trashed and it is not recorded yet."""
        item = self.index.get(account.provider, account.name, result.item_id)
        if item is None or item.state is not ItemState.TRASHED:
            return None
        if item.ref in self._recorded or any(entry.item.ref == item.ref for entry in pending):
            return None
        return ItemRestore(item, result)

    def _emit(self, done: list[ItemRestore], entry: ItemRestore, dry_run: bool = False) -> None:
        self._emit_many(done, [entry], dry_run)

    def _emit_many(
        self, done: list[ItemRestore], entries: Sequence[ItemRestore], dry_run: bool = False
    ) -> None:
        """Record results in one index transaction, then report each: nothing is shown before
        the index holds it (unless the index refuses to, see :meth:`_record`), and a batch
        costs one commit, not one per item."""
        if not entries:
            return
        if not dry_run:
            self._record(entries)
        for entry in entries:
            done.append(entry)
            self._recorded.add(entry.item.ref)
            if self.on_result is not None:
                self.on_result(entry)
        if self.on_batch is not None:
            self.on_batch()

    def _record(self, entries: Sequence[ItemRestore]) -> None:
        """Record ``entries`` with those the index refused before, in one transaction. If it
        refuses them too, they are kept for the next batch: a result is reported all the same,
        since the provider did what it says."""
        pending = [*self._unrecorded, *entries]
        try:
            self.index.record_restores(
                [(entry.item, entry.result) for entry in pending],
                actor=_actor(),
                dry_run=False,
                now=self.context.clock(),
            )
        except IndexStoreError as exc:  # e.g. locked by another process past the busy timeout
            self._unrecorded, self._refusal = pending, exc
        else:
            self._unrecorded = []


RECORD_BATCH = 500  # results recorded in one index transaction, at most


class _RestoreRun:
    """One restore of several accounts: a daemon worker per account (at most ``concurrency`` at
    once) streams results to the calling thread, the only one that records them.

    At the deadline (or on Ctrl-C) the calling thread stops waiting: accounts whose restore had not
    started are reported as not attempted, and the items a running account has not answered for
    yet as possibly restored, since a request may be in flight. Such a worker is abandoned: it
    starts no further item (its provider's generator is closed at the next result), and what it
    still sends is never recorded.
    """

    def __init__(
        self,
        restorer: Restorer,
        by_account: dict[str, list[IndexedItem]],
        done: list[ItemRestore],
    ) -> None:
        self.restorer = restorer
        self.by_account = by_account
        self.done = done
        # per account: a result of one of its items, a success for another item of the account
        # that came back along (a bare RestoreResult), or None when its worker is done
        self.events: queue.Queue[tuple[str, ItemRestore | RestoreResult | None]] = queue.Queue()
        self.accounts = {name: restorer.config.account(name) for name in by_account}
        self.stop = threading.Event()
        self.gate = threading.Lock()  # a worker starts under it, or never after `stop`
        self.started: set[str] = set()
        self.unanswered = {
            name: {item.item_id: item for item in batch} for name, batch in by_account.items()
        }

    def run(self) -> None:
        deadline = self.restorer.deadline
        ends = deadline.ends() if deadline is not None else None
        pool = DaemonPool(self.restorer.concurrency, "restore")
        for name, batch in self.by_account.items():
            pool.submit(self._work, self.accounts[name], batch)
        running = set(self.by_account)
        try:
            while running:
                timeout = None if ends is None else ends - time.monotonic()
                if timeout is not None and timeout <= 0:
                    break
                try:
                    first = self.events.get(timeout=timeout)
                except queue.Empty:
                    break
                # whatever else came in meanwhile (while the last batch was being committed)
                # is recorded with it, in one transaction
                events = [first, *self._waiting(RECORD_BATCH - 1)]
                running -= {name for name, entry in events if entry is None}
                self._record(events)
        finally:
            with self.gate:
                self.stop.set()
            pool.close()
        events = self._waiting(None)  # results that arrived in time are true: keep them
        running -= {name for name, entry in events if entry is None}
        self._record(events)
        assert deadline is not None or not running
        late = [
            ItemRestore(item, self._late(name, item, deadline))
            for name in sorted(running)
            for item in self.unanswered[name].values()
        ]
        self.restorer._emit_many(self.done, late)

    def _waiting(self, limit: int | None) -> list[tuple[str, ItemRestore | RestoreResult | None]]:
        """The events already queued (at most ``limit``), without waiting for more."""
        events: list[tuple[str, ItemRestore | RestoreResult | None]] = []
        while limit is None or len(events) < limit:
            try:
                events.append(self.events.get_nowait())
            except queue.Empty:
                break
        return events

    def _late(self, name: str, item: IndexedItem, deadline: Deadline | None) -> RestoreResult:
        text = deadline.text if deadline is not None else ""
        if name not in self.started:
            detail = f"not attempted: the deadline of {text} was reached first"
            return RestoreResult(item.item_id, RestoreOutcome.SKIPPED, detail)
        detail = (
            f"no answer before the deadline of {text}: the restore may have been sent; "
            "`trashscan list` shows whether it left the trash"
        )
        return RestoreResult(item.item_id, RestoreOutcome.FAILED, detail)

    def _record(self, events: list[tuple[str, ItemRestore | RestoreResult | None]]) -> None:
        entries: list[ItemRestore] = []
        for name, entry in events:
            if entry is None:
                continue
            if isinstance(entry, RestoreResult):
                along = self.restorer._along(entries, self.accounts[name], entry)
                if along is not None:
                    entries.append(along)
            elif self.unanswered[name].pop(entry.item.item_id, None) is not None:
                entries.append(entry)
        self.restorer._emit_many(self.done, entries)

    def _work(self, account: Account, batch: list[IndexedItem]) -> None:
        """On a worker thread: one account's restore, each result sent as soon as it is known."""
        with self.gate:
            if self.stop.is_set():
                return
            self.started.add(account.name)
        try:
            self._restore_account(account, batch)
        finally:
            self.events.put((account.name, None))

    def _send(self, account: Account, entry: ItemRestore | RestoreResult) -> None:
        self.events.put((account.name, entry))

    def _restore_account(self, account: Account, batch: list[IndexedItem]) -> None:
        by_id = {item.item_id: item for item in batch}
        try:
            provider = load_provider_class(account.provider)(self.restorer.context)
            if not provider.capabilities.restore:
                reason = provider.capabilities.unsupported_reason or "the provider cannot restore"
                for item in batch:
                    skipped = RestoreResult(item.item_id, RestoreOutcome.SKIPPED, reason)
                    self._send(account, ItemRestore(item, skipped))
                return
            results = provider.restore(account, batch)
            try:
                for result in results:
                    item = by_id.pop(result.item_id, None)
                    if item is not None:
                        self._send(account, ItemRestore(item, result))
                    elif result.ok:  # another item of the account that came back with these
                        self._send(account, result)
                    if self.stop.is_set():  # abandoned: start no further item
                        return
            finally:
                close = getattr(results, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # one account failing must not hide the others' results
            if self.stop.is_set():
                return
            reason = describe_error(exc)
            for item in by_id.values():
                failed = RestoreResult(item.item_id, RestoreOutcome.FAILED, reason)
                self._send(account, ItemRestore(item, failed))
            return
        for item in by_id.values():
            missing = RestoreResult(item.item_id, RestoreOutcome.FAILED, "provider gave no result")
            self._send(account, ItemRestore(item, missing))


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"
