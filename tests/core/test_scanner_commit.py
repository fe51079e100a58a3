"""The commit acknowledgement: a plugin's generator resumes only once its page is in the index.

A plugin advances its private state (a mirror row, a cursor) in the code after a ``yield``; the
scanner must therefore not resume it before the page's transaction committed, and must close it
(``GeneratorExit`` at that ``yield``) when the commit fails or the run is interrupted.
"""

from __future__ import annotations

from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

import trashscan.scanner
from trashscan.errors import IndexStoreError
from trashscan.index import Index, ScanStatus
from trashscan.models import Account, Page, ScanOutcome, TrashItem
from trashscan.provider import Capabilities, Provider
from trashscan.scanner import Scanner
from trashscan.testing import file_context

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
PAGES = 3
LOCKED = IndexStoreError("index x.db: database is locked", hint="another trashscan may be writing")


class Journal:
    """What happened, in order, across the worker threads and the committing thread."""

    def __init__(self, index: Index) -> None:
        self.index = index
        self.events: list[tuple[str, str, int]] = []

    def committed(self, account: str, n: int) -> bool:
        return self.index.get(ScriptedProvider.name, account, f"{account}-{n}") is not None


class ScriptedProvider(Provider):
    """Yields PAGES pages of one item each; after each ``yield`` it "advances its state"."""

    name = "scripted"
    display_name = "Scripted"
    capabilities = Capabilities(list=True, restore=False)
    journal: ClassVar[Journal]

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        n = 0
        try:
            for n in range(1, PAGES + 1):
                yield Page(items=[TrashItem(f"{account.name}-{n}", f"{n}.jpg")])
                # Private state advances here: the page must be durable by now.
                seen = "resumed" if self.journal.committed(account.name, n) else "ran ahead"
                self.journal.events.append((seen, account.name, n))
        except GeneratorExit:
            self.journal.events.append(("closed", account.name, n))
            raise
        return ScanOutcome({"pages": PAGES}, complete_listing=False)


class FailingIndex(Index):
    """An index whose commits fail (or are interrupted) for one account, from a given page."""

    fail_account: str | None = None
    fail_at: int = 1
    fail_with: BaseException = LOCKED
    fail_finish: bool = False

    def write_page(self, scan_id: int, provider: str, account: str, page: Page, now: Any) -> int:
        n = int(page.items[0].item_id.rsplit("-", 1)[1])
        if account == self.fail_account and n >= self.fail_at:
            raise self.fail_with
        return super().write_page(scan_id, provider, account, page, now)

    def finish_scan(self, scan_id: int, outcome: ScanOutcome, now: Any) -> int:
        if self.fail_finish:
            raise self.fail_with
        return super().finish_scan(scan_id, outcome, now)


@pytest.fixture
def run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    index = FailingIndex.open(f"sqlite:///{tmp_path / 'index.db'}")
    assert isinstance(index, FailingIndex)
    journal = ScriptedProvider.journal = Journal(index)
    monkeypatch.setattr(trashscan.scanner, "load_provider_class", lambda name: ScriptedProvider)
    context = file_context(tmp_path, NOW)
    accounts = [Account(name, ScriptedProvider.name) for name in ("one", "two")]

    def scan() -> list[trashscan.scanner.AccountScanResult]:
        return Scanner(index, context, concurrency=2, lock_wait=0).scan(accounts)

    yield index, journal, scan
    index.close()


def _of(journal: Journal, account: str) -> list[tuple[str, int]]:
    return [(what, n) for what, name, n in journal.events if name == account]


def test_a_plugin_resumes_only_after_its_page_is_committed(run) -> None:
    index, journal, scan = run
    results = scan()
    assert [r.ok for r in results] == [True, True], [r.error for r in results]
    for account in ("one", "two"):
        assert _of(journal, account) == [("resumed", n) for n in range(1, PAGES + 1)]
        assert index.scan_state(ScriptedProvider.name, account) == {"pages": PAGES}


def test_a_refused_commit_fails_the_account_and_its_plugin_advances_nothing(run) -> None:
    index, journal, scan = run
    index.fail_account, index.fail_at = "one", 2
    one, two = scan()
    # one line naming the real cause, for this account only
    assert not one.ok and one.error == LOCKED.one_line()
    assert two.ok and two.items == PAGES
    # page 1 committed and acknowledged; page 2 refused: the plugin was closed at its yield
    assert _of(journal, "one") == [("resumed", 1), ("closed", 2)]
    record = index.last_scan(ScriptedProvider.name, "one")
    assert record is not None and record.status is ScanStatus.FAILED
    assert record.error == LOCKED.one_line()
    assert index.scan_state(ScriptedProvider.name, "one") is None


def test_a_refused_final_commit_fails_the_account_not_the_run(run) -> None:
    index, _journal, scan = run
    index.fail_finish = True
    results = scan()
    assert [(r.ok, r.error) for r in results] == [(False, LOCKED.one_line())] * 2
    assert index.scan_state(ScriptedProvider.name, "one") is None


def test_an_interrupt_before_a_commit_closes_the_plugin_at_that_page(run) -> None:
    index, journal, scan = run
    index.fail_account, index.fail_at, index.fail_with = "one", 2, KeyboardInterrupt()
    with pytest.raises(KeyboardInterrupt):
        scan()
    # the run ended (no worker left waiting for an acknowledgement), and "one" never went past
    # the page that was not committed
    assert ("ran ahead", "one", 2) not in journal.events
    assert _of(journal, "one")[-1] == ("closed", 2)
    assert not journal.committed("one", 2)
