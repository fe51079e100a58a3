"""Restoring selected index items through their providers.

Items are grouped by account. Each account's batch goes to its provider in one ``restore`` call
(providers batch and serialise as their API requires); different accounts run concurrently. Every
attempt lands in the index's audit log, except in a dry run, which changes nothing anywhere.
"""

from __future__ import annotations

import getpass
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from trashscan.config import Config
from trashscan.index import Index
from trashscan.models import Account, IndexedItem, ItemState, RestoreOutcome, RestoreResult
from trashscan.plugins import load_provider_class
from trashscan.provider import ProviderContext
from trashscan.scanner import describe_error


@dataclass(frozen=True, slots=True)
class ItemRestore:
    item: IndexedItem
    result: RestoreResult


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
    ) -> None:
        self.index = index
        self.config = config
        self.context = context
        self.concurrency = max(1, concurrency)
        self.on_result = on_result

    def restore(self, items: Sequence[IndexedItem], dry_run: bool = False) -> list[ItemRestore]:
        done: list[ItemRestore] = []
        by_account: dict[str, list[IndexedItem]] = {}
        for item in items:
            skip = plan_skip(item)
            if skip is not None:
                self._emit(done, ItemRestore(item, skip), dry_run)
            elif dry_run:
                self._emit(
                    done,
                    ItemRestore(
                        item, RestoreResult(item.item_id, RestoreOutcome.SKIPPED, "dry run")
                    ),
                    dry_run,
                )
            else:
                by_account.setdefault(item.account, []).append(item)
        if not by_account:
            return done
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="restore") as pool:
            futures = [
                pool.submit(self._restore_account, self.config.account(name), batch)
                for name, batch in by_account.items()
            ]
            for future in futures:
                for entry in future.result():
                    self._emit(done, entry, dry_run)
        return done

    def _restore_account(self, account: Account, batch: list[IndexedItem]) -> list[ItemRestore]:
        """Runs on a worker thread; returns results instead of writing the index there."""
        by_id = {item.item_id: item for item in batch}
        results: list[ItemRestore] = []
        try:
            provider = load_provider_class(account.provider)(self.context)
            if not provider.capabilities.restore:
                reason = provider.capabilities.unsupported_reason or "the provider cannot restore"
                return [
                    ItemRestore(i, RestoreResult(i.item_id, RestoreOutcome.SKIPPED, reason))
                    for i in batch
                ]
            for result in provider.restore(account, batch):
                item = by_id.pop(result.item_id, None)
                if item is not None:
                    results.append(ItemRestore(item, result))
        except Exception as exc:  # one account failing must not hide the others' results
            reason = describe_error(exc)
            results.extend(
                ItemRestore(i, RestoreResult(i.item_id, RestoreOutcome.FAILED, reason))
                for i in by_id.values()
            )
            return results
        results.extend(
            ItemRestore(
                i, RestoreResult(i.item_id, RestoreOutcome.FAILED, "provider gave no result")
            )
            for i in by_id.values()
        )
        return results

    def _emit(self, done: list[ItemRestore], entry: ItemRestore, dry_run: bool) -> None:
        if not dry_run:
            self.index.record_restore(
                entry.item, entry.result, actor=_actor(), dry_run=False, now=self.context.clock()
            )
        done.append(entry)
        if self.on_result is not None:
            self.on_result(entry)


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # no user name in some containers
        return "unknown"
