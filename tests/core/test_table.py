"""The item table at the widths people use: what is needed to act on an item stays whole.

Rendered by a rich console of a fixed width (80: a default terminal, 120: a wide one), the way
``trashscan list`` and a restore plan print it on a terminal.
"""

from __future__ import annotations

import io
import re
from datetime import UTC, datetime, timedelta

import pytest
from rich.cells import cell_len
from rich.console import Console

from trashscan.index import AccountTotals
from trashscan.models import DeletedAtSource, IndexedItem, ItemState, Kind, item_ref
from trashscan.table import (
    PROVIDER_TAGS,
    print_listing,
    print_table,
    provider_tag,
    shorten_left,
    shorten_middle,
    totals_lines,
)

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
DAY = timedelta(days=1)
RAW = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\u2028\u2029]")
HOSTILE = "evil\x1b[31m\nOK: nothing will be purged.jpg"


def entry(
    provider: str,
    account: str,
    name: str,
    path: str | None,
    *,
    purge_in: float | None,
    latest_in: float | None = None,
    deleted_after: bool = True,
    estimate: bool = False,
    restorable: bool = True,
    size: int | None = 3_500_000,
    kind: Kind = Kind.PHOTO,
) -> IndexedItem:
    purge = NOW + purge_in * DAY if purge_in is not None else None
    return IndexedItem(
        ref=item_ref(provider, account, f"{path}/{name}"),
        provider=provider,
        account=account,
        item_id=f"{path}/{name}",
        name=name,
        path=path,
        kind=kind,
        mime_type=None,
        size=size,
        deleted_at=NOW - 3 * DAY,
        deleted_at_source=DeletedAtSource.OBSERVED if estimate else DeletedAtSource.API,
        purge_at=purge,
        purge_is_estimate=estimate,
        restorable=restorable,
        not_restorable_reason=None if restorable else "canUntrash is false",
        restore_handle={},
        first_seen=NOW,
        last_seen=NOW,
        state=ItemState.TRASHED,
        deleted_after=NOW - 4 * DAY if deleted_after else None,
        purge_latest=NOW + latest_in * DAY if latest_in is not None else None,
    )


# (item, the days-left cell a person must see whole)
ITEMS = [
    (
        entry("google-drive", "alice", "IMG_20240101_120000_0001.jpg",
              "Photos/Holiday 2024/IMG_20240101_120000_0001.jpg", purge_in=3.2),
        "3d",
    ),
    (entry("dropbox", "carol", "IMG_0001.jpg", "/Camera Uploads/2025 Trip/IMG_0001.jpg",
           purge_in=10.5, estimate=True), "~10d"),
    (entry("local-trash", "laptop", "IMG_0001.jpg", "/home/me/Pictures/2023/IMG_0001.jpg",
           purge_in=-2, estimate=True), "overdue"),
    (entry("onedrive", "frank", "VID_2002.mov", "/Pictures/Camera Roll/VID_2002.mov",
           purge_in=3.5, latest_in=12.5, estimate=True, kind=Kind.VIDEO), "3–12d"),
    (entry("google-drive", "photos-bob", "PXL_20260919_214750032.jpg", None, purge_in=-1,
           latest_in=29.5, estimate=True, deleted_after=False), "≤29d"),
    (entry("icloud", "grace", "IMG_3014.HEIC", None, purge_in=0.4), "0d"),
    (entry("local-trash", "usb-stick", "MVI_1236.MOV", "/media/usb/DCIM/100CANON/MVI_1236.MOV",
           purge_in=None, kind=Kind.VIDEO, size=None), "-"),
    (entry("google-drive", "alice", "Running club.jpg", "Running Club/Running club.jpg",
           purge_in=26, restorable=False), "26d"),
    (entry("local-trash", "laptop", HOSTILE, f"/home/me/{HOSTILE}", purge_in=15), "15d"),
]  # fmt: skip


def render(width: int) -> list[str]:
    out = io.StringIO()
    console = Console(file=out, width=width, markup=False, highlight=False, emoji=False)
    print_table(console, [item for item, _ in ITEMS], NOW)
    return out.getvalue().splitlines()


def row_of(lines: list[str], item: IndexedItem) -> str:
    (row,) = [line for line in lines if line.startswith(item.ref[:8] + " ")]
    return row


@pytest.mark.parametrize("width", [60, 80, 100, 120, 200])
def test_refs_accounts_days_left_and_restorable_stay_whole(width: int) -> None:
    lines = render(width)
    assert all(cell_len(line) <= width for line in lines), lines
    assert len(lines) == 1 + len(ITEMS)  # a header and one line per item: nothing wrapped
    header = lines[0].split()
    assert header[0] == "ref" and header[-2:] == ["left", "restorable"] and "name" in header
    for item, left in ITEMS:
        row = row_of(lines, item)  # the whole short ref, at the start of its own line
        cells = row.split()
        assert cells[-2:] == [left, "yes" if item.restorable else "no"], row
        assert f" {item.account} " in row, row
    assert not any(RAW.search(line) for line in lines)


def test_at_80_columns_the_name_is_shortened_in_the_middle_and_folders_tell_apart() -> None:
    lines = render(80)
    header = lines[0].split()
    assert header == ["ref", "prov", "account", "name", "folder", "left", "restorable"]
    long_name = row_of(lines, ITEMS[0][0])
    shown = re.search(r"(\S*…\S*)\s", long_name[10:])
    assert shown is not None, long_name
    head, _, tail = shown.group(1).partition("…")
    assert len(head) >= 6 and "IMG_20240101_120000_0001.jpg".startswith(head)
    assert tail.endswith(".jpg") and "IMG_20240101_120000_0001.jpg".endswith(tail)
    carol, laptop = row_of(lines, ITEMS[1][0]), row_of(lines, ITEMS[2][0])
    assert "IMG_0001.jpg" in carol and "IMG_0001.jpg" in laptop
    assert "2025 Trip" in carol and "2023" in laptop  # the two IMG_0001.jpg told apart
    assert carol.split()[1] == PROVIDER_TAGS["dropbox"]
    assert laptop.split()[1] == PROVIDER_TAGS["local-trash"]
    hostile = row_of(lines, ITEMS[8][0])
    assert hostile.split()[3].startswith("evil\\x1b")  # escaped, then shortened


def test_at_120_columns_names_folders_and_sizes_are_whole() -> None:
    lines = render(120)
    header = lines[0].split()
    assert {"provider", "name", "folder", "size"} <= set(header)
    assert not {"deleted", "kind"} & set(header)  # the first to go
    row = row_of(lines, ITEMS[0][0])
    assert "google-drive" in row and "IMG_20240101_120000_0001.jpg" in row
    assert "Photos/Holiday 2024" in row and "3.3 MB" in row
    assert "/Camera Uploads/2025 Trip" in row_of(lines, ITEMS[1][0])
    assert "/home/me/Pictures/2023" in row_of(lines, ITEMS[2][0])
    hostile = row_of(lines, ITEMS[8][0])  # the one outlier is shortened, escaped
    assert "evil\\x1b[31m\\n…" in hostile and "be purged.jpg" in hostile


def test_with_room_the_purge_date_comes_back_before_kind_and_deletion() -> None:
    lines = render(150)
    assert {"purge", "left"} <= set(lines[0].split())
    window = row_of(lines, ITEMS[3][0])
    assert "≤2026-03-15" in window and "3–12d" in window
    assert "evil\\x1b[31m\\nOK: nothing will be purged.jpg" in row_of(lines, ITEMS[8][0])
    assert {"kind", "deleted"} <= set(render(220)[0].split())


def test_a_pipe_gets_every_column_whole() -> None:
    out = io.StringIO()
    console = Console(file=out, width=100_000, markup=False, highlight=False, emoji=False)
    print_table(console, [item for item, _ in ITEMS], NOW)
    text = out.getvalue()
    assert "…" not in text
    assert "/media/usb/DCIM/100CANON" in text and "google-drive" in text


def test_shortening_keeps_what_tells_items_apart() -> None:
    assert shorten_middle("IMG_20240101_0001.jpg", 17) == "IMG_2024…0001.jpg"
    assert shorten_middle("short.jpg", 17) == "short.jpg"
    assert shorten_middle("日本語の写真ファイル.jpg", 12) == "日本語….jpg"  # wide characters
    assert cell_len(shorten_middle("日本語の写真ファイル.jpg", 12)) <= 12
    assert shorten_left("/home/me/Pictures/2023", 12) == "…/2023"
    assert shorten_left("/Camera Uploads/2025 Trip", 16) == "…/2025 Trip"
    assert shorten_left("Holiday Photos", 8) == "… Photos"


def test_provider_tags_are_defined_once_and_derived_for_other_plugins() -> None:
    assert provider_tag("google-drive") == "gd" and provider_tag("dropbox") == "dbx"
    assert provider_tag("my-cloud") == "mc"
    assert len(set(PROVIDER_TAGS.values())) == len(PROVIDER_TAGS)


def test_totals_per_account_and_due_within_7_days() -> None:
    totals = [
        AccountTotals("dropbox", "carol", items=3, size=3 * 1024**2, unsized=0, due=1),
        AccountTotals("google-drive", "alice", items=120, size=2 * 1024**3, unsized=2, due=14),
    ]
    assert totals_lines(totals) == [
        "total: 123 items, 2.0 GB (+2 of unknown size), 15 due within 7 days",
        "  alice  120 items  2.0 GB (+2 of unknown size)  14 due within 7 days",
        "  carol    3 items                       3.0 MB   1 due within 7 days",
    ]
    one = [AccountTotals("dropbox", "carol", items=1, size=10, unsized=0, due=0)]
    assert totals_lines(one) == ["total: 1 item, 10 B, 0 due within 7 days"]


def test_each_account_line_says_its_soonest_purge() -> None:
    """The earliest plausible purge of the account's items: a date, or 'any day' once it is
    past (an item of unknown age may go at any moment); nothing for items never purged."""
    totals = [
        AccountTotals("dropbox", "carol", 3, 30, 0, 1, soonest=NOW + timedelta(days=2)),
        AccountTotals("google-drive", "bob", 5, 50, 0, 5, soonest=NOW - timedelta(hours=1)),
        AccountTotals("local-trash", "laptop", 2, 20, 0, 0, soonest=None),
    ]
    day = (NOW + timedelta(days=2)).date().isoformat()
    assert totals_lines(totals, NOW)[1:] == [
        "  bob     5 items  50 B  5 due within 7 days  soonest any day",
        f"  carol   3 items  30 B  1 due within 7 days  soonest {day}",
        "  laptop  2 items  20 B  0 due within 7 days",
    ]


def test_the_listing_ends_with_totals_and_what_its_marks_mean() -> None:
    out = io.StringIO()
    console = Console(file=out, width=80, markup=False, highlight=False, emoji=False)
    totals = [AccountTotals("dropbox", "carol", items=5_000, size=10, unsized=0, due=7)]
    print_listing(console, [item for item, _ in ITEMS], totals, NOW)
    lines = out.getvalue().splitlines()
    assert all(cell_len(line) <= 80 for line in lines)
    assert "total: 5,000 items, 10 B, 7 due within 7 days" in lines  # not the 9 rows shown
    legend = " ".join(line.strip() for line in lines[lines.index("") + 2 :])
    assert legend.startswith("~ estimate, ≤ at the latest; prov: dbx dropbox, gd google-drive")
