"""The plugin through the core's Scanner and Index: a first scan, then a restoration seen later."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from trashscan.index import Index, ItemFilter
from trashscan.models import DeletedAtSource, ItemState
from trashscan.scanner import Scanner

from .conftest import (
    DELETED_AT_DT,
    LIST_BODY,
    NOW,
    Harness,
    account,
    deleted,
    file_md,
    full_account,
    listing,
)


def test_scan_into_the_index_then_an_incremental_scan(dbx: Harness, tmp_path: Path) -> None:
    index = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    scanner = Scanner(index, dbx.context, lock_wait=0)
    acct = account()

    dbx.rpc("users/get_current_account", None, full_account("business"))
    dbx.rpc(
        "files/list_folder",
        LIST_BODY,
        listing([deleted("/a.jpg"), deleted("/b.mov")], cursor="c1"),
    )
    dbx.lost("/a.jpg", by_id=False)  # its path's list_revisions: no live file has its id
    dbx.lost("/b.mov", by_id=False)
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    assert index.scan_state("dropbox", acct.name) == {"cursor": "c1", "account_type": "business"}
    rows = {i.item_id: i for i in index.items(ItemFilter(), NOW)}
    assert set(rows) == {"/a.jpg", "/b.mov"}
    assert rows["/a.jpg"].purge_at == DELETED_AT_DT + timedelta(days=180)
    assert rows["/a.jpg"].deleted_at_source is DeletedAtSource.API
    assert rows["/b.mov"].kind.value == "video"

    # Later, /a.jpg was restored on the web: the feed shows the live file.
    dbx.rpc("files/list_folder/continue", {"cursor": "c1"}, listing([file_md("/a.jpg")], "c2"))
    (result,) = scanner.scan([acct])
    assert result.ok, result.error
    states = {i.item_id: i.state for i in index.items(ItemFilter(states=frozenset(ItemState)), NOW)}
    assert states == {"/a.jpg": ItemState.GONE, "/b.mov": ItemState.TRASHED}
    assert index.scan_state("dropbox", acct.name) == {"cursor": "c2", "account_type": "business"}
