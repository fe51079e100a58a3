"""``trashscan restore``: the plan, the confirmation, then each provider's restore."""

from __future__ import annotations

import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import click

from trashscan.cli.app import App, confirm, err, pass_app, say
from trashscan.cli.common import FilterArgs, build_filter, deadline_option, filter_options
from trashscan.errors import EXIT_PARTIAL, UsageError
from trashscan.safe_text import printable

if TYPE_CHECKING:
    from trashscan.models import IndexedItem, RestoreResult


@click.command()
@click.argument("refs", nargs=-1)
@filter_options
@click.option("--dry-run", "-n", is_flag=True, help="Show what would be restored; change nothing.")
@click.option("--yes", "-y", is_flag=True, help="Do not ask for confirmation.")
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
    deadline: str | None,
) -> None:
    """Restore items by REF (from `trashscan list`) or by filter, through each provider's API."""
    from trashscan import table
    from trashscan.restorer import Restorer, left_out

    limit = app.deadline(deadline)
    if not refs and not (all_accounts or accounts or filters.given()):
        raise UsageError(
            "say what to restore: one or more REFs, or filters such as --account/--name",
            hint="see `trashscan list` for refs",
        )
    now = app.now()
    if refs:
        chosen = {item.ref: item for item in (app.index.resolve_ref(ref) for ref in refs)}
        items: list[IndexedItem] = list(chosen.values())
    else:
        selected = app.select_accounts(all_accounts, accounts)
        item_filter = build_filter(selected, filters)
        items = app.index.items(item_filter, now)
    if not items:
        err("nothing to restore")
        return
    left = [(item, reason) for item in items if (reason := left_out(item))]
    items = [item for item in items if not left_out(item)]
    if items:
        click.echo(f"{'Would restore' if dry_run else 'Will restore'} {len(items)} item(s):")
        table.write_table(items, now, sys.stdout)
        plan_notes(app, items)
    if left:
        click.echo(f"Left out {len(left)} item(s) this account cannot restore:")
        for item, reason in left:
            say(f"  {item.ref[:8]} {item.account}: {item.name} ({reason})")
    if not items:
        err("nothing to restore")
        return
    if dry_run:
        click.echo("dry run: nothing was changed")
        return
    if not yes:
        confirm(f"Restore {len(items)} item(s)?", declined="nothing was restored")

    config = app.config
    with _progress(len(items)) as bar:
        report = _Report(items, bar)
        restorer = Restorer(app.index, config, app.context, config.concurrency, report, limit)
        try:
            done = restorer.restore(items)
        except KeyboardInterrupt:
            report.finish()  # what had come in before Ctrl-C is true: show it, then leave
            report.unanswered()
            raise
        report.finish()
    failed = sorted(
        (entry for entry in done if not entry.result.ok),
        key=lambda entry: report.position.get(entry.item.ref, len(report.order)),
    )
    not_back = [(entry.item, _why(entry.result)) for entry in failed]
    not_back += [(item, f"left out: {reason}") for item, reason in left]
    summary = f"{len(done) - len(failed)} restored, {len(failed)} not restored"
    summary += f", {len(left)} left out" if left else ""
    click.echo(summary + (":" if not_back else ""))
    for item, why in not_back:  # the last lines: every item that is not back, and why
        say(f"  {item.ref[:8]} {item.account}: {item.name}: {why}")
    if failed:
        sys.exit(EXIT_PARTIAL)


PROGRESS_MIN_ITEMS = 2  # a restore of one item has nothing to count


class _Bar:
    """The progress bar while it is up: counts items, and writes the result lines above it."""

    def __init__(self, progress: Any, task: Any, redirected: bool) -> None:
        self.progress, self.task, self.redirected = progress, task, redirected

    def advance(self) -> None:
        self.progress.advance(self.task)
        self.progress.refresh()

    def say(self, line: str) -> None:
        if self.redirected:  # above the bar, wrapped by the terminal alone (no line cut)
            from rich.text import Text

            self.progress.console.print(Text(printable(line)), soft_wrap=True)
        else:
            say(line)


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
        (self.bar.say if self.bar is not None else say)(
            f"{words:<{OUTCOME_WIDTH}} {entry.item.ref[:8]} {entry.item.account}: "
            f"{entry.item.name}{where}{detail}"
        )


def _why(result: RestoreResult) -> str:
    """Why an item is not back: its outcome and the provider's or the deadline's reason."""
    from trashscan.output import OUTCOME_WORDS

    words = OUTCOME_WORDS[result.outcome]
    return f"{words}: {result.detail}" if result.detail else words


def plan_notes(app: App, items: list[IndexedItem]) -> None:
    """Under the plan's table: what each provider's restore will do beyond the usual."""
    from trashscan.restore_plan import plan_notes as collect

    plan = collect(items, app.config, app.context, app.config.concurrency)
    for item in items:
        if item.ref in plan.notes:
            say(f"  {item.ref[:8]} {item.name}: {plan.notes[item.ref]}")
    for problem in plan.problems:
        err(f"trashscan: note: {problem}")
