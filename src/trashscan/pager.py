"""Long output on a terminal goes through a pager, as git and gh do; never output to a pipe.

The pager is ``$TRASHSCAN_PAGER``, else ``$PAGER``, else ``less``; set either to an empty value
or ``cat`` for none (``--no-pager`` for one run). ``less`` gets git's defaults unless ``$LESS``
says otherwise: ``-F`` (quit at once when the output fits), ``-R`` (keep the table's bold
header), ``-X`` (leave the output on the screen). The pager is used only when standard output is
a terminal and the output is taller than it; a pager that cannot be started, or quits early,
costs nothing: the output is then written directly, or the rest dropped as ``git log | head``
would.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import shlex
import shutil
import signal
import subprocess
import sys
import threading
from collections.abc import Iterable
from typing import IO

PAGER_DEFAULT = "less"
PAGER_ENV = {"LESS": "FRX", "LV": "-c"}  # git's defaults, when the user has not set their own


def pager_command(environ: dict[str, str] | os._Environ[str] = os.environ) -> list[str] | None:
    """The pager to run, or ``None`` for none (an empty variable, or ``cat``)."""
    for variable in ("TRASHSCAN_PAGER", "PAGER"):
        if variable in environ:
            command = environ[variable].strip()
            break
    else:
        command = PAGER_DEFAULT
    try:
        words = shlex.split(command)
    except ValueError:
        return None
    if not words or words == ["cat"]:
        return None
    return words


def _taller_than_screen(text: str, out: IO[str]) -> bool:
    try:
        rows = os.get_terminal_size(out.fileno()).lines
    except (OSError, ValueError):
        rows = shutil.get_terminal_size().lines
    return text.count("\n") > max(rows - 1, 0)  # the prompt needs the last line


def show(text: str, *, use_pager: bool = True, out: IO[str] | None = None) -> None:
    """Write ``text`` to standard output, through the pager when it is worth it (see above)."""
    out = out or sys.stdout
    if use_pager and out.isatty() and _taller_than_screen(text, out):
        command = pager_command()
        if command is not None and _page(command, text, out):
            return
    out.write(text)
    out.flush()


def show_lines(lines: Iterable[str], *, use_pager: bool = True, out: IO[str] | None = None) -> None:
    """:func:`show` for output made a line at a time (``list --all`` of a million items): the
    lines go out as they come. On a terminal, the first screenful is held until it is known
    whether there is more than fits; then the rest is streamed to the pager, which shows the
    first screen at once. Quitting the pager stops the producer (the rest is never made)."""
    out = out or sys.stdout
    lines = iter(lines)
    if use_pager and out.isatty():
        held: list[str] = []
        for line in lines:
            held.append(line)
            if _taller_than_screen("\n".join(held) + "\n", out):
                command = pager_command()
                rest = itertools.chain(held, lines)
                if command is not None and _page(command, (f"{line}\n" for line in rest), out):
                    return
                lines = rest
                break
        else:
            lines = iter(held)
    for line in lines:
        out.write(line + "\n")
    out.flush()


def _page(command: list[str], text: str | Iterable[str], out: IO[str]) -> bool:
    """Run the pager on ``text`` (or on its pieces, as they come); ``False`` when it could not
    be started."""
    out.flush()
    environ = {**PAGER_ENV, **os.environ}
    encoding = getattr(out, "encoding", None) or "utf-8"
    try:
        pager = subprocess.Popen(command, stdin=subprocess.PIPE, env=environ)
    except OSError:
        return False
    # Ctrl-C belongs to the pager while it runs (less stops a search with it), as in git.
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        assert pager.stdin is not None
        with contextlib.suppress(BrokenPipeError):  # quit before the end: the rest is unwanted
            for piece in [text] if isinstance(text, str) else text:
                pager.stdin.write(piece.encode(encoding, errors="replace"))
        with contextlib.suppress(BrokenPipeError):
            pager.stdin.close()
        pager.wait()
    finally:
        if main and previous is not None:
            signal.signal(signal.SIGINT, previous)
    return True
