"""A broken connection is reported as what it is, with the host, after a short bounded retry.

Each cloud account of the sandbox is pointed, in turn, at a port nothing listens on, a name under
``.invalid`` (never resolves, with or without a network), a plain-HTTP server, a TLS server its
``ca_bundle`` does not trust, a server that accepts and never answers, or a ``ca_bundle`` file
that is not there. The real CLI must print one line naming the cause and the host, exit 1, and
try no more than the policy allows: counted (connections attempted, DNS lookups, connections a
server accepted, retry waits), never timed. The retry policy's sleeps are recorded, not slept.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomlkit

import trashscan.retry
from trashscan.sandbox.net_faults import ConnectionLog, PlainHttpServer, SilentServer, closed_port
from trashscan.sandbox.session import Sandbox
from trashscan.sandbox.tls import SandboxCA
from trashscan.testing import started_sandbox

# One account per cloud provider; OneDrive signs in at its authority before Graph.
ACCOUNTS = {"dropbox": "carol", "google-drive": "bob", "onedrive": "erin", "icloud": "grace"}
UNRESOLVABLE = "nowhere.invalid"

REFUSED_HINT = "(nothing listens there: check the endpoint's host and port, or try again later)"
DNS_HINT = "(check the host name (the account's endpoint, if set) and the network's DNS)"
NOT_TLS_HINT = "(check the scheme and port of the account's endpoint)"
UNTRUSTED_HINT = "(check the account's ca_bundle, or the system's certificates)"
TIMEOUT_HINT = "(the server or the network is stuck or slow; try again later)"
CA_HINT = "(fix the account's ca_bundle path, or remove it to use the system's certificates)"


@dataclass
class Run:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def problems(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.strip()]


class Waits(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> Waits:
    """Every RetryPolicy the CLI builds records its waits instead of sleeping."""
    recorded = Waits()
    policy = functools.partial(trashscan.retry.RetryPolicy, sleep=recorded)
    monkeypatch.setattr(trashscan.retry, "RetryPolicy", policy)
    return recorded


@pytest.fixture(params=list(ACCOUNTS))
def provider(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def sandbox(tmp_path: Path, provider: str) -> Iterator[Sandbox]:
    with started_sandbox(tmp_path / "sandbox", provider) as box:
        yield box


class Broken:
    """The sandbox's config with one account changed, and the CLI run against it."""

    def __init__(self, sandbox: Sandbox, provider: str, cli: Any) -> None:
        self.sandbox = sandbox
        self.provider = provider
        self.name = ACCOUNTS[provider]
        self.cli = cli
        assert sandbox.config_path is not None
        self.document = tomlkit.parse(sandbox.config_path.read_text())
        tables = self.document["accounts"]
        self.table = next(t for t in tables if t["name"] == self.name)

    def point_at(self, url: str) -> None:
        """Every host of the account (OneDrive's sign-in authority included) becomes ``url``."""
        self.table["endpoint"] = url
        if "authority" in self.table:
            self.table["authority"] = url + "common"

    def run(self, *args: str) -> Run:
        path = self.sandbox.workdir / "broken.toml"
        path.write_text(tomlkit.dumps(self.document))
        result = self.cli("--config", str(path), *args, config=False)
        return Run(result.exit_code, result.stdout, result.stderr)

    def scan(self) -> Run:
        return self.run("scan", "--account", self.name)

    def failed(self, message: str) -> str:
        return f"trashscan: account {self.name!r} ({self.provider}) failed: {message}"


@pytest.fixture
def broken(sandbox: Sandbox, provider: str, cli: Any) -> Broken:
    return Broken(sandbox, provider, cli)


@pytest.fixture
def connections() -> Iterator[ConnectionLog]:
    with ConnectionLog() as log:
        yield log


def _one_line(run: Run, expected: str) -> None:
    assert run.exit_code == 1, run.stderr
    assert run.problems == [expected]
    assert "Traceback" not in run.stderr
    assert "throttling" not in run.stderr


# ----------------------------------------------------------------------------------- causes


def test_a_refused_connection_is_named_after_three_attempts(broken, connections, waits):
    port = closed_port()
    broken.point_at(f"https://127.0.0.1:{port}/")

    run = broken.scan()

    _one_line(
        run, broken.failed(f"127.0.0.1:{port} refused the connection (3 attempts) ") + REFUSED_HINT
    )
    assert connections.to_port(port) == 3
    assert len(waits) == 2


def test_a_name_that_does_not_resolve_is_named_at_once(broken, connections, waits):
    broken.point_at(f"https://{UNRESOLVABLE}/")

    run = broken.scan()

    _one_line(
        run, broken.failed(f"{UNRESOLVABLE} does not resolve (DNS: no such host) ") + DNS_HINT
    )
    assert connections.lookups_of(UNRESOLVABLE) == 1
    assert waits == []


def test_a_plain_http_server_behind_an_https_endpoint_is_named_at_once(broken, waits):
    with PlainHttpServer() as server:
        broken.point_at(server.url("https"))

        run = broken.scan()

        accepted = server.accepted
    expected = f"127.0.0.1:{server.port} does not speak TLS (it answered like a plain-HTTP server) "
    _one_line(run, broken.failed(expected) + NOT_TLS_HINT)
    assert accepted == 1
    assert waits == []


def test_a_certificate_the_ca_bundle_does_not_trust_is_named_at_once(
    broken, sandbox, connections, waits
):
    other = SandboxCA().write_ca_bundle(sandbox.workdir / "another-ca.pem")
    broken.table["ca_bundle"] = str(other)
    port = sandbox.servers[broken.provider].address[1]

    run = broken.scan()

    expected = (
        f"the TLS certificate of 127.0.0.1:{port} is not trusted "
        "(unable to get local issuer certificate) "
    )
    _one_line(run, broken.failed(expected) + UNTRUSTED_HINT)
    assert connections.to_port(port) == 1
    assert waits == []


def test_a_server_that_never_answers_times_out_twice(broken, waits):
    with SilentServer() as server:
        broken.point_at(server.url("https"))
        broken.table["timeout"] = 0.5

        run = broken.scan()

        accepted = server.accepted
    _one_line(
        run,
        broken.failed(f"127.0.0.1:{server.port} did not answer in time (2 attempts) ")
        + TIMEOUT_HINT,
    )
    assert accepted == 2
    assert len(waits) == 1


def test_a_missing_ca_bundle_is_named_before_any_connection(broken, sandbox, connections, waits):
    missing = sandbox.workdir / "no-such-ca.pem"
    broken.table["ca_bundle"] = str(missing)
    port = sandbox.servers[broken.provider].address[1]

    run = broken.scan()

    expected = f"cannot verify 127.0.0.1:{port}: the CA bundle {missing} does not exist "
    _one_line(run, broken.failed(expected) + CA_HINT)
    assert connections.connects == []
    assert waits == []


def test_accounts_test_names_the_cause_too(broken, connections, waits):
    port = closed_port()
    broken.point_at(f"https://127.0.0.1:{port}/")

    run = broken.run("accounts", "test", broken.name)

    expected = f"trashscan: {broken.name}: 127.0.0.1:{port} refused the connection (3 attempts) "
    _one_line(run, expected + REFUSED_HINT)
    assert connections.to_port(port) == 3
    assert len(waits) == 2


# ----------------------------------------------------------------------------------- http://


@pytest.mark.parametrize("provider", ["google-drive"])
def test_an_https_server_behind_an_http_endpoint_is_named(broken, sandbox, connections, waits):
    """Only Google Drive's client accepts an http:// endpoint (the others refuse it up front)."""
    port = sandbox.servers[broken.provider].address[1]
    broken.point_at(f"http://127.0.0.1:{port}/")

    run = broken.scan()

    expected = (
        f"127.0.0.1:{port} closed the connection without an answer (3 attempts) "
        "(if it is an HTTPS server, the endpoint must start with https://)"
    )
    _one_line(run, broken.failed(expected))
    assert connections.to_port(port) == 3
    assert len(waits) == 2


@pytest.mark.parametrize("provider", ["dropbox", "onedrive", "icloud"])
def test_an_http_endpoint_is_refused_where_the_sdk_speaks_only_https(broken, connections):
    broken.point_at("http://127.0.0.1:9/")

    run = broken.scan()

    assert run.exit_code == 1
    (problem,) = run.problems
    assert problem.startswith(broken.failed("endpoint 'http://127.0.0.1:9/' of "))
    assert "https://" in problem.split("must be", 1)[1]
    assert connections.connects == []
