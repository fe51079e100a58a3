"""``trashscan scan`` and ``trashscan list``: refresh the index, then print from it."""

from __future__ import annotations

import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

import click

from trashscan.cli.app import App, err, pass_app, say
from trashscan.cli.common import (
    FilterArgs,
    account_options,
    build_filter,
    deadline_option,
    filter_options,
)
from trashscan.errors import EXIT_PARTIAL
from trashscan.safe_text import printable

if TYPE_CHECKING:
    from trashscan.deadline import Deadline
    from trashscan.models import Account
    from trashscan.scanner import AccountScanResult

SORT_CHOICES = ("purge", "deleted", "name", "size")


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
            TextColumn("{task.fields[items]} items"),
            console=Console(stderr=True),
            transient=True,
        ) as progress:
            tasks = {
                a.name: progress.add_task(printable(f"{a.provider}/{a.name}"), items=0)
                for a in accounts
            }

            def report(account: Account, items: int, finished: bool) -> None:
                progress.update(tasks[account.name], items=items, completed=100 if finished else 0)

            scanner = Scanner(app.index, app.context, concurrency, report, deadline=deadline)
            results = scanner.scan(accounts)
    else:
        results = Scanner(app.index, app.context, concurrency, deadline=deadline).scan(accounts)
    for result in results:
        if result.notice:
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


@click.command()
@account_options
@deadline_option
@pass_app
def scan(app: App, all_accounts: bool, accounts: tuple[str, ...], deadline: str | None) -> None:
    """Refresh the index from the providers (incrementally where they allow)."""
    limit = app.deadline(deadline)
    results = run_scan(app, app.select_accounts(all_accounts, accounts), limit)
    for result in results:
        if result.ok and not result.listed:
            say(f"{result.account.name}: cannot be listed (see the note above)")
        elif result.ok:
            gone = f", {result.swept} left the trash" if result.swept else ""
            say(f"{result.account.name}: {result.items} items scanned{gone}")
    if not all(r.ok and not r.partial for r in results):
        sys.exit(EXIT_PARTIAL)


@click.command("list")
@filter_options
@click.option("--sort", type=click.Choice(SORT_CHOICES), default="purge", show_default=True)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(("table", "json", "csv")),
    default="table",
    show_default=True,
)
@click.option("--cached", is_flag=True, help="Print from the index without scanning.")
@deadline_option
@pass_app
def list_items(
    app: App,
    all_accounts: bool,
    accounts: tuple[str, ...],
    filters: FilterArgs,
    sort: str,
    fmt: str,
    cached: bool,
    deadline: str | None,
) -> None:
    """Trashed photos and videos, soonest purge first."""
    from trashscan import output

    limit = app.deadline(deadline)
    selected = app.select_accounts(all_accounts, accounts)
    if filters.provider:
        selected = [a for a in selected if a.provider == filters.provider]
    item_filter = build_filter(selected, filters, sort)
    failed = False
    if not cached:
        failed = not all(r.ok and not r.partial for r in run_scan(app, selected, limit))
    now = app.now()
    items = app.index.items(item_filter, now)
    writer = {"json": output.write_json, "csv": output.write_csv, "table": output.write_table}[fmt]
    writer(items, now, sys.stdout)
    if fmt == "table":
        err(f"{len(items)} item(s); ~ marks an estimate, ≤ the latest date when unsure")
    if failed:
        sys.exit(EXIT_PARTIAL)
