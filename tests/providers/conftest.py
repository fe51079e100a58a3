"""Fixtures for the fakes' own tests: a sandbox CA, its bundle, and a fresh HTTPS server.

A fake is seeded onto ``server`` and driven by the provider's real client, which trusts
``ca_bundle``; a module that needs them otherwise defines its own of the same name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from trashscan.sandbox.server import FakeServer, Router
from trashscan.sandbox.tls import SandboxCA


@pytest.fixture(scope="module")
def ca() -> SandboxCA:
    return SandboxCA()


@pytest.fixture(scope="module")
def ca_bundle(ca: SandboxCA, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return ca.write_ca_bundle(tmp_path_factory.mktemp("ca") / "ca.pem")


@pytest.fixture
def server(ca: SandboxCA) -> Iterator[FakeServer]:
    with FakeServer(Router(), tls=ca.issue_server_context()) as running:
        yield running
