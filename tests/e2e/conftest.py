"""End-to-end fixtures: the real CLI entry point against a seeded sandbox."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from trashscan.cli import run
from trashscan.sandbox.session import Sandbox
from trashscan.testing import RequestLog, assert_no_miscalls, started_sandbox

DEFAULT_PROVIDERS = ("local-trash",)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sandbox(*providers): the sandbox holds these providers' fakes instead of local-trash's "
        "(the first one is the `fake` and `log` fixtures' provider)",
    )


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


def _providers(request: pytest.FixtureRequest) -> tuple[str, ...]:
    marker = request.node.get_closest_marker("sandbox")
    return tuple(marker.args) if marker is not None else DEFAULT_PROVIDERS


@pytest.fixture
def sandbox(tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Sandbox]:
    """The local-trash accounts only, unless the module marks ``sandbox(*providers)``: cloud
    providers have e2e tests of their own, each with that provider's fake alone."""
    with started_sandbox(tmp_path / "sandbox", *_providers(request)) as box:
        yield box


@pytest.fixture
def fake(sandbox: Sandbox, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The marked provider's fake. Every test: trashscan never sent it a destructive call, a
    route it does not model, nor (where the fake tells) a route the provider does not document."""
    fake = sandbox.fakes[_providers(request)[0]]
    yield fake
    assert_no_miscalls(fake)


@pytest.fixture
def log(sandbox: Sandbox, request: pytest.FixtureRequest) -> RequestLog:
    """The marked provider's request log (mark it, then read what came since)."""
    return RequestLog(sandbox.servers[_providers(request)[0]])


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], sandbox: Sandbox) -> Cli:
    return Cli(capsys, sandbox.config_path)


@pytest.fixture
def bare_cli(capsys: pytest.CaptureFixture[str]) -> Cli:
    return Cli(capsys, None)
