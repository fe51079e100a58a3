"""`trashscan schedule`: the printed cron line and systemd units, installing them, and the
README's cron recipe followed verbatim: the printed line's command is run the way cron runs it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from trashscan.cli import run
from trashscan.sandbox.session import Sandbox
from trashscan.schedule import CRON_MARKER

BIN = Path(os.path.abspath(sys.executable)).parent
TIMEOUT = shutil.which("timeout", path="/usr/bin:/bin:/usr/local/bin")


@dataclass
class Result:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def box(tmp_path: Path) -> Iterator[Sandbox]:
    with Sandbox(tmp_path / "sandbox", only=frozenset({"local-trash"})) as sandbox:
        yield sandbox


@pytest.fixture
def cli(capsys: pytest.CaptureFixture[str], box: Sandbox) -> Callable[..., Result]:
    def call(*args: str, config: str | None = None) -> Result:
        capsys.readouterr()
        code = run(["--config", config or str(box.config_path), *args])
        out = capsys.readouterr()
        return Result(code, out.out, out.err)

    return call


@pytest.fixture
def fake_crontab(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A `crontab` on PATH that keeps the table in a file and logs how it was called."""
    bin_dir = tmp_path / "fake-bin"
    bin_dir.mkdir()
    script = bin_dir / "crontab"
    script.write_text(
        "#!/bin/sh\n"
        'echo "$*" >> "$FAKE_CRONTAB.calls"\n'
        'case "$1" in\n'
        '  -l) if [ -f "$FAKE_CRONTAB" ]; then cat "$FAKE_CRONTAB"; '
        'else echo "no crontab for tester" >&2; exit 1; fi ;;\n'
        '  -) cat > "$FAKE_CRONTAB" ;;\n'
        "  *) exit 2 ;;\n"
        "esac\n"
    )
    script.chmod(0o755)
    table = tmp_path / "crontab.txt"
    monkeypatch.setenv("FAKE_CRONTAB", str(table))
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ['PATH']}")
    return table


def cron_line_of(output: str) -> str:
    lines = [line for line in output.splitlines() if line and not line.startswith("#")]
    assert len(lines) == 1, output
    return lines[0]


def unit_dir() -> Path:
    return Path(os.environ["XDG_CONFIG_HOME"]) / "systemd" / "user"


# --- printing -----------------------------------------------------------------------------------


def test_cron_line_is_absolute_and_carries_what_cron_lacks(cli, box, monkeypatch) -> None:
    monkeypatch.chdir(box.config_path.parent)
    result = cli("schedule", "--cron", config=box.config_path.name)  # a relative --config
    assert result.exit_code == 0, result
    line = cron_line_of(result.stdout)
    fields, command = line.split()[:5], line.split(maxsplit=5)[5]
    assert fields == ["17", "*/6", "*", "*", "*"]
    uid = os.getuid()
    home = box.data_dir  # the sandbox config's own data dir
    assert command == (
        f"TRASHSCAN_HOME={home} XDG_RUNTIME_DIR=/run/user/{uid} "
        f"DBUS_SESSION_BUS_ADDRESS=unix:path=/run/user/{uid}/bus "
        f"{TIMEOUT} --kill-after=60s 2100s "  # the 30m deadline + 5 minutes, then SIGKILL
        f"{BIN / 'trashscan'} --config {box.config_path} check --all-accounts --deadline 30m "
        "--quiet"
    )
    assert (BIN / "trashscan").is_file()
    assert "systemd" in result.stdout  # the comment points headless machines at the timer
    assert not unit_dir().exists()


@pytest.mark.parametrize(
    ("every", "fields"),
    [("15m", "*/15 * * * *"), ("1h", "17 * * * *"), ("12h", "17 */12 * * *"),
     ("1d", "17 6 * * *"), ("24h", "17 6 * * *"), ("1w", "17 6 * * 1")],
)  # fmt: skip
def test_every(cli, every: str, fields: str) -> None:
    result = cli("schedule", "--cron", "--every", every)
    assert result.exit_code == 0
    assert cron_line_of(result.stdout).startswith(fields + " ")


def test_intervals_cron_cannot_express(cli) -> None:
    uneven = cli("schedule", "--cron", "--every", "5h")
    assert uneven.exit_code == 2
    assert "cron cannot run a job every 5h evenly" in uneven.stderr
    assert cli("schedule", "--cron", "--every", "5m").exit_code == 2
    systemd = cli("schedule", "--systemd", "--every", "5h")
    assert systemd.exit_code == 0
    assert "OnUnitActiveSec=5h" in systemd.stdout and "OnCalendar" not in systemd.stdout


def test_default_prints_both_and_touches_nothing(cli, fake_crontab) -> None:
    result = cli("schedule")
    assert result.exit_code == 0
    assert cron_line_of(result.stdout.split("# ----")[0]).startswith("17 */6 * * * ")
    assert "[Timer]" in result.stdout and "OnCalendar=*-*-* 00/6:17:00" in result.stdout
    assert "nothing installed" in result.stderr
    assert not unit_dir().exists()
    assert not fake_crontab.exists() and not Path(f"{fake_crontab}.calls").exists()


def test_schedule_needs_a_working_config(cli, box) -> None:
    missing = cli("schedule", config=str(box.workdir / "nope.toml"))
    assert missing.exit_code == 2 and "config file not found" in missing.stderr
    assert cli("schedule", "--install").exit_code == 2


# --- installing ---------------------------------------------------------------------------------


def test_systemd_install_writes_the_user_units(cli, box) -> None:
    result = cli("schedule", "--systemd", "--every", "1d", "--install")
    assert result.exit_code == 0, result
    service = unit_dir() / "trashscan-check.service"
    timer = unit_dir() / "trashscan-check.timer"
    assert service.read_text() in result.stdout and timer.read_text() in result.stdout
    text = service.read_text()
    assert (
        f"ExecStart={BIN / 'trashscan'} --config {box.config_path} check --all-accounts "
        "--deadline 30m\n" in text
    )
    assert "TimeoutStartSec=35min\n" in text  # a hung run never blocks the next one
    assert f"Environment=TRASHSCAN_HOME={box.data_dir}\n" in text
    assert "Type=oneshot" in text and "SuccessExitStatus=1 2" in text
    timer_text = timer.read_text()
    assert "OnCalendar=*-*-* 06:17:00\nPersistent=true\nRandomizedDelaySec=30min" in timer_text
    assert "WantedBy=timers.target" in timer_text
    assert "systemctl --user enable --now trashscan-check.timer" in result.stdout
    assert "loginctl enable-linger" in result.stdout
    again = cli("schedule", "--systemd", "--every", "1d", "--install")
    assert again.stdout.count("unchanged ") == 2
    analyze = shutil.which("systemd-analyze")
    if analyze:  # the unit files themselves are valid systemd syntax
        checked = subprocess.run(
            [analyze, "verify", str(service), str(timer)], capture_output=True, text=True
        )
        assert checked.returncode == 0, checked.stderr


def test_cron_install_shows_then_appends_and_never_duplicates(cli, fake_crontab) -> None:
    fake_crontab.write_text("MAILTO=me@example.org\n0 3 * * * /usr/bin/backup\n")
    first = cli("schedule", "--cron", "--install")
    assert first.exit_code == 0, first
    line = cron_line_of(first.stdout.rsplit("\n", 2)[0])  # the line, shown before installing
    assert first.stdout.strip().endswith("appended it to your crontab (see `crontab -l`)")
    assert fake_crontab.read_text() == (
        f"MAILTO=me@example.org\n0 3 * * * /usr/bin/backup\n{CRON_MARKER}\n{line}\n"
    )
    again = cli("schedule", "--cron", "--install")
    assert "already in your crontab; nothing changed" in again.stdout
    daily = cli("schedule", "--cron", "--install", "--every", "1d")
    assert "replaced the earlier trashscan entry" in daily.stdout
    table = fake_crontab.read_text().splitlines()
    assert table[:2] == ["MAILTO=me@example.org", "0 3 * * * /usr/bin/backup"]
    assert table.count(CRON_MARKER) == 1
    assert [entry for entry in table if "trashscan" in entry and entry[0] != "#"] == [
        line.replace("17 */6 * * *", "17 6 * * *", 1)
    ]


def test_cron_install_into_an_empty_crontab(cli, fake_crontab) -> None:
    result = cli("schedule", "--cron", "--install")
    assert result.exit_code == 0
    assert fake_crontab.read_text().splitlines()[0] == CRON_MARKER


# --- the README's cron recipe, run the way cron runs it -------------------------------------------


def test_the_printed_cron_line_runs_under_a_cron_environment(cli, box, tmp_path) -> None:
    """cron runs the part after the five fields with /bin/sh, a bare PATH and no session vars."""
    line = cron_line_of(cli("schedule", "--cron").stdout)
    command = line.split(maxsplit=5)[5].replace("\\%", "%")  # cron's own unescaping of %
    home = tmp_path / "cron-home"
    home.mkdir()
    cron_env = {
        "HOME": str(home),
        "LOGNAME": "tester",
        "PATH": "/usr/bin:/bin",
        "SHELL": "/bin/sh",
    }
    job = subprocess.run(
        ["/bin/sh", "-c", command], env=cron_env, cwd=home, capture_output=True, text=True
    )
    assert job.returncode == 2, job.stdout + job.stderr  # overdue items in the sandbox laptop
    assert job.stdout.splitlines()[0] == (
        "CRITICAL: 2 trashed items will be purged within 3d, all within 1d; 2 accounts checked"
    )
    assert "cover.jpg (laptop, local-trash)" in job.stdout
    assert job.stderr == ""
    # the job used the data dir pinned in the line, not one derived from cron's bare HOME
    assert (box.data_dir / "locks" / "local-trash" / "laptop.lock").exists()
    assert not (home / ".local").exists()

    quiet = subprocess.run(
        ["/bin/sh", "-c", command.replace("--all-accounts", "--account usb-stick")],
        env=cron_env,
        capture_output=True,
        text=True,
    )
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")  # no mail when all is well


# --- bounded runs ---------------------------------------------------------------------------------


def test_the_config_deadline_bounds_both_schedules(cli, box) -> None:
    config = box.config_path.read_text()
    box.config_path.write_text(config + '\n[scan]\ndeadline = "2h"\n')
    result = cli("schedule")
    assert result.exit_code == 0, result
    line = cron_line_of(result.stdout.split("# ----")[0])
    assert f" {TIMEOUT} --kill-after=60s 7500s " in line
    assert line.endswith("check --all-accounts --deadline 2h --quiet")
    assert "TimeoutStartSec=125min\n" in result.stdout
    assert "check --all-accounts --deadline 2h\n" in result.stdout


def test_without_a_timeout_command_the_cron_line_says_so(cli, monkeypatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda *args, **kwargs: None)
    result = cli("schedule", "--cron")
    assert result.exit_code == 0, result
    assert "only trashscan's own deadline bounds a run" in result.stdout
    assert " timeout " not in cron_line_of(result.stdout)
