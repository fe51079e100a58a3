"""`trashscan demo`: the whole flow against the sandbox, on a fresh machine, touching nothing real.

It runs the real CLI commands (the same code paths a user runs) with a temporary config, index
and data directory, so what it shows is what trashscan does. It fits a screen or two (at most 80
lines of 80 columns, tests/e2e/test_demo.py): the first scan's line per account, the ten most
urgent items (``list --limit 10``, whose totals give each account's items and bytes), the
restore of the most urgent one, and the commands to run next. The full list is one command away.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from io import StringIO, TextIOBase
from pathlib import Path
from typing import TextIO

import click

from trashscan.output import fold
from trashscan.safe_text import printable
from trashscan.sandbox.session import Sandbox

SHOWN = 10  # the most urgent items the demo's list shows

NEXT_STEPS = """\
Next steps
  This sandbox in a gallery in your browser, to restore a selection:
    trashscan demo --ui                   # Ctrl-C stops it
  The full list of a sandbox like this one, from two terminals:
    trashscan sandbox serve --write-config /tmp/sandbox.toml
    TRASHSCAN_CONFIG=/tmp/sandbox.toml trashscan list --all-accounts
  With your own accounts (README.md says how to set up each provider):
    trashscan providers                   # what each provider can do
    trashscan accounts add PROVIDER NAME  # e.g. local-trash laptop
    trashscan list --all-accounts         # every account, soonest purge first
    trashscan restore REF --dry-run       # then without --dry-run
    trashscan ui                          # all of them in a gallery
    trashscan check                       # what is due soon, for alerts
    trashscan schedule --cron             # run that check unattended"""


Runner = Callable[[Sequence[str]], int]


class _Folded(TextIOBase):
    """Standard error as the demo shows it: each line wrapped at word boundaries to the
    terminal's width (a note naming a URL is longer than 80 columns), never cut. Not a terminal
    itself, so no progress display draws over the story."""

    def __init__(self, out: TextIO, width: int | None) -> None:
        self.out, self.width, self.pending = out, width, ""

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        self.pending += text
        *lines, self.pending = self.pending.split("\n")
        for line in lines:
            for part in fold(line, self.width, "    "):
                self.out.write(part + "\n")
        return len(text)

    def flush(self) -> None:
        self.out.flush()


def _width() -> int | None:
    """The terminal's width, or ``None`` (not wrapped) when standard output is not a terminal,
    as the table does."""
    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


def _say(text: str = "") -> None:
    for line in text.splitlines() or [""]:
        for part in fold(line, _width(), "  "):
            click.echo(part)


@contextmanager
def _folded_stderr() -> Iterator[None]:
    previous = sys.stderr
    sys.stderr = _Folded(previous, _width())  # type: ignore[assignment]
    try:
        yield
    finally:
        sys.stderr.flush()
        sys.stderr = previous


def _show(run: Runner, args: Sequence[str]) -> int:
    """Print the command as typed (the demo's ``--config`` aside), then run it."""
    shown = [a for a in args if a != "--config" and not a.endswith(".toml")]
    click.echo()
    click.secho(f"$ trashscan {' '.join(shown)}", bold=True)
    with _folded_stderr():
        return run(args)


def _capture_json(run: Runner, args: Sequence[str]) -> list[dict]:
    buffer = StringIO()
    with redirect_stdout(buffer):
        run(args)
    return json.loads(buffer.getvalue() or "[]")


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run_demo(run: Runner, ui: bool = False, browser: bool = True) -> int:
    """``run`` is the CLI's own entry point (passed in to avoid an import cycle). With ``ui``,
    the story ends with ``trashscan ui`` on the same sandbox (``browser``: opening it), which
    keeps the fakes up until Ctrl-C: a restore from the gallery reaches them as the CLI's does.
    """
    with tempfile.TemporaryDirectory(prefix="trashscan-demo-") as tmp, Sandbox(Path(tmp)) as box:
        home = str(Path(tmp) / "home")
        config = ["--config", str(box.config_path)]
        # the demo's list is part of its story: never paged
        with _environment({"TRASHSCAN_HOME": home, "TRASHSCAN_PAGER": ""}):
            code = _story(run, box, config, tmp)
            if not ui:
                return code
            _say()
            _say("The gallery of this sandbox (Ctrl-C stops it, and the demo):")
            served = _show(run, [*config, "ui", *([] if browser else ["--no-browser"])])
            return code or served


def _story(run: Runner, box: Sandbox, config: list[str], tmp: str) -> int:
    _say(
        "trashscan demo: fake accounts with deleted photos and videos (a desktop trash;"
        " Google Drive, Dropbox, OneDrive, iCloud served by local fakes) in a temporary"
        f" folder, {tmp}; nothing else is touched, no network used."
    )
    codes = [_show(run, [*config, "scan", "--all-accounts"])]
    _say()
    _say("Meanwhile, in the clouds, a few more photos get deleted...")
    box.between_scans()
    codes.append(_show(run, [*config, "list", "--all-accounts", "--limit", str(SHOWN)]))
    items = _capture_json(run, [*config, "list", "--cached", "--format", "json"])
    candidates = [
        i for i in items if i["restorable"] and (i["days_left"] is None or i["days_left"] >= 0)
    ]
    if not candidates:
        _say("nothing restorable was listed; the demo cannot go on")
        return 1
    chosen = candidates[0]
    codes.append(_show(run, [*config, "restore", chosen["ref"], "--yes"]))
    after = _capture_json(run, [*config, "list", "--cached", "--format", "json"])
    still_there = any(i["ref"] == chosen["ref"] for i in after)
    _say()
    what = f"{printable(chosen['name'])} ({chosen['ref']})"
    _say(
        f"{what} is STILL in the trash (unexpected)."
        if still_there
        else f"{what} is no longer in the trash."
    )
    _say()
    _say(NEXT_STEPS)
    return 1 if still_there or any(codes) else 0
