"""A scan stopped between a plugin's ``yield`` and the page's commit loses no deletion.

The real CLI runs in a subprocess against the sandbox's OneDrive fake (erin, personal: the
account whose deletions live only in trashscan's private mirror until the index has them). The
scanner's test hook (``TRASHSCAN_TEST_HOLD_BEFORE_COMMIT``) holds the first page with items or
removals after the worker handed it over and before its commit; the test then SIGKILLs the
process, sends it SIGINT, or holds the index's write lock from this (second) process for longer
than the busy timeout. Afterwards an ordinary scan must list every deletion, and the scan row the
dead process left `running` is closed as `interrupted`.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from trashscan.sandbox.session import Sandbox
from trashscan.scanner import TEST_HOLD_ENV
from trashscan_onedrive.sandbox.fake import OneDriveFake

PROVIDER = "onedrive"
DELETIONS = 40
RESTORED = 5
HOLD_WAIT = 120.0  # seconds a test waits for the held page before it fails (never reached)


pytestmark = pytest.mark.sandbox(PROVIDER)


@pytest.fixture
def deleted(cli, fake: OneDriveFake) -> set[str]:
    """erin enrolled (a first scan), then DELETIONS of her photos and videos deleted."""
    fake.bulk_personal("erin", 100)
    enrol = cli("scan", "--account", "erin")
    assert enrol.exit_code == 0, enrol.stderr
    return set(fake.delete_random("erin", DELETIONS, seed=11))


class HeldScan:
    """`trashscan scan --account erin` in a subprocess, held before its first commit."""

    def __init__(self, sandbox: Sandbox, tmp_path: Path) -> None:
        self.hold = tmp_path / "hold-before-commit"
        env = {**os.environ, TEST_HOLD_ENV: str(self.hold)}
        command = [sys.executable, "-m", "trashscan", "--config", str(sandbox.config_path)]
        self.proc = subprocess.Popen(
            [*command, "scan", "--account", "erin"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        give_up = time.monotonic() + HOLD_WAIT
        while not self.hold.exists():
            if self.proc.poll() is not None or time.monotonic() > give_up:
                out, err = self.finish()
                pytest.fail(f"the scan never reached its first commit: {out} {err}")
            time.sleep(0.02)

    def release(self) -> None:
        self.hold.unlink()

    def finish(self) -> tuple[str, str]:
        if self.proc.poll() is None and self.proc.returncode is None:
            try:
                return self.proc.communicate(timeout=HOLD_WAIT)
            except subprocess.TimeoutExpired:
                self.proc.kill()
        return self.proc.communicate()


def _listed(cli) -> dict[str, str]:
    """An ordinary scan of erin: item id -> state, for what `list` shows as trashed."""
    result = cli("list", "--account", "erin", "--format", "json")
    assert result.exit_code == 0, result.stderr
    return {i["item_id"]: i["state"] for i in result.json()}


def _scan_rows(sandbox: Sandbox) -> list[tuple[str, str | None]]:
    db = sqlite3.connect(sandbox.workdir / "index.db")
    try:
        return db.execute(
            "SELECT status, error FROM scans WHERE account = 'erin' ORDER BY id"
        ).fetchall()
    finally:
        db.close()


def test_sigkill_between_yield_and_commit_loses_nothing(cli, sandbox, fake, deleted, tmp_path):
    held = HeldScan(sandbox, tmp_path)
    held.proc.kill()
    held.finish()
    assert held.proc.returncode == -signal.SIGKILL
    assert [status for status, _ in _scan_rows(sandbox)] == ["ok", "running"]

    assert set(_listed(cli)) == deleted
    # the dead scan's row was closed when the next scan of erin started
    rows = _scan_rows(sandbox)
    assert [status for status, _ in rows] == ["ok", "interrupted", "ok"]
    assert rows[1][1] is not None and "interrupted" in rows[1][1]


def test_sigint_between_yield_and_commit_loses_nothing(cli, sandbox, fake, deleted, tmp_path):
    held = HeldScan(sandbox, tmp_path)
    held.proc.send_signal(signal.SIGINT)
    _out, err = held.finish()
    assert held.proc.returncode != 0, err
    assert "Traceback" not in err

    assert set(_listed(cli)) == deleted
    assert "running" not in [status for status, _ in _scan_rows(sandbox)]


def test_a_write_lock_held_past_the_busy_timeout_loses_nothing(
    cli, sandbox, fake, deleted, tmp_path
):
    held = HeldScan(sandbox, tmp_path)
    blocker = sqlite3.connect(sandbox.workdir / "index.db", isolation_level=None)
    try:
        blocker.execute("BEGIN EXCLUSIVE")  # this second process holds the write lock
        held.release()
        _out, err = held.finish()
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    assert held.proc.returncode == 1, err
    # one line, naming the account and the real cause
    assert err.strip().splitlines() == [
        f"trashscan: account 'erin' ({PROVIDER}) failed: index {sandbox.workdir / 'index.db'}: "
        "database is locked (another trashscan may be writing; retry)"
    ]

    assert set(_listed(cli)) == deleted
    assert "running" not in [status for status, _ in _scan_rows(sandbox)]


def test_a_killed_scan_does_not_lose_that_an_item_left_the_trash(
    cli, sandbox, fake, deleted, tmp_path
):
    """The mirror forgets that a photo was trashed only once the index knows it is back."""
    assert set(_listed(cli)) == deleted
    drive = fake.graph.drives["erin"]
    back = sorted(deleted)[:RESTORED]
    for item_id in back:  # restored on the web, not by trashscan
        drive.restore(drive.items[item_id], fake.clock())

    held = HeldScan(sandbox, tmp_path)  # held at the page that says these left the trash
    held.proc.kill()
    held.finish()

    assert set(_listed(cli)) == deleted - set(back)
