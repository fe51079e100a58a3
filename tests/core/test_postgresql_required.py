"""Where no PostgreSQL can be started its tests skip, saying why; CI makes that a failure.

A skipped PostgreSQL test looks like a pass in a summary, so CI (``.ci/run``) sets
``TRASHSCAN_REQUIRE_PG=1`` and a missing server must then fail the run. Each case runs pytest in
a subprocess on one PostgreSQL test, with the server programs pointed at a folder without them.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ONE_PG_TEST = "tests/core/test_index.py::test_naive_datetimes_are_refused[postgresql]"


def _pytest_without_postgresql(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("TRASHSCAN_")}
    clean.update(TRASHSCAN_TEST_PG_BINDIR=str(tmp_path / "no-postgresql-here"), **env)
    command = [sys.executable, "-m", "pytest", "-q", "-rs", "-p", "no:cacheprovider", ONE_PG_TEST]
    return subprocess.run(command, cwd=ROOT, env=clean, capture_output=True, text=True, check=False)


@pytest.mark.parametrize("required", [False, True])
def test_no_postgresql_skips_unless_required(tmp_path: Path, required: bool) -> None:
    env = {"TRASHSCAN_REQUIRE_PG": "1"} if required else {}
    run = _pytest_without_postgresql(tmp_path, **env)
    if required:
        assert run.returncode == 1, run.stdout
        assert "1 error" in run.stdout and "PostgreSQL required" in run.stdout
    else:
        assert run.returncode == 0, run.stdout
        assert "1 skipped" in run.stdout and "no PostgreSQL server programs" in run.stdout
