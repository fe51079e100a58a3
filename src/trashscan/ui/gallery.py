"""What the gallery shows: the index's trashed photos and videos as tiles, in urgency groups.

Everything a tile says comes from the code the CLI prints with: the filters are ``list``'s own
(:class:`~trashscan.cli.common.FilterArgs`, :func:`~trashscan.cli.common.build_filter`), the
cells (days left with ``~``/``≤`` and windows, purge and deletion dates, size, folder) are
:func:`trashscan.table.cells_of`, the totals are :meth:`Index.totals` with ``list``'s 7 days.
So the gallery and ``trashscan list`` never disagree about an item.

Order and groups: soonest purge first (the earliest plausible purge, as alerts use: never later
than the real one), grouped by how soon: overdue (may be purged at any moment), within a day,
7 days, 30 days, later, and never. Pages are keyset pages (:meth:`Index.page`) of
:data:`PAGE_SIZE` tiles: the first screen costs one page whatever the trash holds, and the next
page starts after the last tile shown, so restoring items meanwhile skips none.

Copies: items whose provider gave the same content hash (the same algorithm: ``md5:`` matches
``md5:`` only) are copies of one another; a tile names the other accounts that hold a copy in
the trash, and says when trashscan restored a copy (the index's own record; nothing else about
live files is known, so nothing else is said).
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from trashscan.models import ItemState

if TYPE_CHECKING:
    from trashscan.cli.app import App
    from trashscan.index import AccountTotals, ItemFilter
    from trashscan.models import IndexedItem

PAGE_SIZE = 120


@dataclass(frozen=True)
class Urgency:
    key: str
    title: str
    within: timedelta | None  # the group's end: purge within this from now (None: no end)


URGENCIES: tuple[Urgency, ...] = (
    Urgency("overdue", "Overdue: may be purged at any moment", timedelta(0)),
    Urgency("day", "Within 1 day", timedelta(days=1)),
    Urgency("week", "Within 7 days", timedelta(days=7)),
    Urgency("month", "Within 30 days", timedelta(days=30)),
    Urgency("later", "Later", None),
    Urgency("never", "Never purged", None),
)
URGENCY_KEYS = tuple(u.key for u in URGENCIES)
_BY_KEY = {u.key: u for u in URGENCIES}

#: A colour per provider, as CSS classes (the stylesheet's ``prov-…``); others share one.
PROVIDER_CLASSES = frozenset(
    {"google-drive", "google-photos", "dropbox", "onedrive", "icloud", "local-trash"}
)


def urgency_of(item: IndexedItem, now: datetime) -> str:
    """The group of an item, by its earliest plausible purge."""
    if item.purge_at is None:
        return "never"
    for urgency in URGENCIES[:4]:
        assert urgency.within is not None
        if item.purge_at <= now + urgency.within:
            return urgency.key
    return "later"


def narrowed(f: ItemFilter, urgency: str | None, now: datetime) -> ItemFilter:
    """``f`` kept to one urgency group (on top of any ``--within`` typed)."""
    if urgency is None:
        return f
    position = URGENCY_KEYS.index(urgency)
    if urgency == "never":
        return dataclasses.replace(f, no_purge=True)  # with a --within too: none match
    end = _BY_KEY[urgency].within
    within = f.expiring_within
    if end is not None:
        within = end if within is None else min(within, end)
    before = URGENCIES[position - 1].within if position > 0 else None
    after = now + before if before is not None else None
    return dataclasses.replace(f, expiring_within=within, purge_after=after)


@dataclass(frozen=True)
class Query:
    """The gallery's filters as the page's form sends them (``list``'s options, by name)."""

    accounts: tuple[str, ...] = ()
    provider: str | None = None
    kind: str | None = None
    name: str | None = None
    deleted_since: str | None = None
    deleted_until: str | None = None
    within: str | None = None
    urgency: str | None = None

    @classmethod
    def read(cls, params: Mapping[str, str], accounts: Sequence[str]) -> Query:
        """From the query string; blank fields are not given. Bad values are refused later,
        with ``list``'s own messages."""

        def value(name: str) -> str | None:
            text = (params.get(name) or "").strip()
            return text or None

        urgency = value("urgency")
        return cls(
            accounts=tuple(a for a in accounts if a.strip()),
            provider=value("provider"),
            kind=value("kind"),
            name=value("name"),
            deleted_since=value("deleted_since"),
            deleted_until=value("deleted_until"),
            within=value("within"),
            urgency=urgency,
        )

    def params(self) -> list[tuple[str, str]]:
        """Back into query-string pairs (the next page's link keeps the filters)."""
        pairs = [("account", a) for a in self.accounts]
        for name in ("provider", "kind", "name", "deleted_since", "deleted_until", "within"):
            if (value := getattr(self, name)) is not None:
                pairs.append((name, value))
        if self.urgency is not None:
            pairs.append(("urgency", self.urgency))
        return pairs

    def given(self) -> bool:
        return bool(self.params())

    def item_filter(self, app: App, now: datetime) -> ItemFilter:
        """``trashscan list``'s filter for these fields (its checks and messages), and the
        urgency group."""
        from trashscan.cli.common import KIND_CHOICES, FilterArgs, build_filter, check_provider
        from trashscan.errors import UsageError

        if self.kind is not None and self.kind not in KIND_CHOICES:
            raise UsageError(f"unknown kind {self.kind!r}", hint="photo, video, other or any")
        if self.urgency is not None and self.urgency not in URGENCY_KEYS:
            raise UsageError(f"unknown urgency {self.urgency!r}", hint=", ".join(URGENCY_KEYS))
        args = FilterArgs(
            provider=self.provider,
            kind=self.kind,
            expiring_within=self.within,
            deleted_since=self.deleted_since,
            deleted_until=self.deleted_until,
            name_glob=self.name,
        )
        selected = check_provider(app.select_accounts(False, self.accounts), self.provider)
        return narrowed(build_filter(selected, args, now), self.urgency, now)


@dataclass
class Tile:
    """One item as a tile (and on its own page): every text already in the CLI's words."""

    item: IndexedItem
    ref: str
    short: str
    group: str
    cells: dict[str, str]
    provider_class: str
    thumb: str  # the thumbnail route, with the version in it (a new version: a new address)
    copies: list[str] = field(default_factory=list)


@dataclass
class Group:
    key: str
    title: str
    count: int | None  # every item of the group the filters match, loaded or not
    tiles: list[Tile] = field(default_factory=list)


@dataclass
class Gallery:
    groups: list[Group]
    totals: list[AccountTotals]
    next_after: str | None  # the ref the next page starts after; None: this was the last
    previous_group: str | None  # the group the page before ended in (no repeated header)


def query_string(query: Query, after: str) -> str:
    """The next page's query string: the same filters, after this ref."""
    from urllib.parse import urlencode

    return urlencode([*query.params(), ("after", after)])


def thumb_url(item: IndexedItem) -> str:
    version = hashlib.sha256(item.thumbnail_key.encode()).hexdigest()[:12]
    return f"/thumb/{item.ref}?v={version}"


def tile(item: IndexedItem, now: datetime, copies: Sequence[IndexedItem] = ()) -> Tile:
    from trashscan.models import SHORT_REF_LEN
    from trashscan.table import cells_of

    provider = item.provider if item.provider in PROVIDER_CLASSES else "other"
    return Tile(
        item=item,
        ref=item.ref,
        short=item.ref[:SHORT_REF_LEN],
        group=urgency_of(item, now),
        cells=cells_of(item, now),
        provider_class=f"prov-{provider}",
        thumb=thumb_url(item),
        copies=copy_notes(item, copies),
    )


def copy_notes(item: IndexedItem, copies: Sequence[IndexedItem]) -> list[str]:
    """What the index knows of other copies of this item's content: in which accounts' trash
    they are, and which trashscan restored. Nothing is said about copies it never saw."""
    notes = []
    for other in copies:
        if other.ref == item.ref:
            continue
        where = f"{other.account} ({other.provider})"
        if other.state is ItemState.TRASHED:
            notes.append(f"copy in the trash of {where}: {other.name}")
        elif other.state is ItemState.RESTORED:
            notes.append(f"a copy was restored by trashscan in {where}: {other.name}")
    return notes


def build(
    app: App, query: Query, now: datetime, after: str | None = None, size: int = PAGE_SIZE
) -> Gallery:
    """One page of tiles, grouped; the first page also carries the totals and group counts."""
    from trashscan.table import DUE_SOON

    index = app.index
    item_filter = query.item_filter(app, now)
    items = index.page(item_filter, now, size + 1, after)
    more = len(items) > size
    items = items[:size]
    copies = index.copies([item.content_hash for item in items if item.content_hash])
    previous = None
    if after is not None:
        last = index.by_ref(after)
        previous = urgency_of(last, now) if last is not None else None
    first = after is None
    groups: list[Group] = []
    for item in items:
        shown = tile(item, now, copies.get(item.content_hash or "", ()))
        if not groups or groups[-1].key != shown.group:
            urgency = _BY_KEY[shown.group]
            count = _count(app, item_filter, urgency.key, now) if first else None
            groups.append(Group(urgency.key, urgency.title, count))
        groups[-1].tiles.append(shown)
    totals = index.totals(item_filter, now, DUE_SOON) if first else []
    return Gallery(groups, totals, items[-1].ref if more and items else None, previous)


def _count(app: App, item_filter: ItemFilter, urgency: str, now: datetime) -> int:
    """How many items of one group the filters match (one aggregate query)."""
    from trashscan.table import DUE_SOON

    totals = app.index.totals(narrowed(item_filter, urgency, now), now, DUE_SOON)
    return sum(t.items for t in totals)
