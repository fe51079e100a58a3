"""End-to-end fixtures: the real CLI entry point against a seeded sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trashscan.cli import run
from trashscan.sandbox.session import Sandbox


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str

    def json(self) -> list[dict]:
        return json.loads(self.stdout)


class Cli:
    """Runs `trashscan ARGS` through the same entry point as the console script."""

    def __init__(self, capsys: pytest.CaptureFixture[str], config: Path | None) -> None:
        self.capsys = capsys
        self.config = config

    def __call__(self, *args: str, config: bool = True) -> Result:
        self.capsys.readouterr()
        prefix = ["--config", str(self.config)] if config and self.config else []
        code = run([*prefix, *args])
        captured = self.capsys.readouterr()
        return Result(code, captured.out, captured.err)


@pytest.fixture
def sandbox(tmp_path: Path) -> Iterator[Sandbox]:
    """The local-trash accounts only; cloud providers have e2e tests of their own."""
    with Sandbox(tmp_path / "sandbox", only=frozenset({"local-trash"})) as box:
        yield box


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> Cli:
    return Cli(capsys, sandbox.config_path)


@pytest.fixture
def bare_cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, None)
