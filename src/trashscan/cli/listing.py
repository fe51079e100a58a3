"""``trashscan scan`` and ``trashscan list``: refresh the index, then print from it."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import click
from click.core import ParameterSource

from trashscan import reminders
from trashscan.cli.app import App, err, pass_app, say
from trashscan.cli.common import (
    FOR_PEOPLE,
    FilterArgs,
    account_options,
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

    from trashscan.deadline import Deadline
    from trashscan.index import ItemFilter
    from trashscan.models import Account
    from trashscan.scanner import AccountScanResult

SORT_CHOICES = ("purge", "deleted", "name", "size")


def thumbnails_option(func: Any) -> Any:
    return click.option(
        "--no-thumbnails",
        is_flag=True,
        help="Fetch no pictures for the thumbnail cache this run ([thumbnails] enabled).",
    )(func)


def fetch_thumbnails(
    app: App, results: Sequence[AccountScanResult], started: float, deadline: Deadline
) -> None:
    """After a scan: pictures of the scanned accounts' trashed items, within what is left of the
    run's deadline; failures are one note each on stderr, never the exit code."""
    from trashscan.thumbnails import PHASE_SECONDS, ThumbnailCache, ThumbnailFetch

    config = app.config
    left = deadline.seconds - (time.monotonic() - started)
    scanned = [r for r in results if r.ok and r.listed]
    if not config.thumbnails.enabled or left <= 0 or not scanned:
        return
    fetch = ThumbnailFetch(
        app.index,
        app.context,
        ThumbnailCache.open(config.thumbnails.max_mb, config.data_dir),
        per_run=config.thumbnails.per_run,
        concurrency=config.concurrency,
        seconds=min(PHASE_SECONDS, left),
    )
    sources = {r.account.name: r.thumbnail_sources for r in scanned}
    for done in fetch.run([r.account for r in scanned], sources, app.now(), config.accounts):
        if done.error or done.failed:
            what = f"{done.failed} failed" if done.failed else "stopped"
            why = done.error or "; ".join(done.problems)
            err(
                f"trashscan: note: thumbnails of {done.account.name} ({done.account.provider}): "
                f"{what}: {why}; shown as placeholders, tried again next run"
            )


def run_scan(app: App, accounts: Sequence[Account], deadline: Deadline) -> list[AccountScanResult]:
    """Scan with a progress display on stderr (only on a terminal), then report failures."""
    from trashscan.scanner import Scanner

    concurrency = app.config.concurrency
    if sys.stderr.isatty():
        from rich.console import Console
        from rich.progress import Progress, SpinnerColumn, TextColumn

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}", markup=False),
            TextColumn("{task.fields[items]}"),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            tasks = {
                a.name: progress.add_task(printable(f"{a.provider}/{a.name}"), items="0 items")
                for a in accounts
            }

            def report(account: Account, items: int, finished: bool) -> None:
                done = 100 if finished else 0
                progress.update(tasks[account.name], items=f"{items} items", completed=done)

            def building() -> None:
                progress.add_task("index: building its lookup indexes, once after a first scan",
                                  items="")  # fmt: skip

            scanner = Scanner(
                app.index, app.context, concurrency, report, deadline=deadline, building=building
            )
            results = scanner.scan(accounts)
    else:
        results = Scanner(app.index, app.context, concurrency, deadline=deadline).scan(accounts)
    standing = [r for r in results if r.notice and not r.listed]  # the same note every run
    remind = reminders.due(app.data_dir, [_key(r.account) for r in standing], app.now())
    for result in results:
        if result.notice and (result.listed or _key(result.account) in remind):
            account = result.account
            err(f"trashscan: note: {account.name} ({account.provider}): {result.notice}")
        if not result.ok:
            err(
                f"trashscan: account {result.account.name!r} ({result.account.provider}) failed: "
                f"{result.error}"
            )
        elif result.partial:
            err(
                f"trashscan: warning: account {result.account.name!r} ({result.account.provider}) "
                f"partly listed: {result.partial}; its items there are kept as last listed"
            )
    return results


def _key(account: Account) -> str:
    return f"{account.provider}/{account.name}"


def scan_line(result: AccountScanResult) -> str:
    """What one account's scan found: a full listing's count, an incremental scan's news."""
    name = result.account.name
    if not result.listed:
        return f"{name}: cannot be listed (`trashscan providers` says why)"
    gone = f", {result.swept} left the trash" if result.swept else ""
    if not result.incremental:
        return f"{name}: {result.items} items scanned{gone}"
    if not result.items and not result.swept:
        return f"{name}: no changes"
    return f"{name}: {result.items} new or changed{gone}"


@click.command()
@account_options
@deadline_option
@thumbnails_option
@pass_app
def scan(
    app: App,
    all_accounts: bool,
    accounts: tuple[str, ...],
    deadline: str | None,
    no_thumbnails: bool,
) -> None:
    """Refresh the index from the providers (incrementally where they allow), then fetch the
    pictures the thumbnail cache lacks.

    Prints a line per account: how many items a full listing found, or for an incremental scan
    what changed ("no changes" when nothing did).
    """
    limit = app.deadline(deadline)
    started = time.monotonic()
    results = run_scan(app, app.select_accounts(all_accounts, accounts), limit)
    for result in results:
        if result.ok:
            say(scan_line(result))
    if not no_thumbnails:
        fetch_thumbnails(app, results, started, limit)
    if not all(r.ok and not r.partial for r in results):
        sys.exit(EXIT_PARTIAL)


@click.command("list")
@filter_options
@click.option("--sort", type=click.Choice(SORT_CHOICES), default="purge", show_default=True)
@format_option("table", "json", "jsonl", "csv")
@click.option(
    "--quiet",
    "-q",
    is_flag=True,
    help="Print refs only, one a line (for `trashscan restore -`).",
)
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=0,
    metavar="N",
    help="Only the first N items of the sort, the most urgent by default (0: all).",
)
@click.option("--cached", is_flag=True, help="Print from the index without scanning.")
@click.option(
    "--all",
    "all_rows",
    is_flag=True,
    help="The table: every matching item (else the 1,000 soonest purges; the totals count all).",
)
@click.option("--no-pager", is_flag=True, help="Never page the table ($TRASHSCAN_PAGER, $PAGER).")
@deadline_option
@thumbnails_option
@click.pass_context
@pass_app
def list_items(
    app: App,
    ctx: click.Context,
    all_accounts: bool,
    accounts: tuple[str, ...],
    filters: FilterArgs,
    sort: str,
    fmt: str,
    quiet: bool,
    limit: int,
    cached: bool,
    all_rows: bool,
    no_pager: bool,
    deadline: str | None,
    no_thumbnails: bool,
) -> None:
    """Trashed photos and videos, soonest purge first (then fetches missing thumbnails).

    The table shows the 1,000 soonest purges (--all: every item) above totals over everything
    matched. --format json prints one array; jsonl one object a line, each written as the index
    yields it; -q only the refs, one a line, to pipe into `trashscan restore -`. --limit N keeps
    the first N in every format (the table's totals still cover everything matched). None of
    them holds the listing in memory.
    """
    from trashscan import output

    if quiet and ctx.get_parameter_source("fmt") is not ParameterSource.DEFAULT:
        raise UsageError("-q prints refs only: leave out --format")
    time_limit = app.deadline(deadline)
    started = time.monotonic()
    selected = check_provider(app.select_accounts(all_accounts, accounts), filters.provider)
    item_filter = build_filter(selected, filters, app.now(), sort)
    failed = False
    results: list[AccountScanResult] = []
    if not cached:
        results = run_scan(app, selected, time_limit)
        failed = not all(r.ok and not r.partial for r in results)
    now = app.now()
    if quiet:
        output.write_refs(app.reader.listing(item_filter, now, limit or None), sys.stdout)
    elif fmt in FOR_PEOPLE:
        show_table(app, item_filter, now, pager=not no_pager, all_rows=all_rows, limit=limit)
    else:
        write = {
            "jsonl": output.write_listing_jsonl,
            "json": output.write_listing_json,
            "csv": output.write_listing_csv,
        }[fmt]
        write(app.reader.listing(item_filter, now, limit or None), now, sys.stdout)
    if results and not no_thumbnails:
        sys.stdout.flush()  # the listing is out before any picture is asked for
        fetch_thumbnails(app, results, started, time_limit)
    if failed:
        sys.exit(EXIT_PARTIAL)


def show_table(
    app: App,
    item_filter: ItemFilter,
    now: datetime,
    pager: bool,
    all_rows: bool = False,
    limit: int = 0,
) -> None:
    """The table and its totals (over everything matched), paged when taller than the
    terminal, streamed from the index's cursor: the first rows are out before the last are
    read."""
    import shutil

    from trashscan import pager as paging
    from trashscan import table

    totals = app.reader.totals(item_filter, now, table.DUE_SOON)
    terminal = sys.stdout.isatty()
    width = shutil.get_terminal_size().columns if terminal else None
    rows = limit or (None if all_rows else table.TABLE_ROWS)
    why = " (--limit)" if limit else table.CUT_SHORT
    chunks = app.reader.listing(item_filter, now, rows)
    lines = table.listing_lines(chunks, totals, now, width, styled=terminal, left_out=why)
    paging.show_lines(lines, use_pager=pager)
