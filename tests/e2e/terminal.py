"""The real ``trashscan`` in a pseudo-terminal of a chosen size, as a person runs it.

``pty.fork`` makes the terminal the child's controlling terminal, so what a person types (an
answer, Ctrl-C as ``\\x03``, Ctrl-D) reaches it exactly as from a keyboard, and ``isatty()``,
the window size rich reads and the line discipline are the real ones. Everything the child
writes, stdout and stderr alike, is one stream, as on a screen. The timeouts only keep a broken
test from hanging; no assertion depends on how long anything took.
"""

from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import sys
import termios
import time
from collections.abc import Mapping, Sequence

TRASHSCAN = [sys.executable, "-m", "trashscan"]
GIVE_UP = 120.0  # seconds; never reached by a working test
_ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07]*\x07|\x1b[=>()][0-9A-Za-z]?")


def plain(text: str) -> str:
    """The text without terminal control sequences, with CRLF as a terminal writes it made LF."""
    return _ANSI.sub("", text).replace("\r\n", "\n")


class Terminal:
    """One command running in a pseudo-terminal of ``rows`` x ``columns``."""

    def __init__(
        self,
        args: Sequence[str],
        env: Mapping[str, str] | None = None,
        rows: int = 24,
        columns: int = 80,
    ) -> None:
        environment = {**os.environ, **(env or {}), "COLUMNS": str(columns), "LINES": str(rows)}
        environment.setdefault("TERM", "xterm-256color")
        pid, fd = pty.fork()
        if pid == 0:  # the child: the terminal is already its stdin, stdout and stderr
            try:
                size = struct.pack("HHHH", rows, columns, 0, 0)
                fcntl.ioctl(0, termios.TIOCSWINSZ, size)
                os.execve(args[0], list(args), environment)
            finally:
                os._exit(127)
        self.pid, self.fd = pid, fd
        self.output = ""
        self.exit_code: int | None = None

    def _read(self, until: float) -> bool:
        """Read what the child wrote; False once it closed the terminal (it exited)."""
        ready, _, _ = select.select([self.fd], [], [], max(0.0, until - time.monotonic()))
        if not ready:
            return True
        try:
            data = os.read(self.fd, 65536)
        except OSError:  # EIO: every process holding the terminal is gone
            return False
        if not data:
            return False
        self.output += data.decode("utf-8", "replace")
        return True

    def expect(self, text: str, timeout: float = GIVE_UP) -> str:
        """Wait until ``text`` appears on the screen (control sequences aside); the output so
        far."""
        until = time.monotonic() + timeout
        while text not in plain(self.output):
            if time.monotonic() > until or not self._read(until):
                raise AssertionError(f"{text!r} never appeared; the screen had:\n{self.output}")
        return self.output

    def type(self, keys: str) -> None:
        os.write(self.fd, keys.encode())

    def finish(self, timeout: float = GIVE_UP) -> int:
        """Read to the end and return the exit code (a signal's as 128 + its number)."""
        until = time.monotonic() + timeout
        while time.monotonic() < until and self._read(until):
            pass
        _, status = os.waitpid(self.pid, 0)
        os.close(self.fd)
        code = os.waitstatus_to_exitcode(status)
        self.exit_code = code if code >= 0 else 128 - code
        return self.exit_code

    @property
    def screen(self) -> str:
        return plain(self.output)


def run_in_terminal(
    args: Sequence[str],
    env: Mapping[str, str] | None = None,
    rows: int = 24,
    columns: int = 80,
) -> tuple[int, str]:
    """Run to the end with nothing typed: the exit code and the screen's text."""
    terminal = Terminal(args, env, rows, columns)
    code = terminal.finish()
    return code, terminal.screen
