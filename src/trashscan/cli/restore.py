"""``trashscan restore``: the plan, the confirmation, then each provider's restore.

Refs come from the command line or, with ``-``, from standard input (what ``trashscan list -q``
prints). Asking needs a terminal: without one, and without ``--yes``, nothing is done at all
(exit 2), so a script can never hang on a prompt nor restore by accident. ``--format json`` and
``jsonl`` print one result object per item on stdout (jsonl as each happens); the plan, the
prompt, the progress and the totals, which are for people, then go to stderr.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import IO, TYPE_CHECKING, Any

import click

from trashscan.cli.app import App, confirm, err, pass_app, require_terminal, silence_stdout
from trashscan.cli.common import (
    FOR_PEOPLE,
    FilterArgs,
    build_filter,
    check_provider,
    deadline_option,
    filter_options,
    format_option,
)
from trashscan.errors import EXIT_PARTIAL, UsageError
from trashscan.safe_text import printable

if TYPE_CHECKING:
    from datetime import datetime

    from trashscan.models import IndexedItem
    from trashscan.restorer import ItemRestore

FROM_STDIN = "-"
LEFT_OUT = "left_out"  # the outcome of an item never sent: its account cannot restore it


@click.command()
@click.argument("refs", nargs=-1)
@filter_options
@click.option("--dry-run", "-n", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask (needed when stdin is not a terminal).")
@format_option("text", "json", "jsonl")
@deadline_option
@pass_app
def restore(
    app: App,
    refs: tuple[str, ...],
    all_accounts: bool,
    accounts: tuple[str, ...],
    filters: FilterArgs,
    dry_run: bool,
    yes: bool,
    fmt: str,
    deadline: str | None,
) -> None:
    """Restore items by REF (from `trashscan list`), by filter, or `-`: refs read from stdin.

    Without a terminal to ask on, --yes is needed. Refs with filters that exclude them are an
    error. --format json prints one array of results, jsonl one result a line as each
    happens (ref, provider, account, name, outcome, detail, restored_path); the plan and
    totals then go to stderr.
    """
    from trashscan.restorer import Restorer, split_left_out, summarize

    limit = app.deadline(deadline)
    from_stdin = FROM_STDIN in refs
    if from_stdin and sys.stdin.isatty():
        raise UsageError(
            "restore -: standard input is a terminal, not a list of refs",
            hint="pipe refs in: trashscan list -q ... | trashscan restore - --yes",
        )
    if not refs and not (all_accounts or accounts or filters.given()):
        raise UsageError(
            "say what to restore: one or more REFs, or filters such as --account/--name",
            hint="see `trashscan list` for refs",
        )
    if not (yes or dry_run):
        require_terminal("restore")  # before anything: nobody could answer the question
    if from_stdin:
        refs = tuple(r for r in refs if r != FROM_STDIN) + tuple(sys.stdin.read().split())
    machine = fmt not in FOR_PEOPLE
    human: IO[str] = sys.stderr if machine else sys.stdout
    now = app.now()
    if refs:
        chosen = {item.ref: item for item in app.index.resolve_refs(refs)}
        items: list[IndexedItem] = list(chosen.values())
        if all_accounts or accounts or filters.given():
            refuse_excluded(app, items, accounts, all_accounts, filters)
    elif from_stdin:
        items = []
    else:
        selected = check_provider(app.select_accounts(all_accounts, accounts), filters.provider)
        items = app.index.items(build_filter(selected, filters, now), now)
    if not items:
        err("nothing to restore")
        Results(fmt).close()
        return
    items, left = split_left_out(items)
    whole = dry_run or len(items) + len(left) <= PLAN_WHOLE  # else the first rows, and a summary
    if items:
        tell(human, f"{'Would restore' if dry_run else 'Will restore'} {len(items)} item(s):")
        plan_table(items, now, human, whole)
        plan_notes(app, items, human, whole)
    if left:
        tell(human, f"Left out {len(left)} item(s) this account cannot restore:")
        for item, reason in left if whole else left[:PLAN_FIRST]:
            tell(human, f"  {item.ref[:8]} {item.account}: {item.name} ({reason})")
        if not whole and len(left) > PLAN_FIRST:
            tell(human, f"  ... and {len(left) - PLAN_FIRST:,} more{EVERY_ONE}")
    results = Results(fmt)
    for item, reason in left:
        results.left_out(item, reason)
    if not items:
        err("nothing to restore")
        results.close()
        return
    if dry_run and not machine:
        click.echo("dry run: nothing was changed")
        return
    if not (yes or dry_run):
        confirm(f"Restore {len(items)} item(s)?", declined="nothing was restored")

    config = app.config
    with _progress(len(items)) as bar:
        report: Callable[[ItemRestore], None]
        report = _Report(items, bar) if not machine else results.counting(items, bar)

        def flush() -> None:  # after each batch of results: out in one write, the bar drawn
            results.flush()
            if bar is not None:
                bar.flush()
            else:
                sys.stdout.flush()

        restorer = Restorer(
            app.index, config, app.context, config.concurrency, report, limit, on_batch=flush
        )
        try:
            done = restorer.restore(items, dry_run=dry_run)
        except KeyboardInterrupt:
            if isinstance(report, _Report):
                report.finish()  # what had come in before Ctrl-C is true: show it, then leave
                report.unanswered()
            results.close()
            raise
        if isinstance(report, _Report):
            report.finish()
    results.close()
    if dry_run:
        tell(human, "dry run: nothing was changed")
        return
    summary = summarize(items, left, done)
    tell(human, summary.line + (":" if summary.not_back else ""))
    for item, why in summary.not_back:  # the last lines: every item not back, and why
        tell(human, f"  {item.ref[:8]} {item.account}: {item.name}: {why}")
    unrecorded = restorer.unrecorded_error()
    if unrecorded is not None:
        raise unrecorded
    if summary.failed:
        sys.exit(EXIT_PARTIAL)


def tell(out: IO[str], line: str) -> None:
    """A line for people, on stdout or, when stdout carries JSON, on stderr; escaped."""
    click.echo(printable(line), file=out)


def refuse_excluded(
    app: App,
    items: list[IndexedItem],
    accounts: tuple[str, ...],
    all_accounts: bool,
    filters: FilterArgs,
) -> None:
    """Refs and filters together: every ref must pass the filters, else it is an error that
    names them, never a silent choice of one over the other.

    Only what was typed counts: without --kind, a ref of any kind passes; a ref of an item no
    longer in the trash passes too (its restore says "already restored").
    """
    from trashscan.models import ItemState, Kind

    selected = check_provider(app.select_accounts(all_accounts, accounts), filters.provider)
    now = app.now()
    item_filter = dataclasses.replace(
        build_filter(selected, filters, now),
        states=frozenset(ItemState),
        refs=tuple(item.ref for item in items),
    )
    if filters.kind is None:
        item_filter = dataclasses.replace(item_filter, kinds=frozenset(Kind))
    passing = {item.ref for item in app.index.items(item_filter, now)}
    excluded = [item for item in items if item.ref not in passing]
    if excluded:
        typed = [f"--account {name}" for name in dict.fromkeys(accounts)] + filters.as_typed()
        named = ", ".join(f"{item.ref[:8]} ({item.name})" for item in excluded)
        raise UsageError(
            f"{'ref' if len(excluded) == 1 else 'refs'} {named} excluded by {' '.join(typed)}",
            hint="give the refs alone, or filters alone",
        )


class Results:
    """``--format json|jsonl``: one object per item, the machine values of its outcome.

    A reader that goes away (``| head -1``) never stops the restore: every outcome is still
    recorded in the audit log (``trashscan history``), only no longer printed.
    """

    def __init__(self, fmt: str) -> None:
        self.fmt = fmt
        self.records: list[dict[str, Any]] = []
        self.gone = False

    def left_out(self, item: IndexedItem, reason: str) -> None:
        self._record(item, LEFT_OUT, reason, None)

    def counting(self, items: Sequence[IndexedItem], bar: _Bar | None) -> Callable[..., None]:
        """The restorer's callback: each result out at once, the progress bar advanced for
        each planned item."""
        planned = {item.ref for item in items}

        def report(entry: ItemRestore) -> None:
            result = entry.result
            self._record(entry.item, result.outcome.value, result.detail, result.restored_path)
            if bar is not None and entry.item.ref in planned:
                planned.discard(entry.item.ref)
                bar.advance()

        return report

    def _record(
        self, item: IndexedItem, outcome: str, detail: str | None, path: str | None
    ) -> None:
        if self.fmt in FOR_PEOPLE:
            return
        record = {
            "ref": item.ref[:8], "provider": item.provider, "account": item.account,
            "name": item.name, "outcome": outcome, "detail": detail, "restored_path": path,
        }  # fmt: skip
        if self.fmt == "jsonl":
            from trashscan.output import json_text

            self._safely(lambda: sys.stdout.write(json_text(record) + "\n"))
        else:
            self.records.append(record)

    def flush(self) -> None:
        """After each batch of results (recorded together): a line's reader (``jq``, a script's
        loop) gets them as they are known, at a write per batch, not per item."""
        if self.fmt == "jsonl":
            self._safely(sys.stdout.flush)

    def close(self) -> None:
        """``json``: the array, once every result is in (also after an interruption)."""
        self.flush()
        if self.fmt == "json":
            from trashscan.output import write_json_records

            records, self.records = self.records, []
            self._safely(lambda: write_json_records(records, sys.stdout))

    def _safely(self, write: Callable[[], object]) -> None:
        if self.gone:
            return
        try:
            write()
        except BrokenPipeError:
            self.gone = True
            silence_stdout()


PROGRESS_MIN_ITEMS = 2  # a restore of one item has nothing to count


class _Bar:
    """The progress bar while it is up: counts items, and writes the result lines above it.

    Drawn again once per batch of results (:meth:`flush`), with the batch's lines above it in
    one write: a restore of 10,000 local files comes in batches of about a hundred, and drawing
    the bar for every item cost more than restoring it."""

    def __init__(self, progress: Any, task: Any, redirected: bool) -> None:
        self.progress, self.task, self.redirected = progress, task, redirected
        self.lines: list[str] = []

    def advance(self) -> None:
        self.progress.advance(self.task)

    def say(self, line: str) -> None:
        if self.redirected:  # above the bar, at the next flush
            self.lines.append(printable(line))
        else:
            sys.stdout.write(printable(line) + "\n")

    def flush(self) -> None:
        if self.lines:  # wrapped by the terminal alone (no line cut)
            from rich.text import Text

            lines, self.lines = self.lines, []
            self.progress.console.print(Text("\n".join(lines)), soft_wrap=True)
        else:
            sys.stdout.flush()
        self.progress.refresh()


@contextmanager
def _progress(count: int) -> Iterator[_Bar | None]:
    """A progress bar on stderr while ``count`` items are restored, as restic and ``rclone -P``
    show: only when stderr is a terminal (never in a pipe, a log or a cron mail), and only for
    more than one item.

    While the bar is up and stdout is a terminal too (the same screen), result lines are
    printed above the bar through its console; a redirected stdout gets them untouched.
    """
    if count < PROGRESS_MIN_ITEMS or not sys.stderr.isatty():
        yield None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    console = Console(file=sys.stderr, highlight=False, markup=False, emoji=False)
    columns = (TextColumn("restoring"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn())
    redirected = sys.stdout.isatty()
    with Progress(*columns, console=console, transient=True, redirect_stdout=False) as progress:
        task = progress.add_task("restore", total=count)
        progress.refresh()
        yield _Bar(progress, task, redirected)


class _Report:
    """Each restore result printed as soon as it is known, in the plan's order: a result that
    comes before those of items planned ahead of it (another account answered sooner) waits
    for them. Items a restore brought back without being asked (a Drive folder's other photos)
    follow the planned result they came with."""

    def __init__(self, items: Sequence[IndexedItem], bar: _Bar | None) -> None:
        self.order = [item.ref for item in items]
        self.position = {ref: n for n, ref in enumerate(self.order)}
        self.ready: dict[int, Any] = {}
        self.along: list[Any] = []
        self.shown: set[str] = set()
        self.next = 0
        self.bar = bar

    def __call__(self, entry: Any) -> None:
        n = self.position.get(entry.item.ref)
        if n is None or n < self.next or n in self.ready:
            self.along.append(entry)
        else:
            self.ready[n] = entry
            if self.bar is not None:
                self.bar.advance()
        while self.next in self.ready:
            self._show(self.ready.pop(self.next))
            self.next += 1
        if not self.ready:
            self._show_along()

    def finish(self) -> None:
        """Whatever is still held back (an interrupted restore): in plan order."""
        for n in sorted(self.ready):
            self._show(self.ready.pop(n))
        self._show_along()
        if self.bar is not None:
            self.bar.flush()
        else:
            sys.stdout.flush()

    def unanswered(self) -> None:
        """After Ctrl-C: the planned items no result came for, named (they may have been
        restored: a request may have been in flight)."""
        missing = [ref for ref in self.order if ref not in self.shown]
        if missing:
            refs = ", ".join(ref[:8] for ref in missing)
            err(
                f"trashscan: no answer came for {len(missing)} item(s) before the interruption "
                f"(they may have been restored; `trashscan list` shows which): {refs}"
            )

    def _show_along(self) -> None:
        while self.along:
            self._show(self.along.pop(0))

    def _show(self, entry: Any) -> None:
        self.shown.add(entry.item.ref)
        result = entry.result
        where = f" -> {result.restored_path}" if result.restored_path else ""
        detail = f" ({result.detail})" if result.detail else ""
        from trashscan.output import OUTCOME_WIDTH, outcome_words

        words = outcome_words(result, entry.item.name)
        line = (
            f"{words:<{OUTCOME_WIDTH}} {entry.item.ref[:8]} {entry.item.account}: "
            f"{entry.item.name}{where}{detail}"
        )
        if self.bar is not None:
            self.bar.say(line)
        else:  # escaped as say() does; out at the batch's end (one write, not one per line)
            sys.stdout.write(printable(line) + "\n")


#: A plan of up to this many items is shown whole; a bigger one (a whole library trashed at
#: once) shows its first :data:`PLAN_FIRST` rows and a summary of all of them, so that the
#: question comes on the screen that shows what it is about; ``--dry-run`` shows every row.
PLAN_WHOLE = 50
PLAN_FIRST = 20
EVERY_ONE = " (every one: the same command with --dry-run, which changes nothing)"


def plan_table(items: Sequence[IndexedItem], now: datetime, out: IO[str], whole: bool) -> None:
    """The plan's table, in the layout of ``trashscan list`` (fitted to a terminal; to a pipe or
    a file nothing is cut), written a row at a time (see :class:`table.Grid`): every row, or the
    first :data:`PLAN_FIRST` and then what all of them are (:func:`plan_summary`)."""
    from trashscan import table

    terminal = out.isatty()
    width = _terminal_width(out) if terminal else None
    shown = items if whole else items[:PLAN_FIRST]
    sample = [table.cells_of(item, now) for item in shown[: table.TABLE_ROWS]]
    grid = table.Grid(table.fit(sample, width), sample)
    lines = [grid.header(styled=terminal)]
    lines.extend(grid.row(row) for row in sample)
    out.write("\n".join(lines) + "\n")
    for start in range(len(sample), len(shown), table.TABLE_ROWS):
        rows = (
            grid.row(table.cells_of(item, now)) for item in shown[start : start + table.TABLE_ROWS]
        )
        out.write("\n".join(rows) + "\n")
    if not whole:
        for line in plan_summary(items, len(shown)):
            tell(out, line)
    out.flush()


def plan_summary(items: Sequence[IndexedItem], shown: int) -> list[str]:
    """A cut plan's last lines: how many more, then per account how many, how big, and into
    how many folders (the three that get the most named), and how to see every row."""
    from trashscan.output import human_size
    from trashscan.table import folder_of

    accounts: dict[tuple[str, str], list[IndexedItem]] = {}
    for item in items:
        accounts.setdefault((item.account, item.provider), []).append(item)
    lines = [f"... and {len(items) - shown:,} more{EVERY_ONE}; all {len(items):,}:"]
    for (account, provider), batch in sorted(accounts.items()):
        size = sum(item.size or 0 for item in batch)
        unsized = sum(1 for item in batch if item.size is None)
        amount = human_size(size) + (f" (+{unsized:,} of unknown size)" if unsized else "")
        folders: dict[str, int] = {}
        for item in batch:
            folder = folder_of(item)
            folders[folder] = folders.get(folder, 0) + 1
        most = sorted(folders.items(), key=lambda pair: (-pair[1], pair[0]))
        named = ", ".join(f"{folder or '?'} ({count:,})" for folder, count in most[:3])
        more = f", {len(most) - 3:,} more" if len(most) > 3 else ""
        lines.append(
            f"  {account} ({provider}): {len(batch):,} item(s), {amount}, into "
            f"{len(most):,} folder(s): {named}{more}"
        )
    return lines


def _terminal_width(out: IO[str]) -> int:
    """The width of the terminal ``out`` writes to (``COLUMNS`` first, as rich and shutil)."""
    import os
    import shutil

    columns = os.environ.get("COLUMNS", "")
    if columns.isdigit() and int(columns) > 0:
        return int(columns)
    try:
        return os.get_terminal_size(out.fileno()).columns
    except (OSError, ValueError):
        return shutil.get_terminal_size().columns


def plan_notes(app: App, items: list[IndexedItem], out: IO[str], whole: bool = True) -> None:
    """Under the plan's table: what each provider's restore will do beyond the usual; for a cut
    plan, each distinct note once, with how many items it concerns."""
    from trashscan.restore_plan import plan_notes as collect

    plan = collect(items, app.config, app.context, app.config.concurrency)
    noted = [item for item in items if item.ref in plan.notes]
    if whole:
        for item in noted:
            tell(out, f"  {item.ref[:8]} {item.name}: {plan.notes[item.ref]}")
    else:
        same: dict[str, list[IndexedItem]] = {}
        for item in noted:
            same.setdefault(plan.notes[item.ref], []).append(item)
        for n, (note, batch) in enumerate(same.items()):
            if n == PLAN_FIRST:
                tell(out, f"  ... and {len(same) - n:,} more notes{EVERY_ONE}")
                break
            if len(batch) == 1:
                tell(out, f"  {batch[0].ref[:8]} {batch[0].name}: {note}")
            else:
                tell(
                    out, f"  {len(batch):,} items ({batch[0].ref[:8]} {batch[0].name}, ...): {note}"
                )
    for problem in plan.problems:
        err(f"trashscan: note: {problem}")
