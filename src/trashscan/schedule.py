"""The cron line and the systemd user timer that run ``trashscan check``, and installing them.

Nothing is written unless the user says ``--install``: printing is the default, so a user can read
exactly what will run before anything changes. Everything is absolute (executable, config, data
dir) because cron starts jobs with a bare environment: no ``$PATH`` beyond ``/usr/bin:/bin``, no
``XDG_*`` variables, and no D-Bus session address, which the keyring's Secret Service needs.

Every run is bounded twice: by trashscan's own deadline (``[scan] deadline``: accounts still
scanning then fail and the check reports), and, should anything else hang, by the scheduler: the
systemd unit's ``TimeoutStartSec`` and, in the cron line, coreutils' ``timeout`` (SIGTERM, then
SIGKILL a minute later), both :data:`BOUND_MARGIN` over the deadline. A hung run therefore never
keeps a systemd timer from starting the next one.

Installing a crontab entry goes through ``crontab -l`` / ``crontab -`` (never by editing spool
files); an entry this module added before, marked by :data:`CRON_MARKER`, is replaced rather than
duplicated. Installing the systemd units writes two files and prints the ``systemctl`` commands
for the user to run, so enabling the timer stays a visible, deliberate step.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from trashscan.deadline import DEFAULT_DEADLINE, Deadline
from trashscan.errors import UsageError

UNIT = "trashscan-check"
CRON_MARKER = "# trashscan check (added by `trashscan schedule --install`)"
MINUTE = 17  # off the full hour, when every other job on earth starts
DAILY_HOUR = 6  # a daily check reports in the morning
MIN_EVERY = timedelta(minutes=15)
MAX_RANDOM_DELAY = timedelta(minutes=30)
# Past the scan deadline: credential checks, notifications (each bounded by its own timeouts).
BOUND_MARGIN = timedelta(minutes=5)
KILL_AFTER = timedelta(minutes=1)  # after timeout's SIGTERM, before its SIGKILL

Runner = Callable[..., subprocess.CompletedProcess[str]]


@dataclass(frozen=True)
class Job:
    argv: tuple[str, ...]  # absolute executable, --config, check and its options
    env: dict[str, str]  # what a cron job must be given explicitly
    every: timedelta
    every_text: str
    bound: timedelta = timedelta(minutes=35)  # the longest a run may take: deadline + margin
    timeout: str | None = None  # coreutils `timeout`, absolute, to bound the cron job


def executable() -> list[str]:
    """The installed ``trashscan`` script beside this interpreter, else ``python -m trashscan``.

    ``sys.executable`` is not resolved: in a virtualenv it is a symlink whose directory is the
    environment, and resolving it would point at the system interpreter without trashscan.
    """
    python = Path(os.path.abspath(sys.executable))
    script = python.parent / ("trashscan.exe" if os.name == "nt" else "trashscan")
    if script.is_file():
        return [str(script)]
    return [str(python), "-m", "trashscan"]


def cron_environment(data_dir: Path) -> dict[str, str]:
    """The variables a cron job needs to behave like the user's shell.

    ``TRASHSCAN_HOME`` pins the data dir (index, locks, secret blobs) even if the user's shell
    sets ``XDG_DATA_HOME`` and cron does not. On Linux the session bus address lets the keyring
    reach the Secret Service of the user's systemd session (only while one runs: see the README).
    """
    env = {"TRASHSCAN_HOME": str(Path(os.path.abspath(data_dir)))}
    backend = os.environ.get("PYTHON_KEYRING_BACKEND")
    if backend:
        env["PYTHON_KEYRING_BACKEND"] = backend
    if sys.platform.startswith("linux"):
        uid = os.getuid()
        env["XDG_RUNTIME_DIR"] = f"/run/user/{uid}"
        env["DBUS_SESSION_BUS_ADDRESS"] = f"unix:path=/run/user/{uid}/bus"
    return env


def make_job(
    config_path: Path,
    data_dir: Path,
    every: timedelta,
    every_text: str,
    deadline: Deadline | None = None,
) -> Job:
    if every < MIN_EVERY:
        raise UsageError(
            f"--every {every_text} is too often", hint="check at most every 15 minutes (15m)"
        )
    config = str(Path(os.path.abspath(config_path)))
    deadline = deadline or Deadline.parse(DEFAULT_DEADLINE)
    # The job carries its deadline, so that it always agrees with the job's own bound.
    argv = (
        *executable(),
        "--config",
        config,
        "check",
        "--all-accounts",
        "--deadline",
        deadline.text,
    )
    bound = timedelta(seconds=deadline.seconds) + BOUND_MARGIN
    timeout = shutil.which("timeout", path="/usr/bin:/bin:/usr/local/bin")
    return Job(argv, cron_environment(data_dir), every, every_text, bound, timeout)


# ------------------------------------------------------------------------------------- cron


def cron_fields(every: timedelta, every_text: str) -> str:
    """The five schedule fields; only intervals that divide an hour, a day or a week evenly."""
    minutes, rest = divmod(int(every.total_seconds()), 60)
    if rest == 0:
        if minutes < 60 and 60 % minutes == 0:
            return f"*/{minutes} * * * *"
        hours, rest = divmod(minutes, 60)
        if rest == 0 and hours < 24 and 24 % hours == 0:
            return f"{MINUTE} {'*' if hours == 1 else f'*/{hours}'} * * *"
        if minutes == 24 * 60:
            return f"{MINUTE} {DAILY_HOUR} * * *"
        if minutes == 7 * 24 * 60:
            return f"{MINUTE} {DAILY_HOUR} * * 1"
    raise UsageError(
        f"cron cannot run a job every {every_text} evenly",
        hint="use 15m, 30m, 1h, 2h, 3h, 4h, 6h, 8h, 12h, 1d or 1w, or --systemd",
    )


def cron_line(job: Job, quiet: bool = True) -> str:
    """One self-contained crontab line: ``VAR=value ... /abs/trashscan ... check``.

    ``--quiet`` keeps cron from mailing on every run: output (and so mail) only when something
    is due or broken. ``%`` is special in crontab commands and is escaped.
    """
    env = " ".join(f"{key}={shlex.quote(value)}" for key, value in job.env.items())
    argv = [*job.argv, "--quiet"] if quiet else list(job.argv)
    if job.timeout is not None:  # SIGTERM at the bound (trashscan says so), SIGKILL later
        limit = [f"--kill-after={_seconds(KILL_AFTER)}", _seconds(job.bound)]
        argv = [job.timeout, *limit, *argv]
    command = f"{env} {shlex.join(argv)}".replace("%", "\\%")
    return f"{cron_fields(job.every, job.every_text)} {command}"


def cron_text(job: Job) -> str:
    if job.timeout is not None:
        bound = f"# `timeout` ends a run that is still going after {_span(job.bound)}."
    else:
        bound = "# No `timeout` command was found: only trashscan's own deadline bounds a run."
    return "\n".join(
        [
            f"# Run `trashscan check` every {job.every_text}. Add this line with `crontab -e`,",
            "# or let `trashscan schedule --cron --install` append it to your crontab.",
            "# The variables give the job your data dir and your session's keyring (D-Bus);",
            "# on a machine where you are not logged in, prefer `trashscan schedule --systemd`.",
            bound,
            cron_line(job),
        ]
    )


def install_cron(line: str, run: Runner = subprocess.run) -> str:
    """Append ``line`` (replacing an entry this command added before) via ``crontab``."""
    try:
        current = run(["crontab", "-l"], capture_output=True, text=True)
    except FileNotFoundError:
        raise UsageError(
            "crontab not found", hint="install cron, or use `trashscan schedule --systemd`"
        ) from None
    if current.returncode == 0:
        lines = current.stdout.splitlines()
    elif "no crontab" in current.stderr.lower():
        lines = []
    else:
        raise UsageError(f"`crontab -l` failed: {_first_line(current.stderr)}")
    if line in lines:
        return "already in your crontab; nothing changed"
    kept: list[str] = []
    replaced = False
    for number, text in enumerate(lines):
        previous = lines[number - 1] if number else ""
        if text.strip() == CRON_MARKER:
            continue
        if previous.strip() == CRON_MARKER and "trashscan" in text and " check" in text:
            replaced = True  # our own earlier entry (another --every): replaced, not duplicated
            continue
        kept.append(text)
    content = "\n".join([*kept, CRON_MARKER, line]) + "\n"
    written = run(["crontab", "-"], input=content, capture_output=True, text=True)
    if written.returncode != 0:
        raise UsageError(f"`crontab -` failed: {_first_line(written.stderr)}")
    verb = "replaced the earlier trashscan entry in" if replaced else "appended it to"
    return f"{verb} your crontab (see `crontab -l`)"


def _first_line(text: str) -> str:
    lines = text.strip().splitlines()
    return lines[0] if lines else "no message"


# ---------------------------------------------------------------------------------- systemd


def systemd_quote(arg: str) -> str:
    """One ExecStart/Environment word: ``%`` specifiers and ``$`` expansion disarmed."""
    arg = arg.replace("%", "%%").replace("$", "$$")
    if arg and not re.search(r"[\s\"'\\;]", arg):
        return arg
    return '"' + arg.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _seconds(delta: timedelta) -> str:
    """A duration as coreutils ``timeout`` reads it."""
    return f"{int(delta.total_seconds())}s"


def _span(delta: timedelta) -> str:
    seconds = int(delta.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("min", 60)):
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"


def timer_schedule(every: timedelta) -> list[str]:
    """``OnCalendar`` (kept up after sleep or downtime by ``Persistent``) when the interval
    divides a day or a week, else a monotonic ``OnUnitActiveSec`` interval."""
    minutes, rest = divmod(int(every.total_seconds()), 60)
    calendar = None
    if rest == 0 and minutes < 60 and 60 % minutes == 0:
        calendar = f"*-*-* *:00/{minutes}:00"
    elif rest == 0 and minutes % 60 == 0 and minutes < 24 * 60 and (24 * 60) % minutes == 0:
        calendar = f"*-*-* 00/{minutes // 60}:{MINUTE:02d}:00"
    elif minutes == 24 * 60:
        calendar = f"*-*-* {DAILY_HOUR:02d}:{MINUTE:02d}:00"
    elif minutes == 7 * 24 * 60:
        calendar = f"Mon *-*-* {DAILY_HOUR:02d}:{MINUTE:02d}:00"
    if calendar is not None:
        return [f"OnCalendar={calendar}", "Persistent=true"]
    return ["OnBootSec=5min", f"OnUnitActiveSec={_span(every)}"]


def service_unit(job: Job) -> str:
    env = {k: v for k, v in job.env.items() if k == "TRASHSCAN_HOME" or k.startswith("PYTHON")}
    lines = [
        "# Written by `trashscan schedule --systemd`; started by trashscan-check.timer.",
        "[Unit]",
        "Description=trashscan check: warn before trashed photos and videos are purged",
        "",
        "[Service]",
        "Type=oneshot",
        "ExecStart=" + " ".join(systemd_quote(arg) for arg in job.argv),
        *(f"Environment={systemd_quote(f'{k}={v}')}" for k, v in env.items()),
        "# 1 and 2 mean items are about to be purged (reported and notified), not a failed job;",
        "# 3 (the check could not run) marks the unit failed.",
        "SuccessExitStatus=1 2",
        f"# Stop a run still going {_span(BOUND_MARGIN)} after its --deadline: one hung run must",
        "# not keep the timer from starting the next.",
        f"TimeoutStartSec={_span(job.bound)}",
        "Nice=10",
        "",
    ]
    return "\n".join(lines)


def timer_unit(job: Job) -> str:
    delay = min(job.every / 10, MAX_RANDOM_DELAY)
    lines = [
        "# Written by `trashscan schedule --systemd`.",
        "[Unit]",
        f"Description=Run trashscan check every {job.every_text}",
        "",
        "[Timer]",
        *timer_schedule(job.every),
        f"RandomizedDelaySec={_span(delay)}",
        "",
        "[Install]",
        "WantedBy=timers.target",
        "",
    ]
    return "\n".join(lines)


def user_unit_dir() -> Path:
    """Where ``systemctl --user`` looks for the user's own units."""
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "systemd" / "user"


def systemd_units(job: Job) -> dict[str, str]:
    return {f"{UNIT}.service": service_unit(job), f"{UNIT}.timer": timer_unit(job)}


def systemd_text(job: Job, unit_dir: Path) -> str:
    parts = []
    for name, text in systemd_units(job).items():
        parts.append(f"# ---- {unit_dir / name}\n{text}")
    return "\n".join(parts)


NEXT_STEPS = (
    "systemctl --user daemon-reload",
    f"systemctl --user enable --now {UNIT}.timer",
    'loginctl enable-linger "$USER"   # keep your user manager (and keyring) up while logged out',
)


def install_systemd(job: Job, unit_dir: Path) -> list[str]:
    """Write the two units; return one line per file saying what happened."""
    unit_dir.mkdir(parents=True, exist_ok=True)
    report = []
    for name, text in systemd_units(job).items():
        path = unit_dir / name
        old = path.read_text(encoding="utf-8") if path.exists() else None
        if old == text:
            report.append(f"unchanged {path}")
            continue
        path.write_text(text, encoding="utf-8")
        report.append(f"{'replaced' if old is not None else 'wrote'} {path}")
    return report


def run_lines(lines: Sequence[str]) -> str:
    return "\n".join(f"  {line}" for line in lines)
