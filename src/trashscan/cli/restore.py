"""``trashscan restore``: the plan, the confirmation, then each provider's restore."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Any

import click

from trashscan.cli.app import App, err, pass_app, say
from trashscan.cli.common import FilterArgs, build_filter, deadline_option, filter_options
from trashscan.errors import EXIT_PARTIAL, UsageError

if TYPE_CHECKING:
    from trashscan.models import IndexedItem


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
    from trashscan import output, table
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
        click.confirm(f"Restore {len(items)} item(s)?", abort=True, err=True)

    def show(entry: Any) -> None:
        result = entry.result
        where = f" -> {result.restored_path}" if result.restored_path else ""
        detail = f" ({result.detail})" if result.detail else ""
        words = output.outcome_words(result, entry.item.name)
        say(
            f"{words:<{output.OUTCOME_WIDTH}} {entry.item.ref[:8]} {entry.item.account}: "
            f"{entry.item.name}{where}{detail}"
        )

    config = app.config
    restorer = Restorer(app.index, config, app.context, config.concurrency, show, limit)
    done = restorer.restore(items)
    failed = [entry for entry in done if not entry.result.ok]
    click.echo(f"{len(done) - len(failed)} restored, {len(failed)} not restored")
    if failed:
        sys.exit(EXIT_PARTIAL)


def plan_notes(app: App, items: list[IndexedItem]) -> None:
    """Under the plan's table: what each provider's restore will do beyond the usual."""
    from trashscan.restore_plan import plan_notes as collect

    plan = collect(items, app.config, app.context, app.config.concurrency)
    for item in items:
        if item.ref in plan.notes:
            say(f"  {item.ref[:8]} {item.name}: {plan.notes[item.ref]}")
    for problem in plan.problems:
        err(f"trashscan: note: {problem}")
