"""Ctrl-C (and SIGTERM) end any command promptly, keeping what the index committed.

Python turns the first SIGINT into ``KeyboardInterrupt`` on the main thread, which the commands'
own clean-up handles: the scan's calling thread stops waiting, closes its running scans as
interrupted and releases its locks; the CLI prints ``interrupted`` and exits 130. What it cannot
do by itself is leave: workers blocked in a socket read (a silent or drip-feeding server) are
joined at interpreter exit if they are ``ThreadPoolExecutor`` threads, which plugins use. So the
CLI leaves with ``os._exit`` whenever a worker is still running (:func:`leave`).

A second Ctrl-C while the clean-up runs exits at once, even if the main thread is stuck in C
(SQLite waiting for another process's write lock), where no Python signal handler can run: the
interpreter's C-level handler also writes each signal to a pipe (``signal.set_wakeup_fd``), and a
watcher thread reading it ends the process on the second one. SIGTERM (``timeout`` in a cron
line, systemd's ``TimeoutStartSec``) is handled like Ctrl-C, and exits 143.

The same watcher closes a race at every prompt: a signal that the C handler records after the
interpreter's last check but before ``read(0)`` starts interrupts nothing, so its Python handler
would run only once a key is pressed. When the first signal's handler has not run
:data:`NUDGE_AFTER` seconds after its byte arrived, the watcher sends the same signal to the main
thread (``pthread_kill``): the read fails with EINTR and the handler runs. The nudge is counted
neither as a second signal by the watcher nor by the handler.

Only :func:`trashscan.cli.main` installs the handlers: tests that call ``run`` in-process keep
the interpreter's own.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from types import FrameType

from trashscan.deadline import abandoned_workers

EXIT_CODES = {signal.SIGINT: 130, signal.SIGTERM: 143}
MESSAGES = {signal.SIGINT: "interrupted", signal.SIGTERM: "terminated"}
JOIN_WAIT = 0.5  # seconds a finished command gives its workers to end before it exits hard
NUDGE_AFTER = 0.2  # seconds the first signal's handler may take before the main thread is nudged

received: int | None = None  # the first signal, once one came
_nudge_pending = False  # a nudge was sent and its handler call is still to come


def _handler(signum: int, frame: FrameType | None) -> None:
    global received, _nudge_pending
    if received is not None:
        if _nudge_pending:  # the watcher's nudge, arriving after the handler already ran
            _nudge_pending = False
            return
        _exit_now(signum)  # the second one: no more clean-up
    # A nudge delivered before this call is folded into it and leaves _nudge_pending set: the
    # handler then lets one later signal pass, which the watcher still counts as the second.
    received = signum
    raise KeyboardInterrupt


def _exit_now(signum: int) -> None:
    _write_err(f"trashscan: {MESSAGES.get(signal.Signals(signum), 'interrupted')}\n")
    os._exit(EXIT_CODES.get(signal.Signals(signum), 130))


def _watch(fd: int, main_thread: int) -> None:
    """On a daemon thread: count the signals the C handler writes; exit on the second one;
    nudge the main thread if the first one's handler does not run."""
    seen = 0
    echoes = 0  # bytes still to come from our own nudges
    while True:
        try:
            data = os.read(fd, 64)
        except OSError:
            return
        if not data:
            return
        for signum in data:
            if signum not in EXIT_CODES:
                continue
            if echoes:
                echoes -= 1
                continue
            seen += 1
            if seen >= 2:
                _exit_now(signum)
            if _nudge(signum, main_thread):
                echoes += 1


def _nudge(signum: int, main_thread: int) -> bool:
    """Send ``signum`` to the main thread if its handler has not run by now; whether it was."""
    global _nudge_pending
    time.sleep(NUDGE_AFTER)
    if received is not None:
        return False
    _nudge_pending = True
    try:
        signal.pthread_kill(main_thread, signum)
    except (OSError, ProcessLookupError):
        _nudge_pending = False
        return False
    return True


def install() -> None:
    """Route SIGINT and SIGTERM through :func:`_handler`, and start the watcher (main thread
    only)."""
    for signum in EXIT_CODES:
        signal.signal(signum, _handler)
    read_end, write_end = os.pipe()
    os.set_blocking(write_end, False)
    signal.set_wakeup_fd(write_end, warn_on_full_buffer=False)
    main_thread = threading.get_ident()
    threading.Thread(
        target=_watch, args=(read_end, main_thread), name="signals", daemon=True
    ).start()


def caught(signum: int) -> None:
    """A signal that a server caught itself, to stop cleanly first (``trashscan ui``), becomes
    the command's interruption now, as if :func:`_handler` had raised it."""
    global received
    received = signum
    raise KeyboardInterrupt


def interrupted() -> tuple[str, int]:
    """The message and exit code for the ``KeyboardInterrupt`` being handled."""
    signum = signal.Signals(received) if received is not None else signal.SIGINT
    return MESSAGES[signum], EXIT_CODES[signum]


def leave(code: int) -> None:
    """Exit with ``code``; hard (no interpreter shutdown) if workers are still running."""
    if received is None:  # a command that finished: give its last workers a moment to end
        ends = time.monotonic() + JOIN_WAIT
        for thread in abandoned_workers():
            thread.join(max(0.0, ends - time.monotonic()))
    if received is not None or abandoned_workers():
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):  # a closed pipe must not keep us here
                stream.flush()
        os._exit(code)
    sys.exit(code)


def _write_err(text: str) -> None:
    with contextlib.suppress(OSError):
        os.write(2, text.encode())
