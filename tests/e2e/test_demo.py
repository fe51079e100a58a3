"""`trashscan demo` as a newcomer sees it: in a terminal of 80 columns, on a screen or two.

The demo runs in a pseudo-terminal of 80 columns (stdout and stderr both on it, as on a screen),
and what it wrote is read back as lines: at most 80 of them, none wider than 80 columns, with the
ten most urgent items whole (refs included), the restore of one of them done, and the next steps.
"""

from __future__ import annotations

import os
import re

import pytest
from rich.cells import cell_len
from terminal import TRASHSCAN, Terminal

ROW = re.compile(r"^([0-9a-f]{8})  ")


def section(lines: list[str], command: str) -> list[str]:
    """The lines under ``$ trashscan COMMAND...`` up to the next blank line."""
    start = next(i for i, line in enumerate(lines) if line.startswith(f"$ trashscan {command}"))
    end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
    return lines[start:end]


@pytest.fixture(scope="module")
def demo() -> tuple[int, list[str]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRASHSCAN_")}
    terminal = Terminal([*TRASHSCAN, "demo"], env, rows=24, columns=80)
    code = terminal.finish()
    return code, terminal.screen.rstrip("\n").splitlines()


def test_the_demo_fits_80_lines_of_80_columns(demo):
    code, lines = demo
    assert code == 0, "\n".join(lines)
    assert len(lines) <= 80, f"{len(lines)} lines:\n" + "\n".join(lines)
    wide = [line for line in lines if cell_len(line) > 80]
    assert wide == [], "\n".join(wide)


def test_the_demo_lists_the_ten_most_urgent_items_whole_and_totals_every_account(demo):
    _, lines = demo
    listing = section(lines, "list --all-accounts --limit 10")
    rows = [line for line in listing if ROW.match(line)]
    assert len(rows) == 10, "\n".join(listing)
    assert all("…" not in line.split()[0] for line in rows)  # no ref is cut
    totals = lines[lines.index(listing[-1]) + 2 :]
    assert totals[0].startswith("total: ")
    for account in ("alice", "bob", "carol", "dave", "erin", "frank", "grace", "laptop"):
        # one line per account: items, bytes, due soon, and its soonest purge
        line = (
            rf"  {account} +\d+ items? .* due within 7 days  soonest (any day|\d{{4}}-\d\d-\d\d)$"
        )
        assert any(re.match(line, shown) for shown in totals), account
    assert any(re.match(r"10 of \d+ shown", line) for line in totals)


def test_the_demo_restores_the_most_urgent_item_shown_and_it_leaves_the_trash(demo):
    _, lines = demo
    listing = section(lines, "list --all-accounts --limit 10")
    shown = [m.group(1) for line in listing if (m := ROW.match(line))]
    [restore] = [line for line in lines if line.startswith("$ trashscan restore ")]
    ref = restore.split()[3]
    assert restore == f"$ trashscan restore {ref} --yes"
    assert ref in shown
    result = section(lines, "restore")
    assert any(line.startswith("restored ") and ref in line for line in result), result
    assert "1 restored, 0 not restored" in result
    assert any(ref in line and "no longer in the trash" in line for line in lines)


def test_the_demo_ends_with_the_commands_to_run_next(demo):
    _, lines = demo
    steps = lines[next(i for i, line in enumerate(lines) if line.startswith("Next steps")) :]
    text = "\n".join(steps)
    for command in (
        "trashscan sandbox serve --write-config /tmp/sandbox.toml",
        "TRASHSCAN_CONFIG=/tmp/sandbox.toml trashscan list --all-accounts",
        "trashscan accounts add",
        "trashscan restore REF --dry-run",
        "trashscan demo --ui",
        "trashscan ui ",
        "trashscan check",
    ):
        assert command in text, command
