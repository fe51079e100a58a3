"""Fixtures for the local-trash plugin tests: real trash directories under tmp_path."""

from __future__ import annotations

import os
import time
from collections.abc import Generator
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import quote

import pytest

from trashscan.models import (
    Account,
    IndexedItem,
    ItemState,
    Kind,
    Page,
    ScanOutcome,
    TrashItem,
    item_ref,
)
from trashscan.provider import ProviderContext
from trashscan_local_trash.plugin import LocalTrashProvider

NOW = datetime(2024, 6, 1, 12, 0, tzinfo=UTC)


class Trash:
    """A trash directory (``info/`` + ``files/``) that tests fill with real files."""

    def __init__(self, path: Path) -> None:
        self.path = path
        (path / "info").mkdir(parents=True, exist_ok=True)
        (path / "files").mkdir(parents=True, exist_ok=True)

    def info(self, stored: str, text: str) -> Path:
        info = self.path / "info" / f"{stored}.trashinfo"
        info.write_text(text, encoding="utf-8")
        return info

    def add(
        self,
        path_value: str,
        stored: str | None = None,
        content: bytes | None = None,
        date: str = "2024-05-30T10:00:00",
    ) -> Path:
        """Trash a file: ``path_value`` is the (unencoded) Path= value, absolute or relative."""
        stored = stored or Path(path_value).name
        self.info(stored, f"[Trash Info]\nPath={quote(path_value)}\nDeletionDate={date}\n")
        target = self.path / "files" / stored
        target.write_bytes(content if content is not None else f"data of {stored}".encode())
        return target


def account(name: str = "a", **options: object) -> Account:
    return Account(name=name, provider="local-trash", options=options)


def scan_pages(provider: LocalTrashProvider, acct: Account) -> tuple[list[Page], ScanOutcome]:
    gen = provider.scan(acct, None)
    pages: list[Page] = []
    while True:
        try:
            pages.append(next(gen))
        except StopIteration as stop:
            return pages, stop.value


def scan_items(provider: LocalTrashProvider, acct: Account) -> dict[str, TrashItem]:
    pages, _ = scan_pages(provider, acct)
    return {item.name: item for page in pages for item in page.items}


def indexed(item: TrashItem, acct: str = "a") -> IndexedItem:
    return IndexedItem(
        ref=item_ref("local-trash", acct, item.item_id),
        provider="local-trash",
        account=acct,
        item_id=item.item_id,
        name=item.name,
        path=item.path,
        kind=item.kind or Kind.OTHER,
        mime_type=item.mime_type,
        size=item.size,
        deleted_at=item.deleted_at,
        deleted_at_source=item.deleted_at_source,
        purge_at=item.purge_at,
        purge_is_estimate=item.purge_is_estimate,
        restorable=item.restorable,
        not_restorable_reason=item.not_restorable_reason,
        restore_handle=item.restore_handle,
        thumbnail_url=item.thumbnail_url,
        first_seen=NOW,
        last_seen=NOW,
        state=ItemState.TRASHED,
    )


@pytest.fixture
def provider(tmp_path: Path) -> LocalTrashProvider:
    context = ProviderContext(
        secrets=None,  # type: ignore[arg-type]  # unused by this plugin
        retry=None,  # type: ignore[arg-type]
        clock=lambda: NOW,
        data_dir=tmp_path / "data",
    )
    return LocalTrashProvider(context)


@pytest.fixture
def trash(tmp_path: Path) -> Trash:
    return Trash(tmp_path / "Trash")


@pytest.fixture
def home(tmp_path: Path) -> Path:
    """Where the originals of the home trash lived."""
    path = tmp_path / "home"
    path.mkdir()
    return path


@pytest.fixture
def tokyo() -> Generator[None, None, None]:
    """Local time is UTC+9 (a POSIX TZ string: no tzdata needed)."""
    previous = os.environ.get("TZ")
    os.environ["TZ"] = "JST-9"
    time.tzset()
    try:
        yield
    finally:
        if previous is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = previous
        time.tzset()
