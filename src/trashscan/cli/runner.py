"""Running the command group once: every error becomes one line on stderr and an exit code.

0 ok, 1 partial failure, 2 usage or config error, 4 declined, 130 interrupted (a reader of
stdout that goes away, ``| head``, ends it quietly with click's 1). ``--debug`` (before or after
the command, or ``TRASHSCAN_DEBUG=1``) prints the traceback as well, above that same line, and
never changes the exit code. The group is passed in, so that ``demo`` can run the same group it
belongs to without importing the package that assembles it.
"""

from __future__ import annotations

import os
import traceback
from collections.abc import Sequence

import click

from trashscan import interrupts
from trashscan.cli.app import App, err
from trashscan.errors import (
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_USAGE,
    TrashscanError,
)
from trashscan.safe_text import escape_stderr_logging

DEBUG_ENV = "TRASHSCAN_DEBUG"
DEBUG_HELP = "Show tracebacks (before or after the command; or TRASHSCAN_DEBUG=1)."


def _debug_requested(argv: Sequence[str]) -> bool:
    return "--debug" in argv or os.environ.get(DEBUG_ENV) == "1"


def _set_debug(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    app = ctx.find_object(App)
    if value and app is not None:
        app.debug = True


def add_debug_option(command: click.Command) -> None:
    """``--debug`` on ``command`` and every subcommand under it, so it works after them too."""
    if not any(param.name == "debug" for param in command.params):
        option = click.Option(
            ["--debug"], is_flag=True, expose_value=False, callback=_set_debug, help=DEBUG_HELP
        )
        command.params.append(option)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_debug_option(sub)


def _traceback(debug: bool) -> None:
    if debug:
        traceback.print_exc()


def run_group(group: click.Group, args: Sequence[str]) -> int:
    """Run ``group`` once and return its exit code; every error becomes one line on stderr."""
    args = list(args)
    debug = _debug_requested(args)
    escape_stderr_logging()
    try:
        code = group.main(args=args, prog_name="trashscan", standalone_mode=False)
    except SystemExit as exit_:
        code = exit_.code
    except TrashscanError as exc:
        _traceback(debug)
        err(f"trashscan: error: {exc.one_line()}")
        code = exc.exit_code
    except click.exceptions.Abort:  # click's prompts turn Ctrl-C into Abort
        if interrupts.received is None:
            err("trashscan: aborted")
            code = EXIT_PARTIAL
        else:
            message, code = interrupts.interrupted()
            err(f"trashscan: {message}")
    except click.ClickException as exc:
        err(f"trashscan: error: {exc.format_message()}")
        code = EXIT_USAGE if exc.exit_code == 2 else exc.exit_code
    except KeyboardInterrupt:
        message, code = interrupts.interrupted()
        err(f"trashscan: {message}")
    except Exception as exc:
        _traceback(debug)
        first = str(exc).splitlines()[0] if str(exc) else ""
        err(
            f"trashscan: internal error: {type(exc).__name__}: {first} "
            "(run with --debug for details)"
        )
        code = EXIT_PARTIAL
    return code if isinstance(code, int) else EXIT_OK
