"""The restore plan's notes: each provider is asked about the items it will get, and only those;
one that cannot look ahead is named once and blocks nothing."""

from __future__ import annotations

from collections.abc import Generator, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar

import pytest

import trashscan.restore_plan
from trashscan.config import Config
from trashscan.errors import AccountError
from trashscan.models import (
    Account,
    DeletedAtSource,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    ScanOutcome,
    item_ref,
)
from trashscan.provider import Provider, ProviderContext
from trashscan.restore_plan import plan_notes
from trashscan.retry import RetryPolicy
from trashscan.testing import MemorySecretStore

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


class Noting(Provider):
    name = "noting"
    display_name = "Noting"
    asked: ClassVar[list[tuple[str, list[str]]]] = []

    def scan(self, account: Account, state: dict | None) -> Generator[Page, None, ScanOutcome]:
        raise NotImplementedError
        yield  # a generator

    def plan_notes(self, account: Account, items: Sequence[IndexedItem]) -> Mapping[str, str]:
        if account.name == "offline":
            raise AccountError("connection to example.com failed")
        self.asked.append((account.name, [i.item_id for i in items]))
        return {"a": "its folder is restored first", "b": "", "not-asked": "nonsense"}


def item(account: str, item_id: str, state: ItemState = ItemState.TRASHED) -> IndexedItem:
    return IndexedItem(
        ref=item_ref("noting", account, item_id),
        provider="noting",
        account=account,
        item_id=item_id,
        name=f"{item_id}.jpg",
        path=None,
        kind=Kind.PHOTO,
        mime_type=None,
        size=None,
        deleted_at=NOW,
        deleted_at_source=DeletedAtSource.API,
        purge_at=None,
        purge_is_estimate=False,
        restorable=True,
        not_restorable_reason=None,
        restore_handle={},
        first_seen=NOW,
        last_seen=NOW,
        state=state,
    )


def test_notes_by_ref_for_the_items_sent_and_one_line_per_account_that_failed(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(trashscan.restore_plan, "load_provider_class", lambda name: Noting)
    Noting.asked = []
    config = Config(
        tmp_path / "config.toml",
        True,
        accounts=(Account("home", "noting"), Account("offline", "noting")),
    )
    context = ProviderContext(MemorySecretStore(), RetryPolicy(), lambda: NOW, tmp_path)
    items: list[Any] = [
        item("home", "a"),
        item("home", "b"),
        item("home", "c", ItemState.RESTORED),  # never sent to the provider: not asked about
        item("offline", "d"),
    ]

    plan = plan_notes(items, config, context)

    assert plan.notes == {items[0].ref: "its folder is restored first"}
    assert Noting.asked == [("home", ["a", "b"])]
    assert plan.problems == [
        "could not look ahead for account 'offline' (noting): connection to example.com failed"
    ]
