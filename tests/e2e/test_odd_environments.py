"""trashscan on a read-only index or data dir, with a relative TRASHSCAN_HOME, absurd durations,
an unwritable config dir, and a thousand accounts.

The tests run as root (here and in CI), and root ignores permission bits. So the CLI runs in a
subprocess without any capability (``setpriv --bounding-set=-all``): still uid 0 and the owner of
the files, it is bound by their modes like any user, and each test first shows that this process
really cannot write where the test says it cannot. A read-only mount is tried as well, in a
private mount namespace (``unshare --mount``) so that nothing outside the test sees it.
"""

from __future__ import annotations

import gc
import json
import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from trashscan.config import data_dir, default_index_url, load_config
from trashscan.index import Index, ItemFilter
from trashscan.models import Kind
from trashscan.sandbox.session import Sandbox


def _capless_prefix() -> list[str] | None:
    """The argv prefix that makes permission bits bind a child process, or None if impossible."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    prefix = [setpriv, "--bounding-set=-all", "--inh-caps=-all", "--"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, check=False)
    return prefix if probe.returncode == 0 else None


CAPLESS = _capless_prefix()
needs_capless = pytest.mark.skipif(
    CAPLESS is None, reason="running as root without setpriv: permission bits cannot bind"
)


def _read_only_mount_prefix(path: Path) -> list[str]:
    """Run the command with ``path`` bind-mounted read-only on itself, in a private namespace."""
    script = 'mount --bind -o ro "$0" "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, str(path)]


def _writes(prefix: list[str], folder: Path) -> bool:
    """Whether a process started with ``prefix`` can create a file in ``folder``."""
    probe = folder / ".write-probe"
    done = subprocess.run(
        [*prefix, "sh", "-c", ': > "$0"', str(probe)], capture_output=True, check=False
    )
    if done.returncode == 0:
        probe.unlink(missing_ok=True)
    return done.returncode == 0


def _can_mount_read_only(folder: Path) -> bool:
    if shutil.which("unshare") is None or os.geteuid() != 0:
        return False
    mounted = subprocess.run(
        [*_read_only_mount_prefix(folder), "true"], capture_output=True, check=False
    )
    return mounted.returncode == 0 and not _writes(_read_only_mount_prefix(folder), folder)


class Run:
    def __init__(self, done: subprocess.CompletedProcess[str]) -> None:
        self.exit_code = done.returncode
        self.stdout = done.stdout
        self.stderr = done.stderr

    def json(self) -> Any:
        return json.loads(self.stdout)


def _trashscan(prefix: list[str], *args: str, stdin: str = "", cwd: Path | None = None) -> Run:
    """The real CLI in a child process, with the test's (isolated) environment."""
    done = subprocess.run(
        [*prefix, sys.executable, "-m", "trashscan", *args],
        capture_output=True, text=True, input=stdin, cwd=cwd, env=dict(os.environ),
        timeout=120, check=False,
    )  # fmt: skip
    return Run(done)


def _one_error_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The data dir, with characters a URL would take apart (SQLite opens it by URI read-only)."""
    path = tmp_path / "trash scan?#%20 home"
    monkeypatch.setenv("TRASHSCAN_HOME", str(path))
    return path


@pytest.fixture
def laptop(home: Path, bare_cli: Any, sandbox: Sandbox, tmp_path: Path) -> Path:
    """A config of its own (the sandbox's names an [index] url) with the seeded laptop trash."""
    assert sandbox.config_path is not None
    trash_dirs = load_config(sandbox.config_path).account("laptop").options["trash_dirs"]
    config = tmp_path / "config" / "config.toml"
    options = [arg for d in trash_dirs for arg in ("--option", f"trash_dirs={d}")]
    added = bare_cli("--config", str(config), "accounts", "add", "local-trash", "laptop", *options)
    assert added.exit_code == 0, added.stderr
    return config


# ------------------------------------------------------------------------------ read-only index


@needs_capless
@pytest.mark.parametrize("what", ["data-dir", "index-file", "both", "mount"])
def test_a_read_only_index_still_lists(what, home, laptop, bare_cli):
    scanned = bare_cli("--config", str(laptop), "list", "--format", "json")
    assert scanned.exit_code == 0, scanned.stderr
    expected = scanned.json()
    assert expected
    expected_accounts = bare_cli("--config", str(laptop), "accounts", "list").stdout
    assert expected_accounts.startswith("laptop ")
    gc.collect()  # the in-process CLI's index is closed: no -wal or -shm is left to lean on
    assert sorted(p.name for p in home.iterdir()) == ["cache", "index.db", "locks"]
    assert CAPLESS is not None
    prefix = CAPLESS
    if what in ("data-dir", "both"):
        home.chmod(0o500)
    if what in ("index-file", "both"):
        (home / "index.db").chmod(0o400)
    if what == "mount":
        if not _can_mount_read_only(home):
            pytest.skip("no read-only bind mount on this machine")
        prefix = _read_only_mount_prefix(home)
    assert not _writes(prefix, home) or what == "index-file"
    before = sorted(p.name for p in home.iterdir())
    try:
        cached = _trashscan(prefix, "--config", str(laptop), "list", "--cached", "--format", "json")
        assert (cached.exit_code, cached.stderr) == (0, "")
        assert cached.json() == expected

        accounts = _trashscan(prefix, "--config", str(laptop), "accounts", "list")
        assert (accounts.exit_code, accounts.stderr, accounts.stdout) == (0, "", expected_accounts)

        helped = _trashscan(prefix, "--config", str(laptop), "--help")
        assert helped.exit_code == 0 and "Usage: trashscan" in helped.stdout

        scan = _trashscan(prefix, "--config", str(laptop), "scan")  # a writer: one clear line
        assert scan.exit_code != 0
        assert "read-only" in scan.stderr.lower() and "Traceback" not in scan.stderr
        assert sorted(p.name for p in home.iterdir()) == before  # nothing left behind
    finally:
        home.chmod(0o700)
        (home / "index.db").chmod(0o600)


@needs_capless
def test_a_restore_on_a_read_only_index_changes_nothing(home, laptop, bare_cli):
    """A restore it could not record in the audit log is not done: before, the file left the
    trash and then the run failed with "index is read-only", saying nothing of the restore."""
    listed = bare_cli("--config", str(laptop), "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    ref = next(item["ref"] for item in listed.json() if item["restorable"])
    trash_dirs = load_config(laptop).account("laptop").options["trash_dirs"]
    before = {d: sorted(str(p) for p in Path(d).rglob("*")) for d in trash_dirs}
    gc.collect()
    assert CAPLESS is not None
    home.chmod(0o500)
    (home / "index.db").chmod(0o400)
    try:
        restored = _trashscan(CAPLESS, "--config", str(laptop), "restore", ref, "--yes")
        assert restored.exit_code == 2, restored.stdout
        assert "read-only" in _one_error_line(restored.stderr)
        assert {d: sorted(str(p) for p in Path(d).rglob("*")) for d in trash_dirs} == before
    finally:
        home.chmod(0o700)
        (home / "index.db").chmod(0o600)


@needs_capless
def test_a_restore_into_a_folder_it_cannot_write_names_that_folder(home, laptop, bare_cli):
    """The failure says which folder refused and why, not the ``/proc/self/fd/N`` path the
    file is linked through (a true but useless "[Errno 13] ... '/proc/self/fd/8'")."""
    listed = bare_cli("--config", str(laptop), "list", "--format", "json")
    assert listed.exit_code == 0, listed.stderr
    item = next(i for i in listed.json() if i["restorable"] and i["path"])
    folder = Path(item["path"]).parent
    folder.mkdir(parents=True, exist_ok=True)
    gc.collect()
    assert CAPLESS is not None
    folder.chmod(0o555)
    try:
        assert not _writes(CAPLESS, folder)
        restored = _trashscan(
            CAPLESS, "--config", str(laptop), "restore", item["ref"], "--yes", "--format", "jsonl"
        )
    finally:
        folder.chmod(0o755)
    assert restored.exit_code == 1, (restored.stdout, restored.stderr)
    (result,) = [json.loads(line) for line in restored.stdout.splitlines()]
    assert result["outcome"] == "failed", result
    assert "/proc/" not in result["detail"], result
    assert str(folder) in result["detail"] and "Permission denied" in result["detail"], result
    assert not Path(item["path"]).exists()


# ------------------------------------------------------------------------- relative TRASHSCAN_HOME


@pytest.mark.parametrize("relative", ["data", "sub/data", "file:data", "we?ird", "50%25 off"])
def test_a_relative_trashscan_home_is_resolved_against_the_cwd_once(
    relative, laptop, bare_cli, tmp_path, monkeypatch
):
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    monkeypatch.setenv("TRASHSCAN_HOME", relative)
    assert data_dir() == work / relative

    listed = bare_cli("--config", str(laptop), "list", "--format", "json")

    assert listed.exit_code == 0, listed.stderr
    assert listed.json()
    gc.collect()  # closes the in-process CLI's index (and so its -wal and -shm)
    assert sorted(p.name for p in work.iterdir()) == [relative.split("/")[0]]  # nothing else
    assert (work / relative / "index.db").is_file()
    assert sorted(p.name for p in (work / relative).iterdir()) == ["cache", "index.db", "locks"]
    cron = bare_cli("--config", str(laptop), "schedule", "--cron")  # cron runs in $HOME
    assert cron.exit_code == 0, cron.stderr
    line = cron.stdout.replace("\\%", "%")  # cron's escape for a literal %
    assert f"TRASHSCAN_HOME={shlex.quote(str(work / relative))} " in line


def test_an_unknown_user_in_trashscan_home_is_one_line(laptop, bare_cli, monkeypatch):
    monkeypatch.setenv("TRASHSCAN_HOME", "~no-such-user-here/data")
    listed = bare_cli("--config", str(laptop), "list", "--cached")
    assert listed.exit_code == 2
    assert _one_error_line(listed.stderr) == (
        "trashscan: error: TRASHSCAN_HOME ~no-such-user-here/data: cannot expand '~' (no such user)"
    )


# --------------------------------------------------------------------------------- durations


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["list", "--cached", "--expiring-within", "99999999d"], 2),
        (["list", "--cached", "--expiring-within", "9999999999999999999999d"], 2),
        (["list", "--cached", "--expiring-within", "99999999999w"], 2),
        (["restore", "--expiring-within", "99999999d", "--dry-run"], 2),
        (["check", "--within", "99999999d", "--critical", "1d"], 3),  # UNKNOWN: bad option
        (["check", "--within", "99999999d", "--critical", "99999999d"], 3),
        (["schedule", "--every", "99999999d"], 2),
    ],
)
def test_an_absurd_duration_is_a_usage_error(args, code, laptop, bare_cli):
    result = bare_cli("--config", str(laptop), *args)
    assert result.exit_code == code  # check: 3, UNKNOWN, its convention for a bad option
    line = _one_error_line(result.stderr)
    assert line.startswith("trashscan: error: bad duration '9")
    assert line.endswith("longer than 100 years")


def test_absurd_durations_in_the_config_are_one_line(laptop, bare_cli, tmp_path):
    text = laptop.read_text()
    thresholds = laptop.with_name("thresholds.toml")
    thresholds.write_text(text + '\n[alerts]\nthresholds = ["99999999d"]\n')
    retention = laptop.with_name("retention.toml")
    old, new = 'provider = "local-trash"\n', 'provider = "local-trash"\nretention_days = 99999999\n'
    retention.write_text(text.replace(old, new))
    assert "retention_days = 99999999" in retention.read_text()

    alerts = bare_cli("--config", str(thresholds), "check")
    assert alerts.exit_code == 3
    assert "thresholds: bad duration '99999999d'" in _one_error_line(alerts.stderr)
    listed = bare_cli("--config", str(retention), "list")
    assert listed.exit_code == 2
    assert _one_error_line(listed.stderr) == (
        f"trashscan: error: {retention}: accounts[1] ('laptop'): retention_days must be at most "
        "36500 (100 years)"
    )


# ---------------------------------------------------------------------- unwritable config dir


@needs_capless
def test_accounts_add_into_an_unwritable_config_dir_is_one_line(tmp_path, home, sandbox):
    assert CAPLESS is not None
    folder = tmp_path / "locked-config"
    folder.mkdir(mode=0o500)
    folder.chmod(0o500)
    assert not _writes(CAPLESS, folder)
    config = folder / "config.toml"
    for target in (config, folder / "sub" / "config.toml"):
        added = _trashscan(CAPLESS, "--config", str(target), "accounts", "add", "local-trash", "x")
        assert added.exit_code == 2
        assert _one_error_line(added.stderr) == (
            f"trashscan: error: {target}: cannot write config: Permission denied ({folder})"
        )
    assert list(folder.iterdir()) == []
    assert not home.exists()  # nothing was signed in to, nothing stored


# ------------------------------------------------------------------------- a thousand accounts


def test_a_config_with_a_thousand_accounts_lists(laptop, bare_cli, sandbox, tmp_path):
    assert sandbox.config_path is not None
    usb = load_config(sandbox.config_path).account("usb-stick").options["trash_dirs"]
    big = tmp_path / "big.toml"
    tables = [laptop.read_text()]
    tables += [
        f'[[accounts]]\nname = "desk-{n:04d}"\nprovider = "local-trash"\n'
        f'trash_dirs = ["{tmp_path / "empty" / str(n)}"]\n'
        for n in range(1200)
    ]
    tables.append(f'[[accounts]]\nname = "usb"\nprovider = "local-trash"\ntrash_dirs = {usb!r}\n')
    big.write_text("\n".join(tables).replace("'", '"'))
    scanned = bare_cli("--config", str(big), "scan", "--account", "laptop", "--account", "usb")
    assert scanned.exit_code == 0, scanned.stderr
    # an account dropped from the config by hand: its rows stay in the index but are not listed
    big.write_text(big.read_text().replace('name = "usb"', 'name = "usb-renamed"'))

    listed = bare_cli("--config", str(big), "list", "--cached", "--format", "json")

    assert listed.exit_code == 0, listed.stderr
    assert {item["account"] for item in listed.json()} == {"laptop"}
    accounts = bare_cli("--config", str(big), "accounts", "list")
    assert accounts.exit_code == 0, accounts.stderr
    assert len(accounts.stdout.splitlines()) == 1202

    with Index.open(default_index_url(data_dir())) as index:
        everyone = tuple(("local-trash", f"desk-{n:05d}") for n in range(20_000))
        wanted = ItemFilter(accounts=(*everyone, ("local-trash", "usb")), kinds=frozenset(Kind))
        assert {item.account for item in index.items(wanted, _now())} == {"usb"}


def _now() -> Any:
    from datetime import UTC, datetime

    return datetime.now(UTC)
