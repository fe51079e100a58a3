"""Per-account file locks, and the scanner taking them: one scan of an account at a time."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from trashscan.index import Index
from trashscan.lock import (
    BUSY_MESSAGE,
    DEFAULT_WAIT,
    LOCK_WAIT_ENV,
    FileLock,
    LockBusyError,
    default_wait,
    is_busy_message,
    lock_path,
)
from trashscan.models import Account
from trashscan.scanner import Scanner
from trashscan.testing import file_context

NOW = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)


def test_second_holder_is_refused_until_release(tmp_path: Path) -> None:
    path = tmp_path / "locks" / "a.lock"
    first, second = FileLock(path), FileLock(path)
    assert first.try_acquire()
    assert not second.try_acquire()  # flock conflicts between descriptors, even in one process
    assert first.holder() == os.getpid()
    first.release()
    assert second.try_acquire()
    second.release()
    assert path.exists()  # never deleted: deleting lock files races with their next opener


def test_acquire_waits_a_bounded_time(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    holder = FileLock(path)
    assert holder.try_acquire()
    clock = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        clock[0] += seconds

    waiter = FileLock(path, sleep=sleep, monotonic=lambda: clock[0])
    assert not waiter.acquire(1.0)
    assert 0.99 <= sum(slept) <= 1.01 and max(slept) <= 0.1 + 1e-9
    holder.release()
    assert waiter.acquire(1.0)
    waiter.release()


def test_context_manager_raises_a_one_line_account_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv(LOCK_WAIT_ENV, "0")
    holder = FileLock(tmp_path / "a.lock")
    holder.try_acquire()
    with pytest.raises(LockBusyError, match=BUSY_MESSAGE), FileLock(tmp_path / "a.lock"):
        pass
    holder.release()
    with FileLock(tmp_path / "a.lock") as lock:
        assert lock.held
    assert not lock.held


def test_a_killed_holder_leaves_no_stale_lock(tmp_path: Path) -> None:
    path = tmp_path / "a.lock"
    code = textwrap.dedent(
        f"""
        import sys, time
        from trashscan.lock import FileLock
        lock = FileLock({str(path)!r})
        assert lock.try_acquire()
        print("held", flush=True)
        time.sleep(60)
        """
    )
    child = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout is not None and child.stdout.readline().strip() == "held"
        waiter = FileLock(path)
        assert not waiter.try_acquire()
        assert waiter.holder() == child.pid
        assert f"(pid {child.pid})" in waiter.busy_message()
        assert is_busy_message(waiter.busy_message())
    finally:
        child.kill()
        child.wait()
    assert waiter.try_acquire()
    waiter.release()


def test_lock_paths_are_per_provider_and_account(tmp_path: Path) -> None:
    a = lock_path(tmp_path, Account("a.b", "x"))
    b = lock_path(tmp_path, Account("b", "x.a"))
    assert a != b
    assert a == tmp_path / "locks" / "x" / "a.b.lock"
    weird = lock_path(tmp_path, Account("..", "../../etc"))
    assert weird.resolve().is_relative_to((tmp_path / "locks").resolve())


@pytest.mark.parametrize(
    ("raw", "expected"), [(None, DEFAULT_WAIT), ("0.5", 0.5), ("-3", 0.0), ("soon", DEFAULT_WAIT)]
)
def test_default_wait_from_the_environment(monkeypatch, raw, expected) -> None:
    if raw is None:
        monkeypatch.delenv(LOCK_WAIT_ENV, raising=False)
    else:
        monkeypatch.setenv(LOCK_WAIT_ENV, raw)
    assert default_wait() == expected


def test_is_busy_message() -> None:
    assert is_busy_message(BUSY_MESSAGE)
    assert not is_busy_message(None)
    assert not is_busy_message("HTTP 500 from example.org")


# --- the scanner -----------------------------------------------------------------------------


def _trash(root: Path) -> Path:
    for sub in ("info", "files"):
        (root / sub).mkdir(parents=True, exist_ok=True)
    (root / "files" / "a.jpg").write_bytes(b"\xff\xd8\xff\xd9")
    (root / "info" / "a.jpg.trashinfo").write_text(
        "[Trash Info]\nPath=/tmp/a.jpg\nDeletionDate=2026-03-01T10:00:00\n", encoding="utf-8"
    )
    return root


@pytest.fixture
def setup(tmp_path: Path):
    context = file_context(tmp_path, NOW)
    accounts = [
        Account(
            name,
            "local-trash",
            {"trash_dirs": [str(_trash(tmp_path / name))], "include_volumes": False},
        )
        for name in ("one", "two")
    ]
    index = Index.open(f"sqlite:///{tmp_path / 'index.db'}")
    yield index, context, accounts
    index.close()


def test_a_busy_account_fails_and_the_others_are_scanned(setup) -> None:
    index, context, (one, two) = setup
    holder = FileLock(lock_path(context.data_dir, one))
    assert holder.try_acquire()
    results = Scanner(index, context, lock_wait=0.3).scan([one, two])
    holder.release()
    assert [r.ok for r in results] == [False, True]
    assert results[0].error is not None and is_busy_message(results[0].error)
    assert results[1].items == 1
    assert index.last_scan("local-trash", "one") is None  # no scan was even begun for it
    # and the scanner let go of every lock it took
    for account in (one, two):
        lock = FileLock(lock_path(context.data_dir, account))
        assert lock.try_acquire()
        lock.release()


def test_a_lock_freed_during_the_wait_lets_the_scan_run(setup) -> None:
    index, context, (one, two) = setup
    holder = FileLock(lock_path(context.data_dir, one))
    assert holder.try_acquire()
    threading.Timer(0.3, holder.release).start()
    results = Scanner(index, context, lock_wait=5).scan([one, two])
    assert all(r.ok for r in results), results
    assert [r.items for r in results] == [1, 1]


def test_an_unwritable_lock_dir_fails_the_account_not_the_scan(setup, tmp_path) -> None:
    index, context, (one, two) = setup
    blocker = context.data_dir / "locks" / "local-trash"
    blocker.parent.mkdir(parents=True)
    blocker.write_text("a file where the provider's lock directory should be")
    results = Scanner(index, context, lock_wait=0).scan([one, two])
    assert [r.ok for r in results] == [False, False]
    assert all(r.error and r.error.startswith("cannot create its lock file") for r in results)
