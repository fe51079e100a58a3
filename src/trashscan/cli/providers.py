"""``trashscan providers``: the installed plugins, what each can do and the options it takes."""

from __future__ import annotations

import click

from trashscan.cli.app import App, err, pass_app
from trashscan.safe_text import printable


@click.command()
@click.option("--no-pager", is_flag=True, help="Never page the output ($TRASHSCAN_PAGER, $PAGER).")
@pass_app
def providers(app: App, no_pager: bool) -> None:
    """Installed provider plugins and what each can do."""
    from trashscan import pager
    from trashscan.output import fold, terminal_width
    from trashscan.plugins import all_providers

    width = terminal_width()
    lines: list[str] = []

    def say(line: str) -> None:
        """On a terminal, wrapped at word boundaries under the line's own indentation."""
        indent = " " * (len(line) - len(line.lstrip(" ")) + 2)
        lines.extend(fold(printable(line), width, indent))

    loaded, broken = all_providers()
    for name, cls in loaded.items():
        caps = cls.capabilities
        flags = ", ".join(
            f"{label}={'yes' if value else 'no'}"
            for label, value in (
                ("list", caps.list),
                ("restore", caps.restore),
                ("exact-times", caps.exact_deletion_times),
                ("incremental", caps.incremental),
                ("thumbnails", caps.thumbnails),
            )
        )
        if caps.restore_experimental:
            flags += " (restore experimental)"
        say(f"{name:<16} {cls.display_name}")
        say(f"{'':<16} {flags}")
        if cls.retention.description:
            say(f"{'':<16} retention: {cls.retention.description}")
        for note in ((caps.unsupported_reason,) if caps.unsupported_reason else ()) + caps.notes:
            say(f"{'':<16} note: {note}")
        if caps.thumbnails_note:
            say(f"{'':<16} thumbnails: {caps.thumbnails_note}")
        for spec in cls.options or ():
            say(f"{'':<16} {spec.describe()}")
    for plugin in broken:
        say(f"{plugin.name:<16} BROKEN ({plugin.target}): {plugin.error}")
    from trashscan.options import ACCOUNT_OPTIONS

    say("any account")
    for spec in ACCOUNT_OPTIONS:
        say(f"{'':<16} {spec.describe()}")
    pager.show("".join(f"{line}\n" for line in lines), use_pager=not no_pager)
    if broken:
        err(f"trashscan: {len(broken)} provider plugin(s) failed to load; the others work")
