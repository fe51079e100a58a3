"""``accounts remove`` asks before it drops an account's rows from the index.

What it drops (the config entry, the index's rows, the stored credentials, the thumbnails) is
what the next scan would have to list again, and an OneDrive personal account's items deleted
before its enrolment cannot be listed again at all; so it asks, as ``restore`` does: on a
terminal it waits for a yes, ``--yes`` skips the question, and without a terminal and without
``--yes`` it refuses before touching anything (exit 2).
"""

from __future__ import annotations

import pytest
from terminal import TRASHSCAN, Terminal

from trashscan.config import load_config
from trashscan.index import Index

EXIT_DECLINED = 4


def _rows(config) -> int:
    index = Index.open(load_config(config).index_url)
    return index.counts_by_account().get(("local-trash", "usb-stick"), 0)


def _names(config) -> set[str]:
    return {account.name for account in load_config(config).accounts}


def test_without_a_terminal_and_without_yes_it_refuses_and_keeps_everything(cli, sandbox):
    assert cli("scan").exit_code == 0
    assert _rows(sandbox.config_path) == 3
    refused = cli("accounts", "remove", "usb-stick")
    assert refused.exit_code == 2
    assert refused.stderr.count("\n") == 1
    assert "--yes" in refused.stderr and "not a terminal" in refused.stderr
    assert "usb-stick" in _names(sandbox.config_path)
    assert _rows(sandbox.config_path) == 3


def test_yes_removes_without_asking(cli, sandbox):
    assert cli("scan").exit_code == 0
    removed = cli("accounts", "remove", "usb-stick", "--yes")
    assert removed.exit_code == 0, removed.stderr
    assert "usb-stick" not in _names(sandbox.config_path)
    assert _rows(sandbox.config_path) == 0


@pytest.mark.parametrize(("keys", "code"), [("n\r", EXIT_DECLINED), ("y\r", 0)])
def test_on_a_terminal_it_asks_first(cli, sandbox, keys, code):
    assert cli("scan").exit_code == 0
    terminal = Terminal(
        [*TRASHSCAN, "--config", str(sandbox.config_path), "accounts", "remove", "usb-stick"]
    )
    asked = terminal.expect("[y/N]")
    assert "3 trashed item(s)" in asked  # what the index would lose is said before asking
    terminal.type(keys)
    assert terminal.finish() == code, terminal.screen
    kept = code == EXIT_DECLINED
    assert ("usb-stick" in _names(sandbox.config_path)) is kept
    assert _rows(sandbox.config_path) == (3 if kept else 0)
    if kept:
        assert "declined" in terminal.screen
