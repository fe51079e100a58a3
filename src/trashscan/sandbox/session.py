"""Running every installed provider fake together, with a config that points at them.

A provider's fake is found through the ``trashscan.sandbox`` entry-point group, like the provider
itself. The contract a fake implements:

``name``
    the provider name its accounts use;
``needs_server``
    False for fakes that only prepare local data (local-trash); True for HTTP(S) fakes;
``seed(workdir, now)`` or, for HTTP fakes, ``seed(workdir, now, server=FakeServer, ca_bundle=Path)``
    registers routes on ``server.router`` (HTTP fakes), creates seeded data, and returns account
    tables for the config. Each HTTP fake gets a server of its own (its own port, all under one
    throwaway CA), so providers never compete for paths and faults can target one provider.
    A table may carry ``"secrets": {key: value}`` (strings) and ``"secret_blobs": {key: bytes}``
    (e.g. an msal token cache): the session puts those fake credentials in
    the sandbox's file-backed secret store, never in the config.

The generated config marks its secret store ``insecure_for_testing``: that store is plaintext and
only exists so that separate ``trashscan`` processes can use the running sandbox. The config also
names its own data dir (``[data] dir``, ``<workdir>/data``: locks, session files, reminders,
the thumbnail cache; the index is ``<workdir>/index.db``), and its secrets are that file, never
the OS keyring: two sandboxes, or a sandbox and the person's real accounts, share no state
whatever ``TRASHSCAN_HOME`` says.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from trashscan.plugins import sandbox_fakes

log = logging.getLogger(__name__)


@dataclass
class Sandbox:
    """Seeded fakes plus a ready config; use as a context manager."""

    workdir: Path
    port: int = 0
    config_path: Path | None = None
    only: frozenset[str] | None = None  # provider names to include; None = every installed fake
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    latency: float = 0.0  # seconds added to every fake response (benchmarks, demos)
    servers: dict[str, Any] = field(default_factory=dict)  # provider name -> FakeServer
    fakes: dict[str, Any] = field(default_factory=dict)  # provider name -> its fake (test seams)
    ca_bundle: Path | None = None
    accounts: list[dict[str, Any]] = field(default_factory=list)
    broken: dict[str, str] = field(default_factory=dict)  # fake name -> why it could not start
    _stack: ExitStack = field(default_factory=ExitStack)
    _ca: Any = None

    def __enter__(self) -> Sandbox:
        self.workdir.mkdir(parents=True, exist_ok=True, mode=0o700)
        secrets: dict[str, dict[str, str | bytes]] = {}
        for name, entry in sorted(sandbox_fakes().items()):
            if self.only is not None and name not in self.only:
                continue
            try:
                fake = self.fakes[name] = entry.load()()
                tables = self._seed(fake)
            except Exception as exc:  # one broken fake must not take the sandbox down
                self.fakes.pop(name, None)
                self.broken[name] = f"{type(exc).__name__}: {exc}"
                log.warning("sandbox fake %s failed: %s", name, self.broken[name])
                continue
            for table in tables:
                account_secrets = {**table.pop("secrets", {}), **table.pop("secret_blobs", {})}
                if account_secrets:
                    secrets[f"trashscan:{table['provider']}:{table['name']}"] = account_secrets
                self.accounts.append(table)
        self.config_path = self.config_path or self.workdir / "config.toml"
        self._write_config(secrets)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stack.close()

    @property
    def data_dir(self) -> Path:
        """What trashscan keeps for this sandbox's config (the config's ``[data] dir``)."""
        return self.workdir / "data"

    def _seed(self, fake: Any) -> list[dict[str, Any]]:
        fake_dir = self.workdir / fake.name
        if getattr(fake, "needs_server", False):
            server = self._start_server(fake.name)
            return fake.seed(fake_dir, self.now, server=server, ca_bundle=self.ca_bundle)
        return fake.seed(fake_dir, self.now)

    def _start_server(self, name: str) -> Any:
        from trashscan.sandbox.server import FakeServer, Router
        from trashscan.sandbox.tls import SandboxCA

        if self._ca is None:
            self._ca = SandboxCA()
            self.ca_bundle = self._ca.write_ca_bundle(self.workdir / "sandbox-ca.pem")
        port = self.port + len(self.servers) if self.port else 0
        server = FakeServer(
            Router(), tls=self._ca.issue_server_context(), port=port, latency=self.latency
        )
        server.start()
        self._stack.callback(server.stop)
        self.servers[name] = server
        return server

    def between_scans(self) -> None:
        """Let fakes change the cloud after a first scan (OneDrive personal needs an enrolment
        scan before deletions can be seen, so the demo deletes something in between)."""
        for fake in self.fakes.values():
            hook = getattr(fake, "between_scans", None)
            if hook is not None:
                hook()

    def _write_config(self, secrets: dict[str, dict[str, str | bytes]]) -> None:
        import tomlkit

        from trashscan.secrets import FileSecretStore

        secrets_path = self.workdir / "sandbox-secrets.json"
        store = FileSecretStore(secrets_path, insecure_for_testing=True)
        for service, values in secrets.items():
            for key, value in values.items():
                if isinstance(value, bytes):
                    store.set_blob(service, key, value)
                else:
                    store.set(service, key, value)
        document = tomlkit.document()
        document.add(
            tomlkit.comment(
                "Generated by `trashscan sandbox`: every account points at local fakes."
            )
        )
        document.add(tomlkit.comment("The secret store below is PLAINTEXT and for testing only."))
        document["data"] = {"dir": str(self.data_dir)}
        document["index"] = {"url": f"sqlite:///{self.workdir / 'index.db'}"}
        document["secrets"] = {
            "backend": "file",
            "path": str(secrets_path),
            "insecure_for_testing": True,
        }
        accounts = tomlkit.aot()
        for table in self.accounts:
            accounts.append(tomlkit.item(table))
        document["accounts"] = accounts
        assert self.config_path is not None
        self.config_path.parent.mkdir(parents=True, exist_ok=True)
        self.config_path.write_text(tomlkit.dumps(document), encoding="utf-8")
        self.config_path.chmod(0o600)


def serve_forever(
    port: int, config_path: Path | None, workdir: str | None, latency: float = 0.0
) -> None:
    """`trashscan sandbox serve`: seed, write the config, and keep the fakes up until Ctrl-C."""
    import click

    with ExitStack() as stack:
        if workdir is None:
            workdir = stack.enter_context(tempfile.TemporaryDirectory(prefix="trashscan-sandbox-"))
        sandbox = stack.enter_context(
            Sandbox(Path(workdir), port=port, config_path=config_path, latency=latency)
        )
        for line in _announcement(sandbox, latency):
            click.echo(line)
        for name, error in sandbox.broken.items():
            click.echo(f"{name}: not started ({error})", err=True)
        click.echo("stop with Ctrl-C")
        sys.stdout.flush()  # all of it now, also when piped (a log, `tee`, a test)
        wait_until_interrupted(sandbox)
        click.echo("sandbox stopped")


def _announcement(sandbox: Sandbox, latency: float) -> list[str]:
    """What a person needs, at most 80 columns a line (a path or URL aside): where each fake
    answers, the config to use, and how to finish ``accounts add`` against each fake, so the
    whole sign-in can be tried offline."""
    width = max((len(name) for name in sandbox.servers), default=0)
    lines = [f"{name:<{width}}  {server.base_url}" for name, server in sandbox.servers.items()]
    if latency > 0:
        lines.append(f"latency: {latency * 1000:g} ms per request")
    lines += [
        f"sandbox running; data in {sandbox.workdir}",
        f"config: {sandbox.config_path}",
        "In another terminal:",
        f"  export TRASHSCAN_CONFIG={sandbox.config_path}",
        "  trashscan list --all-accounts",
    ]
    sign_ins = [
        (provider, account, what)
        for provider, fake in sandbox.fakes.items()
        for account, what in (getattr(fake, "sign_in_help", list)() or [])
    ]
    if sign_ins:
        lines.append("Sign in again as with a real account (it works offline):")
        for provider, account, what in sign_ins:
            lines.append(f"  trashscan accounts add {provider} {account}")
            lines += [f"    {step}" for step in what.splitlines()]
    return lines


def wait_until_interrupted(sandbox: Sandbox) -> None:
    """Keep the fakes up (they serve on their own threads) until Ctrl-C; a seam for tests."""
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        return
