"""The item table fitted to the terminal: what a person needs to act on an item stays whole.

Someone who just lost photos opens a terminal, usually 80 columns wide. rich, left to itself,
shrank every column alike and cut every ref to three characters (``a19…``) while ``restore``
needs four: nothing shown could be restored. So the table is laid out here, before rich sees it:

* never cut: the ref (all :data:`SHORT_REF_LEN` characters), the days left (``3–12d``,
  ``≤29d``, ``overdue``), restorable, and the account (unless no other room is left);
* the name is shortened in the middle (``IMG_2024…0001.jpg``: the start and the extension are
  what tell photos apart), the folder from the left (``…/2025 Trip``: its last folders are);
* the least useful columns give way first, one step of :data:`STEPS` at a time, until the table
  fits: the deletion date, the kind (the name's extension tells it), then the provider becomes
  a tag (:data:`PROVIDER_TAGS`), long folders and names narrow, the purge date goes (the days
  left stay), the size, then name and folder narrow further, and only then the provider tag
  and the folder go.

Every cell is passed through :func:`trashscan.safe_text.printable` first and measured as shown
(escapes included, wide characters counted twice), and reaches rich as ``Text``, never markup.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, NamedTuple

from trashscan.models import SHORT_REF_LEN
from trashscan.output import fold, human_size, purge_cell
from trashscan.safe_text import printable

if TYPE_CHECKING:
    from rich.console import Console

    from trashscan.index import AccountTotals
    from trashscan.output import Shown


def cell_len(text: str) -> int:
    """The terminal cells ``text`` takes, as rich counts them.

    Printable ASCII is one cell a character (rich's own fast path), so rich's width tables are
    imported only for a cell that needs them: a cached listing of ASCII names never imports rich
    (issue 16: start-up is most of a filtered listing's time)."""
    if text.isascii() and text.isprintable():
        return len(text)
    from rich.cells import cell_len as rich_cell_len

    return rich_cell_len(text)


#: The short tag a provider is shown as when the table is narrow; the one place they are defined.
PROVIDER_TAGS: dict[str, str] = {
    "dropbox": "dbx",
    "google-drive": "gd",
    "google-photos": "gp",
    "icloud": "ic",
    "local-trash": "lt",
    "onedrive": "od",
}
ELLIPSIS = "…"
GAP = 2  # spaces between two columns (rich's padding of one on each side, none at the edges)
DUE_SOON = timedelta(days=7)  # "due within 7 days" under the table: `list --within 7d` would show
DATE_MARKS = ("~", "≤")
#: The rows ``list`` shows unless ``--all``: the soonest purges, a few screens of them; the
#: totals under the table still cover everything matched.
TABLE_ROWS = 1000
BOLD, RESET = "\x1b[1m", "\x1b[0m"


def provider_tag(provider: str) -> str:
    """:data:`PROVIDER_TAGS`, or for a third-party plugin the initials of its name's parts."""
    return PROVIDER_TAGS.get(provider) or "".join(p[:1] for p in provider.split("-") if p)[:4]


def _take(text: str, width: int, from_end: bool = False) -> str:
    """The longest start (or end) of ``text`` at most ``width`` cells wide."""
    chars = reversed(text) if from_end else iter(text)
    kept: list[str] = []
    used = 0
    for char in chars:
        used += cell_len(char)
        if used > width:
            break
        kept.append(char)
    return "".join(reversed(kept) if from_end else kept)


def shorten_middle(text: str, width: int) -> str:
    """``IMG_20240101_0001.jpg`` at 17 cells: ``IMG_2024…0001.jpg`` (start and end kept)."""
    if cell_len(text) <= width:
        return text
    room = max(width - 1, 0)
    head = _take(text, (room + 1) // 2)
    tail = _take(text, room - cell_len(head), from_end=True)
    return f"{head}{ELLIPSIS}{tail}"


def shorten_left(text: str, width: int) -> str:
    """A folder's end, the part that tells two folders apart: ``…/2025 Trip``, cut at a ``/``
    where one leaves something to read."""
    if cell_len(text) <= width:
        return text
    tail = _take(text, max(width - 1, 0), from_end=True)
    slash = tail.find("/")
    if 0 <= slash < len(tail) - 1:
        tail = tail[slash:]
    return f"{ELLIPSIS}{tail}"


@dataclass(frozen=True)
class Column:
    key: str
    header: str
    right: bool = False
    cut: Callable[[str, int], str] | None = None  # how its cells are shortened; None: never


COLUMNS: tuple[Column, ...] = (
    Column("ref", "ref"),
    Column("provider", "provider"),
    Column("account", "account", cut=shorten_middle),
    Column("name", "name", cut=shorten_middle),
    Column("folder", "folder", cut=shorten_left),
    Column("kind", "kind"),
    Column("size", "size", right=True),
    Column("deleted", "deleted"),
    Column("purge", "purge"),
    Column("left", "left", right=True),
    Column("restorable", "restorable"),
)
TAG_HEADER = "prov"


class Step(NamedTuple):
    """One way the table gives up width: ``drop`` a column, ``tag`` the provider, or ``cap`` a
    column at ``width`` cells."""

    action: str
    key: str = ""
    width: int = 0


#: Applied in order, each keeping those before it, until the table fits its width.
STEPS: tuple[Step, ...] = (
    Step("drop", "deleted"),
    Step("drop", "kind"),
    Step("tag"),
    Step("cap", "folder", 24),
    Step("cap", "name", 28),
    Step("drop", "purge"),
    Step("drop", "size"),
    Step("cap", "folder", 16),
    Step("cap", "name", 20),
    Step("cap", "folder", 12),
    Step("cap", "name", 16),
    Step("drop", "provider"),
    Step("drop", "folder"),
    Step("cap", "name", 12),
    Step("cap", "account", 16),
    Step("cap", "name", 8),
)
#: Where room left over once the table fits goes back first (up to each column's own width).
REFILL = ("name", "folder", "account")


@dataclass
class Layout:
    """Which columns are shown and how wide; :func:`fit` finds it for a width."""

    shown: list[str] = field(default_factory=lambda: [c.key for c in COLUMNS])
    tagged: bool = False
    caps: dict[str, int] = field(default_factory=dict)
    widths: dict[str, int] = field(default_factory=dict)

    def apply(self, step: Step) -> None:
        if step.action == "drop" and step.key in self.shown:
            self.shown.remove(step.key)
        elif step.action == "tag":
            self.tagged = True
        elif step.action == "cap":
            self.caps[step.key] = min(step.width, self.caps.get(step.key, step.width))

    def total(self) -> int:
        return sum(self.widths.values()) + GAP * (len(self.widths) - 1)

    def header(self, key: str) -> str:
        if key == "provider" and self.tagged:
            return TAG_HEADER
        return next(c.header for c in COLUMNS if c.key == key)


def folder_of(item: Shown) -> str:
    """The item's path without its name: what tells two ``IMG_0001.jpg`` apart."""
    path = item.path or ""
    if path.endswith(item.name):
        folder = path[: len(path) - len(item.name)]
    else:
        folder = path.rpartition("/")[0] + "/" if "/" in path else ""
    return folder.rstrip("/") or ("/" if folder.startswith("/") else "")


def cells_of(item: Shown, now: datetime) -> dict[str, str]:
    """Every cell an item can show, escaped (see :func:`printable`), keyed as :data:`COLUMNS`;
    ``tag`` is the provider's short form."""
    purge, left = purge_cell(item, now)
    deleted = f"{item.deleted_at:%Y-%m-%d}" if item.deleted_at else "?"
    if item.age_unknown:
        deleted = f"≤{deleted}"  # any time in the retention period before it
    elif str(item.deleted_at_source) != "api":
        deleted = f"~{deleted}"
    cells = {
        "ref": item.ref[:SHORT_REF_LEN],
        "provider": item.provider,
        "tag": provider_tag(item.provider),
        "account": item.account,
        "name": item.name,
        "folder": folder_of(item),
        "kind": str(item.kind),
        "size": human_size(item.size),
        "deleted": deleted,
        "purge": purge,
        "left": left,
        "restorable": "yes" if item.restorable else "no",
    }
    return {key: printable(value) for key, value in cells.items()}


def fit(rows: Sequence[dict[str, str]], width: int | None) -> Layout:
    """The richest layout whose columns fit ``width`` cells (``None``: any width, all shown)."""
    natural = {
        c.key: max([cell_len(c.header), *(cell_len(r[c.key]) for r in rows)]) for c in COLUMNS
    }
    natural["tag"] = max([cell_len(TAG_HEADER), *(cell_len(r["tag"]) for r in rows)])

    def laid_out(steps: Sequence[Step]) -> Layout:
        layout = Layout()
        for step in steps:
            layout.apply(step)
        for key in layout.shown:
            own = natural["tag" if key == "provider" and layout.tagged else key]
            cap = max(layout.caps.get(key, own), cell_len(layout.header(key)))
            layout.widths[key] = min(own, cap)
        return layout

    def fits(layout: Layout) -> bool:
        return width is None or layout.total() <= width

    applied = list(STEPS)
    for count in range(len(STEPS) + 1):
        if fits(laid_out(STEPS[:count])):
            applied = list(STEPS[:count])
            break
    # One long name can cost more than needed: give back, latest first, what the table still
    # fits without; a column comes back only if every more useful one did.
    dropping = True
    for step in reversed(applied.copy()):
        if step.action == "drop" and not dropping:
            continue
        fewer = [s for s in applied if s is not step]
        if fits(laid_out(fewer)):
            applied = fewer
        elif step.action == "drop":
            dropping = False
    layout = laid_out(applied)
    spare = width - layout.total() if width is not None else 0
    for key in REFILL:  # what is left goes to the columns that were narrowed
        if key in layout.widths and spare > 0:
            grow = min(spare, natural[key] - layout.widths[key])
            layout.widths[key] += grow
            spare -= grow
    return layout


class Grid:
    """A layout's columns at their final widths, writing rows as text: what rich's ``Table``
    printed (cells padded to their column, two spaces between columns, the header bold on a
    terminal), at a fraction of its cost, and a row at a time, so that a table of every item
    streams.

    A column that cuts its cells (name, folder, account) is as wide as its widest cut cell, as
    rich made it. Rows after the ones the layout was fitted to (``list --all``) are cut the
    same way where there is a width; to a pipe or a file nothing is ever cut, so a longer cell
    there only pushes the rest of its line right.
    """

    def __init__(self, layout: Layout, rows: Sequence[dict[str, str]]) -> None:
        self.layout = layout
        self.columns = [next(c for c in COLUMNS if c.key == key) for key in layout.shown]
        self.cutting = [c for c in self.columns if c.cut is not None]
        self.widths = {key: layout.widths[key] for key in layout.shown}
        for column in self.cutting:
            key = column.key
            cut = [cell_len(self._cut(column, row)) for row in rows]
            self.widths[key] = max([cell_len(layout.header(key)), *cut])

    def _cut(self, column: Column, row: dict[str, str]) -> str:
        key = column.key
        text = row["tag" if key == "provider" and self.layout.tagged else key]
        width = self.layout.widths[key]
        if column.cut is not None and cell_len(text) > width:
            return column.cut(text, width)
        return text

    def _line(self, texts: Iterable[str]) -> str:
        cells = []
        for column, text in zip(self.columns, texts, strict=True):
            gap = self.widths[column.key] - cell_len(text)
            if gap > 0:
                text = " " * gap + text if column.right else text + " " * gap
            cells.append(text)
        return (" " * GAP).join(cells)

    def header(self, styled: bool) -> str:
        line = self._line(self.layout.header(c.key) for c in self.columns)
        return f"{BOLD}{line}{RESET}" if styled else line

    def row(self, row: dict[str, str]) -> str:
        return self._line(self._cut(column, row) for column in self.columns)


def print_table(
    console: Console, items: Sequence[Shown], now: datetime
) -> tuple[Layout, list[dict[str, str]]]:
    """The items as a table fitted to ``console``'s width (a file or pipe: no limit); returns
    the layout chosen and the cells, for what is printed under it."""
    rows = [cells_of(item, now) for item in items]
    layout = fit(rows, console.width)
    grid = Grid(layout, rows)
    console.out(grid.header(False), style="bold" if console.is_terminal else None, highlight=False)
    if rows:
        console.out("\n".join(grid.row(row) for row in rows), highlight=False)
    return layout, rows


def console_for(out: IO[str]) -> Console:
    """A console on ``out`` that never reads markup; on a pipe or a file, lines are never cut
    or wrapped (whatever reads them gets every cell whole)."""
    from rich.console import Console

    plain = {"highlight": False, "markup": False, "emoji": False}
    console = Console(file=out, **plain)
    if not console.is_terminal:
        console = Console(file=out, width=100_000, **plain)
    return console


def write_table(items: Sequence[Shown], now: datetime, out: IO[str]) -> None:
    """The table alone (a restore plan): the same layout as ``trashscan list``."""
    print_table(console_for(out), items, now)


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _amount(items: int, size: int, unsized: int, due: int) -> list[str]:
    bytes_ = human_size(size) + (f" (+{unsized:,} of unknown size)" if unsized else "")
    return [_plural(items, "item"), bytes_, f"{due:,} due within {DUE_SOON.days} days"]


def _soonest(total: AccountTotals, now: datetime | None) -> str:
    """The account's earliest plausible purge: its date, or "any day" once that is past (an
    item of unknown age, an overdue one); nothing when no item is ever purged."""
    if total.soonest is None or now is None:
        return ""
    if total.soonest <= now:
        return "soonest any day"
    return f"soonest {total.soonest.date().isoformat()}"


def totals_lines(totals: Sequence[AccountTotals], now: datetime | None = None) -> list[str]:
    """Under the table, as ``rclone size`` and ``restic stats`` do: items and bytes, per account
    when there are several, and how many may be purged within :data:`DUE_SOON` (the count
    ``list --within 7d`` would show), with each account's soonest purge when ``now`` is given.
    ``totals`` cover everything matched, not what fitted."""
    items = sum(t.items for t in totals)
    size = sum(t.size for t in totals)
    unsized = sum(t.unsized for t in totals)
    due = sum(t.due for t in totals)
    lines = ["total: " + ", ".join(_amount(items, size, unsized, due))]
    if len(totals) > 1:
        rows = [
            [printable(t.account), *_amount(t.items, t.size, t.unsized, t.due), _soonest(t, now)]
            for t in sorted(totals, key=lambda t: (t.account, t.provider))
        ]
        widths = [max(cell_len(row[i]) for row in rows) for i in range(len(rows[0]))]
        for row in rows:
            cells = [
                cell + " " * (widths[i] - cell_len(cell)) if i in (0, 4) else cell.rjust(widths[i])
                for i, cell in enumerate(row)
            ]
            lines.append(("  " + "  ".join(cells)).rstrip())
    return lines


class Legend:
    """What the marks and provider tags shown mean; only those shown. Fed row by row, so a
    streamed table (``--all``) needs no second pass."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.keys = [key for key in ("deleted", "purge", "left") if key in layout.shown]
        self.estimate = self.latest = False
        self.tags: set[tuple[str, str]] = set()

    def add(self, row: dict[str, str]) -> None:
        for key in self.keys:
            cell = row[key]
            self.estimate = self.estimate or cell.startswith("~")
            self.latest = self.latest or cell.startswith("≤") or "–" in cell
        self.tags.add((row["tag"], row["provider"]))

    def text(self) -> str | None:
        marks = [word for seen, word in ((self.estimate, "~ estimate"),
                                         (self.latest, "≤ at the latest")) if seen]  # fmt: skip
        parts = [", ".join(marks)] if marks else []
        if self.layout.tagged and "provider" in self.layout.shown:
            tags = ", ".join(f"{tag} {name}" for tag, name in sorted(self.tags))
            parts.append(f"{TAG_HEADER}: {tags}")
        return "; ".join(parts) if parts else None


def legend(rows: Sequence[dict[str, str]], layout: Layout) -> str | None:
    """What the marks and provider tags shown in ``rows`` mean (see :class:`Legend`)."""
    seen = Legend(layout)
    for row in rows:
        seen.add(row)
    return seen.text()


#: Why a table shows fewer rows than it matched, after "1,000 of 5,000 shown".
CUT_SHORT = (
    " (the soonest purges): --all shows every one; --format jsonl or csv gives them to a program"
)


def listing_lines(
    chunks: Iterable[Sequence[Shown]],
    totals: Sequence[AccountTotals],
    now: datetime,
    width: int | None,
    styled: bool = False,
    left_out: str = CUT_SHORT,
) -> Iterator[str]:
    """``trashscan list`` as lines, produced as the index yields its rows: the table, the
    totals, the legend, and when the totals count more than the table shows, how many it shows
    of how many and why (``left_out``).

    The layout is fitted to the first :data:`TABLE_ROWS` rows (all of them, unless ``--all``
    asked for more), so memory holds those and no more; rows after them are written with it
    (see :class:`Grid`).
    """
    chunks = iter(chunks)
    sample: list[dict[str, str]] = []
    for chunk in chunks:
        sample.extend(cells_of(item, now) for item in chunk)
        if len(sample) >= TABLE_ROWS:
            break
    layout = fit(sample, width)
    grid = Grid(layout, sample)
    seen = Legend(layout)
    yield grid.header(styled)
    for row in sample:
        seen.add(row)
        yield grid.row(row)
    shown = len(sample)
    del sample
    for chunk in chunks:
        for item in chunk:
            row = cells_of(item, now)
            seen.add(row)
            yield grid.row(row)
        shown += len(chunk)
    lines = totals_lines(totals, now)
    note = seen.text()
    if note:
        lines.append(note)
    matched = sum(t.items for t in totals)
    if matched > shown:  # say so, and how to see the rest
        lines.append(f"{shown:,} of {matched:,} shown{left_out}")
    yield ""
    for line in lines:
        yield from fold(line, width, "    ")


def print_listing(
    console: Console,
    items: Sequence[Shown],
    totals: Sequence[AccountTotals],
    now: datetime,
) -> None:
    """``trashscan list``: the table, its totals and what the marks and tags shown mean."""
    for line in listing_lines([items], totals, now, console.width, console.is_terminal):
        console.out(line, highlight=False)
