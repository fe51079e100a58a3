"""The run deadline: its config key and option values, and the daemon worker pool."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from trashscan.config import load_config
from trashscan.deadline import DaemonPool, Deadline, abandoned_workers
from trashscan.errors import ConfigError, UsageError


def test_the_default_deadline_is_thirty_minutes(tmp_path: Path) -> None:
    assert load_config(tmp_path / "none.toml").deadline == Deadline(1800.0, "30m")
    path = tmp_path / "config.toml"
    path.write_text("[scan]\nconcurrency = 2\n")
    assert load_config(path).deadline == Deadline(1800.0, "30m")


def test_scan_deadline_in_the_config(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[scan]\ndeadline = "1h30m"\n')
    deadline = load_config(path).deadline
    assert deadline == Deadline(5400.0, "1h30m")
    assert deadline.message == (
        "deadline of 1h30m reached (raise it with --deadline or [scan] deadline in the config)"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("10", '[scan] deadline must be a duration in quotes, e.g. "30m" or "2h"'),
        ('"0s"', "[scan] deadline '0s' must be longer than zero"),
        ('"soon"', "bad duration 'soon'"),
        ('"8d"', "[scan] deadline '8d' is longer than a week"),
        ('"99999999d"', "bad duration '99999999d'"),
    ],
)
def test_bad_deadlines_in_the_config_are_one_line(tmp_path: Path, value: str, expected: str):
    path = tmp_path / "config.toml"
    path.write_text(f"[scan]\ndeadline = {value}\n")
    with pytest.raises(ConfigError) as raised:
        load_config(path)
    assert str(raised.value).startswith(f"{path}: {expected}")


def test_option_values() -> None:
    assert Deadline.parse(" 2s ") == Deadline(2.0, "2s")
    assert Deadline.parse("1d") == Deadline(86400.0, "1d")
    with pytest.raises(UsageError, match="--deadline '0m' must be longer than zero"):
        Deadline.parse("0m")


def test_a_pool_runs_at_most_max_workers_and_nothing_after_close() -> None:
    release = threading.Event()
    started: list[int] = []
    pool = DaemonPool(2, "pool-test")
    for number in range(4):
        pool.submit(lambda n=number: (started.append(n), release.wait(5)))
    for _ in range(100):
        if len(started) == 2:
            break
        threading.Event().wait(0.01)
    assert sorted(started) == [0, 1]
    workers = [t for t in abandoned_workers() if t.name.startswith("pool-test-")]
    assert len(workers) == 4 and all(t.daemon for t in workers)  # never joined at exit
    pool.close()
    release.set()
    for thread in workers:
        thread.join(5)
    assert sorted(started) == [0, 1]  # the two waiting tasks never started
    assert not any(t.name.startswith("pool-test-") for t in abandoned_workers())
