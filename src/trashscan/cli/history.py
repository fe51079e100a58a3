"""``trashscan history``: the restore audit log, newest first (as ``llm logs`` shows its own).

Every restore attempt is recorded in the index (``restore_log``), including items that came back
with a folder and the restores of accounts removed since: the log is what happened, so it is
never filtered by what the config holds today.
"""

from __future__ import annotations

import sys
from typing import Any

import click

from trashscan.cli.app import App, err, pass_app, say
from trashscan.cli.common import FOR_PEOPLE, format_option
from trashscan.errors import UsageError

DEFAULT_LIMIT = 50


@click.command()
@click.option(
    "--account",
    "accounts",
    multiple=True,
    metavar="NAME",
    help="Only this account's restores (repeatable; removed accounts too).",
)
@click.option(
    "--since", metavar="WHEN", help="Attempted on or after WHEN: a date, or a time ago (3d)."
)
@click.option("--until", metavar="WHEN", help="Attempted before WHEN: a date, or a time ago.")
@click.option(
    "--limit",
    type=click.IntRange(min=0),
    default=DEFAULT_LIMIT,
    show_default=True,
    help="Show at most N attempts, the newest (0: all).",
)
@format_option("table", "json", "jsonl")
@pass_app
def history(
    app: App,
    accounts: tuple[str, ...],
    since: str | None,
    until: str | None,
    limit: int,
    fmt: str,
) -> None:
    """What restores did and when: each attempt, newest first, with its outcome.

    json prints one array, jsonl one object a line (attempted_at, ref, provider, account,
    item_id, name, outcome, detail, restored_path, actor).
    """
    from trashscan import output
    from trashscan.timeparse import parse_moment

    now = app.now()
    start = parse_moment(since, now) if since is not None else None
    end = parse_moment(until, now) if until is not None else None
    index = app.index
    if accounts:
        known = {a.name for a in app.config_if_any.accounts} | index.restore_log_accounts()
        unknown = [name for name in accounts if name not in known]
        if unknown:
            hint = "known: " + (", ".join(sorted(known)) or "none")
            raise UsageError(f"unknown account {unknown[0]!r}", hint=hint)
    entries = index.restore_log(limit or None, accounts, start, end)
    records = [record(entry) for entry in entries]
    if fmt == "json":
        output.write_json_records(records, sys.stdout)
    elif fmt == "jsonl":
        output.write_jsonl(records, sys.stdout)
    elif not records:
        err("no restores recorded" + (" that match" if accounts or since or until else ""))
    else:
        assert fmt in FOR_PEOPLE
        show(records)


def record(entry: dict[str, Any]) -> dict[str, Any]:
    from trashscan.models import SHORT_REF_LEN
    from trashscan.timeparse import iso

    return {
        "attempted_at": iso(entry["attempted_at"]),
        "ref": entry["ref"][:SHORT_REF_LEN],
        "provider": entry["provider"],
        "account": entry["account"],
        "item_id": entry["item_id"],
        "name": entry["name"],
        "outcome": entry["outcome"],
        "detail": entry["detail"],
        "restored_path": entry["restored_path"],
        "actor": entry["actor"],
    }


def show(records: list[dict[str, Any]]) -> None:
    """One line per attempt: when (UTC), what happened in the words ``restore`` prints, ref,
    account: name, then where and why."""
    from trashscan.models import RestoreOutcome, RestoreResult
    from trashscan.output import OUTCOME_WIDTH, outcome_words

    say(f"{'when (UTC)':<16}  {'outcome':<{OUTCOME_WIDTH}} {'ref':<8} account: name")
    for entry in records:
        when = entry["attempted_at"].replace("T", " ")[:16]
        try:
            outcome = RestoreOutcome(entry["outcome"])
        except ValueError:  # written by a newer trashscan: shown as it is
            words = entry["outcome"]
        else:
            result = RestoreResult(entry["item_id"], outcome, None, entry["restored_path"])
            words = outcome_words(result, entry["name"])
        where = f" -> {entry['restored_path']}" if entry["restored_path"] else ""
        detail = f" ({entry['detail']})" if entry["detail"] else ""
        say(
            f"{when:<16}  {words:<{OUTCOME_WIDTH}} {entry['ref']:<8} "
            f"{entry['account']}: {entry['name']}{where}{detail}"
        )
