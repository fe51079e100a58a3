"""The ``trashscan`` command line: the group, its commands, and ``main``.

Each command family lives in its own module (accounts, listing, restore, check, sandbox,
providers, completion); they share :mod:`trashscan.cli.app` (the lazily built :class:`App`,
output helpers) and :mod:`trashscan.cli.common` (options), and never import this package; the
examples each ``--help`` ends with are in :mod:`trashscan.cli.examples`. Command modules
import only click and light trashscan modules at module level: heavy ones (SQLAlchemy, rich,
keyring, provider SDKs) inside the commands, so ``trashscan --help`` stays fast.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

import click

from trashscan import __version__, interrupts
from trashscan.cli.accounts import accounts
from trashscan.cli.app import App
from trashscan.cli.check import check, schedule
from trashscan.cli.completion import completion
from trashscan.cli.examples import add_examples
from trashscan.cli.history import history
from trashscan.cli.listing import list_items, scan
from trashscan.cli.providers import providers
from trashscan.cli.restore import restore
from trashscan.cli.runner import DEBUG_ENV, DEBUG_HELP, add_debug_option, run_group
from trashscan.cli.sandbox import demo, sandbox
from trashscan.cli.ui import ui


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config_file",
    metavar="PATH",
    help="Config file (default: $TRASHSCAN_CONFIG, else the user config dir).",
)
@click.option("--debug", is_flag=True, help=DEBUG_HELP)
@click.version_option(__version__, prog_name="trashscan")
@click.pass_context
def cli(ctx: click.Context, config_file: str | None, debug: bool) -> None:
    """Find trashed photos and videos across your cloud accounts before they are purged."""
    ctx.obj = App(config_file, debug or os.environ.get(DEBUG_ENV) == "1")


for command in (
    providers,
    accounts,
    scan,
    list_items,
    restore,
    history,
    ui,
    check,
    schedule,
    demo,
    sandbox,
    completion,
):
    cli.add_command(command)
    add_debug_option(command)
add_examples(cli)


def run(args: Sequence[str]) -> int:
    """Run the CLI once and return its exit code; every error becomes one line on stderr."""
    return run_group(cli, args)


def main() -> None:
    interrupts.install()
    try:
        interrupts.leave(run(sys.argv[1:]))
    except KeyboardInterrupt:  # Ctrl-C after the command had finished
        interrupts.leave(interrupts.interrupted()[1])
