"""Rendering index items as a table (people) or JSON/CSV (programs), always to stdout.

Names and paths are data. The table shows them through :func:`trashscan.safe_text.printable` as
rich ``Text`` (never markup); JSON and CSV carry the exact values.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import IO, Any

from trashscan.models import SHORT_REF_LEN, IndexedItem, RestoreOutcome, RestoreResult
from trashscan.safe_text import json_text, printable
from trashscan.timeparse import iso

COLUMNS = (
    "ref",
    "provider",
    "account",
    "item_id",
    "name",
    "path",
    "kind",
    "mime_type",
    "size",
    "deleted_at",
    "deleted_at_source",
    "purge_at",
    "purge_is_estimate",
    "days_left",
    "restorable",
    "not_restorable_reason",
    "state",
    "deleted_after",
    "purge_latest",
    "age_unknown",
)
WINDOW = timedelta(days=1)  # an estimated purge known to within less is shown as one date


def days_left(item: IndexedItem, now: datetime) -> float | None:
    if item.purge_at is None:
        return None
    return round((item.purge_at - now).total_seconds() / 86400, 1)


def as_record(item: IndexedItem, now: datetime) -> dict[str, Any]:
    return {
        "ref": item.ref[:SHORT_REF_LEN],
        "provider": item.provider,
        "account": item.account,
        "item_id": item.item_id,
        "name": item.name,
        "path": item.path,
        "kind": str(item.kind),
        "mime_type": item.mime_type,
        "size": item.size,
        "deleted_at": iso(item.deleted_at),
        "deleted_at_source": str(item.deleted_at_source),
        "purge_at": iso(item.purge_at),
        "purge_is_estimate": item.purge_is_estimate,
        "days_left": days_left(item, now),
        "restorable": item.restorable,
        "not_restorable_reason": item.not_restorable_reason,
        "state": str(item.state),
        "deleted_after": iso(item.deleted_after),
        "purge_latest": iso(item.purge_latest),
        "age_unknown": item.age_unknown,
    }


def write_json(items: Sequence[IndexedItem], now: datetime, out: IO[str]) -> None:
    out.write("[")
    for position, item in enumerate(items):
        out.write(",\n " if position else "\n ")
        out.write(json_text(as_record(item, now)))
    out.write("\n]\n" if items else "]\n")


def write_csv(items: Sequence[IndexedItem], now: datetime, out: IO[str]) -> None:
    """Exact values. With a ``\n`` line end, Python's minimal quoting leaves a field holding a
    lone ``\r`` unquoted, which breaks the row for every reader: such rows are fully quoted."""
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    quoted = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writeheader()
    for item in items:
        record = as_record(item, now)
        carriage_return = any(isinstance(v, str) and "\r" in v for v in record.values())
        (quoted if carriage_return else writer).writerow(record)


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def purge_cell(item: IndexedItem, now: datetime) -> tuple[str, str]:
    """The purge date and days-left cells; estimates carry a ``~``.

    An estimate known only within a window of a day or more shows the latest date ("≤") and
    the days left as a range: ``3–12d``, or ``≤12d`` when it may be purged any day now.
    """
    if item.purge_at is None:
        return "never", "-"
    mark = "~" if item.purge_is_estimate else ""
    left = days_left(item, now)
    assert left is not None
    latest = item.purge_latest
    if item.purge_is_estimate and latest is not None and latest - item.purge_at >= WINDOW:
        most = (latest - now).total_seconds() / 86400
        if most < 0:
            days = "overdue"
        elif left <= 0:
            days = f"≤{math.floor(most)}d"
        else:
            days = f"{math.floor(left)}–{math.floor(most)}d"
        return f"≤{latest:%Y-%m-%d}", days
    # Past an estimated date the item may still be there (it is listed, after all): overdue.
    days = "overdue" if left < 0 else f"{mark}{math.floor(left)}d"
    return f"{mark}{item.purge_at:%Y-%m-%d}", days


def write_table(items: Sequence[IndexedItem], now: datetime, out: IO[str]) -> None:
    """A table sized to its content; on a terminal, long names are cut, never wrapped."""
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    plain = {"highlight": False, "markup": False, "emoji": False}
    console = Console(file=out, **plain)
    if not console.is_terminal:
        console = Console(file=out, width=1000, **plain)  # a pipe or a file: no wrapping
    table = Table(box=None, pad_edge=False, header_style="bold")
    for column in ("ref", "provider", "account", "name", "kind", "size", "deleted", "purge"):
        table.add_column(column, no_wrap=True, overflow="ellipsis", justify="left")
    table.columns[3].min_width = 12
    table.columns[5].justify = "right"
    table.add_column("left", no_wrap=True, justify="right")
    table.add_column("restorable", no_wrap=True)
    for item in items:
        purge, left = purge_cell(item, now)
        deleted = f"{item.deleted_at:%Y-%m-%d}" if item.deleted_at else "?"
        if item.age_unknown:
            deleted = f"≤{deleted}"  # any time in the retention period before it
        elif item.deleted_at_source.value != "api":
            deleted = f"~{deleted}"
        cells = (
            item.ref[:SHORT_REF_LEN],
            item.provider,
            item.account,
            item.name,
            item.kind,
            human_size(item.size),
            deleted,
            purge,
            left,
            "yes" if item.restorable else "no",
        )
        table.add_row(*(Text(printable(cell)) for cell in cells))
    console.print(table)


#: A restore's outcome as people read it (JSON, CSV and the audit log keep the machine values).
OUTCOME_WORDS = {
    RestoreOutcome.RESTORED: "restored",
    RestoreOutcome.ALREADY_RESTORED: "was already restored",
    RestoreOutcome.CONFLICT_RESOLVED: "restored under a new name",
    RestoreOutcome.SKIPPED: "skipped",
    RestoreOutcome.FAILED: "failed",
}
MOVED_WORDS = "restored to another folder"  # a conflict resolved by a new folder, not a new name
OUTCOME_WIDTH = 18  # the column the usual words ("restored", "failed", "skipped") are padded to


def outcome_words(result: RestoreResult, name: str) -> str:
    """What happened, in words: ``conflict_resolved`` is "restored under a new name", unless the
    name was kept and only the folder changed (OneDrive's root folder for a folder gone)."""
    path = result.restored_path
    moved = path is not None and path.replace("\\", "/").rpartition("/")[2] == name
    if result.outcome is RestoreOutcome.CONFLICT_RESOLVED and moved:
        return MOVED_WORDS
    return OUTCOME_WORDS[result.outcome]
