"""What a person sees in a real terminal (a pseudo-terminal of 80 columns), through real processes:
the table with whole refs, its totals, the pager for long output, and commands that fit.

Everything else in the suite reads output through a pipe, where nothing is fitted or paged.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
from pathlib import Path

from rich.cells import cell_len
from terminal import run_in_terminal

TRASHSCAN = [sys.executable, "-m", "trashscan"]
STYLE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def in_terminal(args: list[str], env: dict[str, str], cols: int = 80, rows: int = 24) -> str:
    """Run trashscan with its standard output on a terminal of ``cols`` x ``rows``; what the
    terminal showed, styles removed."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    process = subprocess.Popen(
        [*TRASHSCAN, *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.DEVNULL,
        env=env,
    )
    os.close(follower)
    shown = b""
    while True:
        try:
            chunk = os.read(leader, 65536)
        except OSError as exc:  # EIO: the terminal's last writer is gone
            assert exc.errno == errno.EIO
            break
        if not chunk:
            break
        shown += chunk
    os.close(leader)
    assert process.wait(timeout=120) == 0
    return STYLE.sub("", shown.decode()).replace("\r\n", "\n")


def environment(sandbox, pager: str | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "PAGER", "LESS")}
    env["TRASHSCAN_CONFIG"] = str(sandbox.config_path)
    env.pop("TRASHSCAN_PAGER", None)
    if pager is not None:
        env["TRASHSCAN_PAGER"] = pager
    return env


def recording_pager(tmp_path: Path) -> tuple[str, Path]:
    """A pager that writes what it was given (and its $LESS) to a file."""
    paged = tmp_path / "paged.txt"
    return f"sh -c 'echo \"LESS=$LESS\" > {paged}; cat >> {paged}'", paged


def test_list_at_80_columns_shows_whole_refs_and_totals(cli, sandbox):
    listed = cli("list", "--format", "json").json()
    shown = in_terminal(["list", "--cached"], environment(sandbox), rows=60)
    lines = shown.splitlines()
    assert all(cell_len(line) <= 80 for line in lines), shown
    for item in listed:  # the whole ref, the account, restorable: what acting on it needs
        (row,) = [line for line in lines if line.startswith(item["ref"] + " ")]
        assert f" {item['account']} " in row
        assert row.split()[-1] == ("yes" if item["restorable"] else "no")
    assert lines[0].split() == ["ref", "prov", "account", "name", "folder", "left", "restorable"]
    assert f"total: {len(listed)} items, " in shown
    laptop = (
        r"^  laptop +10 items +\S+ \S+ +\d+ due within 7 days  soonest (any day|\d{4}-\d\d-\d\d)$"
    )
    assert re.search(laptop, shown, re.M)
    # The restore accepts what was shown.
    ref = lines[1].split()[0]
    assert cli("restore", ref, "--dry-run").exit_code == 0


def test_a_table_taller_than_the_terminal_goes_through_the_pager(sandbox, tmp_path):
    pager, paged = recording_pager(tmp_path)
    shown = in_terminal(["list"], environment(sandbox, pager), rows=10)
    text = paged.read_text()
    assert text.startswith("LESS=FRX\n")  # git's defaults for less, unless $LESS is set
    assert "total: 13 items" in text and "ref " in text
    assert "total:" not in shown  # all of it went to the pager

    paged.unlink()
    shown = in_terminal(["list", "--cached", "--no-pager"], environment(sandbox, pager), rows=10)
    assert not paged.exists() and "total: 13 items" in shown
    shown = in_terminal(["list", "--cached"], environment(sandbox, pager), rows=60)
    assert not paged.exists() and "total: 13 items" in shown  # it fits: no pager
    shown = in_terminal(["list", "--cached"], environment(sandbox, ""), rows=10)
    assert "total: 13 items" in shown  # TRASHSCAN_PAGER= turns it off
    env = {**environment(sandbox, pager), "TRASHSCAN_PAGER": ""}
    shown = in_terminal(["list", "--cached"], {**env, "PAGER": pager}, rows=10)
    assert not paged.exists() and "total: 13 items" in shown  # TRASHSCAN_PAGER comes first
    in_terminal(["providers"], {**environment(sandbox), "PAGER": pager}, rows=10)
    assert "--option trash_dirs=PATH" in paged.read_text()  # $PAGER, for providers too


def test_the_demo_shows_its_lists_without_a_pager(tmp_path):
    pager, paged = recording_pager(tmp_path)
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    shown = in_terminal(["demo"], {**env, "TRASHSCAN_PAGER": pager}, rows=24)
    assert not paged.exists()
    assert "no longer in the trash" in shown and "total: " in shown


def test_a_pipe_is_never_paged(sandbox, tmp_path):
    pager, paged = recording_pager(tmp_path)
    piped = subprocess.run(
        [*TRASHSCAN, "list"],
        env=environment(sandbox, pager),
        capture_output=True,
        text=True,
        check=True,
    )
    assert "total: 13 items" in piped.stdout and not paged.exists()


def test_providers_and_accounts_list_fit_80_columns(cli, sandbox):
    cli("scan")
    for command in (["providers"], ["accounts", "list"]):
        shown = in_terminal([*command, "--no-pager"] if command == ["providers"] else command,
                            environment(sandbox), rows=200)  # fmt: skip
        assert all(len(line) <= 80 for line in shown.splitlines()), shown
    providers = in_terminal(["providers"], environment(sandbox), rows=200)
    # wrapped at word boundaries, continuation lines indented under their option
    assert "--option include_volumes=true|false  also read .Trash-$uid /\n" in providers
    assert "\n                   .Trash/$uid of mounted volumes (default: true)\n" in providers
    accounts = in_terminal(["accounts", "list"], environment(sandbox))
    assert re.search(
        r"^laptop +local-trash +10 trashed  last scan \S+ \S+ UTC: ok$", accounts, re.M
    )


def test_restore_results_are_words_and_json_keeps_the_machine_values(cli, sandbox):
    items = cli("list", "--format", "json").json()
    (cover,) = [i for i in items if i["name"] == "cover.jpg"]
    result = cli("restore", cover["ref"], "--yes")
    assert result.exit_code == 0, result.stderr
    (line,) = [line for line in result.stdout.splitlines() if " laptop: cover.jpg" in line]
    assert line.startswith(f"restored under a new name {cover['ref']} laptop: cover.jpg -> ")
    again = cli("restore", cover["ref"], "--yes")
    assert f"was already restored {cover['ref']} laptop: cover.jpg" in again.stdout
    assert "conflict_resolved" not in result.stdout + again.stdout
    assert "already_restored" not in again.stdout
    from trashscan.config import load_config
    from trashscan.index import Index

    log = Index.open(load_config(sandbox.config_path).index_url).restore_log()
    assert [entry["outcome"] for entry in log] == ["already_restored", "conflict_resolved"]
    assert json.dumps(log, default=str)  # the audit log keeps the machine values


def test_a_first_scan_says_so_while_it_builds_the_index(sandbox):
    """After every account is shown done, a first scan builds the index's lookup indexes
    (seconds at a million items): the progress display says so meanwhile."""
    code, screen = run_in_terminal([*TRASHSCAN, "scan"], environment(sandbox))
    assert code == 0, screen
    assert "index: building its lookup indexes, once after a first scan" in screen
    code, screen = run_in_terminal([*TRASHSCAN, "scan"], environment(sandbox))
    assert code == 0, screen
    assert "building" not in screen  # the index holds items: nothing to build
