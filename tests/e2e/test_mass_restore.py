"""A mass restore through the real CLI (a whole library trashed at once): the plan stays one
screen that shows what the question is about, the results all come, and the plan's table costs
rows shown, not rows planned. Counts, never times."""

from __future__ import annotations

from pathlib import Path

import pytest

from trashscan import table
from trashscan.cli.restore import PLAN_FIRST, PLAN_WHOLE

BULK = 260  # a few folders of the fake's bulk (500 a folder): one here, "Bulk/000"


def _bulk(sandbox, cli, n: int = BULK, folder: str = "Bulk") -> list[str]:
    trash = next(
        Path(account["trash_dirs"][0])
        for account in sandbox.accounts
        if account["name"] == "laptop" and account["provider"] == "local-trash"
    )
    sandbox.fakes["local-trash"].bulk(trash, n, folder=folder)
    assert cli("scan", "--account", "laptop", "--no-thumbnails").exit_code in (0, 1)
    return cli("list", "-q", "--cached", "--account", "laptop").stdout.split()


def _counting_cells(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    real = table.cells_of

    def counting(*args, **kwargs):
        calls[0] += 1
        return real(*args, **kwargs)

    monkeypatch.setattr(table, "cells_of", counting)
    return calls


def test_a_big_plan_shows_its_first_rows_and_a_summary_of_all(
    sandbox, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = _bulk(sandbox, cli)
    assert len(refs) > PLAN_WHOLE
    cells = _counting_cells(monkeypatch)

    result = cli("restore", *refs, "--yes")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Will restore {len(refs)} item(s):"
    assert lines[1].split()[:3] == ["ref", "provider", "account"]
    rows = lines[2 : 2 + PLAN_FIRST]
    assert [row.split()[0] for row in rows] == [ref[:8] for ref in refs[:PLAN_FIRST]]
    more = lines[2 + PLAN_FIRST]
    assert more.startswith(f"... and {len(refs) - PLAN_FIRST:,} more (every one: ")
    assert "--dry-run" in more
    assert lines[3 + PLAN_FIRST].startswith(f"  laptop (local-trash): {len(refs):,} item(s), ")
    assert "Bulk/000 (260)" in lines[3 + PLAN_FIRST]
    results = [line for line in lines if line.startswith("restored")]
    assert len(results) == len(refs)  # every result is shown, as it comes
    assert lines[-1] == f"{len(refs)} restored, 0 not restored"
    assert cells[0] == PLAN_FIRST  # the table laid out the rows it shows, not all 260


def test_a_dry_run_of_a_big_plan_shows_every_row(sandbox, cli) -> None:
    refs = _bulk(sandbox, cli)

    result = cli("restore", *refs, "--dry-run")

    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == f"Would restore {len(refs)} item(s):"
    assert [line.split()[0] for line in lines[2 : 2 + len(refs)]] == [r[:8] for r in refs]
    assert "more (every one" not in result.stdout
    assert lines[-1] == "dry run: nothing was changed"


def test_a_crafted_folder_name_cannot_forge_the_summary(sandbox, cli) -> None:
    """The summary names folders: escaped like every cell, so a name cannot write to the
    terminal (a title, a colour, a cleared line)."""
    refs = _bulk(sandbox, cli, folder="Evil\x1b]0;owned\x07\x1b[2K\r")

    result = cli("restore", *refs, "--yes")

    assert result.exit_code == 0, result.stderr
    assert "all " in result.stdout and "Evil" in result.stdout
    assert not any(c in result.stdout for c in "\x1b\x07\r")
