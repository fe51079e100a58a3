"""Every run ends: a drip-feeding server, a run deadline, Ctrl-C.

The sandbox's OneDrive fake (erin: personal, frank: business) answers the chosen requests with a
``Drip`` fault: one byte at a time, each before any per-read timeout, so only trashscan's own
deadline (or Ctrl-C) ends the run. Today's main kept such a run going forever. Deadlines here are
seconds long so the tests stay fast; what they assert is the outcome and the requests made, and,
for Ctrl-C, that the process ended within a generous bound instead of never.
"""

from __future__ import annotations

import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from trashscan.cli import run
from trashscan.config import load_config
from trashscan.deadline import abandoned_workers
from trashscan.index import Index
from trashscan.models import RestoreOutcome
from trashscan.sandbox.faults import Drip
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog

BIN = Path(os.path.abspath(sys.executable)).parent
DELTA = "/v1.0/me/drive/root/delta"
DELTA_PATH = f"{re.escape(DELTA)}$"
BIN_PATH = r"/recycleBin/items$"
HINT = "(raise it with --deadline or [scan] deadline in the config)"


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"onedrive"})) as sandbox:
        assert sandbox.broken == {}
        yield sandbox


@pytest.fixture
def server(box: Sandbox):
    return box.servers["onedrive"]


def trashscan(capsys: pytest.CaptureFixture[str], box: Sandbox, *args: str):
    capsys.readouterr()
    code = run(["--config", str(box.config_path), *args])
    out, err = capsys.readouterr()
    return code, out, err


def index_of(box: Sandbox) -> Index:
    return Index.open(load_config(box.config_path).index_url)


def failures(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if " failed: " in line]


def erin_lost(box: Sandbox) -> set[str]:
    manifest = box.fakes["onedrive"].manifest["erin"]
    return set(manifest.scan_deleted_media) | set(manifest.scan_folder_photos)


def wait_for_abandoned_workers() -> None:
    for thread in abandoned_workers():
        thread.join(60)
    assert abandoned_workers() == []


# ------------------------------------------------------------------------------- scan, list


def test_a_drip_fed_account_fails_at_the_deadline_and_the_others_are_listed(capsys, box, server):
    server.faults.add(Drip(interval=0.5), path=DELTA_PATH, times=None)
    log = RequestLog(server)

    code, out, err = trashscan(capsys, box, "list", "--format", "json", "--deadline", "2s")

    assert code == 1
    assert failures(err) == [
        f"trashscan: account 'erin' (onedrive) failed: deadline of 2s reached {HINT}"
    ]
    assert {item["account"] for item in json.loads(out)} == {"frank"}
    assert [r.path for r in log.since()].count(DELTA) == 1  # the one that never ended
    last = index_of(box).last_scan("onedrive", "erin")
    assert last is not None and last.status.value == "failed"
    assert last.error == f"deadline of 2s reached {HINT}"


def test_an_answer_after_the_deadline_commits_nothing_and_loses_nothing(capsys, box, server):
    """erin's delta answer (with her deletions) arrives after the deadline: her abandoned worker
    gets no commit acknowledgement, so neither the index nor her delta link moves, and the next
    scan lists every deletion."""
    assert trashscan(capsys, box, "scan")[0] == 0  # erin enrols
    box.between_scans()
    index = index_of(box)
    state = index.scan_state("onedrive", "erin")
    server.faults.add(Drip(interval=0.1, count=20), path=DELTA_PATH, times=1)  # ~2 s late

    code, _, err = trashscan(capsys, box, "scan", "--account", "erin", "--deadline", "1s")

    assert code == 1
    assert failures(err) == [
        f"trashscan: account 'erin' (onedrive) failed: deadline of 1s reached {HINT}"
    ]
    wait_for_abandoned_workers()  # the late answer reached the worker, which then gave up
    assert index.scan_state("onedrive", "erin") == state
    assert index.counts_by_account().get(("onedrive", "erin"), 0) == 0  # nothing committed
    code, out, err = trashscan(capsys, box, "list", "--account", "erin", "--format", "json")
    assert code == 0, err
    assert {item["path"] for item in json.loads(out)} == erin_lost(box)


# ----------------------------------------------------------------------------------- check


def test_check_warns_about_the_account_that_ran_out_of_time_and_ends(capsys, box, server):
    server.faults.add(Drip(interval=0.5), path=DELTA_PATH, times=None)

    code, out, _ = trashscan(capsys, box, "check", "--no-notify", "--deadline", "2s")

    assert code == 1  # WARNING
    lines = out.splitlines()
    assert lines[0].startswith("WARNING: ") and lines[0].endswith("2 accounts checked, 1 failed")
    assert f"  failed    erin (onedrive): scan failed: deadline of 2s reached {HINT}" in lines


def test_check_is_unknown_when_no_account_could_be_scanned_in_time(capsys, box, server):
    server.faults.add(Drip(interval=0.5), path=DELTA_PATH, times=None)
    server.faults.add(Drip(interval=0.5), path=BIN_PATH, times=None)

    code, out, _ = trashscan(capsys, box, "check", "--no-notify", "--deadline", "2s")

    assert code == 3  # UNKNOWN
    assert (
        out.splitlines()[0] == "UNKNOWN: no account could be scanned (2 accounts checked, 2 failed)"
    )


def test_a_credential_check_that_never_answers_is_reported_not_waited_for(capsys, box, monkeypatch):
    """After the scan, the providers' check_auth calls get what is left of the deadline (at least
    AUTH_WAIT, lowered here): one that hangs is reported as unanswered, and check ends."""
    from trashscan import check as check_module
    from trashscan_onedrive.plugin import OneDriveProvider

    hang = threading.Event()
    monkeypatch.setattr(OneDriveProvider, "check_auth", lambda self, account: hang.wait(60))
    monkeypatch.setattr(check_module, "AUTH_WAIT", 0.5)
    try:
        code, out, _ = trashscan(capsys, box, "check", "--no-notify", "--deadline", "5s")
    finally:
        hang.set()

    assert code == 1  # WARNING: two accounts need attention
    assert out.splitlines()[0].endswith("2 accounts checked, 2 need attention")
    for name in ("erin", "frank"):
        assert (
            f"  attention {name} (onedrive): credentials: the credential check did not answer "
            "in time" in out.splitlines()
        )


# --------------------------------------------------------------------------------- restore


def test_restore_reports_true_outcomes_at_the_deadline(capsys, box, server):
    """One account at a time: the first one's restore request drips (in flight at the deadline:
    it may have been applied), the second one's never starts (not attempted)."""
    assert trashscan(capsys, box, "scan")[0] == 0
    box.between_scans()
    code, out, _ = trashscan(capsys, box, "list", "--format", "json")
    assert code == 0
    items = json.loads(out)
    picked = {
        account: next(i for i in items if i["account"] == account) for account in ("erin", "frank")
    }
    with box.config_path.open("a") as config:
        config.write("\n[scan]\nconcurrency = 1\n")
    server.faults.add(Drip(interval=0.5), path=r"/restore$", times=None)
    log = RequestLog(server)

    code, out, err = trashscan(
        capsys, box, "restore", *(i["ref"] for i in picked.values()), "--yes", "--deadline", "2s"
    )

    assert code == 1, err
    assert "0 restored, 2 not restored" in out
    restores = [r for r in log.since() if r.path.endswith("/restore")]
    assert len(restores) == 1  # the one in flight; the other account was never started
    started = "erin" if "/me/drive/" in restores[0].path else "frank"
    waiting = "frank" if started == "erin" else "erin"
    outcome = {
        line.split()[2].rstrip(":"): line.split()[0]
        for line in out.splitlines()
        if line.split(" ", 1)[0] in {o.value for o in RestoreOutcome}
    }
    assert outcome == {started: "failed", waiting: "skipped"}
    assert (
        "no answer before the deadline of 2s: the restore may have been sent; `trashscan list` "
        "shows whether it left the trash" in out
    )
    assert "not attempted: the deadline of 2s was reached first" in out
    logged = index_of(box).restore_log()
    assert len(logged) == 2  # both outcomes are in the audit log


# ------------------------------------------------------------------------------------ Ctrl-C


def start_cli(box: Sandbox, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [str(BIN / "trashscan"), "--config", str(box.config_path), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TRASHSCAN_LOCK_WAIT": "1"},
    )


def wait_until(condition, what: str, limit: float = 30.0) -> None:
    ends = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < ends, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_ctrl_c_ends_a_scan_blocked_on_a_drip_fed_server(box, server):
    server.faults.add(Drip(interval=0.5), path=DELTA_PATH, times=None)
    proc = start_cli(box, "list", "--format", "json")
    index = index_of(box)
    try:
        wait_until(lambda: any(r.path == DELTA for r in server.request_log), "erin's delta call")
        wait_until(
            lambda: (s := index.last_scan("onedrive", "frank")) and s.status.value == "ok",
            "frank's scan to commit",
        )
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
    finally:
        proc.kill()
    print(f"exit {proc.returncode} {took:.2f} s after SIGINT")
    assert proc.returncode == 130, err
    assert err.splitlines()[-1] == "trashscan: interrupted"
    assert "Traceback" not in err
    assert took < 5
    # what was committed is kept, the index is sound, and erin's scan is closed, not "running"
    db = load_config(box.config_path).index_url.removeprefix("sqlite:///")
    with sqlite3.connect(db) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert index.counts_by_account().get(("onedrive", "frank"), 0) > 0
    erin = index.last_scan("onedrive", "erin")
    assert erin is not None and (erin.status.value, erin.error) == ("failed", "interrupted")


def test_a_second_ctrl_c_exits_at_once(box, server, tmp_path):
    """The first Ctrl-C's clean-up closes erin's scan row, which waits for the index's write lock
    (held here by another connection, as another process would); a second Ctrl-C ends it now."""
    server.faults.add(Drip(interval=0.5), path=DELTA_PATH, times=None)
    proc = start_cli(box, "scan", "--account", "erin")
    db = load_config(box.config_path).index_url.removeprefix("sqlite:///")
    try:
        wait_until(lambda: any(r.path == DELTA for r in server.request_log), "erin's delta call")
        blocker = sqlite3.connect(db, isolation_level=None)
        blocker.execute("BEGIN IMMEDIATE")  # the write lock, until rolled back
        proc.send_signal(signal.SIGINT)
        time.sleep(1)
        assert proc.poll() is None  # still in its clean-up, waiting for the lock
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
        took = time.monotonic() - sent
        blocker.rollback()
        blocker.close()
    finally:
        proc.kill()
    print(f"exit {proc.returncode} {took:.2f} s after the second SIGINT")
    assert proc.returncode == 130
    assert err.splitlines()[-1] == "trashscan: interrupted"
    assert took < 3
