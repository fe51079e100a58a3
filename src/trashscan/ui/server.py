"""Serving ``trashscan ui``: 127.0.0.1 only, the login address on stdout, uvicorn until Ctrl-C.

The socket is bound here, before uvicorn starts, so that the port (a free one by default) is
known to the guard's Host check and to the address printed, and so that a port already taken is
one clear line (exit 2) instead of a server log. The index and config are opened first too: a
broken config fails before any address is printed.

Ctrl-C (or SIGTERM) asks uvicorn to stop: it stops accepting, finishes the answers under way
(two seconds at most), and the command then ends as every other does on Ctrl-C:
``trashscan: interrupted``, exit 130 (143 for SIGTERM); a second Ctrl-C exits at once
(:mod:`trashscan.interrupts`). A restore running then stops where it is: every result already
reported was committed to the index and the audit log as it came.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import sys
import threading
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from trashscan.errors import UsageError

if TYPE_CHECKING:
    from trashscan.cli.app import App

HOST = "127.0.0.1"
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACE_SECONDS = 2  # answers under way may finish; a polling page does not keep the server up


def bind(port: int) -> socket.socket:
    """A listening socket on 127.0.0.1 (never another interface); ``port`` 0: a free one."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        sock.bind((HOST, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise UsageError(
            f"cannot listen on {HOST}:{port}: {exc.strerror or exc}",
            hint="leave out --port for a free one",
        ) from None
    sock.set_inheritable(False)
    return sock


def can_open_browser() -> bool:
    """Whether a graphical browser can be opened: on Linux and the BSDs only with a display
    (without one, :mod:`webbrowser` would start a text browser on this very terminal)."""
    if sys.platform in ("darwin", "win32"):
        return True
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def open_browser(url: str) -> None:
    """Open ``url`` without waiting for the browser (some launchers block until it exits)."""

    def launch() -> None:
        import webbrowser

        with contextlib.suppress(Exception):
            if webbrowser.open(url):
                return
        _note("could not open a browser: open the address above")

    threading.Thread(target=launch, name="browser", daemon=True).start()


def _note(text: str) -> None:
    print(f"trashscan: note: {text}", file=sys.stderr, flush=True)


@contextlib.contextmanager
def _stop_on_signals(server: Any, caught: list[int]) -> Iterator[None]:
    """uvicorn's ``capture_signals``, replaced: SIGINT and SIGTERM only ask the server to stop
    (the signal is kept in ``caught``); uvicorn's would send the signal again once stopped, which
    :mod:`trashscan.interrupts` would count as a second Ctrl-C."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handle(signum: int, _frame: object) -> None:
        caught.append(signum)
        server.should_exit = True

    previous = {signum: signal.signal(signum, handle) for signum in STOP_SIGNALS}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def serve(app: App, port: int, browser: bool) -> None:
    """Serve until interrupted; prints exactly one line on stdout: the login address."""
    import uvicorn

    from trashscan.ui.app import create_app
    from trashscan.ui.guards import Secrets

    app.index  # noqa: B018  (opened and migrated now: its errors before any address)
    app.config_if_any  # noqa: B018
    sock = bind(port)
    keys = Secrets(sock.getsockname()[1])
    web = create_app(app, keys)
    config = uvicorn.Config(
        web,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="off",
        log_level="warning",
        access_log=False,
        server_header=False,
        date_header=False,
        proxy_headers=False,
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    caught: list[int] = []
    server.capture_signals = lambda: _stop_on_signals(server, caught)  # type: ignore[method-assign]
    print(keys.login_url, flush=True)
    if browser:
        if can_open_browser():
            open_browser(keys.login_url)
        else:
            _note("no display to open a browser on: open the address above")
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
    if caught:
        from trashscan import interrupts

        interrupts.caught(caught[0])
