"""Rendering index items for programs (JSON/CSV), and the cells and words people read.

Names and paths are data. What people read shows them through
:func:`trashscan.safe_text.printable` (the table, laid out in :mod:`trashscan.table`, as rich
``Text``, never markup); JSON and CSV carry the exact values, and the machine values of
outcomes (``conflict_resolved``), where people read :func:`outcome_words`.
"""

from __future__ import annotations

import csv
import math
import os
import sys
import textwrap
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from json.encoder import encode_basestring as _quote  # json.dumps's, without ensure_ascii
from typing import IO, TYPE_CHECKING, Any

from trashscan.models import SHORT_REF_LEN, IndexedItem, RestoreOutcome, RestoreResult
from trashscan.safe_text import escape_json_raw, json_text

if TYPE_CHECKING:
    from trashscan.index import ListedItem

    #: An item as outputs read it: the index's full row, or a listing's lean one.
    Shown = IndexedItem | ListedItem

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


def iso(moment: datetime | None) -> str | None:
    """:func:`trashscan.timeparse.iso` (ISO 8601 UTC with a Z), without ``strftime``, which
    cost more than the rest of a JSON record."""
    if moment is None:
        return None
    if moment.tzinfo is not UTC:
        moment = moment.astimezone(UTC)
    return moment.isoformat(timespec="seconds")[:19] + "Z"


def days_left(item: Shown, now: datetime) -> float | None:
    if item.purge_at is None:
        return None
    return round((item.purge_at - now).total_seconds() / 86400, 1)


def as_record(item: Shown, now: datetime) -> dict[str, Any]:
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
        # A purge that never comes is a fact, not an estimate, whatever the provider said.
        "purge_is_estimate": bool(item.purge_is_estimate) and item.purge_at is not None,
        "days_left": days_left(item, now),
        "restorable": bool(item.restorable),  # a listing's row has the driver's 0/1
        "not_restorable_reason": item.not_restorable_reason,
        "state": str(item.state),
        "deleted_after": iso(item.deleted_after),
        "purge_latest": iso(item.purge_latest),
        "age_unknown": item.age_unknown,
    }


def listed_record(item: ListedItem, now: datetime) -> dict[str, Any]:
    """:func:`as_record` of a listing's row, made from the stored values (the times sliced into
    ISO form, only the purge date parsed, for the days left): the same record, at a fraction of
    the cost, which is most of what ``list --format jsonl`` spends a row on."""
    iso = item.iso
    stored_purge = item.stored_purge_at
    purge_at = item.purge_at
    return {
        "ref": item.ref[:SHORT_REF_LEN],
        "provider": item.provider,
        "account": item.account,
        "item_id": item.item_id,
        "name": item.name,
        "path": item.path,
        "kind": item.kind,
        "mime_type": item.mime_type,
        "size": item.size,
        "deleted_at": iso(item.stored_deleted_at),
        "deleted_at_source": item.deleted_at_source,
        "purge_at": iso(stored_purge),
        "purge_is_estimate": bool(item.purge_is_estimate) and stored_purge is not None,
        "days_left": None
        if purge_at is None
        else round((purge_at - now).total_seconds() / 86400, 1),
        "restorable": bool(item.restorable),
        "not_restorable_reason": item.not_restorable_reason,
        "state": item.state,
        "deleted_after": iso(item.stored_deleted_after),
        "purge_latest": iso(item.stored_purge_latest),
        "age_unknown": item.age_unknown,
    }


def _text(value: str | None) -> str:
    return "null" if value is None else _quote(value)


def _number(value: float | None) -> str:
    return "null" if value is None else repr(value)  # as json.dumps writes int and float


def listed_json(item: ListedItem, now: datetime) -> str:
    """``json_text(listed_record(item, now))``, written directly: the same text (its keys in
    the same order, json.dumps's separators and string escapes, then
    :func:`~trashscan.safe_text.escape_json_raw`), without building a dict to encode."""
    iso = item.iso
    stored_purge = item.stored_purge_at
    purge_at = item.purge_at
    left = None if purge_at is None else round((purge_at - now).total_seconds() / 86400, 1)
    estimate = bool(item.purge_is_estimate) and stored_purge is not None
    line = "".join(
        (
            '{"ref": ', _quote(item.ref[:SHORT_REF_LEN]),
            ', "provider": ', _quote(item.provider),
            ', "account": ', _quote(item.account),
            ', "item_id": ', _quote(item.item_id),
            ', "name": ', _quote(item.name),
            ', "path": ', _text(item.path),
            ', "kind": ', _quote(item.kind),
            ', "mime_type": ', _text(item.mime_type),
            ', "size": ', _number(item.size),
            ', "deleted_at": ', _text(iso(item.stored_deleted_at)),
            ', "deleted_at_source": ', _quote(item.deleted_at_source),
            ', "purge_at": ', _text(iso(stored_purge)),
            ', "purge_is_estimate": ', "true" if estimate else "false",
            ', "days_left": ', _number(left),
            ', "restorable": ', "true" if item.restorable else "false",
            ', "not_restorable_reason": ', _text(item.not_restorable_reason),
            ', "state": ', _quote(item.state),
            ', "deleted_after": ', _text(iso(item.stored_deleted_after)),
            ', "purge_latest": ', _text(iso(item.stored_purge_latest)),
            ', "age_unknown": ', "true" if item.age_unknown else "false",
            "}",
        )
    )  # fmt: skip
    return escape_json_raw(line)


QQ = '"'  # a double quote, inside f-strings that are written with them


def listed_json_lines(now: datetime) -> Callable[[ListedItem], str]:
    """:func:`listed_json` at ``now``, for every row of a listing: the same text, at a fraction
    of the cost (``list --format jsonl`` of a million items spent most of its time here).

    A SQLite row's times are text as the index stores it (``2026-03-02 12:00:00.000000``), sliced
    into ISO form in place; the strings that repeat (provider, account, kind, source, state,
    MIME type) are quoted once each; only the purge date is parsed, for the days left. A row of
    another shape (PostgreSQL's datetimes) is written by :func:`listed_json` itself."""
    parse = datetime.fromisoformat
    seen: dict[str, str] = {}

    def quote(value: str) -> str:  # the strings that repeat: quoted once each
        text = seen.get(value)
        if text is None:
            text = seen[value] = _quote(value)
        return text

    def line(item: ListedItem) -> str:
        (ref, provider, account, item_id, name, path, kind, mime, size, deleted, source, purge,
         estimate, restorable, reason, state, after, latest) = item  # fmt: skip
        try:
            if (deleted is not None and deleted[10] != " ") or (
                after is not None and after[10] != " ") or (
                latest is not None and latest[10] != " "):  # fmt: skip
                return listed_json(item, now)
            if purge is None:
                left = stored_purge = "null"
            else:
                if purge[10] != " ":
                    return listed_json(item, now)
                days = (parse(purge).replace(tzinfo=UTC) - now).total_seconds() / 86400
                left = repr(round(days, 1))
                stored_purge = f'"{purge[:10]}T{purge[11:19]}Z"'
        except (TypeError, IndexError):  # not SQLite's text
            return listed_json(item, now)
        dated = purge is not None
        return escape_json_raw(
            f'{{"ref": {_quote(ref[:SHORT_REF_LEN])}, "provider": {quote(provider)}, '
            f'"account": {quote(account)}, "item_id": {_quote(item_id)}, '
            f'"name": {_quote(name)}, "path": {"null" if path is None else _quote(path)}, '
            f'"kind": {quote(kind)}, "mime_type": {"null" if mime is None else quote(mime)}, '
            f'"size": {"null" if size is None else repr(size)}, "deleted_at": '
            f"{'null' if deleted is None else f'{QQ}{deleted[:10]}T{deleted[11:19]}Z{QQ}'}, "
            f'"deleted_at_source": {quote(source)}, "purge_at": {stored_purge}, '
            f'"purge_is_estimate": {"true" if estimate and dated else "false"}, '
            f'"days_left": {left}, "restorable": {"true" if restorable else "false"}, '
            f'"not_restorable_reason": {"null" if reason is None else _quote(reason)}, '
            f'"state": {quote(state)}, "deleted_after": '
            f"{'null' if after is None else f'{QQ}{after[:10]}T{after[11:19]}Z{QQ}'}, "
            f'"purge_latest": '
            f"{'null' if latest is None else f'{QQ}{latest[:10]}T{latest[11:19]}Z{QQ}'}, "
            f'"age_unknown": {"true" if estimate and dated and after is None else "false"}}}'
        )

    return line


def write_json_records(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """One JSON array, an object a line (``restore`` results, ``history``, ``list``), written
    as the records come: the array is valid once its ``]`` is out. Returns how many."""
    count = 0
    for record in records:
        out.write(",\n " if count else "[\n ")
        out.write(json_text(record))
        count += 1
    out.write("\n]\n" if count else "[]\n")
    out.flush()
    return count


def write_jsonl(records: Iterable[dict[str, Any]], out: IO[str]) -> int:
    """One JSON object a line, each flushed as it is written, so that a reader (``jq``, a
    script's loop) gets every record when it exists, not when the last one does. Returns how
    many were written."""
    count = 0
    for record in records:
        out.write(json_text(record) + "\n")
        out.flush()
        count += 1
    return count


# ``list``'s outputs read the index a chunk at a time (``Index.listing``): each chunk is written
# and flushed before the next is read, so a reader gets every row within a chunk's time of the
# database giving it, and memory holds one chunk, whatever the number of items.


def write_listing_jsonl(chunks: Iterable[Sequence[ListedItem]], now: datetime, out: IO[str]) -> int:
    """``list --format jsonl``: the records of :func:`write_listing_json`, one a line."""
    count = 0
    line = listed_json_lines(now)
    for chunk in chunks:
        out.write("".join([line(item) + "\n" for item in chunk]))
        out.flush()
        count += len(chunk)
    return count


def write_listing_json(chunks: Iterable[Sequence[ListedItem]], now: datetime, out: IO[str]) -> int:
    """``list --format json``: one array, as :func:`write_json_records` writes it, a chunk at
    a time."""
    count = 0
    line = listed_json_lines(now)
    for chunk in chunks:
        if chunk:
            out.write(("[\n " if count == 0 else ",\n ") + ",\n ".join([line(i) for i in chunk]))
            count += len(chunk)
        out.flush()
    out.write("\n]\n" if count else "[]\n")
    out.flush()
    return count


def write_refs(chunks: Iterable[Sequence[Shown]], out: IO[str]) -> int:
    """``list -q``: the short refs only, one a line (``docker ps -q``), for ``restore -``."""
    count = 0
    for chunk in chunks:
        out.write("".join([item.ref[:SHORT_REF_LEN] + "\n" for item in chunk]))
        out.flush()
        count += len(chunk)
    return count


def _csv_value(value: Any) -> Any:
    """JSON's ``true``/``false`` rather than Python's ``True``/``False``."""
    return ("true" if value else "false") if isinstance(value, bool) else value


def write_listing_csv(chunks: Iterable[Sequence[ListedItem]], now: datetime, out: IO[str]) -> int:
    """Exact values, booleans as ``true``/``false``. With a ``\n`` line end, Python's minimal
    quoting leaves a field holding a lone ``\r`` unquoted, which breaks the row for every
    reader: such rows are fully quoted.

    A row whose text needs no quoting at all (no comma, quote or line break: nearly every row)
    is written directly, as the csv module would write it; the others through it."""
    writer = csv.writer(out, lineterminator="\n")
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(COLUMNS)
    out.flush()
    count = 0
    line_of, row_of = listed_csv(now)
    for chunk in chunks:
        lines = []
        for item in chunk:
            line = line_of(item)
            if line is None:
                out.write("".join(lines))
                lines = []
                row = row_of(item)
                carriage_return = any(isinstance(v, str) and "\r" in v for v in row)
                (quoted if carriage_return else writer).writerow(row)
            else:
                lines.append(line)
        out.write("".join(lines))
        out.flush()
        count += len(chunk)
    return count


def listed_csv(
    now: datetime,
) -> tuple[Callable[[ListedItem], str | None], Callable[[ListedItem], list[Any]]]:
    """For a listing at ``now``: a row's CSV line as the csv module writes it, or None when its
    text would need quoting (a comma, quote or line break in it) or its values are not SQLite's
    (see :func:`listed_json_lines`); and the row's fields (:func:`listed_record`'s values in
    :data:`COLUMNS` order, booleans as JSON's) for the csv module to write."""
    parse = datetime.fromisoformat

    def fields(item: ListedItem) -> list[Any]:
        record = listed_record(item, now)
        return [_csv_value(record[key]) for key in COLUMNS]

    def line(item: ListedItem) -> str | None:
        (ref, provider, account, item_id, name, path, kind, mime, size, deleted, source, purge,
         estimate, restorable, reason, state, after, latest) = item  # fmt: skip
        try:
            text = (
                f"{ref}{provider}{account}{item_id}{name}{path}{kind}{mime}{reason}{source}{state}"
            )
            if "," in text or '"' in text or "\n" in text or "\r" in text:
                return None
            if (deleted is not None and deleted[10] != " ") or (
                after is not None and after[10] != " ") or (
                latest is not None and latest[10] != " "):  # fmt: skip
                return None
            if purge is None:
                left = stored_purge = ""
            else:
                if purge[10] != " ":
                    return None
                days = (parse(purge).replace(tzinfo=UTC) - now).total_seconds() / 86400
                left = repr(round(days, 1))
                stored_purge = f"{purge[:10]}T{purge[11:19]}Z"
        except (TypeError, IndexError):  # not SQLite's text
            return None
        dated = purge is not None
        return (
            f"{ref[:SHORT_REF_LEN]},{provider},{account},{item_id},{name},"
            f"{'' if path is None else path},{kind},{'' if mime is None else mime},"
            f"{'' if size is None else repr(size)},"
            f"{'' if deleted is None else f'{deleted[:10]}T{deleted[11:19]}Z'},"
            f"{source},{stored_purge},{'true' if estimate and dated else 'false'},{left},"
            f"{'true' if restorable else 'false'},{'' if reason is None else reason},{state},"
            f"{'' if after is None else f'{after[:10]}T{after[11:19]}Z'},"
            f"{'' if latest is None else f'{latest[:10]}T{latest[11:19]}Z'},"
            f"{'true' if estimate and dated and after is None else 'false'}\n"
        )

    return line, fields


def terminal_width(out: IO[str] | None = None) -> int | None:
    """The columns of the terminal ``out`` (stdout) is; ``None`` for a pipe or a file, whose
    lines are never wrapped (whatever reads them gets each one whole)."""
    out = out or sys.stdout
    try:
        if not out.isatty():
            return None
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError):
        return None


def fold(line: str, width: int | None, indent: str) -> list[str]:
    """``line`` wrapped at word boundaries to ``width`` (``None``: not wrapped), continuation
    lines indented by ``indent``; a word longer than a line stays whole."""
    if width is None or len(line) <= width:
        return [line]
    return textwrap.wrap(
        line,
        width,
        subsequent_indent=indent,
        break_long_words=False,
        break_on_hyphens=False,
    ) or [line]


def human_size(size: int | None) -> str:
    if size is None:
        return "?"
    value = float(size)
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if value < 1024 or unit == "TB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} B"


def purge_cell(item: Shown, now: datetime) -> tuple[str, str]:
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
