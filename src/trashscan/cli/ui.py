"""``trashscan ui``: the local web gallery (see :mod:`trashscan.ui`), served until Ctrl-C."""

from __future__ import annotations

import click

from trashscan.cli.app import App, pass_app


@click.command()
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=0,
    show_default=True,
    help="Port on 127.0.0.1 (0: a free one).",
)
@click.option("--no-browser", is_flag=True, help="Print the address only; open no browser.")
@pass_app
def ui(app: App, port: int, no_browser: bool) -> None:
    """See every trashed photo and video in a browser, and restore a selection.

    Serves on 127.0.0.1 only and prints one line: the address to open, with a one-time login
    token (the browser gets a session cookie for it). Reads the index as the last scan left it
    (`trashscan scan` refreshes it). Ctrl-C stops it.
    """
    from trashscan.ui.server import serve

    serve(app, port, browser=not no_browser)
