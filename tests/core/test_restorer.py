"""The restorer records results in batches: what came in while it was busy is one transaction.

A mass restore (10,000 items) paid one index commit per item; results now go to the index in
one transaction for whatever is queued, and each is reported only after its batch committed.
Counted, not timed: the provider below answers the first item alone, and the first report waits
until every other answer is queued, so exactly two batches are recorded: 1, then the rest.
"""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

import trashscan.restorer
from trashscan.config import Config
from trashscan.index import Index, ItemFilter
from trashscan.models import (
    Account,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    RestoreOutcome,
    RestoreResult,
    ScanOutcome,
    TrashItem,
)
from trashscan.provider import Provider, ProviderContext
from trashscan.restorer import ItemRestore, Restorer
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
N = 40


class Quick(Provider):
    """Answers every item at once; says when its last answer was handed over."""

    name = "quick"
    display_name = "Quick"
    all_answered: ClassVar[threading.Event] = threading.Event()
    first_recorded: ClassVar[threading.Event] = threading.Event()

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        raise NotImplementedError
        yield  # a generator

    def restore(self, account: Account, items: Sequence[IndexedItem]) -> Iterator[RestoreResult]:
        for n, item in enumerate(items):
            yield RestoreResult(item.item_id, RestoreOutcome.RESTORED)
            if n == 0:  # the first is recorded alone, before any other is answered
                assert self.first_recorded.wait(10)
        self.all_answered.set()  # runs once the worker asked for more after the last one


@pytest.fixture
def index(tmp_path: Path) -> Iterator[Index]:
    ix = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    scan_id = ix.begin_scan("quick", "home", NOW)
    page = Page(items=[TrashItem(item_id=f"i{n:02d}", name=f"i{n:02d}.jpg") for n in range(N)])
    ix.write_page(scan_id, "quick", "home", page, NOW)
    ix.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)
    yield ix
    ix.close()


def test_results_queued_meanwhile_are_recorded_in_one_transaction_then_reported(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, index: Index
) -> None:
    monkeypatch.setattr(trashscan.restorer, "load_provider_class", lambda name: Quick)
    Quick.all_answered = threading.Event()
    Quick.first_recorded = threading.Event()
    batches: list[int] = []
    record = Index.record_restores

    def recorded(self: Index, entries: Any, *args: Any, **kwargs: Any) -> None:
        batches.append(len(entries))
        record(self, entries, *args, **kwargs)
        Quick.first_recorded.set()

    monkeypatch.setattr(Index, "record_restores", recorded)
    reported: list[tuple[str, ItemState | None]] = []

    def on_result(entry: ItemRestore) -> None:
        if not reported:  # hold the first report until every answer is queued
            assert Quick.all_answered.wait(10)
        now_in_index = index.get("quick", "home", entry.item.item_id)
        reported.append((entry.item.item_id, now_in_index.state if now_in_index else None))

    config = Config(tmp_path / "config.toml", True, accounts=(Account("home", "quick"),))
    context = ProviderContext(MemorySecretStore(), RetryPolicy(), lambda: NOW, tmp_path)
    everything = ItemFilter(kinds=frozenset(Kind), states=frozenset(ItemState))
    items = index.items(everything, NOW)
    assert len(items) == N

    done = Restorer(index, config, context, on_result=on_result).restore(items)

    assert len(done) == N and all(entry.result.ok for entry in done)
    assert batches == [1, N - 1]  # not one transaction per item
    # each result was reported only once the index held it as restored
    assert sorted(reported) == sorted((item.item_id, ItemState.RESTORED) for item in items)
    assert len(index.restore_log(limit=None)) == N
