"""The gallery's model (trashscan.ui.gallery) on a real SQLite index: urgency groups, keyset
pages, the number of queries a first screen costs, copies by content hash."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from trashscan.cli.app import App
from trashscan.index import Index, ItemFilter
from trashscan.models import (
    DeletedAtSource,
    ItemState,
    Page,
    RestoreOutcome,
    RestoreResult,
    ScanOutcome,
    TrashItem,
)
from trashscan.ui import gallery

NOW = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
PROVIDER = "local-trash"


class PinnedApp(App):
    def now(self) -> datetime:
        return NOW


@pytest.fixture
def app(tmp_path: Path) -> PinnedApp:
    config = tmp_path / "config.toml"
    lines = [f'[index]\nurl = "sqlite:///{tmp_path / "index.db"}"\n']
    for name in ("alpha", "beta"):
        (tmp_path / name).mkdir()
        lines.append(
            f'[[accounts]]\nname = "{name}"\nprovider = "{PROVIDER}"\n'
            f'trash_dirs = "{tmp_path / name}"\ninclude_volumes = false\n'
        )
    config.write_text("\n".join(lines))
    return PinnedApp(str(config), False)


def fill(index: Index, account: str, items: list[TrashItem]) -> None:
    scan_id = index.begin_scan(PROVIDER, account, NOW)
    index.write_page(scan_id, PROVIDER, account, Page(items=items), NOW)
    index.finish_scan(scan_id, ScanOutcome(state=None, complete_listing=True), NOW)


def photo(item_id: str, purge: timedelta | None, **kw: object) -> TrashItem:
    return TrashItem(
        item_id=item_id,
        name=f"{item_id}.jpg",
        deleted_at=NOW - timedelta(days=1),
        deleted_at_source=DeletedAtSource.API,
        deleted_after=NOW - timedelta(days=1),
        purge_at=None if purge is None else NOW + purge,
        purge_is_estimate=False,
        **kw,  # type: ignore[arg-type]
    )


GROUPED = {
    "overdue": timedelta(hours=-3),
    "day": timedelta(hours=12),
    "week": timedelta(days=3),
    "month": timedelta(days=20),
    "later": timedelta(days=60),
    "never": None,
}


def refs(page: gallery.Gallery) -> list[str]:
    return [t.item.item_id for group in page.groups for t in group.tiles]


def test_groups_come_soonest_first_with_their_counts(app: PinnedApp) -> None:
    fill(app.index, "alpha", [photo(key, purge) for key, purge in reversed(GROUPED.items())])
    page = gallery.build(app, gallery.Query(), NOW)
    assert [g.key for g in page.groups] == list(GROUPED)
    assert refs(page) == list(GROUPED)
    assert all(g.count == 1 for g in page.groups)
    assert page.groups[0].title.startswith("Overdue")
    assert page.next_after is None


@pytest.mark.parametrize("key", list(GROUPED))
def test_an_urgency_filter_keeps_its_group_only(app: PinnedApp, key: str) -> None:
    fill(app.index, "alpha", [photo(k, purge) for k, purge in GROUPED.items()])
    page = gallery.build(app, gallery.Query(urgency=key), NOW)
    assert refs(page) == [key]


def test_an_urgency_within_a_typed_window_is_their_intersection(app: PinnedApp) -> None:
    fill(app.index, "alpha", [photo(k, purge) for k, purge in GROUPED.items()])
    assert refs(gallery.build(app, gallery.Query(urgency="month", within="10d"), NOW)) == []
    assert refs(gallery.build(app, gallery.Query(urgency="week", within="10d"), NOW)) == ["week"]
    assert refs(gallery.build(app, gallery.Query(urgency="never", within="10d"), NOW)) == []


def test_keyset_pages_cover_every_item_once_even_when_items_are_restored_between(
    app: PinnedApp,
) -> None:
    items = [photo(f"p{n:03d}", timedelta(hours=n % 50 - 10)) for n in range(60)]
    items += [photo(f"n{n:03d}", None) for n in range(15)]
    fill(app.index, "alpha", items[::2])
    fill(app.index, "beta", items[1::2])
    everything = [i.item_id for i in app.index.items(ItemFilter(), NOW)]
    seen: list[str] = []
    after = None
    while True:
        page = gallery.build(app, gallery.Query(), NOW, after, size=7)
        got = refs(page)
        seen += got
        if len(seen) == 14:  # restore the next page's first item and one already shown
            trashed = {i.item_id: i for i in app.index.items(ItemFilter(), NOW)}
            for item_id in (seen[3], everything[14]):
                result = RestoreResult(item_id, RestoreOutcome.RESTORED)
                app.index.record_restore(trashed[item_id], result, "me", False, NOW)
        if page.next_after is None:
            break
        after = page.next_after
    expected = [i for i in everything if i != everything[14]]
    assert seen == expected


def test_a_page_continuing_a_group_knows_it(app: PinnedApp) -> None:
    fill(app.index, "alpha", [photo(f"w{n}", timedelta(days=2, hours=n)) for n in range(5)])
    first = gallery.build(app, gallery.Query(), NOW, size=2)
    second = gallery.build(app, gallery.Query(), NOW, first.next_after, size=2)
    assert first.previous_group is None and second.previous_group == "week"
    assert second.groups[0].count is None  # counted on the first page only
    assert first.totals and not second.totals


def count_queries(index: Index) -> list[str]:
    seen: list[str] = []
    sa.event.listen(
        index._engine, "before_cursor_execute", lambda *args: seen.append(args[2]), retval=False
    )
    return seen


@pytest.mark.parametrize("count", [30, 3000])
def test_the_first_screen_costs_the_same_queries_whatever_the_trash_holds(
    app: PinnedApp, count: int
) -> None:
    items = [
        photo(f"i{n:05d}", timedelta(days=n % 90 - 5), content_hash=f"md5:{n % 400:x}")
        for n in range(count)
    ]
    fill(app.index, "alpha", items)
    queries = count_queries(app.index)
    page = gallery.build(app, gallery.Query(), NOW)
    shown = sum(len(g.tiles) for g in page.groups)
    assert shown == min(count, gallery.PAGE_SIZE)
    # one page, one copies lookup, the totals and one count per group shown: never per item
    assert len([q for q in queries if q.lstrip().upper().startswith("SELECT")]) <= 3 + len(
        page.groups
    )


def test_copies_are_items_with_the_same_hash_of_the_same_kind(app: PinnedApp) -> None:
    fill(
        app.index,
        "alpha",
        [
            photo("a1", timedelta(days=3), content_hash="md5:abc"),
            photo("a2", timedelta(days=4), content_hash="sha1:abc"),
            photo("a3", timedelta(days=5), content_hash="md5:restored"),
        ],
    )
    fill(
        app.index,
        "beta",
        [
            photo("b1", timedelta(days=6), content_hash="md5:abc"),
            photo("b3", timedelta(days=7), content_hash="md5:restored"),
            photo("b4", timedelta(days=8)),
        ],
    )
    b3 = next(i for i in app.index.items(ItemFilter(), NOW) if i.item_id == "b3")
    app.index.record_restore(b3, RestoreResult("b3", RestoreOutcome.RESTORED), "me", False, NOW)
    page = gallery.build(app, gallery.Query(), NOW)
    copies = {t.item.item_id: t.copies for g in page.groups for t in g.tiles}
    assert copies["a1"] == [f"copy in the trash of beta ({PROVIDER}): b1.jpg"]
    assert copies["b1"] == [f"copy in the trash of alpha ({PROVIDER}): a1.jpg"]
    assert copies["a2"] == []  # sha1:abc is not md5:abc
    assert copies["a3"] == [f"a copy was restored by trashscan in beta ({PROVIDER}): b3.jpg"]
    assert copies["b4"] == []
    assert app.index.by_ref(b3.ref).state is ItemState.RESTORED  # type: ignore[union-attr]


def test_the_cli_filter_messages_are_kept(app: PinnedApp) -> None:
    from trashscan.errors import UsageError

    with pytest.raises(UsageError, match="nobody"):
        gallery.build(app, gallery.Query(accounts=("nobody",)), NOW)
    with pytest.raises(UsageError, match="kind"):
        gallery.build(app, gallery.Query(kind="pictures"), NOW)
    with pytest.raises(UsageError, match="urgency"):
        gallery.build(app, gallery.Query(urgency="soon"), NOW)
