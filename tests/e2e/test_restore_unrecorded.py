"""A restore whose results cannot be written to the index (another process holds its write lock
past the busy timeout): what the provider did is still shown, and the run ends with an error
that says so, never as if nothing had been restored."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from trashscan import index_read


def _trashed(sandbox, cli, n: int) -> list[str]:
    """Refs of the laptop account's items once ``n`` more photos are trashed and scanned."""
    trash = next(
        Path(account["trash_dirs"][0])
        for account in sandbox.accounts
        if account["name"] == "laptop" and account["provider"] == "local-trash"
    )
    sandbox.fakes["local-trash"].bulk(trash, n, folder="Kept")
    assert cli("scan", "--account", "laptop", "--no-thumbnails").exit_code in (0, 1)
    return cli("list", "-q", "--cached", "--account", "laptop").stdout.split()


def test_results_the_index_cannot_record_are_shown_and_the_run_says_so(
    sandbox, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    refs = _trashed(sandbox, cli, 3)
    listed = cli("list", "--cached", "--account", "laptop", "--format", "jsonl").stdout
    paths = [json.loads(line)["path"] for line in listed.splitlines()]
    kept = [path for path in paths if "/Kept/" in path]  # the bulk's: nothing there before
    assert len(kept) == 3 and not any(Path(path).exists() for path in kept)
    monkeypatch.setattr(index_read, "BUSY_TIMEOUT_MS", 100)
    blocker = sqlite3.connect(sandbox.workdir / "index.db", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")  # another process writing, past the busy timeout
        result = cli("restore", *refs, "--yes")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    restored = [line for line in result.stdout.splitlines() if line.startswith("restored")]
    n = len(refs)
    assert len(restored) == n, result.stdout + result.stderr  # they happened: shown
    assert result.stdout.splitlines()[-1] == f"{n} restored, 0 not restored"
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"trashscan: error: {n} restore results above are not in the index: index "
        f"{sandbox.workdir / 'index.db'}: database is locked (they did happen: the next "
        "`trashscan scan` sees those items gone from the trash; `trashscan history` will not "
        "list them)"
    )
    assert all(Path(path).exists() for path in kept)  # back in place
    # The index still holds them as trashed, as the message says, until a scan.
    assert sorted(cli("list", "-q", "--cached", "--account", "laptop").stdout.split()) == sorted(
        refs
    )


def test_results_a_locked_batch_could_not_record_go_with_the_next_one(
    sandbox, cli, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The lock is often brief (another scan's commit): what one batch could not record is
    recorded with a later one, and the run ends normally."""
    from trashscan.index import Index

    refs = _trashed(sandbox, cli, 3)
    real = Index.record_restores
    calls: list[int] = []

    def locked_once(self: Index, entries, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(len(entries))
        if len(calls) == 1:
            raise index_read.store_error("x", "database is locked")
        return real(self, entries, *args, **kwargs)

    monkeypatch.setattr(Index, "record_restores", locked_once)
    result = cli("restore", *refs, "--yes")

    assert result.exit_code == 0, result.stderr
    assert len(calls) >= 2 and sum(calls[1:]) >= len(refs)
    history = cli("history").stdout
    assert sum(" restored " in f" {line} " for line in history.splitlines()) == len(refs), history
    assert cli("list", "-q", "--cached", "--account", "laptop").stdout.split() == []
