"""Every test runs isolated from the user's real config, data dir, trash and keyring.

The fakes' own tests (and the sandbox server's) share one sandbox CA per module, its bundle, and
a fresh HTTPS server per test: a fake is seeded onto ``server`` and driven by the provider's real
client, which trusts ``ca_bundle``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
import sqlalchemy as sa
from pg_cluster import PG_URL_VAR, REQUIRE_VAR, Cluster, ClusterUnavailable, start_cluster

from trashscan.index import metadata
from trashscan.sandbox.server import FakeServer, Router
from trashscan.sandbox.tls import SandboxCA
from trashscan.testing import MemoryKeyring


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> MemoryKeyring:
    home = tmp_path / "user-home"
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("TRASHSCAN_HOME", str(tmp_path / "trashscan-home"))
    monkeypatch.delenv("TRASHSCAN_CONFIG", raising=False)
    monkeypatch.delenv("TRASHSCAN_ALLOW_INSECURE_KEYRING", raising=False)
    monkeypatch.delenv("TRASHSCAN_DEBUG", raising=False)
    previous = keyring.get_keyring()
    memory = MemoryKeyring()
    keyring.set_keyring(memory)
    yield memory
    keyring.set_keyring(previous)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[Cluster | str]:
    """A PostgreSQL server for the index tests, started once per run when it can be.

    ``TRASHSCAN_TEST_PG_URL`` names a scratch database to use instead. Where no server can be
    started the PostgreSQL tests skip, saying why, unless ``TRASHSCAN_REQUIRE_PG=1`` (CI) makes
    that a failure: there a skip would hide that nothing was tested.
    """
    if os.environ.get(PG_URL_VAR):
        yield os.environ[PG_URL_VAR]
        return
    try:
        cluster = start_cluster()
    except ClusterUnavailable as why:
        if os.environ.get(REQUIRE_VAR) == "1":
            pytest.fail(f"PostgreSQL required ({REQUIRE_VAR}=1) but unavailable: {why}")
        pytest.skip(f"PostgreSQL unavailable: {why}")
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_server: Cluster | str) -> str:
    """The URL of an empty PostgreSQL database for one test."""
    if isinstance(pg_server, Cluster):
        return pg_server.empty_database()
    engine = sa.create_engine(pg_server)  # a shared scratch database: empty it of our tables
    with engine.begin() as conn:
        metadata.drop_all(conn)
    engine.dispose()
    return pg_server


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
