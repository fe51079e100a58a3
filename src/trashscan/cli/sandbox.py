"""``trashscan demo`` and ``trashscan sandbox serve``: the local fake providers."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from trashscan.cli.runner import run_group

MAX_LATENCY_MS = 60_000  # beyond a minute every client's timeout would fire first


@click.command()
@click.option("--ui", is_flag=True, help="End with `trashscan ui` on the sandbox, until Ctrl-C.")
@click.option("--no-browser", is_flag=True, help="With --ui: print its address only.")
def demo(ui: bool, no_browser: bool) -> None:
    """Show the whole flow against the local sandbox: list, restore, list again."""
    from trashscan.sandbox.demo import run_demo

    if no_browser and not ui:
        raise click.UsageError("--no-browser goes with --ui")
    group = click.get_current_context().find_root().command
    assert isinstance(group, click.Group)
    sys.exit(run_demo(lambda args: run_group(group, args), ui=ui, browser=not no_browser))


@click.group()
def sandbox() -> None:
    """Local fake provider servers for trying trashscan without a cloud account."""


@sandbox.command("serve")
@click.option("--port", type=int, default=0, help="Port for the fake servers (default: any free).")
@click.option("--write-config", "write_config", metavar="PATH", help="Where to write the config.")
@click.option("--workdir", metavar="DIR", help="Where to keep seeded data (default: a temp dir).")
@click.option(
    "--latency",
    "latency_ms",
    type=click.IntRange(0, MAX_LATENCY_MS),
    default=0,
    metavar="MS",
    help="Delay every answer of every fake by MS milliseconds, like a distant cloud.",
)
def sandbox_serve(
    port: int, write_config: str | None, workdir: str | None, latency_ms: int
) -> None:
    """Run the sandbox until interrupted, with a config whose accounts point at it."""
    from trashscan.sandbox.session import serve_forever

    serve_forever(
        port=port,
        config_path=Path(write_config) if write_config else None,
        workdir=workdir,
        latency=latency_ms / 1000,
    )
