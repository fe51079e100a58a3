"""A Ctrl-C (or SIGTERM) that lands just before a blocking read still ends the command.

The window: CPython's C-level handler only records a signal; the Python handler runs at the next
check. A signal recorded after the last check but before ``read(0)`` starts does not interrupt
that read, so a prompt would wait for a key before acting on it. The interpreter writes every
signal to the wakeup fd at once, though, so the state right after such a signal is: its byte in
the wakeup pipe, no Python handler run yet, the main thread in ``read``. The child below builds
exactly that state by writing the byte itself while its main thread blocks in a read.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import textwrap

import pytest

CHILD = textwrap.dedent(
    """
    import os, signal, sys, threading, time
    from trashscan import interrupts

    interrupts.install()
    wakeup = signal.set_wakeup_fd(-1)  # the write end the C handler writes each signal to
    signal.set_wakeup_fd(wakeup, warn_on_full_buffer=False)
    read_end, _ = os.pipe()  # nobody ever writes here: like a prompt nobody answers

    def signal_recorded_but_not_handled():
        time.sleep(0.3)  # the main thread is in read() by now
        os.write(wakeup, bytes([int(sys.argv[1])]))

    threading.Thread(target=signal_recorded_but_not_handled, daemon=True).start()
    try:
        os.read(read_end, 1)
    except KeyboardInterrupt:
        message, code = interrupts.interrupted()
        print(message, flush=True)
        interrupts.leave(code)
    print("read returned", flush=True)
    """
)


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGINT, 130, "interrupted"), (signal.SIGTERM, 143, "terminated")],
)
def test_a_signal_just_before_a_blocking_read_still_ends_the_command(signum, code, said):
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(int(signum))],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except subprocess.TimeoutExpired:
        pytest.fail("the signal waited for a key that never came")
    assert done.returncode == code, done.stderr
    assert done.stdout.strip() == said


def test_the_nudge_is_not_taken_for_a_second_ctrl_c():
    """After the nudge, clean-up runs (the first Ctrl-C's path), and only a real second signal
    exits at once."""
    child = CHILD.replace(
        "interrupts.leave(code)",
        "time.sleep(1.0); print('cleaned up', flush=True); interrupts.leave(code)",
    )
    done = subprocess.run(
        [sys.executable, "-c", child, str(int(signal.SIGINT))],
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert done.returncode == 130, done.stderr
    assert done.stdout.split() == ["interrupted", "cleaned", "up"]
