"""The real CLI with ``[index] url`` on PostgreSQL gives the answers it gives on SQLite.

One local-trash sandbox, two configs that differ only in the index URL: every command runs
against both and must print the same thing, so nothing in scan, list (filters, sorts, formats),
restore, check or accounts may assume SQLite (time zones, booleans, LIKE, upserts). The clock is
pinned, so "days left" cannot differ between the two runs. The PostgreSQL server is the tests'
throwaway cluster (tests/pg_cluster.py); without one these tests skip, and CI requires it.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import tomlkit

from trashscan.index import Index
from trashscan.sandbox.session import Sandbox

FIXED = datetime(2026, 3, 2, 12, 0, tzinfo=UTC)
MEDIA = 13  # the sandbox's photos and videos: 10 on the laptop, 3 on the usb stick
READ_ONLY = "options=-c%20default_transaction_read_only%3Don"  # a replica, or a read-only role


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Sandbox]:
    """The e2e conftest's local-trash sandbox, seeded and listed at a pinned time."""
    monkeypatch.setattr("trashscan.cli.app.utcnow", lambda: FIXED)
    with Sandbox(tmp_path / "sandbox", now=FIXED, only=frozenset({"local-trash"})) as box:
        yield box


def _with_index(config: Path, url: str, to: Path) -> Path:
    document = tomlkit.parse(config.read_text(encoding="utf-8"))
    document["index"]["url"] = url  # type: ignore[index]
    to.write_text(tomlkit.dumps(document), encoding="utf-8")
    to.chmod(0o600)
    return to


@pytest.fixture
def configs(sandbox: Sandbox, pg_url: str, tmp_path: Path) -> dict[str, Path]:
    assert sandbox.config_path is not None
    assert "sqlite:" in sandbox.config_path.read_text(encoding="utf-8")
    postgresql = _with_index(sandbox.config_path, pg_url, tmp_path / "postgresql.toml")
    return {"sqlite": sandbox.config_path, "postgresql": postgresql}


def _both(cli, configs: dict[str, Path], *args: str):
    """The same command against each index; the two results must agree, exit code included."""
    sqlite, postgresql = (cli("--config", str(configs[db]), *args, config=False) for db in configs)
    assert (postgresql.exit_code, postgresql.stdout) == (sqlite.exit_code, sqlite.stdout), args
    return postgresql


LISTINGS = [
    ("--format", "json"),
    ("--format", "csv"),
    (),  # the table, with its totals on stderr
    ("--kind", "any", "--format", "json"),
    ("--kind", "video", "--format", "json"),
    ("--account", "usb-stick", "--format", "json"),
    ("--provider", "local-trash", "--sort", "name", "--format", "json"),
    ("--name", "img_*", "--format", "json"),
    ("--name", "*clip?mov", "--format", "json"),
    ("--sort", "size", "--format", "json"),
    ("--sort", "deleted", "--format", "json"),
    ("--expiring-within", "10d", "--format", "json"),
    ("--deleted-since", "2026-02-05", "--format", "json"),
    ("--deleted-until", "2026-02-05", "--format", "json"),
    ("--format", "jsonl"),  # streamed from a server-side cursor on PostgreSQL
    ("-q",),
    ("--deleted-since", "20d", "--within", "30d", "--format", "jsonl"),
]


def test_scan_list_check_and_accounts_agree_with_sqlite(cli, configs) -> None:
    scanned = _both(cli, configs, "scan", "--all-accounts")
    assert scanned.exit_code == 0, scanned.stderr
    for args in LISTINGS:
        _both(cli, configs, "list", "--cached", *args)

    everything = _both(cli, configs, "list", "--cached", "--format", "json").json()
    assert len(everything) == MEDIA
    assert all(item["deleted_at"].endswith("Z") for item in everything)
    purges = [item["purge_at"] for item in everything if item["purge_at"]]
    assert purges == sorted(purges) and len(purges) == 10
    named = _both(cli, configs, "list", "--cached", "--name", "img_*", "--format", "json").json()
    assert named and all(item["name"].lower().startswith("img_") for item in named)
    soon = _both(cli, configs, "list", "--cached", "--expiring-within", "10d", "--format", "json")
    assert 0 < len(soon.json()) < MEDIA

    checked = _both(cli, configs, "check", "--format", "json", "--no-notify")
    assert checked.exit_code == 2  # the sandbox has overdue photos
    _both(cli, configs, "check", "--no-notify")
    _both(cli, configs, "accounts", "list")
    rescanned = _both(cli, configs, "list", "--format", "json")  # incremental: nothing changed
    assert rescanned.json() == everything


def test_restore_from_a_postgresql_index(cli, configs, pg_url, sandbox) -> None:
    pg = str(configs["postgresql"])
    listed = cli("--config", pg, "list", "--format", "json", config=False)
    assert listed.exit_code == 0, listed.stderr
    first = listed.json()[0]  # the soonest purge
    original = Path(first["path"])
    assert not original.exists()

    restored = cli("--config", pg, "restore", first["ref"], "--yes", config=False)
    assert restored.exit_code == 0, restored.stderr
    assert original.is_file()
    again = cli("--config", pg, "restore", first["ref"], "--yes", config=False)
    assert again.exit_code == 0 and "(restored earlier)" in again.stdout
    with Index.open(pg_url) as index:
        log = [
            (e["ref"], e["outcome"], e["dry_run"], e["attempted_at"]) for e in index.restore_log()
        ]
    ref = log[0][0]
    assert ref.startswith(first["ref"])
    assert log == [(ref, "already_restored", False, FIXED), (ref, "restored", False, FIXED)]
    history = cli("--config", pg, "history", "--since", "1d", "--format", "json", config=False)
    assert [(e["ref"], e["outcome"]) for e in history.json()] == [
        (first["ref"], "already_restored"),
        (first["ref"], "restored"),
    ]

    after = _both(cli, configs, "list", "--format", "json").json()  # SQLite sees it gone too
    assert first["ref"] not in {item["ref"] for item in after}
    assert len(after) == MEDIA - 1


def test_a_read_only_postgresql_index_lists_and_refuses_writes_in_one_line(
    cli, configs, pg_url, tmp_path
) -> None:
    scanned = cli("--config", str(configs["postgresql"]), "list", "--format", "json", config=False)
    assert scanned.exit_code == 0, scanned.stderr
    url = f"{pg_url}&{READ_ONLY}" if "?" in pg_url else f"{pg_url}?{READ_ONLY}"
    read_only = str(_with_index(configs["postgresql"], url, tmp_path / "read-only.toml"))

    cached = cli("--config", read_only, "list", "--cached", "--format", "json", config=False)
    assert (cached.exit_code, cached.stderr) == (0, "")
    assert cached.json() == scanned.json()
    scan = cli("--config", read_only, "scan", config=False)
    assert scan.exit_code != 0
    assert "read-only" in scan.stderr and "Traceback" not in scan.stderr
    assert "`list --cached` and `accounts list` only read" in scan.stderr  # the hint
