"""OneDrive personal: the content hash kept in the mirror (the key a captured picture is found
by once its photo is deleted), and the mirror's live photos as the capture reads them."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from trashscan.models import IndexedItem, ItemState, Kind
from trashscan_onedrive import thumbnails
from trashscan_onedrive.mirror import Entry, Mirror, live_media
from trashscan_onedrive.personal import content_hash


def test_the_hash_prefers_what_other_providers_can_match() -> None:
    both = {"sha1Hash": "ABCDEF", "quickXorHash": "qx=="}
    assert content_hash(both) == "sha1:abcdef"
    assert content_hash({"sha256Hash": "FF", **both}) == "sha256:ff"
    assert content_hash({"quickXorHash": "qx=="}) == "quickxor:qx=="
    assert content_hash({}) is None


def test_an_older_mirror_gains_the_hash_column_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "mirror.sqlite"
    old = sqlite3.connect(path)
    old.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('version', '1');"
        "CREATE TABLE items (id TEXT PRIMARY KEY, parent_id TEXT, name TEXT NOT NULL,"
        " folder INTEGER NOT NULL, size INTEGER, mime TEXT, etag TEXT, deleted_at TEXT,"
        " via TEXT, pending INTEGER NOT NULL DEFAULT 0, seen INTEGER NOT NULL DEFAULT 1);"
        "INSERT INTO items (id, name, folder, etag) VALUES ('a', 'a.jpg', 0, 'e1');"
    )
    old.commit()
    old.close()
    assert [(p.id, p.hash, p.etag) for p in live_media(path)] == [("a", None, "e1")]
    mirror = Mirror(path)
    try:
        row = mirror.row("a")
        assert row is not None and (row["hash"], row["etag"]) == (None, "e1")
        with mirror.transaction():
            mirror.apply([Entry("b", "b.jpg", None, False, True, False, 5, None, "e2", "sha1:bb")])
    finally:
        mirror.close()
    assert [(p.id, p.hash) for p in live_media(path)] == [("b", "sha1:bb"), ("a", None)]


def test_live_media_are_the_newest_first_and_never_the_deleted_or_pending(tmp_path: Path) -> None:
    mirror = Mirror(tmp_path / "mirror.sqlite")
    try:
        with mirror.transaction():
            mirror.apply(
                [
                    Entry("f", "Pictures", None, True, False, False),
                    *(Entry(i, f"{i}.jpg", "f", False, True, False, hash=f"h{i}") for i in "abcd"),
                ]
            )
        with mirror.transaction():
            mirror.apply([Entry("c", "c.jpg", "f", False, True, True)])  # deleted: pending
    finally:
        mirror.close()
    assert [p.id for p in live_media(tmp_path / "mirror.sqlite")] == ["d", "b", "a"]
    assert list(live_media(tmp_path / "absent.sqlite")) == []


def test_a_deleted_item_is_never_asked_about() -> None:
    def item(handle: dict) -> IndexedItem:
        return IndexedItem(
            ref="r" * 40, provider="onedrive", account="a", item_id="x", name="x.jpg",
            path=None, kind=Kind.PHOTO, mime_type=None, size=None, deleted_at=None,
            deleted_at_source="changes", purge_at=None, purge_is_estimate=True, restorable=True,
            not_restorable_reason=None, restore_handle=handle, first_seen=None,
            last_seen=None, state=ItemState.TRASHED,
        )  # type: ignore[arg-type]  # fmt: skip

    [personal] = thumbnails.trashed([item({"id": "x"})])
    [business] = thumbnails.trashed([item({"site_id": "s", "id": "x"})])
    assert personal.missing == thumbnails.PERSONAL_NONE
    assert business.missing == thumbnails.BUSINESS_NONE
